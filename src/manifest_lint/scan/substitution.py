"""Variable substitution as a Dockerfile (BuildKit's shell lexer) and a Compose
file (its interpolation) do it, with the first reason a value is not the real one."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import NamedTuple


class _BadSyntax(Exception):
    """A substitution that does not parse; never leaves this module."""


class Var(NamedTuple):
    """A variable as substitution sees it: a value, unset (``value`` None; ``problem``
    says why a plain reference cannot be resolved), or ``opaque``: set to a value
    only the builder knows, so any use of it is a ``problem``."""

    value: str | None = None
    problem: str = ""
    opaque: bool = False


class Text(NamedTuple):
    """Substituted text, and the first reason it is not the real value ("" if none)."""

    value: str
    problem: str = ""


_MAX_NESTING = 32
_COMPOSE_VARIABLE = re.compile(r"[_A-Za-z][_A-Za-z0-9]*")
_SPECIAL_PARAMETERS = "@*#?-$!0"


@functools.lru_cache(maxsize=32)
def _special(escape: str, compose: bool, stop: str) -> re.Pattern[str]:
    """The characters a word's plain run ends at."""
    chars = {"$", escape, *([] if compose else ["'", '"']), *([stop] if stop else [])}
    return re.compile("[" + "".join(re.escape(c) for c in sorted(chars) if c) + "]")


class _Substitution:
    """One word being substituted: the Dockerfile rules (BuildKit's shell lexer: quotes,
    the escape character, ``$name`` and ``${name...}``) or Compose's (``$$``, no quotes)."""

    def __init__(
        self, text: str, lookup: Callable[[str], Var], *, escape: str, compose: bool
    ) -> None:
        self.text = text
        self.pos = 0
        self.lookup = lookup
        self.escape = escape
        self.compose = compose
        self.depth = 0

    def _peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def _next(self) -> str:
        ch = self._peek()
        self.pos += 1 if ch else 0
        return ch

    def word(self, stop: str = "") -> Text:
        """Up to ``stop`` (consumed; end of text when ""), substituted."""
        self.depth += 1
        if self.depth > _MAX_NESTING:
            raise _BadSyntax("substitutions are nested too deeply")
        parts: list[str] = []
        problem = ""
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if stop and ch == stop:
                self.pos += 1
                self.depth -= 1
                return Text("".join(parts), problem)
            if ch == "$":
                piece = self._dollar()
            elif ch == "'" and not self.compose:
                piece = Text(self._single_quoted())
            elif ch == '"' and not self.compose:
                piece = self._double_quoted()
            elif ch == self.escape:
                self.pos += 1
                if self.pos == len(self.text):
                    break
                piece = Text(self._next())
            else:
                # A run of plain characters at once (most words are nothing but).
                end = _special(self.escape, self.compose, stop).search(self.text, self.pos)
                stretch = end.start() if end else len(self.text)
                parts.append(self.text[self.pos : stretch])
                self.pos = stretch
                continue
            parts.append(piece.value)
            problem = problem or piece.problem
        if stop:
            raise _BadSyntax(f"missing '{stop}'")
        self.depth -= 1
        return Text("".join(parts), problem)

    def _single_quoted(self) -> str:
        end = self.text.find("'", self.pos + 1)
        if end == -1:
            raise _BadSyntax("missing closing single quote")
        value = self.text[self.pos + 1 : end]
        self.pos = end + 1
        return value

    def _double_quoted(self) -> Text:
        self.pos += 1
        parts: list[str] = []
        problem = ""
        while True:
            ch = self._peek()
            if not ch:
                raise _BadSyntax("missing closing double quote")
            if ch == '"':
                self.pos += 1
                return Text("".join(parts), problem)
            if ch == "$":
                piece = self._dollar()
                parts.append(piece.value)
                problem = problem or piece.problem
                continue
            self.pos += 1
            if ch == self.escape and self._peek() in ('"', "$", self.escape):
                ch = self._next()
            elif ch == self.escape and not self._peek():
                continue
            parts.append(ch)

    def _name(self) -> str:
        """A Dockerfile variable name: digits, one special parameter, or a word."""
        start, text = self.pos, self.text
        if self.pos < len(text) and text[self.pos].isdecimal():
            while self.pos < len(text) and text[self.pos].isdecimal():
                self.pos += 1
        elif self.pos < len(text) and text[self.pos] in _SPECIAL_PARAMETERS:
            self.pos += 1
        else:
            while self.pos < len(text) and (text[self.pos].isalnum() or text[self.pos] == "_"):
                self.pos += 1
        return text[start : self.pos]

    def _dollar(self) -> Text:
        self.pos += 1
        if self.compose:
            return self._compose_dollar()
        if self._peek() != "{":
            name = self._name()
            return self._plain(name) if name else Text("$")
        self.pos += 1
        if not self._peek():
            raise _BadSyntax("missing '}'")
        if self._peek() in "{}:":
            raise _BadSyntax("bad substitution")
        name = self._name()
        op, colon = self._modifier()
        if op == "}" and not colon:
            return self._plain(name)
        if op in ("-", "+", "?"):
            return self._apply(name, op, colon, self.word("}"))
        if op in ("#", "%", "/"):
            self.word("}")
            return Text("", f"`${{{name}{op}...}}` is a pattern substitution, not evaluated")
        raise _BadSyntax(f"unsupported modifier {':' if colon else ''}{op} in substitution")

    def _compose_dollar(self) -> Text:
        if self._peek() == "$":
            self.pos += 1
            return Text("$")
        braced = self._peek() == "{"
        self.pos += braced
        match = _COMPOSE_VARIABLE.match(self.text, self.pos)
        if not match:
            raise _BadSyntax("'$' must be followed by a name or '{name}' (write '$$' for a '$')")
        name = match.group()
        self.pos = match.end()
        if not braced:
            return self._plain(name)
        op, colon = self._modifier()
        if op == "}" and not colon:
            return self._plain(name)
        if op not in ("-", "+", "?"):
            raise _BadSyntax(f"unsupported modifier {':' if colon else ''}{op} after ${{{name}")
        return self._apply(name, op, colon, self.word("}"))

    def _modifier(self) -> tuple[str, bool]:
        """After ``${name``: the operator (``}`` when there is none) and whether a
        ``:`` came before it (``${name:}`` gives ``}`` with a colon: no modifier)."""
        op = self._next()
        if op == "}":
            return op, False
        colon = op == ":"
        if colon:
            op = self._next()
        if not op:
            raise _BadSyntax("missing '}'")
        return op, colon

    def _plain(self, name: str) -> Text:
        var = self.lookup(name)
        return Text(var.value) if var.value is not None else Text("", var.problem)

    def _apply(self, name: str, op: str, colon: bool, word: Text) -> Text:
        var = self.lookup(name)
        if var.opaque:
            return Text("", var.problem)
        value = var.value
        if value is None or (colon and value == ""):
            if op == "-":
                return word
            if op == "+":
                return Text("")
            detail = f": {word.value}" if word.value else ""
            return Text("", f"`${{{name}}}` is required{detail}")
        return word if op == "+" else Text(value)


def substitute(
    text: str, lookup: Callable[[str], Var], *, escape: str = "\\", compose: bool = False
) -> Text:
    try:
        return _Substitution(text, lookup, escape=escape, compose=compose).word()
    except _BadSyntax as exc:
        return Text("", f"invalid substitution in {text!r}: {exc}")
