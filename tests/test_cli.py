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


EXAMPLE = "oci:examples/multiarch:1.0"


def test_options_may_come_before_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``-q scan FILE`` scans FILE (not an image named scan), and ``--offline inspect REF``
    inspects REF; an option's value is never taken for the command."""
    monkeypatch.setenv("MANIFEST_LINT_DISABLE_PLUGIN_AUTOLOAD", "1")
    layout = ROOT / "examples" / "multiarch"
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(f"FROM oci:{layout}:1.0\n", encoding="utf-8")
    report = tmp_path / "report.json"
    assert main(["-q", "--json", str(report), "--offline", "scan", str(dockerfile)]) == 0
    results = json.loads(report.read_text(encoding="utf-8"))["results"]
    assert [(r["reference"], r["location"]["path"]) for r in results] == [
        (f"oci:{layout}:1.0", str(dockerfile))
    ]
    capsys.readouterr()
    assert main(["--offline", "--format", "json", "inspect", f"oci:{layout}:1.0"]) == 0
    assert json.loads(capsys.readouterr().out)["image"]["platforms"][0] == "linux/amd64"
    # Values that look like commands stay values: a refs file named "scan".
    monkeypatch.chdir(tmp_path)
    (tmp_path / "scan").write_text(f"oci:{layout}:1.0\n", encoding="utf-8")
    assert main(["--refs-file", "scan", "--format=json", "--offline"]) == 0
    assert json.loads(capsys.readouterr().out)["summary"]["references"] == 1
    assert main(["-pno:nothing", "plugins"]) == 0
    assert capsys.readouterr().out.startswith("builtin (manifest-lint ")
    assert main(["--select", "max-layers", "--format=json", "policies"]) == 0
    listed = json.loads(capsys.readouterr().out)["policies"]
    assert [p["name"] for p in listed if p["enabled"]] == ["max-layers"]


@pytest.mark.parametrize(
    "argv",
    [
        ["--offline", EXAMPLE, "scan"],
        ["--offline", "--", "inspect"],
        ["--offline", "--", "plugins"],
        ["--offline", "--", "policies"],
        ["--offline", EXAMPLE, "policies"],
    ],
)
def test_a_reference_spelled_like_a_command_is_a_usage_error(
    argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MANIFEST_LINT_DISABLE_PLUGIN_AUTOLOAD", "1")
    word = argv[-1]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"manifest-lint: error: {word!r} is a command, not an image reference here: write "
        f"'manifest-lint {word} ...' with the command first (options may come before it), "
        f"or docker.io/library/{word} to lint an image named {word}\n"
    )


def test_inspect_offline_reads_layouts_and_refuses_a_registry(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MANIFEST_LINT_DISABLE_PLUGIN_AUTOLOAD", "1")
    assert main(["inspect", "--offline", "127.0.0.1:9/never/read:1"]) == 2
    assert capsys.readouterr().err == (
        "manifest-lint: error: --offline: 127.0.0.1:9/never/read:1 is read from a registry, "
        "and --offline asks none (OCI layouts, oci:DIR and oci-archive:FILE, are read offline)\n"
    )


def test_inspect_of_a_platform_the_image_lacks_exits_3_naming_its_platforms(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MANIFEST_LINT_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.chdir(ROOT)
    assert main(["inspect", "--platform", "linux/mips", EXAMPLE]) == 3
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"manifest-lint: error: {EXAMPLE} has no platform linux/mips "
        "(platforms: linux/amd64, linux/arm/v7, linux/arm64)\n"
    )


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_report_files_honour_the_umask(
    umask: int, mode: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A root step that writes reports for a later non-root step: the files get the
    mode the umask gives (0644 under 022), and are still renamed into place."""
    monkeypatch.setenv("MANIFEST_LINT_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.chdir(ROOT)
    files = {name: tmp_path / f"report.{name}" for name in ("junit", "json", "sarif", "text")}
    files["junit"].write_text("an older report", encoding="utf-8")
    files["junit"].chmod(0o600)
    saved = os.umask(umask)
    try:
        code = main(
            [
                "--offline",
                "--junit",
                str(files["junit"]),
                "--json",
                str(files["json"]),
                "--sarif",
                str(files["sarif"]),
                "--output",
                f"text={files['text']}",
                EXAMPLE,
            ]
        )
    finally:
        os.umask(saved)
    assert code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in files.values())
    for path in files.values():
        assert path.stat().st_mode & 0o777 == mode, path
    assert files["junit"].read_text(encoding="utf-8").startswith("<?xml")


def test_quiet_scan_still_names_the_references_it_could_not_resolve(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MANIFEST_LINT_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.chdir(tmp_path)
    pinned = f"alpine:3.19@sha256:{'0' * 64}"
    lines = "".join(f"FROM ${{BASE{n}}}\n" for n in range(7))
    Path("Dockerfile").write_text(f"ARG BASE0\nFROM {pinned}\n{lines}", encoding="utf-8")
    assert main(["scan", "-q", "--offline", "Dockerfile"]) == 0
    out = capsys.readouterr().out
    skipped = [
        "Dockerfile:3:6 (`${BASE0}` has no default value)",
        *(
            f"Dockerfile:{n + 3}:6 (`${{BASE{n}}}` is not declared by an ARG before the first FROM)"
            for n in range(1, 5)
        ),
    ]
    blank, line, results, summary = out.splitlines()
    assert (blank, line) == (
        "",
        f"7 skipped, not checked: {'; '.join(skipped)}; and 2 more (all without -q)",
    )
    assert results.startswith("13 results: ")  # the pinned reference has 6, the 7 skips 1 each
    assert summary.startswith("8 references: ")


def test_ref_names_a_reference_that_is_never_a_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MANIFEST_LINT_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.chdir(tmp_path)
    Path("Dockerfile").write_text("FROM alpine:3.19\n", encoding="utf-8")
    assert main(["--offline", "--format=json", "--select=no-latest", "--ref", "scan"]) == 0
    [result] = json.loads(capsys.readouterr().out)["results"]
    assert (result["reference"], result["normalized"]) == ("scan", "docker.io/library/scan:latest")
    argv = ["scan", "--offline", "--format=json", "--select=no-latest", "--ref=inspect"]
    assert main([*argv, "Dockerfile"]) == 0
    results = json.loads(capsys.readouterr().out)["results"]
    assert [(r["reference"], r["location"]) for r in results] == [
        ("alpine:3.19", {"path": "Dockerfile", "line": 1, "column": 6}),
        ("inspect", None),
    ]


@pytest.mark.parametrize("argv", [["scan"], ["-q", "scan"], ["scan", "--offline"]])
def test_scan_with_nothing_to_scan_names_what_scan_wants(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        "manifest-lint: error: scan: no files given (FILE..., or --ref REF, --refs-file FILE)\n"
    )


_FRESH_POLICY = """\
apiVersion: manifest-lint.dev/v1
kind: Policy
metadata:
  name: fresh
spec:
  scope: platform
  validations:
    - expression: now - timestamp(platform.config.created) < duration('2160h')
      messageExpression: "'built ' + string(now - timestamp(platform.config.created)) + ' ago'"
"""


@pytest.mark.parametrize("command", [[], ["scan"]])
def test_now_sets_the_time_policies_see(tmp_path: Path, command: list[str]) -> None:
    """The example's configs were created 2024-01-02T03:04:05Z (within 90 days of
    2024-02-01, not of 2025-06-01)."""
    policy = tmp_path / "fresh.yaml"
    policy.write_text(_FRESH_POLICY, encoding="utf-8")
    target: list[str] = ["oci:examples/multiarch:1.0"]
    if command:
        listing = tmp_path / "Dockerfile"
        listing.write_text("FROM oci:examples/multiarch:1.0\n", encoding="utf-8")
        target = ["--ref", "oci:examples/multiarch:1.0"]
    base = [*command, "--policy", str(policy), "--select", "fresh", "--format", "json", *target]
    recent = _command(*base, "--now", "2024-02-01T00:00:00Z")
    assert recent.returncode == 0, recent.stderr
    old = _command(*base, "--now", "2025-06-01T02:00:00+02:00")
    assert old.returncode == 1, old.stderr
    messages = {f["message"] for r in json.loads(old.stdout)["results"] for f in r["findings"]}
    assert messages == {"built 44571355s ago"}  # 2025-06-01T00:00Z - 2024-01-02T03:04:05Z


@pytest.mark.parametrize("value", ["2025-06-01", "2025-06-01T00:00:00", "tomorrow"])
def test_now_must_be_rfc3339_with_an_offset(value: str) -> None:
    result = _command("--now", value, "oci:examples/multiarch:1.0")
    assert result.returncode == 2
    assert b"is not an RFC 3339 time with an offset" in result.stderr
    assert b"Traceback" not in result.stderr


def test_what_celpy_cannot_run_is_exit_2_naming_the_backend(tmp_path: Path) -> None:
    policy = tmp_path / "bind.yaml"
    policy.write_text(
        "apiVersion: manifest-lint.dev/v1\nkind: Policy\nmetadata:\n  name: bind\nspec:\n"
        "  validations:\n    - expression: >-\n"
        "        cel.bind(n, image.platforms.size(), n > 1)\n",
        encoding="utf-8",
    )
    argv = ["--policy", str(policy), "--select", "bind", "oci:examples/multiarch:1.0"]
    assert _command(*argv).returncode == 0  # cel-expr-python has cel.bind
    result = _command("--cel-backend", "celpy", *argv)
    assert result.returncode == 2
    assert f"{policy}:8:13: policy 'bind': CEL expression does not compile: ".encode() in (
        result.stderr
    )
    assert b"cel.bind() is not supported by the celpy backend (cel-python 0.5.0)" in result.stderr
