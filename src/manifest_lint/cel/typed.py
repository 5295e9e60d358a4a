"""Expressions type-checked against the policy document's schema, by cel-cpp.

``schemas/document.schema.json`` (JSON Schema) becomes protobuf messages at run time
(a ``FileDescriptorProto`` added to a ``DescriptorPool``, no ``.proto`` file), and
cel-expr-python's checker is given ``ref``, ``image`` and ``platform`` as those message
types: an unknown field (``image.nosuchfield``) and a comparison of different types
(``platform.layerCount == "3"``) are then compile errors, and the result type of an
expression is known. Objects with ``properties`` are messages, ``additionalProperties``
maps with string values are ``map<string, string>`` (their keys are data), arrays are
repeated fields. ``params`` is a message of the policy's params when their schema
(:func:`manifest_lint.policy.params.params_schema`) is one a message can say
(:func:`params_definition`: named keys of scalars, lists of scalars or maps of
scalars, no other key), so ``params.maxx`` and ``params.max == "3"`` are errors;
otherwise ``map(string, dyn)``. Each ``variables.NAME`` has the type its own
expression gives.

The check only checks: evaluation stays with the backend's own environment (dicts in,
cel-expr-python cannot evaluate dicts as messages), so it serves both backends and both
give the same errors. Its cost is protobuf's import (``descriptor_pool`` and
``descriptor_pb2``: 26-31 ms measured with ``python -X importtime``), paid only by runs
that check a policy: the built-in policies are checked by the test suite
(``tests/test_typecheck.py``), not at every start-up.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cel_expr_python import cel  # type: ignore[import-untyped]  # no py.typed in 0.1.3

from manifest_lint.cel.base import CelFunction, Problem, expression_error
from manifest_lint.cel.cel_cpp import _Environment, _extensions
from manifest_lint.cel.cel_cpp_errors import TYPE_NAMES, parse_problems

PACKAGE = "manifest_lint.document.v1"
#: The schema's top-level properties that are messages, by variable name.
_MESSAGES = {"ref": "ref", "image": "image", "platform": "manifest"}
#: The name of the params' message among the schema's definitions.
_PARAMS = "policy_params"
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_SCALAR_TYPES = ("string", "integer", "boolean", "number")
#: What each kind of expression must give (``dyn`` is always accepted: ``dyn(...)``).
RESULTS = {"bool": cel.Type.BOOL, "string": cel.Type.STRING}


def schema_path() -> Path:
    """``schemas/document.schema.json``: in the installed package, or in a checkout."""
    package = Path(__file__).resolve().parents[1]
    packaged = package / "schemas" / "document.schema.json"
    if packaged.is_file():
        return packaged
    return package.parents[1] / "schemas" / "document.schema.json"


def _message_name(definition: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in definition.split("_"))


def descriptor_pool(schema: Mapping[str, Any]) -> Any:
    """The schema's objects as protobuf messages in a new pool."""
    from google.protobuf import (  # type: ignore[import-untyped]  # protobuf ships no stubs
        descriptor_pb2,
        descriptor_pool,
    )

    field_type = descriptor_pb2.FieldDescriptorProto
    scalars = {
        "string": field_type.TYPE_STRING,
        "integer": field_type.TYPE_INT64,
        "boolean": field_type.TYPE_BOOL,
        "number": field_type.TYPE_DOUBLE,
    }
    file = descriptor_pb2.FileDescriptorProto(
        name="manifest_lint_document.proto", package=PACKAGE, syntax="proto3"
    )

    def add_field(message: Any, number: int, name: str, node: Mapping[str, Any]) -> None:
        proto = message.field.add(name=name, json_name=name, number=number)
        proto.label = field_type.LABEL_OPTIONAL
        if node.get("type") == "array":
            proto.label = field_type.LABEL_REPEATED
            node = node["items"]
        if "$ref" in node:
            proto.type = field_type.TYPE_MESSAGE
            proto.type_name = f".{PACKAGE}.{_message_name(node['$ref'].rsplit('/', 1)[1])}"
        elif node.get("type") == "object":  # a map whose keys are data
            entry = message.nested_type.add(name=f"{name[:1].upper()}{name[1:]}Entry")
            entry.options.map_entry = True
            entry.field.add(name="key", number=1, type=field_type.TYPE_STRING, label=1)
            value_type = scalars[node["additionalProperties"]["type"]]
            entry.field.add(name="value", number=2, type=value_type, label=1)
            proto.label = field_type.LABEL_REPEATED
            proto.type = field_type.TYPE_MESSAGE
            proto.type_name = f".{PACKAGE}.{message.name}.{entry.name}"
        else:
            proto.type = scalars[node["type"]]

    for definition, node in schema["$defs"].items():
        message = file.message_type.add(name=_message_name(definition))
        for number, (name, child) in enumerate(node["properties"].items(), start=1):
            add_field(message, number, name, child)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return pool


def params_definition(schema: Mapping[str, Any]) -> dict[str, Any] | None:
    """The params' JSON Schema as a definition :func:`descriptor_pool` makes a message
    of, or None when a message cannot say it (other keys allowed, a key that is no
    identifier, a value of nested or mixed shape): ``params`` then stays a map of dyn."""
    properties = schema.get("properties")
    if (
        schema.get("type") != "object"
        or schema.get("additionalProperties") is not False
        or not isinstance(properties, Mapping)
    ):
        return None
    fields: dict[str, Any] = {}
    for key, node in properties.items():
        if not isinstance(key, str) or not _KEY.match(key) or not isinstance(node, Mapping):
            return None
        kind, items, values = node.get("type"), node.get("items"), node.get("additionalProperties")
        if kind in _SCALAR_TYPES:
            fields[key] = {"type": kind}
        elif kind == "array" and isinstance(items, Mapping) and items.get("type") in _SCALAR_TYPES:
            fields[key] = {"type": "array", "items": {"type": items["type"]}}
        elif (
            kind == "object"
            and not node.get("properties")
            and isinstance(values, Mapping)
            and values.get("type") in _SCALAR_TYPES
        ):
            fields[key] = {"type": "object", "additionalProperties": {"type": values["type"]}}
        else:
            return None
    return {"type": "object", "properties": fields}


class TypeChecker:
    """Checks expressions in typed cel-cpp environments (the schema's, built on first
    use, and one per set of ``variables.NAME`` types and params' shape)."""

    def __init__(self, functions: Sequence[CelFunction], schema: Path | None = None) -> None:
        self._functions = functions
        self._schema = schema or schema_path()
        self._base: tuple[dict[str, Any], dict[str, Any]] | None = None
        self._pools: dict[str, Any] = {}
        self._environments: dict[tuple[Any, ...], _Environment] = {}
        self._lock = threading.Lock()

    def environment(
        self,
        variables: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> _Environment:
        """The environment with ``variables.NAME`` declared as ``variables`` gives
        (``cel.Type`` values): a name CEL resolves before ``variables`` itself, which is
        not declared, so ``variables.typo`` is an undeclared reference. ``params``, a
        :func:`params_definition`, types ``params``; None leaves it a map of dyn."""
        variables = variables or {}
        shape = json.dumps(params, sort_keys=True) if params is not None else ""
        key = (tuple(sorted((name, str(type_)) for name, type_ in variables.items())), shape)
        with self._lock:
            if self._base is None:
                schema = json.loads(self._schema.read_text(encoding="utf-8"))
                declared = {
                    name: cel.Type(f"{PACKAGE}.{_message_name(definition)}")
                    for name, definition in _MESSAGES.items()
                }
                declared.update(now=cel.Type.TIMESTAMP)
                self._base = declared, schema
            environment = self._environments.get(key)
            if environment is None:
                declared, schema = self._base
                pool = self._pools.get(shape)
                if pool is None:  # one pool per shape of params (none: the schema's alone)
                    definitions = {**schema["$defs"], **({_PARAMS: params} if params else {})}
                    pool = self._pools[shape] = descriptor_pool({**schema, "$defs": definitions})
                typed_params = (
                    cel.Type(f"{PACKAGE}.{_message_name(_PARAMS)}")
                    if params is not None
                    else cel.Type.Map(cel.Type.STRING, cel.Type.DYN)
                )
                own = {f"variables.{name}": type_ for name, type_ in variables.items()}
                environment = _Environment(
                    {},
                    self._functions,
                    "",
                    _extensions(),  # the evaluating environment's libraries, checked alike
                    native_variables={**declared, "params": typed_params, **own},
                    descriptor_pool=pool,
                )
                self._environments[key] = environment
            return environment

    def check(
        self,
        expression: str,
        result: str,
        role: str = "the expression",
        variables: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        """The ``cel.Type`` ``expression`` gives, with ``variables.NAME`` of the types
        in ``variables``. Raises :class:`~manifest_lint.errors.ExpressionError` if it
        does not type-check, or gives neither ``result`` (``bool``, ``string``;
        ``dyn``: any) nor ``dyn``. ``role`` names the expression in the message."""
        environment = self.environment(variables, params)
        try:
            compiled = environment.native.compile(expression)
        except RuntimeError as exc:
            raise expression_error(expression, parse_problems(str(exc))) from exc
        given = compiled.return_type()
        if result in RESULTS and given != RESULTS[result] and given != cel.Type.DYN:
            message = (
                f"{role} must give a {result}, this gives {_type_name(given)} "
                f"(dyn(...) defers the check to run time)"
            )
            raise expression_error(expression, [Problem(message, 1, 1)])
        return given


def _type_name(type_: Any) -> str:
    """``cel.Type`` as CEL writes it: ``string``, ``list(int)``, ``map(string, dyn)``."""
    return TYPE_NAMES.get(str(type_), str(type_).lower())
