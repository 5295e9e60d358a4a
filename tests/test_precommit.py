"""The hooks of ``.pre-commit-hooks.yaml``, run by the real ``pre-commit``.

What is tested is this working tree as it is, committed or not: ``pre-commit
try-repo PATH`` of a repository with uncommitted changes commits a shadow copy
of the *tracked* files it changed (``git add -u``), so files not yet added to
git (a new ``.pre-commit-hooks.yaml``, a new module) would be missing. The
``hook_repo`` fixture therefore snapshots every file git would not ignore
(``git ls-files --cached --others --exclude-standard``) into a new repository
with one commit, once per session, and the hooks are taken from there.

``try-repo`` installs the hook environment into a store of its own every time;
the other tests use a ``.pre-commit-config.yaml`` naming the snapshot, with one
``PRE_COMMIT_HOME`` for the session, so that environment (manifest-lint and its
dependencies, from PyPI) is installed once.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.helpers.images import (
    ANNOTATIONS,
    build_index,
    build_manifest,
    push,
)
from tests.helpers.registry_server import RegistryServer

ROOT = Path(__file__).resolve().parents[1]
HOOK_IDS = ["manifest-lint", "manifest-lint-online", "manifest-lint-policies"]
DIGEST = "sha256:" + "0123456789abcdef" * 4
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "manifest-lint tests",
    "GIT_AUTHOR_EMAIL": "tests@example.invalid",
    "GIT_COMMITTER_NAME": "manifest-lint tests",
    "GIT_COMMITTER_EMAIL": "tests@example.invalid",
}


def git(*args: str, cwd: Path) -> str:
    done = subprocess.run(
        ["git", "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_IDENTITY},
        check=True,
        timeout=120,
    )
    return done.stdout


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This working tree (untracked files included, ignored ones not), committed once."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    snapshot = tmp_path_factory.mktemp("hook-repo")
    listed = git("ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT)
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if not source.is_file():  # deleted in the working tree, or a submodule
            continue
        target = snapshot / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    git("init", "-q", cwd=snapshot)
    git("add", "-A", cwd=snapshot)
    git("commit", "-q", "-m", "snapshot of the working tree", cwd=snapshot)
    return snapshot


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One store for the session: the hook environment is installed once."""
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty git repository to run the hooks in."""
    directory = tmp_path / "project"
    directory.mkdir()
    git("init", "-q", cwd=directory)
    return directory


@dataclass(frozen=True)
class Result:
    code: int
    output: str


def pre_commit(*args: str, cwd: Path, home: Path) -> Result:
    env = {
        k: v
        for k, v in os.environ.items()
        # Not on GitHub Actions here: no annotations or job summary from the hook.
        if not k.startswith(("GITHUB_", "PRE_COMMIT", "VIRTUAL_ENV"))
    }
    env.update(GIT_IDENTITY, PRE_COMMIT_HOME=str(home), PRE_COMMIT_COLOR="never")
    done = subprocess.run(
        [sys.executable, "-m", "pre_commit", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    return Result(done.returncode, done.stdout + done.stderr)


def write_config(project: Path, hook_repo: Path, *hook_ids: str) -> None:
    rev = git("rev-parse", "HEAD", cwd=hook_repo).strip()
    config = {
        "repos": [{"repo": str(hook_repo), "rev": rev, "hooks": [{"id": h} for h in hook_ids]}]
    }
    (project / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")


def run_hooks(project: Path, home: Path, *files: str) -> Result:
    return pre_commit("run", "--files", *files, cwd=project, home=home)


# --------------------------------------------------------------------------- the manifest


def test_the_hooks_manifest_is_valid(pre_commit_home: Path) -> None:
    result = pre_commit(
        "validate-manifest", str(ROOT / ".pre-commit-hooks.yaml"), cwd=ROOT, home=pre_commit_home
    )
    assert result.code == 0, result.output
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert [hook["id"] for hook in hooks] == HOOK_IDS
    assert "--offline" in hooks[0]["entry"].split()
    assert "--offline" not in hooks[1]["entry"].split()
    assert hooks[2]["entry"] == "manifest-lint policies check"


POLICY = """\
apiVersion: manifest-lint.dev/v1
kind: Policy
metadata: {name: no-root}
spec:
  scope: platform
  validations:
    - expression: platform.config.user != ""
"""


def test_the_policies_hook_checks_policy_files(
    project: Path, hook_repo: Path, pre_commit_home: Path
) -> None:
    write_config(project, hook_repo, "manifest-lint-policies")
    (project / "policies").mkdir()
    (project / "policies" / "no-root.yaml").write_text(POLICY, encoding="utf-8")
    (project / "compose.yaml").write_text("services: {}\n", encoding="utf-8")  # not a policy
    passed = run_hooks(project, pre_commit_home, "policies/no-root.yaml", "compose.yaml")
    assert passed.code == 0, passed.output
    assert "manifest-lint policies check" in passed.output
    (project / "policies" / "no-root.yaml").write_text(
        POLICY.replace("platform.config", "platfrom.config"), encoding="utf-8"
    )
    failed = run_hooks(project, pre_commit_home, "policies/no-root.yaml", "compose.yaml")
    assert failed.code == 1, failed.output
    # (The column is where the CEL backend puts the error.)
    assert re.search(
        r"manifest-lint: error: policies/no-root\.yaml:7:\d+: policy 'no-root'", failed.output
    )


# --------------------------------------------------------------------------- try-repo


def test_try_repo_fails_on_an_unpinned_from(project: Path, hook_repo: Path, tmp_path: Path) -> None:
    (project / "Dockerfile").write_text("FROM alpine:3.19\nRUN true\n", encoding="utf-8")
    result = pre_commit(
        "try-repo",
        str(hook_repo),
        "manifest-lint",
        "--files",
        "Dockerfile",
        cwd=project,
        home=tmp_path / "try-repo-home",
    )
    assert result.code == 1, result.output
    assert "manifest-lint (offline)" in result.output
    assert "Failed" in result.output
    assert "Dockerfile:1" in result.output
    assert "pinned-digest" in result.output
    assert "docker.io/library/alpine:3.19@sha256:<digest>" in result.output


# --------------------------------------------------------------------------- the offline hook


@pytest.fixture
def offline(project: Path, hook_repo: Path) -> Path:
    write_config(project, hook_repo, "manifest-lint")
    return project


def test_an_unpinned_from_fails_and_passes_once_pinned(
    offline: Path, pre_commit_home: Path
) -> None:
    dockerfile = offline / "Dockerfile"
    dockerfile.write_text("FROM alpine:3.19\nRUN true\n", encoding="utf-8")
    failed = run_hooks(offline, pre_commit_home, "Dockerfile")
    assert failed.code == 1, failed.output
    assert "Dockerfile:1" in failed.output
    assert "pinned-digest" in failed.output
    # Offline, the digest is not looked up: any well-formed one pins the reference.
    dockerfile.write_text(f"FROM alpine:3.19@{DIGEST}\nRUN true\n", encoding="utf-8")
    passed = run_hooks(offline, pre_commit_home, "Dockerfile")
    assert passed.code == 0, passed.output
    assert "manifest-lint (offline)" in passed.output
    assert "Passed" in passed.output


def test_the_hook_names_the_references_it_skipped_for_a_build_argument(
    offline: Path, pre_commit_home: Path
) -> None:
    """The hook runs with --quiet, which leaves passes and skips out; the references
    it could not check (a build argument with no default) still get one line."""
    (offline / "Dockerfile").write_text(
        "ARG BASE\nFROM $BASE AS build\nFROM alpine:3.19\nCOPY --from=build / /\n",
        encoding="utf-8",
    )
    failed = run_hooks(offline, pre_commit_home, "Dockerfile")
    assert failed.code == 1, failed.output
    assert "Dockerfile:3:6: alpine:3.19" in failed.output
    assert (
        "1 skipped, not checked: Dockerfile:2:6 (`${BASE}` has no default value)\n" in failed.output
    )


def test_clean_files_and_yaml_that_is_not_a_manifest_pass(
    offline: Path, pre_commit_home: Path
) -> None:
    (offline / "Containerfile").write_text(
        f"ARG BASE=registry.example.com/base:1.2@{DIGEST}\n"
        "FROM ${BASE} AS build\nRUN make\n"
        "FROM scratch\nCOPY --from=build /app /app\n",
        encoding="utf-8",
    )
    (offline / "settings.yaml").write_text(
        "name: not a manifest\nimage: this key is not a Kubernetes or compose image\n"
        "items: [1, 2, 3]\n",
        encoding="utf-8",
    )
    result = run_hooks(offline, pre_commit_home, "Containerfile", "settings.yaml")
    assert result.code == 0, result.output
    assert "Passed" in result.output


def test_a_kubernetes_manifest_is_checked_at_its_line(offline: Path, pre_commit_home: Path) -> None:
    (offline / "deploy").mkdir()
    (offline / "deploy" / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n"
        "    - name: web\n      image: registry.example.com/team/web:latest\n",
        encoding="utf-8",
    )
    result = run_hooks(offline, pre_commit_home, "deploy/pod.yaml")
    assert result.code == 1, result.output
    assert "deploy/pod.yaml:8" in result.output
    assert "no-latest" in result.output


def test_a_flow_style_manifest_and_an_install_yaml_over_1_mib_are_checked(
    offline: Path, pre_commit_home: Path
) -> None:
    """KYAML (flow style) documents and release manifests of several MB passed the hook
    unread: 0 references, or 'file is ... above the 1048576-byte limit'."""
    (offline / "pod.yaml").write_text(
        '{ apiVersion: "v1", kind: Pod, metadata: { name: web },\n'
        '  spec: { containers: [ { name: web, image: "registry.example.com/web:latest" } ] } }\n',
        encoding="utf-8",
    )
    filler = "---\napiVersion: v1\nkind: ConfigMap\ndata: {k: '" + "x" * 1000 + "'}\n"
    (offline / "install.yaml").write_text(
        filler * 1500
        + "---\napiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n"
        + "      containers: [{name: m, image: 'ghcr.io/acme/operator:latest'}]\n",
        encoding="utf-8",
    )
    result = run_hooks(offline, pre_commit_home, "pod.yaml", "install.yaml")
    assert result.code == 1, result.output
    assert "pod.yaml:2:46: registry.example.com/web:latest" in result.output
    assert "install.yaml:6007:38: ghcr.io/acme/operator:latest" in result.output
    assert "no-latest" in result.output


def test_helm_templates_and_other_files_are_not_passed_to_the_hook(
    offline: Path, pre_commit_home: Path
) -> None:
    (offline / "chart" / "templates").mkdir(parents=True)
    (offline / "chart" / "templates" / "deploy.yaml").write_text(
        "image: {{ .Values.image }}:latest\n", encoding="utf-8"
    )
    (offline / "notes.txt").write_text("FROM alpine\n", encoding="utf-8")
    result = run_hooks(offline, pre_commit_home, "chart/templates/deploy.yaml", "notes.txt")
    assert result.code == 0, result.output
    assert "(no files to check)Skipped" in result.output


# --------------------------------------------------------------------------- the online hook


@pytest.mark.registry
def test_the_online_hook_resolves_against_the_registry(
    project: Path, hook_repo: Path, pre_commit_home: Path, registry: RegistryServer
) -> None:
    both = build_index(
        [build_manifest(p, layers=1, seed="hook-both") for p in ("linux/amd64", "linux/arm64")],
        annotations=ANNOTATIONS,
    )
    amd64_only = build_index(
        [build_manifest("linux/amd64", layers=1, seed="hook-amd64")], annotations=ANNOTATIONS
    )
    good = push(registry.url, "hooks/both", both, "1.0")
    bad = push(registry.url, "hooks/amd64", amd64_only, "1.0")
    write_config(project, hook_repo, "manifest-lint-online")
    dockerfile = project / "Dockerfile"
    dockerfile.write_text(f"FROM {good.digest_reference}\n", encoding="utf-8")
    passed = run_hooks(project, pre_commit_home, "Dockerfile")
    assert passed.code == 0, passed.output
    assert "manifest-lint (resolves references against registries)" in passed.output
    dockerfile.write_text(f"FROM {bad.digest_reference}\n", encoding="utf-8")
    failed = run_hooks(project, pre_commit_home, "Dockerfile")
    assert failed.code == 1, failed.output
    assert "required-platforms" in failed.output
    assert "missing platforms: linux/arm64" in failed.output


def test_the_configuration_in_docs_ci_is_valid(tmp_path: Path, pre_commit_home: Path) -> None:
    text = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", text, flags=re.DOTALL) if "repos:" in b]
    assert len(blocks) == 1
    config = tmp_path / ".pre-commit-config.yaml"
    config.write_text(blocks[0], encoding="utf-8")
    result = pre_commit("validate-config", str(config), cwd=tmp_path, home=pre_commit_home)
    assert result.code == 0, result.output
    assert "Unexpected key" not in result.output
    document = yaml.safe_load(blocks[0])
    assert [h["id"] for h in document["repos"][0]["hooks"]] == HOOK_IDS
    assert document["ci"]["skip"] == ["manifest-lint-online"]
