"""The supply-chain parts of the policy document: referrers, signatures, statements.

Pure, like ``policy.document`` (which places them): values in, JSON-able values out.
Every key is always present (empty when there is nothing), so typed policies and
message expressions never meet a missing field (docs/document.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from manifest_lint.image.supply_chain import COSIGN_KIND, COSIGN_TAG

if TYPE_CHECKING:
    from manifest_lint.image.statements import Statement
    from manifest_lint.image.supply_chain import (
        Attested,
        Referrer,
        Signature,
        SupplyChain,
        Verification,
    )

#: The artifact type a cosign tag's manifest stands for (cosign's own, as it writes
#: them as referrers in its OCI 1.1 mode).
COSIGN_ARTIFACT_TYPES = {
    "sig": "application/vnd.dev.cosign.artifact.sig.v1+json",
    "att": "application/vnd.dev.cosign.artifact.att.v1+json",
    "sbom": "application/vnd.dev.cosign.artifact.sbom.v1+json",
}


def referrer_document(referrer: Referrer) -> dict[str, Any]:
    d = referrer.descriptor
    artifact_type = d.artifact_type
    if referrer.source == COSIGN_TAG:
        artifact_type = COSIGN_ARTIFACT_TYPES.get(referrer.kind, "")
    return {
        "artifactType": artifact_type,
        "mediaType": d.media_type,
        "digest": d.digest,
        "size": d.size,
        "annotations": {k: v for k, v in sorted(d.annotations.items()) if k != COSIGN_KIND},
        "source": referrer.source,
    }


def _verification(found: Verification | None) -> dict[str, Any]:
    return {
        "verified": bool(found and found.verified),
        "identity": found.identity if found else "",
        "issuer": found.issuer if found else "",
    }


def signature_document(signature: Signature, platform: str) -> dict[str, Any]:
    return {
        "format": signature.format,
        "digest": signature.digest,
        "source": signature.source,
        "signs": signature.signs,
        "platform": platform,
        "annotations": dict(sorted(signature.annotations.items())),
        **_verification(signature.verification),
    }


def statement_document(
    statement: Statement, attested: Attested, verification: Verification | None
) -> dict[str, Any]:
    p = statement.provenance
    s = statement.sbom
    return {
        "predicateType": statement.predicate_type,
        "kind": statement.kind,
        "subjects": list(statement.subjects),
        "subjectMatches": statement.subject_matches(attested.describes),
        "signed": statement.signed,
        "attestation": attested.digest,
        "source": attested.source,
        "provenance": {
            "builderId": p.builder_id if p else "",
            "buildType": p.build_type if p else "",
            "source": p.source if p else "",
            "entryPoint": p.entry_point if p else "",
            "materials": [{"uri": m.uri, "digest": m.digest} for m in p.materials] if p else [],
        },
        "sbom": {
            "format": s.format if s else "",
            "specVersion": s.spec_version if s else "",
            "packages": s.packages if s else 0,
        },
        **_verification(verification),
    }


def statements_of(attested: Attested) -> list[dict[str, Any]]:
    verifications = attested.verifications or (None,) * len(attested.statements)
    return [
        statement_document(statement, attested, verification)
        for statement, verification in zip(attested.statements, verifications, strict=True)
    ]


def attestation_document(attested: Attested, platform: str) -> dict[str, Any]:
    return {
        "digest": attested.digest,
        "mediaType": attested.media_type,
        "size": attested.size,
        "describes": attested.describes,
        "platform": platform,
        "annotations": dict(sorted(attested.annotations.items())),
        "source": attested.source,
        "statements": statements_of(attested),
        "error": attested.error,
    }


def for_digest(chain: SupplyChain | None, digest: str, platform: str) -> dict[str, Any]:
    """``referrers``, ``signatures`` and ``attestations`` (statements) for one digest."""
    if chain is None:
        return {"referrers": [], "signatures": [], "attestations": []}
    return {
        "referrers": [referrer_document(r) for r in chain.referrers.get(digest, ())],
        "signatures": [
            signature_document(s, platform) for s in chain.signatures if s.signs == digest
        ],
        "attestations": [
            statement
            for a in chain.attestations
            if a.describes == digest
            for statement in statements_of(a)
        ],
    }
