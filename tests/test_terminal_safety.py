"""Terminal escapes, bidi controls and invisible characters from a registry (issue 12,
bug 1), end to end against the real registry.

One image carries the same hostile text in its index annotation, its manifest
annotation and its config label. Every output for people (``inspect`` text, the
lint text report, GitHub annotations, the job summary, error messages) must show
it escaped, with not one such character raw; JSON, JUnit and SARIF must keep the
exact text (JUnit: but for what XML 1.0 cannot carry) while their bytes, too, hold
nothing a terminal would obey.
"""

from __future__ import annotations

import json
import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from manifest_lint.reporters.escape import escape
from manifest_lint.reporters.junit import xml_safe
from tests.helpers.cli import run, run_with_report
from tests.helpers.images import build_index, build_manifest, push
from tests.helpers.registry_server import RegistryServer
from tests.helpers.reports import validate_junit, validate_sarif

# The policy that quotes an annotation and a label in its message, and their keys.
from tests.test_hostile import ECHO_POLICY, LABEL, NOTE

pytestmark = pytest.mark.registry

#: Clear the screen, set the window title, an 8-bit CSI, a right-to-left override and
#: an isolate, bidi marks, a zero-width space, a tag character, a line separator, a
#: no-break space. (No NUL: cel-expr-python 0.1.3 cuts strings there.)
TEXT = (
    "ok \x1b[2J\x1b]0;pwned\x07 csi\x9b31m \u202eevil\u202c \u2066iso\u2069 "
    "marks\u200e\u200f\u061c zw\u200b tag\U000e0041 ls\u2028 nbsp\xa0 end\\x1b"
)
SHOWN = escape(TEXT)


def unsafe(text: str) -> list[str]:
    """Characters a terminal could obey or a reader could not see (line feeds aside)."""
    return [
        f"U+{ord(c):04X}"
        for c in text
        if c != "\n" and (c != " " and unicodedata.category(c)[0] in "CZ")
    ]


@pytest.fixture(scope="module")
def ref(registry: RegistryServer) -> str:
    image = build_manifest(
        "linux/amd64",
        layers=1,
        seed="terminal",
        annotations={NOTE: TEXT},
        config_labels={LABEL: TEXT},
    )
    push(registry.url, "terminal/hostile", image, None)
    index = build_index([image], annotations={NOTE: TEXT})
    push(registry.url, "terminal/hostile", index, "v1")
    return f"{registry.host}/terminal/hostile:v1"


def test_inspect_text_shows_every_hostile_character_escaped(
    capsys: pytest.CaptureFixture[str], ref: str
) -> None:
    ran = run(capsys, "inspect", ref)
    assert ran.code == 0, ran.err
    assert unsafe(ran.out) == []
    # The index annotation, the manifest annotation and the label: each readable.
    assert ran.out.count(f"{NOTE}: {SHOWN}\n") == 2
    assert ran.out.count(f"{LABEL}: {SHOWN}\n") == 1


def test_inspect_json_keeps_the_exact_text_in_safe_bytes(
    capsys: pytest.CaptureFixture[str], ref: str
) -> None:
    ran = run(capsys, "inspect", "--format", "json", ref)
    assert ran.code == 0, ran.err
    assert unsafe(ran.out) == []
    document = json.loads(ran.out)
    assert document["image"]["annotations"][NOTE] == TEXT
    [manifest] = document["image"]["manifests"]
    assert manifest["annotations"][NOTE] == TEXT
    assert manifest["config"]["labels"][LABEL] == TEXT


def test_lint_outputs_for_people_escape_and_reports_keep_the_text(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    ref: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    policy = tmp_path / "echo.yaml"
    policy.write_text(ECHO_POLICY)
    junit, sarif = tmp_path / "r.xml", tmp_path / "r.sarif"
    ran = run_with_report(
        capsys,
        tmp_path,
        ref,
        "--policy",
        str(policy),
        "--select",
        "echo",
        "--junit",
        str(junit),
        "--sarif",
        str(sarif),
        "--github",
    )
    assert ran.code == 1, ran.out
    expected = f"note: {TEXT} label: {TEXT}"
    # Text report and annotations on standard output, the job summary: all escaped.
    assert unsafe(ran.out) == []
    assert unsafe(ran.err) == []
    assert f"  FAIL  echo: note: {SHOWN} label: {SHOWN}\n" in ran.out
    [annotation] = [line for line in ran.out.splitlines() if line.startswith("::error ")]
    assert annotation.endswith(f"::{ref}: note: {SHOWN} label: {SHOWN}".replace("%", "%25"))
    markdown = summary.read_text(encoding="utf-8")
    assert unsafe(markdown) == []
    assert "\\\\u202eevil" in markdown  # escaped, then the backslash escaped for Markdown
    # The machine formats: the exact text back from a reader, and no unsafe byte.
    assert ran.messages == [expected]
    for path in (junit, sarif, tmp_path / "report.json"):
        assert unsafe(path.read_text(encoding="utf-8")) == [], path
    validate_junit(junit)
    [case] = ET.parse(junit).getroot().iter("failure")
    assert case.get("message") == xml_safe(expected)  # ESC and BEL: no XML 1.0 form
    [result] = validate_sarif(sarif)["runs"][0]["results"]
    assert result["message"]["text"] == f"{ref}: {expected}"


def test_an_error_message_quoting_a_reference_is_escaped(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    layout = tmp_path / "no\u202eexist\x1b[31m"
    ran = run(capsys, "inspect", f"oci:{layout}:1")
    assert ran.code == 3, ran.err
    assert unsafe(ran.err) == []
    assert f"OCI layout {escape(str(layout))} does not exist" in ran.err
