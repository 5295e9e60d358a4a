"""Supply-chain content for tests: in-toto statements in their real shapes, and the
manifests that carry them (BuildKit's two forms, cosign's tags, notation, oras-style
SBOM referrers), built from scratch like ``helpers.images``.

The shapes follow what the tools write: BuildKit's attestation manifests (legacy:
``unknown/unknown`` index entries with ``vnd.docker.reference.*``; OCI-artifact:
``artifactType`` ``application/vnd.docker.attestation.manifest.v1+json``, an empty
config and a ``subject``), cosign's ``sha256-<hex>.sig``/``.att`` tags (simple-signing
layers with ``dev.cosignproject.cosign/signature``; DSSE envelopes), notation's
signature manifest (``application/vnd.cncf.notary.signature``, a JWS layer) and an
SPDX document attached through the referrers fallback tag (``sha256-<hex>``).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from typing import Any

from tests.helpers.images import (
    ATTESTATION_MANIFEST,
    IN_TOTO,
    OCI_CONFIG,
    OCI_INDEX,
    OCI_MANIFEST,
    REFERENCE_DIGEST,
    REFERENCE_TYPE,
    UNKNOWN_PLATFORM,
    Blob,
    Built,
    build_index,
    canonical_json,
)

DSSE = "application/vnd.dsse.envelope.v1+json"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
EMPTY = Blob(OCI_EMPTY, b"{}")
BUILDKIT_ARTIFACT = "application/vnd.docker.attestation.manifest.v1+json"
NOTATION = "application/vnd.cncf.notary.signature"
SPDX_JSON = "application/spdx+json"
COSIGN_SIMPLESIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"

SLSA_V02 = "https://slsa.dev/provenance/v0.2"
SLSA_V1 = "https://slsa.dev/provenance/v1"
SPDX = "https://spdx.dev/Document"
CYCLONEDX = "https://cyclonedx.org/bom/v1.5"
BUILDKIT_BUILD_TYPE = "https://mobyproject.org/buildkit@v1"
GITHUB_WORKFLOW = "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1"
BUILDER = "https://github.com/example/builder/.github/workflows/build.yml@refs/tags/v1"
REPO = "https://github.com/example/app"


def subject(digest: str, name: str = "pkg:docker/example/app") -> dict[str, Any]:
    algorithm, _, hex_ = digest.partition(":")
    return {"name": name, "digest": {algorithm: hex_}}


def statement(predicate_type: str, predicate: Any, subjects: Sequence[Mapping[str, Any]]) -> dict:
    return {
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": predicate_type,
        "subject": list(subjects),
        "predicate": predicate,
    }


def provenance_v02(*, builder: str = BUILDER, source: str = REPO) -> dict[str, Any]:
    return {
        "builder": {"id": builder},
        "buildType": BUILDKIT_BUILD_TYPE,
        "invocation": {"configSource": {"uri": source, "entryPoint": "Dockerfile"}},
        "materials": [
            {"uri": "pkg:docker/debian@bookworm", "digest": {"sha256": "ab" * 32}},
            {"uri": source},
        ],
    }


def provenance_v1(
    *, builder: str = BUILDER, source: str = REPO, build_type: str = GITHUB_WORKFLOW
) -> dict[str, Any]:
    parameters: dict[str, Any]
    if build_type == GITHUB_WORKFLOW:
        parameters = {"workflow": {"repository": source, "path": ".github/workflows/build.yml"}}
    else:
        parameters = {"configSource": {"uri": source, "path": "Dockerfile"}}
    return {
        "buildDefinition": {
            "buildType": build_type,
            "externalParameters": parameters,
            "resolvedDependencies": [
                {"uri": "git+" + source, "digest": {"gitCommit": "c" * 40}},
                {"uri": "pkg:docker/debian@bookworm", "digest": {"sha256": "cd" * 32}},
            ],
        },
        "runDetails": {"builder": {"id": builder}},
    }


def spdx(packages: int = 3) -> dict[str, Any]:
    return {
        "spdxVersion": "SPDX-2.3",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": "app",
        "packages": [{"name": f"pkg{i}", "SPDXID": f"SPDXRef-{i}"} for i in range(packages)],
    }


def cyclonedx(components: int = 2) -> dict[str, Any]:
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "components": [{"type": "library", "name": f"c{i}"} for i in range(components)],
    }


def bare_layer(stmt: Mapping[str, Any]) -> Blob:
    """A BuildKit statement layer: the statement itself, its predicate type annotated."""
    return Blob(
        IN_TOTO,
        canonical_json(stmt),
        annotations={"in-toto.io/predicate-type": stmt["predicateType"]},
    )


def envelope(stmt: Mapping[str, Any]) -> bytes:
    payload = base64.b64encode(json.dumps(stmt).encode()).decode()
    return canonical_json(
        {
            "payloadType": "application/vnd.in-toto+json",
            "payload": payload,
            "signatures": [{"keyid": "", "sig": base64.b64encode(b"not checked").decode()}],
        }
    )


def dsse_layer(stmt: Mapping[str, Any], *, buildkit: bool = False) -> Blob:
    """A DSSE envelope: cosign's media type, or signed BuildKit's per-predicate one."""
    if buildkit:
        kind = "provenance" if "slsa" in stmt["predicateType"] else "spdx"
        media_type = f"application/vnd.in-toto.{kind}+dsse"
        return Blob(
            media_type,
            envelope(stmt),
            annotations={"in-toto.io/predicate-type": stmt["predicateType"]},
        )
    return Blob(DSSE, envelope(stmt), annotations={"predicateType": stmt["predicateType"]})


def manifest_of(doc: dict[str, Any], blobs: Sequence[Blob], **extra: Any) -> Built:
    data = canonical_json(doc)
    top = Blob(OCI_MANIFEST, data)
    return Built(
        media_type=OCI_MANIFEST,
        data=data,
        digest=top.digest,
        manifests=(top,),
        blobs={b.digest: b for b in blobs},
        **extra,
    )


def legacy_attestation(image: Built, layers: Sequence[Blob]) -> Built:
    """BuildKit's index entry form: an ``unknown/unknown`` manifest with a real config."""
    config = Blob(
        OCI_CONFIG,
        canonical_json(
            {
                "architecture": "unknown",
                "os": "unknown",
                "config": {},
                "rootfs": {"type": "layers", "diff_ids": [b.digest for b in layers]},
            }
        ),
    )
    doc = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config.descriptor(),
        "layers": [b.descriptor() for b in layers],
    }
    return manifest_of(
        doc,
        [config, *layers],
        platform=UNKNOWN_PLATFORM,
        descriptor_annotations={
            REFERENCE_DIGEST: image.digest,
            REFERENCE_TYPE: ATTESTATION_MANIFEST,
        },
        is_attestation=True,
    )


def artifact_attestation(image: Built, layers: Sequence[Blob], *, in_index: bool = True) -> Built:
    """BuildKit's OCI-artifact form: an artifact type, the empty config, a subject."""
    doc = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": BUILDKIT_ARTIFACT,
        "config": EMPTY.descriptor(),
        "layers": [b.descriptor() for b in layers],
        "subject": {"mediaType": image.media_type, "digest": image.digest, "size": image.size},
    }
    annotations = (
        {REFERENCE_DIGEST: image.digest, REFERENCE_TYPE: ATTESTATION_MANIFEST} if in_index else {}
    )
    return manifest_of(
        doc,
        [EMPTY, *layers],
        platform=UNKNOWN_PLATFORM,
        descriptor_annotations=annotations,
        is_attestation=in_index,
    )


def with_attestations(children: Sequence[Built], attestations: Sequence[Built]) -> Built:
    """An OCI index of ``children`` and, after them, the attestation manifests."""
    return build_index([*children, *attestations])


def cosign_signature(signed: str) -> Built:
    """cosign's ``.sig`` tag manifest: one simple-signing layer, its signature and
    bundle in the layer's annotations."""
    payload = canonical_json(
        {
            "critical": {
                "identity": {"docker-reference": "127.0.0.1/app"},
                "image": {"docker-manifest-digest": signed},
                "type": "cosign container image signature",
            },
            "optional": None,
        }
    )
    layer = Blob(
        COSIGN_SIMPLESIGNING,
        payload,
        annotations={
            "dev.cosignproject.cosign/signature": base64.b64encode(b"signature").decode(),
            "dev.sigstore.cosign/bundle": '{"SignedEntryTimestamp":"","Payload":{}}',
        },
    )
    config = Blob(OCI_CONFIG, canonical_json({"architecture": "", "os": "", "rootfs": {}}))
    doc = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config.descriptor(),
        "layers": [layer.descriptor()],
    }
    return manifest_of(doc, [config, layer])


def cosign_attestations(layers: Sequence[Blob]) -> Built:
    """cosign's ``.att`` tag manifest: one DSSE envelope per attestation."""
    config = Blob(OCI_CONFIG, canonical_json({"architecture": "", "os": "", "rootfs": {}}))
    doc = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config.descriptor(),
        "layers": [b.descriptor() for b in layers],
    }
    return manifest_of(doc, [config, *layers])


def referrer_artifact(
    image: Built, artifact_type: str, layer: Blob, annotations: Mapping[str, str] | None = None
) -> Built:
    """An OCI 1.1 artifact that refers to ``image``: the empty config, one layer, a subject."""
    doc: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": EMPTY.descriptor(),
        "layers": [layer.descriptor()],
        "subject": {"mediaType": image.media_type, "digest": image.digest, "size": image.size},
    }
    if annotations:
        doc["annotations"] = dict(annotations)
    return manifest_of(doc, [EMPTY, layer], annotations=dict(annotations or {}))


def notation_signature(image: Built) -> Built:
    """notation's signature manifest: a JWS envelope, the signing time annotated."""
    envelope = Blob("application/jose+json", canonical_json({"payload": "", "signatures": []}))
    annotations = {
        "io.cncf.notary.x509chain.thumbprint#S256": '["' + "ef" * 32 + '"]',
        "org.opencontainers.image.created": "2024-05-01T12:00:00Z",
    }
    return referrer_artifact(image, NOTATION, envelope, annotations)


def sbom_artifact(image: Built, packages: int = 4) -> Built:
    """An SPDX document attached as a referrer (``oras attach``)."""
    return referrer_artifact(image, SPDX_JSON, Blob(SPDX_JSON, canonical_json(spdx(packages))))


def artifact_type(built: Built) -> str:
    return str(built.json.get("artifactType", ""))


def referrers_index(referrers: Sequence[Built]) -> Built:
    """The index a fallback tag (``sha256-<hex>``) or the referrers API serves."""
    entries = []
    for r in referrers:
        entry: dict[str, Any] = {"mediaType": r.media_type, "digest": r.digest, "size": r.size}
        if artifact_type(r):
            entry["artifactType"] = artifact_type(r)
        if r.annotations:
            entry["annotations"] = dict(r.annotations)
        entries.append(entry)
    data = canonical_json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries})
    top = Blob(OCI_INDEX, data)
    return Built(media_type=OCI_INDEX, data=data, digest=top.digest, manifests=(top,), blobs={})


def fallback_tag(digest: str) -> str:
    return digest.replace(":", "-", 1)


def asks_referrers(path: str) -> bool:
    """Whether a request path is part of finding what refers to an image: the referrers
    API, its fallback tag or cosign's tags (``inspect`` always asks them)."""
    return "/referrers/" in path or "/manifests/sha256-" in path
