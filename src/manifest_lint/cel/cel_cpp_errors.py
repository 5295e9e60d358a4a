"""cel-expr-python's error texts, read: compile failures into :class:`Problem` values
with line and column, run-time failures into one message (the cel-cpp backend and the
type check, :mod:`manifest_lint.cel.typed`, both read them)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from manifest_lint.cel.base import CelFunction, Problem

#: cel-cpp's RuntimeOptions.comprehension_max_iterations default; not configurable in 0.1.3.
MAX_ITERATIONS = 10_000

_PROBLEM = re.compile(
    r"ERROR: <input>:(-?\d+):(-?\d+): (.*?)(?:\n \| [^\n]*\n \| [^\n]*)?(?=\nERROR: <input>:|\Z)",
    re.DOTALL,
)
_STATUS_PREFIX = re.compile(r"\A[A-Z_]+: ")
_STATUS_SUFFIX = re.compile(r" \[[A-Z_]+\]\Z")
_CONTAINER = " (in container '')"
TYPE_NAMES = {
    "BOOL": "bool",
    "INT": "int",
    "UINT": "uint",
    "DOUBLE": "double",
    "STRING": "string",
    "BYTES": "bytes",
    "NULL": "null_type",
    "TIMESTAMP": "google.protobuf.Timestamp",
    "DURATION": "google.protobuf.Duration",
    "TYPE": "type",
}


def clean_message(message: str) -> str:
    """``"NOT_FOUND: Key not found in map ... [NOT_FOUND]"`` -> ``"Key not found in map ..."``."""
    return _STATUS_SUFFIX.sub("", _STATUS_PREFIX.sub("", message.strip()))


def parse_problems(message: str) -> list[Problem]:
    """The ``ERROR: <input>:L:C: ...`` blocks of a compile failure, in order."""
    body = clean_message(message)
    problems = []
    for match in _PROBLEM.finditer(body):
        line, column = int(match.group(1)), int(match.group(2))
        if line < 1:  # "<input>:-1:-1: <<nil>> parsetree" follows real syntax errors
            continue
        problems.append(Problem(match.group(3).replace(_CONTAINER, "").strip(), line, column))
    return problems or [Problem(body)]


def explain(problem: Problem, functions: Sequence[CelFunction]) -> Problem:
    """cel-cpp calls a declared function used with the wrong arguments "undeclared"."""
    match = re.fullmatch(r"undeclared reference to '(\w+)'", problem.message)
    if not match:
        return problem
    declared_as = [f.signature for f in functions if f.name == match.group(1)]
    if not declared_as:
        return problem
    message = f"found no matching overload for {match.group(1)!r}; declared as: " + ", ".join(
        declared_as
    )
    return Problem(message, problem.line, problem.column)


def runtime_message(exc: RuntimeError) -> str:
    message = clean_message(str(exc))
    if "Iteration budget exceeded" in message:
        return (
            f"iteration budget exceeded: more than {MAX_ITERATIONS} comprehension "
            "iterations in one evaluation"
        )
    return message
