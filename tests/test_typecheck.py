"""Type checking at load: every expression against ``schemas/document.schema.json``
(``manifest_lint.cel.typed``), with ``FILE:LINE:COL`` and before any request."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from manifest_lint.cel.functions import BUILTIN_FUNCTIONS
from manifest_lint.cel.typed import TypeChecker
from manifest_lint.plugin.builtin import builtin_policies
from manifest_lint.policy.compile import type_check
from manifest_lint.policy.files import parse_policies
from tests.helpers.cli import run
from tests.helpers.images import PushedCase
from tests.helpers.registry_server import RegistryServer
from tests.test_lint_registry import _access_log

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ("cel-expr-python", "celpy")


@pytest.fixture(scope="module")
def checker() -> TypeChecker:
    return TypeChecker(BUILTIN_FUNCTIONS)


def test_every_builtin_policy_type_checks(checker: TypeChecker) -> None:
    policies = builtin_policies()
    assert len(policies) >= 6
    for policy in policies:
        type_check(policy, checker)


def test_the_readme_policy_type_checks(checker: TypeChecker) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", readme, re.DOTALL)
    policies = [p for b in blocks if "kind: Policy" in b for p in parse_policies(b, "README.md")]
    assert policies
    for policy in policies:
        type_check(policy, checker)


@pytest.mark.parametrize(
    ("expression", "result"),
    [
        ("image.annotations['x'] == 'y'", "bool"),
        ("'org.opencontainers.image.source' in image.annotations", "bool"),
        ("image.manifests.all(m, m.layerCount <= 40)", "bool"),
        ("has(platform.config.labels.x)", "bool"),
        ("now - timestamp(platform.config.created) < duration('2160h')", "bool"),
        ("dyn(platform.layerCount) == '3'", "bool"),
        ("params.max > 3 && params.name == 'x'", "bool"),
        ("'layers: ' + string(platform.layerCount)", "string"),
    ],
)
def test_expressions_that_type_check(checker: TypeChecker, expression: str, result: str) -> None:
    checker.check(expression, result)


POLICY = """\
apiVersion: manifest-lint.dev/v1
kind: Policy
metadata:
  name: typed
spec:
  scope: platform
  validations:
{validations}"""

#: name -> (validations, FILE:LINE:COL, what the message says)
CASES = {
    "field-typo": (
        "    - expression: platform.config.usr != ''\n",
        "8:34",
        "undefined field 'usr' not found in struct 'manifest_lint.document.v1.Config'",
    ),
    "map-is-not-a-message": (
        "    - expression: size(image.annotation) == 0\n",
        "8:29",
        "undefined field 'annotation' not found in struct 'manifest_lint.document.v1.Image'",
    ),
    "wrong-type-comparison": (
        '    - expression: platform.layerCount == "3"\n',
        "8:39",
        "found no matching overload for '_==_' applied to '(int, string)'",
    ),
    "validation-not-bool": (
        "    - expression: \"'1'\"\n",
        "8:20",
        "a validation must give a bool, this gives string",
    ),
    "message-not-string": (
        "    - expression: 'true'\n      messageExpression: platform.layerCount\n",
        "9:26",
        "a messageExpression must give a string, this gives int",
    ),
    "folded-second-line": (
        "    - expression: >-\n        platform.layerCount <= 40 &&\n"
        "        platform.config.usr != ''\n",
        "10:24",
        "undefined field 'usr'",
    ),
    "variable-typo": (
        "    - expression: size(variables.missin) == 0\n  variables:\n"
        "    - name: missing\n      expression: image.platforms.filter(p, p != '')\n",
        "8:33",
        "undeclared reference to 'variables.missin'",
    ),
    "variable-typed-by-its-expression": (
        "    - expression: variables.count == '3'\n  variables:\n"
        "    - name: count\n      expression: size(image.platforms)\n",
        "8:35",
        "found no matching overload for '_==_' applied to '(int, string)'",
    ),
    "param-typo": (
        "    - expression: platform.layerCount <= params.maxx\n  params: {max: 40}\n",
        "8:48",
        "undefined field 'maxx' not found in struct 'manifest_lint.document.v1.PolicyParams'",
    ),
    "param-wrong-type": (
        '    - expression: params.max == "40"\n  params: {max: 40}\n',
        "8:30",
        "found no matching overload for '_==_' applied to '(int, string)'",
    ),
    "match-condition-not-bool": (
        "    - expression: 'true'\n  matchConditions:\n"
        "    - name: n\n      expression: platform.layerCount\n",
        "11:19",
        "a match condition must give a bool, this gives int",
    ),
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", list(CASES))
def test_a_type_error_is_exit_2_at_its_character_before_any_request(
    case: str,
    backend: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    registry: RegistryServer,
    pushed: dict[str, PushedCase],
) -> None:
    validations, where, message = CASES[case]
    path = tmp_path / "typed.yaml"
    path.write_text(POLICY.format(validations=validations), encoding="utf-8")
    reference = next(iter(pushed.values())).reference
    before = len(_access_log(registry))
    result = run(
        capsys,
        "--cel-backend",
        backend,
        "--insecure-registry",
        registry.host,
        "--policy",
        str(path),
        "--select",
        "typed",
        reference,
    )
    after = _access_log(registry)
    assert result.code == 2, result.err
    assert result.err.startswith(
        f"manifest-lint: error: {path}:{where}: policy 'typed': "
        "CEL expression does not type-check: "
    ), result.err
    assert message in result.err
    # Only the sentinel requests of _access_log itself reached the registry.
    assert [p for p, agent in after[before:] if agent != "sentinel"] == []


def test_variables_are_typed_by_their_expressions(checker: TypeChecker) -> None:
    types = {"n": checker.check("size(image.platforms)", "dyn")}
    types["all"] = checker.check("image.platforms.map(p, p + '!')", "dyn", variables=types)
    checker.check("variables.n > 1 && variables.all.join(',') != ''", "bool", variables=types)


def test_a_policy_that_type_checks_still_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "typed.yaml"
    path.write_text(
        POLICY.format(validations="    - expression: ref.tag == 'nope'\n").replace(
            "scope: platform", "scope: image"
        ),
        encoding="utf-8",
    )
    result = run(capsys, "--offline", "--policy", str(path), "--select", "typed", "alpine")
    assert result.code == 1, result.err


@pytest.mark.parametrize(
    ("schema", "typed"),
    [
        ({"type": "object", "properties": {"max": {"type": "integer"}}}, False),  # others allowed
        (
            {
                "type": "object",
                "properties": {"m": {"type": "array"}},
                "additionalProperties": False,
            },
            False,
        ),
        (
            {
                "type": "object",
                "properties": {"a-b": {"type": "string"}},
                "additionalProperties": False,
            },
            False,
        ),
        (
            {
                "type": "object",
                "properties": {
                    "max": {"type": "integer"},
                    "names": {"type": "array", "items": {"type": "string"}},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    "on": {"type": "boolean"},
                },
                "additionalProperties": False,
            },
            True,
        ),
    ],
)
def test_params_are_a_message_only_where_one_can_say_them(
    checker: TypeChecker, schema: dict[str, object], typed: bool
) -> None:
    """Params a message cannot say stay a map of dyn: a typo there is not a load error."""
    from manifest_lint.cel.typed import params_definition
    from manifest_lint.errors import ExpressionError

    definition = params_definition(schema)
    assert (definition is not None) == typed
    if typed:
        checker.check(
            "params.max <= 3 && 'a' in params.names && params.on", "bool", params=definition
        )
        with pytest.raises(ExpressionError, match="undefined field 'maxx'"):
            checker.check("params.maxx <= 3", "bool", params=definition)
    else:
        checker.check("params.maxx <= 3", "bool", params=definition)
