"""Typed, frozen values for what a registry or layout holds, parsed from verified bytes.

``from_json`` constructors validate the JSON they are given and keep the raw
bytes; they raise :class:`~manifest_lint.errors.ContentError` (never ``KeyError``
or ``TypeError``) for documents that do not have the shape the specs require.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple

from manifest_lint.errors import ContentError, UnsupportedMediaTypeError
from manifest_lint.image import media_types as mt
from manifest_lint.image.digest import Digest, DigestFormatError, is_digest
from manifest_lint.image.limits import MAX_DOCUMENT_SIZE as MAX_DOCUMENT_SIZE
from manifest_lint.image.limits import MAX_INDEX_ENTRIES as MAX_INDEX_ENTRIES
from manifest_lint.image.platforms import Platform
from manifest_lint.image.reference import Reference

#: The default of an absent ``annotations`` or ``labels`` map (read-only: shared).
_NO_ENTRIES: Mapping[str, str] = MappingProxyType({})


def decode_json(data: bytes, what: str) -> dict[str, Any]:
    """Decode a JSON object, turning every failure into :class:`ContentError`."""
    try:
        value = json.loads(data)
    except UnicodeDecodeError as exc:
        raise ContentError(f"{what} is not UTF-8: {exc.reason} at byte {exc.start}") from exc
    except json.JSONDecodeError as exc:
        raise ContentError(
            f"{what} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from exc
    except RecursionError as exc:
        raise ContentError(f"{what} is nested too deeply to be a manifest") from exc
    if b"\\ud" in data or b"\\uD" in data:
        # JSON's grammar allows "\ud800" alone, but that is no Unicode text: nothing could
        # print, encode or evaluate it, so the document is refused here, at the border.
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ContentError(
                f"{what} holds a lone UTF-16 surrogate (a \\uD800-\\uDFFF escape without "
                "its pair), which is not Unicode text"
            ) from None
        except RecursionError:
            raise ContentError(f"{what} is nested too deeply to be a manifest") from None
    if not isinstance(value, dict):
        raise ContentError(f"{what} must be a JSON object, not {type(value).__name__}")
    return value


class _Fields:
    """Typed accessors over one JSON object, with messages that say where."""

    def __init__(self, obj: Mapping[str, Any], what: str) -> None:
        self.obj = obj
        self.what = what

    def _bad(self, key: str, expected: str) -> ContentError:
        return ContentError(f"{self.what}: field {key!r} must be {expected}")

    def text(self, key: str, default: str = "", *, required: bool = False) -> str:
        value = self.obj.get(key)
        if value is None:
            if required:
                raise ContentError(f"{self.what}: field {key!r} is missing")
            return default
        if not isinstance(value, str):
            raise self._bad(key, "a string")
        return value

    def integer(self, key: str, *, required: bool = False) -> int:
        value = self.obj.get(key)
        if value is None:
            if required:
                raise ContentError(f"{self.what}: field {key!r} is missing")
            return 0
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._bad(key, "an integer")
        return value

    def flag(self, key: str) -> bool:
        value = self.obj.get(key, False)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise self._bad(key, "true or false")
        return value

    def strs(self, key: str) -> tuple[str, ...]:
        value = self.obj.get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._bad(key, "a list of strings")
        return tuple(value)

    def str_map(self, key: str) -> dict[str, str]:
        value = self.obj.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise self._bad(key, "an object of strings")
        return dict(value)

    def keys_of(self, key: str) -> tuple[str, ...]:
        """Keys of an object used as a set (``ExposedPorts``, ``Volumes``), sorted."""
        value = self.obj.get(key)
        if value is None:
            return ()
        if not isinstance(value, dict):
            raise self._bad(key, "an object")
        return tuple(sorted(value))

    def obj_(self, key: str, *, required: bool = False) -> dict[str, Any] | None:
        value = self.obj.get(key)
        if value is None:
            if required:
                raise ContentError(f"{self.what}: field {key!r} is missing")
            return None
        if not isinstance(value, dict):
            raise self._bad(key, "an object")
        return value

    def list_(self, key: str) -> list[Any]:
        value = self.obj.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self._bad(key, "a list")
        return value


def _platform(obj: Mapping[str, Any], what: str) -> Platform:
    f = _Fields(obj, what)
    return Platform(
        os=f.text("os", required=True),
        architecture=f.text("architecture", required=True),
        variant=f.text("variant"),
        os_version=f.text("os.version"),
        os_features=f.strs("os.features"),
    )


_PLAIN_DESCRIPTOR = frozenset({"mediaType", "digest", "size"})


class Descriptor(NamedTuple):
    media_type: str
    digest: str
    size: int
    annotations: Mapping[str, str] = _NO_ENTRIES
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
        f = _Fields(obj, what)
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
            platform=_platform(platform_obj, f"{what}.platform") if platform_obj else None,
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
    annotations: Mapping[str, str] = _NO_ENTRIES
    subject: Descriptor | None = None
    artifact_type: str = ""
    raw: bytes = b""

    @classmethod
    def from_json(cls, data: bytes, *, digest: str, media_type: str, what: str) -> Manifest:
        obj = decode_json(data, what)
        _reject_schema1(obj, media_type, what)
        f = _Fields(obj, what)
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
    annotations: Mapping[str, str] = _NO_ENTRIES
    raw: bytes = b""

    @classmethod
    def from_json(cls, data: bytes, *, digest: str, media_type: str, what: str) -> Index:
        obj = decode_json(data, what)
        _reject_schema1(obj, media_type, what)
        f = _Fields(obj, what)
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


class HistoryEntry(NamedTuple):
    created: str = ""
    created_by: str = ""
    author: str = ""
    comment: str = ""
    empty_layer: bool = False


_HISTORY_KEYS = frozenset(("created", "created_by", "author", "comment", "empty_layer"))


def _plain_history(entry: Any) -> HistoryEntry | None:
    """A history entry whose fields all have their types, read directly (an image has
    tens: this is most of reading its configs); None sends it the checked way."""
    if type(entry) is not dict or not entry.keys() <= _HISTORY_KEYS:
        return None
    get = entry.get
    created, created_by = get("created", ""), get("created_by", "")
    author, comment, empty_layer = get("author", ""), get("comment", ""), get("empty_layer", False)
    if (
        type(created) is str
        and type(created_by) is str
        and type(author) is str
        and type(comment) is str
        and type(empty_layer) is bool
    ):
        return HistoryEntry(created, created_by, author, comment, empty_layer)
    return None


class ImageConfig(NamedTuple):
    digest: str
    media_type: str
    architecture: str = ""
    os: str = ""
    variant: str = ""
    os_version: str = ""
    os_features: tuple[str, ...] = ()
    created: str = ""
    author: str = ""
    user: str = ""
    env: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    exposed_ports: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()
    workdir: str = ""
    labels: Mapping[str, str] = _NO_ENTRIES
    stop_signal: str = ""
    history: tuple[HistoryEntry, ...] = ()
    rootfs_type: str = ""
    diff_ids: tuple[str, ...] = ()
    raw: bytes = b""

    @classmethod
    def from_json(cls, data: bytes, *, digest: str, media_type: str, what: str) -> ImageConfig:
        obj = decode_json(data, what)
        f = _Fields(obj, what)
        run = _Fields(f.obj_("config") or {}, f"{what}.config")
        rootfs = _Fields(f.obj_("rootfs") or {}, f"{what}.rootfs")
        history = []
        for i, entry in enumerate(f.list_("history")):
            plain = _plain_history(entry)
            if plain is not None:
                history.append(plain)
                continue
            if not isinstance(entry, dict):
                raise ContentError(f"{what}.history[{i}] must be an object")
            h = _Fields(entry, f"{what}.history[{i}]")
            history.append(
                HistoryEntry(
                    created=h.text("created"),
                    created_by=h.text("created_by"),
                    author=h.text("author"),
                    comment=h.text("comment"),
                    empty_layer=h.flag("empty_layer"),
                )
            )
        return cls(
            digest=digest,
            media_type=mt.base(media_type),
            architecture=f.text("architecture"),
            os=f.text("os"),
            variant=f.text("variant"),
            os_version=f.text("os.version"),
            os_features=f.strs("os.features"),
            created=f.text("created"),
            author=f.text("author"),
            user=run.text("User"),
            env=run.strs("Env"),
            entrypoint=run.strs("Entrypoint"),
            cmd=run.strs("Cmd"),
            exposed_ports=run.keys_of("ExposedPorts"),
            volumes=run.keys_of("Volumes"),
            workdir=run.text("WorkingDir"),
            labels=run.str_map("Labels"),
            stop_signal=run.text("StopSignal"),
            history=tuple(history),
            rootfs_type=rootfs.text("type"),
            diff_ids=rootfs.strs("diff_ids"),
            raw=data,
        )

    @property
    def platform(self) -> Platform | None:
        if not self.os or not self.architecture:
            return None
        return Platform(self.os, self.architecture, self.variant, self.os_version, self.os_features)


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

    @property
    def is_index(self) -> bool:
        return self.index is not None

    @property
    def annotations(self) -> Mapping[str, str]:
        if self.index is not None:
            return self.index.annotations
        return self.platforms[0].manifest.annotations if self.platforms else {}
