"""The example policy repository (examples/policy-repo) run through both
``manifest-lint test`` and pytest (the ``pytest11`` plugin, opt-in), and the plugin's
failures and collection errors."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from manifest_lint.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
REPO = ROOT / "examples" / "policy-repo"

FAILING = """\
apiVersion: manifest-lint.dev/v1
kind: PolicyTest
metadata: {name: failing}
spec:
  policies: [max-layers]
  params: {max-layers: {max: 3}}
  cases:
    - name: arm v7 has four
      image: oci:MULTIARCH:1.0
      expect: {"max-layers[linux/arm/v7]": pass}
    - name: amd64 has three
      image: oci:MULTIARCH:1.0
      expect: {"max-layers[linux/amd64]": pass}
"""


def _pytest(cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """pytest in a process of its own, the plugin loaded by its entry point when this
    environment has it installed, else by module name."""
    installed = entry_points(group="pytest11").select(name="manifest-lint")
    plugin = [] if installed else ["-p", "manifest_lint.pytest_plugin"]
    return subprocess.run(
        [sys.executable, "-m", "pytest", *plugin, "-p", "no:cacheprovider", "-q", *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_plugin_is_declared_under_pytest11() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    declared = project["project"]["entry-points"]["pytest11"]
    assert declared == {"manifest-lint": "manifest_lint.pytest_plugin"}


def test_the_example_repository_passes_with_every_policy_covered(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(REPO)
    code = main(["test", "--require-tests"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.endswith("3 cases in 1 file: 3 passed, 0 failed\n")
    assert "uncovered" not in out


def test_require_tests_names_a_policy_the_configuration_enables_without_tests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = (REPO / ".manifest-lint.yaml").read_text(encoding="utf-8")
    (tmp_path / ".manifest-lint.yaml").write_text(
        config.replace("no-latest: {enabled: false}", "no-latest: {enabled: true}"),
        encoding="utf-8",
    )
    (tmp_path / "policies").symlink_to(REPO / "policies")
    monkeypatch.chdir(tmp_path)
    code = main(["test", "--require-tests", str(REPO / "tests")])
    out = capsys.readouterr().out
    assert code == 1
    assert "uncovered: no-latest: no case expects fail\n" in out
    assert "uncovered: no-latest: no case expects pass\n" in out


def test_pytest_runs_the_example_repository_one_item_per_case() -> None:
    run = _pytest(REPO, "-vv")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "3 passed" in run.stdout
    assert "release.policytest.yaml::the release passes on amd64 and arm64 PASSED" in run.stdout


def test_pytest_fails_the_failing_case_with_expected_and_actual(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\nmanifest_lint_policytests = true\n")
    text = FAILING.replace("MULTIARCH", str(ROOT / "examples" / "multiarch"))
    (tmp_path / "f.policytest.yaml").write_text(text, encoding="utf-8")
    run = _pytest(tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "1 failed, 1 passed" in run.stdout
    assert "max-layers[linux/arm/v7]: expected pass, got fail: 4 layers, the maximum is 3" in (
        run.stdout
    )


def test_pytest_reports_a_malformed_file_as_a_collection_error(tmp_path: Path) -> None:
    text = FAILING.replace("MULTIARCH", str(ROOT / "examples" / "multiarch"))
    (tmp_path / "f.policytest.yaml").write_text(text.replace("arm/v7", "arm/v9"), encoding="utf-8")
    run = _pytest(tmp_path, "--manifest-lint-policytests")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "max-layers[linux/arm/v9] is not a result of this case" in run.stdout


def test_the_plugin_collects_nothing_unless_asked(tmp_path: Path) -> None:
    text = FAILING.replace("MULTIARCH", str(ROOT / "examples" / "multiarch"))
    (tmp_path / "f.policytest.yaml").write_text(text, encoding="utf-8")
    run = _pytest(tmp_path)
    assert run.returncode == 5, run.stdout + run.stderr  # no tests collected


def test_the_recorded_fixture_is_what_record_writes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """fixtures/release is committed; recording the example image again gives its bytes."""
    out = tmp_path / "release"
    code = main(["record", f"oci:{ROOT / 'examples' / 'multiarch'}:1.0", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    committed = REPO / "fixtures" / "release"

    def files(root: Path) -> dict[str, bytes]:
        return {
            str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
        }

    assert files(out) == files(committed)
