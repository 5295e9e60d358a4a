"""Exceptions that expire (docs/exceptions.md), end to end through ``main(argv)``: the
example layout (three platforms, 3 or 4 layers each) fails ``max-layers`` with
``max=1``; exceptions waive it, or expire, in every format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from manifest_lint.cli.main import main
from tests.helpers.reports import read_junit, validate_junit, validate_sarif

ROOT = Path(__file__).resolve().parent.parent
LAYOUT = ROOT / "examples" / "multiarch"
REF = f"oci:{LAYOUT}:1.0"
DIGEST = json.loads((LAYOUT / "index.json").read_text(encoding="utf-8"))["manifests"][0]["digest"]
NOW = "2026-12-03T00:00:00Z"
FAILING = ["--select", "max-layers", "--param", "max-layers.max=1", "--now", NOW]


def _exceptions(
    tmp_path: Path,
    *,
    policy: str = "max-layers",
    images: str = '"oci:*/multiarch:1.0"',
    expires: str = "2027-01-31",
    extra: str = "",
    name: str = "exceptions.yaml",
) -> Path:
    path = tmp_path / name
    path.write_text(
        "exceptions:\n"
        f"  - policy: {policy}\n"
        f"    images: [{images}]\n"
        "    reason: legacy base image; tracked in OPS-123\n"
        f"    expires: {expires}\n"
        "    owner: team-platform\n" + extra,
        encoding="utf-8",
    )
    return path


def _run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str, ref: str = REF
) -> tuple[int, str, str]:
    config = tmp_path / "config.yaml"
    if not config.exists():
        config.write_text("{}\n", encoding="utf-8")
    code = main(["--config", str(config), *FAILING, *args, ref])
    out, err = capsys.readouterr()
    return code, out, err


def _reports(tmp_path: Path) -> list[str]:
    return [
        *("--json", str(tmp_path / "r.json")),
        *("--junit", str(tmp_path / "r.xml")),
        *("--sarif", str(tmp_path / "r.sarif")),
    ]


def test_without_an_exception_the_run_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(tmp_path, capsys)
    assert code == 1
    assert "  FAIL  max-layers[linux/arm64]: 3 layers, the maximum is 1" in out


def test_a_waived_failure_passes_in_every_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exceptions = _exceptions(tmp_path)
    code, out, _ = _run(tmp_path, capsys, "--exceptions", str(exceptions), *_reports(tmp_path))
    assert code == 0
    assert (
        "  WAIVED max-layers[linux/arm64]: 3 layers, the maximum is 1; "
        "waived: legacy base image; tracked in OPS-123 (expires 2027-01-31)"
    ) in out
    assert out.endswith("1 reference: 0 passed, 0 failed, 0 errors, 0 skipped, 1 waived\n")

    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    [result] = report["results"]
    assert result["outcome"] == "waived"
    assert {f["outcome"] for f in result["findings"]} == {"waived"}
    assert result["findings"][0]["exception"] == {
        "policy": "max-layers",
        "images": ["oci:*/multiarch:1.0"],
        "reason": "legacy base image; tracked in OPS-123",
        "expires": "2027-01-31",
        "owner": "team-platform",
        "source": f"{exceptions}:2",
    }
    assert report["summary"]["waived"] == 3
    assert report["summary"]["blockingFailures"] == 0
    assert report["unusedExceptions"] == []

    validate_junit(tmp_path / "r.xml")
    _, [suite] = read_junit(tmp_path / "r.xml")
    case = suite.case("max-layers[linux/arm64]")
    assert (case.kind, case.message) == (
        "skipped",
        "waived: legacy base image; tracked in OPS-123 (expires 2027-01-31)",
    )
    assert suite.properties["outcome"] == "waived"

    sarif = validate_sarif(tmp_path / "r.sarif")
    results = sarif["runs"][0]["results"]
    assert len(results) == 3
    for entry in results:
        assert entry["suppressions"] == [
            {"kind": "external", "justification": "legacy base image; tracked in OPS-123"}
        ]
        assert entry["properties"]["outcome"] == "waived"


def test_an_expired_exception_fails_the_run_in_every_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exceptions = _exceptions(tmp_path, expires="2026-11-30")
    code, out, _ = _run(tmp_path, capsys, "--exceptions", str(exceptions), *_reports(tmp_path))
    assert code == 1
    expired = "exception expired on 2026-11-30: legacy base image; tracked in OPS-123 (max-layers)"
    assert f"  FAIL  exception[linux/arm64]: {expired}" in out
    assert "  FAIL  max-layers[linux/arm64]: 3 layers, the maximum is 1" in out

    validate_junit(tmp_path / "r.xml")
    _, [suite] = read_junit(tmp_path / "r.xml")
    case = suite.case("exception[linux/arm64]")
    assert (case.kind, case.message) == ("failure", expired)
    assert suite.case("max-layers[linux/arm64]").kind == "failure"

    sarif = validate_sarif(tmp_path / "r.sarif")
    results = sarif["runs"][0]["results"]
    messages = [r["message"]["text"] for r in results if r["ruleId"] == "exception"]
    assert messages == [f"{REF}: {expired}"] * 3
    assert not any("suppressions" in r for r in results)
    assert {r["level"] for r in results if r["ruleId"] == "exception"} == {"error"}
    rules = sarif["runs"][0]["tool"]["driver"]["rules"]
    assert {rules[r["ruleIndex"]]["id"] for r in results if r["ruleId"] == "exception"} == {
        "exception"
    }


def test_an_exception_expiring_soon_is_applied_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exceptions = _exceptions(tmp_path, expires="2026-12-10")
    code, out, _ = _run(tmp_path, capsys, "--exceptions", str(exceptions))
    assert code == 0
    assert (
        "  WARN  exception[linux/amd64]: exception expires on 2026-12-10 (in 8 days): "
        "legacy base image; tracked in OPS-123 (max-layers)"
    ) in out
    assert "  WAIVED max-layers[linux/amd64]" in out
    # The warning fails a run that fails on warnings.
    code, _, _ = _run(tmp_path, capsys, "--exceptions", str(exceptions), "--fail-on", "warning")
    assert code == 1


def test_the_warning_window_is_configured(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "config.yaml").write_text("exception-warn-days: 3\n", encoding="utf-8")
    exceptions = _exceptions(tmp_path, expires="2026-12-10")
    code, out, _ = _run(tmp_path, capsys, "--exceptions", str(exceptions))
    assert code == 0
    assert "exception expires" not in out


def test_exceptions_in_the_configuration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "fail-on: error\n"
        "exceptions:\n"
        "  - policy: max-layers[linux/arm64]\n"
        f"    images: [{DIGEST}]\n"
        "    reason: arm64 build pending\n"
        "    expires: 2027-01-31T12:00:00+01:00\n",
        encoding="utf-8",
    )
    code, out, _ = _run(tmp_path, capsys, "--json", str(tmp_path / "r.json"))
    # Narrowed to one platform: the other two still fail.
    assert code == 1
    assert (
        "  WAIVED max-layers[linux/arm64]: 3 layers, the maximum is 1; "
        "waived: arm64 build pending (expires 2027-01-31T11:00:00Z)"
    ) in out
    assert "  FAIL  max-layers[linux/amd64]" in out
    assert "  FAIL  max-layers[linux/arm/v7]" in out
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    [waived] = [f for f in report["results"][0]["findings"] if f["outcome"] == "waived"]
    assert waived["exception"]["policy"] == "max-layers[linux/arm64]"
    assert waived["exception"]["source"] == f"{config}:3"


@pytest.mark.parametrize(
    ("images", "waived"),
    [
        ('"oci:*/multiarch:1.0"', True),
        ('"oci:*/multiarch:2.0"', False),
        ('"registry.example.com/legacy/*"', False),
        (DIGEST, True),
        ("sha256:" + "0" * 64, False),
    ],
)
def test_images_are_globs_or_digests(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], images: str, waived: bool
) -> None:
    exceptions = _exceptions(tmp_path, images=images)
    code, out, _ = _run(tmp_path, capsys, "--exceptions", str(exceptions))
    assert code == (0 if waived else 1)
    assert ("WAIVED" in out) is waived


def test_an_error_is_never_waived(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = tmp_path / "broken.yaml"
    policy.write_text(
        "apiVersion: manifest-lint.dev/v1\n"
        "kind: Policy\n"
        "metadata: {name: broken}\n"
        "spec:\n"
        "  severity: error\n"
        '  validations: [{expression: \'image.annotations["no.such.key"] == "x"\'}]\n',
        encoding="utf-8",
    )
    exceptions = _exceptions(tmp_path, policy="broken")
    config = tmp_path / "config.yaml"
    config.write_text("{}\n", encoding="utf-8")
    args = ["--policy", str(policy), "--select", "broken", "--exceptions", str(exceptions)]
    code = main(["--config", str(config), "--now", NOW, *args, REF])
    out = capsys.readouterr().out
    assert code == 3
    assert "  ERROR broken" in out
    assert "WAIVED" not in out


def test_unused_exceptions_are_listed_and_can_fail_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = (
        "  - policy: max-layers\n"
        "    images: [registry.example.com/nothing/*]\n"
        "    reason: never matches\n"
        "    expires: 2027-01-31\n"
        # Not evaluated in a run that selects max-layers only: not listed as unused.
        "  - policy: no-latest\n"
        "    images: [registry.example.com/nothing/*]\n"
        "    reason: not evaluated\n"
        "    expires: 2027-01-31\n"
    )
    exceptions = _exceptions(tmp_path, extra=extra)
    args = ["--exceptions", str(exceptions), "--json", str(tmp_path / "r.json")]
    code, out, _ = _run(tmp_path, capsys, *args)
    assert code == 0
    assert out.endswith(f"unused exception: max-layers ({exceptions}:7) matched nothing\n")
    assert "no-latest" not in out
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert [(u["policy"], u["reason"]) for u in report["unusedExceptions"]] == [
        ("max-layers", "never matches")
    ]
    code, _, _ = _run(tmp_path, capsys, *args, "--fail-on-unused-exceptions")
    assert code == 1
    # Without unused exceptions, the flag changes nothing.
    code, _, _ = _run(
        tmp_path, capsys, "--exceptions", str(_exceptions(tmp_path, name="used.yaml"))
    )
    assert code == 0


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            "exceptions:\n  - policy: max-layers\n    images: [x]\n    expires: 2027-01-01\n",
            2,
            "an exception needs 'reason'",
        ),
        (
            "exceptions:\n  - policy: max-layers\n    images: [x]\n    reason: r\n",
            2,
            "an exception needs 'expires'",
        ),
        (
            "exceptions:\n  - policy: max-layers\n    images: [x]\n    reason: r\n"
            "    expires: 2027-01-01\n    until: 2027-01-01\n",
            6,
            "unknown key 'until' in an exception (allowed: policy, images, reason, expires, owner)",
        ),
        (
            "exceptions:\n  - policy: max-layers\n    images: [x]\n    reason: r\n"
            "    expires: next week\n",
            5,
            "expires: 'next week' is not a date (2027-01-31) or an RFC 3339 time",
        ),
        (
            "exceptions:\n  - policy: max-layer\n    images: [x]\n    reason: r\n"
            "    expires: 2027-01-01\n",
            2,
            "exception for 'max-layer': no such policy (known: ",
        ),
        (
            "exceptions:\n  - policy: max-layers\n    images: [x]\n    reason: r\n"
            "    expires: 2027-06-02\n",
            2,
            "exception for 'max-layers' expires on 2027-06-02, more than "
            "max-exception-days (180) after today (at most 2027-06-01)",
        ),
    ],
    ids=["no-reason", "no-expires", "unknown-key", "bad-date", "unknown-policy", "too-long"],
)
def test_bad_exceptions_exit_2_naming_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, line: int, message: str
) -> None:
    path = tmp_path / "exceptions.yaml"
    path.write_text(text, encoding="utf-8")
    code, out, err = _run(tmp_path, capsys, "--exceptions", str(path))
    assert code == 2
    assert out == ""
    assert err.startswith(f"manifest-lint: error: {path}:{line}: {message}")
    assert "Traceback" not in err


def test_max_exception_days_is_configured(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("max-exception-days: 30\n", encoding="utf-8")
    exceptions = _exceptions(tmp_path, expires="2027-01-31")
    code, _, err = _run(tmp_path, capsys, "--exceptions", str(exceptions))
    assert code == 2
    assert f"{exceptions}:2: exception for 'max-layers' expires on 2027-01-31" in err
    assert "max-exception-days (30)" in err


def test_scan_applies_exceptions_to_the_references_it_finds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "Dockerfile").write_text(
        "FROM alpine:latest\nFROM registry.example.com/team/tool:latest\n", encoding="utf-8"
    )
    exceptions = _exceptions(tmp_path, policy="no-latest", images='"docker.io/library/alpine:*"')
    config = tmp_path / "config.yaml"
    config.write_text("{}\n", encoding="utf-8")
    # no-latest is a warning: it fails the run only with --fail-on warning.
    args = ["--offline", "--select", "no-latest", "--fail-on", "warning"]
    args += ["--exceptions", str(exceptions)]
    code = main(
        ["scan", "--config", str(config), "--now", NOW, *args, str(tmp_path / "Dockerfile")]
    )
    out = capsys.readouterr().out
    assert code == 1  # the second reference is not covered
    assert "  WAIVED no-latest: " in out
    assert out.count("  FAIL  no-latest: ") == 1
    assert "2 references: 0 passed, 1 failed, 0 errors, 0 skipped, 1 waived" in out


def test_show_config_lists_the_exceptions_as_a_configuration_that_means_the_same(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exceptions = _exceptions(tmp_path, policy="max-layers[linux/arm64]")
    config = tmp_path / "config.yaml"
    config.write_text("exception-warn-days: 7\n", encoding="utf-8")
    argv = ["--config", str(config), "--now", NOW, "--exceptions", str(exceptions)]
    assert main([*argv, "--show-config"]) == 0
    shown = capsys.readouterr().out
    assert "max-exception-days: 180  # default\n" in shown
    assert "exception-warn-days: 7  # configuration file\n" in shown
    assert (
        '  - {"expires": "2027-01-31", "images": ["oci:*/multiarch:1.0"], '
        '"owner": "team-platform", "policy": "max-layers[linux/arm64]", '
        f'"reason": "legacy base image; tracked in OPS-123"}}  # {exceptions}:2\n'
    ) in shown
    # Run with what it printed as the configuration: the same failure is waived.
    (tmp_path / "shown.yaml").write_text(shown, encoding="utf-8")
    code = main(["--config", str(tmp_path / "shown.yaml"), *FAILING, REF])
    out = capsys.readouterr().out
    assert code == 1  # only arm64 is waived
    assert "  WAIVED max-layers[linux/arm64]: " in out
    assert "  FAIL  max-layers[linux/amd64]: " in out
    config.write_text("{}\n", encoding="utf-8")
    assert main(["--config", str(config), "--now", NOW, "--show-config"]) == 0
    assert "\nexceptions: []\n" in capsys.readouterr().out
