"""The image references of a Dockerfile: ``FROM`` (with the ``ARG`` defaults before
the first ``FROM``), ``COPY --from`` and ``RUN --mount=...,from=``."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable

from manifest_lint.results import Location
from manifest_lint.scan.found import DOCKERFILE, Found
from manifest_lint.scan.instructions import WORD, Instruction, flag_value, read_instructions
from manifest_lint.scan.substitution import Var, substitute

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
    name: Var(problem=f"`${{{name}}}` is set by the builder", opaque=True) for name in _BUILDER_ARGS
}
_STAGE_INDEX = re.compile(r"[+-]?[0-9]+")


def scan_dockerfile(path: str, text: str) -> list[Found]:
    instructions, escape = read_instructions(text)
    variables = dict(_BUILDER_VARS)

    def lookup(name: str) -> Var:
        undeclared = Var(problem=f"`${{{name}}}` is not declared by an ARG before the first FROM")
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
            source = flag_value(instruction, "from")
            if source and source[0]:
                result = _copy_from(path, instruction, *source, every_stage, escape)
                if result:
                    found.append(result)
        elif command == "run":
            found.extend(_mount_sources(path, instruction, every_stage))
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
    words: list[str], variables: dict[str, Var], lookup: Callable[[str], Var], escape: str
) -> None:
    """Global ARGs: a default is substituted with the ARGs before it; an ARG without
    one keeps an earlier value, or is unset."""
    for word in words:
        name, equals, default = word.partition("=")
        if not name:
            continue
        if equals:
            value = substitute(default, lookup, escape=escape)
            variables[name] = (
                Var(problem=value.problem, opaque=True) if value.problem else Var(value.value)
            )
        elif name not in variables:
            variables[name] = Var(problem=f"`${{{name}}}` has no default value")


def _from(
    path: str,
    instruction: Instruction,
    lookup: Callable[[str], Var],
    escape: str,
    stages: set[str],
) -> Found | None:
    """FROM's image (None for a stage or scratch); ``stages`` learns its ``AS`` name."""
    args = list(WORD.finditer(instruction.text, instruction.args_start))
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
    image = substitute(args[0].group(), lookup, escape=escape)
    platform = ""
    written = flag_value(instruction, "platform")
    if written:
        value = substitute(written[0], lookup, escape=escape)
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
    path: str, instruction: Instruction, value: str, index: int, stages: set[str], escape: str
) -> Found | None:
    if _STAGE_INDEX.fullmatch(value) or value.lower() in stages:
        return None
    location = Location(path, *instruction.position(index))
    if substitute(value, lambda name: Var(""), escape=escape).value != value:
        problem = "COPY --from does not expand variables (use a stage: FROM ${IMAGE} AS name)"
        return Found("", location, DOCKERFILE, problem=problem, text=value)
    return Found(value, location, DOCKERFILE, text=value)


_MOUNT = "--mount="


def _mount_sources(path: str, instruction: Instruction, stages: set[str]) -> list[Found]:
    """The images ``RUN --mount=...,from=IMAGE`` mounts, read as BuildKit reads the flag
    before it runs anything (``detectRunMount``): comma-separated ``key=value`` fields
    (CSV), keys in any case, the last ``from`` winning; a ``from`` that names a stage
    (any stage, any case) is that stage, ``scratch`` is nothing, anything else is an
    image to pull (a number too: unlike ``COPY --from``, no stage index). A ``$`` in it
    (but last) is an error to BuildKit, and a secret mount cannot have a ``from``."""
    found = []
    for flag in instruction.flags:
        if not flag.word.startswith(_MOUNT):
            continue
        value = flag.word[len(_MOUNT) :]
        # With CSV quotes, where each field is written is not kept: the value's start.
        quoted = '"' in value
        fields = next(csv.reader([value]), []) if quoted else value.split(",")
        source, offset, mount_type, place = "", 0, "bind", 0
        for field in fields:
            key, equals, item = field.partition("=")
            if equals and key.lower() == "from":
                source, offset = item, 0 if quoted else place + len(key) + 1
            elif equals and key.lower() == "type":
                mount_type = item.lower()
            place += len(field) + 1
        if not source or source == "scratch" or source.lower() in stages:
            continue
        if mount_type == "secret":
            continue
        location = Location(path, *instruction.position(flag.places[len(_MOUNT) + offset]))
        if "$" in source[:-1]:
            problem = (
                "RUN --mount from= does not expand variables (use a stage: FROM ${IMAGE} AS name)"
            )
            found.append(Found("", location, DOCKERFILE, problem=problem, text=source))
        else:
            found.append(Found(source, location, DOCKERFILE, text=source))
    return found
