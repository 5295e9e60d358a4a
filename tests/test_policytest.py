"""``manifest-lint test``: policy test files (``*.policytest.yaml``) driven through
``main(argv)``, against OCI layouts written by the test helpers, a document file, and
the real registry."""

from __future__ import annotations

import json
import os
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from manifest_lint.cli.main import main
from tests.helpers.images import build_index, build_manifest, push, write_layout
from tests.helpers.registry_server import RegistryServer

HEAD = """\
apiVersion: manifest-lint.dev/v1
kind: PolicyTest
metadata:
  name: rules
spec:
"""


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["test", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A policy repository: a two-platform release (arm64 with 3 layers, amd64 with
    1) and a single-platform image, as OCI layouts under fixtures/."""
    release = build_index(
        [build_manifest("linux/amd64", layers=1), build_manifest("linux/arm64", layers=3)]
    )
    write_layout(tmp_path / "fixtures" / "release", release, "1.0")
    write_layout(tmp_path / "fixtures" / "single", build_manifest("linux/amd64"), "1.0")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _write(repo: Path, spec: str, name: str = "rules.policytest.yaml") -> Path:
    path = repo / name
    path.write_text(HEAD + textwrap.indent(textwrap.dedent(spec), "  "), encoding="utf-8")
    return path


PLATFORMS = """\
policies: [required-platforms, max-layers]
params:
  max-layers: {max: 2}
cases:
  - name: release
    image: oci:fixtures/release:1.0
    expect:
      required-platforms: pass
      max-layers[linux/amd64]: pass
      max-layers[linux/arm64]: fail
    messages:
      max-layers[linux/arm64]: "^3 layers"
  - name: single
    image: oci:fixtures/single:1.0
    expect: {required-platforms: fail}
"""


def test_a_passing_file_exits_0_with_per_platform_expectations(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(repo, PLATFORMS)
    code, out, err = _run(capsys)
    assert (code, err) == (0, "")
    assert "PASS  release\n" in out
    assert "PASS  single\n" in out
    assert out.endswith("2 cases in 1 file: 2 passed, 0 failed\n")


def test_a_failing_expectation_exits_1_with_expected_actual_and_message(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(
        repo, PLATFORMS.replace("max-layers[linux/arm64]: fail", "max-layers[linux/arm64]: pass")
    )
    code, out, _err = _run(capsys)
    assert code == 1
    assert "FAIL  release\n" in out
    assert "max-layers[linux/arm64]: expected pass, got fail: 3 layers, the maximum is 2" in out
    assert out.endswith("1 passed, 1 failed\n")


def test_a_message_that_does_not_match_fails(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(repo, PLATFORMS.replace('"^3 layers"', '"^4 layers"'))
    code, out, _err = _run(capsys)
    assert code == 1
    assert "max-layers[linux/arm64]: message does not match /^4 layers/: 3 layers" in out


@pytest.mark.parametrize(
    ("old", "new", "line", "says"),
    [
        (
            "max-layers[linux/arm64]: fail",
            "max-layers[linux/arm46]: fail",
            15,
            "max-layers[linux/arm46] is not a result of this case; results are: "
            "max-layers[linux/amd64], max-layers[linux/arm64], required-platforms",
        ),
        (
            "required-platforms: pass",
            "required-platform: pass",
            13,
            "'required-platform' is not a policy of spec.policies",
        ),
        ("cases:", "stirct: true\ncases:", 9, "'stirct' was unexpected"),
        ("fixtures/single:1.0", "fixtures/singel:1.0", 19, "no such fixture"),
        ("expect: {required-platforms: fail}", "expect: {required-platforms: fails}", 20, "fails"),
        (
            "[required-platforms, max-layers]",
            "[required-platforms, max-layayers]",
            6,
            "max-layayers",
        ),
    ],
    ids=["result-name", "policy-name", "key", "fixture", "outcome-word", "spec-policy"],
)
def test_a_mistake_in_a_test_file_exits_2_naming_file_and_line(
    repo: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, line: int, says: str
) -> None:
    assert old in PLATFORMS
    _write(repo, PLATFORMS.replace(old, new))
    code, out, err = _run(capsys)
    assert code == 2, out
    assert err.startswith(f"manifest-lint: error: rules.policytest.yaml:{line}: "), err
    assert says in err


def test_a_fixture_that_cannot_be_read_fails_its_case_with_the_reason(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(repo, PLATFORMS.replace("fixtures/single:1.0", "fixtures/single:2.0"))
    code, out, _err = _run(capsys)
    assert code == 1
    assert "FAIL  single\n        cannot read oci:fixtures/single:2.0: " in out
    assert "PASS  release" in out


def test_no_test_files_exit_2(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = _run(capsys)
    assert code == 2
    assert "no test files (*.policytest.yaml) under ." in err


def test_strict_requires_every_result_to_be_listed(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = PLATFORMS.replace("cases:", "strict: true\ncases:")
    _write(repo, spec)
    code, out, _err = _run(capsys)
    assert code == 1
    assert "max-layers[linux/amd64]: not listed in expect (spec.strict), got pass" in out
    assert "FAIL  single" in out  # its max-layers[linux/amd64] is not listed either
    assert "PASS  release" in out


def test_a_policy_file_relative_to_the_test_file_and_a_document_case(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "policies").mkdir()
    (repo / "policies" / "has-user.yaml").write_text(
        textwrap.dedent("""\
        apiVersion: manifest-lint.dev/v1
        kind: Policy
        metadata: {name: few-platforms}
        spec:
          scope: image
          validations:
            - expression: size(image.platforms) <= 1
              message: more than one platform
        """),
        encoding="utf-8",
    )
    code = main(["inspect", "--format", "json", "oci:fixtures/release:1.0"])
    document = json.loads(capsys.readouterr().out)
    assert code == 0
    document["image"]["platforms"] = ["linux/amd64"]
    (repo / "fixtures" / "edited.json").write_text(json.dumps(document), encoding="utf-8")
    _write(
        repo,
        """\
        policies: [policies/has-user.yaml]
        cases:
          - name: release has two
            image: oci:fixtures/release:1.0
            expect: {few-platforms: fail}
          - name: edited to one
            document: fixtures/edited.json
            expect: {few-platforms: pass}
        """,
        name="sub.policytest.yaml",
    )
    code, out, err = _run(capsys, "sub.policytest.yaml")
    assert (code, err) == (0, ""), out
    assert "PASS  edited to one" in out

    (repo / "fixtures" / "edited.json").write_text('{"version": 1}', encoding="utf-8")
    code, _out, err = _run(capsys, "sub.policytest.yaml")
    assert code == 2
    assert "not a policy document" in err


def test_now_is_fixed_unless_the_file_sets_it(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "now.yaml").write_text(
        textwrap.dedent("""\
        apiVersion: manifest-lint.dev/v1
        kind: Policy
        metadata: {name: after-2026-03}
        spec:
          scope: image
          validations:
            - expression: now > timestamp('2026-03-01T00:00:00Z')
              message: too early
        """),
        encoding="utf-8",
    )
    spec = """\
    policies: [now.yaml]
    cases:
      - name: c
        image: oci:fixtures/single:1.0
        expect: {after-2026-03: fail}
    """
    _write(repo, spec)
    assert _run(capsys)[0] == 0
    _write(repo, textwrap.dedent(spec).replace("cases:", 'now: "2026-06-01T00:00:00Z"\ncases:'))
    code, out, err = _run(capsys)
    assert code == 1, err
    assert "after-2026-03: expected fail, got pass" in out


def test_junit_has_one_suite_per_file_and_one_case_per_case(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(
        repo, PLATFORMS.replace("max-layers[linux/arm64]: fail", "max-layers[linux/arm64]: pass")
    )
    _write(repo, PLATFORMS, name="b.policytest.yaml")
    code, _out, _err = _run(capsys, "--junit", "out.xml")
    assert code == 1
    root = ET.parse(repo / "out.xml").getroot()
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["b.policytest.yaml", "rules.policytest.yaml"]
    assert [len(s.findall("testcase")) for s in suites] == [2, 2]
    failure = suites[1].find("testcase/failure")
    assert failure is not None
    assert "expected pass, got fail: 3 layers" in (failure.get("message") or "")
    assert root.get("failures") == "1"
    xsd = os.environ.get("MANIFEST_LINT_JUNIT_XSD")
    if xsd:
        import xmlschema

        xmlschema.XMLSchema(xsd).validate(str(repo / "out.xml"))


def test_require_tests_names_the_uncovered_policies(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(repo, PLATFORMS)
    (repo / ".manifest-lint.yaml").write_text(
        "policies:\n  no-latest: {enabled: true}\n", encoding="utf-8"
    )
    code, out, _err = _run(capsys, "--require-tests")
    assert code == 1
    uncovered = [line for line in out.splitlines() if line.startswith("uncovered: ")]
    assert "uncovered: no-latest: no case expects pass" in uncovered
    assert "uncovered: no-latest: no case expects fail" in uncovered
    # max-layers[linux/arm64]: fail counts for max-layers; both are covered.
    assert not [line for line in uncovered if "max-layers" in line or "required-pl" in line]


@pytest.mark.registry
def test_a_registry_case_is_marked_online(
    repo: Path, registry: RegistryServer, capsys: pytest.CaptureFixture[str]
) -> None:
    pushed = push(registry.url, "policytest/app", build_manifest("linux/arm64", layers=3), "v1")
    _write(
        repo,
        f"""\
        policies: [max-layers]
        params: {{max-layers: {{max: 2}}}}
        cases:
          - name: pushed
            image: {pushed.host}/policytest/app:v1
            expect: {{"max-layers[linux/arm64]": fail}}
        """,
    )
    code, out, err = _run(capsys, "--no-cache")
    assert (code, err) == (0, ""), out
    assert "PASS  pushed (online)\n" in out


EXCEPTIONS = """\
policies: [max-layers]
params:
  max-layers: {max: 2}
now: "2026-06-01T00:00:00Z"
exceptions:
  - policy: max-layers[linux/arm64]
    images: ["oci:fixtures/release:*"]
    reason: arm64 base image, OPS-1
    expires: EXPIRES
cases:
  - name: release
    image: oci:fixtures/release:1.0
    expect:
      max-layers[linux/amd64]: pass
      max-layers[linux/arm64]: ARM64
"""


@pytest.mark.parametrize(
    ("expires", "arm64", "exception", "message"),
    [
        ("2026-09-30", "waived", None, None),
        ("2026-05-31", "fail", "fail", "^exception expired on 2026-05-31: arm64 base image, OPS-1"),
        ("2026-06-10", "waived", "fail", r"^exception expires on 2026-06-10 \(in 10 days\)"),
    ],
    ids=["valid", "expired", "expiring"],
)
def test_spec_exceptions_waive_and_expire_against_spec_now(
    repo: Path,
    capsys: pytest.CaptureFixture[str],
    expires: str,
    arm64: str,
    exception: str | None,
    message: str | None,
) -> None:
    spec = EXCEPTIONS.replace("EXPIRES", expires).replace("ARM64", arm64)
    if exception is not None:
        spec += f"      exception[linux/arm64]: {exception}\n"
        spec += f"    messages:\n      exception[linux/arm64]: '{message}'\n"
    _write(repo, spec)
    code, out, err = _run(capsys)
    assert (code, err) == (0, ""), out
    # Expecting the plain outcome instead is a failing case: the exception did apply.
    other = "fail" if arm64 == "waived" else "waived"
    _write(
        repo, spec.replace(f"max-layers[linux/arm64]: {arm64}", f"max-layers[linux/arm64]: {other}")
    )
    code, out, _err = _run(capsys)
    assert code == 1
    assert f"max-layers[linux/arm64]: expected {other}, got {arm64}" in out


def test_spec_exceptions_match_a_document_s_reference(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["inspect", "--format", "json", "oci:fixtures/release:1.0"]) == 0
    (repo / "release.json").write_text(capsys.readouterr().out, encoding="utf-8")
    spec = EXCEPTIONS.replace("EXPIRES", "2026-09-30").replace("ARM64", "waived")
    spec = spec.replace("image: oci:fixtures/release:1.0", "document: release.json")
    _write(repo, spec)
    code, out, err = _run(capsys)
    assert (code, err) == (0, ""), out
    _write(repo, spec.replace('"oci:fixtures/release:*"', '"oci:fixtures/other:*"'))
    code, out, _err = _run(capsys)
    assert code == 1
    assert "max-layers[linux/arm64]: expected waived, got fail" in out


@pytest.mark.parametrize(
    ("old", "new", "line", "says"),
    [
        ("policy: max-layers[linux/arm64]", "policy: max-layer", 11, "'max-layer' is not a policy"),
        ("    reason: arm64 base image, OPS-1\n", "", 11, "'reason' is a required property"),
        ("expires: 2026-09-30", "expires: 2026-13-30", 14, "month must be in 1..12"),
        ("max-layers[linux/arm64]: waived", "exception: waived", 15, "'exception' is not"),
    ],
    ids=["policy", "reason", "date", "exception-result-without-exceptions"],
)
def test_a_mistake_in_spec_exceptions_exits_2_naming_file_and_line(
    repo: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, line: int, says: str
) -> None:
    spec = EXCEPTIONS.replace("EXPIRES", "2026-09-30").replace("ARM64", "waived")
    if old.startswith("max-layers[linux/arm64]: waived"):
        spec = spec[: spec.index("exceptions:")] + spec[spec.index("cases:") :]
    assert old in spec
    _write(repo, spec.replace(old, new))
    code, _out, err = _run(capsys)
    assert code == 2
    assert err.startswith(f"manifest-lint: error: rules.policytest.yaml:{line}: "), err
    assert says in err
