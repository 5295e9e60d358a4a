"""``manifest-lint record`` end to end: images pushed to the real registry, recorded into
OCI layouts, read back by ``inspect``, ``lint`` and skopeo."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from manifest_lint.image.reference import parse_reference
from manifest_lint.sources.layout_writer import LAYERS_ANNOTATION
from manifest_lint.sources.recording import record_name
from tests.helpers.cli import Run, inspect_json, run, run_with_report
from tests.helpers.images import CASES, Built, PushedCase, write_layout, write_layout_archive

REF_NAME = "org.opencontainers.image.ref.name"
DIGEST = "sha256:" + "ab" * 32
#: Built-in policies that read the reference as written (``ref``), which the layout's
#: reference is not: their messages name it.
READ_THE_REFERENCE = {"allowed-registries", "no-latest", "pinned-digest"}


def record(capsys: pytest.CaptureFixture[str], out: Path, *refs: str) -> Run:
    return run(capsys, "record", *refs, "--out", str(out))


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def without_ref(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != "ref"}


def expected_documents(built: Built) -> set[str]:
    """Every manifest and config of ``built`` (attestations included, with their
    statements), no image layer."""
    found = {built.digest}
    if built.config is not None:
        found.add(built.config.digest)
    if built.is_attestation:
        found |= {layer["digest"] for layer in built.json["layers"]}
    for child in built.children:
        found |= expected_documents(child)
    return found


def layer_digests(root: Path) -> set[str]:
    """Every layer digest named by an image manifest stored in the layout (attestation
    manifests' layers are statements, which are recorded)."""
    layers = set()
    for path in (root / "blobs" / "sha256").iterdir():
        document = json.loads(path.read_bytes())
        if isinstance(document, dict) and not _is_attestation(document):
            layers |= {layer["digest"] for layer in document.get("layers", [])}
    return layers


def _is_attestation(document: dict[str, Any]) -> bool:
    return any(
        layer.get("mediaType") == "application/vnd.in-toto+json"
        for layer in document.get("layers", [])
    )


def index(root: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((root / "index.json").read_bytes())
    return loaded


@pytest.mark.parametrize("case", sorted(CASES))
def test_round_trip_gives_the_registry_document(
    capsys: pytest.CaptureFixture[str],
    pushed: Mapping[str, PushedCase],
    tmp_path: Path,
    case: str,
) -> None:
    reference, built = pushed[case]
    out = tmp_path / "recorded"
    result = record(capsys, out, reference)
    assert result.code == 0, result.err
    assert result.out == (
        f"recorded {reference} as {reference} ({built.digest}, "
        f"{len(expected_documents(built))} documents)\n"
    )
    [entry] = index(out)["manifests"]
    assert entry == {
        "mediaType": built.media_type,
        "digest": built.digest,
        "size": built.size,
        "annotations": {REF_NAME: reference},
    }
    assert index(out)["annotations"] == {LAYERS_ANNOTATION: "omitted"}
    # What policies read, each under its digest with the bytes pushed; no layer.
    stored = {f"sha256:{p.name}" for p in (out / "blobs" / "sha256").iterdir()}
    assert stored == expected_documents(built)
    contents = built.contents
    for digest in stored:
        assert (out / "blobs" / "sha256" / digest[7:]).read_bytes() == contents[digest].data
    assert layer_digests(out)  # (the manifests do name layers)
    assert not layer_digests(out) & stored
    # The same document as the registry's, by the full name and by the tag alone.
    from_registry = inspect_json(capsys, reference)
    assert without_ref(inspect_json(capsys, f"oci:{out}:{reference}")) == without_ref(from_registry)
    assert without_ref(inspect_json(capsys, f"oci:{out}:v1")) == without_ref(from_registry)


def test_recording_is_deterministic(
    capsys: pytest.CaptureFixture[str], pushed: Mapping[str, PushedCase], tmp_path: Path
) -> None:
    refs = [pushed[name].reference for name in ("oci_index", "docker_list", "windows_index")]
    assert record(capsys, tmp_path / "a", *refs).code == 0
    assert record(capsys, tmp_path / "b", *reversed(refs)).code == 0
    first = files(tmp_path / "a")
    assert first == files(tmp_path / "b")
    assert [e["annotations"][REF_NAME] for e in index(tmp_path / "a")["manifests"]] == sorted(refs)
    # Recorded again into the same layout: no file changes.
    assert record(capsys, tmp_path / "a", *refs).code == 0
    assert files(tmp_path / "a") == first
    assert not [p for p in (tmp_path / "a").rglob("*.tmp")]


def test_a_second_reference_is_added_and_the_same_name_replaced(
    capsys: pytest.CaptureFixture[str], pushed: Mapping[str, PushedCase], tmp_path: Path
) -> None:
    out = tmp_path / "layout"
    first, second = pushed["oci_manifest"], pushed["docker_manifest"]
    assert record(capsys, out, first.reference).code == 0
    assert record(capsys, out, second.reference).code == 0
    names = {e["annotations"][REF_NAME]: e["digest"] for e in index(out)["manifests"]}
    assert names == {first.reference: first.built.digest, second.reference: second.built.digest}
    for case in (first, second):
        document = inspect_json(capsys, f"oci:{out}:{case.reference}")
        assert document["image"]["digest"] == case.built.digest
    # The same name again: still one entry of that name.
    assert record(capsys, out, first.reference).code == 0
    assert len(index(out)["manifests"]) == 2


def test_an_existing_layout_of_another_tool_keeps_its_entries(
    capsys: pytest.CaptureFixture[str], pushed: Mapping[str, PushedCase], tmp_path: Path
) -> None:
    out = write_layout(tmp_path / "layout", CASES["config"](), "theirs")
    assert record(capsys, out, pushed["oci_index"].reference).code == 0
    names = sorted(e["annotations"][REF_NAME] for e in index(out)["manifests"])
    assert names == sorted(["theirs", pushed["oci_index"].reference])
    assert inspect_json(capsys, f"oci:{out}:theirs")["image"]["digest"] == CASES["config"]().digest


def test_digest_references_are_named_with_their_digest(
    capsys: pytest.CaptureFixture[str], pushed: Mapping[str, PushedCase], tmp_path: Path
) -> None:
    reference, built = pushed["oci_index"]
    pinned = f"{reference.rpartition(':')[0]}@{built.digest}"
    out = tmp_path / "layout"
    assert record(capsys, out, pinned).code == 0
    [entry] = index(out)["manifests"]
    assert entry["annotations"][REF_NAME] == pinned
    document = inspect_json(capsys, f"oci:{out}@{built.digest}")
    assert without_ref(document) == without_ref(inspect_json(capsys, pinned))


def test_a_non_empty_directory_that_is_not_a_layout_is_refused(
    capsys: pytest.CaptureFixture[str], pushed: Mapping[str, PushedCase], tmp_path: Path
) -> None:
    out = tmp_path / "src"
    out.mkdir()
    (out / "main.py").write_text("print('keep me')\n")
    result = record(capsys, out, pushed["oci_manifest"].reference)
    assert result.code == 2
    assert result.err == (
        f"manifest-lint: error: --out {out} is not empty and is not an OCI image layout "
        "(no readable oci-layout and index.json); refusing to write into it\n"
    )
    assert files(out) == {"main.py": b"print('keep me')\n"}


def test_an_unreadable_reference_is_named_and_the_others_recorded(
    capsys: pytest.CaptureFixture[str], pushed: Mapping[str, PushedCase], tmp_path: Path
) -> None:
    good = pushed["oci_manifest"].reference
    missing = good.rpartition(":")[0] + ":no-such-tag"
    out = tmp_path / "layout"
    result = record(capsys, out, missing, good)
    assert result.code == 3
    assert f"manifest-lint: error: cannot record {missing}: " in result.err
    assert result.err.endswith(f"manifest-lint: 1 of 2 not recorded: {missing}\n")
    assert [e["annotations"][REF_NAME] for e in index(out)["manifests"]] == [good]
    # Nothing at all is written when nothing could be read.
    result = record(capsys, tmp_path / "none", missing)
    assert result.code == 3
    assert not (tmp_path / "none").exists()


def test_an_unreachable_registry_is_exit_3(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    result = run(
        capsys, "record", "127.0.0.1:9/app:1.0", "--out", str(tmp_path / "x"), "--timeout", "2"
    )
    assert result.code == 3
    assert "cannot record 127.0.0.1:9/app:1.0: " in result.err
    assert "Traceback" not in result.err


def test_a_bad_reference_is_a_usage_error_before_anything_is_read(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    result = record(capsys, tmp_path / "x", "Not A Reference")
    assert result.code == 2
    assert "invalid reference" in result.err
    assert not (tmp_path / "x").exists()


def test_recording_from_a_layout(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    built = CASES["oci_index"]()
    source = write_layout(tmp_path / "source", built, "1.0")
    out = tmp_path / "out"
    result = record(capsys, out, f"oci:{source}:1.0")
    assert result.code == 0, result.err
    [entry] = index(out)["manifests"]
    assert entry["annotations"][REF_NAME] == "1.0"
    assert without_ref(inspect_json(capsys, f"oci:{out}:1.0")) == without_ref(
        inspect_json(capsys, f"oci:{source}:1.0")
    )
    # Less than the source: its layers are not copied.
    assert set(files(out)) < set(files(source))
    # --out may come before the command word, as other options may.
    again = run(capsys, "--out", str(tmp_path / "before"), "record", f"oci:{source}:1.0")
    assert again.code == 0, again.err
    assert files(tmp_path / "before") == files(out)


@pytest.mark.parametrize("case", ["oci_index", "oci_manifest", "config"])
def test_skopeo_reads_the_recorded_layout(
    capsys: pytest.CaptureFixture[str],
    pushed: Mapping[str, PushedCase],
    skopeo: str,
    tmp_path: Path,
    case: str,
) -> None:
    reference, built = pushed[case]
    out = tmp_path / "layout"
    assert record(capsys, out, reference).code == 0
    raw = subprocess.run(
        [skopeo, "--insecure-policy", "inspect", "--raw", f"oci:{out}:{reference}"],
        check=True,
        capture_output=True,
        timeout=60,
    ).stdout
    assert raw == built.data


@pytest.mark.parametrize("case", sorted(CASES))
def test_lint_of_the_recording_gives_the_registry_results(
    capsys: pytest.CaptureFixture[str],
    pushed: Mapping[str, PushedCase],
    tmp_path: Path,
    case: str,
) -> None:
    reference, _ = pushed[case]
    out = tmp_path / "layout"
    assert record(capsys, out, reference).code == 0
    now = ("--now", "2026-06-01T00:00:00Z")
    online = run_with_report(capsys, tmp_path / "online", reference, *now)
    recorded = run_with_report(capsys, tmp_path / "recorded", f"oci:{out}:{reference}", *now)
    [a], [b] = online.results, recorded.results

    def by_policy(findings: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
        grouped: dict[str, list[dict[str, Any]]] = {}
        for finding in findings:
            grouped.setdefault(finding["policy"], []).append(finding)
        return grouped

    online_findings, recorded_findings = by_policy(a["findings"]), by_policy(b["findings"])
    # The policies that read the image (not the reference as written) give the same.
    on_the_image = set(online_findings) - READ_THE_REFERENCE
    assert on_the_image >= {"max-layers", "required-annotations", "required-platforms"}
    for policy in on_the_image:
        assert recorded_findings[policy] == online_findings[policy], policy


def test_a_document_that_does_not_match_its_digest_records_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    built = CASES["oci_index"]()
    source = write_layout(tmp_path / "source", built, "1.0")
    config = built.child("linux/arm/v7").config
    assert config is not None
    blob = source / "blobs" / "sha256" / config.digest.removeprefix("sha256:")
    data = blob.read_bytes()
    tampered = data.replace(b'"arm"', b'"x86"')  # same size, other bytes
    assert tampered != data
    blob.write_bytes(tampered)
    out = tmp_path / "out"
    result = record(capsys, out, f"oci:{source}:1.0")
    assert result.code == 3
    assert f"cannot record oci:{source}:1.0: " in result.err
    assert config.digest in result.err
    assert not out.exists()


def test_recording_from_an_oci_archive(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    built = CASES["windows_index"]()
    archive = write_layout_archive(tmp_path / "source.tar", built, "1.0")
    out = tmp_path / "out"
    assert record(capsys, out, f"oci-archive:{archive}:1.0").code == 0
    stored = {f"sha256:{p.name}" for p in (out / "blobs" / "sha256").iterdir()}
    assert stored == expected_documents(built)
    assert without_ref(inspect_json(capsys, f"oci:{out}:1.0")) == without_ref(
        inspect_json(capsys, f"oci-archive:{archive}:1.0")
    )


def test_skopeo_cannot_name_a_docker_typed_entry(
    capsys: pytest.CaptureFixture[str],
    pushed: Mapping[str, PushedCase],
    skopeo: str,
    tmp_path: Path,
) -> None:
    """What docs/recording.md says: the entry is recorded unchanged (its digest kept),
    manifest-lint reads it, skopeo's oci: transport does not find it by name."""
    reference, built = pushed["docker_list"]
    out = tmp_path / "layout"
    assert record(capsys, out, reference).code == 0
    assert inspect_json(capsys, f"oci:{out}:{reference}")["image"]["digest"] == built.digest
    ran = subprocess.run(
        [skopeo, "--insecure-policy", "inspect", "--raw", f"oci:{out}:{reference}"],
        capture_output=True,
        timeout=60,
    )
    assert ran.returncode != 0


@pytest.mark.parametrize(
    ("written", "name"),
    [
        ("alpine", "docker.io/library/alpine:latest"),
        ("ghcr.io/org/app:1.2", "ghcr.io/org/app:1.2"),
        (f"ghcr.io/org/app:1.2@{DIGEST}", "ghcr.io/org/app:1.2"),
        (f"ghcr.io/org/app@{DIGEST}", f"ghcr.io/org/app@{DIGEST}"),
        ("127.0.0.1:5000/app:1.0", "127.0.0.1:5000/app:1.0"),
        ("oci:some/dir:1.0", "1.0"),
        ("oci:some/dir:registry.example.com/app:1.0", "registry.example.com/app:1.0"),
        ("oci-archive:app.tar", DIGEST),
    ],
)
def test_record_names(written: str, name: str) -> None:
    assert record_name(parse_reference(written), DIGEST) == name
