"""Results back from the JSON and JSONL reports (``manifest-lint merge``): the inverse
of ``json_.result_json``, checked, so that a report written by this version reads
back into the same values, and anything else is a clear error naming where."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, time
from typing import Any

from manifest_lint.errors import UsageError
from manifest_lint.results import (
    NEVER,
    Finding,
    Location,
    Outcome,
    ReferenceResult,
    Severity,
    Waiver,
)


def _text(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = obj.get(key, "")
    if not isinstance(value, str):
        raise UsageError(f"{where}: {key!r} must be a string")
    return value


def _texts(obj: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = obj.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(f"{where}: {key!r} must be a list of strings")
    return tuple(value)


def waiver_from_json(obj: Any, where: str) -> Waiver:
    if not isinstance(obj, dict):
        raise UsageError(f"{where}: an exception must be an object")
    name = _text(obj, "policy", where)
    policy, _, platform = name.partition("[")
    expires_text = _text(obj, "expires", where)
    try:
        if expires_text == "never":
            expires = NEVER
        elif "T" in expires_text:
            expires = datetime.strptime(expires_text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        else:
            day = datetime.strptime(expires_text, "%Y-%m-%d").date()
            expires = datetime.combine(day, time.max, tzinfo=UTC)
    except ValueError:
        raise UsageError(f"{where}: 'expires' {expires_text!r} is not a date") from None
    return Waiver(
        policy=policy,
        expires=expires,
        reason=_text(obj, "reason", where),
        platform=platform.removesuffix("]"),
        images=_texts(obj, "images", where),
        owner=_text(obj, "owner", where),
        source=_text(obj, "source", where),
        inline=obj.get("inline") is True,
    )


def finding_from_json(obj: Any, where: str) -> Finding:
    if not isinstance(obj, dict):
        raise UsageError(f"{where}: a finding must be an object")
    try:
        outcome = Outcome(_text(obj, "outcome", where))
        severity = Severity.parse(_text(obj, "severity", where))
    except ValueError as exc:
        raise UsageError(f"{where}: {exc}") from None
    exception = obj.get("exception")
    return Finding(
        policy=_text(obj, "policy", where),
        outcome=outcome,
        severity=severity,
        message=_text(obj, "message", where),
        platform=_text(obj, "platform", where),
        details=_texts(obj, "details", where),
        waiver=waiver_from_json(exception, where) if exception is not None else None,
    )


def result_from_json(obj: Any, where: str) -> ReferenceResult:
    """One result of a JSON or JSONL report; ``where`` names it in errors (FILE:LINE)."""
    if not isinstance(obj, dict) or not isinstance(obj.get("reference"), str):
        raise UsageError(f"{where}: not a manifest-lint result (no 'reference')")
    location = obj.get("location")
    at = None
    if location is not None:
        if not isinstance(location, dict):
            raise UsageError(f"{where}: 'location' must be an object or null")
        line, column = location.get("line", 0), location.get("column", 0)
        if not isinstance(line, int) or not isinstance(column, int):
            raise UsageError(f"{where}: 'location' line and column must be numbers")
        at = Location(_text(location, "path", where), line, column)
    findings = obj.get("findings", [])
    if not isinstance(findings, list):
        raise UsageError(f"{where}: 'findings' must be a list")
    return ReferenceResult(
        obj["reference"],
        normalized=_text(obj, "normalized", where),
        registry=_text(obj, "registry", where),
        digest=_text(obj, "digest", where),
        findings=tuple(finding_from_json(f, where) for f in findings),
        location=at,
        platforms=_texts(obj, "platforms", where),
    )
