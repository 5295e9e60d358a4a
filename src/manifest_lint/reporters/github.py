"""GitHub Actions: workflow-command annotations on stdout, and a job summary.

Annotations (``::error file=...,line=...,col=...,title=...::message``) are written
for every failure and error; a reference read from a file is annotated at its
line. The job summary (Markdown, appended to ``$GITHUB_STEP_SUMMARY`` when set)
has the results per image and a platform coverage matrix (images x platforms).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TextIO

from manifest_lint.reporters import RunInfo
from manifest_lint.reporters.text import printable
from manifest_lint.results import Finding, Outcome, ReferenceResult, Severity, Summary


def escape_data(text: str) -> str:
    """A workflow command's message: ``%``, CR and LF escaped as GitHub reads them, and
    every other control character as ``\\uXXXX`` (messages quote registry content, which
    must not drive a terminal or a log viewer with escape sequences)."""
    return printable(text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _md(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


class GithubReporter:
    def __init__(self, stream: TextIO, run: RunInfo, env: Mapping[str, str] | None = None):
        self.stream = stream
        self.run = run
        self.env = os.environ if env is None else env
        self.rows: list[ReferenceResult] = []

    def command(self, finding: Finding) -> str:
        if finding.outcome is Outcome.ERROR:
            return "error"
        if finding.severity >= self.run.fail_on:
            return "error"
        return "warning" if finding.severity is Severity.WARNING else "notice"

    def add(self, result: ReferenceResult) -> None:
        self.rows.append(result)
        for finding in result.findings:
            if finding.outcome not in (Outcome.FAIL, Outcome.ERROR):
                continue
            props = [f"title={escape_property(f'manifest-lint: {finding.name}')}"]
            if result.location is not None:
                loc = result.location
                props.insert(0, f"file={escape_property(loc.path)}")
                if loc.line:
                    props.insert(1, f"line={loc.line}")
                    if loc.column:
                        props.insert(2, f"col={loc.column}")
            message = f"{result.reference}: {finding.message or finding.outcome}"
            self.stream.write(
                f"::{self.command(finding)} {','.join(props)}::{escape_data(message)}\n"
            )
        self.stream.flush()

    def finish(self, summary: Summary) -> None:
        path = self.env.get("GITHUB_STEP_SUMMARY")
        if not path or self.env.get("PRE_COMMIT"):
            # Under pre-commit every chunk of files is a run of its own: annotations
            # are useful from each, a job summary from each would be noise.
            return
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(job_summary(self.rows, summary, self.run))


def job_summary(rows: list[ReferenceResult], summary: Summary, run: RunInfo) -> str:
    icon = {Outcome.PASS: "✅ pass", Outcome.FAIL: "❌ fail", Outcome.ERROR: "⚠️ error"}
    lines = ["## manifest-lint", "", summary.line(), ""]
    lines += ["| image | result | digest | failed or not evaluated |", "| --- | --- | --- | --- |"]
    for result in rows:
        problems = [
            f"{f.name}: {f.message}"
            for f in result.findings
            if f.outcome is Outcome.ERROR
            or (f.outcome is Outcome.FAIL and f.severity >= run.fail_on)
        ]
        below = sum(
            1 for f in result.findings if f.outcome is Outcome.FAIL and f.severity < run.fail_on
        )
        verdict = icon[result.outcome]
        if result.outcome is Outcome.FAIL and not problems:
            verdict = icon[Outcome.PASS]  # only failures below --fail-on: the run passes
        if below:
            verdict += f" ({below} below --fail-on)"
        where = ""
        if result.location is not None:
            where = f" ({result.location.path}:{result.location.line})"
        lines.append(
            f"| `{_md(result.reference)}`{_md(where)} | {verdict} "
            f"| `{result.digest[:19]}` | {_md('; '.join(problems))} |"
        )
    platforms = sorted({p for r in rows for p in r.platforms})
    if platforms:
        lines += ["", "### Platform coverage", ""]
        lines.append("| image | " + " | ".join(f"`{p}`" for p in platforms) + " |")
        lines.append("| --- |" + " :---: |" * len(platforms))
        for result in rows:
            if not result.platforms:
                continue
            cells = ["✅" if p in result.platforms else "—" for p in platforms]
            lines.append(f"| `{_md(result.reference)}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\n"
