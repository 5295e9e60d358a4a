"""In-toto statements as attestation layers carry them (image/statements.py): decoded,
classified by predicateType family, normalised; every bad shape a ContentError."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from manifest_lint.errors import ContentError
from manifest_lint.image.statements import (
    DSSE_ENVELOPE,
    IN_TOTO,
    Material,
    Provenance,
    Sbom,
    is_statement_layer,
    read_statement,
)
from tests.helpers import supply_chain as sc

DIGEST = "sha256:" + "a" * 64
OTHER = "sha256:" + "b" * 64


def raw(stmt: Any) -> bytes:
    return json.dumps(stmt).encode()


def read(stmt: Any, media_type: str = IN_TOTO) -> Any:
    return read_statement(raw(stmt), media_type, "layer")


@pytest.mark.parametrize(
    ("predicate_type", "kind"),
    [
        ("https://slsa.dev/provenance/v0.1", "provenance"),
        ("https://slsa.dev/provenance/v0.2", "provenance"),
        ("https://slsa.dev/provenance/v1", "provenance"),
        ("https://slsa.dev/provenance/v1?draft", "provenance"),
        ("https://spdx.dev/Document", "sbom"),
        ("https://spdx.dev/Document/v2.3", "sbom"),
        ("https://cyclonedx.org/bom", "sbom"),
        ("https://cyclonedx.org/bom/v1.5", "sbom"),
        ("https://slsa.dev/verification_summary/v1", "other"),
        ("https://in-toto.io/attestation/test-result/v0.1", "other"),
        ("https://cosign.sigstore.dev/attestation/vuln/v1", "other"),
        ("https://slsa.dev/provenance/v10", "other"),
        ("https://spdx.dev/Documents", "other"),
    ],
)
def test_statements_are_classified_by_predicate_type_family(predicate_type: str, kind: str) -> None:
    found = read(sc.statement(predicate_type, {}, [sc.subject(DIGEST)]))
    assert (found.predicate_type, found.kind) == (predicate_type, kind)
    assert found.subjects == (DIGEST,)


def test_the_predicate_type_decides_not_the_statement_type() -> None:
    stmt = sc.statement(sc.SLSA_V1, sc.provenance_v1(), [sc.subject(DIGEST)])
    stmt["_type"] = "https://in-toto.io/Statement/v0.1"
    found = read(stmt)
    assert found.kind == "provenance"
    assert found.provenance is not None
    assert found.provenance.builder_id == sc.BUILDER


def test_slsa_v02_provenance_is_normalised() -> None:
    found = read(sc.statement(sc.SLSA_V02, sc.provenance_v02(), [sc.subject(DIGEST)]))
    assert found.provenance == Provenance(
        builder_id=sc.BUILDER,
        build_type=sc.BUILDKIT_BUILD_TYPE,
        source=sc.REPO,
        entry_point="Dockerfile",
        materials=(
            Material("pkg:docker/debian@bookworm", "sha256:" + "ab" * 32),
            Material(sc.REPO, ""),  # a material without a digest is kept
        ),
    )


def test_slsa_v1_github_workflow_source_and_entry_point() -> None:
    found = read(sc.statement(sc.SLSA_V1, sc.provenance_v1(), [sc.subject(DIGEST)]))
    p = found.provenance
    assert p is not None
    assert (p.builder_id, p.build_type) == (sc.BUILDER, sc.GITHUB_WORKFLOW)
    assert (p.source, p.entry_point) == (sc.REPO, ".github/workflows/build.yml")
    assert p.materials == (
        Material("git+" + sc.REPO, "gitcommit:" + "c" * 40),
        Material("pkg:docker/debian@bookworm", "sha256:" + "cd" * 32),
    )


def test_slsa_v1_buildkit_source_and_entry_point() -> None:
    predicate = sc.provenance_v1(build_type=sc.BUILDKIT_BUILD_TYPE)
    found = read(sc.statement(sc.SLSA_V1, predicate, [sc.subject(DIGEST)]))
    assert found.provenance is not None
    assert (found.provenance.source, found.provenance.entry_point) == (sc.REPO, "Dockerfile")


def test_slsa_v1_unknown_build_type_names_no_source() -> None:
    predicate = sc.provenance_v1(build_type="https://example.com/other@v1")
    found = read(sc.statement(sc.SLSA_V1, predicate, [sc.subject(DIGEST)]))
    assert found.provenance is not None
    assert (found.provenance.source, found.provenance.entry_point) == ("", "")
    assert found.provenance.build_type == "https://example.com/other@v1"


def test_slsa_v01_recipe() -> None:
    predicate = {
        "builder": {"id": "not a uri"},
        "recipe": {
            "type": "https://example.com/make@v1",
            "definedInMaterial": 0,
            "entryPoint": "all",
        },
        "materials": [{"uri": "git+https://example.com/src", "digest": {"sha1": "d" * 40}}],
    }
    found = read(sc.statement("https://slsa.dev/provenance/v0.1", predicate, []))
    assert found.provenance == Provenance(
        "not a uri",
        "https://example.com/make@v1",
        "git+https://example.com/src",
        "all",
        (Material("git+https://example.com/src", "sha1:" + "d" * 40),),
    )


@pytest.mark.parametrize(
    "predicate",
    [
        {},
        {"builder": "x", "buildDefinition": [], "runDetails": {"builder": {"id": 7}}},
        {"buildDefinition": {"externalParameters": "nope", "resolvedDependencies": {}}},
        {"runDetails": None, "buildDefinition": {"resolvedDependencies": [1, "x", {"digest": 5}]}},
    ],
)
def test_provenance_of_odd_shapes_keeps_what_is_there(predicate: Any) -> None:
    found = read(sc.statement(sc.SLSA_V1, predicate, [sc.subject(DIGEST)]))
    assert found.kind == "provenance"
    assert found.provenance is not None
    assert found.provenance.builder_id == ""
    assert all(isinstance(m.uri, str) for m in found.provenance.materials)


def test_sbom_formats_versions_and_package_counts() -> None:
    found = read(sc.statement(sc.SPDX, sc.spdx(5), [sc.subject(DIGEST)]))
    assert found.sbom == Sbom("spdx", "2.3", 5)
    found = read(sc.statement(sc.CYCLONEDX, sc.cyclonedx(2), [sc.subject(DIGEST)]))
    assert found.sbom == Sbom("cyclonedx", "1.5", 2)
    found = read(sc.statement(sc.SPDX, {"Data": "SPDXVersion: SPDX-2.2"}, []))
    assert found.sbom == Sbom("spdx", "", 0)


def test_subjects_match_on_a_shared_algorithm_only() -> None:
    subjects = [
        sc.subject(OTHER, "tag-1"),
        {"name": "sha512 only", "digest": {"sha512": "f" * 128}},
        {"name": "no digest"},
        "not an object",
        sc.subject(DIGEST, "tag-2"),
        sc.subject(DIGEST, "tag-3"),
    ]
    found = read(sc.statement(sc.SPDX, {}, subjects))
    assert found.subjects == (OTHER, "sha512:" + "f" * 128, DIGEST)
    assert found.subject_matches(DIGEST)
    assert not found.subject_matches("sha256:" + "c" * 64)
    assert not read(sc.statement(sc.SPDX, {}, [])).subject_matches(DIGEST)
    no_subject = {"_type": "x", "predicateType": sc.SPDX}
    assert not read(no_subject).subject_matches(DIGEST)
    sha512_only = read(sc.statement(sc.SPDX, {}, [subjects[1]]))
    assert not sha512_only.subject_matches(DIGEST)


@pytest.mark.parametrize("buildkit", [False, True])
def test_dsse_envelopes_are_decoded_not_verified(buildkit: bool) -> None:
    stmt = sc.statement(sc.SLSA_V02, sc.provenance_v02(), [sc.subject(DIGEST)])
    layer = sc.dsse_layer(stmt, buildkit=buildkit)
    found = read_statement(layer.data, layer.media_type, "layer")
    assert found.signed
    assert found.kind == "provenance"
    assert found.subject_matches(DIGEST)
    assert not read(stmt).signed


def test_url_safe_base64_payloads_are_read() -> None:
    stmt = sc.statement(sc.SPDX, {"name": "??>>" * 10}, [sc.subject(DIGEST)])
    payload = base64.urlsafe_b64encode(raw(stmt)).decode()
    assert "-" in payload or "_" in payload
    env = {"payloadType": IN_TOTO, "payload": payload, "signatures": []}
    assert read(env, DSSE_ENVELOPE).signed


@pytest.mark.parametrize(
    ("data", "media_type", "message"),
    [
        (b"not json", IN_TOTO, "not valid JSON"),
        (b'{"predicateType": "\xff"}', IN_TOTO, "not UTF-8"),
        (b"[1, 2]", IN_TOTO, "must be a JSON object"),
        (b"{}", IN_TOTO, "no predicateType"),
        (b'{"predicateType": 7}', IN_TOTO, "no predicateType"),
        (b"[" * 100000 + b"]" * 100000, IN_TOTO, "nested too deeply"),
        (b'{"predicateType": "\\ud800"}', IN_TOTO, "lone UTF-16 surrogate"),
        (b'{"predicateType": "x"}', "application/vnd.in-toto.spdx+dsse", "no payload"),
        (b'{"payloadType": "text/plain", "payload": ""}', DSSE_ENVELOPE, "not an in-toto"),
        (b'{"payloadType": "application/vnd.in-toto+json", "payload": 5}', DSSE_ENVELOPE, "base64"),
        (
            b'{"payloadType": "application/vnd.in-toto+json", "payload": "!!!"}',
            DSSE_ENVELOPE,
            "not base64",
        ),
        (
            b'{"payloadType": "application/vnd.in-toto+json", "payload": "bm90IGpzb24="}',
            DSSE_ENVELOPE,
            "DSSE payload",
        ),
    ],
)
def test_malformed_statements_are_content_errors(
    data: bytes, media_type: str, message: str
) -> None:
    with pytest.raises(ContentError, match=message):
        read_statement(data, media_type, "layer")


def test_hostile_text_is_kept_as_text() -> None:
    hostile = "\x1b[31mred\x07\u202e" + "x" * 1_000_000
    stmt = sc.statement(sc.SLSA_V02, sc.provenance_v02(builder=hostile), [sc.subject(DIGEST)])
    found = read(stmt)
    assert found.provenance is not None
    assert found.provenance.builder_id == hostile


@pytest.mark.parametrize(
    ("media_type", "annotations", "expected"),
    [
        (IN_TOTO, {}, True),
        (DSSE_ENVELOPE, {}, True),
        ("application/vnd.in-toto.provenance+dsse", {}, True),
        ("application/octet-stream", {"in-toto.io/predicate-type": sc.SPDX}, True),
        ("application/vnd.oci.image.layer.v1.tar+gzip", {}, False),
        ("application/spdx+json", {}, False),
    ],
)
def test_statement_layers(media_type: str, annotations: dict[str, str], expected: bool) -> None:
    assert is_statement_layer(media_type, annotations) is expected
