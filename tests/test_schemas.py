"""``schemas/policy.schema.json`` and ``schemas/config.schema.json``: valid JSON Schemas
that accept every built-in policy and every example, reject what the loaders reject,
and are used by the loaders (errors with file, line and column)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import referencing
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from manifest_lint.cli.main import main
from manifest_lint.config import parse_config
from manifest_lint.errors import ConfigError, PolicyError
from manifest_lint.policy.files import parse_policies
from manifest_lint.yamlfile.schema import BASE_URI, fits, load_schema, schema_dir
from tests import test_config, test_policy

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "schemas"
MINE = ("policy.schema.json", "config.schema.json")
#: Every schema a validator may need to resolve a ``$ref`` into.
REFERENCED = (*MINE, "exceptions.schema.json")


def validator(name: str) -> jsonschema.Draft202012Validator:
    """An independent validator: the files as they are in the repository."""
    resources = [
        (
            BASE_URI + file,
            referencing.Resource.from_contents(json.loads((SCHEMAS / file).read_text())),
        )
        for file in REFERENCED
    ]
    registry: referencing.Registry[Any] = referencing.Registry().with_resources(resources)
    schema = json.loads((SCHEMAS / name).read_text())
    return jsonschema.Draft202012Validator(schema, registry=registry)


def documents(text: str) -> list[Any]:
    return [d for d in yaml.safe_load_all(text) if d is not None]


def test_the_loaders_read_the_repository_schemas() -> None:
    assert schema_dir() == SCHEMAS


@pytest.mark.parametrize("name", REFERENCED)
def test_each_schema_is_a_valid_2020_12_schema_with_its_id(name: str) -> None:
    schema = json.loads((SCHEMAS / name).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == BASE_URI + name


def _doc_blocks() -> list[tuple[str, str]]:
    """``(where, text)`` of each YAML block of the README and docs."""
    blocks = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for i, match in enumerate(re.finditer(r"```yaml\n(.*?)```", page.read_text(), re.S)):
            blocks.append((f"{page.name}[{i}]", match.group(1)))
    return blocks


def _policy_texts() -> list[tuple[str, str]]:
    files = [*sorted((ROOT / "policies").glob("*.yaml")), *ROOT.glob("examples/**/*.yaml")]
    texts = [(str(f.relative_to(ROOT)), f.read_text()) for f in files]
    texts += [(w, t) for w, t in _doc_blocks() if "apiVersion:" in t and "kind: Policy" in t]
    # Policy test files (kind: PolicyTest) have their own schema: _policytest_texts.
    return [
        (w, t)
        for w, t in texts
        if "apiVersion: manifest-lint.dev/v1" in t and "kind: PolicyTest" not in t
    ]


def _policytest_texts() -> list[tuple[str, str]]:
    """The examples' and the docs' policy test files."""
    files = sorted(ROOT.glob("examples/**/*.policytest.yaml"))
    texts = [(str(f.relative_to(ROOT)), f.read_text()) for f in files]
    return texts + [(w, t) for w, t in _doc_blocks() if "kind: PolicyTest" in t]


@pytest.mark.parametrize(
    ("where", "text"), _policytest_texts(), ids=[w for w, _ in _policytest_texts()]
)
def test_every_example_policy_test_file_fits_its_schema(where: str, text: str) -> None:
    (document,) = documents(text)
    assert [e.message for e in validator("policytest.schema.json").iter_errors(document)] == []


def test_there_are_example_policy_test_files() -> None:
    found = [w for w, _ in _policytest_texts()]
    assert any(w.startswith("examples/") for w in found)
    assert len([w for w in found if w.startswith("testing.md")]) == 4


def _config_texts() -> list[tuple[str, str]]:
    """The docs' blocks that are configuration files: a mapping of the configuration's
    keys (not a pre-commit or GitHub configuration that mentions policies)."""
    keys = {"fail-on", "cel-backend", "policy-paths", "policies", "exceptions"}
    keys |= {"max-exception-days", "exception-warn-days"}
    return [
        (w, t)
        for w, t in _doc_blocks()
        if (found := documents(t)) and isinstance(found[0], dict) and keys >= set(found[0])
    ]


def test_there_are_examples_of_both() -> None:
    policies = [w for w, _ in _policy_texts()]
    assert len([w for w in policies if w.startswith("policies/")]) == 9
    assert any(w.startswith("examples/") for w in policies)
    assert any(w.startswith("README") for w in policies)
    assert len(_config_texts()) >= 3


@pytest.mark.parametrize(("where", "text"), _policy_texts(), ids=[w for w, _ in _policy_texts()])
def test_every_built_in_and_example_policy_fits_the_schema(where: str, text: str) -> None:
    check = validator("policy.schema.json")
    for document in documents(text):
        assert [e.message for e in check.iter_errors(document)] == [], where
    assert parse_policies(text, where, origin="file")


@pytest.mark.parametrize(("where", "text"), _config_texts(), ids=[w for w, _ in _config_texts()])
def test_every_example_configuration_fits_the_schema(where: str, text: str) -> None:
    (document,) = documents(text)
    assert [e.message for e in validator("config.schema.json").iter_errors(document)] == []
    parse_config(text, where)


#: What a loader refuses that no JSON Schema can say: YAML-level errors, and a name
#: used twice in a list (JSON Schema's uniqueItems compares whole items).
NOT_A_SCHEMA_MATTER = re.compile(
    r"invalid YAML|duplicate key|aliases|is used twice|no policy in this file|one YAML document"
    r"|mapping keys must be strings|not a valid date|found character"
)


def _cases(test: Any) -> list[tuple[str, str]]:
    """``(id, text)`` of the cases of a loader test's parametrize the schema must reject."""
    (mark,) = [m for m in test.pytestmark if m.name == "parametrize"]
    return [
        (p.id, p.values[0]) for p in mark.args[1] if not NOT_A_SCHEMA_MATTER.search(p.values[1])
    ]


POLICY_CASES = _cases(test_policy.test_loading_errors_name_file_line_and_column)
CONFIG_CASES = _cases(test_config.test_errors_name_file_and_line)


@pytest.mark.parametrize("text", [t for _, t in POLICY_CASES], ids=[i for i, _ in POLICY_CASES])
def test_the_policy_schema_rejects_what_the_loader_rejects(text: str) -> None:
    check = validator("policy.schema.json")
    assert any(list(check.iter_errors(d)) for d in documents(text))


@pytest.mark.parametrize("text", [t for _, t in CONFIG_CASES], ids=[i for i, _ in CONFIG_CASES])
def test_the_config_schema_rejects_what_the_loader_rejects(text: str) -> None:
    assert list(validator("config.schema.json").iter_errors(documents(text)[0]))


def test_the_cases_left_out_are_few() -> None:
    assert len(POLICY_CASES) >= 25
    assert len(CONFIG_CASES) >= 10


# --------------------------------------------------------------------------- the loaders use them


POLICY = """\
apiVersion: manifest-lint.dev/v1
kind: Policy
metadata: {name: p}
spec:
  params: []
  validations:
    - expression: "true"
"""


def test_a_user_policy_file_is_checked_against_the_schema() -> None:
    # params: [] was taken for no params; the schema says a mapping.
    with pytest.raises(PolicyError) as caught:
        parse_policies(POLICY, "p.yaml")
    assert str(caught.value) == (
        "p.yaml:5:3: spec.params: [] is not of type 'object', 'null' (schemas/policy.schema.json)"
    )
    # Built-in and plugin policies are checked by the build and these tests instead.
    assert parse_policies(POLICY, "p.yaml", origin="builtin")


def test_a_configuration_file_is_checked_against_the_schema() -> None:
    text = "policy-paths: ''\npolicies:\n  max-layers:\n    params: []\n"
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "c.yaml")
    assert str(caught.value) == (
        "c.yaml:1: policy-paths: '' is not of type 'array', 'null' (schemas/config.schema.json)"
    )


def test_schema_errors_through_main_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MANIFEST_LINT_DISABLE_PLUGIN_AUTOLOAD", "1")
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY)
    assert main(["policies", "check", str(policy)]) == 2
    assert capsys.readouterr().err == (
        f"manifest-lint: error: {policy}:5:3: spec.params: [] is not of type 'object', "
        "'null' (schemas/policy.schema.json)\n"
    )
    config = tmp_path / "c.yaml"
    config.write_text("policies:\n  max-layers: {params: []}\n")
    assert main(["--offline", "--config", str(config), "oci:nothing"]) == 2
    assert capsys.readouterr().err == (
        f"manifest-lint: error: {config}:2: policies.max-layers.params: [] is not of type "
        "'object', 'null' (schemas/config.schema.json)\n"
    )


def test_the_wheel_build_refuses_a_built_in_policy_the_schema_rejects(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT))
    try:
        from hatch_build import parse_policies as build_parse
    finally:
        sys.path.pop(0)
    (tmp_path / "ok.yaml").write_text(POLICY.replace("params: []", "params: {}"))
    assert list(build_parse(tmp_path)) == ["ok.yaml"]
    (tmp_path / "bad.yaml").write_text(POLICY)
    with pytest.raises(SystemExit, match=r"bad\.yaml:5:3: spec\.params: \[\] is not of type"):
        build_parse(tmp_path)


# --------------------------------------------------------------------------- the fast path


@pytest.mark.parametrize("name", MINE)
def test_fits_never_passes_what_jsonschema_rejects(name: str) -> None:
    """``fits`` answers True only where jsonschema finds nothing, on every case here."""
    cases = POLICY_CASES if name == "policy.schema.json" else CONFIG_CASES
    good = _policy_texts() if name == "policy.schema.json" else _config_texts()
    schema = load_schema(name)
    check = validator(name)
    for _where, text in [*cases, *good]:
        for document in documents(text):
            assert fits(document, schema) == (not list(check.iter_errors(document))), text


def test_fits_on_params_schemas() -> None:
    schema = {
        "type": "object",
        "properties": {"max": {"type": "integer"}, "names": {"type": "array", "items": {}}},
        "additionalProperties": False,
        "required": ["max"],
    }
    assert fits({"max": 3, "names": [1, "a"]}, schema)
    for bad in ({"max": "3"}, {"max": True}, {"max": 3, "maxx": 1}, {}, {"max": 3, "names": 1}):
        assert not fits(bad, schema)
        assert list(jsonschema.Draft202012Validator(schema).iter_errors(bad))
    # Keywords it does not know, and broken schemas: jsonschema decides.
    assert not fits(3, {"type": "integer", "minimum": 1})
    assert not fits(3, {"type": "integr"})
    assert not fits("a", {"pattern": "("})


def test_a_configured_run_that_fits_never_imports_jsonschema(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text(POLICY.replace("params: []", "params: {max: 1}"))
    (tmp_path / ".manifest-lint.yaml").write_text(
        "policy-paths: [mine.yaml]\npolicies:\n  max-layers: {params: {max: 20}}\n"
        "  p: {params: {max: 2}}\n"
    )
    code = (
        "import sys\nfrom manifest_lint.cli.main import main\n"
        "code = main(['policies', '--format', 'json'])\n"
        "print(code, 'jsonschema' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert done.stdout.splitlines()[-1] == "0 False", done.stdout + done.stderr


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=8)
    | st.sampled_from(["error", "Warning ", "image", "platform", "manifest-lint.dev/v1", "Policy"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["name", "expression", "params", "severity", "x", "enabled"]),
            inner,
            max_size=3,
        )
    ),
    max_leaves=8,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_fits_agrees_with_jsonschema_on_mutated_documents(data: st.DataObject) -> None:
    """A valid policy or configuration with one value replaced: ``fits`` is never True
    where jsonschema finds an error (a False where it finds none would only cost
    jsonschema's import)."""
    name = data.draw(st.sampled_from(MINE))
    texts = _policy_texts() if name == "policy.schema.json" else _config_texts()
    document = documents(data.draw(st.sampled_from([t for _, t in texts])))[0]
    path = data.draw(st.sampled_from(_paths(document)))
    replacement = data.draw(JSON)
    if path:
        target = document
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = replacement
    else:
        document = replacement
    expected = not list(validator(name).iter_errors(document))
    assert expected or not fits(document, load_schema(name)), (path, replacement)
