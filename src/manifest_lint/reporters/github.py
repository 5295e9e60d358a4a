"""GitHub Actions: workflow-command annotations on stdout, and a job summary.

Annotations (``::error file=...,line=...,col=...,title=...::message``) are written
for every failure and error; a reference read from a file is annotated at its
line. The job summary (Markdown, appended to ``$GITHUB_STEP_SUMMARY`` when set)
has the results per image and a platform coverage matrix (images x platforms).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import TextIO

from manifest_lint.reporters import RunInfo
from manifest_lint.reporters.escape import escape
from manifest_lint.results import Finding, Outcome, ReferenceResult, Severity, Summary


def command_value(text: str) -> str:
    """``text`` in a workflow command exactly as the runner will read it back: only
    ``%``, CR and LF are encoded (``::add-mask::`` needs the exact secret)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_data(text: str) -> str:
    """A workflow command's message for people: escaped (reporters/escape.py), line
    breaks kept as GitHub encodes them."""
    return command_value(escape(text, newlines=True))


def escape_property(text: str) -> str:
    return command_value(escape(text)).replace(":", "%3A").replace(",", "%2C")


#: The ASCII punctuation that can start Markdown or HTML in a table cell (emphasis, code,
#: links and images, HTML, entities such as ``&#x202E;`` that decode to a character,
#: the cell's ``|``). CommonMark reads a backslash before any of them as the character
#: itself, so the text stays text.
_MD_SPECIAL = re.compile(r"[\\`*_\[\]<>&|!~]")


def _md(text: str) -> str:
    """Text shown as itself in a Markdown table cell."""
    return _MD_SPECIAL.sub(lambda m: "\\" + m.group(), escape(text))


def _md_code(text: str) -> str:
    """Text as a code span in a table cell: a fence longer than any run of backticks in
    it (CommonMark), and ``|`` escaped, which GitHub's tables read even in code."""
    text = escape(text).replace("|", "\\|")
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


class GithubReporter:
    def __init__(self, stream: TextIO, run: RunInfo, env: Mapping[str, str] | None = None):
        self.stream = stream
        self.run = run
        self.env = os.environ if env is None else env
        self.rows: list[ReferenceResult] = []

    def command(self, finding: Finding) -> str:
        if finding.outcome is Outcome.ERROR:
            return "error"
        if finding.outcome is Outcome.WAIVED:
            return "notice"
        if finding.severity >= self.run.fail_on:
            return "error"
        return "warning" if finding.severity is Severity.WARNING else "notice"

    def add(self, result: ReferenceResult) -> None:
        self.rows.append(result)
        for finding in result.findings:
            if finding.outcome not in (Outcome.FAIL, Outcome.ERROR, Outcome.WAIVED):
                continue
            title = f"manifest-lint: {finding.name}"
            if finding.outcome is Outcome.ERROR:
                title += " (not evaluated)"
            if finding.waiver is not None:
                title += f" (waived until {finding.waiver.expires_text})"
            props = [f"title={escape_property(title)}"]
            if result.location is not None:
                loc = result.location
                props.insert(0, f"file={escape_property(loc.path)}")
                if loc.line:
                    props.insert(1, f"line={loc.line}")
                    if loc.column:
                        props.insert(2, f"col={loc.column}")
            message = f"{result.reference}: {finding.message or finding.outcome}"
            if finding.waiver is not None:
                message += f" (waived: {finding.waiver.reason})"
            # Everything here comes from a user or a registry: escaped for people.
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


_ICONS = {
    Outcome.PASS: "✅ pass",
    Outcome.FAIL: "❌ fail",
    Outcome.ERROR: "⚠️ error",
    Outcome.SKIP: "⏭️ skip",
    Outcome.WAIVED: "☑️ waived",
}


def job_summary(rows: list[ReferenceResult], summary: Summary, run: RunInfo) -> str:
    lines = ["## manifest-lint", "", *(f"{line}  " for line in summary.lines()), ""]
    lines += ["| image | result | digest | failed or not evaluated |", "| --- | --- | --- | --- |"]
    for result in rows:
        problems = [
            f"{f.name}: {f.message}"
            for f in result.findings
            if f.outcome is Outcome.ERROR
            or (f.outcome is Outcome.FAIL and f.severity >= run.fail_on)
        ]
        verdict = _ICONS[result.outcome(run.fail_on)]
        below = result.below(run.fail_on)
        if below:
            verdict += f" ({below} below --fail-on)"
        where = ""
        if result.location is not None:
            loc = result.location
            where = f" ({loc.path}:{loc.line})" if loc.line else f" ({loc.path})"
        digest = _md_code(result.digest[:19]) if result.digest else ""
        lines.append(
            f"| {_md_code(result.reference)}{_md(where)} | {verdict} "
            f"| {digest} | {_md('; '.join(problems))} |"
        )
    platforms = sorted({p for r in rows for p in r.platforms})
    if platforms:
        lines += ["", "### Platform coverage", ""]
        lines.append("| image | " + " | ".join(_md_code(p) for p in platforms) + " |")
        lines.append("| --- |" + " :---: |" * len(platforms))
        for result in rows:
            if not result.platforms:
                continue
            cells = ["✅" if p in result.platforms else "—" for p in platforms]
            lines.append(f"| {_md_code(result.reference)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\n"
