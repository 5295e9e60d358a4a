"""Policy files -> Policy values: the schema, and error messages that name file:line:column.

Messages are compared whole: they are what a user reads to find the mistake.
CEL compile errors go through ``evaluate.compile_policy`` (and ``main``) on both
backends, since each backend points its caret at a different place.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from manifest_lint.cel import BUILTIN_FUNCTIONS, get_backend
from manifest_lint.cli.main import main
from manifest_lint.errors import ManifestLintError, PolicyError
from manifest_lint.policy.compile import compile_policy
from manifest_lint.policy.files import Policy, load_policies, load_policy_file, parse_policies
from manifest_lint.results import Severity
from manifest_lint.yamlfile import MAX_YAML_SIZE

BACKENDS = ("cel-expr-python", "celpy")

GOOD = """\
apiVersion: manifest-lint.dev/v1
kind: Policy
metadata:
  name: no-root
  description: Every platform runs as a non-root user.
  helpUri: https://example.com/no-root
spec:
  severity: warning
  scope: platform
  params: {allowed: ["0"]}
  matchConditions:
    - name: has-config.v1
      expression: platform.config.digest != ""
  variables:
    - name: user
      expression: platform.config.user
  validations:
    - expression: variables.user != ""
      message: runs as root
      messageExpression: "'user: ' + variables.user"
      reason: Forbidden
"""


def policy_text(spec: str, *, name: str = "p") -> str:
    """A policy document whose spec is ``spec`` (indented by the caller, two spaces)."""
    head = f"apiVersion: manifest-lint.dev/v1\nkind: Policy\nmetadata:\n  name: {name}\nspec:\n"
    return head + spec


VALID_SPEC = '  validations:\n    - expression: "true"\n'


def load_error(text: str, path: str = "p.yaml") -> str:
    with pytest.raises(PolicyError) as info:
        parse_policies(text, path)
    return str(info.value)


# --------------------------------------------------------------------------- the schema


def test_a_complete_policy_loads_with_every_field() -> None:
    [policy] = parse_policies(GOOD, "policies/no-root.yaml")
    assert policy.name == "no-root"
    assert policy.description == "Every platform runs as a non-root user."
    assert policy.help_uri == "https://example.com/no-root"
    assert policy.severity is Severity.WARNING
    assert policy.scope == "platform"
    assert policy.params == {"allowed": ["0"]}
    assert type(policy.params) is dict  # plain values go to CEL, not the located ones
    assert [(m.name, m.expression.text) for m in policy.match_conditions] == [
        ("has-config.v1", 'platform.config.digest != ""')
    ]
    assert [(v.name, v.expression.text) for v in policy.variables] == [
        ("user", "platform.config.user")
    ]
    [validation] = policy.validations
    assert validation.expression.text == 'variables.user != ""'
    assert (validation.expression.line, validation.expression.column) == (18, 19)
    assert validation.message == "runs as root"
    assert validation.message_expression is not None
    assert validation.message_expression.text == "'user: ' + variables.user"
    # A quoted scalar's text starts one column after the quote.
    assert (validation.message_expression.line, validation.message_expression.column) == (20, 27)
    assert validation.reason == "Forbidden"
    assert (policy.path, policy.line, policy.origin) == ("policies/no-root.yaml", 1, "file")
    info = policy.info()
    assert (info.name, info.severity, info.scope, info.source) == (
        "no-root",
        Severity.WARNING,
        "platform",
        "policies/no-root.yaml",
    )


def test_defaults_severity_error_scope_image_no_params() -> None:
    [policy] = parse_policies(policy_text(VALID_SPEC), "p.yaml")
    assert (policy.severity, policy.scope, policy.params) == (Severity.ERROR, "image", {})
    assert policy.match_conditions == policy.variables == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            policy_text(VALID_SPEC + "  bogus: 1\n"),
            "p.yaml:8:3: unknown field 'bogus' in spec (allowed: enabled, severity, scope, params, "
            "paramsSchema, matchConditions, variables, validations)",
            id="unknown-field-in-spec",
        ),
        pytest.param(
            policy_text(VALID_SPEC).replace("kind: Policy\n", "kind: Policy\nstatus: {}\n"),
            "p.yaml:3:1: unknown field 'status' in the policy (allowed: apiVersion, kind, "
            "metadata, spec)",
            id="unknown-field-at-top",
        ),
        pytest.param(
            policy_text(VALID_SPEC).replace("  name: p\n", "  name: p\n  labels: {}\n"),
            "p.yaml:5:3: unknown field 'labels' in metadata (allowed: name, description, helpUri)",
            id="unknown-field-in-metadata",
        ),
        pytest.param(
            policy_text('  validations:\n    - expression: "true"\n      messsage: typo\n'),
            "p.yaml:8:7: unknown field 'messsage' in spec.validations[0] (allowed: expression, "
            "message, messageExpression, reason)",
            id="unknown-field-in-validation",
        ),
        pytest.param(
            policy_text(VALID_SPEC).replace("  name: p\n", "  name: p\n  helpUri: our wiki\n"),
            "p.yaml:5:12: metadata.helpUri must be an absolute URI (https://...), not 'our wiki'",
            id="help-uri-not-a-uri",
        ),
        pytest.param(
            policy_text(VALID_SPEC).replace("dev/v1", "dev/v2"),
            "p.yaml:1:13: apiVersion must be 'manifest-lint.dev/v1', not 'manifest-lint.dev/v2'",
            id="wrong-apiVersion",
        ),
        pytest.param(
            policy_text(VALID_SPEC).replace("kind: Policy", "kind: ValidatingAdmissionPolicy"),
            "p.yaml:2:7: kind must be 'Policy', not 'ValidatingAdmissionPolicy'",
            id="wrong-kind",
        ),
        pytest.param(
            policy_text(VALID_SPEC).replace("kind: Policy\n", ""),
            "p.yaml:1:1: the policy needs 'kind'",
            id="missing-kind",
        ),
        pytest.param(
            policy_text(VALID_SPEC, name="No_Root"),
            "p.yaml:4:9: metadata.name 'No_Root' must be lower-case letters, digits and '-' "
            "(at most 64, starting and ending with a letter or digit)",
            id="bad-name",
        ),
        pytest.param(
            policy_text(VALID_SPEC, name="-x"),
            "p.yaml:4:9: metadata.name '-x' must be lower-case letters, digits and '-' "
            "(at most 64, starting and ending with a letter or digit)",
            id="name-starting-with-dash",
        ),
        pytest.param(
            policy_text(VALID_SPEC, name="12"),
            "p.yaml:4:9: metadata.name must be a string",
            id="name-not-a-string",
        ),
        pytest.param(
            policy_text("  severity: error\n"),
            "p.yaml:6:3: spec.validations needs at least one validation",
            id="missing-validations",
        ),
        pytest.param(
            policy_text("  validations: []\n"),
            "p.yaml:6:3: spec.validations needs at least one validation",
            id="empty-validations",
        ),
        pytest.param(
            policy_text("  validations: {expression: 'true'}\n"),
            "p.yaml:6:16: spec.validations must be a list",
            id="validations-not-a-list",
        ),
        pytest.param(
            policy_text("  validations:\n    - message: no expression\n"),
            "p.yaml:7:7: spec.validations[0] needs 'expression'",
            id="validation-without-expression",
        ),
        pytest.param(
            policy_text("  validations:\n    - expression: '  '\n"),
            "p.yaml:7:19: spec.validations[0].expression is empty",
            id="empty-expression",
        ),
        pytest.param(
            policy_text("  validations:\n    - expression: true\n"),
            "p.yaml:7:19: spec.validations[0].expression must be a string",
            id="expression-is-a-yaml-bool",
        ),
        pytest.param(
            policy_text("  severity: fatal\n" + VALID_SPEC),
            "p.yaml:6:13: unknown severity 'fatal' (choose from error, warning, info)",
            id="bad-severity",
        ),
        pytest.param(
            policy_text("  scope: layer\n" + VALID_SPEC),
            "p.yaml:6:10: spec.scope must be one of image, platform, not 'layer'",
            id="bad-scope",
        ),
        pytest.param(
            policy_text("  params: [1, 2]\n" + VALID_SPEC),
            "p.yaml:6:11: spec.params must be a mapping",
            id="params-not-a-mapping",
        ),
        pytest.param(
            policy_text("  variables:\n    - name: my-var\n      expression: '1'\n" + VALID_SPEC),
            "p.yaml:7:13: spec.variables[0].name 'my-var' must be an identifier "
            "(letters, digits, '_')",
            id="variable-name-not-an-identifier",
        ),
        pytest.param(
            policy_text("  variables:\n    - name: 2x\n      expression: '1'\n" + VALID_SPEC),
            "p.yaml:7:13: spec.variables[0].name '2x' must be an identifier (letters, digits, '_')",
            id="variable-name-starting-with-a-digit",
        ),
        pytest.param(
            policy_text(
                "  variables:\n    - name: a\n      expression: '1'\n"
                "    - name: a\n      expression: '2'\n" + VALID_SPEC
            ),
            "p.yaml:9:13: spec.variables[1].name 'a' is used twice",
            id="duplicate-variable",
        ),
        pytest.param(
            policy_text(
                "  matchConditions:\n    - name: a b\n      expression: 'true'\n" + VALID_SPEC
            ),
            "p.yaml:7:13: spec.matchConditions[0].name 'a b' must be letters, digits, '-', '_' "
            "and '.' (at most 63)",
            id="bad-match-condition-name",
        ),
        pytest.param(
            policy_text("  params: {a: [1, 2}\n" + VALID_SPEC),
            "p.yaml:6:20: invalid YAML: expected ',' or ']', but got '}'",
            id="yaml-syntax-error",
        ),
        pytest.param(
            policy_text("  params:\n    a: 1\n   b: 2\n" + VALID_SPEC),
            "p.yaml:8:4: invalid YAML: expected <block end>, but found '<block mapping start>'",
            id="yaml-bad-indentation",
        ),
        pytest.param(
            policy_text("  params: &p {a: 1}\n  matchConditions: *p\n" + VALID_SPEC),
            "p.yaml:7:20: YAML aliases (*name) are not allowed here",
            id="yaml-alias",
        ),
        pytest.param(
            policy_text(VALID_SPEC).replace("kind: Policy\n", "kind: Policy\nkind: Policy\n"),
            "p.yaml:3:1: duplicate key 'kind'",
            id="duplicate-key",
        ),
        pytest.param(
            policy_text("  scope: image\n  scope: platform\n" + VALID_SPEC),
            "p.yaml:7:3: duplicate key 'scope'",
            id="duplicate-key-nested",
        ),
        pytest.param(
            policy_text("  params: {? [a] : 1}\n" + VALID_SPEC),
            "p.yaml:6:14: mapping keys must be strings, not ['a']",
            id="non-string-key",
        ),
        pytest.param(
            policy_text("  params: {when: 2024-02-30}\n" + VALID_SPEC),
            "p.yaml:6:18: invalid YAML: cannot read this timestamp value "
            "(ValueError: day is out of range for month)",
            id="impossible-date",
        ),
        pytest.param("- a\n- b\n", "p.yaml:1: a policy document must be a mapping", id="a-list"),
        pytest.param("just text\n", "p.yaml:1: a policy document must be a mapping", id="scalar"),
        pytest.param(
            policy_text(VALID_SPEC) + "---\n- not a policy\n",
            "p.yaml:9: a policy document must be a mapping",
            id="second-document-not-a-mapping",
        ),
        pytest.param("", "p.yaml: no policy in this file", id="empty-file"),
        pytest.param(
            "# only a comment\n---\n---\n", "p.yaml: no policy in this file", id="only-comments"
        ),
    ],
)
def test_loading_errors_name_file_line_and_column(text: str, message: str) -> None:
    assert load_error(text) == message


def test_error_carries_structured_fields() -> None:
    with pytest.raises(PolicyError) as info:
        parse_policies(policy_text("  scope: layer\n" + VALID_SPEC), "dir/p.yaml")
    error = info.value
    assert (error.path, error.line, error.column, error.policy) == ("dir/p.yaml", 6, 10, "p")


def test_multi_document_file_gives_every_policy_with_its_start_line() -> None:
    text = policy_text(VALID_SPEC, name="first") + "---\n" + policy_text(VALID_SPEC, name="second")
    first, second = parse_policies(text, "two.yaml")
    assert (first.name, first.line) == ("first", 1)
    assert (second.name, second.line) == ("second", 9)
    # Positions are file positions, not positions within the document.
    assert second.validations[0].expression.line == 15


def test_multi_document_error_points_into_the_right_document() -> None:
    text = (
        policy_text(VALID_SPEC, name="first") + "---\n" + policy_text("  scope: x\n" + VALID_SPEC)
    )
    assert load_error(text) == "p.yaml:14:10: spec.scope must be one of image, platform, not 'x'"


def test_a_file_over_one_mebibyte_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    body = policy_text(VALID_SPEC)
    path.write_text(body + "# " + "x" * (MAX_YAML_SIZE - len(body)) + "\n")
    size = path.stat().st_size
    assert size > MAX_YAML_SIZE
    with pytest.raises(PolicyError) as info:
        load_policy_file(path)
    assert str(info.value) == f"{path}: file is {size} bytes, above the 1048576-byte limit"


def test_a_file_of_exactly_one_mebibyte_loads(tmp_path: Path) -> None:
    path = tmp_path / "edge.yaml"
    body = policy_text(VALID_SPEC) + "# "
    path.write_text(body + "x" * (MAX_YAML_SIZE - len(body) - 1) + "\n")
    assert path.stat().st_size == MAX_YAML_SIZE
    assert [p.name for p in load_policy_file(path)] == ["p"]


def test_not_utf8_and_missing_files(tmp_path: Path) -> None:
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(b"# caf\xe9\n")
    with pytest.raises(PolicyError) as info:
        load_policy_file(bad)
    assert str(info.value) == f"{bad}: not UTF-8 text (invalid continuation byte at byte 5)"
    with pytest.raises(PolicyError) as info:
        load_policies([tmp_path / "nope"])
    assert str(info.value) == f"{tmp_path / 'nope'}: no such file or directory"


def test_directories_load_yaml_and_yml_recursively_sorted(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "z.yml").write_text(policy_text(VALID_SPEC, name="z"))
    (tmp_path / "a.yaml").write_text(policy_text(VALID_SPEC, name="a"))
    (tmp_path / "notes.txt").write_text("not a policy")
    assert [p.name for p in load_policies([tmp_path])] == ["a", "z"]


def test_with_overrides_merges_params_and_keeps_the_rest() -> None:
    [policy] = parse_policies(policy_text("  params: {a: 1, b: 2}\n" + VALID_SPEC), "p.yaml")
    changed = policy.with_overrides(severity=Severity.INFO, params={"b": 3, "c": 4})
    assert changed.params == {"a": 1, "b": 3, "c": 4}
    assert changed.severity is Severity.INFO
    assert policy.params == {"a": 1, "b": 2}  # the original is untouched (frozen value)
    assert policy.with_overrides().severity is Severity.ERROR


# --------------------------------------------------------------------------- CEL compile errors


def compile_error(text: str, backend: str) -> str:
    [policy] = parse_policies(text, "policies/no-root.yaml")
    with pytest.raises(PolicyError) as info:
        compile_policy(policy, get_backend(backend), BUILTIN_FUNCTIONS)
    return str(info.value)


PREFIX = "policies/no-root.yaml:{}: policy 'p': CEL expression does not compile: "

#: (YAML for the validation, {backend: (line:column, detail, caret lines)}).
#: cel-cpp points at the failing select ('.'), cel-python at the identifier.
COMPILE_CASES = {
    "plain": (
        "    - expression: platfrom.config.user != ''\n",
        {
            "cel-expr-python": (
                "7:34",
                "undeclared reference to 'platfrom.config.user'",
                "platfrom.config.user != ''\n               ^",
            ),
            "celpy": (
                "7:19",
                "undeclared reference to 'platfrom'",
                "platfrom.config.user != ''\n^",
            ),
        },
    ),
    "double-quoted": (
        '    - expression: "size(image.platforms) > 1 && platfrom.x"\n',
        {
            "cel-expr-python": (
                "7:57",
                "undeclared reference to 'platfrom.x'",
                "size(image.platforms) > 1 && platfrom.x\n" + " " * 37 + "^",
            ),
            "celpy": (
                "7:49",
                "undeclared reference to 'platfrom'",
                "size(image.platforms) > 1 && platfrom.x\n" + " " * 29 + "^",
            ),
        },
    ),
    "single-quoted": (
        "    - expression: 'image.isIndex && platfrom.x'\n",
        {
            "cel-expr-python": (
                "7:45",
                "undeclared reference to 'platfrom.x'",
                "image.isIndex && platfrom.x\n" + " " * 25 + "^",
            ),
            "celpy": (
                "7:37",
                "undeclared reference to 'platfrom'",
                "image.isIndex && platfrom.x\n" + " " * 17 + "^",
            ),
        },
    ),
    # The text of a literal block starts on the line after '|', at its indentation.
    "literal-block": (
        "    - expression: |\n        size(image.platforms) > 1 &&\n          platfrom.x\n",
        {
            "cel-expr-python": (
                "9:19",
                "undeclared reference to 'platfrom.x'",
                "  platfrom.x\n          ^",
            ),
            "celpy": ("9:11", "undeclared reference to 'platfrom'", "  platfrom.x\n  ^"),
        },
    ),
    "literal-block-first-line": (
        "    - expression: |-\n        platfrom.x\n",
        {
            "cel-expr-python": (
                "8:17",
                "undeclared reference to 'platfrom.x'",
                "platfrom.x\n        ^",
            ),
            "celpy": ("8:9", "undeclared reference to 'platfrom'", "platfrom.x\n^"),
        },
    ),
    # A folded block joins its lines: the second line's typo is on the file's line 9.
    "folded-block-second-line": (
        "    - expression: >-\n        size(image.platforms) > 1 &&\n          platfrom.x\n",
        {
            "cel-expr-python": (
                "9:19",
                "undeclared reference to 'platfrom.x'",
                "  platfrom.x\n" + " " * 10 + "^",
            ),
            "celpy": (
                "9:11",
                "undeclared reference to 'platfrom'",
                "  platfrom.x\n" + " " * 2 + "^",
            ),
        },
    ),
    "folded-block-joined-line": (
        "    - expression: >-\n        size(image.platforms) > 1 &&\n        platfrom.x\n",
        {
            "cel-expr-python": (
                "9:17",
                "undeclared reference to 'platfrom.x'",
                "size(image.platforms) > 1 && platfrom.x\n" + " " * 37 + "^",
            ),
            "celpy": (
                "9:9",
                "undeclared reference to 'platfrom'",
                "size(image.platforms) > 1 && platfrom.x\n" + " " * 29 + "^",
            ),
        },
    ),
    # A double-quoted scalar over two lines, with an escaped quote before the typo.
    "double-quoted-multi-line": (
        '    - expression: "image.isIndex && \\"a\\" != \n        platfrom.x"\n',
        {
            "cel-expr-python": (
                "8:17",
                "undeclared reference to 'platfrom.x'",
                'image.isIndex && "a" != platfrom.x\n' + " " * 32 + "^",
            ),
            "celpy": (
                "8:9",
                "undeclared reference to 'platfrom'",
                'image.isIndex && "a" != platfrom.x\n' + " " * 24 + "^",
            ),
        },
    ),
    "syntax-error": (
        "    - expression: 'size(image.platforms) >'\n",
        {
            "cel-expr-python": (
                "7:43",
                "Syntax error: mismatched input '<EOF>' expecting {'[', '{', '(', '.', '-', '!', "
                "'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}",
                "size(image.platforms) >\n" + " " * 23 + "^",
            ),
            "celpy": (
                "7:43",
                "Syntax error: unexpected end of expression",
                "size(image.platforms) >\n" + " " * 23 + "^",
            ),
        },
    ),
    "message-expression": (
        "    - expression: 'true'\n      messageExpression: \"'x' + nope\"\n",
        {
            "cel-expr-python": ("8:33", "undeclared reference to 'nope'", "'x' + nope\n      ^"),
            "celpy": ("8:33", "undeclared reference to 'nope'", "'x' + nope\n      ^"),
        },
    ),
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", list(COMPILE_CASES))
def test_cel_compile_error_names_file_line_column_and_caret(case: str, backend: str) -> None:
    validation, expected = COMPILE_CASES[case]
    where, detail, caret = expected[backend]
    text = policy_text("  validations:\n" + validation)
    assert compile_error(text, backend) == PREFIX.format(where) + detail + "\n" + caret


@pytest.mark.parametrize("backend", BACKENDS)
def test_compile_errors_in_variables_and_match_conditions(backend: str) -> None:
    text = policy_text(
        "  matchConditions:\n    - name: ok\n      expression: image.isIndex\n"
        "  variables:\n    - name: n\n      expression: size(imag.platforms)\n" + VALID_SPEC
    )
    message = compile_error(text, backend)
    assert message.startswith("policies/no-root.yaml:11:")
    assert "undeclared reference to 'imag" in message
    text = policy_text(
        "  matchConditions:\n    - name: bad\n      expression: image.isIndex &&\n" + VALID_SPEC
    )
    assert compile_error(text, backend).startswith(
        "policies/no-root.yaml:8:35: policy 'p': CEL expression does not compile: Syntax error"
    )


def test_compile_error_through_main_exits_2_with_the_caret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "no-root.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            apiVersion: manifest-lint.dev/v1
            kind: Policy
            metadata:
              name: no-root
            spec:
              scope: platform
              validations:
                - expression: |
                    platfrom.config.user != ""
            """
        )
    )
    # The reference is never read: compiling comes first.
    code = main(["--policy", str(path), "--select", "no-root", "127.0.0.1:9/never/read:1"])
    err = capsys.readouterr().err
    assert code == 2
    assert err == (
        f"manifest-lint: error: {path}:9:24: policy 'no-root': CEL expression does not compile: "
        "undeclared reference to 'platfrom.config.user'\n"
        'platfrom.config.user != ""\n'
        "               ^\n"
    )


def test_loading_error_through_main_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(policy_text("  scope: layer\n" + VALID_SPEC))
    code = main(["--policy", str(path), "127.0.0.1:9/never/read:1"])
    assert code == 2
    assert capsys.readouterr().err == (
        f"manifest-lint: error: {path}:6:10: spec.scope must be one of image, platform, "
        "not 'layer'\n"
    )


def test_a_policy_named_like_a_builtin_is_refused_naming_both(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(policy_text(VALID_SPEC, name="max-layers"))
    assert main(["--policy", str(path), "oci:examples/multiarch:1.0"]) == 2
    assert capsys.readouterr().err == (
        "manifest-lint: error: two policies are named 'max-layers': builtin:max-layers.yaml "
        f"and {path}\n"
    )


# --------------------------------------------------------------------------- property


YAML_FRAGMENTS = st.sampled_from(
    [
        "apiVersion: manifest-lint.dev/v1\n",
        "kind: Policy\n",
        "metadata:\n",
        "  name: p\n",
        "spec:\n",
        "  validations:\n",
        "    - expression: 'true'\n",
        "  variables:\n",
        "    - name: a\n",
        "      expression: |\n",
        "        1 +\n",
        "---\n",
        "...\n",
        "&a ",
        "*a ",
        "!!timestamp ",
        "!!int ",
        "!!binary ",
        "!!python/object:os.system ",
        "? ",
        ": ",
        "- ",
        "[",
        "]",
        "{",
        "}",
        '"',
        "'",
        "\t",
        "%YAML 1.1\n",
        "2024-02-30",
        "0x",
        "\x00",
        "\ud800",
        "\ufeff",
        "#",
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=200), st.lists(YAML_FRAGMENTS, max_size=25).map("".join)))
def test_arbitrary_text_gives_policies_or_a_manifest_lint_error(text: str) -> None:
    try:
        policies = parse_policies(text, "fuzz.yaml")
    except ManifestLintError as exc:
        assert str(exc).startswith("fuzz.yaml")
    else:
        assert policies
        assert all(isinstance(p, Policy) for p in policies)
