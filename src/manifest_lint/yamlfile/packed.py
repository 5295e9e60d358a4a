"""Parsed documents as JSON and back, positions and quoting styles included.

The wheel's build (``hatch_build.py``) parses the built-in policies and ships the result
as JSON next to them, so that a run does not import PyYAML to read its own policies
(measured: 97 ms against 108-110 ms for the offline pre-commit run of
``bench/startup.py``, which parses them with libyaml otherwise). The text is kept with
its parse, and a parse is used only for exactly that text.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from manifest_lint.yamlfile.located import LocatedDict, LocatedList, YamlDocument


class NotPackable(ValueError):
    """A value JSON cannot carry as parsed (a YAML date, a set, binary...)."""


def pack(documents: Iterable[YamlDocument]) -> list[Any]:
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
