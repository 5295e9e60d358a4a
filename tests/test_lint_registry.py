"""``manifest-lint HOST/repo:tag --junit FILE`` end to end against a real registry.

The acceptance tests of linting: ``main(argv)`` against the CNCF distribution
registry of the ``registry`` fixture, with images built and pushed here. Every
JUnit report is validated against the Jenkins JUnit XSD (``MANIFEST_LINT_JUNIT_XSD``)
and read back with ``xml.etree`` (``helpers.reports``), checking one testsuite per
reference and unique testcase names within each.
"""

from __future__ import annotations

import io
import json
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers.cli import run as lint
from tests.helpers.images import (
    ANNOTATIONS,
    Pushed,
    build_index,
    build_manifest,
    push,
)
from tests.helpers.registry_server import RegistryServer, free_port
from tests.helpers.reports import read_junit, suites_by_reference, validate_junit

pytestmark = pytest.mark.registry

CONFIG = "policies:\n  required-platforms:\n    params: {platforms: [linux/amd64, linux/arm64]}\n"
NOTE = "org.example.note"
CONTROL_VALUE = "bell\x01escape\x1b[31mred"


@dataclass(frozen=True)
class Images:
    four: Pushed
    no_arm: Pushed
    control: Pushed


@pytest.fixture(scope="module")
def images(registry: RegistryServer) -> Images:
    four = build_index(
        [
            build_manifest(p, layers=2, seed="lint-four")
            for p in ("linux/amd64", "linux/arm64/v8", "linux/arm/v7", "linux/s390x")
        ],
        annotations=ANNOTATIONS,
    )
    no_arm = build_index(
        [build_manifest(p, layers=2, seed="lint-no-arm") for p in ("linux/amd64", "linux/s390x")],
        annotations=ANNOTATIONS,
    )
    control = build_index(
        [build_manifest("linux/amd64", layers=1, seed="lint-control")],
        annotations={**ANNOTATIONS, NOTE: CONTROL_VALUE},
    )
    return Images(
        push(registry.url, "lint/four", four, "1.0"),
        push(registry.url, "lint/no-arm", no_arm, "1.0"),
        push(registry.url, "lint/control", control, "1.0"),
    )


@pytest.fixture
def config(tmp_path: Path) -> str:
    path = tmp_path / "manifest-lint.yaml"
    path.write_text(CONFIG)
    return str(path)


def unreachable() -> str:
    """``127.0.0.1:PORT`` with nothing listening (a port that was free a moment ago)."""
    return f"127.0.0.1:{free_port()}"


#: Connection errors are retried with backoff until ``--timeout`` (default 60 s): keep
#: the runs that meet a closed port short.
QUICK = ("--timeout", "1")


# --------------------------------------------------------------------------- the done-when


def test_a_four_platform_image_passes_required_platforms(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, images: Images, config: str
) -> None:
    out = tmp_path / "report.xml"
    run = lint(capsys, images.four.reference, "--junit", str(out), "--config", config)
    assert run.code == 0, run.out + run.err
    assert run.err == ""
    validate_junit(out)
    suite = suites_by_reference(out, [images.four.reference])[images.four.reference]
    totals, _ = read_junit(out)
    assert (totals["name"], totals["tests"], totals["failures"], totals["errors"]) == (
        "manifest-lint",
        str(len(suite.cases)),
        "0",
        "0",
    )
    assert suite.properties == {
        "outcome": "pass",  # its one violation (pinned-digest) is below --fail-on
        "reference": images.four.reference,
        "normalized": images.four.reference,
        "digest": images.four.digest,
        "registry": images.four.host,
    }
    # One testcase per platform for max-layers, one per image-scoped policy, sorted.
    names = [c.name for c in suite.cases]
    assert names == sorted(names, key=lambda n: n.partition("[")[0])
    assert [n for n in names if n.startswith("max-layers[")] == [
        "max-layers[linux/amd64]",
        "max-layers[linux/arm/v7]",
        "max-layers[linux/arm64]",
        "max-layers[linux/s390x]",
    ]
    assert {"pinned-digest", "required-annotations", "required-platforms"} <= set(names)
    # Nothing failed or errored (a policy with nothing to judge may be skipped).
    assert {c.kind for c in suite.cases} <= {"pass", "skipped"}
    assert suite.case("required-platforms").kind == "pass"
    # SUITE.POLICY: Jenkins splits it at the last dot into the reference and the policy.
    assert {c.classname for c in suite.cases} == {
        f"{images.four.reference}.{c.name.partition('[')[0]}" for c in suite.cases
    }
    # The pinned-digest warning is below --fail-on: a passing testcase that says why.
    pinned = suite.case("pinned-digest")
    assert pinned.system_out == (
        "warning (below --fail-on error): not pinned to a digest: use "
        f"{images.four.reference}@{images.four.digest}"
    )


def test_an_image_lacking_arm64_exits_1_naming_the_missing_platform(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, images: Images, config: str
) -> None:
    out = tmp_path / "report.xml"
    run = lint(capsys, images.no_arm.reference, "--junit", str(out), "--config", config)
    assert run.code == 1, run.out + run.err
    validate_junit(out)
    suite = suites_by_reference(out, [images.no_arm.reference])[images.no_arm.reference]
    failure = suite.case("required-platforms")
    assert (failure.kind, failure.type) == ("failure", "policy-violation.error")
    assert failure.message == (
        "missing platforms: linux/arm64 (image has: linux/amd64, linux/s390x)"
    )
    assert [c.name for c in suite.cases if c.kind == "failure"] == ["required-platforms"]
    totals, _ = read_junit(out)
    assert (totals["failures"], totals["errors"]) == ("1", "0")


def test_an_unreachable_registry_exits_3_with_an_error_per_reference(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, config: str
) -> None:
    host = unreachable()
    references = [f"{host}/team/app:1.0", f"{host}/team/other@sha256:{'a' * 64}"]
    out = tmp_path / "report.xml"
    run = lint(capsys, *references, "--junit", str(out), "--config", config, *QUICK)
    assert run.code == 3, run.out + run.err
    validate_junit(out)
    suites = suites_by_reference(out, references)
    for reference in references:
        [case] = suites[reference].cases
        assert (case.name, case.kind, case.type) == ("fetch", "error", "could-not-evaluate")
        assert case.message.startswith(f"cannot connect to registry {host} for {reference}")
        assert suites[reference].properties["digest"] == ""
        assert suites[reference].properties["registry"] == host
    totals, _ = read_junit(out)
    assert (totals["tests"], totals["errors"], totals["failures"]) == ("2", "2", "0")


_ACCESS_LINE = re.compile(
    r'^\S+ - \S+ \[[^\]]+\] "[A-Z]+ (\S+) HTTP/[0-9.]+" \d+ \S+ "[^"]*" "([^"]*)"'
)


def _access_log(registry: RegistryServer) -> list[tuple[str, str]]:
    """(path, user agent) of every request in the registry's access log so far.

    A sentinel request is made and waited for first, so that everything asked
    before it has been written to the log."""
    sentinel = f"/v2/sentinel-{uuid.uuid4().hex}/tags/list"
    httpx.get(registry.url + sentinel, headers={"User-Agent": "sentinel"})
    deadline = time.monotonic() + 10
    while True:
        entries = [
            (m.group(1), m.group(2))
            for m in map(_ACCESS_LINE.match, registry.log_text().splitlines())
            if m
        ]
        if (sentinel, "sentinel") in entries or time.monotonic() > deadline:
            return entries
        time.sleep(0.02)


def _ours(entries: list[tuple[str, str]]) -> list[str]:
    return [path for path, agent in entries if agent.startswith("manifest-lint/")]


MALFORMED = {
    "yaml": (
        "apiVersion: manifest-lint.dev/v1\nkind: Policy\nmetadata: {name: broken\nspec: {}\n",
        ":4:5: invalid YAML: ",
    ),
    "schema": (
        "apiVersion: manifest-lint.dev/v1\nkind: Policy\nmetadata: {name: broken}\n"
        "spec:\n  validation:\n    - expression: 'true'\n",
        ":5:3: unknown field 'validation' in spec",
    ),
    "cel": (
        "apiVersion: manifest-lint.dev/v1\nkind: Policy\nmetadata: {name: broken}\n"
        "spec:\n  validations:\n    - expression: size(imgae.platforms) > 0\n",
        ":6:29: policy 'broken': CEL expression does not compile: undeclared reference to 'imgae",
    ),
}


@pytest.mark.parametrize("kind", list(MALFORMED))
def test_a_malformed_policy_exits_2_before_any_request(
    kind: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    registry: RegistryServer,
    images: Images,
) -> None:
    text, where = MALFORMED[kind]
    policy = tmp_path / "broken.yaml"
    policy.write_text(text)
    out = tmp_path / "report.xml"
    before = _ours(_access_log(registry))

    run = lint(capsys, images.no_arm.reference, "--policy", str(policy), "--junit", str(out))
    assert run.code == 2
    assert run.out == ""
    assert run.err.startswith(f"manifest-lint: error: {policy}{where}"), run.err
    assert _ours(_access_log(registry)) == before, "a request was made before the policy loaded"
    # No report at all rather than half of one.
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [policy]

    # The same command with a closed port: the error is the policy's, not the network's.
    run = lint(capsys, f"{unreachable()}/team/app:1.0", "--policy", str(policy), *QUICK)
    assert run.code == 2
    assert run.err.startswith(f"manifest-lint: error: {policy}{where}")

    # Control: the count does move when a policy loads and the image is read.
    policy.unlink()
    run = lint(capsys, images.no_arm.reference, "--select", "pinned-digest")
    assert run.code == 0
    assert len(_ours(_access_log(registry))) > len(before)


# --------------------------------------------------------------------------- outputs


def test_several_outputs_in_one_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, images: Images, config: str
) -> None:
    junit, report = tmp_path / "a.xml", tmp_path / "b.json"
    references = [images.four.reference, images.no_arm.reference]
    run = lint(
        capsys,
        *references,
        "--junit",
        str(junit),
        "--json",
        str(report),
        "--config",
        config,
        "--select",
        "max-layers,pinned-digest,required-annotations,required-platforms",
    )
    assert run.code == 1
    # Text on stdout: one block per reference, in order, and the summary line.
    assert run.out.index(images.four.reference) < run.out.index(images.no_arm.reference)
    assert "  FAIL  required-platforms: missing platforms: linux/arm64" in run.out
    assert (
        "\n12 results: 9 passed, 1 failed, 2 below --fail-on, 0 errors, 0 skipped\n"
        "2 references: 1 passed, 1 failed, 0 errors, 0 skipped\n"
    ) in run.out
    validate_junit(junit)
    suites = suites_by_reference(junit, references)
    data = json.loads(report.read_text())
    assert [r["reference"] for r in data["results"]] == references
    # A warning (pinned-digest) below --fail-on does not fail its reference, as it does
    # not fail the run; it is counted apart.
    assert [r["outcome"] for r in data["results"]] == ["pass", "fail"]
    assert [r["belowFailOn"] for r in data["results"]] == [1, 1]
    # The documented fields (more may be added within a schema version).
    documented = ("references", "pass", "fail", "error", "skip", "blockingFailures")
    assert {key: data["summary"][key] for key in documented} == {
        "references": 2,
        "pass": 9,
        "fail": 3,
        "error": 0,
        "skip": 0,
        "blockingFailures": 1,
    }
    # The same results in both files.
    for result in data["results"]:
        suite = suites[result["reference"]]
        assert [c.name for c in suite.cases] == [f["name"] for f in result["findings"]]
        assert suite.properties["digest"] == result["digest"]


def test_refs_file_and_stdin(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    images: Images,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    listing = (
        f"# images to check\n\n{images.four.reference}\n   {images.no_arm.reference}  \n"
        "  # indented comment\n"
    )
    refs = tmp_path / "refs.txt"
    refs.write_text(listing)
    report = tmp_path / "r.json"
    junit = tmp_path / "r.xml"
    argv = ["--select", "max-layers", "--json", str(report), "--junit", str(junit)]
    run = lint(capsys, "--refs-file", str(refs), *argv)
    assert run.code == 0, run.err
    data = json.loads(report.read_text())
    assert [(r["reference"], r["location"]) for r in data["results"]] == [
        (images.four.reference, {"path": str(refs), "line": 3, "column": 1}),
        (images.no_arm.reference, {"path": str(refs), "line": 4, "column": 4}),
    ]
    assert f"{refs}:4:4: {images.no_arm.reference}" in run.out
    validate_junit(junit)
    suite = suites_by_reference(junit, [images.four.reference, images.no_arm.reference])[
        images.no_arm.reference
    ]
    assert (suite.properties["file"], suite.properties["line"]) == (str(refs), "4")

    # Standard input, after the references on the command line.
    monkeypatch.setattr("sys.stdin", io.StringIO(listing))
    run = lint(capsys, images.no_arm.digest_reference, "--refs-file", "-", *argv)
    assert run.code == 0, run.err
    data = json.loads(report.read_text())
    assert [(r["reference"], r["location"]) for r in data["results"]] == [
        (images.no_arm.digest_reference, None),
        (images.four.reference, {"path": "<stdin>", "line": 3, "column": 1}),
        (images.no_arm.reference, {"path": "<stdin>", "line": 4, "column": 4}),
    ]


def test_an_empty_refs_file_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    refs = tmp_path / "refs.txt"
    refs.write_text("# nothing yet\n\n")
    run = lint(capsys, "--refs-file", str(refs))
    assert (run.code, run.err) == (
        2,
        "manifest-lint: error: no image references given "
        "(REF..., --refs-file FILE, or --catalog REGISTRY)\n",
    )
    run = lint(capsys, "--refs-file", str(tmp_path / "missing.txt"))
    assert run.code == 2
    assert run.err.startswith(f"manifest-lint: error: --refs-file {tmp_path / 'missing.txt'}: ")


def test_select_evaluates_only_the_named_policies(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, images: Images
) -> None:
    report = tmp_path / "r.json"
    run = lint(
        capsys,
        images.no_arm.reference,
        "--select",
        "pinned-digest,required-annotations",
        "--json",
        str(report),
    )
    assert run.code == 0
    data = json.loads(report.read_text())
    assert [p["name"] for p in data["policies"]] == ["pinned-digest", "required-annotations"]
    assert [f["name"] for f in data["results"][0]["findings"]] == [
        "pinned-digest",
        "required-annotations",
    ]
    # Repeated flags add up.
    run = lint(
        capsys, images.no_arm.reference, "--select", "max-layers", "--select", "required-platforms"
    )
    assert run.code == 1
    assert "required-platforms: missing platforms: linux/arm64" in run.out
    assert "pinned-digest" not in run.out


def test_fail_on_warning_turns_the_pinned_digest_warning_into_exit_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, images: Images
) -> None:
    junit = tmp_path / "r.xml"
    argv = [images.four.reference, "--select", "pinned-digest", "--junit", str(junit)]
    assert lint(capsys, *argv).code == 0
    run = lint(capsys, *argv, "--fail-on", "warning")
    assert run.code == 1
    assert "  FAIL  pinned-digest: not pinned to a digest: use " in run.out
    validate_junit(junit)
    case = suites_by_reference(junit, [images.four.reference])[images.four.reference].case(
        "pinned-digest"
    )
    assert (case.kind, case.type) == ("failure", "policy-violation.warning")
    # Pinned, it passes even with --fail-on info.
    assert (
        lint(
            capsys, images.four.digest_reference, "--select", "pinned-digest", "--fail-on", "info"
        ).code
        == 0
    )


# --------------------------------------------------------------------------- exit-code precedence


def test_an_invalid_reference_among_valid_ones_exits_2_with_a_result_for_each(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, images: Images, config: str
) -> None:
    host = unreachable()
    references = [
        images.four.reference,
        "Not/A:Valid Ref",
        images.no_arm.reference,
        f"{host}/down:1",
    ]
    junit, report = tmp_path / "r.xml", tmp_path / "r.json"
    run = lint(
        capsys,
        *references,
        "--junit",
        str(junit),
        "--json",
        str(report),
        "--config",
        config,
        *QUICK,
    )
    assert run.code == 2  # usage beats evaluation errors, which beat policy failures
    for reference in references:
        assert f"{reference}\n" in run.out or f"{reference}  (" in run.out
    data = json.loads(report.read_text())
    assert [r["reference"] for r in data["results"]] == references
    # images.four only warns (below --fail-on): it passes.
    assert [r["outcome"] for r in data["results"]] == ["pass", "error", "fail", "error"]
    bad = data["results"][1]
    assert [(f["name"], f["outcome"]) for f in bad["findings"]] == [("reference", "error")]
    assert bad["findings"][0]["message"].startswith("invalid reference 'Not/A:Valid Ref': ")
    validate_junit(junit)
    suites = suites_by_reference(junit, references)
    [case] = suites["Not/A:Valid Ref"].cases
    assert (case.name, case.kind, case.type) == ("reference", "error", "could-not-evaluate")
    [case] = suites[f"{host}/down:1"].cases
    assert (case.name, case.kind) == ("fetch", "error")


def test_an_error_among_failures_exits_3(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, images: Images, config: str
) -> None:
    junit = tmp_path / "r.xml"
    references = [images.no_arm.reference, f"{unreachable()}/down:1"]
    run = lint(capsys, *references, "--junit", str(junit), "--config", config, *QUICK)
    assert run.code == 3
    validate_junit(junit)
    suites = suites_by_reference(junit, references)
    assert suites[images.no_arm.reference].case("required-platforms").kind == "failure"
    assert suites[references[1]].case("fetch").kind == "error"
    # A repository that does not exist is an error too, not a pass.
    missing = f"{images.four.host}/lint/does-not-exist:1.0"
    run = lint(capsys, images.no_arm.reference, missing, "--junit", str(junit), "--config", config)
    assert run.code == 3
    validate_junit(junit)
    assert (
        suites_by_reference(junit, [images.no_arm.reference, missing])[missing].case("fetch").kind
        == "error"
    )


# --------------------------------------------------------------------------- escaping


def test_control_characters_in_an_annotation_stay_valid_junit(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, images: Images
) -> None:
    policy = tmp_path / "note.yaml"
    policy.write_text(
        "apiVersion: manifest-lint.dev/v1\nkind: Policy\nmetadata: {name: no-note}\n"
        "spec:\n  validations:\n"
        f"    - expression: \"!('{NOTE}' in image.annotations)\"\n"
        f"      messageExpression: \"'note: ' + image.annotations['{NOTE}']\"\n"
    )
    junit, report = tmp_path / "r.xml", tmp_path / "r.json"
    run = lint(
        capsys,
        images.control.reference,
        "--policy",
        str(policy),
        "--select",
        "no-note",
        "--junit",
        str(junit),
        "--json",
        str(report),
    )
    assert run.code == 1
    text = junit.read_text(encoding="utf-8")
    assert "\x01" not in text
    assert "\x1b" not in text
    validate_junit(junit)
    case = suites_by_reference(junit, [images.control.reference])[images.control.reference].case(
        "no-note"
    )
    assert case.message == "note: bell\\u0001escape\\u001b[31mred"
    # JSON carries the value exactly (escaped by JSON itself).
    data: dict[str, Any] = json.loads(report.read_text())
    assert data["results"][0]["findings"][0]["message"] == f"note: {CONTROL_VALUE}"
