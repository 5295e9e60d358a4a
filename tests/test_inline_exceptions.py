"""Inline exceptions in scanned files (``# manifest-lint ignore=POLICY reason="..."
[expires=DATE]``, docs/exceptions.md), end to end through ``main(argv)``: on the line
above a reference (Dockerfile, YAML) or at its end (YAML), waiving that occurrence
only; malformed or stray comments exit 2 naming the file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from manifest_lint.cli.main import main
from manifest_lint.scan import scan_text
from tests.helpers.reports import read_junit, validate_junit, validate_sarif

ROOT = Path(__file__).resolve().parent.parent
REF = f"oci:{ROOT / 'examples' / 'multiarch'}:1.0"
NOW = "2026-12-03T00:00:00Z"
#: The example layout's three platforms have 3, 3 and 4 layers: each fails with max=1.
FAILING = ["--select", "max-layers", "--param", "max-layers.max=1", "--now", NOW]


def _scan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, text: str, *args: str
) -> tuple[int, str, str]:
    (tmp_path / name).write_text(text, encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text("{}\n", encoding="utf-8")
    code = main(["scan", "--config", str(config), *FAILING, *args, str(tmp_path / name)])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_comment_above_a_from_waives_that_occurrence_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dockerfile = (
        '# manifest-lint ignore=max-layers reason="legacy base, OPS-1" expires=2027-01-31\n'
        f"FROM {REF} AS build\n"
        f"FROM {REF}\n"
    )
    code, out, err = _scan(tmp_path, capsys, "Dockerfile", dockerfile)
    assert (code, err) == (1, "")  # the second FROM is not waived
    first, second = out.split("Dockerfile:3:")
    assert first.count("  WAIVED max-layers[") == 3
    assert "; waived: legacy base, OPS-1 (expires 2027-01-31)" in first
    assert "FAIL" not in first
    assert second.count("  FAIL  max-layers[") == 3
    assert "2 references: 0 passed, 1 failed, 0 errors, 0 skipped, 1 waived" in out


def test_one_platform_and_several_policies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dockerfile = (
        "# manifest-lint ignore=max-layers[linux/arm/v7],required-platforms "
        'reason="v7 is fat"\n'
        f"FROM {REF}\n"
    )
    code, out, _ = _scan(
        tmp_path, capsys, "Dockerfile", dockerfile, "--select", "max-layers,required-platforms"
    )
    assert code == 1
    assert "  WAIVED max-layers[linux/arm/v7]: 4 layers" in out
    assert "  FAIL  max-layers[linux/arm64]: 3 layers" in out
    # required-platforms passes here: its exception is unused, and says where it is.
    assert (
        f"unused exception: required-platforms ({tmp_path / 'Dockerfile'}:1) matched nothing" in out
    )


def test_yaml_at_the_end_of_the_line_or_above_it_in_every_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pod = f"""\
apiVersion: v1
kind: Pod
metadata: {{name: app}}
spec:
  containers:
    - name: app
      image: {REF}  # manifest-lint ignore=max-layers reason="legacy"
    - name: sidecar
      # manifest-lint ignore=max-layers reason="sidecar, OPS-2" expires=2027-01-31
      image: {REF}
"""
    reports = ["--json", str(tmp_path / "r.json"), "--junit", str(tmp_path / "r.xml")]
    reports += ["--sarif", str(tmp_path / "r.sarif")]
    code, out, err = _scan(tmp_path, capsys, "pod.yaml", pod, *reports)
    assert (code, err) == (0, "")
    assert out.count("  WAIVED max-layers[") == 6
    assert "; waived: legacy (expires never)" in out
    assert "; waived: sidecar, OPS-2 (expires 2027-01-31)" in out

    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    app, sidecar = report["results"]
    assert (app["outcome"], sidecar["outcome"]) == ("waived", "waived")
    assert app["findings"][0]["exception"] == {
        "policy": "max-layers",
        "images": ["*"],
        "reason": "legacy",
        "expires": "never",
        "owner": "",
        "source": f"{tmp_path / 'pod.yaml'}:7",
    }
    assert sidecar["findings"][0]["exception"]["source"] == f"{tmp_path / 'pod.yaml'}:9"

    validate_junit(tmp_path / "r.xml")
    _, suites = read_junit(tmp_path / "r.xml")
    case = suites[0].case("max-layers[linux/arm64]")
    assert (case.kind, case.message) == ("skipped", "waived: legacy (expires never)")

    sarif = validate_sarif(tmp_path / "r.sarif")
    results = sarif["runs"][0]["results"]
    assert len(results) == 6
    assert {json.dumps(r["suppressions"]) for r in results} == {
        json.dumps([{"kind": "inSource", "justification": "legacy"}]),
        json.dumps([{"kind": "inSource", "justification": "sidecar, OPS-2"}]),
    }


def test_a_compose_image_and_an_expired_inline_exception_fails_closed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    compose = f"""\
services:
  app:
    # manifest-lint ignore=max-layers[linux/arm64] reason="OPS-3" expires=2026-11-30
    image: {REF}
"""
    code, out, _ = _scan(tmp_path, capsys, "compose.yaml", compose)
    assert code == 1
    assert "  FAIL  max-layers[linux/arm64]: 3 layers" in out
    assert "exception expired on 2026-11-30: OPS-3 (max-layers[linux/arm64])" in out


def test_an_inline_exception_adds_to_the_configured_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exceptions = tmp_path / "exceptions.yaml"
    exceptions.write_text(
        "exceptions:\n"
        "  - policy: max-layers[linux/arm/v7]\n"
        '    images: ["oci:*"]\n'
        "    reason: configured\n"
        "    expires: 2027-01-31\n",
        encoding="utf-8",
    )
    dockerfile = f'# manifest-lint ignore=max-layers reason="inline"\nFROM {REF}\n'
    code, out, _ = _scan(
        tmp_path, capsys, "Dockerfile", dockerfile, "--exceptions", str(exceptions)
    )
    assert code == 0
    assert (
        "  WAIVED max-layers[linux/arm/v7]: 4 layers, the maximum is 1; waived: configured" in out
    )
    assert "  WAIVED max-layers[linux/arm64]: 3 layers, the maximum is 1; waived: inline" in out


@pytest.mark.parametrize(
    ("name", "text", "line", "says"),
    [
        (
            "Dockerfile",
            "# manifest-lint ignore=max-layers\nFROM REF\n",
            1,
            "reason= is required",
        ),
        (
            "Dockerfile",
            'FROM REF # manifest-lint ignore=max-layers reason="x"\n',
            1,
            "a Dockerfile has no end-of-line comments",
        ),
        (
            "Dockerfile",
            '# manifest-lint ignore=max-layers reason="x"\n\nFROM REF\n',
            1,
            "this comment waives nothing",
        ),
        (
            "Dockerfile",
            '# manifest-lint ignroe=max-layers reason="x"\nFROM REF\n',
            1,
            "unknown word 'ignroe'",
        ),
        (
            "Dockerfile",
            '# manifest-lint ignore=max-layer reason="x"\nFROM REF\n',
            1,
            "exception for 'max-layer': no such policy",
        ),
        (
            "Dockerfile",
            '# manifest-lint ignore=max-layers reason="x" expires=2031-01-01\nFROM REF\n',
            1,
            "more than max-exception-days (180) after today",
        ),
        (
            "Dockerfile",
            '# manifest-lint ignore=max-layers reason="x" expires=2027-02-30\nFROM REF\n',
            1,
            "expires: day is out of range for month",
        ),
        (
            "Dockerfile",
            '# manifest-lint ignore=max-layers reason="x\nFROM REF\n',
            1,
            "cannot read 'reason=\"x'",
        ),
        (
            "Dockerfile",
            '# manifest-lint ignore=max-layers[linux] reason="x"\nFROM REF\n',
            1,
            "ignore: invalid platform 'linux'",
        ),
        (
            "compose.yaml",
            'services:\n  app:\n    image: REF\n# manifest-lint ignore=max-layers reason="x"\n',
            4,
            "this comment waives nothing",
        ),
    ],
    ids=[
        "no-reason",
        "dockerfile-end-of-line",
        "not-above",
        "misspelled",
        "unknown-policy",
        "too-long",
        "bad-date",
        "unclosed-quote",
        "bad-platform",
        "stray-yaml",
    ],
)
def test_a_bad_inline_exception_exits_2_naming_file_and_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    text: str,
    line: int,
    says: str,
) -> None:
    code, out, err = _scan(tmp_path, capsys, name, text.replace("REF", REF))
    assert (code, out) == (2, "")
    assert err.startswith(f"manifest-lint: error: {tmp_path / name}:{line}: "), err
    assert says in err


def test_a_comment_that_is_not_addressed_to_manifest_lint_is_left_alone() -> None:
    text = "# see manifest-lint docs\n# manifest-lint is run in CI\nFROM alpine:3\n"
    [found] = scan_text("Dockerfile", text)
    assert (found.reference, found.waivers) == ("alpine:3", ())
