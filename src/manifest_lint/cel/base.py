"""The CEL layer's interface: types, custom functions, backends and compiled programs.

Nothing here imports a CEL library. A backend (``cel_cpp.py``, ``celpy.py``) turns
these declarations into its library's own, compiles once and evaluates many times;
plain Python values go in and come out::

    variables = {"image": MAP, "now": TIMESTAMP}
    program = backend.compile("image.platforms.size() > 1", variables=variables, functions=())
    program.evaluate({"image": {"platforms": ["linux/amd64"]}, "now": now})   # -> False

When several programs read the same values (every policy reads one image's
document), bind them once with :meth:`CelBackend.activation` and pass the
returned :class:`Activation`: the backend converts the values once, not once per
program.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol, runtime_checkable

from manifest_lint.errors import EvaluationError, ExpressionError, PluginError

_SCALAR_KINDS = frozenset(
    {"bool", "int", "uint", "double", "string", "bytes", "null", "timestamp", "duration", "dyn"}
)
_MAP_KEY_KINDS = frozenset({"string", "int", "uint", "bool", "dyn"})
_IDENTIFIER = re.compile(r"[_A-Za-z][_A-Za-z0-9]*\Z")

#: Names a custom function may not take: CEL macros, keywords, standard functions and
#: the string/optional/bindings extensions. Overloading them would change the meaning
#: of existing expressions (in cel-python a custom function *replaces* the built-in).
RESERVED_FUNCTION_NAMES = frozenset(
    {
        # macros and keywords
        "has", "all", "exists", "exists_one", "map", "filter", "dyn", "in", "true", "false",
        "null", "cel", "optional",
        # standard functions and conversions
        "size", "contains", "startsWith", "endsWith", "matches", "type", "int", "uint",
        "double", "string", "bytes", "bool", "list", "duration", "timestamp", "null_type",
        "getDate", "getDayOfMonth", "getDayOfWeek", "getDayOfYear", "getFullYear",
        "getMonth", "getHours", "getMilliseconds", "getMinutes", "getSeconds",
        # strings extension
        "charAt", "indexOf", "lastIndexOf", "lowerAscii", "upperAscii", "replace", "split",
        "join", "substring", "trim", "format", "quote", "reverse",
        # optional extension
        "orValue", "hasValue", "value", "or", "optMap", "optFlatMap",
        # lists, sets, math and encoders extensions, two-variable comprehensions
        "slice", "flatten", "distinct", "sort", "sortBy", "range", "first", "last",
        "transformList", "transformMap", "transformMapEntry", "lists", "sets", "math",
        "base64", "strings",
        # the Kubernetes libraries (cel/kubernetes.py)
        "find", "findAll", "isSorted", "sum", "min", "max", "url", "isURL", "getScheme",
        "getHost", "getHostname", "getPort", "getEscapedPath", "getQuery", "ip", "isIP", "family",
        "isUnspecified", "isLoopback", "isLinkLocalMulticast", "isLinkLocalUnicast",
        "isGlobalUnicast", "cidr", "isCIDR", "masked", "prefixLength", "containsIP",
        "containsCIDR", "semver", "isSemver", "compareTo", "isGreaterThan", "isLessThan",
        "major", "minor", "patch",
    }
)  # fmt: skip


@dataclass(frozen=True)
class CelType:
    """A CEL type: a scalar kind, or ``list(elem)`` / ``map(key, value)``.

    Use the constants (``STRING``, ``MAP``...), :func:`list_of`, :func:`map_of`, or
    :meth:`parse` (``CelType.parse("map(string, list(string))")``).
    """

    kind: str
    params: tuple[CelType, ...] = ()

    def __post_init__(self) -> None:
        if self.kind in _SCALAR_KINDS:
            ok = not self.params
        elif self.kind == "list":
            ok = len(self.params) == 1
        elif self.kind == "map":
            ok = len(self.params) == 2 and self.params[0].kind in _MAP_KEY_KINDS
        else:
            ok = False
        if not ok:
            raise ValueError(f"not a CEL type: {self.kind}{self.params or ''}")

    def __str__(self) -> str:
        if not self.params:
            return self.kind
        return f"{self.kind}({', '.join(str(p) for p in self.params)})"

    @classmethod
    def parse(cls, text: str) -> CelType:
        """``"string"``, ``"list(string)"``, ``"map(string, dyn)"`` -> a :class:`CelType`.

        A bare ``"list"`` is ``list(dyn)`` and a bare ``"map"`` is ``map(string, dyn)``.
        """
        parsed, rest = _parse_type(text.replace(" ", ""))
        if rest:
            raise ValueError(f"not a CEL type: {text!r}")
        return parsed


def _parse_type(text: str) -> tuple[CelType, str]:
    match = re.match(r"[a-z]+", text)
    if not match:
        raise ValueError(f"not a CEL type: {text!r}")
    kind, rest = match.group(), text[match.end() :]
    params: list[CelType] = []
    if rest.startswith("("):
        rest = rest[1:]
        while True:
            param, rest = _parse_type(rest)
            params.append(param)
            if rest.startswith(","):
                rest = rest[1:]
                continue
            if not rest.startswith(")"):
                raise ValueError(f"not a CEL type: unbalanced parentheses in {text!r}")
            rest = rest[1:]
            break
    elif kind == "list":
        params = [CelType("dyn")]
    elif kind == "map":
        params = [CelType("string"), CelType("dyn")]
    return CelType(kind, tuple(params)), rest


def list_of(element: CelType) -> CelType:
    return CelType("list", (element,))


def map_of(key: CelType, value: CelType) -> CelType:
    return CelType("map", (key, value))


#: A type, or its text: ``"string"``, ``"map"`` (= ``map(string, dyn)``), ``"list(string)"``.
CelTypeLike = CelType | str


def as_cel_type(type_: CelTypeLike) -> CelType:
    return type_ if isinstance(type_, CelType) else CelType.parse(type_)


def declared(variables: Mapping[str, CelTypeLike]) -> dict[str, CelType]:
    """Variable declarations with every type as a :class:`CelType`."""
    return {name: as_cel_type(type_) for name, type_ in variables.items()}


BOOL = CelType("bool")
INT = CelType("int")
UINT = CelType("uint")
DOUBLE = CelType("double")
STRING = CelType("string")
BYTES = CelType("bytes")
NULL = CelType("null")
TIMESTAMP = CelType("timestamp")
DURATION = CelType("duration")
DYN = CelType("dyn")
LIST = list_of(DYN)
MAP = map_of(STRING, DYN)


@dataclass(frozen=True)
class CelFunction:
    """One overload of a custom CEL function, declared with concrete types.

    ``impl`` takes and returns plain Python values (str, int, float, bool, bytes,
    list, dict, datetime, timedelta, None). An exception it raises becomes an
    evaluation error of the expression (so ``true || f(x)`` still short-circuits).
    Several ``CelFunction`` with one ``name`` and different ``params`` are overloads.
    ``member=True`` declares a receiver-style overload: ``params[0]`` is the
    receiver, called as ``"linux/arm64".name()``.

    A top-level ``dyn`` parameter is refused: cel-expr-python 0.1.3 never matches
    it at run time (declare one overload per concrete type instead); ``dyn`` inside
    ``list(dyn)`` or ``map(string, dyn)`` is fine.
    """

    name: str
    params: tuple[CelType, ...]
    result: CelType
    impl: Callable[..., Any]
    doc: str = ""
    member: bool = False
    #: One of manifest-lint's own libraries (``cel/kubernetes.py``), which may add
    #: overloads to a standard name (``list.indexOf`` beside ``string.indexOf``).
    library: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", tuple(self.params))
        if not _IDENTIFIER.match(self.name):
            raise PluginError(f"CEL function name {self.name!r} is not an identifier")
        if self.name in RESERVED_FUNCTION_NAMES and not self.library:
            raise PluginError(
                f"CEL function name {self.name!r} is a CEL built-in or macro; choose another name"
            )
        for index, param in enumerate(self.params, start=1):
            if param == DYN:
                raise PluginError(
                    f"parameter {index} of CEL function {self.name!r} is dyn: "
                    "cel-expr-python never matches a plain dyn parameter; "
                    "declare one overload per concrete type"
                )
        if self.member and not self.params:
            raise PluginError(f"receiver-style CEL function {self.name!r} needs a parameter")
        if not callable(self.impl):
            raise PluginError(f"CEL function {self.name!r}: impl is not callable")

    @property
    def signature(self) -> str:
        """``normalizePlatform(string) -> string`` or ``string.name(int) -> bool``."""
        if self.member:
            receiver, *rest = self.params
            call = f"{receiver}.{self.name}({', '.join(str(p) for p in rest)})"
        else:
            call = f"{self.name}({', '.join(str(p) for p in self.params)})"
        return f"{call} -> {self.result}"

    @property
    def overload_id(self) -> str:
        """A stable id, unique per name, parameters and call style."""
        return self.signature.split(" -> ")[0].replace(" ", "")


class Activation(Mapping[str, Any]):
    """Variable values bound once, for evaluating many programs of one backend.

    Made by :meth:`CelBackend.activation`; read-only. The values must not be
    mutated afterwards: backends convert them lazily and cache the result.
    """

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = dict(values)

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({sorted(self._values)})"


class CelProgram(Protocol):
    """A compiled expression: reusable, and safe to evaluate from several threads."""

    @property
    def expression(self) -> str: ...

    def evaluate(self, activation: Mapping[str, Any]) -> Any:
        """Evaluate with plain Python values (or an :class:`Activation`); plain values out.

        Raises :class:`~manifest_lint.errors.EvaluationError` for any run-time
        error: no such key, index out of range, division by zero, no matching
        overload, a failing custom function, a value that cannot be converted.
        """
        ...


class WrittenExpression:
    """What the built-in backends' programs share: the expression as written."""

    __slots__ = ("_expression",)

    def __init__(self, expression: str) -> None:
        self._expression = expression

    @property
    def expression(self) -> str:
        return self._expression

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._expression!r})"


class CelBackend(Protocol):
    """A CEL implementation: compiles expressions against declared variables and functions."""

    @property
    def name(self) -> str: ...

    @property
    def max_iterations(self) -> int | None:
        """Comprehension iterations allowed per evaluation, or None for no limit."""
        ...

    def compile(
        self,
        expression: str,
        *,
        variables: Mapping[str, CelTypeLike],
        functions: Sequence[CelFunction] = (),
    ) -> CelProgram:
        """Parse and check ``expression``; raises :class:`~manifest_lint.errors.ExpressionError`.

        The error's ``line`` and ``column`` are 1-based inside the expression.
        ``variables`` maps each name to its type (a :class:`CelType` or its text).
        """
        ...

    def activation(self, values: Mapping[str, Any]) -> Activation:
        """Bind ``values`` once for several :meth:`CelProgram.evaluate` calls."""
        ...


@runtime_checkable
class SharesActivations(Protocol):
    """A :class:`CelBackend` on which the policies of an image can share one activation.

    Optional: a backend without it gives each policy an activation of its own. Where
    converting an image's values is what costs (cel-expr-python), the policies of an
    image are evaluated on one activation, and each policy's own values sit in it
    beside the shared ones, under the policy's scope. A program compiled with
    :meth:`compile_scoped` reads each name in ``scoped`` as ``SCOPE.NAME``: CEL's
    container name resolution, decided by the type checker. The expression is
    compiled as written (no text is added to it), so it cannot reach another
    policy's values: a name such as ``p2.params`` is not declared where policies are
    compiled as written, and every expression is compiled that way first.

    An activation made by :meth:`CelBackend.activation` must serve the programs of
    both methods, whatever scope they were compiled with.
    """

    def compile_scoped(
        self,
        expression: str,
        *,
        scope: str,
        scoped: Sequence[str],
        variables: Mapping[str, CelTypeLike],
        functions: Sequence[CelFunction] = (),
    ) -> CelProgram:
        """:meth:`CelBackend.compile`, with each name in ``scoped`` read as
        ``SCOPE.NAME`` (``scope`` is an identifier)."""
        ...


class Problem(NamedTuple):
    """One compile problem as a backend reports it (1-based line and column, 0 if unknown)."""

    message: str
    line: int = 0
    column: int = 0


def caret(expression: str, line: int, column: int) -> str:
    """The expression's ``line`` with a ``^`` under ``column`` (both 1-based); tabs kept."""
    lines = expression.splitlines() or [""]
    if not 1 <= line <= len(lines) or column < 1:
        return ""
    text = lines[line - 1]
    pad = "".join(ch if ch == "\t" else " " for ch in text[: column - 1])
    return f"{text}\n{pad}^"


def expression_error(expression: str, problems: Sequence[Problem]) -> ExpressionError:
    """One :class:`ExpressionError` for a compile failure; the first problem gives the position."""
    if not problems:
        return ExpressionError("expression does not compile", expression=expression)
    first, rest = problems[0], problems[1:]
    detail = first.message
    if rest:
        others = "; ".join(
            f"{p.line}:{p.column}: {p.message}" if p.line else p.message for p in rest
        )
        detail += f" (and {len(rest)} more: {others})"
    return ExpressionError(
        detail,
        expression=expression,
        line=first.line,
        column=first.column,
        caret=caret(expression, first.line, first.column) if first.line else "",
    )


def timestamp_variables(variables: Mapping[str, CelType]) -> tuple[str, ...]:
    return tuple(name for name, type_ in variables.items() if type_ == TIMESTAMP)


def check_timestamps(
    values: Mapping[str, Any], names: Sequence[str], *, expression: str = ""
) -> None:
    """Refuse naive datetimes for timestamp variables: both libraries would read them as UTC."""
    for name in names:
        value = values.get(name)
        if isinstance(value, dt.datetime) and value.utcoffset() is None:
            raise EvaluationError(
                f"variable {name!r} is a naive datetime; pass a timezone-aware one "
                "(e.g. datetime.now(timezone.utc))",
                expression=expression,
            )
