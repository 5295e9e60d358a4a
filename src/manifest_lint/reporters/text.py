"""Text for people: one block per reference, one line per result, a summary line.
Colours only on a terminal (and never with ``NO_COLOR`` set)."""

from __future__ import annotations

import os
from typing import TextIO

from manifest_lint.reporters import RunInfo
from manifest_lint.reporters.escape import escape
from manifest_lint.results import REFERENCE, Finding, Outcome, ReferenceResult, Severity, Summary

_COLOURS = {
    "PASS": "32",
    "FAIL": "31;1",
    "ERROR": "31;1",
    "WARN": "33",
    "INFO": "36",
    "SKIP": "2",
    "WAIVED": "36",
}


def label(finding: Finding, fail_on: Severity) -> str:
    """PASS, FAIL, ERROR, SKIP, WAIVED; a failure below ``--fail-on`` shows its severity
    (WARN, INFO)."""
    if finding.outcome is Outcome.FAIL and finding.severity < fail_on:
        return "WARN" if finding.severity is Severity.WARNING else "INFO"
    return finding.outcome.name


#: ``-q``: how many of the unchecked places are named on the line about them.
_SHOWN = 5


def _place(result: ReferenceResult) -> str:
    """``path:line:column`` of a result found in a file, else its reference."""
    loc = result.location
    if loc is None:
        return result.reference
    return f"{loc.path}:{loc.line}:{loc.column}" if loc.line else loc.path


class TextReporter:
    def __init__(self, stream: TextIO, run: RunInfo) -> None:
        self.stream = stream
        self.run = run
        self.colour = run.tty and not os.environ.get("NO_COLOR")
        #: ``-q``: what scan skipped unchecked (a reference with a build argument or
        #: variable of no value, a file of no known kind), as "where (why)", told in one
        #: line at the end.
        self.unchecked: list[str] = []

    def _paint(self, text: str, key: str) -> str:
        if not self.colour:
            return text
        return f"\033[{_COLOURS[key]}m{text}\033[0m"

    def add(self, result: ReferenceResult) -> None:
        w = self.stream.write
        findings = result.findings
        if self.run.quiet:
            self.unchecked += [
                f"{_place(result)} ({finding.message})"
                for finding in findings
                if finding.name == REFERENCE and finding.outcome is Outcome.SKIP
            ]
            # Only what needs attention: violations and errors.
            findings = tuple(f for f in findings if f.outcome in (Outcome.FAIL, Outcome.ERROR))
            if not findings:
                return
        extra = []
        if result.digest:
            extra.append(result.digest)
        if result.platforms:
            count = len(result.platforms)
            extra.append(f"{count} platform{'s' if count != 1 else ''}")
        # Messages and references quote registry and user text: escaped (reporters/escape.py).
        w(escape(result.head) + (f"  ({', '.join(extra)})" if extra else "") + "\n")
        for finding in findings:
            key = label(finding, self.run.fail_on)
            line = f"  {self._paint(f'{key:<5}', key)} {escape(finding.name)}"
            if finding.message and finding.outcome is not Outcome.PASS:
                line += f": {escape(finding.message, newlines=True)}"
            if finding.waiver is not None:
                waiver = finding.waiver
                line += f"; waived: {escape(waiver.reason)} (expires {waiver.expires_text})"
            w(line.replace("\n", "\n        ") + "\n")
        self.stream.flush()

    def finish(self, summary: Summary) -> None:
        self.stream.write("\n")
        if self.unchecked:
            count = len(self.unchecked)
            shown = "; ".join(self.unchecked[:_SHOWN])
            more = f"; and {count - _SHOWN} more (all without -q)" if count > _SHOWN else ""
            self.stream.write(escape(f"{count} skipped, not checked: {shown}{more}") + "\n")
        self.stream.write("\n".join(summary.lines()) + "\n")
        if self.run.shard is not None:
            shard = self.run.shard
            self.stream.write(
                f"shard {shard['index']}/{shard['total']} (by {shard['by']}): "
                f"{summary.references} of the references\n"
            )
        for waiver in summary.unused_exceptions:
            self.stream.write(
                escape(f"unused exception: {waiver.name} ({waiver.source}) matched nothing") + "\n"
            )
        for host, stats in summary.registries.items():
            methods = ", ".join(f"{n} {m}" for m, n in stats["requests"].items()) or "none"
            line = f"{host}: {methods}; {stats['manifestGets']} counted pulls (manifest GETs)"
            limit = stats.get("rateLimit") or {}
            if "ratelimit-remaining" in limit:
                line += f"; rate limit remaining {limit['ratelimit-remaining']}"
            self.stream.write(escape(line) + "\n")  # a registry's header quoted
        self.stream.flush()
