"""Driving ``manifest_lint.cli.main.main`` in-process, as the acceptance tests do.

One way to run the command line in tests: :func:`run` for what it printed, and
:func:`run_with_report` for that plus the JSON report (and the JUnit file when asked).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from manifest_lint.cli.main import main


@dataclass(frozen=True)
class Run:
    """One run of the command line: exit code, what it printed, and its reports."""

    code: int
    out: str
    err: str
    #: The ``--json`` report (:func:`run_with_report`), else empty.
    report: dict[str, Any] = field(default_factory=dict)
    #: The ``--junit`` file, when :func:`run_with_report` asked for one.
    junit_file: Path | None = None
    #: Wall time of ``main()``.
    seconds: float = 0.0

    @property
    def junit(self) -> Path:
        """The ``--junit`` file (``run_with_report(..., junit=True)``)."""
        assert self.junit_file is not None, "this run wrote no JUnit file"
        return self.junit_file

    @property
    def results(self) -> list[dict[str, Any]]:
        """The JSON report's results, one per reference."""
        return list(self.report["results"])

    @property
    def messages(self) -> list[str]:
        """Every finding's message, in report order."""
        return [f["message"] for r in self.results for f in r["findings"]]

    def fetch_error(self) -> str:
        """The message of the one fetch error of the one reference."""
        [result] = self.results
        assert result["outcome"] == "error"
        [finding] = result["findings"]
        assert (finding["policy"], finding["outcome"]) == ("fetch", "error")
        return str(finding["message"])


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> Run:
    """``main(argv)`` with what it printed."""
    started = time.monotonic()
    code = main(list(argv))
    seconds = time.monotonic() - started
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err, seconds=seconds)


def run_with_report(
    capsys: pytest.CaptureFixture[str], directory: Path, *argv: str, junit: bool = False
) -> Run:
    """``main(argv)`` with ``--json`` (and ``--junit``) into ``directory`` (created), read
    back; a traceback on standard error fails the test."""
    directory.mkdir(parents=True, exist_ok=True)
    report = directory / "report.json"
    junit_file = directory / "report.xml" if junit else None
    extra = ["--junit", str(junit_file)] if junit_file else []
    ran = run(capsys, *argv, "--json", str(report), *extra)
    assert "Traceback" not in ran.err
    return Run(
        ran.code,
        ran.out,
        ran.err,
        json.loads(report.read_text(encoding="utf-8")),
        junit_file,
        ran.seconds,
    )


def inspect_json(capsys: pytest.CaptureFixture[str], ref: str, *extra: str) -> dict[str, Any]:
    """``manifest-lint inspect --format json REF``, which must succeed silently."""
    result = run(capsys, "inspect", "--format", "json", *extra, ref)
    assert result.code == 0, result.err
    assert result.err == ""
    document: dict[str, Any] = json.loads(result.out)
    return document
