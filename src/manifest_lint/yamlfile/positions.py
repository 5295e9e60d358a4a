"""Where a character of a scalar's value is in its file.

A scalar's value is not its text in the file: a folded block (``>``) and a multi-line
plain or quoted scalar join lines (a line break and the next line's indentation become
one space), block scalars drop each line's indentation, and quoted scalars have
escapes (``''``, ``\\"``, a ``\\`` at the end of a line). PyYAML keeps no position per
character, so :func:`locate` walks the value and the file side by side from where the
scalar's text starts: equal characters are the same character, and what the file has
in between (line breaks, indentation, quotes and backslashes of escapes) is skipped.
"""

from __future__ import annotations

#: What the file may have that the value does not: folding, indentation, escapes.
_SKIPPABLE = frozenset(" \t\r\n\\'")


def locate(source: str, line: int, column: int, value: str, index: int) -> tuple[int, int] | None:
    """1-based file line and column of ``value[index]``, for a scalar whose text starts
    at ``line``:``column`` (1-based) of ``source``; ``None`` if the value cannot be
    followed there (an escape such as ``\\x41`` or ``\\t``)."""
    lines = source.split("\n")
    if not 1 <= line <= len(lines):
        return None
    pos = sum(len(text) + 1 for text in lines[: line - 1]) + column - 1
    index = max(0, min(index, len(value)))
    for i, char in enumerate(value[: index + 1]):
        while pos < len(source) and source[pos] != char:
            if source[pos] not in _SKIPPABLE:
                return None
            pos += 1
        if pos >= len(source):
            return None
        if i < index:
            pos += 1
    start = source.rfind("\n", 0, pos) + 1
    return source.count("\n", 0, pos) + 1, pos - start + 1
