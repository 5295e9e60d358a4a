"""What refers to an image, read from its source: referrers, signatures, attestations.

For the image's digest and each platform manifest's, the source lists the referrers
(:class:`~manifest_lint.sources.base.Referrers`: the referrers API or its fallback tag,
and cosign's tags). Signatures are classified from them (cosign's ``.sig`` tag or
artifact type, notation's artifact type) and their manifests read for annotations;
attestations come from the index (BuildKit's attestation manifests) and from referrers
(in-toto artifact types, BuildKit's OCI-artifact form, cosign's ``.att`` tag). Every
manifest and statement is size-capped and verified against its digest; an attestation
whose statements cannot be read keeps what went wrong (``Attested.error``). Layers of
the image itself are never read. docs/supply-chain.md is the user's side of this.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from manifest_lint.errors import ContentError, SourceError, TooLargeError
from manifest_lint.image.limits import MAX_REFERRERS, MAX_STATEMENT_SIZE
from manifest_lint.image.model import Descriptor, Image, Manifest
from manifest_lint.image.statements import Statement, is_statement_layer, read_statement
from manifest_lint.image.supply_chain import (
    ATTESTATION_TYPES,
    COSIGN_SIGNATURE,
    COSIGN_TAG,
    INDEX,
    NOTATION_SIGNATURE,
    Attested,
    Referrer,
    Signature,
    SupplyChain,
    Verification,
    Verifier,
)
from manifest_lint.sources.base import CacheControls, Referrers, Source
from manifest_lint.sources.load import check_size, read_manifest, verify


def subjects(image: Image) -> list[str]:
    """The digests whose referrers are asked: the image's, then each platform's."""
    found = [image.digest]
    for item in image.platforms:
        if item.manifest.digest not in found:
            found.append(item.manifest.digest)
    return found


def signature_format(referrer: Referrer) -> str:
    """``cosign``, ``notation``, or ``""`` for a referrer that is not a signature."""
    if referrer.source == COSIGN_TAG:
        return "cosign" if referrer.kind == "sig" else ""
    artifact_type = referrer.descriptor.artifact_type
    if artifact_type == NOTATION_SIGNATURE:
        return "notation"
    return "cosign" if artifact_type == COSIGN_SIGNATURE else ""


def is_attestation(referrer: Referrer) -> bool:
    if referrer.source == COSIGN_TAG:
        return referrer.kind == "att"
    return referrer.descriptor.artifact_type in ATTESTATION_TYPES


def with_supply_chain(
    image: Image, source: Source, limit: int, verifiers: Sequence[Verifier]
) -> Image:
    """``image`` with what refers to it, asked of the source even when the image came
    from the cache: lists of referrers change whenever someone signs or attests, so
    only what they name (by digest) is taken from the cache. An attestation whose
    statements could not be read is a :class:`ContentError` here: a policy may need
    it, so the reference is an error, never a pass (``inspect`` shows it instead)."""
    if isinstance(source, CacheControls) and source.cache_only:
        source.cache_only = False
        source.resume()
    chain = read_supply_chain(source, image, limit=limit, verifiers=verifiers)
    if chain.errors:
        raise ContentError("; ".join(chain.errors))
    return dataclasses.replace(image, supply_chain=chain)


def read_supply_chain(
    source: Source,
    image: Image,
    *,
    limit: int = MAX_STATEMENT_SIZE,
    verifiers: Sequence[Verifier] = (),
) -> SupplyChain:
    """Everything that refers to ``image`` in ``source``, read and verified."""
    name = str(image.reference)
    referrers: dict[str, tuple[Referrer, ...]] = {}
    if isinstance(source, Referrers):
        for digest in subjects(image):
            referrers[digest] = source.referrers(digest)
            if len(referrers[digest]) > MAX_REFERRERS:
                raise ContentError(
                    f"{name}: {len(referrers[digest])} manifests refer to {digest}, more than "
                    f"the {MAX_REFERRERS} read; refused"
                )
    signatures: list[Signature] = []
    attestations: list[Attested] = []
    for entry in image.attestations:
        attestations.append(
            _attested(source, entry.descriptor, entry.describes, INDEX, name, limit, verifiers)
        )
    for subject, found in referrers.items():
        for referrer in found:
            kind = signature_format(referrer)
            if kind:
                signatures.append(_signature(source, referrer, kind, name, verifiers))
            elif is_attestation(referrer):
                attestations.append(
                    _attested(
                        source,
                        referrer.descriptor,
                        subject,
                        referrer.source,
                        name,
                        limit,
                        verifiers,
                    )
                )
    return SupplyChain(referrers, tuple(signatures), tuple(attestations))


def _signature(
    source: Source, referrer: Referrer, kind: str, name: str, verifiers: Sequence[Verifier]
) -> Signature:
    """A signature, with the annotations of its manifest and (cosign keeps its bundle
    and certificate there) of its layers."""
    what = f"{name} signature {referrer.descriptor.digest}"
    manifest = read_manifest(source, referrer.descriptor, what)
    annotations = dict(referrer.descriptor.annotations)
    annotations.pop("dev.manifest-lint.cosign-tag", None)
    annotations.update(manifest.annotations)
    for layer in manifest.layers:
        annotations.update(layer.annotations)
    signature = Signature(
        kind,
        referrer.descriptor.digest,
        referrer.source,
        referrer.subject,
        dict(sorted(annotations.items())),
        manifest,
    )

    def fetch(descriptor: Descriptor) -> bytes:
        label = f"{what} blob {descriptor.digest}"
        check_size(descriptor, label)
        data = source.fetch(descriptor, manifest=False)
        verify(data, descriptor, label)
        return data

    for verifier in verifiers:
        verification = verifier.verify_signature(signature, fetch)
        if verification is not None:
            return signature._replace(verification=verification)
    return signature


def _attested(
    source: Source,
    descriptor: Descriptor,
    describes: str,
    where: str,
    name: str,
    limit: int,
    verifiers: Sequence[Verifier],
) -> Attested:
    what = f"{name} attestation {descriptor.digest}"
    attested = Attested(
        descriptor.digest,
        descriptor.media_type,
        descriptor.size,
        describes,
        where,
        {k: v for k, v in descriptor.annotations.items() if k != "dev.manifest-lint.cosign-tag"},
    )
    try:
        manifest = read_manifest(source, descriptor, what)
        if not describes and manifest.subject is not None:
            attested = attested._replace(describes=manifest.subject.digest)
        statements, verifications = _statements(source, manifest, attested, what, limit, verifiers)
    except SourceError as exc:
        return attested._replace(error=str(exc))
    return attested._replace(
        media_type=manifest.media_type,
        annotations=dict(sorted({**attested.annotations, **manifest.annotations}.items())),
        statements=statements,
        verifications=verifications,
    )


def _statements(
    source: Source,
    manifest: Manifest,
    attested: Attested,
    what: str,
    limit: int,
    verifiers: Sequence[Verifier],
) -> tuple[tuple[Statement, ...], tuple[Verification | None, ...]]:
    statements: list[Statement] = []
    verifications: list[Verification | None] = []
    for i, layer in enumerate(manifest.layers):
        if not is_statement_layer(layer.media_type, layer.annotations):
            continue
        label = f"{what} layer {i} ({layer.digest})"
        if layer.size > limit:
            raise TooLargeError(
                f"{label} is {layer.size} bytes, above the {limit}-byte statement limit "
                "(--max-statement-size); refused without reading it",
                limit=limit,
                reference=label,
            )
        if isinstance(source, Referrers):
            data = source.fetch_blob(layer, limit=limit)
        else:
            check_size(layer, label)
            data = source.fetch(layer, manifest=False)
        verify(data, layer, label)
        statement = read_statement(data, layer.media_type, label)
        statements.append(statement)
        verification = None
        for verifier in verifiers:
            verification = verifier.verify_statement(statement, data, attested)
            if verification is not None:
                break
        verifications.append(verification)
    return tuple(statements), tuple(verifications)
