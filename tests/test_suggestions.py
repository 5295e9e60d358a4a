"""Every reference or command the tool suggests works when fed back into the tool.

The places that suggest one: the ``pinned-digest`` policy (``use REF@DIGEST``, and
``write REF@sha256:<digest>`` offline), the path hint of a reference that is a path
(``write oci:PATH``), and the layout errors that name tags (``name one with :TAG or
@DIGEST (tags: …)``, ``no image tagged … (tags: …)``, ``write the tag or the digest
alone``). Each test runs the tool, takes the suggestion from what it printed, runs it,
and checks it resolves (exit 0 or 1, never 2 or 3). The TLS hint (``--ca-file``,
``--insecure-registry``) names options, not a value to paste, and is tested in
``test_tls.py``.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.helpers.cli import Run, inspect_json, run
from tests.helpers.images import CASES, PushedCase, write_layout, write_layout_archive

REPO_ROOT = Path(__file__).resolve().parents[1]
USE = re.compile(r"pinned-digest: not pinned to a digest: use (\S+)$", re.MULTILINE)
WRITE = re.compile(r"pinned-digest: not pinned to a digest: write (\S+)$", re.MULTILINE)
TAGS = re.compile(r"\(tags: ([^)]*)\)")


def suggested(result: Run, pattern: re.Pattern[str]) -> list[str]:
    found = pattern.findall(result.out + result.err)
    assert found, f"no suggestion in:\n{result.out}{result.err}"
    return list(found)


def assert_resolves(result: Run) -> None:
    """The run read the image: not a usage error (2) nor an unreadable one (3)."""
    assert result.code in (0, 1), result.out + result.err
    assert "ERROR" not in result.out, result.out
    assert "Traceback" not in result.err


def test_pinned_digest_advice_on_the_example_layout(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's tour: the suggested ``oci:examples/multiarch:1.0@sha256:…`` passes."""
    monkeypatch.chdir(REPO_ROOT)
    first = run(capsys, "oci:examples/multiarch:1.0")
    (advice,) = suggested(first, USE)
    assert advice.startswith("oci:examples/multiarch:1.0@sha256:")
    again = run(capsys, advice)
    assert_resolves(again)
    assert again.code == 0
    assert "PASS  pinned-digest" in again.out
    assert USE.search(again.out) is None


def test_pinned_digest_advice_on_an_archive(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    archive = write_layout_archive(tmp_path / "image.tar", CASES["oci_index"](), ["v1", "v2"])
    (advice,) = suggested(run(capsys, f"oci-archive:{archive}:v2"), USE)
    assert advice.startswith(f"oci-archive:{archive}:v2@sha256:")
    again = run(capsys, advice)
    assert_resolves(again)
    assert "PASS  pinned-digest" in again.out


@pytest.mark.registry
@pytest.mark.parametrize("case", sorted(CASES))
def test_pinned_digest_advice_on_registry_images(
    capsys: pytest.CaptureFixture[str], pushed: dict[str, PushedCase], case: str
) -> None:
    reference = pushed[case].reference
    (advice,) = suggested(run(capsys, reference), USE)
    assert advice == f"{reference}@{pushed[case].built.digest}"
    again = run(capsys, advice)
    assert_resolves(again)
    assert "PASS  pinned-digest" in again.out


@pytest.mark.registry
def test_offline_pinned_digest_template_with_the_digest_filled_in(
    capsys: pytest.CaptureFixture[str], pushed: dict[str, PushedCase]
) -> None:
    """Offline the digest is unknown: the advice is a template whose ``<digest>`` is
    what ``inspect`` shows."""
    reference = pushed["oci_index"].reference
    (template,) = suggested(run(capsys, "--offline", reference), WRITE)
    assert template == f"{reference}@sha256:<digest>"
    digest = inspect_json(capsys, reference)["image"]["digest"]
    filled = template.replace("sha256:<digest>", digest)
    assert_resolves(run(capsys, "--offline", filled))
    assert_resolves(run(capsys, filled))


def test_path_hint(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``./dir`` is refused with ``write oci:PATH … or oci-archive:FILE``; both forms,
    with the path given, read the image."""
    shutil.copytree(REPO_ROOT / "examples" / "multiarch", tmp_path / "multiarch")
    write_layout_archive(tmp_path / "image.tar", CASES["oci_index"](), "v1")
    monkeypatch.chdir(tmp_path)
    for path, form in (("./multiarch", "oci:PATH"), ("./image.tar", "oci-archive:FILE")):
        refused = run(capsys, path)
        assert refused.code == 2
        assert form in refused.out + refused.err
        transport = form.partition(":")[0]
        assert_resolves(run(capsys, f"{transport}:{path}"))


def test_tags_named_by_layout_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """``holds 2 images; name one with :TAG or @DIGEST (tags: …)``, ``no image tagged``
    and a tag naming another digest: every tag listed, and the tag or the digest
    alone, read an image."""
    root = tmp_path / "layout"
    first, second = CASES["oci_manifest"](), CASES["config"]()
    write_layout(root, first, "a")
    entries = json.loads((root / "index.json").read_text())["manifests"]
    write_layout(root, second, "b")
    index = json.loads((root / "index.json").read_text())
    index["manifests"] = entries + index["manifests"]
    (root / "index.json").write_text(json.dumps(index))

    for given in (f"oci:{root}", f"oci:{root}:c"):
        refused = run(capsys, given)
        assert refused.code == 3
        (tags,) = suggested(refused, TAGS)
        assert tags.split(", ") == ["a", "b"]
        for tag in tags.split(", "):
            assert_resolves(run(capsys, f"oci:{root}:{tag}"))
        assert_resolves(run(capsys, f"oci:{root}@{first.digest}"))

    mismatch = run(capsys, f"oci:{root}:a@{second.digest}")
    assert mismatch.code == 3
    assert "write the tag or the digest alone" in mismatch.out
    assert_resolves(run(capsys, f"oci:{root}:a"))
    assert_resolves(run(capsys, f"oci:{root}@{second.digest}"))
    # "or both as the layout has them": the tag with its own digest.
    assert_resolves(run(capsys, f"oci:{root}:b@{second.digest}"))
