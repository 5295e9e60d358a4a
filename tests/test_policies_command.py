"""``manifest-lint policies`` (what a run would know, as configured) and ``manifest-lint
policies check FILE...`` (policy files loaded and compiled, nothing linted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from manifest_lint.cli.main import main
from manifest_lint.cli.policies import source
from manifest_lint.policy.files import parse_policies

ROOT = Path(__file__).resolve().parent.parent
BUILTINS = [
    "allowed-registries",
    "max-layers",
    "no-latest",
    "pinned-digest",
    "require-provenance",
    "require-sbom",
    "require-signature",
    "required-annotations",
    "required-platforms",
]
#: The built-ins that run unless the configuration says otherwise (spec.enabled).
OFF_BY_DEFAULT = ("require-provenance", "require-sbom", "require-signature")

MINE = """\
apiVersion: manifest-lint.dev/v1
kind: Policy
metadata: {name: mine, description: Mine.}
spec:
  severity: info
  params: {limit: 2}
  validations:
    - expression: platform.layerCount <= params.limit
---
apiVersion: manifest-lint.dev/v1
kind: Policy
metadata: {name: other}
spec:
  validations:
    - expression: "true"
"""


@pytest.fixture(autouse=True)
def _no_plugins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MANIFEST_LINT_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.chdir(tmp_path)  # no .manifest-lint.yaml found above


def listed(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, dict[str, object]]:
    assert main(["policies", "--format", "json", *argv]) == 0
    return {p["name"]: p for p in json.loads(capsys.readouterr().out)["policies"]}


def test_the_built_in_policies_as_they_are(capsys: pytest.CaptureFixture[str]) -> None:
    policies = listed(capsys)
    assert list(policies) == BUILTINS
    assert policies["max-layers"] == {
        "name": "max-layers",
        "source": "built-in",
        "severity": "error",
        "scope": "platform",
        "enabled": True,
        "description": "Each platform manifest has at most params.max layers "
        "(foreign layers included).",
        "params": {"max": {"default": 40, "effective": 40}},
        "paramsSchema": {
            "type": "object",
            "properties": {"max": {"type": "integer"}},
            "additionalProperties": False,
        },
    }


def test_the_configuration_and_flags_are_applied(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "mine.yaml").write_text(MINE)
    config = tmp_path / "c.yaml"
    config.write_text(
        "policy-paths: [mine.yaml]\n"
        "policies:\n"
        "  max-layers: {severity: warning, params: {max: 20}}\n"
        "  pinned-digest: {enabled: false}\n"
    )
    policies = listed(capsys, "--config", str(config), "--param", "mine.limit=5")
    assert list(policies) == [*BUILTINS, "mine", "other"]
    assert policies["max-layers"]["severity"] == "warning"
    assert policies["max-layers"]["params"] == {"max": {"default": 40, "effective": 20}}
    assert policies["pinned-digest"]["enabled"] is False
    assert policies["mine"]["source"] == f"{tmp_path / 'mine.yaml'}:1"
    assert policies["other"]["source"] == f"{tmp_path / 'mine.yaml'}:10"
    assert policies["mine"]["params"] == {"limit": {"default": 2, "effective": 5}}
    # --select: only those run; the others are listed, disabled.
    policies = listed(capsys, "--select", "no-latest,mine", "--policy", "mine.yaml")
    assert [n for n, p in policies.items() if p["enabled"]] == ["no-latest", "mine"]
    # Options before the command, as for every command.
    assert main(["--config", str(config), "policies"]) == 0
    text = capsys.readouterr().out
    assert "max-layers (enabled): warning, platform scope, built-in\n" in text
    assert "  params.max = 20 (default: 40)\n" in text
    assert "pinned-digest (disabled): warning, image scope, built-in\n" in text


def test_text(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text(MINE)
    assert main(["policies", "--policy", "mine.yaml", "--select", "mine,other"]) == 0
    assert capsys.readouterr().out.endswith(
        "mine (enabled): info, image scope, mine.yaml:1\n"
        "  Mine.\n"
        "  params.limit = 2\n"
        "other (enabled): error, image scope, mine.yaml:10\n"
    )


def test_bad_params_in_the_configuration_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("policies:\n  max-layers:\n    params: {maxx: 20}\n")
    assert main(["policies", "--config", str(config)]) == 2
    assert capsys.readouterr().err == (
        f"manifest-lint: error: {config}:3: policies.max-layers.params.maxx: "
        "unknown param 'maxx' (params: max)\n"
    )


def test_the_source_of_a_plugin_policy() -> None:
    policy = parse_policies(MINE, "p.yaml", origin="example")[0]
    assert source(policy) == "plugin example (p.yaml)"


def test_check_loads_and_compiles_each_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(MINE)
    broken = tmp_path / "broken.yaml"
    broken.write_text(MINE.replace("<= params.limit", "<= "))
    shape = tmp_path / "shape.yaml"
    shape.write_text(MINE.replace("  severity: info", "  severty: info"))
    params = tmp_path / "params.yaml"
    params.write_text(MINE.replace("  params: {limit: 2}", "  paramsSchema: {required: [limit]}"))
    assert main(["policies", "check", str(good), str(broken), str(shape), str(params)]) == 2
    captured = capsys.readouterr()
    assert captured.out == f"{good}: ok (mine, other)\n"
    errors = captured.err.splitlines()
    assert errors[0].startswith(
        f"manifest-lint: error: {broken}:8:41: policy 'mine': CEL expression does not compile"
    )
    assert f"manifest-lint: error: {shape}:5:3: unknown field 'severty' in spec" in captured.err
    assert (
        f"manifest-lint: error: {params}:1: policy 'mine': params: 'limit' is a required property"
        in captured.err
    )
    # Every built-in policy checks, directories included.
    assert main(["policies", "check", str(ROOT / "policies")]) == 0
    assert len(capsys.readouterr().out.splitlines()) == len(BUILTINS)


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["policies", "chek", "x.yaml"], "policies: unknown word 'chek' (did you mean 'check'?)"),
        (["policies", "check"], "policies check: name at least one policy file"),
        (["policies", "check", "nothing.yaml"], "nothing.yaml: no such file or directory"),
    ],
)
def test_check_usage(argv: list[str], error: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert capsys.readouterr().err == f"manifest-lint: error: {error}\n"
