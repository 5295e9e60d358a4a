"""Policy params: their schema (declared or inferred from the defaults), and the
overrides of the configuration file and ``--param`` checked at load, before any
request (issue 13, item 3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from manifest_lint.config import Config, parse_config
from manifest_lint.errors import ConfigError, PolicyError, UsageError
from manifest_lint.policy.files import parse_policies
from manifest_lint.policy.params import Given, apply_params, infer_schema, params_schema
from manifest_lint.policy.selection import select_policies
from tests.helpers.cli import run as lint
from tests.helpers.images import build_index, build_manifest, push
from tests.helpers.registry_server import RegistryServer
from tests.test_lint_registry import _access_log, _ours

POLICY = """\
apiVersion: manifest-lint.dev/v1
kind: Policy
metadata: {name: limits}
spec:
  params:
    max: 40
    ratio: 0.5
    strict: false
    names: [a, b]
    mixed: [1, a]
    nested: {depth: 2}
    anything: null
  validations:
    - expression: platform.layerCount <= params.max
"""

DECLARED = """\
apiVersion: manifest-lint.dev/v1
kind: Policy
metadata: {name: declared}
spec:
  paramsSchema:
    type: object
    properties:
      registries: {type: array, items: {type: string}}
      max: {type: integer, minimum: 1}
    required: [registries]
    additionalProperties: false
  params:
    max: 3
  validations:
    - expression: size(params.registries) <= params.max
"""


def test_inferred_schema_types_each_default() -> None:
    schema = params_schema(parse_policies(POLICY, "p.yaml")[0])
    assert schema == {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "max": {"type": "integer"},
            "ratio": {"type": "number"},
            "strict": {"type": "boolean"},
            "names": {"type": "array", "items": {"type": "string"}},
            "mixed": {"type": "array"},
            "nested": {"type": "object", "properties": {"depth": {"type": "integer"}}},
            "anything": {},
        },
    }
    assert infer_schema([]) == {"type": "array"}


def test_a_declared_schema_is_used_as_written() -> None:
    declared = parse_policies(DECLARED, "p.yaml")[0]
    assert params_schema(declared)["required"] == ["registries"]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"maxx": 20}, "unknown param 'maxx' (params: anything, max, mixed, names, nested"),
        ({"max": "20"}, "'20' is not of type 'integer'"),
        ({"max": True}, "True is not of type 'integer'"),
        ({"names": ["a", 1]}, "[1]: 1 is not of type 'string'"),
        ({"nested": {"depth": "deep"}}, "depth: 'deep' is not of type 'integer'"),
    ],
)
def test_bad_overrides_name_the_file_line_and_key(values: dict[str, object], message: str) -> None:
    limits = parse_policies(POLICY, "p.yaml")[0]
    key = next(iter(values))
    given = Given(values, path="c.yaml", line=3, lines={key: 5})
    with pytest.raises(ConfigError) as caught:
        apply_params(limits, [given])
    assert str(caught.value).startswith(f"c.yaml:5: policies.limits.params.{key}: {message}")


def test_good_overrides_apply_and_later_sources_win() -> None:
    limits = parse_policies(POLICY, "p.yaml")[0]
    done = apply_params(
        limits,
        [
            Given({"max": 20, "ratio": 1}, path="c.yaml"),
            Given({"max": 30}, arguments={"max": "limits.max=30"}),
        ],
    )
    assert (done.params["max"], done.params["ratio"], done.params["names"]) == (30, 1, ["a", "b"])


def test_a_bad_param_argument_is_named() -> None:
    limits = parse_policies(POLICY, "p.yaml")[0]
    with pytest.raises(UsageError, match=r"^--param limits\.max=x: 'x' is not of type"):
        apply_params(limits, [Given({"max": "x"}, arguments={"max": "limits.max=x"})])


def test_a_missing_required_param() -> None:
    declared = parse_policies(DECLARED, "p.yaml")[0]
    # Not set anywhere: the policy file is named.
    with pytest.raises(PolicyError, match=r"^p\.yaml:1: policy 'declared': params: 'registries'"):
        apply_params(declared, [])
    # The configuration's entry for the policy, when it has one.
    with pytest.raises(ConfigError, match=r"^c\.yaml:7: policies\.declared\.params: 'regis"):
        apply_params(declared, [Given({"max": 2}, path="c.yaml", line=7)])
    done = apply_params(declared, [Given({"registries": ["ghcr.io"]}, path="c.yaml")])
    assert dict(done.params) == {"max": 3, "registries": ["ghcr.io"]}
    # The declared schema's other keywords hold too.
    with pytest.raises(ConfigError, match="0 is less than the minimum of 1"):
        apply_params(declared, [Given({"registries": [], "max": 0}, path="c.yaml")])


def test_an_invalid_params_schema_is_a_policy_error() -> None:
    text = DECLARED.replace("type: integer, minimum: 1", "type: integr")
    broken = parse_policies(text, "p.yaml")[0]
    with pytest.raises(PolicyError, match=r"spec\.paramsSchema is not a valid JSON Schema"):
        apply_params(broken, [Given({"registries": []}, path="c.yaml")])


def test_params_schema_must_be_a_mapping() -> None:
    text = POLICY.replace("  params:\n", "  paramsSchema: [1]\n  params:\n")
    with pytest.raises(PolicyError, match=r"^p\.yaml:5:17: .*spec\.paramsSchema must be a mapping"):
        parse_policies(text, "p.yaml")


def test_the_configuration_is_checked_when_policies_are_selected(tmp_path: Path) -> None:
    registered = parse_policies(POLICY, "p.yaml")
    text = "policies:\n  limits:\n    severity: warning\n    params:\n      maxx: 20\n"
    with pytest.raises(ConfigError, match=r"^c\.yaml:5: policies\.limits\.params\.maxx: unknown"):
        select_policies(registered, parse_config(text, "c.yaml"), [], [])
    # A disabled policy's params are still checked: the file is wrong either way.
    text = "policies:\n  limits:\n    enabled: false\n    params: {max: '1'}\n"
    with pytest.raises(ConfigError, match=r"^c\.yaml:4: policies\.limits\.params\.max: '1'"):
        select_policies([*registered, *parse_policies(DECLARED, "d.yaml")], parse_config(
            text, "c.yaml"), [], [], {"declared": Given({"registries": []})})  # fmt: skip
    # A disabled policy needs no value for its required params.
    text = "policies:\n  declared: {enabled: false}\n"
    chosen = select_policies(
        [*registered, *parse_policies(DECLARED, "d.yaml")], parse_config(text, "c.yaml"), [], []
    )
    assert [p.name for p in chosen] == ["limits"]
    with pytest.raises(UsageError, match=r"^--param nope\.x=1: no such policy"):
        select_policies(
            registered, Config(), [], [], {"nope": Given({"x": 1}, arguments={"x": "nope.x=1"})}
        )


# --------------------------------------------------------------------------- the command line


@pytest.fixture(scope="module")
def reference(registry: RegistryServer) -> str:
    image = build_index([build_manifest("linux/amd64", layers=2, seed="params")])
    return push(registry.url, "params/app", image, "1.0").reference


@pytest.mark.registry
@pytest.mark.parametrize(
    ("config", "arguments", "error"),
    [
        (
            "policies:\n  max-layers:\n    params:\n      maxx: 20\n",
            (),
            "{config}:4: policies.max-layers.params.maxx: unknown param 'maxx' (params: max)",
        ),
        (
            "policies:\n  max-layers:\n    params:\n      max: '20'\n",
            (),
            "{config}:4: policies.max-layers.params.max: '20' is not of type 'integer'",
        ),
        (
            "",
            ("--param", "max-layers.maxx=20"),
            "--param max-layers.maxx=20: unknown param 'maxx' (params: max)",
        ),
        (
            "",
            ("--param", "max-layers.max=[20]"),
            "--param max-layers.max=[20]: [20] is not of type 'integer'",
        ),
        ("", ("--param", "max-layers=20"), "--param takes POLICY.KEY=VALUE, not 'max-layers=20'"),
    ],
    ids=["config-key", "config-type", "param-key", "param-type", "param-form"],
)
def test_bad_params_exit_2_before_any_request(
    config: str,
    arguments: tuple[str, ...],
    error: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    registry: RegistryServer,
    reference: str,
) -> None:
    path = tmp_path / "manifest-lint.yaml"
    path.write_text(config or "{}\n")
    before = _ours(_access_log(registry))
    for command in ((), ("scan", "--ref")):
        run = lint(capsys, *command, reference, "--config", str(path), *arguments)
        assert run.code == 2, run.err
        assert run.err == f"manifest-lint: error: {error.format(config=path)}\n"
        assert _ours(_access_log(registry)) == before, "a request was made before params loaded"
    # Control: with good params the image is read, and the value is used.
    run = lint(capsys, reference, "--select", "max-layers", "--param", "max-layers.max=1")
    assert run.code == 1, run.out + run.err
    assert "the maximum is 1" in run.out
    assert len(_ours(_access_log(registry))) > len(before)
