"""Text from images, registries, policies and users, made safe to show.

Annotations, labels, a registry's error text, a policy's message and a reference
as typed can hold anything: ESC sequences that recolour or rewrite a terminal, C1
controls, bidi overrides and isolates that reorder what is read (U+202E), and
invisible formatting characters. Every output for people (the text report,
``inspect``'s text, GitHub annotations and the job summary) writes text through
:func:`escape`; the machine formats keep the exact text and only write those
characters in their own syntax (:func:`json_text`, :func:`xml_text`), so the bytes
of every report are safe on a terminal too.

What is escaped: every character :meth:`str.isprintable` refuses, that is the
Unicode categories Cc (C0 and C1 controls, DEL), Cf (formatting: bidi controls
U+200E/F, U+061C, U+202A-202E, U+2066-2069, zero-width characters, tag
characters), Cs (lone surrogates), Co (private use), Cn (unassigned), Zl, Zp and
every space separator but the ASCII space (U+00A0 looks like a space and is not).

The escaped form is Python's: ``\\n``, ``\\r``, ``\\t``, ``\\xHH``, ``\\uHHHH``,
``\\UHHHHHHHH``. A backslash is doubled only where it could be read as the start
of such an escape (before ``\\``, ``x``, ``u``, ``U``, ``n``, ``r``, ``t`` or an
escaped character), so ``C:\\Program Files`` and ``^v\\d+$`` read as written, and
the escaped text still tells every input apart.
"""

from __future__ import annotations

import json

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
#: After a backslash, these would read as an escape: such a backslash is doubled.
_ESCAPE_STARTS = frozenset("\\xuUnrt")


def _escaped(char: str) -> str:
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def escape(text: str, *, newlines: bool = False) -> str:
    """``text`` for a person to read: every non-printable character as a visible
    escape (``\\x1b``, ``\\u202e``). With ``newlines``, line feeds stay line feeds
    (for outputs that indent or encode the lines that follow)."""
    if "\\" not in text and text.isprintable():
        return text  # the common case, checked at C speed
    out: list[str] = []
    last = len(text) - 1
    for i, char in enumerate(text):
        if char == "\\":
            following = text[i + 1] if i < last else ""
            doubled = following in _ESCAPE_STARTS or (following and not following.isprintable())
            out.append("\\\\" if doubled else "\\")
        elif char.isprintable() or (newlines and char == "\n"):
            out.append(char)
        else:
            out.append(_escaped(char))
    return "".join(out)


def _safe_lines(text: str, form: str) -> str:
    """``text`` with every non-printable character but the line feed written in
    ``form`` (``json`` or ``xml``); lines that need nothing are copied as they are."""
    if text.isprintable():
        return text  # a compact JSON line, the common case: checked at C speed
    lines = text.split("\n")
    for n, line in enumerate(lines):
        if not line.isprintable():
            escaped = _json_escape if form == "json" else _xml_reference
            lines[n] = "".join(c if c.isprintable() else escaped(c) for c in line)
    return "\n".join(lines)


def _json_escape(char: str) -> str:
    # json's own \u form (a surrogate pair above U+FFFF), so any JSON reader gets char back.
    return json.dumps(char)[1:-1]


def _xml_reference(char: str) -> str:
    return f"&#x{ord(char):X};"


def json_text(dumped: str) -> str:
    """JSON text (from ``json.dumps(..., ensure_ascii=False)``) with every non-printable
    character written as a JSON ``\\uXXXX`` escape: the same values for any JSON
    reader, and nothing a terminal would obey. Outside strings, ``json.dumps`` writes
    no such character but the line feed of indentation, which stays."""
    return _safe_lines(dumped, "json")


def xml_text(serialized: str) -> str:
    """Serialised XML with every non-printable character written as a character
    reference (``&#x202E;``): the same text for any XML reader, nothing a terminal
    would obey. Characters XML 1.0 cannot carry at all must be gone already."""
    return _safe_lines(serialized, "xml")
