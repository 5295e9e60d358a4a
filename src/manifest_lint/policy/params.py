"""A policy's params: their JSON Schema, and overrides checked against it at load.

A policy declares its params' shape with ``spec.paramsSchema`` (a JSON Schema), or
else by its defaults in ``spec.params``: each default gives its key a type
(:func:`params_schema`), and no other key is allowed. Overrides come from the
configuration file (``policies.NAME.params``) and from ``--param NAME.KEY=VALUE``;
:func:`apply_params` checks them before any request, and names where a bad one was
written: the configuration file and line, or the ``--param`` argument.

Params that fit a schema of the common keywords are passed by
:func:`~manifest_lint.yamlfile.schema.fits`; ``jsonschema`` (about 45 ms to import,
next to a 100 ms offline run) is imported for the rest, and to say what is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from manifest_lint.errors import ConfigError, PolicyError, UsageError
from manifest_lint.policy.files import Policy
from manifest_lint.yamlfile.schema import fits

_TYPES: tuple[tuple[type, str], ...] = (
    (bool, "boolean"),  # before int: a bool is an int in Python
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (list, "array"),
    (dict, "object"),
)


def infer_schema(value: Any) -> dict[str, Any]:
    """The JSON Schema a default value gives its key: its type; a list's items the
    type they share (any item, when they differ or the list is empty); a mapping's
    keys their own types, other keys allowed (nested mappings often hold data)."""
    name = next((name for kind, name in _TYPES if isinstance(value, kind)), None)
    if name is None:
        return {}  # null, or a YAML date: anything
    schema: dict[str, Any] = {"type": name}
    if name == "array":
        items = [infer_schema(item) for item in value]
        if items and all(item == items[0] for item in items):
            schema["items"] = items[0]
    elif name == "object":
        schema["properties"] = {str(k): infer_schema(v) for k, v in value.items()}
    return schema


def params_schema(policy: Policy) -> dict[str, Any]:
    """The JSON Schema of ``policy``'s params: ``spec.paramsSchema`` as written, or
    the one its defaults give (an object of exactly those keys, each of its
    default's type)."""
    if policy.params_schema is not None:
        return dict(policy.params_schema)
    return {
        "type": "object",
        "properties": {key: infer_schema(value) for key, value in policy.params.items()},
        "additionalProperties": False,
    }


@dataclass(frozen=True)
class Given:
    """Params one source gives one policy: the configuration file (``path``, the
    line of the policy's entry and of each key) or ``--param`` (each key's argument)."""

    values: Mapping[str, Any]
    path: str = ""
    line: int = 0
    lines: Mapping[str, int] = field(default_factory=dict)
    arguments: Mapping[str, str] = field(default_factory=dict)

    def error(self, policy: str, key: str, message: str) -> UsageError:
        if key in self.arguments:
            return UsageError(f"--param {self.arguments[key]}: {message}")
        return ConfigError(
            f"policies.{policy}.params{'.' + key if key else ''}: {message}",
            path=self.path,
            line=self.lines.get(key, self.line),
        )


def apply_params(policy: Policy, given: Sequence[Given]) -> Policy:
    """``policy`` with the params ``given`` (later sources win), each checked against
    :func:`params_schema`: an unknown key, a value of the wrong type or a required
    key missing is a :class:`~manifest_lint.errors.UsageError` naming where it was
    written. Nothing given and no ``paramsSchema``: the defaults fit by definition."""
    if not any(g.values for g in given) and policy.params_schema is None:
        return policy
    merged = dict(policy.params)
    source: dict[str, Given | None] = dict.fromkeys(merged)
    for g in given:
        for key, value in g.values.items():
            merged[key] = value
            source[key] = g
    for key, message in _problems(policy, merged):
        where = source.get(key) if key else next((g for g in reversed(given) if g.path), None)
        if where is None:
            raise PolicyError(
                f"policy {policy.name!r}: params{'.' + key if key else ''}: {message}",
                path=policy.path or f"<{policy.origin}>",
                line=policy.line,
                policy=policy.name,
            )
        raise where.error(policy.name, key, message)
    return policy.with_overrides(params=merged)


def _problems(policy: Policy, params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(top-level key or "", message)`` for each way ``params`` break the schema."""
    schema = params_schema(policy)
    if fits(params, schema):
        return []  # jsonschema (about 45 ms to import) only to say what is wrong
    import jsonschema

    validator_class = jsonschema.validators.validator_for(
        schema, default=jsonschema.Draft202012Validator
    )
    try:
        validator_class.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise PolicyError(
            f"policy {policy.name!r}: spec.paramsSchema is not a valid JSON Schema: {exc.message}",
            path=policy.path or f"<{policy.origin}>",
            line=policy.line,
            policy=policy.name,
        ) from None
    problems: list[tuple[str, str]] = []
    errors = validator_class(schema).iter_errors(params)
    for error in sorted(errors, key=lambda e: [str(p) for p in e.path]):
        path = list(error.absolute_path)
        if not path and error.validator == "additionalProperties":
            known = ", ".join(sorted(schema.get("properties", {}))) or "none"
            for key in sorted(set(params) - set(schema.get("properties", {}))):
                problems.append((key, f"unknown param {key!r} (params: {known})"))
        elif not path and error.validator == "required":
            problems.append(("", f"{error.message} (set it in the configuration or --param)"))
        else:
            key = str(path[0]) if path else ""
            inner = "".join(f"[{p!r}]" if isinstance(p, int) else f".{p}" for p in path[1:])
            problems.append((key, f"{inner.lstrip('.') + ': ' if inner else ''}{error.message}"))
    return problems
