"""One name per platform manifest: ``platform.name`` in the document is the name in
results, and two Windows builds of one os/arch never share it (docs/document.md,
"Platform names").

Read from a layout of ``helpers.images.windows_builds_case`` (two ``windows/amd64``
builds and a ``linux/amd64``), and once from the real registry.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.cli import inspect_json, run
from tests.helpers.images import (
    WINDOWS_LATER_OS_VERSION,
    WINDOWS_OS_VERSION,
    Built,
    Platform,
    build_index,
    build_manifest,
    push,
    windows_builds_case,
    write_layout,
)
from tests.helpers.registry_server import RegistryServer

NAMES = [
    f"windows/amd64 {WINDOWS_OS_VERSION}",
    f"windows/amd64 {WINDOWS_LATER_OS_VERSION}",
    "linux/amd64",
]
NAME_POLICY = """\
apiVersion: manifest-lint.dev/v1
kind: Policy
metadata: {name: platform-name}
spec:
  scope: platform
  validations:
    - expression: "false"
      messageExpression: "'name=' + platform.platform.name"
"""


@pytest.fixture(scope="module")
def builds() -> Built:
    return windows_builds_case()


@pytest.fixture
def layout(tmp_path: Path, builds: Built) -> str:
    return f"oci:{write_layout(tmp_path / 'builds', builds, 'v1')}:v1"


def lint_json(capsys: pytest.CaptureFixture[str], tmp_path: Path, ref: str) -> dict[str, Any]:
    policy = tmp_path / "name.yaml"
    policy.write_text(NAME_POLICY)
    report = tmp_path / "report.json"
    run(capsys, "--policy", str(policy), "--json", str(report), ref)
    result: dict[str, Any] = json.loads(report.read_text())["results"][0]
    return result


def test_the_document_names_each_windows_build(
    capsys: pytest.CaptureFixture[str], layout: str
) -> None:
    image = inspect_json(capsys, layout)["image"]
    assert [m["platform"]["name"] for m in image["manifests"]] == NAMES
    assert [m["platform"]["osVersion"] for m in image["manifests"]] == [
        WINDOWS_OS_VERSION,
        WINDOWS_LATER_OS_VERSION,
        "",
    ]
    # What the image provides, as required-platforms compares it: os/arch[/variant].
    assert image["platforms"] == ["linux/amd64", "windows/amd64"]


def test_result_names_are_the_document_names(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, layout: str
) -> None:
    result = lint_json(capsys, tmp_path, layout)
    named = {f["name"]: f["message"] for f in result["findings"] if f["policy"] == "platform-name"}
    assert named == {f"platform-name[{n}]": f"name={n}" for n in NAMES}
    layers = [f["name"] for f in result["findings"] if f["policy"] == "max-layers"]
    assert sorted(layers) == sorted(f"max-layers[{n}]" for n in NAMES)
    assert sorted(result["platforms"]) == sorted(NAMES)


def test_text_header_counts_every_platform_row(
    capsys: pytest.CaptureFixture[str], layout: str
) -> None:
    out = run(capsys, "--select", "max-layers", layout).out
    rows = re.findall(r"^  \w+\s+max-layers\[(.*)\]$", out, re.MULTILINE)
    assert sorted(rows) == sorted(NAMES)
    assert f"{len(rows)} platforms)" in out.splitlines()[0]


def test_inspect_text_lists_every_build(capsys: pytest.CaptureFixture[str], layout: str) -> None:
    out = run(capsys, "inspect", layout).out
    (header,) = [line for line in out.splitlines() if line.startswith("  platforms")]
    assert header.split(None, 1)[1] == ", ".join(sorted(NAMES))
    for name in NAMES:
        assert f"\n  {name}\n" in out


def test_one_windows_build_keeps_the_plain_name(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The os.version is added only where it tells builds apart: a monthly patch does
    not rename the result of an image with one Windows build (waivers keep working)."""
    one = build_index(
        [
            build_manifest(Platform("windows", "amd64", os_version=WINDOWS_OS_VERSION), layers=1),
            build_manifest("linux/amd64", layers=1),
        ]
    )
    ref = f"oci:{write_layout(tmp_path / 'one', one, 'v1')}:v1"
    names = [m["platform"]["name"] for m in inspect_json(capsys, ref)["image"]["manifests"]]
    assert names == ["windows/amd64", "linux/amd64"]


def test_builds_of_one_os_version_get_their_digests(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    same = [
        build_manifest(
            Platform("windows", "amd64", os_version=WINDOWS_OS_VERSION), layers=1, seed=seed
        )
        for seed in ("a", "b")
    ]
    ref = f"oci:{write_layout(tmp_path / 'same', build_index(same), 'v1')}:v1"
    result = lint_json(capsys, tmp_path, ref)
    names = sorted(f["name"] for f in result["findings"] if f["policy"] == "platform-name")
    expected = sorted(f"platform-name[windows/amd64 {b.digest[:19]}]" for b in same)
    assert names == expected


@pytest.mark.registry
def test_from_the_registry(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    registry: RegistryServer,
    builds: Built,
) -> None:
    """Cold, then from the cache (documents kept by digest): the same two builds."""
    ref = push(registry.url, "names/windows-builds", builds, "v1").reference
    doc = inspect_json(capsys, ref)
    assert [m["platform"]["name"] for m in doc["image"]["manifests"]] == NAMES
    cold = lint_json(capsys, tmp_path, ref)
    assert sorted(f["name"] for f in cold["findings"] if f["policy"] == "platform-name") == (
        sorted(f"platform-name[{n}]" for n in NAMES)
    )
    warm = lint_json(capsys, tmp_path, ref)
    assert warm["findings"] == cold["findings"]
    assert inspect_json(capsys, ref) == doc
