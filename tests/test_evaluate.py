"""Policy semantics on real documents: pass, fail, error, skip; messages; variables;
platform scope; ``now``. On both CEL backends.

Documents are built the way a run builds them: real images from ``helpers.images``
written as OCI layouts, read back through ``fetch.load_image`` and ``LayoutSource``
(so every byte is digest-checked), then ``document.build_document``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from manifest_lint.cel import BUILTIN_FUNCTIONS, get_backend
from manifest_lint.cli.main import main
from manifest_lint.errors import PolicyError
from manifest_lint.image.reference import parse_reference
from manifest_lint.policy.compile import compile_policy
from manifest_lint.policy.document import build_document
from manifest_lint.policy.evaluate import evaluate
from manifest_lint.policy.files import parse_policies
from manifest_lint.results import Finding, Outcome, Severity
from manifest_lint.sources.layout import LayoutSource
from manifest_lint.sources.load import load_image
from tests.helpers.images import Built, Platform, build_index, build_manifest, write_layout

BACKENDS = ("cel-expr-python", "celpy")
NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)

#: The message each backend gives for a missing map key.
MISSING_KEY = {
    "cel-expr-python": 'Key not found in map : "nope"',
    "celpy": "no such key (nope)",
}

Document = dict[str, Any]


def document_of(built: Built, directory: Path, tag: str = "1.0") -> Document:
    write_layout(directory, built, tag)
    reference = parse_reference(f"oci:{directory}:{tag}")
    source = LayoutSource(reference)
    try:
        image = load_image(reference, source)
    finally:
        source.close()
    return build_document(image)


@pytest.fixture(scope="module")
def index_doc(tmp_path_factory: pytest.TempPathFactory) -> Document:
    """An OCI index: linux/amd64 (3 layers), linux/arm64/v8 (2 layers), annotated."""
    built = build_index(
        [
            build_manifest("linux/amd64", layers=3, seed="evaluate"),
            build_manifest("linux/arm64/v8", layers=2, seed="evaluate"),
        ],
        annotations={"org.opencontainers.image.source": "https://example.com/src"},
    )
    return document_of(built, tmp_path_factory.mktemp("index"))


@pytest.fixture(scope="module")
def single_doc(tmp_path_factory: pytest.TempPathFactory) -> Document:
    """A single OCI manifest, linux/amd64, 2 layers, user 1000."""
    built = build_manifest("linux/amd64", layers=2, user="1000", seed="evaluate-single")
    return document_of(built, tmp_path_factory.mktemp("single"))


def policy_yaml(spec: str, name: str = "p") -> str:
    return (
        f"apiVersion: manifest-lint.dev/v1\nkind: Policy\nmetadata:\n  name: {name}\nspec:\n{spec}"
    )


def run(
    backend: str, spec: str, document: Document, now: datetime = NOW, name: str = "p"
) -> list[Finding]:
    [policy] = parse_policies(policy_yaml(spec, name), "p.yaml")
    compiled = compile_policy(policy, get_backend(backend), BUILTIN_FUNCTIONS)
    return evaluate([compiled], document, now)


def one(backend: str, spec: str, document: Document, now: datetime = NOW) -> Finding:
    [finding] = run(backend, spec, document, now)
    return finding


def validations(*items: str) -> str:
    return "  validations:\n" + "".join(items)


def check(expression: str, **extra: str) -> str:
    """One validation item (values are written as YAML double-quoted strings)."""
    item = f"    - expression: {json.dumps(expression)}\n"
    for key, value in extra.items():
        item += f"      {key}: {json.dumps(value)}\n"
    return item


# --------------------------------------------------------------------------- outcomes


@pytest.mark.parametrize("backend", BACKENDS)
def test_pass_fail_error_skip(backend: str, index_doc: Document) -> None:
    passed = one(backend, validations(check("image.isIndex")), index_doc)
    assert (passed.outcome, passed.message, passed.details) == (Outcome.PASS, "", ())
    assert (passed.policy, passed.platform, passed.severity) == ("p", "", Severity.ERROR)

    failed = one(backend, validations(check("!image.isIndex")), index_doc)
    assert (failed.outcome, failed.message) == (Outcome.FAIL, "failed: !image.isIndex")

    errored = one(backend, validations(check("image.annotations['nope'] == 'x'")), index_doc)
    assert errored.outcome is Outcome.ERROR
    assert errored.message == (
        f"evaluation failed: image.annotations['nope'] == 'x': {MISSING_KEY[backend]}"
    )

    skipped = one(
        backend,
        "  matchConditions:\n    - name: single-manifest\n      expression: '!image.isIndex'\n"
        + validations(check("false")),
        index_doc,
    )
    assert (skipped.outcome, skipped.message) == (
        Outcome.SKIP,
        "match condition 'single-manifest' is false",
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_severity_is_the_policys(backend: str, index_doc: Document) -> None:
    finding = one(backend, "  severity: info\n" + validations(check("false")), index_doc)
    assert (finding.outcome, finding.severity) == (Outcome.FAIL, Severity.INFO)


@pytest.mark.parametrize("backend", BACKENDS)
def test_match_conditions_all_true_run_the_validations(backend: str, index_doc: Document) -> None:
    spec = (
        "  matchConditions:\n"
        "    - name: is-index\n      expression: image.isIndex\n"
        "    - name: two-platforms\n      expression: size(image.platforms) == 2\n"
        + validations(check("false"))
    )
    assert one(backend, spec, index_doc).outcome is Outcome.FAIL


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_first_false_match_condition_stops_evaluation(
    backend: str, index_doc: Document
) -> None:
    # The second condition would be an error; it is never evaluated.
    spec = (
        "  matchConditions:\n"
        "    - name: never\n      expression: 'false'\n"
        "    - name: broken\n      expression: image.annotations['nope'] == ''\n"
        + validations(check("true"))
    )
    finding = one(backend, spec, index_doc)
    assert (finding.outcome, finding.message) == (Outcome.SKIP, "match condition 'never' is false")


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_failing_match_condition_is_an_error_not_a_skip(
    backend: str, index_doc: Document
) -> None:
    spec = (
        "  matchConditions:\n    - name: boom\n      expression: image.annotations['nope'] == ''\n"
        + validations(check("true"))
    )
    finding = one(backend, spec, index_doc)
    assert (finding.outcome, finding.message) == (
        Outcome.ERROR,
        f"match condition 'boom' failed: {MISSING_KEY[backend]}",
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_match_condition_that_is_not_a_bool_is_an_error(
    backend: str, index_doc: Document
) -> None:
    spec = "  matchConditions:\n    - name: count\n      expression: dyn(size(image.platforms))\n"
    finding = one(backend, spec + validations(check("true")), index_doc)
    assert (finding.outcome, finding.message) == (
        Outcome.ERROR,
        "match condition 'count' returned 2, not a bool",
    )


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("expression", "shown"),
    [
        ("dyn(1)", "1"),
        ("dyn('true')", "'true'"),
        ("dyn(image.platforms)", "['linux/amd64', 'linux/arm64']"),
        ("dyn(null)", "None"),
    ],
)
def test_a_result_that_is_not_a_bool_fails_closed(
    backend: str, expression: str, shown: str, index_doc: Document
) -> None:
    finding = one(backend, validations(check(expression)), index_doc)
    assert finding.outcome is Outcome.ERROR
    assert finding.message == f"evaluation failed: {expression}: returned {shown}, not a bool"


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "expression",
    [
        "image.annotations['nope'] == 'x'",
        "image.manifests[5].layerCount < 10",
        "normalizePlatform('not a platform') == ''",
        "int(image.annotations['org.opencontainers.image.source']) > 0",
    ],
)
def test_a_runtime_error_is_an_error_never_a_pass(
    backend: str, expression: str, index_doc: Document
) -> None:
    # Negating the expression does not turn the error into a pass either.
    for text in (expression, f"!({expression})"):
        finding = one(backend, validations(check(text)), index_doc)
        assert finding.outcome is Outcome.ERROR, finding
        assert finding.message.startswith(f"evaluation failed: {text}: ")


@pytest.mark.parametrize("backend", BACKENDS)
def test_errors_win_over_failures_and_every_problem_is_in_the_details(
    backend: str, index_doc: Document
) -> None:
    spec = validations(
        check("false", message="plain failure"),
        check("image.annotations['nope'] == ''"),
        check("true"),
    )
    finding = one(backend, spec, index_doc)
    error = f"image.annotations['nope'] == '': {MISSING_KEY[backend]}"
    assert finding.outcome is Outcome.ERROR
    assert finding.message == f"evaluation failed: {error}"
    assert finding.details == (error, "plain failure")


@pytest.mark.parametrize("backend", BACKENDS)
def test_several_failed_validations_give_one_finding_with_each_message(
    backend: str, index_doc: Document
) -> None:
    spec = validations(check("false", message="first"), check("true"), check("1 > 2"))
    finding = one(backend, spec, index_doc)
    assert (finding.outcome, finding.message) == (Outcome.FAIL, "first; failed: 1 > 2")
    assert finding.details == ("first", "failed: 1 > 2")


# --------------------------------------------------------------------------- messages


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        pytest.param(
            {
                "message": "static",
                "messageExpression": "'has ' + joinStrings(image.platforms, '+')",
            },
            "has linux/amd64+linux/arm64",
            id="messageExpression-first",
        ),
        pytest.param({"message": "static"}, "static", id="message-without-expression"),
        pytest.param({}, "failed: size(image.platforms) > 5", id="expression-without-message"),
        pytest.param(
            {"message": "static", "messageExpression": "''"}, "static", id="empty-result-falls-back"
        ),
        pytest.param(
            {"message": "static", "messageExpression": "dyn(42)"},
            "static",
            id="non-string-result-falls-back",
        ),
    ],
)
def test_message_precedence(
    backend: str, extra: dict[str, str], expected: str, index_doc: Document
) -> None:
    finding = one(backend, validations(check("size(image.platforms) > 5", **extra)), index_doc)
    assert (finding.outcome, finding.message, finding.details) == (
        Outcome.FAIL,
        expected,
        (expected,),
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_failing_message_expression_still_fails_with_the_fallback_and_why(
    backend: str, index_doc: Document
) -> None:
    broken = "'x' + image.annotations['nope']"
    with_message = one(
        backend,
        validations(check("false", message="static", messageExpression=broken)),
        index_doc,
    )
    assert with_message.outcome is Outcome.FAIL  # the validation's own result stands
    assert with_message.message == f"static (messageExpression failed: {MISSING_KEY[backend]})"
    without = one(backend, validations(check("false", messageExpression=broken)), index_doc)
    assert without.message == f"failed: false (messageExpression failed: {MISSING_KEY[backend]})"


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_message_expression_is_not_evaluated_when_the_validation_passes(
    backend: str, index_doc: Document
) -> None:
    spec = validations(check("true", messageExpression="'x' + image.annotations['nope']"))
    assert one(backend, spec, index_doc).outcome is Outcome.PASS


# --------------------------------------------------------------------------- variables, params


@pytest.mark.parametrize("backend", BACKENDS)
def test_variables_are_evaluated_in_order_and_see_earlier_ones(
    backend: str, index_doc: Document
) -> None:
    spec = (
        "  variables:\n"
        "    - name: count\n      expression: size(image.platforms)\n"
        "    - name: doubled\n      expression: variables.count * 2\n"
        "    - name: label\n      expression: \"'n=' + string(variables.doubled)\"\n"
        + validations(check("variables.doubled == 4 && variables.label == 'n=4'"))
    )
    assert one(backend, spec, index_doc).outcome is Outcome.PASS


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_variable_cannot_see_a_later_one(backend: str, index_doc: Document) -> None:
    spec = (
        "  variables:\n"
        "    - name: early\n      expression: variables.late + 1\n"
        "    - name: late\n      expression: '1'\n" + validations(check("true"))
    )
    finding = one(backend, spec, index_doc)
    assert finding.outcome is Outcome.ERROR
    assert finding.message.startswith("variable 'early' failed: ")
    assert "late" in finding.message


@pytest.mark.parametrize("backend", BACKENDS)
def test_params_and_the_variables_built_from_them(backend: str, index_doc: Document) -> None:
    spec = (
        "  params: {platforms: [linux/amd64, linux/s390x], limits: {max: 3}}\n"
        "  variables:\n"
        "    - name: missing\n"
        "      expression: params.platforms.filter(p, !(p in image.platforms))\n"
        + validations(
            check(
                "size(variables.missing) == 0",
                messageExpression="'missing ' + joinStrings(variables.missing, ',')",
            ),
            check("image.manifests.all(m, m.layerCount <= params.limits.max)"),
        )
    )
    finding = one(backend, spec, index_doc)
    assert (finding.outcome, finding.message) == (Outcome.FAIL, "missing linux/s390x")


# --------------------------------------------------------------------------- platform scope


@pytest.mark.parametrize("backend", BACKENDS)
def test_platform_scope_gives_one_result_per_platform(backend: str, index_doc: Document) -> None:
    spec = "  scope: platform\n" + validations(
        check(
            "platform.layerCount <= 2",
            messageExpression="platform.platform.name + ' has ' + string(platform.layerCount)",
        )
    )
    found = run(backend, spec, index_doc)
    assert [(f.name, f.platform, f.outcome, f.message) for f in found] == [
        ("p[linux/amd64]", "linux/amd64", Outcome.FAIL, "linux/amd64 has 3"),
        ("p[linux/arm64]", "linux/arm64", Outcome.PASS, ""),
    ]


@pytest.mark.parametrize("backend", BACKENDS)
def test_platform_is_empty_in_image_scope(backend: str, single_doc: Document) -> None:
    spec = validations(check("size(platform) == 0 && size(image.manifests) == 1"))
    assert one(backend, spec, single_doc).outcome is Outcome.PASS
    spec = "  scope: platform\n" + validations(check("platform.config.user == '1000'"))
    finding = one(backend, spec, single_doc)
    assert (finding.name, finding.outcome) == ("p[linux/amd64]", Outcome.PASS)


def test_platform_scope_on_an_index_without_platforms_is_one_skip(tmp_path: Path) -> None:
    document = document_of(build_index([]), tmp_path)
    assert document["image"]["manifests"] == []
    spec = "  scope: platform\n" + validations(check("false"))
    [finding] = run("cel-expr-python", spec, document)
    assert (finding.name, finding.outcome, finding.message) == (
        "p",
        Outcome.SKIP,
        "the image has no platform manifests",
    )


@pytest.fixture(scope="module")
def same_platform_doc(tmp_path_factory: pytest.TempPathFactory) -> Document:
    """Two different linux/amd64 manifests, one of them listed twice, two Windows
    manifests with the same os.version and one with another, and a linux/arm64."""
    first = build_manifest("linux/amd64", layers=1, seed="first")
    second = build_manifest("linux/amd64", layers=2, seed="second")
    windows = [
        build_manifest(Platform("windows", "amd64", os_version=version), layers=1, seed=seed)
        for version, seed in (("10.0.1", "w1"), ("10.0.1", "w2"), ("10.0.2", "w3"))
    ]
    arm = build_manifest("linux/arm64", layers=1, seed="arm")
    built = build_index([first, second, first, *windows, arm])
    return document_of(built, tmp_path_factory.mktemp("same-platform"))


@pytest.mark.parametrize("backend", BACKENDS)
def test_platform_names_are_unique_even_for_entries_of_the_same_platform(
    backend: str, same_platform_doc: Document
) -> None:
    spec = "  scope: platform\n" + validations(check("platform.layerCount == 1"))
    found = run(backend, spec, same_platform_doc)
    names = [f.name for f in found]
    assert len(found) == 7
    assert len(set(names)) == 7, names
    digests = [m["digest"] for m in same_platform_doc["image"]["manifests"]]
    first, second = digests[0][:19], digests[1][:19]
    w1, w2 = digests[3][:19], digests[4][:19]
    assert names == [
        f"p[linux/amd64 {first} #1]",
        f"p[linux/amd64 {second}]",
        f"p[linux/amd64 {first} #2]",
        f"p[windows/amd64 {w1}]",
        f"p[windows/amd64 {w2}]",
        "p[windows/amd64 10.0.2]",
        "p[linux/arm64]",
    ]
    assert [f.outcome for f in found][:3] == [Outcome.PASS, Outcome.FAIL, Outcome.PASS]


def test_platform_names_are_the_documents(same_platform_doc: Document) -> None:
    """Result names are ``platform.name`` of the document: one name, not two."""
    spec = "  scope: platform\n" + validations(check("platform.layerCount == 1"))
    found = run("cel-expr-python", spec, same_platform_doc)
    manifests = same_platform_doc["image"]["manifests"]
    assert [f.name for f in found] == [f"p[{m['platform']['name']}]" for m in manifests]


# --------------------------------------------------------------------------- now


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "expression",
    [
        "now == timestamp('2025-01-02T03:04:05Z')",
        "now.getFullYear() == 2025 && now.getHours() == 3",
        "now - duration('24h') > timestamp('2025-01-01T00:00:00Z')",
        "now > timestamp(image.manifests[0].config.created)",
        "string(now) == '2025-01-02T03:04:05Z'",
    ],
)
def test_now_is_a_timezone_aware_timestamp(
    backend: str, expression: str, index_doc: Document
) -> None:
    finding = one(backend, validations(check(expression)), index_doc)
    assert finding.outcome is Outcome.PASS, finding


@pytest.mark.parametrize("backend", BACKENDS)
def test_now_in_another_zone_is_the_same_instant(backend: str, index_doc: Document) -> None:
    paris = NOW.astimezone(timezone(timedelta(hours=1)))
    spec = validations(check("now == timestamp('2025-01-02T03:04:05Z')"))
    assert one(backend, spec, index_doc, now=paris).outcome is Outcome.PASS


@pytest.mark.parametrize("backend", BACKENDS)
def test_now_through_main_is_the_time_of_the_run(
    backend: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "fresh.yaml"
    policy.write_text(
        policy_yaml(
            validations(
                check(
                    "now > timestamp('2024-06-01T00:00:00Z') && "
                    "now - timestamp(image.manifests[0].config.created) > duration('1h')"
                )
            ),
            name="fresh",
        )
    )
    before = datetime.now(UTC)
    code = main(
        [
            "--policy",
            str(policy),
            "--select",
            "fresh",
            "--cel-backend",
            backend,
            "--format",
            "json",
            f"oci:{Path(__file__).resolve().parents[1] / 'examples' / 'multiarch'}:1.0",
        ]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 0, report
    assert report["results"][0]["findings"][0]["outcome"] == "pass"
    assert datetime.now(UTC) >= before


# --------------------------------------------------------------------------- several policies


def test_every_policy_gives_its_results_in_policy_order(index_doc: Document) -> None:
    backend = get_backend("cel-expr-python")
    texts = [
        policy_yaml(validations(check("true")), name="b-image"),
        policy_yaml("  scope: platform\n" + validations(check("false")), name="a-platform"),
    ]
    compiled = [
        compile_policy(parse_policies(t, "p.yaml")[0], backend, BUILTIN_FUNCTIONS) for t in texts
    ]
    found = evaluate(compiled, index_doc, NOW)
    assert [(f.name, f.outcome) for f in found] == [
        ("b-image", Outcome.PASS),
        ("a-platform[linux/amd64]", Outcome.FAIL),
        ("a-platform[linux/arm64]", Outcome.FAIL),
    ]


def test_both_backends_give_the_same_findings(index_doc: Document) -> None:
    spec = "  scope: platform\n" + validations(
        check("platform.layerCount < 3", messageExpression="'n=' + string(platform.layerCount)")
    )
    findings = run("cel-expr-python", spec, index_doc)
    assert [(f.name, f.outcome, f.message) for f in findings] == [
        ("p[linux/amd64]", Outcome.FAIL, "n=3"),
        ("p[linux/arm64]", Outcome.PASS, ""),
    ]
    assert run("celpy", spec, index_doc) == findings


# ------------------------------------------------------------------ one activation per image

SHARED_CASES = [
    # variables in a chain, a message built from them, a trailing comment
    "  params:\n    want: [linux/amd64, linux/s390x]\n"
    "  variables:\n"
    '    - name: have\n      expression: "image.platforms // a comment"\n'
    '    - name: missing\n      expression: "params.want.filter(p, !(p in variables.have))"\n'
    + validations(
        check(
            "size(variables.missing) == 0",
            messageExpression="'missing: ' + joinStrings(variables.missing, ', ')",
        )
    ),
    # platform scope, params, a failing and a passing platform
    "  scope: platform\n  params:\n    max: 2\n"
    + validations(check("platform.layerCount <= params.max", message="too many")),
    # match conditions that read params and variables that fail at run time
    "  params:\n    enabled: true\n  matchConditions:\n"
    '    - name: enabled\n      expression: "params.enabled"\n'
    "  variables:\n    - name: bad\n      expression: \"image.annotations['nope']\"\n"
    + validations(check("variables.bad == 'x'")),
    # a validation error next to a failure
    validations(check("image.annotations['nope'] == ''"), check("false", message="no")),
    # platform scope with a variable that reads the platform and the image
    "  scope: platform\n  variables:\n"
    '    - name: arch\n      expression: "platform.platform.architecture"\n'
    + validations(check("variables.arch in image.platforms.map(p, p.split('/')[1])")),
]


def test_one_activation_per_image_gives_the_same_findings(
    index_doc: Document, single_doc: Document
) -> None:
    """cel-expr-python evaluates an image's image-scoped policies on one shared
    activation, each policy's params under its own scope; every finding must be the
    one the plain programs give (the same backend, one activation per evaluation). All
    cases run together, so one policy's params or variables must never leak into
    another's."""
    backend = get_backend("cel-expr-python")
    policies = [
        p
        for i, s in enumerate(SHARED_CASES)
        for p in parse_policies(policy_yaml(s, f"p{i}"), f"p{i}.yaml")
    ]
    compiled = [compile_policy(p, backend, BUILTIN_FUNCTIONS) for p in policies]
    assert (
        [c.shared is not None for c in compiled]
        == [p.scope == "image" for p in policies]
        == [True, False, True, True, False]
    )
    plain = [compile_policy(p, backend, BUILTIN_FUNCTIONS, share=False) for p in policies]
    assert all(c.shared is None for c in plain)
    for document in (index_doc, single_doc):
        shared_findings = evaluate(compiled, document, NOW)
        assert shared_findings == evaluate(plain, document, NOW)
        assert {f.outcome for f in shared_findings} >= {Outcome.PASS, Outcome.FAIL}
    assert {f.outcome for f in evaluate(compiled, index_doc, NOW)} == set(Outcome) - {
        Outcome.SKIP,
        Outcome.WAIVED,
    }


def test_only_a_backend_that_declares_it_shares_activations() -> None:
    """``SharesActivations`` is optional on a backend (cel-python does not follow it):
    its policies then keep one activation each."""
    policy = parse_policies(policy_yaml(validations(check("image.isIndex")), "p"), "p.yaml")[0]
    assert compile_policy(policy, get_backend("cel-expr-python"), BUILTIN_FUNCTIONS).shared
    assert compile_policy(policy, get_backend("celpy"), BUILTIN_FUNCTIONS).shared is None


def test_params_cel_cannot_take_stay_with_their_own_policy(index_doc: Document) -> None:
    """A YAML date in one policy's params is that policy's error, not every policy's."""
    backend = get_backend("cel-expr-python")
    dated = "  params:\n    since: 2024-01-01\n" + validations(check("has(params.since)"))
    policies = [
        *parse_policies(policy_yaml(dated, "dated"), "dated.yaml"),
        *parse_policies(policy_yaml(validations(check("image.isIndex")), "plain"), "plain.yaml"),
    ]
    compiled = [compile_policy(p, backend, BUILTIN_FUNCTIONS) for p in policies]
    assert [c.shared is None for c in compiled] == [True, False]
    findings = evaluate(compiled, index_doc, NOW)
    assert [(f.policy, f.outcome) for f in findings] == [
        ("dated", Outcome.ERROR),
        ("plain", Outcome.PASS),
    ]


class _CountingBackend:
    """cel-expr-python, recording the expressions it is asked to compile and the
    activations it makes."""

    def __init__(self) -> None:
        self.inner = get_backend("cel-expr-python")
        self.compiled: list[str] = []
        self.scoped: list[str] = []
        self.activations = 0

    def compile(self, text: str, **kwargs: Any) -> Any:
        self.compiled.append(text)
        return self.inner.compile(text, **kwargs)

    def compile_scoped(self, text: str, **kwargs: Any) -> Any:
        self.scoped.append(text)
        return self.inner.compile_scoped(text, **kwargs)  # type: ignore[attr-defined]

    def activation(self, values: Any) -> Any:
        self.activations += 1
        return self.inner.activation(values)


def test_each_expression_is_checked_as_written_and_shared_forms_wait_for_use(
    index_doc: Document,
) -> None:
    """At start-up every expression is compiled as written (the check); the shared
    forms are compiled when an image is first evaluated."""
    backend = _CountingBackend()
    policies = [
        p
        for i, s in enumerate(SHARED_CASES)
        for p in parse_policies(policy_yaml(s, f"p{i}"), f"p{i}.yaml")
    ]
    compiled = [compile_policy(p, backend, BUILTIN_FUNCTIONS) for p in policies]  # type: ignore[arg-type]
    written = [
        e.text
        for p in policies
        for e in (
            *(m.expression for m in p.match_conditions),
            *(v.expression for v in p.variables),
            *(x for v in p.validations for x in (v.expression, v.message_expression) if x),
        )
    ]
    assert sorted(backend.compiled) == sorted(written)
    assert not backend.scoped
    evaluate(compiled, index_doc, NOW)
    assert backend.activations == 1  # one activation for the image-scoped policies
    # The scoped programs: the expressions of the image-scoped policies, as written.
    image_scoped = [
        e.text
        for p in policies
        if p.scope == "image"
        for e in (
            *(m.expression for m in p.match_conditions),
            *(v.expression for v in p.variables),
            *(x for v in p.validations for x in (v.expression, v.message_expression) if x),
        )
    ]
    assert sorted(backend.scoped) == sorted(image_scoped)
    evaluate(compiled, index_doc, NOW)
    assert len(backend.scoped) == len(image_scoped)  # compiled once


@pytest.mark.parametrize(
    "expression",
    [
        "false) || (true",  # not an expression
        "policy0.params.size() >= 0",  # where another policy's params are, shared
        "true)",
    ],
)
def test_text_that_compiles_only_inside_the_shared_form_is_refused(expression: str) -> None:
    [policy] = parse_policies(policy_yaml(validations(check(expression))), "p.yaml")
    with pytest.raises(PolicyError, match="does not compile"):
        compile_policy(policy, get_backend("cel-expr-python"), BUILTIN_FUNCTIONS)


def test_a_variable_stays_dynamic_in_the_shared_programs(index_doc: Document) -> None:
    """Variables are values in an activation, not text in the expression: ``'a' + 1``
    on a variable is a run-time error, shared as without sharing."""
    spec = "  variables:\n    - name: text\n      expression: \"'a'\"\n" + validations(
        check("variables.text + 1 == 2")
    )
    [policy] = parse_policies(policy_yaml(spec), "p.yaml")
    backend = get_backend("cel-expr-python")
    compiled = compile_policy(policy, backend, BUILTIN_FUNCTIONS)
    [finding] = evaluate([compiled], index_doc, NOW)
    assert compiled.shared is not None
    assert compiled.shared.programs() is not None
    assert finding.outcome is Outcome.ERROR
    assert "_+_(string, int64)" in finding.message
    unshared = compile_policy(policy, backend, BUILTIN_FUNCTIONS, share=False)
    assert evaluate([unshared], index_doc, NOW) == [finding]
