"""The alternative backend: cel-python (``celpy``), pure Python (``manifest-lint[celpy]``).

What cel-python 0.5.0 does differently from cel-expr-python, as measured here:

* No type checker: it only parses. This backend adds a static pass
  (``celpy_check.py``) that reports undeclared variables and functions and wrong
  argument counts of custom functions at compile time, with positions; a *type*
  mismatch (``'a' + 1``) is only found when the expression runs, as an evaluation
  error.
* Mixed numeric comparisons fail: ``dyn(1) == 1.0`` and ``1 < 1.5`` are errors
  (cel-cpp answers true, as the CEL spec's heterogeneous equality says).
* No optional values (``m.?key``, ``optional.of``), no ``cel.bind``, no two-variable
  comprehensions, no ``sortBy``/``first``/``last``: compile errors naming the backend
  (``celpy_check.py``).
* No extensions: the strings, lists, sets, math and base64 functions are written for
  it (``celpy_library.py``; not ``format``). A namespaced call (``sets.contains(a, b)``)
  reaches celpy as ``contains(sets, a, b)``: each namespace is bound to a
  :class:`Namespace` value in every evaluation.
* No iteration limit (``max_iterations`` is None); it is 50-130x slower (``bench/cel.py``).
* Parse errors at the end of the text are reported by lark at the last token; this
  backend moves them to the end, as cel-cpp reports them.
* Naive datetimes are read as UTC, so they are refused as for cel-cpp.
* ``celpy.Environment()`` calls ``sys.setrecursionlimit(2500)``; this backend keeps a
  higher limit when one is already set.
* Threads: a new evaluator is built per evaluation and the AST is not mutated, so a
  program can be evaluated from several threads; compiling is serialised by a lock
  (celpy's parser is a shared singleton).
"""

from __future__ import annotations

import datetime as dt
import re
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import celpy
from celpy import celtypes
from celpy.celparser import CELParseError
from celpy.evaluation import CELEvalError, base_functions

from manifest_lint.cel.base import (
    Activation,
    CelFunction,
    CelType,
    CelTypeLike,
    WrittenExpression,
    check_timestamps,
    declared,
    expression_error,
    timestamp_variables,
)
from manifest_lint.cel.celpy_check import Checker, parse_problem
from manifest_lint.cel.celpy_library import CELPY_FUNCTIONS, NAMESPACE_FUNCTIONS, NAMESPACES
from manifest_lint.cel.kubernetes import KUBERNETES_FUNCTIONS
from manifest_lint.errors import EvaluationError, PluginError

NAME = "celpy"

_IN_ACTIVATION = re.compile(r" \(in activation '.*\Z", re.DOTALL)
_RULE = re.compile(r"Token\('RULE', '(\w+)'\)")
_CLASS = re.compile(r"<class '(?:celpy\.celtypes\.)?(\w+)'>")
_OPERATORS = {
    "relation_eq": "_==_",
    "relation_ne": "_!=_",
    "relation_lt": "_<_",
    "relation_le": "_<=_",
    "relation_gt": "_>_",
    "relation_ge": "_>=_",
    "relation_in": "@in",
    "addition_add": "_+_",
    "addition_sub": "_-_",
    "multiplication_mul": "_*_",
    "multiplication_div": "_/_",
    "multiplication_mod": "_%_",
}
_CLASS_NAMES = {
    "BoolType": "bool",
    "IntType": "int",
    "UintType": "uint",
    "DoubleType": "double",
    "StringType": "string",
    "BytesType": "bytes",
    "ListType": "list",
    "MapType": "map",
    "TimestampType": "timestamp",
    "DurationType": "duration",
    "NoneType": "null",
}
_UTC = dt.UTC
_TYPE_NAMES: dict[type, str] = {
    celtypes.BoolType: "bool",
    celtypes.IntType: "int",
    celtypes.UintType: "uint",
    celtypes.DoubleType: "double",
    celtypes.StringType: "string",
    celtypes.BytesType: "bytes",
    celtypes.ListType: "list",
    celtypes.MapType: "map",
    celtypes.TimestampType: "google.protobuf.Timestamp",
    celtypes.DurationType: "google.protobuf.Duration",
    type(None): "null_type",
}
_PYTHON_TYPES: dict[str, type] = {
    "double": float,
    "string": str,
    "bytes": bytes,
    "list": list,
    "map": dict,
}


# -- values ---------------------------------------------------------------------------------


def to_celpy(value: Any, type_: CelType | None = None) -> Any:
    """A plain Python value as a ``celtypes`` value; ``type_`` tells uint from int."""
    if value is None:
        return None
    if isinstance(value, bool):
        return celtypes.BoolType(value)
    if isinstance(value, int):
        if (type_ is not None and type_.kind == "uint") or value >= 2**63:
            return celtypes.UintType(value)
        return celtypes.IntType(value)
    if isinstance(value, float):
        return celtypes.DoubleType(value)
    if isinstance(value, str):
        return celtypes.StringType(value)
    if isinstance(value, (bytes, bytearray)):
        return celtypes.BytesType(bytes(value))
    if isinstance(value, (list, tuple)):
        element = type_.params[0] if type_ is not None and type_.kind == "list" else None
        return celtypes.ListType([to_celpy(v, element) for v in value])
    if isinstance(value, Mapping):
        key, item = type_.params if type_ is not None and type_.kind == "map" else (None, None)
        return celtypes.MapType({to_celpy(k, key): to_celpy(v, item) for k, v in value.items()})
    if isinstance(value, dt.datetime):
        if value.utcoffset() is None:
            raise TypeError("a naive datetime cannot be a CEL timestamp")
        return celtypes.TimestampType(value)
    if isinstance(value, dt.timedelta):
        return celtypes.DurationType(value)
    raise TypeError(f"a {type(value).__name__} cannot be a CEL value")


def to_plain(value: Any) -> Any:
    """A ``celtypes`` value as a plain Python value."""
    if value is None:
        return None
    if isinstance(value, celtypes.BoolType):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bytes):
        return bytes(value)
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    if isinstance(value, dict):
        return {to_plain(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, dt.datetime):
        plain = dt.datetime(
            value.year,
            value.month,
            value.day,
            value.hour,
            value.minute,
            value.second,
            value.microsecond,
            tzinfo=value.tzinfo or _UTC,
        )
        return plain.astimezone(_UTC)
    if isinstance(value, dt.timedelta):
        return dt.timedelta(days=value.days, seconds=value.seconds, microseconds=value.microseconds)
    if isinstance(value, type):
        return _TYPE_NAMES.get(value, value.__name__)
    raise TypeError(f"cannot convert a celpy {type(value).__name__} to a Python value")


def _matches(value: Any, type_: CelType) -> bool:
    kind = type_.kind
    if kind == "dyn":
        return True
    if kind == "null":
        return value is None
    if kind == "bool":
        return isinstance(value, celtypes.BoolType)
    if kind == "uint":
        return isinstance(value, celtypes.UintType)
    if kind == "int":
        return isinstance(value, int) and not isinstance(
            value, (celtypes.BoolType, celtypes.UintType, bool)
        )
    if kind == "timestamp":
        return isinstance(value, dt.datetime)
    if kind == "duration":
        return isinstance(value, dt.timedelta)
    return isinstance(value, _PYTHON_TYPES[kind])


def _cel_type_name(value: Any) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)


class Namespace:
    """The value of ``sets`` in ``sets.contains(a, b)``: celpy calls ``contains(sets, a, b)``."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


_NAMESPACE_VALUES = {name: Namespace(name) for name in NAMESPACES}
#: The functions of the libraries (cel/kubernetes.py, cel/celpy_library.py) on this backend.
LIBRARY_FUNCTIONS = (*KUBERNETES_FUNCTIONS, *CELPY_FUNCTIONS)
_NAMESPACED = frozenset(name for _, name in NAMESPACE_FUNCTIONS)


def _namespaced(namespace: Namespace, name: str, args: Sequence[Any]) -> Any:
    impl = NAMESPACE_FUNCTIONS.get((namespace.name, name))
    if impl is None:
        return CELEvalError(f"undeclared reference to '{namespace.name}.{name}'")
    try:
        return to_celpy(impl(*(to_plain(a) for a in args)))
    except Exception as exc:
        return CELEvalError(f"{namespace.name}.{name}: {exc}")


def _dispatcher(name: str, overloads: Sequence[CelFunction]) -> Callable[..., Any]:
    """One celpy function for all overloads of ``name``: picks by argument types.

    A call on a namespace (``math.greatest(...)``) goes to the namespace's function,
    and arguments that match no overload go to celpy's own function of that name
    (``contains`` is both ``sets.contains`` and ``string.contains``)."""
    fallback = base_functions.get(name)

    def call(*args: Any) -> Any:
        if args and isinstance(args[0], Namespace):
            return _namespaced(args[0], name, args[1:])
        failed: CELEvalError | None = None
        for function in overloads:
            if len(function.params) == len(args) and all(
                _matches(a, t) for a, t in zip(args, function.params, strict=True)
            ):
                try:
                    return to_celpy(function.impl(*(to_plain(a) for a in args)), function.result)
                except Exception as exc:  # celpy cannot tell ip(x) from x.ip(): try the next
                    failed = failed or CELEvalError(f"{name}: {exc}")
        if failed is not None:
            return failed
        if fallback is not None:
            return fallback(*args)
        applied = ", ".join(_cel_type_name(a) for a in args)
        return CELEvalError(f"found no matching overload for {name!r} applied to ({applied})")

    call.__name__ = call.__qualname__ = name
    return call


# -- backend --------------------------------------------------------------------------------


class CelpyActivation(Activation):
    """Values bound once and converted to ``celtypes`` once per set of declarations.

    celpy keeps no per-thread state, so one activation may serve several threads.
    """

    __slots__ = ("_contexts", "_lock")

    def __init__(self, values: Mapping[str, Any]) -> None:
        super().__init__(values)
        self._contexts: dict[tuple[tuple[str, str], ...], dict[str, Any]] = {}
        self._lock = threading.Lock()

    def context(
        self, key: tuple[tuple[str, str], ...], types: Mapping[str, CelType]
    ) -> dict[str, Any]:
        context = self._contexts.get(key)
        if context is None:
            with self._lock:
                context = self._contexts.get(key)
                if context is None:
                    context = self._contexts[key] = _context(self._values, types)
        return context


def _context(values: Mapping[str, Any], types: Mapping[str, CelType]) -> dict[str, Any]:
    try:
        context = {name: to_celpy(value, types.get(name)) for name, value in values.items()}
        return {**_NAMESPACE_VALUES, **context}
    except (TypeError, ValueError) as exc:
        raise EvaluationError(f"cannot pass the values to CEL: {exc}") from exc


class CelpyBackend:
    """cel-python: pure Python, no type checker; see the module docstring for differences."""

    name = NAME
    max_iterations: int | None = None

    def __init__(self) -> None:
        self._lock = threading.Lock()
        limit = sys.getrecursionlimit()
        self._environment = celpy.Environment()  # sets the recursion limit to 2500
        sys.setrecursionlimit(max(limit, sys.getrecursionlimit()))

    def compile(
        self,
        expression: str,
        *,
        variables: Mapping[str, CelTypeLike],
        functions: Sequence[CelFunction] = (),
    ) -> CelpyProgram:
        types = declared(variables)
        by_name: dict[str, list[CelFunction]] = {name: [] for name in _NAMESPACED}
        for function in functions:
            overloads = by_name.setdefault(function.name, [])
            if any(o.overload_id == function.overload_id for o in overloads):
                raise PluginError(f"CEL function {function.signature} is declared twice")
            overloads.append(function)
        for function in LIBRARY_FUNCTIONS:  # after the custom ones: those are tried first
            by_name.setdefault(function.name, []).append(function)
        with self._lock:
            try:
                ast = self._environment.compile(expression)
            except CELParseError as exc:
                raise expression_error(expression, [parse_problem(expression, exc)]) from exc
            checker = Checker(
                [*types, *NAMESPACES], [*functions, *LIBRARY_FUNCTIONS], known=_NAMESPACED
            )
            checker.check(ast)
            if checker.problems:
                raise expression_error(expression, checker.problems)
            runner = self._environment.program(
                ast, functions={name: _dispatcher(name, o) for name, o in by_name.items()}
            )
        return CelpyProgram(expression, runner, types)

    def activation(self, values: Mapping[str, Any]) -> CelpyActivation:
        return CelpyActivation(values)


class CelpyProgram(WrittenExpression):
    """A parsed and checked celpy expression."""

    __slots__ = ("_key", "_runner", "_timestamps", "_types")

    def __init__(self, expression: str, runner: Any, variables: Mapping[str, CelType]) -> None:
        super().__init__(expression)
        self._runner = runner
        self._types = dict(variables)
        self._key = tuple(sorted((name, str(type_)) for name, type_ in variables.items()))
        self._timestamps = timestamp_variables(variables)

    def evaluate(self, activation: Mapping[str, Any]) -> Any:
        check_timestamps(activation, self._timestamps, expression=self._expression)
        if type(activation) is CelpyActivation:
            context = activation.context(self._key, self._types)
        else:
            context = _context(activation, self._types)
        try:
            result = self._runner.evaluate(context)
        except CELEvalError as exc:
            raise EvaluationError(_eval_message(exc), expression=self._expression) from exc
        except Exception as exc:  # celpy's own failures (RecursionError, unsupported...)
            raise EvaluationError(
                f"cel-python failed: {type(exc).__name__}: {exc}", expression=self._expression
            ) from exc
        try:
            return to_plain(result)
        except TypeError as exc:
            raise EvaluationError(str(exc), expression=self._expression) from exc


def _eval_message(exc: CELEvalError) -> str:
    """celpy's message, with its parse-rule and class names turned into CEL's words."""
    args = exc.args
    message = _IN_ACTIVATION.sub("", str(args[0])) if args else "evaluation failed"
    message = _RULE.sub(lambda m: repr(_OPERATORS.get(m[1], m[1])), message)
    message = _CLASS.sub(lambda m: _CLASS_NAMES.get(m[1], m[1]), message)
    details = args[2] if len(args) >= 3 and isinstance(args[2], tuple) else ()
    detail = "; ".join(str(d) for d in details if isinstance(d, str))
    if message == "return error for overflow":  # celpy's label for any ValueError
        return "integer overflow" if detail in ("", "overflow") else detail
    if message.startswith("found no matching overload"):  # the detail is celpy's internals
        return message
    if detail and detail not in message and len(detail) < 200:
        message += f" ({detail})"
    return message
