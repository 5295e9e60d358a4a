"""A Dockerfile's instructions as BuildKit's parser reads them: parser directives,
line continuations, comments, ``--flag`` words and heredocs (skipped). Only the
instructions that can name an image (or open a heredoc) are kept."""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from typing import NamedTuple

_DIRECTIVE = re.compile(r"#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=(.*)")
_DIRECTIVES = ("syntax", "escape", "check")
_HEREDOC = re.compile(r"(\d*)<<(-?)\s*([^<]*)")
_HEREDOC_COMMANDS = ("run", "copy", "add")
WORD = re.compile(r"\S+")


class DockerfileError(Exception):
    """A Dockerfile that cannot be read at all; turned into a ScanError by the caller."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


class Flag(NamedTuple):
    """A ``--flag`` word as BuildKit reads it (quotes and escapes removed), and where
    each of its characters is written: ``word[i]`` is ``Instruction.text[places[i]]``."""

    word: str
    places: tuple[int, ...]


class Instruction(NamedTuple):
    """One instruction, continuation lines joined, and where each piece came from:
    ``text[starts[i]:]`` was written at ``places[i]`` (line, column)."""

    text: str
    starts: tuple[int, ...]
    places: tuple[tuple[int, int], ...]
    command: str
    #: ``--flag`` words, unquoted.
    flags: tuple[Flag, ...]
    #: Where the arguments (after the flags) start in ``text``.
    args_start: int

    @property
    def args(self) -> str:
        return self.text[self.args_start :].strip()

    def position(self, index: int) -> tuple[int, int]:
        """File line and column of ``text[index]``."""
        piece = bisect_right(self.starts, index) - 1
        line, column = self.places[piece]
        return line, column + index - self.starts[piece]


def _continues(line: str, escape: str) -> tuple[str, bool]:
    """``line`` without a trailing escape character, and whether there was one (an
    escaped escape character does not continue the line)."""
    body = line.rstrip(" \t")
    if body.endswith(escape) and (len(body) == 1 or body[-2] != escape):
        return body[:-1], True
    return line, False


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def _raw_words(text: str) -> list[str]:
    """Words split at unquoted white space, quotes and backslashes kept; [] when a
    quote is not closed (BuildKit then finds no heredoc either)."""
    words: list[str] = []
    current: list[str] = []
    quote = ""
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == quote:
                quote = ""
            elif ch == "\\" and quote == '"' and i + 1 < len(text):
                current.append(ch)
                i += 1
                ch = text[i]
        elif ch.isspace():
            if current:
                words.append("".join(current))
                current = []
            i += 1
            continue
        elif ch in "'\"":
            quote = ch
        elif ch == "\\" and i + 1 < len(text):
            current.append(ch)
            i += 1
            ch = text[i]
        current.append(ch)
        i += 1
    if quote:
        return []
    if current:
        words.append("".join(current))
    return words


def _unquote(word: str) -> str:
    return re.sub(r"\\(.)|['\"]", lambda m: m.group(1) or "", word)


def _is_json_list(text: str) -> bool:
    if not text.startswith("["):
        return False
    try:
        value = json.loads(text)
    except ValueError:
        return False
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _heredocs(instruction: Instruction) -> list[tuple[str, bool]]:
    """The heredocs a RUN/COPY/ADD line opens: (terminator, strip leading tabs)."""
    command, args = instruction.command, instruction.args
    if command == "onbuild":
        sub = WORD.match(args)
        if not sub:
            return []
        command, args = sub.group().lower(), args[sub.end() :].strip()
    if command not in _HEREDOC_COMMANDS or "<<" not in args or _is_json_list(args):
        return []
    found = []
    for word in _raw_words(instruction.text):
        match = _HEREDOC.fullmatch(word)
        if match and match.group(3):
            name = _unquote(match.group(3))
            if name:
                found.append((name, match.group(2) == "-"))
    return found


def read_instructions(text: str) -> tuple[list[Instruction], str]:
    """The instructions of a Dockerfile and its escape character."""
    lines = text.split("\n")
    lines[0] = lines[0].removeprefix("\ufeff")
    escape = "\\"
    directives = True
    seen: set[str] = set()
    instructions: list[Instruction] = []
    i = 0
    while i < len(lines):
        raw = lines[i].rstrip("\r")
        i += 1
        stripped = raw.lstrip()
        if directives:
            match = _DIRECTIVE.match(stripped)
            name = match.group(1).lower() if match else ""
            value = match.group(2).strip() if match else ""
            if value and name in _DIRECTIVES and name not in seen:
                seen.add(name)
                if name == "escape":
                    if value not in ("\\", "`"):
                        raise DockerfileError(
                            f"invalid escape directive {value!r} (use \\ or `)", i
                        )
                    escape = value
                continue
            directives = False
        if not stripped or _is_comment(stripped):
            continue
        piece, more = _continues(stripped, escape)
        pieces, starts = [piece], [0]
        places = [(i, len(raw) - len(stripped) + 1)]
        length = len(piece)
        while more and i < len(lines):
            raw = lines[i].rstrip("\r")
            i += 1
            if _is_comment(raw) or not raw.strip():
                continue
            piece, more = _continues(raw, escape)
            pieces.append(piece)
            starts.append(length)
            places.append((i, 1))
            length += len(piece)
        joined = "".join(pieces)
        first = WORD.match(joined)
        if first is None or not _wanted(first.group().lower(), joined):
            continue  # (no reference, no heredoc: only its continuation lines mattered)
        command, flags, args_start = _split_instruction(joined, escape)
        instruction = Instruction(
            joined, tuple(starts), tuple(places), command, tuple(flags), args_start
        )
        instructions.append(instruction)
        for terminator, strip_tabs in _heredocs(instruction):
            while i < len(lines):
                candidate = lines[i].rstrip("\r")
                i += 1
                if (candidate.lstrip("\t") if strip_tabs else candidate) == terminator:
                    break
    return instructions, escape


#: The instructions references are read from (FROM; ARG before it; COPY --from;
#: RUN --mount=...,from=).
_REFERENCE_COMMANDS = frozenset(("from", "arg", "copy"))


def _wanted(command: str, text: str) -> bool:
    """Whether an instruction is read further: it may name an image, or open a heredoc
    whose body must be skipped (RUN, COPY, ADD, ONBUILD with ``<<``)."""
    return (
        command in _REFERENCE_COMMANDS
        or (command == "run" and "--mount=" in text)
        or ("<<" in text and (command in _HEREDOC_COMMANDS or command == "onbuild"))
    )


def _split_instruction(text: str, escape: str) -> tuple[str, list[Flag], int]:
    """The command (lower case), its ``--flag`` words (unquoted, with where each of
    their characters is written) and where its arguments start, as BuildKit's
    ``extractBuilderFlags`` reads them."""
    command = WORD.match(text)
    if not command:
        return "", [], len(text)
    flags: list[Flag] = []
    pos = command.end()
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if not text.startswith("--", pos):
            return command.group().lower(), flags, pos
        word: list[str] = []
        places: list[int] = []
        quote = ""
        while pos < len(text) and (quote or not text[pos].isspace()):
            ch = text[pos]
            pos += 1
            if quote and ch == quote:
                quote = ""
                continue
            if not quote and ch in "'\"":
                quote = ch
                continue
            if ch == escape:
                if pos == len(text):
                    continue
                ch = text[pos]
                pos += 1
            word.append(ch)
            places.append(pos - 1)
        flag = "".join(word)
        if flag == "--":
            return command.group().lower(), flags, pos
        flags.append(Flag(flag, tuple(places)))


def flag_value(instruction: Instruction, name: str) -> tuple[str, int] | None:
    """The value of ``--name=...`` and the index in the text where it is written."""
    values = flag_values(instruction, name)
    return values[0] if values else None


def flag_values(instruction: Instruction, name: str) -> list[tuple[str, int]]:
    """Every ``--name=...`` value (``RUN --mount`` may be given several times), each
    with the index in the text where it is written."""
    prefix = f"--{name}="
    values = []
    for flag in instruction.flags:
        if flag.word.startswith(prefix):
            value = flag.word[len(prefix) :]
            # (An empty value is placed just after the "=".)
            values.append((value, flag.places[len(prefix)] if value else flag.places[-1] + 1))
    return values
