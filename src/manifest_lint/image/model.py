"""Typed, frozen values for what a registry or layout holds, parsed from verified bytes.

``from_json`` constructors validate the JSON they are given and keep the raw
bytes; they raise :class:`~manifest_lint.errors.ContentError` (never ``KeyError``
or ``TypeError``) for documents that do not have the shape the specs require.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from manifest_lint.errors import ContentError, UnsupportedMediaTypeError
from manifest_lint.image import media_types as mt
from manifest_lint.image.config import ImageConfig
from manifest_lint.image.digest import Digest, DigestFormatError, is_digest
from manifest_lint.image.json_fields import NO_ENTRIES, Fields, decode_json, read_platform
from manifest_lint.image.limits import MAX_INDEX_ENTRIES
from manifest_lint.image.platforms import Platform
from manifest_lint.image.reference import Reference

if TYPE_CHECKING:
    from manifest_lint.image.supply_chain import SupplyChain

_PLAIN_DESCRIPTOR = frozenset({"mediaType", "digest", "size"})


class Descriptor(NamedTuple):
    media_type: str
    digest: str
    size: int
    annotations: Mapping[str, str] = NO_ENTRIES
    urls: tuple[str, ...] = ()
    platform: Platform | None = None
    artifact_type: str = ""

    @classmethod
    def from_json(cls, obj: Any, what: str) -> Descriptor:
        if not isinstance(obj, dict):
            raise ContentError(f"{what} must be a JSON object")
        if obj.keys() <= _PLAIN_DESCRIPTOR:
            # Most descriptors (layers, configs) have these three fields and no others:
            # checked here directly; anything unusual takes the general path below.
            media_type, digest, size = obj.get("mediaType"), obj.get("digest"), obj.get("size")
            if (
                type(media_type) is str
                and type(digest) is str
                and type(size) is int
                and size >= 0
                and is_digest(digest)
            ):
                return cls(media_type, digest, size, {})
        f = Fields(obj, what)
        digest = f.text("digest", required=True)
        try:
            Digest.parse(digest)
        except DigestFormatError as exc:
            raise ContentError(f"{what}: invalid digest {digest!r}: {exc}") from None
        size = f.integer("size", required=True)
        if size < 0:
            raise ContentError(f"{what}: size must not be negative")
        platform_obj = f.obj_("platform")
        return cls(
            media_type=f.text("mediaType", required=True),
            digest=digest,
            size=size,
            annotations=f.str_map("annotations"),
            urls=f.strs("urls"),
            platform=read_platform(platform_obj, f"{what}.platform") if platform_obj else None,
            artifact_type=f.text("artifactType"),
        )

    @property
    def is_attestation(self) -> bool:
        return self.annotations.get(mt.REFERENCE_TYPE_ANNOTATION) == mt.ATTESTATION_MANIFEST


def _check_media_type(declared: str, found: str, what: str) -> str:
    """The JSON's ``mediaType`` wins when present; it must agree with what was declared."""
    if found and declared and mt.base(found) != mt.base(declared):
        raise ContentError(
            f"{what}: mediaType {found!r} in the document does not match {declared!r} "
            "declared by the registry or the descriptor"
        )
    return mt.base(found or declared)


def _reject_schema1(obj: Mapping[str, Any], media_type: str, what: str) -> None:
    if obj.get("schemaVersion") == 1 or mt.base(media_type) in mt.SCHEMA1_TYPES:
        raise UnsupportedMediaTypeError(
            f"{what} is a Docker schema1 manifest, which is deprecated and not supported; "
            "push the image again with a current client (schema2 or OCI)",
            media_type=media_type or mt.DOCKER_SCHEMA1,
        )


class Manifest(NamedTuple):
    media_type: str
    digest: str
    size: int
    config: Descriptor
    layers: tuple[Descriptor, ...]
    annotations: Mapping[str, str] = NO_ENTRIES
    subject: Descriptor | None = None
    artifact_type: str = ""
    raw: bytes = b""

    @classmethod
    def from_json(cls, data: bytes, *, digest: str, media_type: str, what: str) -> Manifest:
        obj = decode_json(data, what)
        _reject_schema1(obj, media_type, what)
        f = Fields(obj, what)
        kind = _check_media_type(media_type, f.text("mediaType"), what)
        if kind in mt.INDEX_TYPES or "manifests" in obj:
            raise ContentError(f"{what}: expected an image manifest, got an index")
        if f.integer("schemaVersion") != 2:
            raise ContentError(f"{what}: schemaVersion must be 2")
        config = Descriptor.from_json(f.obj_("config", required=True), f"{what}.config")
        layers = tuple(
            Descriptor.from_json(layer, f"{what}.layers[{i}]")
            for i, layer in enumerate(f.list_("layers"))
        )
        subject_obj = f.obj_("subject")
        return cls(
            media_type=kind or mt.OCI_MANIFEST,
            digest=digest,
            size=len(data),
            config=config,
            layers=layers,
            annotations=f.str_map("annotations"),
            subject=Descriptor.from_json(subject_obj, f"{what}.subject") if subject_obj else None,
            artifact_type=f.text("artifactType"),
            raw=data,
        )


class Index(NamedTuple):
    media_type: str
    digest: str
    size: int
    manifests: tuple[Descriptor, ...]
    annotations: Mapping[str, str] = NO_ENTRIES
    raw: bytes = b""

    @classmethod
    def from_json(cls, data: bytes, *, digest: str, media_type: str, what: str) -> Index:
        obj = decode_json(data, what)
        _reject_schema1(obj, media_type, what)
        f = Fields(obj, what)
        kind = _check_media_type(media_type, f.text("mediaType"), what)
        if f.integer("schemaVersion") != 2:
            raise ContentError(f"{what}: schemaVersion must be 2")
        entries = f.list_("manifests")
        if len(entries) > MAX_INDEX_ENTRIES:
            raise ContentError(
                f"{what}: {len(entries)} manifests in one index, the limit is {MAX_INDEX_ENTRIES}"
            )
        return cls(
            media_type=kind or mt.OCI_INDEX,
            digest=digest,
            size=len(data),
            manifests=tuple(
                Descriptor.from_json(d, f"{what}.manifests[{i}]") for i, d in enumerate(entries)
            ),
            annotations=f.str_map("annotations"),
            raw=data,
        )


def is_index(data: bytes, media_type: str) -> bool:
    """Whether a manifest body is an index, by media type or, failing that, by shape."""
    base = mt.base(media_type)
    if base in mt.INDEX_TYPES:
        return True
    if base in mt.MANIFEST_TYPES:
        return False
    obj = decode_json(data, "manifest")
    found = obj.get("mediaType")
    if isinstance(found, str) and mt.base(found) in mt.INDEX_TYPES:
        return True
    return "manifests" in obj and "layers" not in obj


class PlatformImage(NamedTuple):
    """One platform of an image: its index entry, manifest and (when fetched) config."""

    descriptor: Descriptor
    platform: Platform
    manifest: Manifest
    config: ImageConfig | None


class Attestation(NamedTuple):
    """An attestation manifest (BuildKit's ``unknown/unknown`` entries) and what it describes."""

    descriptor: Descriptor
    describes: str


@dataclass(frozen=True)
class Image:
    """Everything read for one reference, verified."""

    reference: Reference
    digest: str
    media_type: str
    size: int
    index: Index | None
    platforms: tuple[PlatformImage, ...]
    attestations: tuple[Attestation, ...] = ()
    #: Index entries that are neither platform manifests nor attestations
    #: (nested indexes, artifacts, unknown media types), kept so they can be reported.
    others: tuple[Descriptor, ...] = ()
    #: What refers to the image (referrers, signatures, attestations' statements), when
    #: a policy needed it (``sources.supply_chain``); None when it was not read.
    supply_chain: SupplyChain | None = None

    @property
    def is_index(self) -> bool:
        return self.index is not None

    @property
    def annotations(self) -> Mapping[str, str]:
        if self.index is not None:
            return self.index.annotations
        return self.platforms[0].manifest.annotations if self.platforms else {}
