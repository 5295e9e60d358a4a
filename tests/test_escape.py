"""reporters/escape.py: what people see of text from images, registries and users.

The property tests run over every code point (hypothesis draws characters from the
whole of Unicode, surrogates included): the escaped text holds no character a
terminal would obey or a reader could not see, and it tells every input apart
(``unescape`` below reads it back as docs/security.md describes the form).
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
import xml.etree.ElementTree as ET

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from manifest_lint.reporters.escape import escape, json_text, xml_text

#: Every character, surrogates and unassigned ones included.
ANY_TEXT = st.text(st.characters(min_codepoint=0, max_codepoint=sys.maxunicode))

#: What must never reach a terminal raw: C0/C1 controls and DEL, bidi embeddings,
#: overrides, isolates and marks, and the other formatting and invisible characters.
BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
DANGEROUS_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def dangerous(char: str) -> bool:
    if char == " ":
        return False
    return (
        char in BIDI
        or unicodedata.category(char) in DANGEROUS_CATEGORIES
        or unicodedata.category(char) == "Zs"  # spaces that look like a space
    )


_ESCAPE = re.compile(r"\\(?:x([0-9a-f]{2})|u([0-9a-f]{4})|U([0-9a-f]{8})|([\\nrt]))")
_NAMED = {"\\": "\\", "n": "\n", "r": "\r", "t": "\t"}


def unescape(text: str) -> str:
    """The reading docs/security.md gives: an escape is read as its character, any
    other backslash as itself."""

    def one(match: re.Match[str]) -> str:
        hexa = match.group(1) or match.group(2) or match.group(3)
        return chr(int(hexa, 16)) if hexa else _NAMED[match.group(4)]

    return _ESCAPE.sub(one, text)


@given(ANY_TEXT)
@example("\x1b[31mred\x1b[0m \u202eevil\u202c \x9b2J \u2028 \ud800 \U000e0041")
@example("\\x1b and \x1b, C:\\Program Files and C:\\users, ^v\\d+$, \\\\ and \\\x1b")
def test_escaped_text_is_safe_and_reads_back(text: str) -> None:
    safe = escape(text)
    assert not [c for c in safe if dangerous(c)], ascii(safe)
    assert safe.isprintable()
    assert unescape(safe) == text


@given(ANY_TEXT)
def test_with_newlines_only_line_feeds_stay(text: str) -> None:
    safe = escape(text, newlines=True)
    assert not [c for c in safe if c != "\n" and dangerous(c)]
    assert unescape(safe) == text


@given(ANY_TEXT, ANY_TEXT)
def test_different_texts_never_look_the_same(a: str, b: str) -> None:
    if a != b:
        assert escape(a) != escape(b)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain text, é ✓ 🐳 日本", "plain text, é ✓ 🐳 日本"),
        ("\x1b[31m", "\\x1b[31m"),
        ("bell\x07 nel\x85 csi\x9b", "bell\\x07 nel\\x85 csi\\x9b"),
        ("a\u202eb\u2066c\u200fd\u061ce", "a\\u202eb\\u2066c\\u200fd\\u061ce"),
        ("zero\u200bwidth\ufeff", "zero\\u200bwidth\\ufeff"),
        ("tag\U000e0041", "tag\\U000e0041"),
        ("line\nnext\ttab\rcr", "line\\nnext\\ttab\\rcr"),
        ("nbsp\xa0ls\u2028", "nbsp\\xa0ls\\u2028"),
        # A backslash is doubled only where it would read as an escape.
        ("C:\\Program Files", "C:\\Program Files"),
        ("^v\\d+$", "^v\\d+$"),
        ("C:\\users", "C:\\\\users"),
        ("\\x1b", "\\\\x1b"),
        ("end\\", "end\\"),
        ("\\\x1b", "\\\\\\x1b"),
    ],
)
def test_the_escaped_form(raw: str, shown: str) -> None:
    assert escape(raw) == shown


def test_newlines_kept_on_request() -> None:
    assert escape("one\ntwo\x1b", newlines=True) == "one\ntwo\\x1b"


@given(st.dictionaries(ANY_TEXT, ANY_TEXT, max_size=4))
def test_json_text_keeps_every_value_and_no_dangerous_byte(value: dict[str, str]) -> None:
    for dumped in (
        json.dumps(value, ensure_ascii=False),
        json.dumps(value, ensure_ascii=False, indent=2),
    ):
        safe = json_text(dumped)
        assert json.loads(safe) == value
        assert not [c for c in safe if c != "\n" and dangerous(c)]


#: What XML 1.0 cannot carry at all; the JUnit reporter replaces it before xml_text.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@given(ANY_TEXT.map(lambda t: _XML_ILLEGAL.sub("", t)))
def test_xml_text_keeps_the_text_and_no_dangerous_byte(text: str) -> None:
    element = ET.Element("case", {"message": text})
    element.text = text
    safe = xml_text(ET.tostring(element, encoding="unicode"))
    assert not [c for c in safe if c != "\n" and dangerous(c)]
    back = ET.fromstring(safe)
    assert back.get("message") == text
    assert (back.text or "") == text
