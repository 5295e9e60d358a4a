"""Releases (docs/releasing.md): the workflows, and one version everywhere.

The workflows cannot run here (no GitHub); they are checked by check-jsonschema's
vendored schema of GitHub workflows (run offline), and for what a release relies on:
the tag is the version, both platforms are built, the image is attested and linted,
PyPI is reached by trusted publishing (no token), no expression is pasted into a
script. The version of ``src/manifest_lint/__init__.py`` (which the wheel takes, and
the image's tag and labels: tests/test_image.py) must be the one CHANGELOG.md, the
docs' pins and the image examples name.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import manifest_lint

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
VERSION = manifest_lint.__version__


def _load(name: str) -> dict[str, Any]:
    document = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def _steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def _validate(path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}
    command = [sys.executable, "-m", "check_jsonschema", "--builtin-schema"]
    command += ["vendor.github-workflows", str(path)]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.parametrize("name", ["ci.yml", "release.yml"])
def test_the_workflows_are_valid_github_workflows(name: str, tmp_path: Path) -> None:
    done = _validate(WORKFLOWS / name)
    assert done.returncode == 0, done.stdout + done.stderr
    # The validator is not vacuous: a job without runs-on is refused.
    broken = _load(name)
    del next(iter(broken["jobs"].values()))["runs-on"]
    path = tmp_path / name
    path.write_text(yaml.safe_dump(broken), encoding="utf-8")
    assert _validate(path).returncode == 1


@pytest.mark.parametrize("name", ["ci.yml", "release.yml"])
def test_no_expression_is_pasted_into_a_script(name: str) -> None:
    """Values reach scripts through env:, never as text of the script."""
    for step in _steps(_load(name)):
        assert "${{" not in step.get("run", ""), step


def test_ci_runs_the_projects_gate() -> None:
    runs = [step.get("run", "") for step in _steps(_load("ci.yml"))]
    assert any(run.endswith("bash .ci/run") for run in runs), runs
    python = next(
        s for s in _steps(_load("ci.yml")) if s.get("uses", "").startswith("actions/setup-python")
    )
    versions = python["with"]["python-version"].split()
    assert sorted(versions) == ["3.11", "3.12", "3.13"]
    assert versions[-1] == "3.11"  # python3, which .ci/run's first venv uses


def test_a_release_is_a_version_tag_and_the_tag_is_the_version() -> None:
    release = _load("release.yml")
    assert release[True] == {"push": {"tags": ["v[0-9]+.[0-9]+.[0-9]+"]}}  # `on:` is True
    check = next(s for s in _steps(release) if s.get("id") == "version")
    assert check["env"]["TAG"] == "${{ github.ref_name }}"
    assert 'if [ "v$version" != "$TAG" ]' in check["run"]
    assert "twine check --strict" in "".join(s.get("run", "") for s in _steps(release))


def test_the_image_is_built_for_both_platforms_attested_and_linted() -> None:
    release = _load("release.yml")
    matrix = release["jobs"]["image"]["strategy"]["matrix"]["include"]
    assert {(m["runner"], m["arch"]) for m in matrix} == {
        ("ubuntu-24.04", "amd64"),
        ("ubuntu-24.04-arm", "arm64"),
    }
    build = "".join(s.get("run", "") for s in release["jobs"]["image"]["steps"])
    assert "scripts/build-image" in build
    publish = release["jobs"]["publish-image"]
    uses = [s.get("uses", "") for s in publish["steps"]]
    assert "actions/attest-build-provenance@v2" in uses
    assert "actions/attest-sbom@v2" in uses
    for step in publish["steps"]:
        if step.get("uses", "").startswith("actions/attest-"):
            assert step["with"]["push-to-registry"] is True
    assert publish["permissions"]["id-token"] == "write"
    assert publish["permissions"]["attestations"] == "write"
    lint = "".join(s.get("run", "") for s in publish["steps"])
    assert "--config image/.manifest-lint.yaml" in lint
    assert "required-platforms.platforms=[linux/amd64, linux/arm64]" in lint


def test_pypi_is_reached_by_trusted_publishing() -> None:
    job = _load("release.yml")["jobs"]["pypi"]
    assert job["permissions"] == {"id-token": "write"}
    assert job["environment"]["name"] == "pypi"
    (publish,) = [s for s in job["steps"] if "pypi-publish" in s.get("uses", "")]
    assert publish["uses"] == "pypa/gh-action-pypi-publish@release/v1"
    assert "with" not in publish  # no user, no password: the OIDC token is the credential
    assert "needs" in job
    assert "publish-image" in job["needs"]


def test_the_actions_major_tag_moves_after_the_release() -> None:
    job = _load("release.yml")["jobs"]["github-release"]
    script = "".join(s.get("run", "") for s in job["steps"])
    assert 'major="v${VERSION%%.*}"' in script
    assert 'git push --force origin "refs/tags/$major"' in script
    assert job["permissions"] == {"contents": "write"}


# ------------------------------------------------------------------- one version


def _pins() -> list[tuple[str, str]]:
    """Every version the docs pin: the Action, pre-commit, tarballs, the image."""
    pattern = re.compile(
        r"(?:manifest-lint/manifest-lint@v|rev: v|archive/refs/tags/v"
        r"|ghcr\.io/manifest-lint/manifest-lint:|tagged )(\d+\.\d+\.\d+)"
    )
    found = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for match in pattern.finditer(path.read_text(encoding="utf-8")):
            found.append((path.name, match.group(1)))
    return found


def test_the_version_is_one_everywhere() -> None:
    pins = _pins()
    files = {name for name, _ in pins}
    assert {"ci.md", "install.md"} <= files, files
    assert all(version == VERSION for _, version in pins), [p for p in pins if p[1] != VERSION]
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert re.search(rf"^## \[?{re.escape(VERSION)}\]?( |$)", changelog, re.MULTILINE), (
        f"CHANGELOG.md has no section for {VERSION}"
    )
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'dynamic = ["version"]' in pyproject
    assert 'path = "src/manifest_lint/__init__.py"' in pyproject
    build_image = (ROOT / "scripts" / "build-image").read_text(encoding="utf-8")
    assert "src/manifest_lint/__init__.py" in build_image  # the image's tag and labels


def test_a_pin_of_another_version_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check above is not vacuous: a stale pin is caught."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "README.md").write_text("uses: manifest-lint/manifest-lint@v9.9.9\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert _pins() == [("README.md", "9.9.9")]
