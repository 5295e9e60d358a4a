"""Policy test files (``*.policytest.yaml``): found under paths, read with their
lines, checked against ``schemas/policytest.schema.json`` and beyond it (duplicate
case names, regular expressions that compile, fixtures that exist). Anything wrong
is a :class:`~manifest_lint.errors.PolicyTestError` naming the file and line: a test
file must never pass because of a mistake in it."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from manifest_lint.errors import ConfigError, InvalidReferenceError, PolicyTestError
from manifest_lint.exception_files import parse_exceptions
from manifest_lint.image.reference import LAYOUT_TRANSPORTS, parse_reference
from manifest_lint.results import Waiver
from manifest_lint.yamlfile import LocatedDict, LocatedList, load_all, plain, read_text
from manifest_lint.yamlfile.schema import check

#: What ``manifest-lint test`` collects under a directory.
PATTERN = "*.policytest.yaml"
#: The ``now`` the policies see when a test file gives none: fixed, so a test gives
#: the same verdict on every day.
DEFAULT_NOW = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Case:
    """One case: a fixture (``image``, a reference with layout paths made relative to
    the test file, or ``document``, a JSON file) and what each result must be."""

    name: str
    line: int
    #: As written in the test file (shown in the output).
    written: str
    image: str = ""
    document: Path | None = None
    #: Result name -> expected outcome word, and the line it is written on.
    expect: tuple[tuple[str, str, int], ...] = ()
    #: Result name -> regular expression on its message, and its line.
    messages: tuple[tuple[str, re.Pattern[str], int], ...] = ()
    #: A registry reference: read from the network, marked ``(online)``.
    online: bool = False


@dataclass(frozen=True)
class PolicyEntry:
    """An entry of ``spec.policies``: a file (resolved) or a policy name."""

    text: str
    line: int
    path: Path | None


@dataclass(frozen=True)
class PolicyTestFile:
    """A test file as read: its policies, params, `now`, strictness and cases."""

    path: Path
    name: str
    policies: tuple[PolicyEntry, ...]
    #: Policy name -> (params, line of the entry, line of each key).
    params: dict[str, tuple[dict[str, Any], int, dict[str, int]]]
    now: datetime
    strict: bool
    cases: tuple[Case, ...]
    #: ``spec.exceptions``: applied to every case, their expiry judged against ``now``.
    waivers: tuple[Waiver, ...] = ()


def collect(paths: Sequence[Path]) -> list[Path]:
    """The test files ``paths`` name: each file itself, each directory's
    ``**/*.policytest.yaml``; sorted, each once. A path that does not exist is an error."""
    found: dict[Path, Path] = {}
    for path in paths:
        if path.is_dir():
            for file in sorted(path.rglob(PATTERN)):
                if file.is_file():
                    found.setdefault(file.resolve(), file)
        elif path.is_file():
            found.setdefault(path.resolve(), path)
        else:
            raise PolicyTestError(f"{path}: no such file or directory")
    return sorted(found.values())


def read_test_file(path: Path, transports: Iterable[str] = ()) -> PolicyTestFile:
    """``path`` read and checked (see the module's docstring); ``transports``: the
    plugins' path-like transports, as :func:`~manifest_lint.image.reference.parse_reference`
    takes them."""
    shown = str(path)
    text = read_text(path, PolicyTestError)
    documents = load_all(text, path=shown, error=PolicyTestError)
    if len(documents) != 1:
        raise PolicyTestError(
            f"a policy test file holds one YAML document, not {len(documents)}", path=shown
        )
    doc = documents[0].value
    check(doc, "policytest.schema.json", path=shown, error=PolicyTestError)
    spec: LocatedDict = doc["spec"]
    base = path.parent
    policies = tuple(_policy_entry(text, line, base) for text, line in _items(spec, "policies"))
    params: dict[str, tuple[dict[str, Any], int, dict[str, int]]] = {}
    given: LocatedDict = spec.get("params") or LocatedDict()
    for name, values in given.items():
        values = values or {}
        lines = {k: values.key_line(k) for k in values} if isinstance(values, LocatedDict) else {}
        params[name] = (plain(values), given.key_line(name), lines)
    now = DEFAULT_NOW
    if "now" in spec:
        now = _time(spec["now"], shown, spec.key_line("now"))
    try:
        waivers = parse_exceptions(spec.get("exceptions"), shown, spec.key_line("exceptions"))
    except ConfigError as exc:  # already names the file and line
        raise PolicyTestError(exc.message) from None
    cases: list[Case] = []
    seen: dict[str, int] = {}
    for raw in spec["cases"]:
        case = _case(raw, path, base, transports)
        if case.name in seen:
            raise PolicyTestError(
                f"two cases are named {case.name!r} (the first on line {seen[case.name]})",
                path=shown,
                line=case.line,
            )
        seen[case.name] = case.line
        cases.append(case)
    return PolicyTestFile(
        path,
        doc["metadata"]["name"],
        policies,
        params,
        now,
        bool(spec.get("strict", False)),
        tuple(cases),
        waivers,
    )


def _items(obj: LocatedDict, key: str) -> Iterator[tuple[str, int]]:
    values = obj[key]
    positions = values.item_positions if isinstance(values, LocatedList) else []
    for index, value in enumerate(values):
        line = positions[index][0] if index < len(positions) else obj.key_line(key)
        yield value, line


def _policy_entry(text: str, line: int, base: Path) -> PolicyEntry:
    """A file when it looks like one (a path separator or a YAML suffix), else a name."""
    if "/" in text or text.endswith((".yaml", ".yml")):
        return PolicyEntry(text, line, base / text)
    return PolicyEntry(text, line, None)


def _time(text: str, path: str, line: int) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError as exc:
        raise PolicyTestError(f"spec.now: {exc}", path=path, line=line) from None
    if value.tzinfo is None:  # pragma: no cover - the schema requires an offset
        value = value.replace(tzinfo=UTC)
    return value


def _case(raw: LocatedDict, path: Path, base: Path, transports: Iterable[str]) -> Case:
    shown = str(path)
    line = raw.key_line("name")
    name = str(raw["name"])
    expect_map: LocatedDict = raw["expect"]
    expect = tuple((k, str(v), expect_map.key_line(k)) for k, v in expect_map.items())
    messages: list[tuple[str, re.Pattern[str], int]] = []
    given: LocatedDict = raw.get("messages") or LocatedDict()
    for key, pattern in given.items():
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise PolicyTestError(
                f"messages.{key}: not a regular expression: {exc}",
                path=shown,
                line=given.key_line(key),
            ) from None
        messages.append((key, compiled, given.key_line(key)))
    if "document" in raw:
        document = base / raw["document"]
        if not document.is_file():
            raise PolicyTestError(
                f"case {name!r}: document {raw['document']}: no such file",
                path=shown,
                line=raw.key_line("document"),
            )
        return Case(
            name, line, raw["document"], document=document, expect=expect, messages=tuple(messages)
        )
    written = str(raw["image"])
    image, online = _image(written, base, shown, raw.key_line("image"), name, transports)
    return Case(
        name, line, written, image=image, expect=expect, messages=tuple(messages), online=online
    )


def _image(
    written: str, base: Path, path: str, line: int, case: str, transports: Iterable[str]
) -> tuple[str, bool]:
    """The reference to read: an OCI layout's path made relative to the test file (and
    required to exist); a registry reference as written, online; a plugin's transport
    as written."""
    try:
        reference = parse_reference(written, transports)
    except InvalidReferenceError as exc:
        raise PolicyTestError(f"case {case!r}: image: {exc}", path=path, line=line) from None
    if reference.transport not in LAYOUT_TRANSPORTS:
        return written, reference.transport == "docker"
    fixture = Path(reference.path)
    if not fixture.is_absolute():
        fixture = base / fixture
    if not fixture.exists():
        raise PolicyTestError(
            f"case {case!r}: image {written}: no such fixture ({reference.path} relative to "
            "the test file)",
            path=path,
            line=line,
        )
    text = f"{reference.transport}:{fixture}"
    if reference.tag:
        text += f":{reference.tag}"
    if reference.digest:
        text += f"@{reference.digest}"
    return text, False
