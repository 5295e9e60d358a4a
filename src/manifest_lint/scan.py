"""Image references written in files, with the file, line and column of each.

Four kinds of file are read (:func:`detect_kind` picks one by name, then by content):

``dockerfile``
    Dockerfiles and Containerfiles, parsed as BuildKit does: ``FROM [--platform=P]
    IMAGE [AS NAME]`` (any case), line continuations, comments, heredocs (skipped),
    and the ``# escape=`` parser directive. The ``ARG`` instructions before the
    first ``FROM`` are the only variables ``FROM`` sees, as in BuildKit: ``$NAME``,
    ``${NAME}``, ``${NAME:-word}``, ``${NAME-word}``, ``${NAME:+word}``,
    ``${NAME+word}``, ``${NAME:?message}`` and quotes are evaluated with the ``ARG`` defaults (no
    ``--build-arg`` is assumed). A variable with no value (``ARG NAME`` without a
    default, or never declared) gives a :class:`Found` with an empty reference and
    a ``problem``; so do BuildKit's own ``TARGETARCH``, ``BUILDPLATFORM``... (set
    by the builder, per platform) and the pattern forms ``${NAME#...}``,
    ``${NAME%...}``, ``${NAME/...}``, which are not evaluated. Earlier stage names
    and ``scratch`` are not references. ``COPY --from=IMAGE`` is one when ``IMAGE``
    is neither a stage name nor a stage number (BuildKit does not expand variables
    there, so neither does this). ``platform`` is the ``--platform`` value when it
    resolves without the builder's variables (``linux/arm64``, or an ``ARG`` default),
    else ``""``. Not read: ``RUN --mount=from=...``, ``ONBUILD`` instructions.

``compose``
    ``services.<name>.image`` of Compose files, with Compose interpolation
    (``$$`` is a literal ``$``). The environment and ``.env`` files are *not*
    read, so results are reproducible: every variable is unset, ``${VAR:-default}``
    gives its default and ``${VAR}`` a ``problem``. An ``image`` next to ``build``
    (the tag a build produces, or pulls) is reported like any other.

``kubernetes``
    Every YAML document with ``apiVersion`` and ``kind``: the ``containers``,
    ``initContainers`` and ``ephemeralContainers`` images of Pods, of the pod
    template of Deployments, StatefulSets, DaemonSets, ReplicaSets,
    ReplicationControllers, Jobs and PodTemplates, and of CronJobs' job template;
    ``List`` (and ``...List``) documents are read item by item. Other kinds give nothing.

``workflow``
    GitHub Actions workflows (``.github/workflows/*.yml``): ``jobs.<id>.container``
    (a string, or a mapping with ``image``), ``jobs.<id>.services.<name>`` (the same
    two forms) and ``jobs.<id>.steps[].uses: docker://IMAGE``. An image holding a
    ``${{ ... }}`` expression gives a ``problem``; an empty one is left out (GitHub
    then runs no container).

Lines and columns are 1-based and count characters; the column is that of the
first character of the reference as written (after an opening quote, after
``docker://``; for a reference built by substitution, its first character in
the file). YAML files are read with :mod:`manifest_lint.yamlfile` (size cap, no
aliases: a Compose file using ``&anchors``/``*aliases``/``<<`` merges is refused
with an error naming file, line and column). Mapping keys are read as the text
they are written as, so the ``on:`` of a workflow is the key ``"on"``, not ``True``.
"""

from __future__ import annotations

import functools
import json
import re
from bisect import bisect_right
from collections.abc import Callable
from pathlib import Path, PurePath
from typing import Any, NamedTuple

from manifest_lint import yamlfile
from manifest_lint.errors import ConfigError, UsageError
from manifest_lint.results import Location
from manifest_lint.yamlfile import LocatedDict, YamlDocument, read_text

DOCKERFILE = "dockerfile"
COMPOSE = "compose"
KUBERNETES = "kubernetes"
WORKFLOW = "workflow"
KINDS = (DOCKERFILE, COMPOSE, KUBERNETES, WORKFLOW)


class Found(NamedTuple):
    """One image reference found in a file.

    ``reference`` is the text after substitution, or ``""`` when it cannot be
    resolved; ``problem`` then says why (e.g. ``"`${BASE}` has no default value"``).
    ``platform`` is a ``FROM --platform`` value known without building.
    """

    reference: str
    location: Location
    kind: str
    platform: str = ""
    problem: str = ""
    #: The reference as written in the file, before substitution (what reports show
    #: for a reference that cannot be resolved).
    text: str = ""


class ScanError(ConfigError):
    """A file that cannot be scanned (unreadable, too large, not UTF-8, invalid YAML).

    The message starts with ``path:line:column`` as far as they are known.
    """

    def __init__(self, message: str, *, path: str, line: int = 0, column: int = 0) -> None:
        where = path + (f":{line}" if line else "") + (f":{column}" if line and column else "")
        UsageError.__init__(self, f"{where}: {message}")
        self.path = path
        self.line = line
        self.column = column


# --- which kind of file ---------------------------------------------------------------

_COMPOSE_NAME = re.compile(r"(?:docker-)?compose(?:\.[^/\\]+)?\.ya?ml")
_YAML_KEY = r"^[\"']?{}[\"']?[ \t]*:"
_API_VERSION = re.compile(_YAML_KEY.format("apiVersion"), re.MULTILINE)
_KIND = re.compile(_YAML_KEY.format("kind"), re.MULTILINE)
_SERVICES = re.compile(_YAML_KEY.format("services"), re.MULTILINE)
_DOCKERFILE_START = re.compile(r"(?:FROM|ARG)[ \t]+\S")


def _is_dockerfile_name(name: str) -> bool:
    name = name.lower()
    return (
        name in ("dockerfile", "containerfile")
        or name.startswith(("dockerfile.", "containerfile."))
        or name.endswith((".dockerfile", ".containerfile"))
    )


def _looks_like_dockerfile(text: str) -> bool:
    """The first line that is neither blank nor a comment is an upper-case FROM or ARG."""
    for line in text.lstrip("\ufeff").splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return _DOCKERFILE_START.match(stripped) is not None
    return False


def detect_kind(path: str | PurePath, text: str) -> str | None:
    """The kind of file ``path`` is (one of :data:`KINDS`), or ``None`` for none of them.

    By name first: Dockerfile/Containerfile names, then ``.github/workflows/*.y(a)ml``,
    then Compose names (``compose.yaml``, ``docker-compose.prod.yml``...). Other YAML
    files by their top-level keys: ``apiVersion`` and ``kind`` for Kubernetes,
    ``services`` for Compose. Any other file is a Dockerfile when its first
    instruction is an upper-case ``FROM`` or ``ARG``.
    """
    pure = PurePath(path)
    name = pure.name
    if name.lower().endswith(".dockerignore"):
        return None
    if _is_dockerfile_name(name):
        return DOCKERFILE
    if pure.suffix.lower() in (".yml", ".yaml"):
        if pure.parent.name == "workflows" and pure.parent.parent.name == ".github":
            return WORKFLOW
        if _COMPOSE_NAME.fullmatch(name.lower()):
            return COMPOSE
        if _API_VERSION.search(text) and _KIND.search(text):
            return KUBERNETES
        if _SERVICES.search(text):
            return COMPOSE
        return None
    return DOCKERFILE if _looks_like_dockerfile(text) else None


# --- variable substitution (Dockerfile and Compose) -----------------------------------


class _BadSyntax(Exception):
    """A substitution that does not parse; never leaves this module."""


class _Var(NamedTuple):
    """A variable as substitution sees it: a value, unset (``value`` None; ``problem``
    says why a plain reference cannot be resolved), or ``opaque``: set to a value
    only the builder knows, so any use of it is a ``problem``."""

    value: str | None = None
    problem: str = ""
    opaque: bool = False


class _Text(NamedTuple):
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
        self, text: str, lookup: Callable[[str], _Var], *, escape: str, compose: bool
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

    def word(self, stop: str = "") -> _Text:
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
                return _Text("".join(parts), problem)
            if ch == "$":
                piece = self._dollar()
            elif ch == "'" and not self.compose:
                piece = _Text(self._single_quoted())
            elif ch == '"' and not self.compose:
                piece = self._double_quoted()
            elif ch == self.escape:
                self.pos += 1
                if self.pos == len(self.text):
                    break
                piece = _Text(self._next())
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
        return _Text("".join(parts), problem)

    def _single_quoted(self) -> str:
        end = self.text.find("'", self.pos + 1)
        if end == -1:
            raise _BadSyntax("missing closing single quote")
        value = self.text[self.pos + 1 : end]
        self.pos = end + 1
        return value

    def _double_quoted(self) -> _Text:
        self.pos += 1
        parts: list[str] = []
        problem = ""
        while True:
            ch = self._peek()
            if not ch:
                raise _BadSyntax("missing closing double quote")
            if ch == '"':
                self.pos += 1
                return _Text("".join(parts), problem)
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

    def _dollar(self) -> _Text:
        self.pos += 1
        if self.compose:
            return self._compose_dollar()
        if self._peek() != "{":
            name = self._name()
            return self._plain(name) if name else _Text("$")
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
            return _Text("", f"`${{{name}{op}...}}` is a pattern substitution, not evaluated")
        raise _BadSyntax(f"unsupported modifier {':' if colon else ''}{op} in substitution")

    def _compose_dollar(self) -> _Text:
        if self._peek() == "$":
            self.pos += 1
            return _Text("$")
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

    def _plain(self, name: str) -> _Text:
        var = self.lookup(name)
        return _Text(var.value) if var.value is not None else _Text("", var.problem)

    def _apply(self, name: str, op: str, colon: bool, word: _Text) -> _Text:
        var = self.lookup(name)
        if var.opaque:
            return _Text("", var.problem)
        value = var.value
        if value is None or (colon and value == ""):
            if op == "-":
                return word
            if op == "+":
                return _Text("")
            detail = f": {word.value}" if word.value else ""
            return _Text("", f"`${{{name}}}` is required{detail}")
        return word if op == "+" else _Text(value)


def _substitute(
    text: str, lookup: Callable[[str], _Var], *, escape: str = "\\", compose: bool = False
) -> _Text:
    try:
        return _Substitution(text, lookup, escape=escape, compose=compose).word()
    except _BadSyntax as exc:
        return _Text("", f"invalid substitution in {text!r}: {exc}")


# --- Dockerfiles ---------------------------------------------------------------------

#: Set by BuildKit for every build; FROM may use them without declaring them.
_BUILDER_ARGS = (
    "BUILDPLATFORM",
    "BUILDOS",
    "BUILDOSVERSION",
    "BUILDARCH",
    "BUILDVARIANT",
    "TARGETPLATFORM",
    "TARGETOS",
    "TARGETOSVERSION",
    "TARGETARCH",
    "TARGETVARIANT",
    "TARGETSTAGE",
)
_BUILDER_VARS = {
    name: _Var(problem=f"`${{{name}}}` is set by the builder", opaque=True)
    for name in _BUILDER_ARGS
}
_DIRECTIVE = re.compile(r"#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=(.*)")
_DIRECTIVES = ("syntax", "escape", "check")
_HEREDOC = re.compile(r"(\d*)<<(-?)\s*([^<]*)")
_HEREDOC_COMMANDS = ("run", "copy", "add")
_WORD = re.compile(r"\S+")
_STAGE_INDEX = re.compile(r"[+-]?[0-9]+")


class _DockerfileError(Exception):
    """A Dockerfile that cannot be read at all; turned into a ScanError by the caller."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


class _Instruction(NamedTuple):
    """One instruction, continuation lines joined, and where each piece came from:
    ``text[starts[i]:]`` was written at ``places[i]`` (line, column)."""

    text: str
    starts: tuple[int, ...]
    places: tuple[tuple[int, int], ...]
    command: str
    #: ``--flag`` words, unquoted, with the index in ``text`` where each starts.
    flags: tuple[tuple[str, int], ...]
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


def _heredocs(instruction: _Instruction) -> list[tuple[str, bool]]:
    """The heredocs a RUN/COPY/ADD line opens: (terminator, strip leading tabs)."""
    command, args = instruction.command, instruction.args
    if command == "onbuild":
        sub = _WORD.match(args)
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


def _read_instructions(text: str) -> tuple[list[_Instruction], str]:
    """The instructions of a Dockerfile and its escape character."""
    lines = text.split("\n")
    lines[0] = lines[0].removeprefix("\ufeff")
    escape = "\\"
    directives = True
    seen: set[str] = set()
    instructions: list[_Instruction] = []
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
                        raise _DockerfileError(
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
        first = _WORD.match(joined)
        if first is None or not _wanted(first.group().lower(), joined):
            continue  # (no reference, no heredoc: only its continuation lines mattered)
        command, flags, args_start = _split_instruction(joined, escape)
        instruction = _Instruction(
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


#: The instructions references are read from (FROM; ARG before it; COPY --from).
_REFERENCE_COMMANDS = frozenset(("from", "arg", "copy"))


def _wanted(command: str, text: str) -> bool:
    """Whether an instruction is read further: it may name an image, or open a heredoc
    whose body must be skipped (RUN, COPY, ADD, ONBUILD with ``<<``)."""
    return command in _REFERENCE_COMMANDS or (
        "<<" in text and (command in _HEREDOC_COMMANDS or command == "onbuild")
    )


def _split_instruction(text: str, escape: str) -> tuple[str, list[tuple[str, int]], int]:
    """The command (lower case), its ``--flag`` words (unquoted, with where each starts)
    and where its arguments start, as BuildKit's ``extractBuilderFlags`` reads them."""
    command = _WORD.match(text)
    if not command:
        return "", [], len(text)
    flags: list[tuple[str, int]] = []
    pos = command.end()
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if not text.startswith("--", pos):
            return command.group().lower(), flags, pos
        start = pos
        word: list[str] = []
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
        flag = "".join(word)
        if flag == "--":
            return command.group().lower(), flags, pos
        flags.append((flag, start))


def _flag_value(instruction: _Instruction, name: str) -> tuple[str, int] | None:
    """The value of ``--name=...`` and the index in the text where it is written."""
    prefix = f"--{name}="
    for flag, start in instruction.flags:
        if flag.startswith(prefix):
            index = start + len(prefix)
            if instruction.text[index : index + 1] in ("'", '"'):
                index += 1
            return flag[len(prefix) :], index
    return None


def _scan_dockerfile(path: str, text: str) -> list[Found]:
    instructions, escape = _read_instructions(text)
    variables = dict(_BUILDER_VARS)

    def lookup(name: str) -> _Var:
        undeclared = _Var(problem=f"`${{{name}}}` is not declared by an ARG before the first FROM")
        return variables.get(name, undeclared)

    every_stage = set()
    for instruction in instructions:
        args = instruction.args.split()
        if instruction.command == "from" and len(args) == 3 and args[1].lower() == "as":
            every_stage.add(args[2].lower())

    found: list[Found] = []
    stages: set[str] = set()
    in_stage = False
    for instruction in instructions:
        command = instruction.command
        if command == "arg" and not in_stage:
            _declare(_arg_words(instruction.args, escape), variables, lookup, escape)
        elif command == "from":
            in_stage = True
            result = _from(path, instruction, lookup, escape, stages)
            if result:
                found.append(result)
        elif command == "copy":
            source = _flag_value(instruction, "from")
            if source and source[0]:
                result = _copy_from(path, instruction, *source, every_stage, escape)
                if result:
                    found.append(result)
    return found


def _arg_words(text: str, escape: str) -> list[str]:
    """ARG's words (BuildKit's ``parseWords``): split at unquoted white space, quotes
    and escapes kept for substitution to remove."""
    words: list[str] = []
    current: list[str] = []
    quote = ""
    blank_ok = False
    i = 0
    while i < len(text):
        ch = text[i]
        i += 1
        if not quote and ch.isspace():
            if current or blank_ok:
                words.append("".join(current))
            current, blank_ok = [], False
            continue
        if not quote and ch in "'\"":
            quote, blank_ok = ch, True
        elif quote and ch == quote:
            quote = ""
        elif ch == escape and quote != "'":
            if i == len(text):
                continue
            current.append(ch)
            ch = text[i]
            i += 1
        current.append(ch)
    if current or blank_ok:
        words.append("".join(current))
    return words


def _declare(
    words: list[str], variables: dict[str, _Var], lookup: Callable[[str], _Var], escape: str
) -> None:
    """Global ARGs: a default is substituted with the ARGs before it; an ARG without
    one keeps an earlier value, or is unset."""
    for word in words:
        name, equals, default = word.partition("=")
        if not name:
            continue
        if equals:
            value = _substitute(default, lookup, escape=escape)
            variables[name] = (
                _Var(problem=value.problem, opaque=True) if value.problem else _Var(value.value)
            )
        elif name not in variables:
            variables[name] = _Var(problem=f"`${{{name}}}` has no default value")


def _from(
    path: str,
    instruction: _Instruction,
    lookup: Callable[[str], _Var],
    escape: str,
    stages: set[str],
) -> Found | None:
    """FROM's image (None for a stage or scratch); ``stages`` learns its ``AS`` name."""
    args = list(_WORD.finditer(instruction.text, instruction.args_start))
    where = args[0].start() if args else 0
    if args and args[0].group()[0] in "'\"":
        where += 1  # the reference starts after the quote
    location = Location(path, *instruction.position(where))
    if len(args) == 3 and args[1].group().lower() == "as":
        stage = args[2].group().lower()
    elif len(args) == 1:
        stage = ""
    else:
        problem = "FROM needs an image: FROM [--platform=PLATFORM] IMAGE [AS NAME]"
        return Found("", location, DOCKERFILE, problem=problem)
    image = _substitute(args[0].group(), lookup, escape=escape)
    platform = ""
    written = _flag_value(instruction, "platform")
    if written:
        value = _substitute(written[0], lookup, escape=escape)
        platform = "" if value.problem else value.value
    result: Found | None = None
    if image.problem:
        written_image = args[0].group().strip("'\"")
        result = Found("", location, DOCKERFILE, platform, image.problem, written_image)
    elif not image.value:
        result = Found("", location, DOCKERFILE, platform, "the image name is empty")
    elif image.value != "scratch" and image.value not in stages:
        result = Found(image.value, location, DOCKERFILE, platform)
    if stage:
        stages.add(stage)  # known by its name from the next FROM on
    return result


def _copy_from(
    path: str, instruction: _Instruction, value: str, index: int, stages: set[str], escape: str
) -> Found | None:
    if _STAGE_INDEX.fullmatch(value) or value.lower() in stages:
        return None
    location = Location(path, *instruction.position(index))
    if _substitute(value, lambda name: _Var(""), escape=escape).value != value:
        problem = "COPY --from does not expand variables (use a stage: FROM ${IMAGE} AS name)"
        return Found("", location, DOCKERFILE, problem=problem, text=value)
    return Found(value, location, DOCKERFILE, text=value)


# --- YAML files ----------------------------------------------------------------------


def _yaml_documents(path: str, text: str) -> list[YamlDocument]:
    """The documents of a YAML file written by others: anchors, aliases and merge keys
    are accepted (compose files use them; only known paths are walked, so shared
    values cost nothing), and unquoted keys are read as written (``on:``)."""
    return yamlfile.load_all(
        text, path=path, error=ScanError, allow_aliases=True, keys_as_text=True, fast=True
    )


def _dig(value: Any, *keys: str) -> LocatedDict | None:
    for key in keys:
        if not isinstance(value, LocatedDict):
            return None
        value = value.get(key)
    return value if isinstance(value, LocatedDict) else None


def _image_at(
    mapping: LocatedDict, key: str, path: str, kind: str, scheme: str = ""
) -> tuple[Location, str | None] | None:
    """Where ``mapping[key]`` starts (past a quote and ``scheme``) and its text;
    None when there is no value, a None text when it is not a string."""
    value = mapping.get(key)
    if value is None:
        return None
    line, column = mapping.value_position(key)
    if mapping.value_styles.get(key) in ("'", '"'):
        column += 1
    location = Location(path, line, column + len(scheme))
    return location, (value[len(scheme) :] if isinstance(value, str) else None)


def _not_a_string(location: Location, key: str, kind: str) -> Found:
    return Found("", location, kind, problem=f"`{key}` is not a string")


def _compose(document: Any, path: str) -> list[Found]:
    found = []
    services = _dig(document, "services")
    for service in (services or {}).values():
        if not isinstance(service, LocatedDict):
            continue
        image = _image_at(service, "image", path, COMPOSE)
        if image is None:
            continue
        location, text = image
        if text is None:
            found.append(_not_a_string(location, "image", COMPOSE))
            continue
        value = _substitute(
            text,
            lambda name: _Var(problem=f"`${{{name}}}` has no default value"),
            escape="",
            compose=True,
        )
        if value.problem:
            found.append(Found("", location, COMPOSE, problem=value.problem, text=text))
        elif not value.value:
            found.append(Found("", location, COMPOSE, problem="`image` is empty"))
        else:
            found.append(Found(value.value, location, COMPOSE))
    return found


_POD_SPEC = {
    "Pod": ("spec",),
    "PodTemplate": ("template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    **dict.fromkeys(
        (
            "Deployment",
            "StatefulSet",
            "DaemonSet",
            "ReplicaSet",
            "ReplicationController",
            "Job",
        ),
        ("spec", "template", "spec"),
    ),
}
_CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


def _kubernetes(document: Any, path: str, item_kind: str = "") -> list[Found]:
    if not isinstance(document, LocatedDict):
        return []
    kind = document.get("kind", item_kind)
    if not isinstance(kind, str) or not (item_kind or isinstance(document.get("apiVersion"), str)):
        return []
    if kind.endswith("List") and not item_kind:
        items = document.get("items")
        if not isinstance(items, list):
            return []
        default = kind.removesuffix("List") or "-"
        return [f for item in items for f in _kubernetes(item, path, default)]
    pod_spec = _dig(document, *_POD_SPEC[kind]) if kind in _POD_SPEC else None
    found: list[Found] = []
    for field in _CONTAINER_LISTS:
        containers = pod_spec.get(field) if pod_spec is not None else None
        for container in containers if isinstance(containers, list) else ():
            if not isinstance(container, LocatedDict):
                continue
            image = _image_at(container, "image", path, KUBERNETES)
            if image is None:
                continue
            location, text = image
            if text is None:
                found.append(_not_a_string(location, "image", KUBERNETES))
            elif not text:
                found.append(Found("", location, KUBERNETES, problem="`image` is empty"))
            else:
                found.append(Found(text, location, KUBERNETES))
    return found


def _workflow_image(mapping: LocatedDict, key: str, path: str, scheme: str = "") -> Found | None:
    image = _image_at(mapping, key, path, WORKFLOW, scheme)
    if image is None:
        return None
    location, text = image
    if text is None:
        return _not_a_string(location, key, WORKFLOW)
    if not text:
        return None
    if "${{" in text:
        return Found("", location, WORKFLOW, problem="contains a GitHub expression", text=text)
    return Found(text, location, WORKFLOW)


def _container(parent: LocatedDict, key: str, path: str) -> Found | None:
    """``container:``/``services.<name>:``: an image, or a mapping with ``image``."""
    value = parent.get(key)
    if isinstance(value, LocatedDict):
        return _workflow_image(value, "image", path)
    return _workflow_image(parent, key, path)


def _workflow(document: Any, path: str) -> list[Found]:
    found: list[Found | None] = []
    jobs = _dig(document, "jobs")
    for job in (jobs or {}).values():
        if not isinstance(job, LocatedDict):
            continue
        if "container" in job:
            found.append(_container(job, "container", path))
        services = job.get("services")
        if isinstance(services, LocatedDict):
            found.extend(_container(services, name, path) for name in services)
        steps = job.get("steps")
        for step in steps if isinstance(steps, list) else ():
            uses = step.get("uses") if isinstance(step, LocatedDict) else None
            if isinstance(uses, str) and uses.startswith("docker://"):
                found.append(_workflow_image(step, "uses", path, "docker://"))
    return [f for f in found if f is not None]


_YAML_SCANNERS: dict[str, Callable[[Any, str], list[Found]]] = {
    COMPOSE: _compose,
    KUBERNETES: _kubernetes,
    WORKFLOW: _workflow,
}


# --- entry points --------------------------------------------------------------------


def scan_text(path: str, text: str, kind: str | None = None) -> list[Found]:
    """The image references in ``text``, read as a file of ``kind`` (detected from
    ``path`` and ``text`` when None; nothing when undetectable), in file order.

    ``path`` is only used to name the file. Raises :class:`ScanError` for an unknown
    kind, invalid YAML, or an invalid ``# escape=`` directive.
    """
    if kind is None:
        kind = detect_kind(path, text)
        if kind is None:
            return []
    if kind == DOCKERFILE:
        try:
            found = _scan_dockerfile(path, text)
        except _DockerfileError as exc:
            raise ScanError(exc.message, path=path, line=exc.line) from None
    elif kind in _YAML_SCANNERS:
        documents = _yaml_documents(path, text)
        scanner = _YAML_SCANNERS[kind]
        found = [f for document in documents for f in scanner(document.value, path)]
    else:
        raise ScanError(f"unknown kind {kind!r} (known: {', '.join(KINDS)})", path=path)
    return sorted(found, key=lambda f: (f.location.line, f.location.column))


def scan_file(path: Path, kind: str | None = None) -> list[Found]:
    """:func:`scan_text` on a file read as UTF-8 (at most 1 MiB); locations name
    ``path`` as given. Raises :class:`ScanError` when it cannot be read."""
    text = read_text(path, ScanError)
    if kind is None:
        kind = detect_kind(path.absolute(), text)
        if kind is None:
            return []
    return scan_text(str(path), text, kind)
