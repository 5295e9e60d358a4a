"""Command-line details that belong to no single feature."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from manifest_lint.cli.main import main
from manifest_lint.cli.parsers import blocked_plugins
from manifest_lint.errors import UsageError
from manifest_lint.reporters import RunInfo
from manifest_lint.reporters.github import GithubReporter
from manifest_lint.results import Finding, Outcome, ReferenceResult, Severity, Summary

ROOT = Path(__file__).resolve().parent.parent


def test_plugin_blocking_reads_options_only_before_a_double_dash() -> None:
    assert blocked_plugins(["-p", "no:a", "-pno:b", "--", "-pfoo", "-p", "x"]) == ["a", "b"]
    with pytest.raises(UsageError, match="-p takes no:NAME to block a plugin, not 'foo'"):
        blocked_plugins(["-pfoo"])


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


def _command(*argv: str) -> subprocess.CompletedProcess[bytes]:
    """The installed command's code path (``console_main``), in a process of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MANIFEST_LINT_")}
    env["MANIFEST_LINT_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "manifest_lint", *argv],
        capture_output=True,
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
        timeout=120,
        check=False,
    )


def test_the_command_ends_with_every_byte_written_and_its_exit_code(tmp_path: Path) -> None:
    """console_main ends the process without tearing the interpreter down: what was
    written must still arrive whole, and the exit code must be main()'s."""
    refs = tmp_path / "refs.txt"
    # 300 different references (one given twice is read and reported once), one image.
    refs.write_text("".join(f"oci:{'./' * i}examples/multiarch:1.0\n" for i in range(300)))
    done = _command("--format", "json", "--refs-file", str(refs), "--no-cache")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)  # whole: every line of a large report flushed
    assert report["summary"]["references"] == 300
    text = _command("--refs-file", str(refs), "--no-cache")
    assert text.returncode == 0
    assert text.stdout.decode().rstrip().splitlines()[-1].startswith("300 references:")
    usage = _command("--fail-on", "nonsense", "oci:examples/multiarch:1.0")
    assert usage.returncode == 2
    assert b"--fail-on" in usage.stderr
    missing = _command("--format", "json", "oci:examples/multiarch:latest")  # no such tag
    assert missing.returncode == 3, missing.stderr
    assert json.loads(missing.stdout)["summary"]["error"] == 1

    layout = tmp_path / "layout"
    shutil.copytree(ROOT / "examples" / "multiarch", layout)
    index = json.loads((layout / "index.json").read_text())
    latest = {
        **index["manifests"][0],
        "annotations": {"org.opencontainers.image.ref.name": "latest"},
    }
    index["manifests"].append(latest)
    (layout / "index.json").write_text(json.dumps(index))
    latest_ref = f"oci:{layout}:latest"
    warned = _command("--format", "json", "--select", "no-latest", latest_ref)
    assert warned.returncode == 0, warned.stderr  # a warning, below --fail-on error
    assert json.loads(warned.stdout)["summary"]["belowFailOn"] == 1
    failing = _command(
        "--format", "json", "--select", "no-latest", "--fail-on", "warning", latest_ref
    )
    assert failing.returncode == 1, failing.stderr
    assert json.loads(failing.stdout)["summary"]["blockingFailures"] == 1


def test_a_report_file_that_cannot_be_opened_leaves_no_other_behind(tmp_path: Path) -> None:
    """The second report cannot be written: usage error, and the first report's
    temporary file is removed, not left beside where the report would go."""
    code = main(
        [
            "--junit",
            str(tmp_path / "junit.xml"),
            "--json",
            str(tmp_path / "missing" / "report.json"),
            "oci:examples/multiarch:1.0",
        ]
    )
    assert code == 2
    assert list(tmp_path.iterdir()) == []
