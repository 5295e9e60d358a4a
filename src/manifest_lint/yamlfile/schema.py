"""Parsed YAML checked against the JSON Schemas of ``schemas/`` (``policy.schema.json``,
``config.schema.json``), each error raised with the line and column of the value.

The schemas are what editors validate with (yaml-language-server); the loaders
(``policy.files``, ``config``) check a user's file against them too, so that a file
an editor accepts is a file manifest-lint loads. A value that fits is passed by
:func:`fits`, a quick check of the keywords these schemas use; ``jsonschema`` (about
45 ms to import) is imported only for the rest, and says what is wrong. The built-in
policies are not checked at run time (the wheel's build and the tests do).
"""

from __future__ import annotations

import functools
import json
import re
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
    if fits(value, load_schema(name)):
        return
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


#: The keywords :func:`fits` knows; a schema with any other is left to jsonschema.
_KEYWORDS = frozenset(
    [
        "type",
        "properties",
        "additionalProperties",
        "required",
        "items",
        "enum",
        "const",
        "pattern",
        "minItems",
        "anyOf",
        "$ref",
        "$schema",
        "$id",
        "$defs",
        "title",
        "description",
        "examples",
    ]
)
_TYPES: dict[str, Any] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "null": lambda v: v is None,
}


def fits(value: Any, schema: Any, root: Any = None) -> bool:
    """True when ``value`` surely fits ``schema`` (a JSON Schema using only the
    keywords of :data:`_KEYWORDS`); False when it may not, or when the schema uses
    anything else: jsonschema, the reference, then says whether and why.

    A speed trick, measured (``python -m bench.startup --runs 21 --with-config``, an
    offline pre-commit run over 100 files with a ``.manifest-lint.yaml``): 102 ms
    before the configuration was checked against its schema, 141 ms checking it
    with jsonschema alone (its import), 104 ms with this first. Files that fit,
    nearly all of them, never import jsonschema. A false False only costs that
    import; tests/test_schemas.py checks that this never answers True where
    jsonschema finds an error."""
    root = schema if root is None else root
    try:
        return _fits(value, schema, root)
    except (TypeError, KeyError, AttributeError, ValueError, re.error):
        return False


def _fits(value: Any, schema: Any, root: Any) -> bool:
    if schema is True or schema == {}:
        return True
    if not isinstance(schema, dict) or not _KEYWORDS.issuperset(schema):
        return False
    if "$ref" in schema:
        document, _, pointer = schema["$ref"].partition("#")
        target = load_schema(document) if document else root
        for part in pointer.strip("/").split("/"):
            target = target[part]
        if not fits(value, target, load_schema(document) if document else root):
            return False
    kind = schema.get("type")
    if kind is not None:
        kinds = [kind] if isinstance(kind, str) else kind
        if not any(_TYPES[k](value) for k in kinds):
            return False
    if "enum" in schema and not any(_same(value, v) for v in schema["enum"]):
        return False
    if "const" in schema and not _same(value, schema["const"]):
        return False
    if "anyOf" in schema and not any(_fits(value, s, root) for s in schema["anyOf"]):
        return False
    if isinstance(value, str) and not re.search(schema.get("pattern", ""), value):
        return False
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            return False
        if "items" in schema and not all(_fits(v, schema["items"], root) for v in value):
            return False
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        if not all(key in value for key in schema.get("required", [])):
            return False
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            if key in properties:
                if not _fits(item, properties[key], root):
                    return False
            elif extra is False or not _fits(item, extra, root):
                return False
    return True


def _same(value: Any, expected: Any) -> bool:
    """JSON equality: ``True`` is not ``1``."""
    return type(value) is type(expected) and value == expected


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
