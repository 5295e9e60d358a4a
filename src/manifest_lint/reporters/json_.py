"""The JSON report (schema version 1, ``docs/reporters.md``), written as results come.

The document is streamed: the header first, then each reference's result, then
the summary, so memory does not grow with the number of references.
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from manifest_lint.reporters import RunInfo
from manifest_lint.reporters.escape import json_text
from manifest_lint.results import Finding, ReferenceResult, Severity, Summary, Waiver

SCHEMA_VERSION = 1


def waiver_json(waiver: Waiver) -> dict[str, Any]:
    """An exception (docs/exceptions.md): ``policy`` as written (``max-layers[linux/arm64]``)."""
    return {
        "policy": waiver.name,
        "images": list(waiver.images),
        "reason": waiver.reason,
        "expires": waiver.expires_text,
        "owner": waiver.owner,
        "source": waiver.source,
    }


def finding_json(finding: Finding) -> dict[str, Any]:
    found: dict[str, Any] = {
        "policy": finding.policy,
        "platform": finding.platform,
        "name": finding.name,
        "outcome": str(finding.outcome),
        "severity": str(finding.severity),
        "message": finding.message,
        "details": list(finding.details),
    }
    if finding.waiver is not None:  # only a waived finding has the key
        found["exception"] = waiver_json(finding.waiver)
    return found


def result_json(result: ReferenceResult, fail_on: Severity) -> dict[str, Any]:
    location = None
    if result.location is not None:
        loc = result.location
        location = {"path": loc.path, "line": loc.line, "column": loc.column}
    return {
        "reference": result.reference,
        "normalized": result.normalized,
        "registry": result.registry,
        "digest": result.digest,
        "outcome": str(result.outcome(fail_on)),
        "belowFailOn": result.below(fail_on),
        "platforms": list(result.platforms),
        "location": location,
        "findings": [finding_json(f) for f in result.findings],
    }


def header_json(run: RunInfo) -> dict[str, Any]:
    """What the JSON report says before its results (the JSONL report's first line)."""
    header: dict[str, Any] = {
        "version": SCHEMA_VERSION,
        "tool": {"name": "manifest-lint", "version": run.version},
        "failOn": str(run.fail_on),
        "celBackend": run.cel_backend,
        "policySet": run.policy_set,
        "policies": [
            {
                "name": p.name,
                "description": p.description,
                "severity": str(p.severity),
                "scope": p.scope,
                "source": p.source,
                "helpUri": p.help_uri,
            }
            for p in run.policies
        ],
    }
    if run.shard is not None:
        header["shard"] = dict(run.shard)
    return header


def summary_json(summary: Summary) -> dict[str, Any]:
    counts = {str(outcome): n for outcome, n in summary.counts.items()}
    return {
        "references": summary.references,
        **counts,
        "blockingFailures": summary.blocking_failures,
        "belowFailOn": summary.warnings,
        "invalidReferences": summary.invalid_references,
        "outcomes": {str(outcome): n for outcome, n in summary.outcomes.items()},
        "registries": summary.registries,
        "cache": summary.cache,
        "evaluationSeconds": round(summary.evaluation_seconds, 6),
    }


class JsonReporter:
    def __init__(self, stream: TextIO, run: RunInfo) -> None:
        self.stream = stream
        self.fail_on = run.fail_on
        self.first = True
        text = json.dumps(header_json(run), indent=2, ensure_ascii=False)
        # Open the results list inside the header object; closed in finish().
        # Every string keeps its exact value; json_text writes the characters a terminal
        # would obey as \u escapes (reporters/escape.py).
        text = json_text(text)
        self.stream.write(text[: text.rindex("}")].rstrip() + ',\n  "results": [')

    def add(self, result: ReferenceResult) -> None:
        # One compact line per reference: json's C encoder (not the pure-Python one that
        # indentation needs), and still one result per line to read or grep.
        body = json.dumps(
            result_json(result, self.fail_on), ensure_ascii=False, separators=(", ", ": ")
        )
        sep = "\n" if self.first else ",\n"
        self.first = False
        self.stream.write(sep + "    " + json_text(body))

    def finish(self, summary: Summary) -> None:
        tail = summary_json(summary)
        body = json_text(json.dumps(tail, indent=2, ensure_ascii=False)).replace("\n", "\n  ")
        unused = [waiver_json(w) for w in summary.unused_exceptions]
        listed = json_text(json.dumps(unused, indent=2, ensure_ascii=False)).replace("\n", "\n  ")
        close = "\n  ]" if not self.first else "]"
        self.stream.write(f'{close},\n  "summary": {body},\n  "unusedExceptions": {listed}\n}}\n')
        self.stream.flush()
