"""SARIF 2.1.0 (``--sarif FILE``), valid against the OASIS schema.

One run; one rule per policy (``reference`` and ``fetch`` are rules too, for
references that do not parse or cannot be read, and ``exception`` in a run with an
expired or soon-expiring exception); one result per finding, passes
(``kind: pass``) and skips (``kind: notApplicable``) included, so every
reference has a result. A waived result carries ``suppressions`` (kind ``external``,
or ``inSource`` for a ``# manifest-lint ignore=`` comment; the exception's reason as
its justification). A reference read from a file has a physical location (file,
line, column); any other has a logical location naming it.
``partialFingerprints`` hash the rule, the normalised reference and the
platform, so they are stable across runs.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, TextIO

from manifest_lint.reporters import RunInfo
from manifest_lint.reporters.escape import json_text
from manifest_lint.results import (
    EXCEPTION,
    FETCH,
    REFERENCE,
    Finding,
    Outcome,
    PolicyInfo,
    ReferenceResult,
    Severity,
    Summary,
)

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/manifest-lint/manifest-lint"
DOCS = f"{INFORMATION_URI}/blob/main/docs"
_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
_PSEUDO = (
    PolicyInfo(
        REFERENCE,
        "The image reference can be parsed and resolved.",
        Severity.ERROR,
        help_uri=f"{INFORMATION_URI}#references",
    ),
    PolicyInfo(
        FETCH,
        "The image can be read from its registry or layout and every byte "
        "verifies against its digest.",
        Severity.ERROR,
        help_uri=f"{DOCS}/document.md#what-is-verified-before-a-document-exists",
    ),
)

#: The rule of expired and soon-expiring exceptions: added when a run has such a result.
_EXCEPTION_RULE = PolicyInfo(
    EXCEPTION,
    "An exception that waives a failure has not expired.",
    Severity.ERROR,
    help_uri=f"{DOCS}/exceptions.md",
)


def _first_sentence(text: str) -> str:
    text = " ".join(text.split())
    end = text.find(". ")
    return text if end == -1 else text[: end + 1]


def rule(policy: PolicyInfo) -> dict[str, Any]:
    description = policy.description or policy.name
    entry: dict[str, Any] = {
        "id": policy.name,
        "shortDescription": {"text": _first_sentence(description)},
        "fullDescription": {"text": " ".join(description.split())},
    }
    if policy.help_uri:
        # The policy's own metadata.helpUri; a policy without one has none (the built-in
        # docs would be about some other policy).
        entry["helpUri"] = policy.help_uri
    entry["defaultConfiguration"] = {"level": _LEVELS[policy.severity]}
    entry["properties"] = {"scope": policy.scope, "source": policy.source}
    return entry


def fingerprint(rule_id: str, result: ReferenceResult, finding: Finding) -> str:
    key = "\0".join((rule_id, result.normalized or result.reference, finding.platform))
    return hashlib.sha256(key.encode()).hexdigest()


class SarifReporter:
    def __init__(self, stream: TextIO, run: RunInfo) -> None:
        self.stream = stream
        self.run = run
        self.rules = [*_PSEUDO, *run.policies]
        self.index = {p.name: i for i, p in enumerate(self.rules)}
        self.results: list[dict[str, Any]] = []
        self.failed_to_evaluate = False

    def _level(self, finding: Finding) -> str:
        if finding.outcome is Outcome.ERROR:
            return "error"
        if finding.outcome in (Outcome.FAIL, Outcome.WAIVED):
            return _LEVELS[finding.severity]
        return "none"

    def add(self, result: ReferenceResult) -> None:
        location: dict[str, Any]
        if result.location is not None:
            loc = result.location
            region: dict[str, Any] = {}
            if loc.line:
                region["startLine"] = loc.line
                if loc.column:
                    region["startColumn"] = loc.column
            physical: dict[str, Any] = {"artifactLocation": {"uri": loc.path}}
            if region:
                physical["region"] = region
            location = {"physicalLocation": physical}
        else:
            location = {}
        logical = {"name": result.reference}
        if result.normalized:  # a reference that does not parse has no normalised form
            logical["fullyQualifiedName"] = result.normalized
        logical["kind"] = "resource"
        location["logicalLocations"] = [logical]
        outcome = str(result.outcome(self.run.fail_on))
        for finding in result.findings:
            if finding.outcome is Outcome.ERROR:
                self.failed_to_evaluate = True
            if finding.policy == EXCEPTION and EXCEPTION not in self.index:
                self.index[EXCEPTION] = len(self.rules)
                self.rules.append(_EXCEPTION_RULE)
            kind = {Outcome.PASS: "pass", Outcome.SKIP: "notApplicable"}.get(
                finding.outcome, "fail"
            )
            text = finding.message or f"{finding.name}: {finding.outcome}"
            entry: dict[str, Any] = {
                "ruleId": finding.policy,
                "ruleIndex": self.index.get(finding.policy, 0),
                "kind": kind,
                "level": self._level(finding),
                "message": {"text": f"{result.reference}: {text}"},
                "locations": [location],
                "partialFingerprints": {
                    "manifestLint/v1": fingerprint(finding.policy, result, finding)
                },
                "properties": {
                    "outcome": str(finding.outcome),
                    "severity": str(finding.severity),
                    "platform": finding.platform,
                    "digest": result.digest,
                    "referenceOutcome": outcome,
                },
            }
            if finding.waiver is not None:
                # Reported, and suppressed: by an exception in a configuration or
                # exceptions file (external), or by a comment next to the reference in
                # the scanned file (inSource).
                kind = "inSource" if finding.waiver.inline else "external"
                entry["suppressions"] = [{"kind": kind, "justification": finding.waiver.reason}]
                entry["properties"]["exception"] = finding.waiver.source
            self.results.append(entry)

    def finish(self, summary: Summary) -> None:
        document = {
            "$schema": SCHEMA_URI,
            "version": "2.1.0",
            "runs": [
                {
                    "tool": {
                        "driver": {
                            "name": "manifest-lint",
                            "version": self.run.version,
                            "informationUri": INFORMATION_URI,
                            "rules": [rule(p) for p in self.rules],
                        }
                    },
                    "invocations": [{"executionSuccessful": not self.failed_to_evaluate}],
                    "results": self.results,
                }
            ],
        }
        # Exact values; the characters a terminal would obey as \u escapes (reporters/escape.py).
        self.stream.write(json_text(json.dumps(document, indent=2, ensure_ascii=False)) + "\n")
        self.stream.flush()
