"""Policies x images -> findings.

Every policy is compiled once, before any network (:func:`compile_policies`); a
compile error names the policy file, line and column. Evaluation never raises
for a policy's sake: a CEL run-time error, or a validation that returns
something other than a bool, is an ERROR finding for that policy and image
(fail closed), never a pass and never a crash.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from manifest_lint.cel import CelBackend, CelFunction, CelProgram
from manifest_lint.errors import EvaluationError, ExpressionError, PolicyError
from manifest_lint.policy import Expression, Policy
from manifest_lint.results import Finding, Outcome

#: The variables every expression may use; all maps but ``now``.
VARIABLES: Mapping[str, str] = {
    "ref": "map",
    "image": "map",
    "params": "map",
    "variables": "map",
    "platform": "map",
    "now": "timestamp",
}


@dataclass(frozen=True)
class CompiledValidation:
    program: CelProgram
    expression: Expression
    message: str
    message_program: CelProgram | None


@dataclass(frozen=True)
class CompiledPolicy:
    policy: Policy
    match_conditions: tuple[tuple[str, CelProgram], ...]
    variables: tuple[tuple[str, CelProgram], ...]
    validations: tuple[CompiledValidation, ...]


def _compile(
    backend: CelBackend, expression: Expression, functions: Sequence[CelFunction], policy: Policy
) -> CelProgram:
    try:
        return backend.compile(expression.text, variables=VARIABLES, functions=functions)
    except ExpressionError as exc:
        line, column = expression.position(exc.line, exc.column)
        caret = f"\n{exc.caret}" if exc.caret else ""
        raise PolicyError(
            f"policy {policy.name!r}: CEL expression does not compile: {exc.detail}{caret}",
            path=expression.path or policy.path or f"<{policy.origin}>",
            line=line,
            column=column,
            policy=policy.name,
        ) from None


def compile_policy(
    policy: Policy, backend: CelBackend, functions: Sequence[CelFunction]
) -> CompiledPolicy:
    def build(expression: Expression) -> CelProgram:
        return _compile(backend, expression, functions, policy)

    return CompiledPolicy(
        policy=policy,
        match_conditions=tuple((m.name, build(m.expression)) for m in policy.match_conditions),
        variables=tuple((v.name, build(v.expression)) for v in policy.variables),
        validations=tuple(
            CompiledValidation(
                build(v.expression),
                v.expression,
                v.message,
                build(v.message_expression) if v.message_expression else None,
            )
            for v in policy.validations
        ),
    )


def compile_policies(
    policies: Sequence[Policy], backend: CelBackend, functions: Sequence[CelFunction]
) -> list[CompiledPolicy]:
    return [compile_policy(p, backend, functions) for p in policies]


_STRING_LITERAL = re.compile(
    r"""[rRbB]{0,2}('\'\'\'.*?\'\'\'|\"\"\".*?\"\"\"|'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*")""",
    re.DOTALL,
)
_REGISTRY_DATA = re.compile(r"\b(image|platform)\b")


def _decisive(policy: Policy) -> list[str]:
    """The expressions that decide a result (not the messages)."""
    return [
        *(m.expression.text for m in policy.match_conditions),
        *(v.expression.text for v in policy.variables),
        *(v.expression.text for v in policy.validations),
    ]


def needs_registry(policy: Policy) -> bool:
    """Whether ``policy`` reads anything but the reference (``ref``, ``params``, ``now``).

    Decided from the expression texts, outside string literals: a policy whose match
    conditions, variables or validations name ``image`` or ``platform`` needs the
    image, and so does every ``scope: platform`` policy. Message expressions do not
    count: offline, they see an empty ``image`` (see ``docs/policies.md``).
    """
    if policy.scope == "platform":
        return True
    return any(_REGISTRY_DATA.search(_STRING_LITERAL.sub("''", t)) for t in _decisive(policy))


def needs_configs(policies: Sequence[Policy]) -> bool:
    """Whether any policy may read image configs: any expression (messages included)
    mentioning ``config``, even inside a string (``m['config']``). When none does,
    configs are not fetched at all."""
    for policy in policies:
        texts = _decisive(policy) + [
            v.message_expression.text for v in policy.validations if v.message_expression
        ]
        if any("config" in t for t in texts):
            return True
    return False


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _evaluate_one(compiled: CompiledPolicy, activation: dict[str, Any], platform: str) -> Finding:
    policy = compiled.policy

    def finding(outcome: Outcome, message: str, details: tuple[str, ...] = ()) -> Finding:
        return Finding(policy.name, outcome, policy.severity, message, platform, details)

    where = "match condition"
    name = ""
    try:
        for name, program in compiled.match_conditions:
            result = program.evaluate(activation)
            if result is not True:
                if result is False:
                    return finding(Outcome.SKIP, f"match condition {name!r} is false")
                return finding(
                    Outcome.ERROR,
                    f"match condition {name!r} returned {_describe(result)}, not a bool",
                )
        where = "variable"
        values: dict[str, Any] = {}
        activation = {**activation, "variables": values}
        for name, program in compiled.variables:
            values[name] = program.evaluate(activation)
    except EvaluationError as exc:
        return finding(Outcome.ERROR, f"{where} {name!r} failed: {exc}")

    failures: list[str] = []
    errors: list[str] = []
    for validation in compiled.validations:
        try:
            result = validation.program.evaluate(activation)
        except EvaluationError as exc:
            errors.append(f"{validation.expression.text.strip()}: {exc}")
            continue
        if result is True:
            continue
        if result is not False:
            errors.append(
                f"{validation.expression.text.strip()}: returned {_describe(result)}, not a bool"
            )
            continue
        failures.append(_message(validation, activation))
    if errors:
        return finding(
            Outcome.ERROR, "evaluation failed: " + "; ".join(errors), tuple(errors + failures)
        )
    if failures:
        return finding(Outcome.FAIL, "; ".join(failures), tuple(failures))
    return finding(Outcome.PASS, "")


def _message(validation: CompiledValidation, activation: dict[str, Any]) -> str:
    fallback = validation.message or f"failed: {validation.expression.text.strip()}"
    if validation.message_program is None:
        return fallback
    try:
        value = validation.message_program.evaluate(activation)
    except EvaluationError as exc:
        return f"{fallback} (messageExpression failed: {exc})"
    if not isinstance(value, str) or not value.strip():
        return fallback
    return value


def evaluate(
    compiled: Sequence[CompiledPolicy], document: Mapping[str, Any], now: datetime
) -> list[Finding]:
    """Every policy on one image document; platform-scoped ones once per platform."""
    findings: list[Finding] = []
    base = {
        "ref": document["ref"],
        "image": document["image"],
        "now": now,
        "platform": {},
        "variables": {},
    }
    manifests = document["image"]["manifests"]
    labels = platform_labels(manifests)
    for policy in compiled:
        activation = {**base, "params": policy.policy.params}
        if policy.policy.scope == "platform":
            if not manifests:
                findings.append(
                    Finding(
                        policy.policy.name,
                        Outcome.SKIP,
                        policy.policy.severity,
                        "the image has no platform manifests",
                    )
                )
            for manifest, label in zip(manifests, labels, strict=True):
                findings.append(_evaluate_one(policy, {**activation, "platform": manifest}, label))
        else:
            findings.append(_evaluate_one(policy, activation, ""))
    return findings


def platform_labels(manifests: Sequence[Mapping[str, Any]]) -> list[str]:
    """A unique label per platform manifest: its platform name; where two share a name,
    with the Windows ``os.version`` added; where that is still not unique, with the
    digest instead; and where one manifest is listed twice, with its position (``#2``)."""
    names = [m["platform"]["name"] for m in manifests]
    labels = [
        f"{name} {m['platform']['osVersion']}"
        if names.count(name) > 1 and m["platform"]["osVersion"]
        else name
        for m, name in zip(manifests, names, strict=True)
    ]
    labels = [
        f"{name} {m['digest'][:19]}" if labels.count(label) > 1 else label
        for m, name, label in zip(manifests, names, labels, strict=True)
    ]
    seen: dict[str, int] = {}
    unique = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        unique.append(f"{label} #{seen[label]}" if labels.count(label) > 1 else label)
    return unique
