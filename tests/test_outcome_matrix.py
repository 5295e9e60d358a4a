"""One outcome per reference, the same in every format and in the exit code (issue 12,
bug 4; the definition is ``ReferenceResult.outcome``, documented in docs/reporters.md).

Each case runs one reference (the example layout) through the real command line with
every format written at once: text, JSON, JUnit (read with junitparser), SARIF and
GitHub (annotations and the job summary). Each format is read back on its own terms
and must tell the same outcome, which must agree with the exit code.

A failure is waived by an exception (docs/exceptions.md): the reference's outcome is
then ``waived``; the other "waived" cases lower a policy's severity or disable it in the
configuration instead.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from junitparser import Error, Failure, JUnitXml, Skipped

from manifest_lint.cli.main import main
from tests.helpers.reports import validate_junit, validate_sarif

ROOT = Path(__file__).resolve().parent.parent
REF = f"oci:{ROOT / 'examples' / 'multiarch'}:1.0"

EXIT = {"pass": 0, "fail": 1, "error": 3, "skip": 0, "waived": 0}


def _policy(name: str, severity: str, body: str) -> str:
    return f"""\
apiVersion: manifest-lint.dev/v1
kind: Policy
metadata: {{name: {name}}}
spec:
  severity: {severity}
{body}
"""


PASSES = "  validations: [{expression: 'true'}]\n"
FAILS = "  validations: [{expression: 'false', message: broken on purpose}]\n"
ERRS = '  validations: [{expression: \'image.annotations["no.such.key"] == "x"\'}]\n'
SKIPS = "  matchConditions: [{name: never, expression: 'false'}]\n" + PASSES


@dataclass(frozen=True)
class Case:
    id: str
    policies: tuple[str, ...]
    expected: str
    below: int = 0
    #: Configuration of the case's policies: name -> settings (YAML flow mapping).
    config: tuple[tuple[str, str], ...] = ()
    #: Exceptions, by the policy they waive (every image, expiring in 60 days).
    exceptions: tuple[str, ...] = ()


BUILTINS = (
    "allowed-registries",
    "max-layers",
    "no-latest",
    "pinned-digest",
    "required-annotations",
    "required-platforms",
)


def _config(case: Case) -> str:
    """Only the case's policies run: every built-in is switched off."""
    lines = ["policies:"]
    lines += [f"  {name}: {{enabled: false}}" for name in BUILTINS]
    lines += [f"  {name}: {settings}" for name, settings in case.config]
    expires = (datetime.now(UTC) + timedelta(days=60)).date().isoformat()
    if case.exceptions:
        lines.append("exceptions:")
    for name in case.exceptions:
        lines += [
            f"  - policy: {name}",
            "    images: ['oci:*']",
            "    reason: accepted until the rebuild",
            f"    expires: {expires}",
        ]
    return "\n".join(lines) + "\n"


CASES = [
    Case("pass", (_policy("case", "error", PASSES),), "pass"),
    Case(
        "warning-below-fail-on",
        (_policy("case", "warning", FAILS), _policy("other", "error", PASSES)),
        "pass",
        below=1,
    ),
    Case("failure", (_policy("case", "error", FAILS), _policy("other", "error", PASSES)), "fail"),
    Case("error", (_policy("case", "error", ERRS), _policy("other", "error", FAILS)), "error"),
    Case("skip-only", (_policy("case", "error", SKIPS),), "skip"),
    Case(
        "skip-and-warning",
        (_policy("case", "error", SKIPS), _policy("other", "info", FAILS)),
        "pass",
        below=1,
    ),
    # "Waived": the failing policy lowered below --fail-on, or switched off, by config.
    Case(
        "waived-by-severity",
        (_policy("case", "error", FAILS), _policy("other", "error", PASSES)),
        "pass",
        below=1,
        config=(("case", "{severity: info}"),),
    ),
    Case(
        "waived-by-disabling",
        (_policy("case", "error", FAILS), _policy("other", "error", PASSES)),
        "pass",
        config=(("case", "{enabled: false}"),),
    ),
    Case(
        "waived-by-exception",
        (_policy("case", "error", FAILS), _policy("other", "error", PASSES)),
        "waived",
        exceptions=("case",),
    ),
    # An exception does not hide an error, nor another policy's failure.
    Case(
        "exception-and-error",
        (_policy("case", "error", FAILS), _policy("other", "error", ERRS)),
        "error",
        exceptions=("case",),
    ),
    Case(
        "exception-and-failure",
        (_policy("case", "error", FAILS), _policy("other", "error", FAILS)),
        "fail",
        exceptions=("case",),
    ),
]


def _text_outcome(text: str) -> str:
    """The text report's last line: ``1 reference: P passed, F failed, E errors, S skipped``
    (and ``, W waived`` when there are some)."""
    last = text.rstrip("\n").splitlines()[-1]
    match = re.fullmatch(
        r"1 reference: (\d) passed, (\d) failed, (\d) errors, (\d) skipped(?:, (\d) waived)?",
        last,
    )
    assert match, last
    counts = dict(
        zip(
            ("pass", "fail", "error", "skip", "waived"),
            (int(n or 0) for n in match.groups()),
            strict=True,
        )
    )
    [outcome] = [k for k, n in counts.items() if n == 1]
    return outcome


def _junit_outcome(path: Path) -> str:
    """From junitparser's reading of the testcases alone; the ``outcome`` property must
    say the same."""
    xml = JUnitXml.fromfile(str(path))
    [suite] = list(xml)
    kinds = [type(r) for case in suite for r in case.result]
    cases = list(suite)
    if Error in kinds:
        outcome = "error"
    elif Failure in kinds:
        outcome = "fail"
    elif any(
        isinstance(r, Skipped) and (r.message or "").startswith("waived: ")
        for c in cases
        for r in c.result
    ):
        outcome = "waived"
    elif cases and all(any(isinstance(r, Skipped) for r in c.result) for c in cases):
        outcome = "skip"
    else:
        outcome = "pass"
    properties = {p.name: p.value for p in suite.properties()}
    assert properties["outcome"] == outcome
    return outcome


def _sarif_outcome(document: dict[str, object]) -> str:
    [run] = document["runs"]  # type: ignore[index]
    results = run["results"]
    stated = {r["properties"]["referenceOutcome"] for r in results}
    assert len(stated) == 1, stated
    # A waived result is a failure with suppressions: reported, not blocking.
    failed = [r for r in results if r["kind"] == "fail" and "suppressions" not in r]
    waived = [r for r in results if r.get("suppressions")]
    errors = [r for r in failed if r["properties"]["outcome"] == "error"]
    blocking = [r for r in failed if r["level"] == "error" and r not in errors]
    if errors:
        outcome = "error"
    elif blocking:
        outcome = "fail"
    elif waived:
        outcome = "waived"
    elif results and all(r["kind"] == "notApplicable" for r in results):
        outcome = "skip"
    else:
        outcome = "pass"
    assert run["invocations"][0]["executionSuccessful"] is (outcome != "error")
    assert stated == {outcome}
    return outcome


def _annotations_outcome(lines: list[str]) -> str:
    errors = [line for line in lines if line.startswith("::error ")]
    if any("(not evaluated)" in line for line in errors):
        return "error"
    if errors:
        return "fail"
    # pass and skip alike: nothing at or above --fail-on (warnings and notices only).
    assert all(line.startswith(("::warning ", "::notice ")) for line in lines), lines
    return "pass or skip"


def _summary_outcome(markdown: str) -> tuple[str, int]:
    match = re.search(
        r"\| (✅ pass|❌ fail|⚠️ error|⏭️ skip|☑️ waived)(?: \((\d+) below --fail-on\))? \|",
        markdown,
    )
    assert match, markdown
    return match.group(1).split()[-1], int(match.group(2) or 0)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_every_format_and_the_exit_code_tell_one_outcome(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    policies = tmp_path / "policies.yaml"
    policies.write_text("---\n".join(case.policies))
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    config = tmp_path / "config.yaml"
    config.write_text(_config(case))
    out = {f: tmp_path / f"report.{f}" for f in ("text", "json", "junit", "sarif", "github")}
    code = main(
        [
            REF,
            "--no-cache",
            "--config",
            str(config),
            "--policy",
            str(policies),
            *[arg for name, path in out.items() for arg in ("--output", f"{name}={path}")],
        ]
    )
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    report = json.loads(out["json"].read_text(encoding="utf-8"))
    disabled = {name for name, settings in case.config if "enabled: false" in settings}
    assert {p["name"] for p in report["policies"]} == {
        p.split("name: ")[1].split("}")[0] for p in case.policies
    } - disabled
    [result] = report["results"]
    validate_junit(out["junit"])
    told = {
        "text": _text_outcome(out["text"].read_text(encoding="utf-8")),
        "json": result["outcome"],
        "json summary": next(k for k, n in report["summary"]["outcomes"].items() if n == 1),
        "junit": _junit_outcome(out["junit"]),
        "sarif": _sarif_outcome(validate_sarif(out["sarif"])),
        "job summary": _summary_outcome(summary.read_text(encoding="utf-8"))[0],
    }
    assert told == dict.fromkeys(told, case.expected), captured.err
    assert code == EXIT[case.expected]
    annotations = out["github"].read_text(encoding="utf-8").splitlines()
    expected_annotations = case.expected if case.expected in ("fail", "error") else "pass or skip"
    assert _annotations_outcome(annotations) == expected_annotations
    # Violations below --fail-on: counted apart, the same number everywhere.
    assert result["belowFailOn"] == case.below
    assert report["summary"]["belowFailOn"] == case.below
    assert _summary_outcome(summary.read_text(encoding="utf-8"))[1] == case.below
    notices = [a for a in annotations if a.startswith(("::warning ", "::notice "))]
    waived = [a for a in notices if "(waived until " in a]
    assert len(notices) - len(waived) == case.below
    assert len(waived) == len(case.exceptions)


def test_sarif_help_uri_is_the_policy_own_or_none(tmp_path: Path) -> None:
    """A user's policy links to its own metadata.helpUri, or to nothing: never to the
    built-in policies' docs (issue 12, bug 10)."""
    own = _policy("own", "error", PASSES).replace(
        "metadata: {name: own}", "metadata: {name: own, helpUri: 'https://example.com/own'}"
    )
    policies = tmp_path / "p.yaml"
    policies.write_text(own + "---\n" + _policy("bare", "error", PASSES))
    sarif = tmp_path / "r.sarif"
    code = main(
        [
            REF,
            "--no-cache",
            "--policy",
            str(policies),
            "--select",
            "own,bare,no-latest",
            "--sarif",
            str(sarif),
            "--format",
            "json",
        ]
    )
    assert code == 0
    rules = {r["id"]: r for r in validate_sarif(sarif)["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["own"]["helpUri"] == "https://example.com/own"
    assert "helpUri" not in rules["bare"]
    assert rules["no-latest"]["helpUri"].endswith("/docs/policies.md#no-latest")
