"""Parsed YAML checked against the JSON Schemas of ``schemas/`` (``policy.schema.json``,
``config.schema.json``), each error raised with the line and column of the value.

The schemas are what editors validate with (yaml-language-server); the loaders
(``policy.files``, ``config``) check a user's file against them too, so that a file
an editor accepts is a file manifest-lint loads. ``jsonschema`` is imported on the
first check: a run that reads only the built-in policies (checked against the schema
by the tests) and no configuration file never imports it (about 45 ms).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from manifest_lint.yamlfile.located import LocatedDict, LocatedList

if TYPE_CHECKING:
    from manifest_lint.yamlfile import FileError

#: The schemas' base: what their ``$id``s start with (the files are read from the package).
BASE_URI = "https://raw.githubusercontent.com/manifest-lint/manifest-lint/main/schemas/"


def schema_dir() -> Path:
    """``schemas/``: inside the installed package, or at the top of a source checkout."""
    package = Path(__file__).resolve().parents[1]  # manifest_lint/
    packaged = package / "schemas"
    if packaged.is_dir():
        return packaged
    return package.parents[1] / "schemas"


@functools.cache
def load_schema(name: str) -> dict[str, Any]:
    """The schema ``name`` (``policy.schema.json``...)."""
    with open(schema_dir() / name, encoding="utf-8") as file:
        schema: dict[str, Any] = json.load(file)
    return schema


def check(value: Any, name: str, *, path: str, error: FileError) -> None:
    """``value`` (as parsed, positions kept) against the schema ``name``; the first
    error, by position, is raised as ``error`` with the line and column it is at."""
    problems = problems_of(value, name)
    if problems:
        message, line, column = problems[0]
        raise error(message, path=path, line=line, column=column)


def problems_of(value: Any, name: str) -> list[tuple[str, int, int]]:
    """``(message, line, column)`` of every way ``value`` breaks the schema ``name``,
    in file order."""
    validator = _validator(name)
    found = []
    for problem in validator.iter_errors(value):
        # The innermost error of an anyOf/oneOf says most about the value.
        while problem.context:
            problem = min(problem.context, key=lambda e: -len(e.absolute_path))
        where = list(problem.absolute_path)
        if problem.validator == "additionalProperties" and isinstance(problem.instance, dict):
            # At the first key not allowed, not at the mapping holding it.
            allowed = problem.schema.get("properties", {})
            where += [next(k for k in problem.instance if k not in allowed)]
        line, column = _position(value, where)
        dotted = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in where)
        label = dotted.lstrip(".") or "the document"
        found.append((f"{label}: {problem.message} (schemas/{name})", line, column))
    return sorted(found, key=lambda item: (item[1], item[2]))


@functools.cache
def _validator(name: str) -> Any:
    import jsonschema  # about 45 ms: imported on the first check only
    import referencing

    resources = [
        (BASE_URI + file.name, referencing.Resource.from_contents(load_schema(file.name)))
        for file in sorted(schema_dir().glob("*.schema.json"))
    ]
    registry: referencing.Registry[Any] = referencing.Registry().with_resources(resources)
    return jsonschema.Draft202012Validator(load_schema(name), registry=registry)


def _position(value: Any, where: list[str | int]) -> tuple[int, int]:
    """Line and column of the value at ``where`` in ``value``: the key of a mapping
    entry, the item of a list; the nearest container that knows when one does not."""
    line, column = getattr(value, "line", 0), getattr(value, "column", 0)
    for step in where:
        if isinstance(value, LocatedDict) and isinstance(step, str) and step in value:
            line, column = value.key_positions.get(step, (line, column))
            value = value[step]
        elif isinstance(value, LocatedList) and isinstance(step, int) and step < len(value):
            line, column = value.item_positions[step]
            value = value[step]
        else:
            break
    return line, column
