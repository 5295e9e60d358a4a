"""Policy files -> :class:`Policy` values, with errors that name file, line and column.

A policy file holds one or more YAML documents shaped like a Kubernetes
ValidatingAdmissionPolicy (see ``docs/policies.md``)::

    apiVersion: manifest-lint.dev/v1
    kind: Policy
    metadata: {name: required-platforms, description: "..."}
    spec:
      severity: error            # error | warning | info
      scope: image               # image | platform
      params: {platforms: [linux/amd64, linux/arm64]}
      matchConditions: [{name: is-index, expression: "image.isIndex"}]
      variables: [{name: missing, expression: "..."}]
      validations:
        - expression: "size(variables.missing) == 0"
          messageExpression: "'missing platforms: ' + variables.missing.join(', ')"

Loading checks the shape only; CEL compilation happens in :mod:`evaluate`, which
maps expression errors back to the file positions kept here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from manifest_lint.errors import PolicyError
from manifest_lint.results import PolicyInfo, Severity
from manifest_lint.yamlfile import (
    LocatedDict,
    LocatedList,
    YamlDocument,
    load_all,
    plain,
    read_text,
)
from manifest_lint.yamlfile.positions import locate
from manifest_lint.yamlfile.schema import check as check_schema

API_VERSION = "manifest-lint.dev/v1"
KIND = "Policy"
SCOPES = ("image", "platform")
_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CONDITION_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
POLICY_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Expression:
    """A CEL expression and where its text starts in its file."""

    text: str
    path: str = ""
    line: int = 0
    column: int = 0
    #: A block scalar (``|``, ``>``): ``line`` and ``column`` are where its first
    #: content line starts, and each line of the text is a line of the file indented
    #: to ``column`` (exact for ``|``; a folded ``>`` joins lines).
    block: bool = False
    #: The whole text of the file (the same string for every expression of a file):
    #: folded, multi-line and escaped scalars are followed in it (:func:`locate`).
    source: str = field(default="", compare=False, repr=False)

    def position(self, inner_line: int, inner_column: int) -> tuple[int, int]:
        """File line and column of a 1-based position inside the expression."""
        if not self.line or not inner_line:
            return self.line, self.column
        if self.source:
            before = self.text.split("\n")[: inner_line - 1]
            index = sum(len(text) + 1 for text in before) + max(inner_column - 1, 0)
            found = locate(self.source, self.line, self.column, self.text, index)
            if found:
                return found
        if self.block or inner_line == 1:
            return self.line + inner_line - 1, self.column + max(inner_column - 1, 0)
        return self.line + inner_line - 1, inner_column


@dataclass(frozen=True)
class Named:
    name: str
    expression: Expression


@dataclass(frozen=True)
class Validation:
    expression: Expression
    message: str = ""
    message_expression: Expression | None = None
    reason: str = ""


@dataclass(frozen=True)
class Policy:
    name: str
    validations: tuple[Validation, ...]
    description: str = ""
    severity: Severity = Severity.ERROR
    scope: str = "image"
    #: ``spec.enabled``: whether it runs when the configuration does not say
    #: (``policies.NAME.enabled``); ``--select`` runs it either way.
    enabled: bool = True
    params: Mapping[str, Any] = field(default_factory=dict)
    #: ``spec.paramsSchema``: the params' JSON Schema as written (None: inferred from
    #: ``params``, :mod:`manifest_lint.policy.params`).
    params_schema: Mapping[str, Any] | None = None
    match_conditions: tuple[Named, ...] = ()
    variables: tuple[Named, ...] = ()
    help_uri: str = ""
    #: The file the policy came from, and the line its document starts on.
    path: str = ""
    line: int = 0
    #: What registered it: "builtin", a plugin name, or "file".
    origin: str = "file"

    def info(self) -> PolicyInfo:
        return PolicyInfo(
            name=self.name,
            description=self.description,
            severity=self.severity,
            scope=self.scope,
            source=self.path,
            help_uri=self.help_uri,
        )

    def with_overrides(
        self, *, severity: Severity | None = None, params: Mapping[str, Any] | None = None
    ) -> Policy:
        merged = {**self.params, **(params or {})}
        return replace(self, severity=severity or self.severity, params=merged)


class _Reader:
    """Checks one YAML document against the policy schema, raising with positions."""

    def __init__(self, path: str, name: str | None = None, source: str = "") -> None:
        self.path = path
        self.name = name
        self.source = source

    def error(self, message: str, line: int = 0, column: int = 0) -> PolicyError:
        return PolicyError(message, path=self.path, line=line, column=column, policy=self.name)

    def mapping(self, value: Any, what: str, line: int) -> LocatedDict:
        if not isinstance(value, LocatedDict):
            raise self.error(f"{what} must be a mapping", line)
        return value

    def only_keys(self, obj: LocatedDict, allowed: Iterable[str], what: str) -> None:
        allowed = tuple(allowed)
        for key in obj:
            if key not in allowed:
                line, column = obj.key_positions.get(key, (obj.line, obj.column))
                raise self.error(
                    f"unknown field {key!r} in {what} (allowed: {', '.join(allowed)})",
                    line,
                    column,
                )

    def string(self, obj: LocatedDict, key: str, what: str, *, required: bool = False) -> str:
        if key not in obj:
            if required:
                raise self.error(f"{what} needs {key!r}", obj.line, obj.column)
            return ""
        value = obj[key]
        if not isinstance(value, str):
            line, column = obj.value_position(key)
            raise self.error(f"{what}.{key} must be a string", line, column)
        return value

    def help_uri(self, meta: LocatedDict) -> str:
        """``metadata.helpUri``: an absolute URI (SARIF's ``helpUri`` must be one)."""
        text = self.string(meta, "helpUri", "metadata")
        if text and (not urlsplit(text).scheme or not text.isprintable() or " " in text):
            line, column = meta.value_position("helpUri")
            raise self.error(
                f"metadata.helpUri must be an absolute URI (https://...), not {text!r}",
                line,
                column,
            )
        return text

    def expression(self, obj: LocatedDict, key: str, what: str) -> Expression:
        text = self.string(obj, key, what, required=True)
        if not text.strip():
            raise self.error(f"{what}.{key} is empty", *obj.value_position(key))
        line, column = obj.value_position(key)
        style = obj.value_styles.get(key)
        if style in ("'", '"'):
            column += 1
        return Expression(
            text, self.path, line, column, block=style in ("|", ">"), source=self.source
        )

    def sequence(self, obj: LocatedDict, key: str, what: str) -> LocatedList:
        value = obj.get(key, [])
        if value is None:
            return LocatedList()
        if not isinstance(value, list):
            raise self.error(f"{what}.{key} must be a list", *obj.value_position(key))
        return value if isinstance(value, LocatedList) else LocatedList(value)

    def named_list(self, spec: LocatedDict, key: str) -> tuple[Named, ...]:
        """``variables`` (names are CEL identifiers) or ``matchConditions`` (names may
        also have '-' and '.', as in Kubernetes)."""
        pattern, rule = (
            (_IDENTIFIER, "an identifier (letters, digits, '_')")
            if key == "variables"
            else (_CONDITION_NAME, "letters, digits, '-', '_' and '.' (at most 63)")
        )
        items: list[Named] = []
        seen: set[str] = set()
        for i, item in enumerate(self.sequence(spec, key, "spec")):
            what = f"spec.{key}[{i}]"
            entry = self.mapping(item, what, spec.key_line(key))
            self.only_keys(entry, ("name", "expression"), what)
            name = self.string(entry, "name", what, required=True)
            if not pattern.match(name):
                raise self.error(
                    f"{what}.name {name!r} must be {rule}",
                    *entry.value_position("name"),
                )
            if name in seen:
                raise self.error(
                    f"{what}.name {name!r} is used twice", *entry.value_position("name")
                )
            seen.add(name)
            items.append(Named(name, self.expression(entry, "expression", what)))
        return tuple(items)

    def read(self, doc: Any, line: int, origin: str) -> Policy:
        top = self.mapping(doc, "a policy document", line)
        self.only_keys(top, ("apiVersion", "kind", "metadata", "spec"), "the policy")
        api = self.string(top, "apiVersion", "the policy", required=True)
        if api != API_VERSION:
            raise self.error(
                f"apiVersion must be {API_VERSION!r}, not {api!r}",
                *top.value_position("apiVersion"),
            )
        kind = self.string(top, "kind", "the policy", required=True)
        if kind != KIND:
            raise self.error(f"kind must be {KIND!r}, not {kind!r}", *top.value_position("kind"))
        if "metadata" not in top:
            raise self.error("the policy needs 'metadata'", top.line, top.column)
        meta = self.mapping(top["metadata"], "metadata", top.key_line("metadata"))
        self.only_keys(meta, ("name", "description", "helpUri"), "metadata")
        name = self.string(meta, "name", "metadata", required=True)
        if not _NAME.match(name):
            raise self.error(
                f"metadata.name {name!r} must be lower-case letters, digits and '-' "
                "(at most 64, starting and ending with a letter or digit)",
                *meta.value_position("name"),
            )
        self.name = name
        if "spec" not in top:
            raise self.error("the policy needs 'spec'", top.line, top.column)
        spec = self.mapping(top["spec"], "spec", top.key_line("spec"))
        self.only_keys(
            spec,
            (
                "enabled",
                "severity",
                "scope",
                "params",
                "paramsSchema",
                "matchConditions",
                "variables",
                "validations",
            ),
            "spec",
        )
        severity = Severity.ERROR
        if "severity" in spec:
            try:
                severity = Severity.parse(self.string(spec, "severity", "spec"))
            except ValueError as exc:
                raise self.error(str(exc), *spec.value_position("severity")) from None
        enabled = spec.get("enabled", True)
        if not isinstance(enabled, bool):
            raise self.error("spec.enabled must be true or false", *spec.value_position("enabled"))
        scope = self.string(spec, "scope", "spec") or "image"
        if scope not in SCOPES:
            raise self.error(
                f"spec.scope must be one of {', '.join(SCOPES)}, not {scope!r}",
                *spec.value_position("scope"),
            )
        params = spec.get("params") or {}
        if not isinstance(params, dict):
            raise self.error("spec.params must be a mapping", *spec.value_position("params"))
        schema = spec.get("paramsSchema")
        if schema is not None and not isinstance(schema, dict):
            raise self.error(
                "spec.paramsSchema must be a mapping (a JSON Schema)",
                *spec.value_position("paramsSchema"),
            )
        validations: list[Validation] = []
        for i, item in enumerate(self.sequence(spec, "validations", "spec")):
            what = f"spec.validations[{i}]"
            entry = self.mapping(item, what, spec.key_line("validations"))
            self.only_keys(entry, ("expression", "message", "messageExpression", "reason"), what)
            message_expression = (
                self.expression(entry, "messageExpression", what)
                if "messageExpression" in entry
                else None
            )
            validations.append(
                Validation(
                    self.expression(entry, "expression", what),
                    message=self.string(entry, "message", what),
                    message_expression=message_expression,
                    reason=self.string(entry, "reason", what),
                )
            )
        if not validations:
            raise self.error(
                "spec.validations needs at least one validation", spec.line, spec.column
            )
        return Policy(
            name=name,
            description=self.string(meta, "description", "metadata"),
            help_uri=self.help_uri(meta),
            severity=severity,
            scope=scope,
            enabled=enabled,
            params=plain(params),
            params_schema=None if schema is None else plain(schema),
            match_conditions=self.named_list(spec, "matchConditions"),
            variables=self.named_list(spec, "variables"),
            validations=tuple(validations),
            path=self.path,
            line=line,
            origin=origin,
        )


def parse_policies(
    text: str, path: str, *, origin: str = "file", fast: bool = False
) -> list[Policy]:
    """Every policy in one YAML text; ``path`` is used in error messages. ``fast`` parses
    with libyaml (plugins' and built-in policies: quicker start-up, terser syntax errors)."""
    documents = load_all(text, path=path, error=PolicyError, fast=fast)
    return read_policies(documents, path, origin=origin, text=text)


def read_policies(
    documents: Iterable[YamlDocument], path: str, *, origin: str = "file", text: str = ""
) -> list[Policy]:
    """The policies of a policy file's parsed documents (:func:`parse_policies`);
    ``text``, the file's, places errors inside multi-line expressions exactly. A
    user's file (``origin`` "file") is also checked against ``schemas/policy.schema.json``
    (the built-in policies are, by the tests and the wheel's build)."""
    policies = []
    for doc in documents:
        policies.append(_Reader(path, source=text).read(doc.value, doc.line, origin))
        if origin == "file":
            check_schema(doc.value, "policy.schema.json", path=path, error=PolicyError)
    if not policies:
        raise PolicyError("no policy in this file", path=path)
    return policies


def load_policy_file(path: Path, *, origin: str = "file", fast: bool = False) -> list[Policy]:
    text = read_text(path, PolicyError)
    return parse_policies(text, str(path), origin=origin, fast=fast)


def policy_files(path: Path) -> Iterator[Path]:
    """A policy file, or the ``*.yaml``/``*.yml`` files of a directory (recursively, sorted)."""
    if path.is_dir():
        yield from sorted(p for p in path.rglob("*") if p.suffix in POLICY_SUFFIXES and p.is_file())
    elif path.exists():
        yield path
    else:
        raise PolicyError("no such file or directory", path=str(path))


def load_policies(
    paths: Iterable[Path], *, origin: str = "file", fast: bool = False
) -> list[Policy]:
    return [
        policy
        for path in paths
        for file in policy_files(path)
        for policy in load_policy_file(file, origin=origin, fast=fast)
    ]
