"""docs/scale.md's CI examples are the files these tests validate: the GitHub
workflow and the GitLab pipeline against check-jsonschema's vendored schemas (no
network), the Kubernetes Job for its shape; every manifest-lint command in them is
parsed by manifest-lint's own parsers, so a flag the docs use exists."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from manifest_lint.cli.merge import build_merge_parser
from manifest_lint.cli.parsers import build_lint_parser

DOC = Path(__file__).resolve().parents[1] / "docs" / "scale.md"


def _files() -> dict[str, str]:
    """The YAML blocks of docs/scale.md whose first line names a file."""
    found = {}
    for block in re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL):
        first, _, rest = block.partition("\n")
        if first.startswith("# ") and first.endswith((".yml", ".yaml")):
            found[first[2:]] = rest
    return found


FILES = _files()
CHECK = Path(sys.executable).with_name("check-jsonschema")


def test_the_docs_show_the_three_ci_files() -> None:
    assert set(FILES) == {
        ".github/workflows/registry-audit.yml",
        ".gitlab-ci.yml",
        "k8s/registry-audit-job.yaml",
    }


@pytest.mark.parametrize(
    ("name", "schema"),
    [
        (".github/workflows/registry-audit.yml", "vendor.github-workflows"),
        (".gitlab-ci.yml", "vendor.gitlab-ci"),
    ],
)
def test_the_ci_files_are_valid(name: str, schema: str, tmp_path: Path) -> None:
    path = tmp_path / Path(name).name
    path.write_text(FILES[name], encoding="utf-8")
    checked = subprocess.run(
        [str(CHECK), "--builtin-schema", schema, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def _commands(value: Any) -> list[str]:
    """Every ``manifest-lint ...`` command in the strings of a parsed YAML file."""
    if isinstance(value, dict):
        return [c for v in value.values() for c in _commands(v)]
    if isinstance(value, list):
        return [c for v in value for c in _commands(v)]
    if isinstance(value, str):
        # (A command starts a line or follows && or ;, and ends before || && ;.)
        return re.findall(r"(?:^|&&|;)\s*(manifest-lint\s+[^|&;]+)", value)
    return []


@pytest.mark.parametrize("name", sorted(FILES))
def test_every_manifest_lint_command_in_them_parses(name: str) -> None:
    commands = _commands(yaml.safe_load(FILES[name]))
    assert commands
    for command in commands:
        words = shlex.split(re.sub(r"\$\{\{[^}]*\}\}|\$[A-Z_]+", "1", command))[1:]
        if words[0] == "merge":
            build_merge_parser().parse_args(words[1:])
        else:
            args = build_lint_parser(["github", "json", "junit", "sarif", "text"]).parse_args(words)
            assert args.catalog or args.references


def test_the_kubernetes_job_is_an_indexed_job_of_as_many_shards() -> None:
    job = yaml.safe_load(FILES["k8s/registry-audit-job.yaml"])
    spec = job["spec"]
    assert (job["kind"], spec["completionMode"]) == ("Job", "Indexed")
    [container] = spec["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["MANIFEST_LINT_SHARDS"] == str(spec["completions"])
