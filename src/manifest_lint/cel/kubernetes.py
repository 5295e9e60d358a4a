"""The Kubernetes CEL libraries, with Kubernetes' names and semantics, on every backend.

Written here from the Kubernetes documentation (k8s.io/apiserver/pkg/cel/library):
regex (``find``, ``findAll``), lists (``isSorted``, ``sum``, ``min``, ``max``,
``indexOf``, ``lastIndexOf``), URLs (``url``, ``isURL``, ``getScheme``, ``getHost``,
``getHostname``, ``getPort``, ``getEscapedPath``, ``getQuery``), IP addresses and CIDR
ranges (``ip``, ``isIP``, ``cidr``, ``isCIDR``, ``family``, ``containsIP``...) and semantic versions
(``semver``, ``isSemver``, ``isGreaterThan``, ``compareTo``, ``major``...).

One difference from Kubernetes: a URL, an IP, a CIDR or a semver is a *string* here
(its canonical form), because neither library can carry an opaque value through
Python; ``type(url('/x'))`` is ``string``, and the member functions also accept a
plain string (``'10.0.0.0/8'.containsIP('10.1.2.3')``). The constructors still
refuse what Kubernetes refuses, so ``cidr(params.range)`` checks its argument.
Regular expressions are Python's ``re`` (RE2 in Kubernetes): the usual syntax is the
same, but RE2 refuses back-references and look-arounds, which Python accepts.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Sequence
from typing import Any

from manifest_lint.cel.base import (
    BOOL,
    BYTES,
    DOUBLE,
    DYN,
    INT,
    LIST,
    MAP,
    STRING,
    UINT,
    CelFunction,
    CelType,
    list_of,
    map_of,
)
from manifest_lint.cel.kubernetes_net import (
    cidr,
    cidr_ip,
    contains_cidr,
    contains_ip,
    family,
    get_escaped_path,
    get_host,
    get_hostname,
    get_port,
    get_query,
    get_scheme,
    ip,
    is_cidr,
    is_global_unicast,
    is_ip,
    is_link_local_multicast,
    is_link_local_unicast,
    is_loopback,
    is_unspecified,
    is_url,
    masked,
    prefix_length,
    url,
)

# -- regex ------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from exc


def find(text: str, pattern: str) -> str:
    """The first match, or ``''`` when there is none."""
    match = _regex(pattern).search(text)
    return match.group(0) if match else ""


def find_all(text: str, pattern: str, limit: int = -1) -> list[str]:
    """Every match, or the first ``limit`` (a negative limit: all)."""
    if limit == 0:
        return []
    found = [m.group(0) for m in _regex(pattern).finditer(text)]
    return found if limit < 0 else found[:limit]


# -- lists ------------------------------------------------------------------------------------


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def cel_equal(a: Any, b: Any) -> bool:
    """CEL equality: numbers compare by value across int/uint/double; bool is no number."""
    if _kind(a) != _kind(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(cel_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(cel_equal(a[k], b[k]) for k in a)
    return bool(a == b)


def _comparable(items: Sequence[Any]) -> None:
    kinds = {_kind(item) for item in items}
    if len(kinds) > 1 or kinds - {"number", "str", "bool", "bytes", "datetime", "timedelta"}:
        raise ValueError("the elements cannot be compared with each other")


def is_sorted(items: list[Any]) -> bool:
    _comparable(items)
    return all(a <= b for a, b in itertools.pairwise(items))


def list_sum(items: list[Any]) -> Any:
    """The sum; ``0`` for an empty list (Kubernetes gives the element type's zero)."""
    if not items:
        return 0
    _comparable(items)
    if _kind(items[0]) != "number" and not hasattr(items[0], "total_seconds"):
        raise ValueError("sum() needs numbers or durations")
    total = items[0]
    for item in items[1:]:
        total = total + item
    return total


def list_min(items: list[Any]) -> Any:
    if not items:
        raise ValueError("min() of an empty list")
    _comparable(items)
    return min(items)


def list_max(items: list[Any]) -> Any:
    if not items:
        raise ValueError("max() of an empty list")
    _comparable(items)
    return max(items)


def index_of(items: list[Any], value: Any) -> int:
    return next((i for i, item in enumerate(items) if cel_equal(item, value)), -1)


def last_index_of(items: list[Any], value: Any) -> int:
    found = [i for i, item in enumerate(items) if cel_equal(item, value)]
    return found[-1] if found else -1


# -- semantic versions ---------------------------------------------------------------------------

_NUMBER = r"(0|[1-9]\d*)"
_IDENT = r"(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)"
_SEMVER = re.compile(
    rf"{_NUMBER}\.{_NUMBER}\.{_NUMBER}(?:-({_IDENT}(?:\.{_IDENT})*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?\Z"
)


def _normalize(text: str) -> str:
    """``semver(s, true)``: an optional ``v``, missing minor/patch, leading zeros."""
    text = text.removeprefix("v")
    core, rest = re.match(r"([0-9.]*)(.*)\Z", text, re.DOTALL).groups()  # type: ignore[union-attr]  # always matches
    numbers = core.split(".")
    if len(numbers) > 3 or not all(n.isdigit() for n in numbers) or rest[:1] not in ("", "-", "+"):
        return text
    return ".".join([str(int(n)) for n in numbers] + ["0"] * (3 - len(numbers))) + rest


def _version(text: str, normalize: bool = False) -> re.Match[str]:
    match = _SEMVER.match(_normalize(text) if normalize else text)
    if not match:
        raise ValueError(f"could not parse {text!r} as semver")
    return match


def semver(text: str, normalize: bool = False) -> str:
    return _version(text, normalize).group(0)


def is_semver(text: str, normalize: bool = False) -> bool:
    try:
        _version(text, normalize)
    except ValueError:
        return False
    return True


def _precedence(text: str) -> tuple[Any, ...]:
    match = _version(text)
    core = tuple(int(match.group(i)) for i in (1, 2, 3))
    if match.group(4) is None:
        return (*core, 1, ())
    parts = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in match.group(4).split("."))
    return (*core, 0, parts)


def compare_to(a: str, b: str) -> int:
    left, right = _precedence(a), _precedence(b)
    return (left > right) - (left < right)


def major(text: str) -> int:
    return int(_version(text).group(1))


def minor(text: str) -> int:
    return int(_version(text).group(2))


def patch(text: str) -> int:
    return int(_version(text).group(3))


# -- declarations -------------------------------------------------------------------------------


def _fn(
    name: str, params: Sequence[CelType], result: CelType, impl: Callable[..., Any], doc: str
) -> CelFunction:
    return CelFunction(name, tuple(params), result, impl, doc=doc, member=True, library=True)


def _global(
    name: str, params: Sequence[CelType], result: CelType, impl: Callable[..., Any], doc: str
) -> CelFunction:
    return CelFunction(name, tuple(params), result, impl, doc=doc, library=True)


_ELEMENTS = (STRING, INT, UINT, DOUBLE, BOOL, BYTES, LIST, MAP)

KUBERNETES_FUNCTIONS: tuple[CelFunction, ...] = (
    _fn("find", (STRING, STRING), STRING, find, "first match of a regex, or ''"),
    _fn("findAll", (STRING, STRING), list_of(STRING), find_all, "every match of a regex"),
    _fn("findAll", (STRING, STRING, INT), list_of(STRING), find_all, "the first N matches"),
    _fn("isSorted", (LIST,), BOOL, is_sorted, "whether the list is in ascending order"),
    _fn("sum", (LIST,), DYN, list_sum, "the sum of the elements"),
    _fn("min", (LIST,), DYN, list_min, "the smallest element"),
    _fn("max", (LIST,), DYN, list_max, "the largest element"),
    *(_fn("indexOf", (LIST, t), INT, index_of, "first index of a value, or -1") for t in _ELEMENTS),
    *(
        _fn("lastIndexOf", (LIST, t), INT, last_index_of, "last index of a value, or -1")
        for t in _ELEMENTS
    ),
    _global("url", (STRING,), STRING, url, "a URL (absolute, or an absolute path)"),
    _global("isURL", (STRING,), BOOL, is_url, "whether url() accepts the string"),
    _fn("getScheme", (STRING,), STRING, get_scheme, "the URL's scheme"),
    _fn("getHost", (STRING,), STRING, get_host, "the URL's host and port"),
    _fn("getHostname", (STRING,), STRING, get_hostname, "the URL's host, without the port"),
    _fn("getPort", (STRING,), STRING, get_port, "the URL's port, or ''"),
    _fn("getEscapedPath", (STRING,), STRING, get_escaped_path, "the URL's escaped path"),
    _fn("getQuery", (STRING,), map_of(STRING, list_of(STRING)), get_query, "the query"),
    _global("ip", (STRING,), STRING, ip, "an IP address, in canonical form"),
    _global("isIP", (STRING,), BOOL, is_ip, "whether ip() accepts the string"),
    _fn("family", (STRING,), INT, family, "4 or 6"),
    _fn("isUnspecified", (STRING,), BOOL, is_unspecified, "0.0.0.0 or ::"),
    _fn("isLoopback", (STRING,), BOOL, is_loopback, "127.0.0.0/8 or ::1"),
    _fn(
        "isLinkLocalMulticast", (STRING,), BOOL, is_link_local_multicast, "224.0.0.0/24, ff02::/16"
    ),
    _fn("isLinkLocalUnicast", (STRING,), BOOL, is_link_local_unicast, "169.254/16, fe80::/10"),
    _fn("isGlobalUnicast", (STRING,), BOOL, is_global_unicast, "as Go's IsGlobalUnicast"),
    _global("cidr", (STRING,), STRING, cidr, "a CIDR range, in canonical form"),
    _global("isCIDR", (STRING,), BOOL, is_cidr, "whether cidr() accepts the string"),
    _fn("ip", (STRING,), STRING, cidr_ip, "the address part of a CIDR"),
    _fn("masked", (STRING,), STRING, masked, "the CIDR with its host bits cleared"),
    _fn("prefixLength", (STRING,), INT, prefix_length, "the CIDR's prefix length"),
    _fn("containsIP", (STRING, STRING), BOOL, contains_ip, "whether the CIDR holds the IP"),
    _fn("containsCIDR", (STRING, STRING), BOOL, contains_cidr, "whether it holds the CIDR"),
    _global("semver", (STRING,), STRING, semver, "a semantic version (strict)"),
    _global("semver", (STRING, BOOL), STRING, semver, "semver(s, true): v1.2 is 1.2.0"),
    _global("isSemver", (STRING,), BOOL, is_semver, "whether semver() accepts the string"),
    _global("isSemver", (STRING, BOOL), BOOL, is_semver, "isSemver(s, normalize)"),
    _fn("compareTo", (STRING, STRING), INT, compare_to, "-1, 0 or 1 by semver precedence"),
    _fn(
        "isGreaterThan",
        (STRING, STRING),
        BOOL,
        lambda a, b: compare_to(a, b) > 0,
        "semver precedence",
    ),
    _fn("isLessThan", (STRING, STRING), BOOL, lambda a, b: compare_to(a, b) < 0, "precedence"),
    _fn("major", (STRING,), INT, major, "the major version"),
    _fn("minor", (STRING,), INT, minor, "the minor version"),
    _fn("patch", (STRING,), INT, patch, "the patch version"),
)
