"""The default backend: cel-expr-python, Google's Python binding of the cel-cpp runtime.

What cel-expr-python 0.1.3 does, as measured here (see ``tests/test_cel.py``):

* ``cel.NewEnv(variables=, functions=[cel.FunctionDecl(...)], extensions=, config=)``;
  ``env.compile`` type-checks, ``expression.eval`` runs; one environment per set of
  declarations, shared by its programs.
* Compile errors are ``RuntimeError("INVALID_ARGUMENT: ERROR: <input>:L:C: msg\\n | src\\n
  | ..^ ...")``, one ``ERROR:`` block per problem, columns in code points.
* Run-time errors are mostly *values* of type ``ERROR`` (``"NOT_FOUND: Key not found
  in map ..."``, ``"INVALID_ARGUMENT: divide by zero"``), not exceptions; a few are
  raised as ``RuntimeError`` (iteration budget, unconvertible function results).
  Optional values also report type ``ERROR``, and their ``value()`` raises ``TypeError``.
* A plain ``dyn`` parameter never matches (``CelFunction`` refuses it). Functions get
  ``bytearray`` for bytes; what they raise is an ``ERROR`` value (``true || f(x)`` works).
* Input values must be ``dict``/``list``/scalars: a ``tuple``, a nested ``Mapping`` other
  than ``dict``, or a ``datetime`` *inside* a map is refused ("Non-CEL value type"), and
  bytes inside the input are cut at the first NUL byte (a bug of 0.1.3).
* Iterations: cel-cpp's ``comprehension_max_iterations`` is fixed at 10,000 per
  evaluation, counted across all comprehensions (nested ones multiply); the binding
  has no option to change it. Exceeding it raises "Iteration budget exceeded".
* Threads: ``eval`` holds the GIL; a compiled expression can be shared by threads. An
  ``Activation`` is tied to the thread that made it once a Python function is called
  ("No PyCelArena found"): a :class:`CppActivation` is reused on its own thread only.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from cel_expr_python import cel  # type: ignore[import-untyped]  # 0.1.3 ships .pyi stubs but no py.typed
from cel_expr_python.ext import (  # type: ignore[import-untyped]  # same package, no py.typed
    ext_bindings,
    ext_encoders,
    ext_math,
    ext_optional,
    ext_strings,
)

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
from manifest_lint.cel.cel_cpp_errors import (
    MAX_ITERATIONS,
    TYPE_NAMES,
    clean_message,
    explain,
    parse_problems,
    runtime_message,
)
from manifest_lint.cel.kubernetes import KUBERNETES_FUNCTIONS
from manifest_lint.errors import EvaluationError, PluginError

NAME = "cel-expr-python"

_SCALARS: dict[str, Any] = {
    "bool": cel.Type.BOOL,
    "int": cel.Type.INT,
    "uint": cel.Type.UINT,
    "double": cel.Type.DOUBLE,
    "string": cel.Type.STRING,
    "bytes": cel.Type.BYTES,
    "null": cel.Type.NULL,
    "timestamp": cel.Type.TIMESTAMP,
    "duration": cel.Type.DURATION,
    "dyn": cel.Type.DYN,
}
_ERROR = cel.Type.ERROR
#: cel-cpp extensions 0.1.3 has no Python class for (only an environment config enables
#: them). ``transformMap`` compiles but fails when run in 0.1.3 (``cel.@mapInsert``).
_CONFIG_EXTENSIONS = (
    "extensions:\n  - name: lists\n  - name: sets\n  - name: two-var-comprehensions\n"
)


def native_type(type_: CelType) -> Any:
    """A :class:`CelType` as a ``cel.Type``."""
    if type_.kind == "list":
        return cel.Type.List(native_type(type_.params[0]))
    if type_.kind == "map":
        return cel.Type.Map(native_type(type_.params[0]), native_type(type_.params[1]))
    return _SCALARS[type_.kind]


def _to_native(value: Any) -> Any:
    """A custom function's result as something the binding converts (tuples become lists)."""
    if isinstance(value, (str, bool, int, float, bytes, dt.datetime, dt.timedelta)) or (
        value is None
    ):
        return value
    if isinstance(value, (list, tuple)):
        return [_to_native(v) for v in value]
    if isinstance(value, Mapping):
        return {_to_native(k): _to_native(v) for k, v in value.items()}
    if isinstance(value, bytearray):
        return bytes(value)
    raise TypeError(f"cannot return a {type(value).__name__} to CEL")


def to_plain(value: Any) -> Any:
    """A ``Value.plain_value()`` with bytearray -> bytes and types -> their CEL names."""
    if value is None or isinstance(value, (bool, int, float, str, dt.datetime, dt.timedelta)):
        return value
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    if isinstance(value, dict):
        return {to_plain(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (bytearray, bytes)):
        return bytes(value)
    if isinstance(value, cel.Type):
        name = value.name()
        return TYPE_NAMES.get(name, name.lower())
    raise TypeError(f"cannot convert a CEL {type(value).__name__} to a Python value")


def _wrap(function: CelFunction) -> Callable[..., Any]:
    impl, name = function.impl, function.name
    takes_bytes = any(p.kind == "bytes" for p in function.params)

    def call(*args: Any) -> Any:
        if takes_bytes:
            args = tuple(bytes(a) if isinstance(a, bytearray) else a for a in args)
        try:
            result = impl(*args)
        except Exception as exc:
            raise ValueError(f"{name}: {exc}") from exc
        return _to_native(result)

    call.__name__ = call.__qualname__ = name
    return call


class CppActivation(Activation):
    """Values bound once; converted by cel-cpp lazily, once per thread.

    One ``cel.Activation`` serves the programs of every environment (each policy's
    scope is an environment of its own): it holds the values, not the declarations.
    """

    __slots__ = ("_checked", "_native", "_thread")

    def __init__(self, values: Mapping[str, Any]) -> None:
        super().__init__(values)
        self._thread = threading.get_ident()
        self._native: Any | None = None
        self._checked: set[int] = set()

    def native_for(self, env: _Environment) -> Any | None:
        """The ``cel.Activation``, or None on another thread than its maker's."""
        if threading.get_ident() != self._thread:
            return None
        if id(env) not in self._checked:
            check_timestamps(self._values, env.timestamps)
            self._checked.add(id(env))
        if self._native is None:
            self._native = env.native.Activation(self._values)
        return self._native


class _Environment:
    """One ``cel.Env`` per set of declarations; kept alive by the backend's cache."""

    def __init__(
        self,
        variables: Mapping[str, CelType],
        functions: Sequence[CelFunction],
        container: str,
        extensions: Sequence[Any],
        *,
        native_variables: Mapping[str, Any] | None = None,
        descriptor_pool: Any = None,
    ):
        """``native_variables`` (``cel.Type`` values, message types of
        ``descriptor_pool`` among them) are declared in place of ``variables``: the
        typed environment of :mod:`manifest_lint.cel.typed`, which only checks."""
        self.timestamps = timestamp_variables(variables)
        self.functions = functions
        declarations = _declarations(functions)
        try:
            self.native = cel.NewEnv(
                config=cel.NewEnvConfigFromYaml(_CONFIG_EXTENSIONS),
                variables=native_variables
                if native_variables is not None
                else {name: native_type(t) for name, t in variables.items()},
                functions=declarations,
                extensions=list(extensions),
                container=container or None,
                **({"descriptor_pool": descriptor_pool} if descriptor_pool is not None else {}),
            )
        except (RuntimeError, TypeError, ValueError) as exc:
            raise PluginError(
                f"cannot declare the CEL variables and functions: {clean_message(str(exc))}"
            ) from exc


def _extensions() -> list[Any]:
    """cel-cpp's extensions, and the Kubernetes libraries as one more: an extension's
    overloads join a declared name (``list.indexOf`` beside ``string.indexOf``)."""
    return [
        ext_strings.ExtStrings(),
        ext_math.ExtMath(),
        ext_encoders.ExtEncoders(),
        ext_optional.ExtOptional(),
        ext_bindings.ExtBindings(),
        cel.CelExtension("manifest-lint", _declarations(KUBERNETES_FUNCTIONS)),
    ]


def _declarations(functions: Sequence[CelFunction]) -> list[Any]:
    by_name: dict[str, list[CelFunction]] = {}
    for function in functions:
        overloads = by_name.setdefault(function.name, [])
        if any(o.overload_id == function.overload_id for o in overloads):
            raise PluginError(f"CEL function {function.signature} is declared twice")
        overloads.append(function)
    return [
        cel.FunctionDecl(
            name,
            [
                cel.Overload(
                    f.overload_id,
                    native_type(f.result),
                    [native_type(p) for p in f.params],
                    is_member=f.member,
                    impl=_wrap(f),
                )
                for f in overloads
            ],
        )
        for name, overloads in by_name.items()
    ]


class CelExprPythonBackend:
    """cel-expr-python: checked at compile time, 50-130x faster than cel-python."""

    name = NAME
    max_iterations: int | None = MAX_ITERATIONS

    def __init__(self) -> None:
        self._environments: dict[Any, _Environment] = {}
        self._lock = threading.Lock()
        # Made once for every environment (one per policy scope): building them took
        # 0.47 ms, NewEnv with them 0.03 ms; 7 environments in a run of the built-ins.
        self._extensions = _extensions()

    def _environment(
        self, variables: Mapping[str, CelType], functions: Sequence[CelFunction], container: str
    ) -> _Environment:
        key = (
            tuple(sorted(variables.items(), key=lambda item: item[0])),
            tuple(functions),
            container,
        )
        try:
            hash(key)
        except TypeError:  # an unhashable impl: build, do not cache
            return _Environment(variables, functions, container, self._extensions)
        with self._lock:
            environment = self._environments.get(key)
            if environment is None:
                environment = _Environment(variables, functions, container, self._extensions)
                self._environments[key] = environment
            return environment

    def compile(
        self,
        expression: str,
        *,
        variables: Mapping[str, CelTypeLike],
        functions: Sequence[CelFunction] = (),
    ) -> CelExprPythonProgram:
        return self._compile(expression, self._environment(declared(variables), functions, ""))

    def compile_scoped(
        self,
        expression: str,
        *,
        scope: str,
        scoped: Sequence[str],
        variables: Mapping[str, CelTypeLike],
        functions: Sequence[CelFunction] = (),
    ) -> CelExprPythonProgram:
        """Compiled in an environment whose container is ``scope``, where each name in
        ``scoped`` is also declared as ``SCOPE.NAME``: the checker resolves a name to
        the declaration in the innermost container first (cel-spec, name resolution)."""
        types = declared(variables)
        inner = {f"{scope}.{name}": types[name] for name in scoped}
        return self._compile(expression, self._environment({**types, **inner}, functions, scope))

    def _compile(self, expression: str, environment: _Environment) -> CelExprPythonProgram:
        functions = environment.functions
        try:
            native = environment.native.compile(expression)
        except RuntimeError as exc:
            problems = [explain(p, functions) for p in parse_problems(str(exc))]
            raise expression_error(expression, problems) from exc
        return CelExprPythonProgram(expression, native, environment)

    def activation(self, values: Mapping[str, Any]) -> CppActivation:
        return CppActivation(values)


class CelExprPythonProgram(WrittenExpression):
    """A compiled cel-cpp expression; share it freely between threads."""

    __slots__ = ("_environment", "_native")

    def __init__(self, expression: str, native: Any, environment: _Environment) -> None:
        super().__init__(expression)
        self._native = native
        self._environment = environment

    def evaluate(self, activation: Mapping[str, Any]) -> Any:
        native_activation = None
        if type(activation) is CppActivation:
            native_activation = activation.native_for(self._environment)
        try:
            if native_activation is not None:
                result = self._native.eval(native_activation)
            else:
                check_timestamps(
                    activation, self._environment.timestamps, expression=self._expression
                )
                result = self._native.eval(data=activation)
        except RuntimeError as exc:
            raise EvaluationError(runtime_message(exc), expression=self._expression) from exc
        except TypeError as exc:  # pybind11 refused the arguments (e.g. a name that is no str)
            raise EvaluationError(
                f"the variables cannot be passed to CEL: {str(exc).splitlines()[0]}",
                expression=self._expression,
            ) from exc
        try:
            if result.type() == _ERROR:  # 0.1.3 also reports optional values as ERROR
                raise EvaluationError(clean_message(result.value()), expression=self._expression)
            return to_plain(result.plain_value())
        except TypeError as exc:
            raise EvaluationError(
                "the result has no Python equivalent (an optional value? "
                "end the expression with .orValue(...))",
                expression=self._expression,
            ) from exc
