"""OCI image layouts (``oci:DIR``) and their tar archives (``oci-archive:FILE``).

Layouts are written by ``helpers.images.write_layout``/``write_layout_archive``
from the ready-made cases; the error cases break them the ways a disk, a
careless script or an attacker would. Everything goes through ``main(argv)``
except where the error's fields are checked.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from manifest_lint.errors import IntegrityError, LayoutError
from manifest_lint.image.reference import parse_reference
from manifest_lint.sources.layout import LayoutSource
from manifest_lint.sources.load import load_image
from tests.helpers.cli import inspect_json, run
from tests.helpers.images import (
    CASES,
    REF_NAME,
    Built,
    make_tar,
    write_layout,
    write_layout_archive,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
FOUR_PLATFORMS = ["linux/amd64", "linux/arm/v7", "linux/arm64", "linux/s390x"]


def inspect_error(capsys: pytest.CaptureFixture[str], ref: str) -> str:
    """The one-line error of a failed inspect (exit 3); returns it without the prefix."""
    result = run(capsys, "inspect", "--format", "json", ref)
    assert result.code == 3, result.out
    assert result.out == ""
    assert "Traceback" not in result.err
    assert result.err.count("\n") == 1, result.err
    prefix = "manifest-lint: error: "
    assert result.err.startswith(prefix)
    return result.err[len(prefix) : -1]


def blob_file(root: Path, digest: str) -> Path:
    algorithm, _, encoded = digest.partition(":")
    return root / "blobs" / algorithm / encoded


def flip_a_byte(path: Path) -> str:
    """Change one bit in the middle of ``path``; returns the digest of the new content."""
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def oci_index() -> Built:
    return CASES["oci_index"]()


@pytest.fixture
def index_layout(tmp_path: Path, oci_index: Built) -> Path:
    return write_layout(tmp_path / "layout", oci_index, "v1")


def by_platform(document: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["platform"]["name"]: m for m in document["image"]["manifests"]}


# ------------------------------------------------------------------ layouts that work


def test_directory_by_tag(
    capsys: pytest.CaptureFixture[str], index_layout: Path, oci_index: Built
) -> None:
    doc = inspect_json(capsys, f"oci:{index_layout}:v1")
    assert doc["ref"]["transport"] == "oci"
    assert doc["ref"]["path"] == str(index_layout)
    assert doc["ref"]["tag"] == "v1"
    image = doc["image"]
    assert image["digest"] == oci_index.digest
    assert image["isIndex"] is True
    assert image["platforms"] == FOUR_PLATFORMS
    assert {p: m["layerCount"] for p, m in by_platform(doc).items()} == {
        "linux/amd64": 3,
        "linux/arm64": 4,
        "linux/arm/v7": 5,
        "linux/s390x": 6,
    }
    assert len(image["attestations"]) == 4
    assert oci_index.facts is not None
    assert image["annotations"] == dict(oci_index.facts.annotations)


def test_directory_by_digest(
    capsys: pytest.CaptureFixture[str], index_layout: Path, oci_index: Built
) -> None:
    doc = inspect_json(capsys, f"oci:{index_layout}@{oci_index.digest}")
    assert doc["ref"]["pinned"] is True
    assert doc["image"]["digest"] == oci_index.digest
    assert doc["image"]["platforms"] == FOUR_PLATFORMS


def test_directory_by_digest_of_a_manifest_not_in_index_json(
    capsys: pytest.CaptureFixture[str], index_layout: Path, oci_index: Built
) -> None:
    child = oci_index.child("linux/arm/v7")
    doc = inspect_json(capsys, f"oci:{index_layout}@{child.digest}")
    assert doc["image"]["isIndex"] is False
    assert doc["image"]["digest"] == child.digest
    assert doc["image"]["platforms"] == ["linux/arm/v7"]  # from the config


def test_directory_by_tag_and_digest(
    capsys: pytest.CaptureFixture[str], index_layout: Path, oci_index: Built
) -> None:
    """``oci:DIR:TAG@DIGEST``, the form pinned-digest suggests, reads the digest and
    keeps the tag."""
    doc = inspect_json(capsys, f"oci:{index_layout}:v1@{oci_index.digest}")
    assert (doc["ref"]["path"], doc["ref"]["tag"]) == (str(index_layout), "v1")
    assert doc["ref"]["digest"] == doc["image"]["digest"] == oci_index.digest
    assert doc["ref"]["pinned"] is True
    assert doc["image"]["platforms"] == FOUR_PLATFORMS


def test_archive_by_tag_and_digest(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, oci_index: Built
) -> None:
    archive = write_layout_archive(tmp_path / "image.tar", oci_index, ["v1", "latest"])
    doc = inspect_json(capsys, f"oci-archive:{archive}:latest@{oci_index.digest}")
    assert (doc["ref"]["transport"], doc["ref"]["tag"]) == ("oci-archive", "latest")
    assert doc["image"]["digest"] == oci_index.digest


def test_tag_that_names_another_digest_is_an_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, oci_index: Built
) -> None:
    other = CASES["config"]()
    root = write_layout(tmp_path / "two", oci_index, "v1")
    first = json.loads((root / "index.json").read_text())
    write_layout(root, other, "v2")  # adds its blobs, replaces index.json
    second = json.loads((root / "index.json").read_text())
    second["manifests"] = first["manifests"] + second["manifests"]
    (root / "index.json").write_text(json.dumps(second))
    message = inspect_error(capsys, f"oci:{root}:v1@{other.digest}")
    assert message == (
        f"OCI layout {root}: tag 'v1' names {oci_index.digest}, not {other.digest}; "
        "write the tag or the digest alone, or both as the layout has them"
    )
    message = inspect_error(capsys, f"oci:{root}:v3@{other.digest}")
    assert message == f"OCI layout {root} has no image tagged 'v3' (tags: v1, v2)"


def test_directory_whose_name_holds_a_colon_by_digest(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, oci_index: Built
) -> None:
    """``oci:a:b@DIGEST`` read the directory ``a:b`` before TAG@DIGEST was accepted;
    where only that exists, it still does (``ref`` shows the reference as parsed)."""
    root = write_layout(tmp_path / "app:2024", oci_index, "v1")
    doc = inspect_json(capsys, f"oci:{root}@{oci_index.digest}")
    assert (doc["ref"]["path"], doc["ref"]["tag"]) == (str(tmp_path / "app"), "2024")
    assert doc["image"]["digest"] == oci_index.digest
    # Where both exist, the tag form wins: the directory app, its tag 2024.
    other = CASES["config"]()
    write_layout(tmp_path / "app", other, "2024")
    assert inspect_error(capsys, f"oci:{root}@{oci_index.digest}") == (
        f"OCI layout {tmp_path / 'app'}: tag '2024' names {other.digest}, not "
        f"{oci_index.digest}; write the tag or the digest alone, or both as the layout has them"
    )


@pytest.mark.parametrize("tag", [None, "only"])
def test_directory_with_one_image_needs_no_tag(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, tag: str | None
) -> None:
    built = CASES["config"]()
    root = write_layout(tmp_path / "single", built, tag)
    doc = inspect_json(capsys, f"oci:{root}")
    assert doc["image"]["digest"] == built.digest
    assert doc["image"]["platforms"] == ["linux/amd64"]
    (manifest,) = doc["image"]["manifests"]
    assert manifest["config"]["user"] == "10001:10001"


def test_archive_by_tag(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, oci_index: Built
) -> None:
    archive = write_layout_archive(tmp_path / "image.tar", oci_index, ["v1", "latest"])
    doc = inspect_json(capsys, f"oci-archive:{archive}:latest")
    assert doc["ref"]["transport"] == "oci-archive"
    assert doc["image"]["digest"] == oci_index.digest
    assert doc["image"]["platforms"] == FOUR_PLATFORMS
    assert len(doc["image"]["attestations"]) == 4


def test_archive_and_directory_give_the_same_image(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    built = CASES["oci_manifest"]()
    root = write_layout(tmp_path / "dir", built, "v1")
    archive = write_layout_archive(tmp_path / "image.tar", built, "v1")
    from_dir = inspect_json(capsys, f"oci:{root}:v1")["image"]
    from_archive = inspect_json(capsys, f"oci-archive:{archive}:v1")["image"]
    assert from_dir == from_archive


def test_committed_example(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO_ROOT)  # the reference is written as users type it in the repo
    doc = inspect_json(capsys, "oci:examples/multiarch:1.0")
    assert doc["image"]["platforms"] == ["linux/amd64", "linux/arm/v7", "linux/arm64"]
    assert len(doc["image"]["manifests"]) == 3
    assert all(a["platform"] for a in doc["image"]["attestations"])


# ------------------------------------------------------------------ broken layouts


def test_missing_directory(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    assert inspect_error(capsys, f"oci:{missing}:v1") == f"OCI layout {missing} does not exist"


def test_missing_archive(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.tar"
    assert inspect_error(capsys, f"oci-archive:{missing}:v1") == (
        f"OCI archive {missing} does not exist"
    )


def test_missing_tag_lists_the_available_tags(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, oci_index: Built
) -> None:
    root = write_layout(tmp_path / "layout", oci_index, ["v1", "stable"])
    assert inspect_error(capsys, f"oci:{root}:v2") == (
        f"OCI layout {root} has no image tagged 'v2' (tags: stable, v1)"
    )


def test_several_images_and_no_tag(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    root = tmp_path / "layout"
    write_layout(root, CASES["oci_manifest"](), "a")
    first = json.loads((root / "index.json").read_text())
    write_layout(root, CASES["config"](), "b")  # adds its blobs, replaces index.json
    second = json.loads((root / "index.json").read_text())
    second["manifests"] = first["manifests"] + second["manifests"]
    (root / "index.json").write_text(json.dumps(second))
    assert inspect_error(capsys, f"oci:{root}") == (
        f"OCI layout {root} holds 2 images; name one with :TAG or @DIGEST (tags: a, b)"
    )
    # Each is still reachable by its tag.
    assert inspect_json(capsys, f"oci:{root}:b")["image"]["manifests"][0]["config"]["user"] == (
        "10001:10001"
    )


@pytest.mark.parametrize("version", ["2.0.0", "", None])
def test_unsupported_image_layout_version(
    capsys: pytest.CaptureFixture[str], index_layout: Path, version: str | None
) -> None:
    (index_layout / "oci-layout").write_text(json.dumps({"imageLayoutVersion": version}))
    assert inspect_error(capsys, f"oci:{index_layout}:v1") == (
        f"OCI layout {index_layout}: unsupported imageLayoutVersion {version!r} (expected 1.x)"
    )


@pytest.mark.parametrize("what", ["platform manifest", "config"])
def test_tampered_blob(
    capsys: pytest.CaptureFixture[str], index_layout: Path, oci_index: Built, what: str
) -> None:
    child = oci_index.child("linux/s390x")
    assert child.config is not None
    expected = child.digest if what == "platform manifest" else child.config.digest
    actual = flip_a_byte(blob_file(index_layout, expected))

    err = inspect_error(capsys, f"oci:{index_layout}:v1")
    assert "digest mismatch" in err
    assert f"expected {expected}, got {actual}" in err

    reference = parse_reference(f"oci:{index_layout}:v1")
    source = LayoutSource(reference)
    try:
        with pytest.raises(IntegrityError) as excinfo:
            load_image(reference, source)
    finally:
        source.close()
    assert (excinfo.value.expected, excinfo.value.actual) == (expected, actual)


def test_tampered_index_blob_in_an_archive(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, oci_index: Built
) -> None:
    root = write_layout(tmp_path / "layout", oci_index, "v1")
    actual = flip_a_byte(blob_file(root, oci_index.digest))
    archive = tmp_path / "image.tar"
    archive.write_bytes(
        make_tar({str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()})
    )
    err = inspect_error(capsys, f"oci-archive:{archive}:v1")
    assert f"expected {oci_index.digest}, got {actual}" in err


def test_symlink_blob_leading_outside_is_refused(
    capsys: pytest.CaptureFixture[str], index_layout: Path, oci_index: Built, tmp_path: Path
) -> None:
    child = oci_index.child("linux/amd64")
    assert child.config is not None
    target = blob_file(index_layout, child.config.digest)
    outside = tmp_path / "outside-the-layout"
    shutil.copyfile(target, outside)  # the right bytes: only where they are is wrong
    target.unlink()
    target.symlink_to(outside)
    relpath = target.relative_to(index_layout)
    assert inspect_error(capsys, f"oci:{index_layout}:v1") == (
        f"OCI layout {index_layout}: {relpath} is a link that leads outside the layout"
    )


def test_symlink_blob_inside_the_layout_is_read(
    capsys: pytest.CaptureFixture[str], index_layout: Path, oci_index: Built
) -> None:
    child = oci_index.child("linux/amd64")
    assert child.config is not None
    target = blob_file(index_layout, child.config.digest)
    moved = index_layout / "moved-config"
    target.rename(moved)
    target.symlink_to(Path("..", "..", "moved-config"))
    assert inspect_json(capsys, f"oci:{index_layout}:v1")["image"]["platforms"] == FOUR_PLATFORMS


def test_missing_blob(
    capsys: pytest.CaptureFixture[str], index_layout: Path, oci_index: Built
) -> None:
    digest = oci_index.child("linux/arm/v7").digest
    path = blob_file(index_layout, digest)
    path.unlink()
    assert inspect_error(capsys, f"oci:{index_layout}:v1") == (
        f"OCI layout {index_layout}: {path.relative_to(index_layout)} is missing"
    )


# ------------------------------------------------------------------ hostile archives


def _tar(members: list[tarfile.TarInfo], data: Mapping[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for info in members:
            content = data.get(info.name)
            tar.addfile(info, io.BytesIO(content) if content is not None else None)
    return buf.getvalue()


def _regular(name: str, content: bytes) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = len(content)
    info.mode = 0o644
    return info


def _layout_members(built: Built, tmp_path: Path) -> dict[str, bytes]:
    root = write_layout(tmp_path / "source", built, "v1")
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.mark.parametrize("evil", ["../escape.txt", "blobs/../../escape.txt", "/etc/escape.txt"])
def test_archive_member_leaving_the_layout_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, evil: str
) -> None:
    files = _layout_members(CASES["oci_manifest"](), tmp_path)
    files[evil] = b"not for you\n"
    archive = tmp_path / "hostile.tar"
    archive.write_bytes(_tar([_regular(n, c) for n, c in files.items()], files))
    with tarfile.open(archive) as tar:
        stored = [m.name for m in tar.getmembers() if "escape" in m.name]
    assert len(stored) == 1
    assert inspect_error(capsys, f"oci-archive:{archive}:v1") == (
        f"OCI archive {archive} is refused: member {stored[0]!r} would leave the layout"
    )


@pytest.mark.parametrize("link_type", [tarfile.SYMTYPE, tarfile.LNKTYPE])
def test_archive_link_where_a_blob_should_be_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, link_type: bytes
) -> None:
    built = CASES["oci_manifest"]()
    assert built.config is not None
    files = _layout_members(built, tmp_path)
    blob = str(Path("blobs", "sha256", built.config.digest.removeprefix("sha256:")))
    files["stash/config"] = files.pop(blob)
    members = [_regular(n, c) for n, c in files.items()]
    link = tarfile.TarInfo(blob)
    link.type = link_type
    link.linkname = "../../stash/config" if link_type == tarfile.SYMTYPE else "stash/config"
    members.append(link)
    archive = tmp_path / "linked.tar"
    archive.write_bytes(_tar(members, files))
    assert inspect_error(capsys, f"oci-archive:{archive}:v1") == (
        f"OCI archive {archive}: {blob} is a link or special file, not a blob"
    )


def test_archive_that_is_not_a_tar(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    archive = tmp_path / "junk.tar"
    archive.write_bytes(b"this is not a tar archive" * 40)
    assert inspect_error(capsys, f"oci-archive:{archive}") == (
        f"OCI archive {archive} is not a readable tar archive (tried plain, gzip, bzip2 and xz)"
    )


def test_truncated_archive(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    whole = write_layout_archive(tmp_path / "whole.tar", CASES["oci_manifest"](), "v1")
    data = whole.read_bytes()
    archive = tmp_path / "truncated.tar"
    archive.write_bytes(data[: len(data) // 2 + 100])
    err = inspect_error(capsys, f"oci-archive:{archive}:v1")
    assert err.startswith(f"OCI archive {archive} is not a readable tar archive: ")


def test_layout_error_fields(index_layout: Path) -> None:
    reference = parse_reference(f"oci:{index_layout}:nope")
    source = LayoutSource(reference)
    try:
        with pytest.raises(LayoutError) as excinfo:
            load_image(reference, source)
    finally:
        source.close()
    assert excinfo.value.path == str(index_layout)
    assert "tags: v1" in str(excinfo.value)
    assert REF_NAME == "org.opencontainers.image.ref.name"
