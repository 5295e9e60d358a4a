"""Safe YAML loading that remembers where every value came from.

Policy and configuration files are user input: they are read with PyYAML's
safe loader, with a size cap, without anchors and aliases (no "billion laughs"),
and every mapping remembers the line and column of each key so that errors can
name them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

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


#: What PyYAML's constructors raise for values they cannot read (``!!int ''``...).
_CONSTRUCTOR_ERRORS = (ValueError, TypeError, AttributeError, OverflowError, LookupError)


class _Loader(yaml.SafeLoader):
    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]  # PyYAML stubs leave it untyped
            raise YamlFileError(
                "YAML aliases (*name) are not allowed here",
                event.start_mark.line + 1,
                event.start_mark.column + 1,
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if not isinstance(node, yaml.MappingNode):
            return super().construct_mapping(node, deep)
        result = LocatedDict()
        result.line, result.column = node.start_mark.line + 1, node.start_mark.column + 1
        result.key_positions = {}
        result.value_positions = {}
        result.value_styles = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                raise YamlFileError(
                    f"mapping keys must be strings, not {key!r}",
                    key_node.start_mark.line + 1,
                    key_node.start_mark.column + 1,
                )
            if key in result:
                raise YamlFileError(
                    f"duplicate key {key!r}",
                    key_node.start_mark.line + 1,
                    key_node.start_mark.column + 1,
                )
            result[key] = self.construct_object(value_node, deep=True)
            result.key_positions[key] = (
                key_node.start_mark.line + 1,
                key_node.start_mark.column + 1,
            )
            result.value_positions[key] = _value_start(value_node)
            if isinstance(value_node, yaml.ScalarNode):
                result.value_styles[key] = value_node.style
        return result

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except _CONSTRUCTOR_ERRORS as exc:
            # PyYAML's scalar constructors (!!timestamp, !!int, !!float...) raise these
            # for values they cannot read; give them a position like any YAML error.
            raise YamlFileError(
                f"invalid YAML: cannot read this {node.tag.rpartition(':')[2]} value "
                f"({type(exc).__name__}: {exc})",
                node.start_mark.line + 1,
                node.start_mark.column + 1,
            ) from None

    def construct_sequence(self, node: Any, deep: bool = False) -> Any:
        result = LocatedList(self.construct_object(child, deep=True) for child in node.value)
        result.line, result.column = node.start_mark.line + 1, node.start_mark.column + 1
        result.item_positions = [
            (child.start_mark.line + 1, child.start_mark.column + 1) for child in node.value
        ]
        return result


def _value_start(node: Any) -> tuple[int, int]:
    """1-based line and column where a value starts; for a block scalar (``|``, ``>``)
    its first content line and indentation, since its text starts there, not at the
    indicator (an explicit indentation indicator is not taken into account)."""
    mark = node.start_mark
    if not (isinstance(node, yaml.ScalarNode) and node.style in ("|", ">") and mark.buffer):
        return mark.line + 1, mark.column + 1
    lines = mark.buffer.split("\n")
    for number in range(mark.line + 1, min(node.end_mark.line + 1, len(lines))):
        text = lines[number].rstrip("\r\0")
        if text.strip():
            return mark.line + 2, len(text) - len(text.lstrip(" ")) + 1
    return mark.line + 2, 1


_Loader.add_constructor("tag:yaml.org,2002:map", _Loader.construct_mapping)
_Loader.add_constructor("tag:yaml.org,2002:seq", _Loader.construct_sequence)


@dataclass(frozen=True)
class YamlDocument:
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


def load_all(text: str) -> Iterator[YamlDocument]:
    """Every document of a YAML stream, with the line each starts on; empty ones left out."""
    try:
        loader = _Loader(text)
    except yaml.YAMLError as exc:  # the reader refuses characters YAML cannot hold
        raise YamlFileError("invalid YAML: " + " ".join(str(exc).split())) from None
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:  # pragma: no cover - check_node() said there is one
                break
            value = loader.construct_document(node)
            if value is not None:
                yield YamlDocument(value, node.start_mark.line + 1)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise YamlFileError(
            f"invalid YAML: {problem}",
            mark.line + 1 if mark else 0,
            mark.column + 1 if mark else 0,
        ) from None
    except yaml.YAMLError as exc:
        raise YamlFileError(f"invalid YAML: {exc}") from None
    except RecursionError:
        raise YamlFileError("YAML nested too deeply") from None
    except _CONSTRUCTOR_ERRORS as exc:  # from a constructor run outside construct_object
        raise YamlFileError(f"invalid YAML: {type(exc).__name__}: {exc}") from None
    finally:
        loader.dispose()


def plain(value: Any) -> Any:
    """Located containers back to plain dicts and lists (what CEL is given)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
