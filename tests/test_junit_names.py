"""JUnit names that Jenkins, GitLab and GitHub's test reporters show legibly and that
stay unique (issue 12, bug 8), read with junitparser.

Jenkins splits a testcase's classname at its last dot into package and class
(``CaseResult.getPackageName``), and merges testsuites of one name; GitLab keys a
testcase by testsuite name, classname and name. docs/reporters.md says how each
shows the names chosen here.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from junitparser import JUnitXml

from manifest_lint.cli.main import main
from manifest_lint.reporters import RunInfo
from manifest_lint.reporters.junit import JunitReporter
from manifest_lint.results import Finding, Location, Outcome, ReferenceResult, Severity, Summary
from tests.helpers.reports import validate_junit


def jenkins_split(classname: str) -> tuple[str, str]:
    """Jenkins' package and class of a testcase (hudson.tasks.junit.CaseResult)."""
    package, dot, simple = classname.rpartition(".")
    return (package, simple) if dot else ("(root)", classname)


def _cases(path: Path) -> list[tuple[str, str, str]]:
    """(testsuite name, classname, testcase name) of every testcase, via junitparser."""
    xml = JUnitXml.fromfile(str(path))
    return [(suite.name, case.classname, case.name) for suite in xml for case in suite]


def test_scan_names_the_same_reference_in_two_files_apart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "Dockerfile").write_text("FROM alpine:3.17\n")
    (tmp_path / "b" / "Dockerfile").write_text("# a comment\nFROM alpine:3.17\n")
    junit = tmp_path / "report.xml"
    code = main(
        [
            "scan",
            "--offline",
            "--select",
            "no-latest,pinned-digest",
            "--junit",
            str(junit),
            str(tmp_path / "a" / "Dockerfile"),
            str(tmp_path / "b" / "Dockerfile"),
        ]
    )
    assert code == 0, capsys.readouterr()
    validate_junit(junit)
    cases = _cases(junit)
    suites = list(dict.fromkeys(suite for suite, _, _ in cases))
    a, b = tmp_path / "a" / "Dockerfile", tmp_path / "b" / "Dockerfile"
    assert suites == [f"{a}:1:6: alpine:3.17", f"{b}:2:6: alpine:3.17"]
    # Unique everywhere: GitLab's key, and Jenkins' package.class.name.
    assert len(set(cases)) == len(cases)
    jenkins = [(*jenkins_split(classname), name) for _, classname, name in cases]
    assert len(set(jenkins)) == len(jenkins)
    assert jenkins == [
        (f"{a}:1:6: alpine:3.17", "no-latest", "no-latest"),
        (f"{a}:1:6: alpine:3.17", "pinned-digest", "pinned-digest"),
        (f"{b}:2:6: alpine:3.17", "no-latest", "no-latest"),
        (f"{b}:2:6: alpine:3.17", "pinned-digest", "pinned-digest"),
    ]


def test_jenkins_splits_at_the_policy_never_inside_a_tag(tmp_path: Path) -> None:
    """``alpine:3.17`` stays whole in Jenkins' package; the class is the policy, and the
    testcase is the result's name (``max-layers[linux/arm64]``), as in every format."""
    stream = io.StringIO()
    run = RunInfo(policies=(), fail_on=Severity.ERROR, version="0")
    reporter = JunitReporter(stream, run)
    findings = (
        Finding("max-layers", Outcome.PASS, Severity.ERROR, platform="linux/arm64"),
        Finding("pinned-digest", Outcome.FAIL, Severity.WARNING, "not pinned"),
    )
    for result in (
        ReferenceResult("alpine:3.17", "docker.io/library/alpine:3.17", findings=findings),
        # The same reference again (twice on a command line): a suite name of its own.
        ReferenceResult("alpine:3.17", "docker.io/library/alpine:3.17", findings=findings),
        ReferenceResult(
            "registry.example.com/team/app:1.2.3",
            findings=findings,
            location=Location("deploy/app.v2.yaml", 7, 14),
        ),
    ):
        reporter.add(result)
    reporter.finish(Summary())
    path = tmp_path / "r.xml"
    path.write_text(stream.getvalue(), encoding="utf-8")
    validate_junit(path)
    cases = _cases(path)
    assert [(jenkins_split(classname), name) for _, classname, name in cases] == [
        (("alpine:3.17", "max-layers"), "max-layers[linux/arm64]"),
        (("alpine:3.17", "pinned-digest"), "pinned-digest"),
        (("alpine:3.17 (2)", "max-layers"), "max-layers[linux/arm64]"),
        (("alpine:3.17 (2)", "pinned-digest"), "pinned-digest"),
        (
            ("deploy/app.v2.yaml:7:14: registry.example.com/team/app:1.2.3", "max-layers"),
            "max-layers[linux/arm64]",
        ),
        (
            ("deploy/app.v2.yaml:7:14: registry.example.com/team/app:1.2.3", "pinned-digest"),
            "pinned-digest",
        ),
    ]
    # The testsuite is the reference (with where it was found): what GitLab shows
    # beside each testcase and dorny/test-reporter groups by.
    assert [suite for suite, _, _ in cases[::2]] == [
        "alpine:3.17",
        "alpine:3.17 (2)",
        "deploy/app.v2.yaml:7:14: registry.example.com/team/app:1.2.3",
    ]
