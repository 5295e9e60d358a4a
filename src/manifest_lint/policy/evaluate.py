"""Compiled policies x images -> findings.

The policies were compiled before any network (:mod:`manifest_lint.policy.compile`).
Evaluation never raises for a policy's sake: a CEL run-time error, or a validation that returns
something other than a bool, is an ERROR finding for that policy and image
(fail closed), never a pass and never a crash.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from manifest_lint.errors import EvaluationError
from manifest_lint.policy.compile import CompiledPolicy, CompiledValidation, Programs
from manifest_lint.results import Finding, Outcome


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _evaluate_one(
    compiled: CompiledPolicy,
    activation: Mapping[str, Any],
    platform: str,
    shared: tuple[Programs, Mapping[str, Any]] | None = None,
) -> Finding:
    """One policy on one activation of its own. With ``shared`` (a :class:`Shared`
    policy's programs and the image's shared activation), they run instead: on the
    shared activation while ``variables`` is still empty (the match conditions, the
    first variable, and everything of a policy without variables), then on
    ``activation``, which must then hold the policy's ``SCOPE.params``."""
    policy = compiled.policy
    programs, first = shared if shared is not None else (compiled.programs, activation)

    def finding(outcome: Outcome, message: str, details: tuple[str, ...] = ()) -> Finding:
        return Finding(policy.name, outcome, policy.severity, message, platform, details)

    where = "match condition"
    name = ""
    try:
        for name, program in programs.match_conditions:
            result = program.evaluate(first)
            if result is not True:
                if result is False:
                    return finding(Outcome.SKIP, f"match condition {name!r} is false")
                return finding(
                    Outcome.ERROR,
                    f"match condition {name!r} returned {_describe(result)}, not a bool",
                )
        where = "variable"
        values: dict[str, Any] = {}
        # A policy without variables runs whole on ``first``.
        activation = {**activation, "variables": values} if programs.variables else first
        for name, program in programs.variables:
            values[name] = program.evaluate(first if not values else activation)
    except EvaluationError as exc:
        return finding(Outcome.ERROR, f"{where} {name!r} failed: {exc}")

    failures: list[str] = []
    errors: list[str] = []
    for validation in programs.validations:
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


def _message(validation: CompiledValidation, activation: Mapping[str, Any]) -> str:
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
    # Unique within the image (policy.document.platform_names).
    labels = [m["platform"]["name"] for m in manifests]
    sharing = [p.shared for p in compiled if p.shared is not None]
    shared_activation: Mapping[str, Any] | None = None
    if sharing:
        shared_values = {**base, "params": {}}
        for compiled_policy in compiled:
            if compiled_policy.shared is not None:
                shared_values[compiled_policy.shared.params_name] = compiled_policy.policy.params
        shared_activation = sharing[0].backend.activation(shared_values)
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
            continue
        programs = policy.shared.programs() if policy.shared is not None else None
        if programs is not None and policy.shared is not None and shared_activation is not None:
            activation[policy.shared.params_name] = policy.policy.params
            findings.append(_evaluate_one(policy, activation, "", (programs, shared_activation)))
        else:
            findings.append(_evaluate_one(policy, activation, ""))
    return findings
