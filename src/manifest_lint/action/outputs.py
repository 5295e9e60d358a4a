"""What the Action writes for the runner: masks, the report paths, and the step
outputs appended to ``$GITHUB_OUTPUT``."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TextIO

from manifest_lint.cli.exit_codes import ExitCode
from manifest_lint.errors import InputError
from manifest_lint.reporters.github import command_value


@dataclass(frozen=True)
class Reports:
    """Absolute paths of the three report files."""

    junit: str
    sarif: str
    json: str


def mask(values: list[str], out: TextIO) -> None:
    """``::add-mask::`` each non-empty value (and each line of a multi-line one)."""
    for value in values:
        for part in dict.fromkeys([value, *value.splitlines()]):
            if part.strip():
                # The exact secret: escaped for display, it would mask a different text.
                out.write(f"::add-mask::{command_value(part)}\n")
    out.flush()


def format_output(name: str, value: str, *, multiline: bool = False) -> str:
    """One ``$GITHUB_OUTPUT`` entry: ``name=value``, or the heredoc form
    (``name<<DELIMITER``) for a value that has or may have line breaks."""
    if not multiline and "\n" not in value and "\r" not in value:
        return f"{name}={value}\n"
    delimiter = f"ghadelimiter_{uuid.uuid4()}"
    while delimiter in value:  # pragma: no cover - a random UUID in the value
        delimiter = f"ghadelimiter_{uuid.uuid4()}"
    return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


@dataclass(frozen=True)
class Counts:
    passed: int = 0
    failed: int = 0
    errors: int = 0


def write_outputs(path: str, reports: Reports | None, outcome: str, counts: Counts) -> None:
    """Append the step outputs to ``$GITHUB_OUTPUT`` (``path``)."""
    text = ""
    for name in ("junit", "sarif", "json"):
        text += format_output(name, getattr(reports, name) if reports else "", multiline=True)
    text += format_output("outcome", outcome)
    text += format_output("passed", str(counts.passed))
    text += format_output("failed", str(counts.failed))
    text += format_output("errors", str(counts.errors))
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(text)


def read_counts(json_report: str) -> Counts:
    """The counts from a JSON report's summary; zeros if there is no readable report."""
    try:
        with open(json_report, encoding="utf-8") as handle:
            summary = json.load(handle)["summary"]
        return Counts(int(summary["pass"]), int(summary["blockingFailures"]), int(summary["error"]))
    except (OSError, ValueError, KeyError, TypeError):
        return Counts()


def outcome_of(code: int) -> str:
    if code == ExitCode.OK:
        return "pass"
    if code == ExitCode.POLICY_FAILED:
        return "fail"
    return "error"


_REPORT_NAMES: Final = {
    "junit": "manifest-lint.junit.xml",
    "sarif": "manifest-lint.sarif",
    "json": "manifest-lint.json",
}


def report_paths(env: Mapping[str, str], cwd: Path, work_dir: Path) -> Reports:
    """The report paths asked for (relative to ``cwd``), else files in ``work_dir``;
    their directories are created."""
    paths: dict[str, str] = {}
    for kind, default in _REPORT_NAMES.items():
        given = env.get(f"ML_{kind.upper()}", "").strip()
        path = (cwd / given) if given else (work_dir / default)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"{kind}: cannot create {path.parent}: {exc.strerror}") from None
        paths[kind] = str(path)
    return Reports(**paths)
