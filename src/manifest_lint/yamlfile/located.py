"""Parsed YAML values that remember where they came from (line and column, 1-based)."""

from __future__ import annotations

from typing import Any, NamedTuple


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


def plain(value: Any) -> Any:
    """Located containers back to plain dicts and lists (what CEL is given)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
