"""``.manifest-lint.yaml``: parsing, errors with file and line, and how it chooses,
re-parameterises and re-grades policies (alone, and through ``main``).

The ``main`` tests lint the example OCI layout (offline): 3 platforms (linux/amd64,
linux/arm/v7, linux/arm64) of 3, 4 and 3 layers, annotated, referenced by tag.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from manifest_lint.cli.main import main
from manifest_lint.config import DEFAULT_NAME, Config, PolicySettings, load_config, parse_config
from manifest_lint.errors import ConfigError, UsageError
from manifest_lint.plugin.manager import PluginHost, get_plugin_manager
from manifest_lint.policy.selection import select_policies
from manifest_lint.results import Severity

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = f"oci:{REPO / 'examples' / 'multiarch'}:1.0"
#: The built-in policies, by file (the set grows; tests do not hard-code it).
BUILTINS = tuple(
    sorted(yaml.safe_load(f.read_text())["metadata"]["name"] for f in REPO.glob("policies/*.yaml"))
)
KNOWN = ", ".join(BUILTINS)
#: Those that run unless the configuration says otherwise (``spec.enabled`` not false).
ON = tuple(
    name
    for name, spec in sorted(
        (doc["metadata"]["name"], doc["spec"])
        for doc in (yaml.safe_load(f.read_text()) for f in REPO.glob("policies/*.yaml"))
    )
    if spec.get("enabled", True)
)

FULL = """\
fail-on: warning
cel-backend: celpy
policy-paths:
  - policies/
  - extra.yaml
policies:
  max-layers:
    params: {max: 20}
    severity: warning
  required-platforms:
    params: {platforms: [linux/amd64, linux/arm64, linux/arm/v7]}
  pinned-digest:
    enabled: false
  required-annotations:
"""


def config_error(text: str, path: str = "conf/.manifest-lint.yaml") -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(text, path)
    return str(info.value)


def registered() -> list[Any]:
    return PluginHost(get_plugin_manager(autoload=False)).policies()


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def lint_json(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, *argv: str
) -> tuple[int, dict[str, Any]]:
    out = tmp_path / "report.json"
    code = main([*argv, "--json", str(out)])
    capsys.readouterr()
    report: dict[str, Any] = json.loads(out.read_text())
    return code, report


def findings(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    [result] = report["results"]
    return {f["name"]: f for f in result["findings"]}


# --------------------------------------------------------------------------- parsing


def test_every_key_is_read() -> None:
    config = parse_config(FULL, "conf/.manifest-lint.yaml")
    assert config.path == "conf/.manifest-lint.yaml"
    assert config.fail_on is Severity.WARNING
    assert config.cel_backend == "celpy"
    # Relative to the configuration file, not to the working directory.
    assert config.policy_paths == (Path("conf/policies"), Path("conf/extra.yaml"))
    assert config.policies == {
        "max-layers": PolicySettings(None, Severity.WARNING, {"max": 20}, 7, {"max": 8}),
        "required-platforms": PolicySettings(
            None,
            None,
            {"platforms": ["linux/amd64", "linux/arm64", "linux/arm/v7"]},
            10,
            {"platforms": 11},
        ),
        "pinned-digest": PolicySettings(False, None, {}, 12),
        "required-annotations": PolicySettings(None, None, {}, 14),
    }
    # Plain values, not the located containers the YAML loader builds.
    assert type(config.policies["max-layers"].params) is dict


@pytest.mark.parametrize("text", ["", "# nothing to say\n", "---\n"])
def test_an_empty_file_is_the_default_configuration(text: str) -> None:
    assert parse_config(text, "c.yaml") == Config(path="c.yaml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "fail-on: error\nfailOn: warning\n",
            "conf/.manifest-lint.yaml:2: unknown key 'failOn' in the configuration "
            "(allowed: fail-on, cel-backend, policy-paths, policies, "
            "exceptions, max-exception-days, exception-warn-days)",
            id="unknown-top-key",
        ),
        pytest.param(
            "policies:\n  max-layers:\n    params: {max: 1}\n    enable: false\n",
            "conf/.manifest-lint.yaml:4: unknown key 'enable' in policies.max-layers "
            "(allowed: enabled, severity, params)",
            id="unknown-policy-key",
        ),
        pytest.param(
            "fail-on: fatal\n",
            "conf/.manifest-lint.yaml:1: fail-on: unknown severity 'fatal' "
            "(choose from error, warning, info)",
            id="bad-fail-on",
        ),
        pytest.param(
            "fail-on: 3\n",
            "conf/.manifest-lint.yaml:1: fail-on must be error, warning or info",
            id="fail-on-not-a-string",
        ),
        pytest.param(
            "policies:\n  max-layers:\n    severity: critical\n",
            "conf/.manifest-lint.yaml:3: policies.max-layers.severity: unknown severity "
            "'critical' (choose from error, warning, info)",
            id="bad-policy-severity",
        ),
        pytest.param(
            "policies:\n  max-layers:\n    enabled: 'no'\n",
            "conf/.manifest-lint.yaml:3: policies.max-layers.enabled must be true or false",
            id="enabled-not-a-bool",
        ),
        pytest.param(
            "policies:\n  max-layers:\n    params: [1]\n",
            "conf/.manifest-lint.yaml:3: policies.max-layers.params must be a mapping",
            id="params-not-a-mapping",
        ),
        pytest.param(
            "policies:\n  max-layers: 20\n",
            "conf/.manifest-lint.yaml:2: policies.max-layers must be a mapping",
            id="policy-settings-not-a-mapping",
        ),
        pytest.param(
            "policies: [max-layers]\n",
            "conf/.manifest-lint.yaml:1: policies must be a mapping of policy name to settings",
            id="policies-not-a-mapping",
        ),
        pytest.param(
            "policy-paths: policies/\n",
            "conf/.manifest-lint.yaml:1: policy-paths must be a list of paths",
            id="policy-paths-not-a-list",
        ),
        pytest.param(
            "cel-backend: [celpy]\n",
            "conf/.manifest-lint.yaml:1: cel-backend must be a string",
            id="cel-backend-not-a-string",
        ),
        pytest.param(
            "- fail-on: error\n",
            "conf/.manifest-lint.yaml:1: the configuration must be a mapping",
            id="not-a-mapping",
        ),
        pytest.param(
            "fail-on: error\n---\nfail-on: warning\n",
            "conf/.manifest-lint.yaml:3: a configuration file holds one YAML document",
            id="two-documents",
        ),
        pytest.param(
            "fail-on: error\nfail-on: warning\n",
            "conf/.manifest-lint.yaml:2: duplicate key 'fail-on'",
            id="duplicate-key",
        ),
        pytest.param(
            "policies:\n  max-layers: &s {enabled: false}\n  pinned-digest: *s\n",
            "conf/.manifest-lint.yaml:3: YAML aliases (*name) are not allowed here",
            id="alias",
        ),
        pytest.param(
            "policies:\n  max-layers: {params: {max: [}}\n",
            "conf/.manifest-lint.yaml:2: invalid YAML: expected the node content, but found '}'",
            id="yaml-syntax",
        ),
        pytest.param(
            "exceptions:\n  - policy: max-layers\n    images: [a/*]\n    expires: 2027-01-01\n",
            "conf/.manifest-lint.yaml:2: an exception needs 'reason'",
            id="exception-without-reason",
        ),
        pytest.param(
            "exceptions:\n  - policy: max-layers\n    images: [a/*]\n    reason: r\n"
            "    expires: 2027-01-01\n    team: x\n",
            "conf/.manifest-lint.yaml:6: unknown key 'team' in an exception "
            "(allowed: policy, images, reason, expires, owner)",
            id="exception-unknown-key",
        ),
        pytest.param(
            "exceptions:\n  - policy: max-layers\n    images: []\n    reason: r\n"
            "    expires: 2027-01-01\n",
            "conf/.manifest-lint.yaml:3: images must be a list of reference globs or digests",
            id="exception-without-images",
        ),
        pytest.param(
            "exceptions: {policy: max-layers}\n",
            "conf/.manifest-lint.yaml:1: exceptions must be a list",
            id="exceptions-not-a-list",
        ),
        pytest.param(
            "max-exception-days: many\n",
            "conf/.manifest-lint.yaml:1: max-exception-days must be a whole number of days",
            id="max-exception-days-not-a-number",
        ),
    ],
)
def test_errors_name_file_and_line(text: str, message: str) -> None:
    assert config_error(text) == message


def test_load_config_reads_the_default_file_only_when_present(tmp_path: Path) -> None:
    assert load_config(None, tmp_path) == Config()
    write(tmp_path / DEFAULT_NAME, "fail-on: info\n")
    config = load_config(None, tmp_path)
    assert (config.path, config.fail_on) == (str(tmp_path / DEFAULT_NAME), Severity.INFO)


def test_an_explicit_config_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(str(tmp_path / "missing.yaml"), tmp_path)
    assert str(info.value) == f"{tmp_path / 'missing.yaml'}: no such file"


# --------------------------------------------------------------------------- selection


def test_an_unknown_policy_name_is_an_error_with_its_line() -> None:
    config = parse_config(
        "fail-on: error\npolicies:\n  max-layers: {}\n  max-layer: {params: {max: 3}}\n",
        "ci/.manifest-lint.yaml",
    )
    with pytest.raises(ConfigError) as info:
        select_policies(registered(), config, [], [])
    assert str(info.value) == (
        f"ci/.manifest-lint.yaml:4: policies.max-layer: no such policy (known: {KNOWN})"
    )
    assert (info.value.path, info.value.line) == ("ci/.manifest-lint.yaml", 4)


def test_enabled_false_leaves_a_policy_out() -> None:
    config = parse_config("policies:\n  pinned-digest: {enabled: false}\n", "c.yaml")
    chosen = select_policies(registered(), config, [], [])
    assert [p.name for p in chosen] == [name for name in ON if name != "pinned-digest"]


def test_select_chooses_among_the_enabled_and_explicitly_named() -> None:
    chosen = select_policies(registered(), Config(), [], ["required-platforms", " max-layers"])
    assert sorted(p.name for p in chosen) == ["max-layers", "required-platforms"]
    with pytest.raises(UsageError) as info:
        select_policies(registered(), Config(), [], ["max-layer"])
    assert str(info.value) == f"--select max-layer: no such policy (known: {KNOWN})"


def test_no_policy_left_is_an_error() -> None:
    text = "policies:\n" + "".join(f"  {name}: {{enabled: false}}\n" for name in ON)
    with pytest.raises(UsageError, match=r"^no policy is enabled$"):
        select_policies(registered(), parse_config(text, "c.yaml"), [], [])


def test_params_merge_over_the_policys_own_and_severity_overrides() -> None:
    config = parse_config(
        "policies:\n"
        "  required-annotations:\n"
        "    params: {keys: [org.opencontainers.image.source]}\n"
        "    severity: info\n",
        "c.yaml",
    )
    chosen = {p.name: p for p in select_policies(registered(), config, [], [])}
    annotations = chosen["required-annotations"]
    # keys replaced, allowLabels kept from the policy file.
    assert annotations.params == {"keys": ["org.opencontainers.image.source"], "allowLabels": False}
    assert annotations.severity is Severity.INFO
    assert chosen["max-layers"].params == {"max": 40}
    assert chosen["max-layers"].severity is Severity.ERROR


MINE = """\
apiVersion: manifest-lint.dev/v1
kind: Policy
metadata: {name: mine}
spec:
  validations: [{expression: "true"}]
"""


def test_one_policy_file_named_twice_is_loaded_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same file (by resolved path) in the configuration and on the command line,
    or through a directory and by name, is one policy, not two of the same name."""
    write(tmp_path / "policies" / "mine.yaml", MINE)
    config = parse_config("policy-paths: [policies/]\n", str(tmp_path / DEFAULT_NAME))
    monkeypatch.chdir(tmp_path)
    for extra in ("policies/mine.yaml", "./policies/../policies/mine.yaml", "policies"):
        chosen = select_policies(registered(), config, [Path(extra)], [])
        assert [p.name for p in chosen].count("mine") == 1, extra
    # Two files that name the same policy are still an error.
    write(tmp_path / "other" / "mine.yaml", MINE)
    with pytest.raises(UsageError, match=r"^two policies are named 'mine': "):
        select_policies(registered(), config, [Path("other/mine.yaml")], [])


# --------------------------------------------------------------------------- through main


def test_params_override_through_main(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write(tmp_path / "c.yaml", "policies:\n  max-layers:\n    params: {max: 2}\n")
    code, report = lint_json(
        capsys, tmp_path, "--config", str(config), "--select", "max-layers", EXAMPLE
    )
    assert code == 1
    messages = {name: f["message"] for name, f in findings(report).items()}
    assert messages == {
        "max-layers[linux/amd64]": "3 layers, the maximum is 2",
        "max-layers[linux/arm/v7]": "4 layers, the maximum is 2",
        "max-layers[linux/arm64]": "3 layers, the maximum is 2",
    }


def test_severity_override_through_main(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write(
        tmp_path / "c.yaml",
        "policies:\n  required-platforms:\n    params: {platforms: [linux/s390x]}\n"
        "    severity: warning\n",
    )
    code, report = lint_json(
        capsys, tmp_path, "--config", str(config), "--select", "required-platforms", EXAMPLE
    )
    assert code == 0  # a warning is below the default --fail-on error
    finding = findings(report)["required-platforms"]
    assert (finding["outcome"], finding["severity"]) == ("fail", "warning")
    assert report["policies"][0]["severity"] == "warning"
    assert report["summary"]["blockingFailures"] == 0


def test_fail_on_from_the_file_and_the_flag_overrides_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(tmp_path / "c.yaml", "fail-on: warning\n")
    # pinned-digest is a warning: failing with the file's fail-on...
    only = ("--select", "pinned-digest")
    code, report = lint_json(capsys, tmp_path, "--config", str(config), *only, EXAMPLE)
    assert (code, report["failOn"]) == (1, "warning")
    # ...and not when the command line says otherwise.
    code, report = lint_json(
        capsys, tmp_path, "--config", str(config), "--fail-on", "error", *only, EXAMPLE
    )
    assert (code, report["failOn"]) == (0, "error")


def test_enabled_false_through_main(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write(tmp_path / "c.yaml", "policies:\n  pinned-digest:\n    enabled: false\n")
    code, report = lint_json(capsys, tmp_path, "--config", str(config), EXAMPLE)
    assert code == 0
    assert "pinned-digest" not in findings(report)
    assert "max-layers[linux/amd64]" in findings(report)
    assert [p["name"] for p in report["policies"]] == [n for n in ON if n != "pinned-digest"]


def test_policy_paths_are_relative_to_the_config_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    write(
        project / "lint" / "policies" / "three-platforms.yaml",
        """\
        apiVersion: manifest-lint.dev/v1
        kind: Policy
        metadata:
          name: three-platforms
        spec:
          validations:
            - expression: size(image.platforms) == params.n
              messageExpression: "'has ' + string(size(image.platforms))"
          params: {n: 4}
        """,
    )
    config = write(
        project / "lint" / "config.yaml",
        "policy-paths: [policies]\npolicies:\n  three-platforms:\n    params: {n: 3}\n",
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, report = lint_json(
        capsys, tmp_path, "--config", str(config), "--select", "three-platforms", EXAMPLE
    )
    assert code == 0
    assert findings(report)["three-platforms"]["outcome"] == "pass"
    assert report["policies"][0]["source"] == str(
        project / "lint" / "policies" / "three-platforms.yaml"
    )


def test_the_default_file_in_the_working_directory_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / DEFAULT_NAME, "cel-backend: celpy\nfail-on: warning\n")
    monkeypatch.chdir(tmp_path)
    code, report = lint_json(capsys, tmp_path, "--select", "pinned-digest", EXAMPLE)
    assert (code, report["celBackend"], report["failOn"]) == (1, "celpy", "warning")
    # The flag beats the file for the backend too.
    code, report = lint_json(
        capsys, tmp_path, "--select", "pinned-digest", "--cel-backend", "cel-expr-python", EXAMPLE
    )
    assert report["celBackend"] == "cel-expr-python"


def test_config_errors_exit_2_naming_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(tmp_path / "c.yaml", "fail-on: error\npolicies:\n  pinned-digests: {}\n")
    assert main(["--config", str(config), "127.0.0.1:9/never/read:1"]) == 2
    assert capsys.readouterr().err == (
        f"manifest-lint: error: {config}:3: policies.pinned-digests: no such policy "
        f"(known: {KNOWN})\n"
    )
    config = write(tmp_path / "d.yaml", "fail_on: error\n")
    assert main(["--config", str(config), "127.0.0.1:9/never/read:1"]) == 2
    assert capsys.readouterr().err == (
        f"manifest-lint: error: {config}:1: unknown key 'fail_on' in the configuration "
        "(allowed: fail-on, cel-backend, policy-paths, policies, "
        "exceptions, max-exception-days, exception-warn-days)\n"
    )
    assert main(["--config", str(tmp_path / "none.yaml"), EXAMPLE]) == 2
    assert capsys.readouterr().err == (
        f"manifest-lint: error: {tmp_path / 'none.yaml'}: no such file\n"
    )


def test_an_unknown_cel_backend_in_the_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(tmp_path / "c.yaml", "cel-backend: cel-go\n")
    assert main(["--config", str(config), EXAMPLE]) == 2
    assert capsys.readouterr().err == (
        "manifest-lint: error: unknown CEL backend 'cel-go' (available: cel-expr-python, celpy)\n"
    )


# --------------------------------------------------------------------------- discovery


@pytest.fixture
def no_config_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv("MANIFEST_LINT_CONFIG", raising=False)
    monkeypatch.setenv("MANIFEST_LINT_DISABLE_PLUGIN_AUTOLOAD", "1")
    return monkeypatch


def project_with_config(root: Path) -> Path:
    """A repository with its configuration at the top and a policy beside it."""
    (root / ".git").mkdir(parents=True)
    write(root / "lint" / "policies" / "mine.yaml", MINE)
    write(
        root / DEFAULT_NAME,
        "fail-on: warning\npolicy-paths: [lint/policies]\n"
        "policies:\n  max-layers: {params: {max: 2}}\n  pinned-digest: {enabled: false}\n",
    )
    return root


def test_the_configuration_is_found_upwards_to_the_repository_root(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_config_env: pytest.MonkeyPatch
) -> None:
    """From a subdirectory, the repository's file applies, and its relative paths
    are relative to the file, not to the working directory."""
    project = project_with_config(tmp_path / "project")
    deeper = project / "deploy" / "k8s"
    deeper.mkdir(parents=True)
    no_config_env.chdir(deeper)
    code, report = lint_json(capsys, tmp_path, "--select", "mine,max-layers", EXAMPLE)
    assert code == 1  # max-layers at 2 fails, as the file says
    assert report["failOn"] == "warning"
    assert findings(report)["mine"]["outcome"] == "pass"
    assert report["policies"][1]["source"] == str(project / "lint" / "policies" / "mine.yaml")
    config = load_config(None, deeper)
    assert (config.path, config.origin) == (str(project / DEFAULT_NAME), "found")


@pytest.mark.parametrize("marker", ["dir", "file"])
def test_the_search_stops_at_the_repository_root(tmp_path: Path, marker: str) -> None:
    """A file above the repository (``.git`` a directory, or a file as in a worktree)
    belongs to another project: not read."""
    write(tmp_path / DEFAULT_NAME, "fail-on: info\n")
    repo = tmp_path / "repo"
    repo.mkdir()
    if marker == "dir":
        (repo / ".git").mkdir()
    else:
        (repo / ".git").write_text("gitdir: ../main/.git/worktrees/repo\n")
    (repo / "sub").mkdir()
    assert load_config(None, repo / "sub") == Config()
    # Outside any repository, the search goes on to the top.
    plain = tmp_path / "plain" / "sub"
    plain.mkdir(parents=True)
    assert load_config(None, plain).path == str(tmp_path / DEFAULT_NAME)


def test_config_flag_beats_the_environment_which_beats_the_search(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_config_env: pytest.MonkeyPatch
) -> None:
    project = project_with_config(tmp_path / "project")
    named = write(tmp_path / "named.yaml", "fail-on: info\n")
    flagged = write(tmp_path / "flagged.yaml", "fail-on: error\n")
    no_config_env.chdir(project)
    no_config_env.setenv("MANIFEST_LINT_CONFIG", str(named))
    _, report = lint_json(capsys, tmp_path, "--select", "no-latest", EXAMPLE)
    assert report["failOn"] == "info"
    _, report = lint_json(
        capsys, tmp_path, "--config", str(flagged), "--select", "no-latest", EXAMPLE
    )
    assert report["failOn"] == "error"
    no_config_env.setenv("MANIFEST_LINT_CONFIG", str(tmp_path / "missing.yaml"))
    assert main(["--select", "no-latest", EXAMPLE]) == 2
    assert capsys.readouterr().err == (
        f"manifest-lint: error: {tmp_path / 'missing.yaml'}: no such file\n"
    )


def test_show_config_names_the_file_and_prints_a_configuration_that_means_the_same(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_config_env: pytest.MonkeyPatch
) -> None:
    project = project_with_config(tmp_path / "project")
    (project / "sub").mkdir()
    no_config_env.chdir(project / "sub")
    assert main(["--show-config", "--cel-backend", "celpy"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[:5] == [
        f"# configuration file: {project / DEFAULT_NAME} "
        "(found searching up from the working directory)",
        "fail-on: warning  # configuration file",
        "cel-backend: celpy  # --cel-backend",
        f'policy-paths: ["{project / "lint" / "policies"}"]',
        "policies:",
    ]
    assert (
        f'  mine: {{"params": {{}}, "severity": "error"}}  # {project}/lint/policies/mine.yaml'
        in lines
    )
    assert '  pinned-digest: {"enabled": false}  # configuration file' in lines
    # What it prints is a configuration file that gives the same settings.
    shown = parse_config(out, str(tmp_path / "shown.yaml"))
    assert (shown.fail_on, shown.cel_backend) == (Severity.WARNING, "celpy")
    assert shown.policy_paths == (project / "lint" / "policies",)
    assert shown.policies["max-layers"].params == {"max": 2}
    assert shown.policies["pinned-digest"].enabled is False
    chosen = select_policies(registered(), shown, [], [])
    assert "pinned-digest" not in [p.name for p in chosen]
    assert {p.name: dict(p.params) for p in chosen}["max-layers"] == {"max": 2}
    # With no file: the defaults, and where the file would be looked for.
    no_config_env.chdir(tmp_path)
    (tmp_path / ".git").mkdir()
    assert main(["scan", "--show-config"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first == (
        "# configuration file: none (.manifest-lint.yaml is searched from the working "
        "directory up to the repository root; $MANIFEST_LINT_CONFIG or --config name one)"
    )
