"""Command-line details that belong to no single feature."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from manifest_lint.cli import _blocked, main
from manifest_lint.errors import UsageError
from manifest_lint.reporters import RunInfo
from manifest_lint.reporters.github import GithubReporter
from manifest_lint.results import Finding, Outcome, ReferenceResult, Severity, Summary

ROOT = Path(__file__).resolve().parent.parent


def test_plugin_blocking_reads_options_only_before_a_double_dash() -> None:
    assert _blocked(["-p", "no:a", "-pno:b", "--", "-pfoo", "-p", "x"]) == ["a", "b"]
    with pytest.raises(UsageError, match="-p takes no:NAME to block a plugin, not 'foo'"):
        _blocked(["-pfoo"])


def test_help_and_version_return_instead_of_exiting(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("manifest-lint ")
    assert main(["scan", "--help"]) == 0
    assert "Find the image references in files" in capsys.readouterr().out


def _run_github(env: dict[str, str]) -> str:
    run = RunInfo(policies=(), fail_on=Severity.ERROR, version="0")
    out = io.StringIO()
    reporter = GithubReporter(out, run, env=env)
    result = ReferenceResult(
        "alpine:3", findings=(Finding("p", Outcome.FAIL, Severity.ERROR, "bad"),)
    )
    reporter.add(result)
    summary = Summary()
    summary.add(result, Severity.ERROR)
    reporter.finish(summary)
    return out.getvalue()


def test_github_summary_is_written_once_per_run_but_not_from_pre_commit_chunks(
    tmp_path: Path,
) -> None:
    target = tmp_path / "summary.md"
    assert _run_github({"GITHUB_STEP_SUMMARY": str(target)}).startswith("::error ")
    assert "| `alpine:3` | ❌ fail |" in target.read_text(encoding="utf-8")
    target.unlink()
    # Under pre-commit (which sets PRE_COMMIT=1): annotations yes, summary no.
    annotations = _run_github({"GITHUB_STEP_SUMMARY": str(target), "PRE_COMMIT": "1"})
    assert annotations.startswith("::error title=manifest-lint%3A p::alpine:3: bad")
    assert not target.exists()
