"""The CEL extensions cel-python 0.5.0 lacks, written for the celpy backend.

cel-expr-python ships the strings, lists, sets, math and encoders extensions (enabled
in ``cel_cpp.py``); cel-python has none of them, so they are written here with the
semantics of cel-go's ``ext`` package. What cannot be a function is not here: the
``sortBy`` macro, ``first()``/``last()`` (they return optional values, which celpy
lacks) and two-variable comprehensions; ``celpy_check.py`` names them as
unsupported on this backend. Namespaced functions (``sets.contains(a, b)``) reach
celpy as a method call on the namespace's name: ``NAMESPACE_FUNCTIONS`` holds them.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable
from typing import Any

from manifest_lint.cel.base import INT, LIST, STRING, CelFunction, list_of
from manifest_lint.cel.kubernetes import cel_equal


def _code_points(text: str, index: int) -> None:
    if not 0 <= index <= len(text):
        raise ValueError(f"index out of range: {index}")


def char_at(text: str, index: int) -> str:
    _code_points(text, index)
    return text[index : index + 1]


def index_of(text: str, sub: str, start: int = 0) -> int:
    _code_points(text, start)
    return text.find(sub, start)


def last_index_of(text: str, sub: str, end: int | None = None) -> int:
    if end is None:
        return text.rfind(sub)
    _code_points(text, end)
    return text.rfind(sub, 0, end + len(sub))


def substring(text: str, start: int, end: int | None = None) -> str:
    end = len(text) if end is None else end
    _code_points(text, start)
    _code_points(text, end)
    if end < start:
        raise ValueError(f"invalid substring range. start: {start}, end: {end}")
    return text[start:end]


def replace(text: str, old: str, new: str, count: int = -1) -> str:
    return text.replace(old, new, count)


def split(text: str, separator: str, limit: int = -1) -> list[str]:
    if limit == 0:
        return []
    if separator == "":
        parts = list(text)
        return parts if limit < 0 else [*parts[: limit - 1], "".join(parts[limit - 1 :])]
    return text.split(separator, limit - 1 if limit > 0 else -1)


def lower_ascii(text: str) -> str:
    return "".join(c.lower() if c.isascii() else c for c in text)


def upper_ascii(text: str) -> str:
    return "".join(c.upper() if c.isascii() else c for c in text)


def quote(text: str) -> str:
    escapes = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
    return '"' + "".join(escapes.get(c, c) for c in text) + '"'


def flatten(items: list[Any], depth: int = 1) -> list[Any]:
    if depth < 0:
        raise ValueError("level must be non-negative")
    out: list[Any] = []
    for item in items:
        if isinstance(item, list) and depth > 0:
            out.extend(flatten(item, depth - 1))
        else:
            out.append(item)
    return out


def distinct(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if not any(cel_equal(item, seen) for seen in out):
            out.append(item)
    return out


def slice_(items: list[Any], start: int, end: int) -> list[Any]:
    if start < 0 or end < start or end > len(items):
        raise ValueError(f"cannot slice({start}, {end}) a list of {len(items)}")
    return items[start:end]


def sort(items: list[Any]) -> list[Any]:
    kinds = {
        type(i) if not isinstance(i, (int, float)) or isinstance(i, bool) else float for i in items
    }
    if len(kinds) > 1:
        raise ValueError("list elements must have the same type")
    return sorted(items)


def _member(
    name: str, params: tuple[Any, ...], result: Any, impl: Callable[..., Any]
) -> CelFunction:
    return CelFunction(name, params, result, impl, doc=f"{name} (celpy)", member=True, library=True)


CELPY_FUNCTIONS: tuple[CelFunction, ...] = (
    _member("charAt", (STRING, INT), STRING, char_at),
    _member("indexOf", (STRING, STRING), INT, index_of),
    _member("indexOf", (STRING, STRING, INT), INT, index_of),
    _member("lastIndexOf", (STRING, STRING), INT, last_index_of),
    _member("lastIndexOf", (STRING, STRING, INT), INT, last_index_of),
    _member("lowerAscii", (STRING,), STRING, lower_ascii),
    _member("upperAscii", (STRING,), STRING, upper_ascii),
    _member("replace", (STRING, STRING, STRING), STRING, replace),
    _member("replace", (STRING, STRING, STRING, INT), STRING, replace),
    _member("split", (STRING, STRING), list_of(STRING), split),
    _member("split", (STRING, STRING, INT), list_of(STRING), split),
    _member("substring", (STRING, INT), STRING, substring),
    _member("substring", (STRING, INT, INT), STRING, substring),
    _member("trim", (STRING,), STRING, str.strip),
    _member("reverse", (STRING,), STRING, lambda s: s[::-1]),
    _member("join", (list_of(STRING),), STRING, "".join),
    _member("join", (list_of(STRING), STRING), STRING, lambda items, sep: sep.join(items)),
    _member("slice", (LIST, INT, INT), LIST, slice_),
    _member("flatten", (LIST,), LIST, flatten),
    _member("flatten", (LIST, INT), LIST, flatten),
    _member("distinct", (LIST,), LIST, distinct),
    _member("sort", (LIST,), LIST, sort),
    _member("reverse", (LIST,), LIST, lambda items: items[::-1]),
)


def _contains_all(a: list[Any], b: list[Any]) -> bool:
    return all(any(cel_equal(x, y) for y in a) for x in b)


def _numbers(args: tuple[Any, ...]) -> list[Any]:
    values = list(args[0]) if len(args) == 1 and isinstance(args[0], list) else list(args)
    if not values:
        raise ValueError("math.greatest/least need at least one argument")
    return values


#: ``NAMESPACE.name(args)`` -> a function of plain values.
NAMESPACE_FUNCTIONS: dict[tuple[str, str], Callable[..., Any]] = {
    ("sets", "contains"): _contains_all,
    ("sets", "equivalent"): lambda a, b: _contains_all(a, b) and _contains_all(b, a),
    ("sets", "intersects"): lambda a, b: any(any(cel_equal(x, y) for y in b) for x in a),
    ("math", "greatest"): lambda *args: max(_numbers(args)),
    ("math", "least"): lambda *args: min(_numbers(args)),
    ("math", "abs"): abs,
    ("math", "ceil"): lambda x: float(math.ceil(x)),
    ("math", "floor"): lambda x: float(math.floor(x)),
    ("math", "round"): lambda x: float(math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)),
    ("math", "trunc"): lambda x: float(math.trunc(x)),
    ("math", "sqrt"): lambda x: math.sqrt(x),
    ("math", "isNaN"): math.isnan,
    ("math", "isInf"): math.isinf,
    ("base64", "encode"): lambda b: base64.b64encode(b).decode("ascii"),
    ("base64", "decode"): lambda s: base64.b64decode(s + "=" * (-len(s) % 4), validate=True),
    ("lists", "range"): lambda n: list(range(n)),
    ("strings", "quote"): quote,
}
NAMESPACES = frozenset(ns for ns, _ in NAMESPACE_FUNCTIONS)
