"""Safe YAML loading that remembers where every value came from.

Policy and configuration files are user input: they are read with PyYAML's
safe loader, with a size cap, without anchors and aliases (no "billion laughs"),
and every mapping remembers the line and column of each key so that errors can
name them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

#: Policy and configuration files larger than this are refused.
MAX_YAML_SIZE = 1024 * 1024


class YamlFileError(Exception):
    """A YAML file that cannot be read; ``line``/``column`` are 1-based (0: unknown)."""

    def __init__(self, message: str, line: int = 0, column: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


class LocatedDict(dict[str, Any]):
    """A mapping that knows the position of itself and of each of its keys."""

    line: int = 0
    column: int = 0
    key_positions: dict[str, tuple[int, int]]
    value_positions: dict[str, tuple[int, int]]
    #: For scalar values: the YAML style (None plain, "'" or '"' quoted, "|" or ">" block).
    value_styles: dict[str, str | None]

    def key_line(self, key: str) -> int:
        return self.key_positions.get(key, (self.line, self.column))[0]

    def value_position(self, key: str) -> tuple[int, int]:
        return self.value_positions.get(key, (self.line, self.column))


class LocatedList(list[Any]):
    line: int = 0
    column: int = 0
    item_positions: list[tuple[int, int]]


class YamlDocument(NamedTuple):
    value: Any
    line: int


def read_text(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_YAML_SIZE:
            raise YamlFileError(f"file is {size} bytes, above the {MAX_YAML_SIZE}-byte limit")
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise YamlFileError(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except FileNotFoundError:
        raise YamlFileError("no such file") from None
    except IsADirectoryError:
        raise YamlFileError("is a directory") from None
    except OSError as exc:
        raise YamlFileError(f"cannot read: {exc.strerror}") from None


def load_all(
    text: str, *, allow_aliases: bool = False, keys_as_text: bool = False, fast: bool = False
) -> Iterator[YamlDocument]:
    """Every document of a YAML stream, with the line each starts on; empty ones left out.

    ``allow_aliases`` accepts anchors and aliases (and merge keys): for files written
    by others, such as compose files, whose readers only walk known paths.
    ``keys_as_text`` reads unquoted keys as written (``on:`` is "on").
    ``fast`` uses libyaml's parser when available (large files being scanned).
    """
    from manifest_lint.yamlparse import parse

    return parse(text, allow_aliases=allow_aliases, keys_as_text=keys_as_text, fast=fast)


def plain(value: Any) -> Any:
    """Located containers back to plain dicts and lists (what CEL is given)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


# -- documents parsed ahead of time ------------------------------------------------------
# The wheel's build (hatch_build.py) parses the built-in policies and ships the result
# as JSON next to them, so that a run does not import PyYAML to read its own policies
# (about a fifth of an offline pre-commit run). The text is kept with its parse, and a
# parse is used only for exactly that text.


class NotPackable(ValueError):
    """A value JSON cannot carry as parsed (a YAML date, a set, binary...)."""


def pack(documents: Iterator[YamlDocument] | list[YamlDocument]) -> list[Any]:
    """Parsed documents as JSON values, positions and quoting styles included."""
    return [[doc.line, _pack(doc.value)] for doc in documents]


def unpack(data: Any) -> list[YamlDocument]:
    """What :func:`pack` gave, back as documents equal to the parser's."""
    return [YamlDocument(_unpack(value), line) for line, value in data]


_SCALARS = (str, int, float, bool, type(None))


def _pack(value: Any) -> Any:
    kind = type(value)
    if kind is LocatedDict:
        return [
            "map",
            value.line,
            value.column,
            [
                [
                    key,
                    [*value.key_positions[key], *value.value_positions[key]],
                    [value.value_styles[key]] if key in value.value_styles else [],
                    _pack(item),
                ]
                for key, item in value.items()
            ],
        ]
    if kind is LocatedList:
        return [
            "seq",
            value.line,
            value.column,
            [
                [*position, _pack(item)]
                for position, item in zip(value.item_positions, value, strict=True)
            ],
        ]
    if kind in _SCALARS:
        return value
    raise NotPackable(f"cannot pack a {kind.__name__}")


def _unpack(value: Any) -> Any:
    if type(value) is not list:
        return value
    kind, line, column, items = value
    if kind == "map":
        mapping = LocatedDict()
        mapping.line, mapping.column = line, column
        mapping.key_positions, mapping.value_positions, mapping.value_styles = {}, {}, {}
        for key, (key_line, key_column, value_line, value_column), style, item in items:
            mapping[key] = _unpack(item)
            mapping.key_positions[key] = (key_line, key_column)
            mapping.value_positions[key] = (value_line, value_column)
            if style:
                mapping.value_styles[key] = style[0]
        return mapping
    sequence = LocatedList(_unpack(item) for _, _, item in items)
    sequence.line, sequence.column = line, column
    sequence.item_positions = [(item_line, item_column) for item_line, item_column, _ in items]
    return sequence
