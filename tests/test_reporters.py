"""Reporters on a fixed report: golden files for text, JSON and JUnit, plus checks by
independent readers (``json``, the JUnit XSD, ``xml.etree``).

The report is built from ``ReferenceResult``/``Finding`` values directly, with a fixed
``RunInfo``, so the output is byte-for-byte deterministic (JUnit's run ``time`` aside,
which is normalised before comparing).

To regenerate the golden files after an intended change of format, run::

    MANIFEST_LINT_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_reporters.py

and review the diff of ``tests/golden/`` like any other change.
"""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from manifest_lint.reporters import Reporter, RunInfo
from manifest_lint.reporters.json_ import JsonReporter
from manifest_lint.reporters.junit import JunitReporter, xml_safe
from manifest_lint.reporters.text import TextReporter
from manifest_lint.results import (
    FETCH,
    REFERENCE,
    Finding,
    Location,
    Outcome,
    PolicyInfo,
    ReferenceResult,
    Severity,
    Summary,
)
from tests.helpers.reports import read_junit, validate_junit

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("MANIFEST_LINT_UPDATE_GOLDEN", "") not in ("", "0")

DIGEST = "sha256:" + "0123456789abcdef" * 4
OTHER_DIGEST = "sha256:" + "fedcba9876543210" * 4

RUN = RunInfo(
    policies=(
        PolicyInfo(
            "max-layers",
            "Each platform manifest has at most params.max layers.",
            Severity.ERROR,
            "platform",
            "builtin:max-layers.yaml",
            "https://example.com/docs#max-layers",
        ),
        PolicyInfo(
            "pinned-digest", "The reference is pinned.", Severity.WARNING, "image", "builtin:p.yaml"
        ),
        PolicyInfo("no-note", "No note annotation.", Severity.ERROR, "image", "policies/n.yaml"),
        PolicyInfo("only-index", "Indexes only.", Severity.INFO, "image", "policies/o.yaml"),
        PolicyInfo("tidy", "Broken on purpose.", Severity.ERROR, "image", "policies/t.yaml"),
    ),
    fail_on=Severity.ERROR,
    version="0.1.0",
    cel_backend="cel-expr-python",
    tty=False,
)

RESULTS = (
    ReferenceResult(
        "registry.example.com/team/app:1.2",
        normalized="registry.example.com/team/app:1.2",
        registry="registry.example.com",
        digest=DIGEST,
        platforms=("linux/amd64", "linux/arm64"),
        # Deliberately out of order: results sort their findings.
        findings=(
            Finding("tidy", Outcome.ERROR, Severity.ERROR, "evaluation failed: x: no such key"),
            Finding("max-layers", Outcome.PASS, Severity.ERROR, platform="linux/arm64"),
            Finding(
                "max-layers",
                Outcome.FAIL,
                Severity.ERROR,
                "41 layers, the maximum is 40",
                platform="linux/amd64",
                details=("41 layers, the maximum is 40",),
            ),
            Finding(
                "pinned-digest",
                Outcome.FAIL,
                Severity.WARNING,
                f"not pinned to a digest: use registry.example.com/team/app:1.2@{DIGEST}",
                details=(
                    f"not pinned to a digest: use registry.example.com/team/app:1.2@{DIGEST}",
                ),
            ),
            Finding(
                "no-note",
                Outcome.FAIL,
                Severity.ERROR,
                'note: bell\x01escape\x1b[0m & <tag> "quoted"; second validation',
                details=('note: bell\x01escape\x1b[0m & <tag> "quoted"', "second validation"),
            ),
            Finding(
                "only-index", Outcome.SKIP, Severity.INFO, "match condition 'is-index' is false"
            ),
        ),
    ),
    ReferenceResult(
        "registry.example.com/team/down:1",
        normalized="registry.example.com/team/down:1",
        registry="registry.example.com",
        findings=(
            Finding(
                FETCH,
                Outcome.ERROR,
                Severity.ERROR,
                "cannot connect to registry registry.example.com for "
                "registry.example.com/team/down:1: [Errno 111] Connection refused",
            ),
        ),
        location=Location("refs.txt", 2, 3),
    ),
    ReferenceResult(
        "Not/A Reference",
        findings=(
            Finding(
                REFERENCE,
                Outcome.ERROR,
                Severity.ERROR,
                "invalid reference 'Not/A Reference': repository name must be lowercase "
                "at position 1",
            ),
        ),
    ),
    ReferenceResult(
        f"localhost:5000/base@{OTHER_DIGEST}",
        normalized=f"localhost:5000/base@{OTHER_DIGEST}",
        registry="localhost:5000",
        digest=OTHER_DIGEST,
        platforms=("linux/amd64",),
        findings=(
            Finding("max-layers", Outcome.PASS, Severity.ERROR, platform="linux/amd64"),
            Finding("pinned-digest", Outcome.PASS, Severity.WARNING),
        ),
    ),
)


def render(factory: Any, results: tuple[ReferenceResult, ...] = RESULTS, run: RunInfo = RUN) -> str:
    stream = io.StringIO()
    reporter: Reporter = factory(stream, run)
    summary = Summary()
    for result in results:
        summary.add(result, run.fail_on)
        reporter.add(result)
    reporter.finish(summary)
    return stream.getvalue()


def normalise_junit(text: str) -> str:
    """The run's duration is the one thing that changes between runs."""
    return re.sub(r' time="[0-9.]+"', ' time="0.000"', text)


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"{path} is missing: run with MANIFEST_LINT_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), (
        f"{name} differs from its golden file; if the change is intended, regenerate it "
        "with MANIFEST_LINT_UPDATE_GOLDEN=1 and review the diff"
    )


# --------------------------------------------------------------------------- golden files


def test_text_golden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    text = render(TextReporter)
    assert "\033[" not in text  # not a terminal: no colours
    check_golden("report.txt", text)


def test_json_golden() -> None:
    check_golden("report.json", render(JsonReporter))


def test_junit_golden() -> None:
    check_golden("report.junit.xml", normalise_junit(render(JunitReporter)))


def test_golden_files_are_what_the_reporters_write_today() -> None:
    # Guard against a golden file regenerated by hand: each one is rendered again here.
    assert (GOLDEN / "report.txt").read_text(encoding="utf-8") == render(TextReporter)
    assert (GOLDEN / "report.json").read_text(encoding="utf-8") == render(JsonReporter)


# --------------------------------------------------------------------------- text


def test_text_shows_warnings_and_info_below_fail_on() -> None:
    text = render(TextReporter)
    assert "  WARN  pinned-digest: not pinned to a digest" in text
    assert "  FAIL  max-layers[linux/amd64]: 41 layers, the maximum is 40" in text
    assert "refs.txt:2:3: registry.example.com/team/down:1\n" in text
    run = RunInfo(RUN.policies, Severity.WARNING, "0.1.0")
    assert "  FAIL  pinned-digest" in render(TextReporter, run=run)


def test_text_never_passes_control_characters_to_the_terminal() -> None:
    # An annotation is registry content: an escape sequence in it must not reach the
    # terminal (or a CI log) as one.
    text = render(TextReporter)
    assert "  FAIL  no-note: note: bell\\x01escape\\x1b[0m & <tag>" in text
    assert "\x01" not in text
    assert "\x1b" not in text
    weird = ReferenceResult(
        "oci:dir\x1b]0;title\x07:1",
        findings=(Finding(FETCH, Outcome.ERROR, Severity.ERROR, "line one\nline\ttwo\x9b"),),
    )
    out = render(TextReporter, results=(weird,))
    assert out.startswith("oci:dir\\x1b]0;title\\x07:1\n")
    # Newlines still continue the message on an indented line; a tab is written \t.
    assert "  ERROR fetch: line one\n        line\\ttwo\\x9b\n" in out


def test_text_colours_only_on_a_terminal_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    tty = RunInfo(RUN.policies, RUN.fail_on, "0.1.0", tty=True)
    monkeypatch.delenv("NO_COLOR", raising=False)
    coloured = render(TextReporter, run=tty)
    assert "\033[31;1mFAIL \033[0m max-layers[linux/amd64]" in coloured
    assert "\033[32mPASS \033[0m max-layers[linux/arm64]" in coloured
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\033[" not in render(TextReporter, run=tty)


# --------------------------------------------------------------------------- json


def test_json_has_the_documented_fields() -> None:
    report = json.loads(render(JsonReporter))
    assert list(report) == [
        "version",
        "tool",
        "failOn",
        "celBackend",
        "policySet",
        "policies",
        "results",
        "summary",
        "unusedExceptions",
    ]
    assert report["version"] == 1
    assert report["tool"] == {"name": "manifest-lint", "version": "0.1.0"}
    assert (report["failOn"], report["celBackend"]) == ("error", "cel-expr-python")
    assert report["policies"][0] == {
        "name": "max-layers",
        "description": "Each platform manifest has at most params.max layers.",
        "severity": "error",
        "scope": "platform",
        "source": "builtin:max-layers.yaml",
        "helpUri": "https://example.com/docs#max-layers",
    }
    result_keys = [
        "reference",
        "normalized",
        "registry",
        "digest",
        "outcome",
        "belowFailOn",
        "platforms",
        "location",
        "findings",
    ]
    finding_keys = ["policy", "platform", "name", "outcome", "severity", "message", "details"]
    for result in report["results"]:
        assert list(result) == result_keys
        for finding in result["findings"]:
            assert list(finding) == finding_keys
    first, down, invalid, pinned = report["results"]
    assert (first["outcome"], down["outcome"], invalid["outcome"], pinned["outcome"]) == (
        "error",
        "error",
        "error",
        "pass",
    )
    assert [f["name"] for f in first["findings"]] == [
        "max-layers[linux/amd64]",
        "max-layers[linux/arm64]",
        "no-note",
        "only-index",
        "pinned-digest",
        "tidy",
    ]
    assert down["location"] == {"path": "refs.txt", "line": 2, "column": 3}
    assert first["location"] is None
    assert invalid["digest"] == ""
    assert invalid["normalized"] == ""
    # JSON carries every character; json escapes the control ones itself.
    assert first["findings"][2]["message"].startswith("note: bell\x01escape\x1b[0m")
    documented = ("references", "pass", "fail", "error", "skip", "blockingFailures")
    assert {key: report["summary"][key] for key in documented} == {
        "references": 4,
        "pass": 3,
        "fail": 3,
        "error": 3,
        "skip": 1,
        "blockingFailures": 2,
    }


def test_json_is_streamed_as_results_come() -> None:
    stream = io.StringIO()
    reporter = JsonReporter(stream, RUN)
    header = stream.getvalue()
    assert header.startswith('{\n  "version": 1,')
    assert header.endswith('"results": [')
    reporter.add(RESULTS[0])
    assert RESULTS[0].reference in stream.getvalue()
    reporter.add(RESULTS[1])
    assert RESULTS[1].reference in stream.getvalue()
    summary = Summary()
    reporter.finish(summary)
    assert [r["reference"] for r in json.loads(stream.getvalue())["results"]] == [
        RESULTS[0].reference,
        RESULTS[1].reference,
    ]


def test_json_with_zero_references_is_still_valid_json() -> None:
    report = json.loads(render(JsonReporter, results=()))
    assert report["results"] == []
    assert report["summary"]["references"] == 0
    empty_run = RunInfo((), Severity.ERROR, "0.1.0")
    assert json.loads(render(JsonReporter, results=(), run=empty_run))["policies"] == []


# --------------------------------------------------------------------------- junit


def test_junit_golden_is_valid_against_the_xsd() -> None:
    validate_junit(GOLDEN / "report.junit.xml")
    validate_junit(render(JunitReporter))


def test_junit_read_back_by_an_independent_parser() -> None:
    totals, suites = read_junit(render(JunitReporter))
    # Named after the reference as given, after where it was found, if it was.
    assert [s.name for s in suites] == [
        "registry.example.com/team/app:1.2",
        "refs.txt:2:3: registry.example.com/team/down:1",
        "Not/A Reference",
        RESULTS[3].reference,
    ]
    assert (totals["name"], totals["tests"], totals["failures"], totals["errors"]) == (
        "manifest-lint",
        "10",
        "2",
        "3",
    )
    app, down, invalid, pinned = suites
    assert app.properties == {
        "outcome": "error",
        "reference": "registry.example.com/team/app:1.2",
        "normalized": "registry.example.com/team/app:1.2",
        "digest": DIGEST,
        "registry": "registry.example.com",
    }
    assert [(c.name, c.kind, c.type) for c in app.cases] == [
        ("max-layers[linux/amd64]", "failure", "policy-violation.error"),
        ("max-layers[linux/arm64]", "pass", ""),
        ("no-note", "failure", "policy-violation.error"),
        ("only-index", "skipped", "skipped"),
        ("pinned-digest", "pass", ""),
        ("tidy", "error", "could-not-evaluate"),
    ]
    # SUITE.POLICY: Jenkins shows package = the suite, class = the policy.
    assert [c.classname for c in app.cases] == [
        f"registry.example.com/team/app:1.2.{policy}"
        for policy in ("max-layers", "max-layers", "no-note", "only-index", "pinned-digest", "tidy")
    ]
    assert app.case("pinned-digest").system_out == (
        "warning (below --fail-on error): not pinned to a digest: use "
        f"registry.example.com/team/app:1.2@{DIGEST}"
    )
    assert app.case("only-index").message == "match condition 'is-index' is false"
    # Characters XML 1.0 cannot carry are written as \\uXXXX; markup is escaped, not lost.
    assert app.case("no-note").message == (
        'note: bell\\u0001escape\\u001b[0m & <tag> "quoted"; second validation'
    )
    assert (down.properties["file"], down.properties["line"]) == ("refs.txt", "2")
    assert [(c.name, c.kind) for c in down.cases] == [("fetch", "error")]
    assert [(c.name, c.kind, c.classname) for c in invalid.cases] == [
        ("reference", "error", "Not/A Reference.reference")
    ]
    # A reference that does not parse has no normalised form: "", as in JSON.
    assert invalid.properties["normalized"] == ""
    assert [c.kind for c in pinned.cases] == ["pass", "pass"]


def test_junit_failure_text_holds_every_failed_validation() -> None:
    text = render(JunitReporter)
    assert "second validation</failure>" in text


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("plain", "plain"),
        ("\x00\x08\x0b\x0c\x0e\x1f", "\\u0000\\u0008\\u000b\\u000c\\u000e\\u001f"),
        ("tab\tnewline\ncr\r", "tab\tnewline\ncr\r"),
        ("\x7f\x85\x9f", "\\u007f\x85\\u009f"),
        ("\ufffe\uffff", "\\ufffe\\uffff"),
        ("é ✓ 🐳", "é ✓ 🐳"),
    ],
)
def test_xml_safe(raw: str, safe: str) -> None:
    assert xml_safe(raw) == safe


def test_junit_with_fail_on_info_fails_every_violation() -> None:
    run = RunInfo(RUN.policies, Severity.INFO, "0.1.0")
    _, suites = read_junit(render(JunitReporter, run=run))
    case = suites[0].case("pinned-digest")
    assert (case.kind, case.type) == ("failure", "policy-violation.warning")


def test_jsonl_is_a_header_a_line_per_result_and_a_summary() -> None:
    from manifest_lint.reporters.jsonl import JsonlReporter, read_lines

    lines = render(JsonlReporter).splitlines()
    values = [json.loads(line) for line in lines]
    assert list(values[0]) == ["header"]
    assert values[0]["header"] == {
        k: v
        for k, v in json.loads(render(JsonReporter)).items()
        if k not in ("results", "summary", "unusedExceptions")
    }
    assert list(values[-1]) == ["summary", "unusedExceptions"]
    results = values[1:-1]
    assert results == json.loads(render(JsonReporter))["results"]
    done, policy_sets = read_lines([*lines, lines[1][:10]])
    assert done == {r["reference"] for r in results}
    assert policy_sets == {values[0]["header"]["policySet"]}
