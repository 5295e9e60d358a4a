"""Deterministic, real image content for tests, and a pusher for a real registry.

Everything here is built from scratch and byte-for-byte reproducible:

* layers are gzip-compressed tar archives of a few small files (fixed mtimes,
  owners and modes; ``gzip`` mtime 0);
* configs are real OCI/Docker image configs whose ``rootfs.diff_ids`` are the
  SHA-256 of the *uncompressed* layer tars;
* every manifest is serialised once, and its digest is computed from exactly
  those bytes.

:func:`build_manifest` and :func:`build_index` return :class:`Built` values;
the ``*_case`` functions return ready-made ones whose :class:`Facts` (the
literal expectations, not values recomputed from the content) tests can assert
against. :func:`push` uploads a Built into a registry with httpx;
:func:`write_layout` and :func:`write_layout_archive` write an OCI image layout.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import tarfile
import urllib.request
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, NamedTuple

import httpx

Media = Literal["oci", "docker"]

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_FOREIGN_LAYER = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_FOREIGN_LAYER = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
IN_TOTO = "application/vnd.in-toto+json"

MANIFEST_MEDIA_TYPES = frozenset({OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST})
INDEX_MEDIA_TYPES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
FOREIGN_LAYER_MEDIA_TYPES = frozenset({DOCKER_FOREIGN_LAYER, OCI_FOREIGN_LAYER})
#: The Accept header for manifests: the registry serves an OCI document only when
#: its exact type is listed, and down-converts a manifest list when its type is missing.
MANIFEST_ACCEPT = ", ".join((OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST))

REFERENCE_TYPE = "vnd.docker.reference.type"
REFERENCE_DIGEST = "vnd.docker.reference.digest"
ATTESTATION_MANIFEST = "attestation-manifest"
REF_NAME = "org.opencontainers.image.ref.name"
SOURCE = "org.opencontainers.image.source"
REVISION = "org.opencontainers.image.revision"
CREATED_ANNOTATION = "org.opencontainers.image.created"

CREATED = "2024-01-02T03:04:05Z"
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
WINDOWS_OS_VERSION = "10.0.17763.5122"
WINDOWS_FOREIGN_URL = (
    "https://mcr.microsoft.com/v2/windows/servercore/blobs/"
    "sha256:0000000000000000000000000000000000000000000000000000000000000000"
)


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical_json(obj: Any) -> bytes:
    """How every manifest and config here is serialised (once; digests come from these bytes)."""
    return json.dumps(obj, indent=2, ensure_ascii=False).encode() + b"\n"


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class Platform:
    """An image platform; ``str()`` gives ``os/arch[/variant]`` (os.version is separate)."""

    os: str
    architecture: str
    variant: str | None = None
    os_version: str | None = None
    os_features: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str, *, os_version: str | None = None) -> Platform:
        parts = text.split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise ValueError(f"platform must be os/arch[/variant], got {text!r}")
        return cls(parts[0], parts[1], parts[2] if len(parts) == 3 else None, os_version)

    def to_json(self) -> dict[str, Any]:
        """The ``platform`` object of an index entry (same keys as in a config)."""
        out: dict[str, Any] = {"architecture": self.architecture, "os": self.os}
        if self.os_version:
            out["os.version"] = self.os_version
        if self.os_features:
            out["os.features"] = list(self.os_features)
        if self.variant:
            out["variant"] = self.variant
        return out

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


UNKNOWN_PLATFORM = Platform("unknown", "unknown")


@dataclass(frozen=True)
class Blob:
    """Content addressed by digest: a layer, a config, an attestation or a manifest."""

    media_type: str
    data: bytes = field(repr=False)
    digest: str = ""
    annotations: Mapping[str, str] = field(default_factory=dict)
    urls: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        actual = sha256_digest(self.data)
        if not self.digest:
            object.__setattr__(self, "digest", actual)
        elif self.digest != actual:
            raise ValueError(f"digest {self.digest} does not match the data ({actual})")

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def is_manifest(self) -> bool:
        return self.media_type in MANIFEST_MEDIA_TYPES

    @property
    def is_foreign(self) -> bool:
        return self.media_type in FOREIGN_LAYER_MEDIA_TYPES

    def descriptor(self, **extra: Any) -> dict[str, Any]:
        """An OCI descriptor; ``extra`` keys (``platform``...) go after ``size``."""
        out: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest}
        out["size"] = self.size
        out.update({k: v for k, v in extra.items() if v})
        if self.urls:
            out["urls"] = list(self.urls)
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        return out


@dataclass(frozen=True)
class Layer:
    """A layer: its compressed blob plus the diff_id of the uncompressed tar."""

    blob: Blob
    diff_id: str
    files: tuple[str, ...]

    @property
    def digest(self) -> str:
        return self.blob.digest


@dataclass(frozen=True)
class Facts:
    """What a ready-made case is known to contain, written down literally.

    ``platforms`` are the index entries' platforms (or the single manifest's),
    in order, attestation entries excluded; ``layer_counts`` maps each of them
    to its number of layers (foreign layers included); ``digests`` maps each to
    its manifest digest.
    """

    name: str
    description: str
    media_type: str
    platforms: tuple[str, ...]
    layer_counts: Mapping[str, int]
    digests: Mapping[str, str] = field(default_factory=dict)
    attestations: int = 0
    foreign_layers: Mapping[str, int] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    user: str | None = None
    os_versions: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Built:
    """A manifest or an index with everything needed to push or lay it out.

    ``data`` is the top-level document exactly as pushed; ``manifests`` holds
    every manifest in push order (children first, this one last); ``blobs``
    holds configs, layers and attestation payloads (foreign layers excluded,
    they live elsewhere); ``children`` are the index entries in order.
    ``annotations`` are those in the document itself, ``descriptor_annotations``
    those an index puts on the entry pointing at it (the
    ``vnd.docker.reference.*`` pair of an attestation manifest).
    """

    media_type: str
    data: bytes = field(repr=False)
    digest: str
    manifests: tuple[Blob, ...] = field(repr=False)
    blobs: Mapping[str, Blob] = field(repr=False)
    platform: Platform | None = None
    annotations: Mapping[str, str] = field(default_factory=dict)
    descriptor_annotations: Mapping[str, str] = field(default_factory=dict)
    config: Blob | None = field(default=None, repr=False)
    layers: tuple[Layer, ...] = field(default=(), repr=False)
    children: tuple[Built, ...] = field(default=(), repr=False)
    is_attestation: bool = False
    facts: Facts | None = None

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_MEDIA_TYPES

    @property
    def json(self) -> Any:
        return json.loads(self.data)

    @property
    def contents(self) -> dict[str, Blob]:
        """Every blob and manifest, by digest (foreign layers excluded)."""
        out = dict(self.blobs)
        out.update((m.digest, m) for m in self.manifests)
        return out

    @property
    def foreign_layers(self) -> tuple[Layer, ...]:
        found = [layer for layer in self.layers if layer.blob.is_foreign]
        for child in self.children:
            found.extend(child.foreign_layers)
        return tuple(found)

    @property
    def images(self) -> tuple[Built, ...]:
        """The platform children of an index (attestation manifests left out)."""
        return tuple(c for c in self.children if not c.is_attestation)

    @property
    def attestations(self) -> dict[str, Built]:
        """Attestation manifests keyed by the digest of the image they describe."""
        return {
            c.descriptor_annotations[REFERENCE_DIGEST]: c
            for c in self.children
            if c.is_attestation and REFERENCE_DIGEST in c.descriptor_annotations
        }

    def child(self, platform: str) -> Built:
        """The image child whose platform prints as ``platform`` (``linux/arm/v7``)."""
        for c in self.images:
            if str(c.platform) == platform:
                return c
        raise KeyError(f"no child for platform {platform!r} in {self.digest}")

    def with_facts(self, facts: Facts) -> Built:
        return replace(self, facts=facts)


# --------------------------------------------------------------------------- content


def make_tar(files: Mapping[str, bytes]) -> bytes:
    """A deterministic tar (sorted members, parent directories, mtime 0, root owned)."""
    dirs: set[str] = set()
    for name in files:
        parts = name.strip("/").split("/")[:-1]
        dirs.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for d in sorted(dirs):
            info = tarfile.TarInfo(d)
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            info.mtime = 0
            tar.addfile(info)
        for name in sorted(files):
            data = files[name]
            info = tarfile.TarInfo(name.strip("/"))
            info.size = len(data)
            info.mode = 0o644
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def make_layer(files: Mapping[str, bytes], *, media_type: str, urls: Sequence[str] = ()) -> Layer:
    tar = make_tar(files)
    compressed = gzip.compress(tar, compresslevel=9, mtime=0)
    # The header's OS byte is 3 (Unix) up to Python 3.12 and 255 from 3.13: fixed at 3,
    # so a test image has the same digests on every Python the suite runs on.
    blob = Blob(media_type, compressed[:9] + b"\x03" + compressed[10:], urls=tuple(urls))
    return Layer(blob, sha256_digest(tar), tuple(sorted(files)))


def _layer_files(seed: str, index: int) -> dict[str, bytes]:
    slug = seed.replace("/", "-")
    return {
        f"opt/manifest-lint/{slug}/layer-{index}.txt": f"{seed} layer {index}\n".encode(),
        f"opt/manifest-lint/{slug}/layer-{index}.bin": hashlib.sha256(
            f"{seed}:{index}".encode()
        ).digest()
        * 8,
        f"etc/manifest-lint/{slug}-{index}.conf": f"layer={index}\nseed={seed}\n".encode(),
    }


def _config_json(
    platform: Platform,
    diff_ids: Sequence[str],
    *,
    user: str | None,
    labels: Mapping[str, str] | None,
    env: Sequence[str] | None,
    entrypoint: Sequence[str] | None,
    cmd: Sequence[str] | None,
    exposed_ports: Sequence[str],
    volumes: Sequence[str],
    working_dir: str,
    history: Sequence[Mapping[str, Any]] | None,
    created: str,
) -> dict[str, Any]:
    cfg: dict[str, Any] = {}
    if user is not None:
        cfg["User"] = user
    if exposed_ports:
        cfg["ExposedPorts"] = {p: {} for p in exposed_ports}
    cfg["Env"] = list(env) if env is not None else [DEFAULT_PATH]
    if entrypoint is not None:
        cfg["Entrypoint"] = list(entrypoint)
    cfg["Cmd"] = list(cmd) if cmd is not None else ["/bin/sh"]
    if volumes:
        cfg["Volumes"] = {v: {} for v in volumes}
    cfg["WorkingDir"] = working_dir
    if labels:
        cfg["Labels"] = dict(labels)

    if history is None:
        hist: list[dict[str, Any]] = [
            {"created": created, "created_by": f"ADD layer-{i}.tar / # buildkit", "comment": "test"}
            for i in range(len(diff_ids))
        ]
        if labels:
            hist.append(
                {"created": created, "created_by": "LABEL " + " ".join(labels), "empty_layer": True}
            )
        if user is not None:
            hist.append({"created": created, "created_by": f"USER {user}", "empty_layer": True})
        hist.append({"created": created, "created_by": 'CMD ["/bin/sh"]', "empty_layer": True})
    else:
        hist = [dict(h) for h in history]
        non_empty = sum(1 for h in hist if not h.get("empty_layer"))
        if non_empty != len(diff_ids):
            raise ValueError(
                f"history has {non_empty} non-empty entries for {len(diff_ids)} layers"
            )

    out: dict[str, Any] = {
        "architecture": platform.architecture,
        "os": platform.os,
    }
    if platform.os_version:
        out["os.version"] = platform.os_version
    if platform.variant:
        out["variant"] = platform.variant
    out["created"] = created
    out["config"] = cfg
    out["rootfs"] = {"type": "layers", "diff_ids": list(diff_ids)}
    out["history"] = hist
    return out


def build_manifest(
    platform: Platform | str = "linux/amd64",
    *,
    layers: int = 2,
    media: Media = "oci",
    annotations: Mapping[str, str] | None = None,
    descriptor_annotations: Mapping[str, str] | None = None,
    config_labels: Mapping[str, str] | None = None,
    user: str | None = None,
    env: Sequence[str] | None = None,
    entrypoint: Sequence[str] | None = None,
    cmd: Sequence[str] | None = None,
    exposed_ports: Sequence[str] = (),
    volumes: Sequence[str] = (),
    working_dir: str = "/",
    history: Sequence[Mapping[str, Any]] | None = None,
    foreign_layer_urls: Sequence[str] = (),
    created: str = CREATED,
    seed: str = "",
) -> Built:
    """One image manifest with ``layers`` real layers, plus its config.

    With ``foreign_layer_urls`` one more layer comes first, a foreign
    (non-distributable) layer with those URLs, whose blob is never pushed nor
    laid out. ``seed`` makes otherwise identical images differ.
    ``descriptor_annotations`` go on this manifest's entry in an OCI index.
    """
    plat = platform if isinstance(platform, Platform) else Platform.parse(platform)
    layer_type = OCI_LAYER if media == "oci" else DOCKER_LAYER
    tag = f"{seed}:{plat}" if seed else str(plat)
    built_layers: list[Layer] = []
    if foreign_layer_urls:
        foreign_type = OCI_FOREIGN_LAYER if media == "oci" else DOCKER_FOREIGN_LAYER
        built_layers.append(
            make_layer(
                {"Files/Windows/foreign-base.txt": f"foreign base for {tag}\n".encode()},
                media_type=foreign_type,
                urls=foreign_layer_urls,
            )
        )
    built_layers.extend(
        make_layer(_layer_files(tag, i), media_type=layer_type) for i in range(layers)
    )
    config_obj = _config_json(
        plat,
        [layer.diff_id for layer in built_layers],
        user=user,
        labels=config_labels,
        env=env,
        entrypoint=entrypoint,
        cmd=cmd,
        exposed_ports=exposed_ports,
        volumes=volumes,
        working_dir=working_dir,
        history=history,
        created=created,
    )
    config = Blob(OCI_CONFIG if media == "oci" else DOCKER_CONFIG, canonical_json(config_obj))
    media_type = OCI_MANIFEST if media == "oci" else DOCKER_MANIFEST
    doc: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": config.descriptor(),
        "layers": [layer.blob.descriptor() for layer in built_layers],
    }
    if annotations:
        if media != "oci":
            raise ValueError("Docker schema2 manifests have no annotations")
        doc["annotations"] = dict(annotations)
    data = canonical_json(doc)
    top = Blob(media_type, data)
    blobs = {config.digest: config}
    blobs.update((lay.digest, lay.blob) for lay in built_layers if not lay.blob.is_foreign)
    return Built(
        media_type=media_type,
        data=data,
        digest=top.digest,
        manifests=(top,),
        blobs=blobs,
        platform=plat,
        annotations=dict(annotations or {}),
        descriptor_annotations=dict(descriptor_annotations or {}),
        config=config,
        layers=tuple(built_layers),
    )


def build_attestation(subject: Built, *, created: str = CREATED) -> Built:
    """A BuildKit-style attestation manifest for ``subject`` (an in-toto SPDX statement)."""
    statement = {
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": "https://spdx.dev/Document",
        "subject": [
            {"name": f"pkg:docker/test@{subject.digest}", "digest": {"sha256": subject.digest[7:]}}
        ],
        "predicate": {
            "spdxVersion": "SPDX-2.3",
            "SPDXID": "SPDXRef-DOCUMENT",
            "name": f"sbom-{subject.platform}",
            "creationInfo": {"created": created, "creators": ["Tool: manifest-lint-tests"]},
            "packages": [],
        },
    }
    layer = Blob(
        IN_TOTO,
        canonical_json(statement),
        annotations={"in-toto.io/predicate-type": "https://spdx.dev/Document"},
    )
    config_obj = {
        "architecture": "unknown",
        "os": "unknown",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": [layer.digest]},
    }
    config = Blob(OCI_CONFIG, canonical_json(config_obj))
    doc = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config.descriptor(),
        "layers": [layer.descriptor()],
    }
    data = canonical_json(doc)
    ref_annotations = {REFERENCE_DIGEST: subject.digest, REFERENCE_TYPE: ATTESTATION_MANIFEST}
    return Built(
        media_type=OCI_MANIFEST,
        data=data,
        digest=sha256_digest(data),
        manifests=(Blob(OCI_MANIFEST, data),),
        blobs={config.digest: config, layer.digest: layer},
        platform=UNKNOWN_PLATFORM,
        descriptor_annotations=ref_annotations,
        config=config,
        is_attestation=True,
    )


def build_index(
    children: Sequence[Built],
    *,
    media: Media = "oci",
    annotations: Mapping[str, str] | None = None,
    attestations: bool = False,
) -> Built:
    """An OCI index or Docker manifest list over ``children``, in order.

    Each child's entry carries its platform and (OCI only) its
    ``descriptor_annotations``.
    ``attestations=True`` appends one BuildKit-style attestation manifest per
    platform child (OCI only; the Docker list type cannot hold them).
    """
    if media == "docker" and (attestations or annotations):
        raise ValueError("a Docker manifest list has neither annotations nor attestations")
    entries = list(children)
    if attestations:
        entries.extend(build_attestation(c) for c in children if not c.is_attestation)
    media_type = OCI_INDEX if media == "oci" else DOCKER_MANIFEST_LIST
    descriptors = []
    for child in entries:
        platform = child.platform.to_json() if child.platform else None
        child_annotations = dict(child.descriptor_annotations) if media == "oci" else {}
        blob = Blob(child.media_type, child.data, child.digest, child_annotations)
        descriptors.append(blob.descriptor(platform=platform))
    doc: dict[str, Any] = {"schemaVersion": 2, "mediaType": media_type, "manifests": descriptors}
    if annotations:
        doc["annotations"] = dict(annotations)
    data = canonical_json(doc)
    top = Blob(media_type, data)
    manifests: dict[str, Blob] = {}
    blobs: dict[str, Blob] = {}
    for child in entries:
        manifests.update((m.digest, m) for m in child.manifests)
        blobs.update(child.blobs)
    return Built(
        media_type=media_type,
        data=data,
        digest=top.digest,
        manifests=(*manifests.values(), top),
        blobs=blobs,
        annotations=dict(annotations or {}),
        children=tuple(entries),
    )


# --------------------------------------------------------------------------- ready-made cases

#: The annotations the built-in required-annotations policy asks for, as tests push them.
ANNOTATIONS = {
    SOURCE: "https://github.com/example/app",
    REVISION: "0123456789abcdef0123456789abcdef01234567",
    CREATED_ANNOTATION: "2024-01-02T03:04:05Z",
}

_OCI_ANNOTATIONS = {
    SOURCE: "https://github.com/example/manifest-lint-fixtures",
    REVISION: "0123456789abcdef0123456789abcdef01234567",
    CREATED_ANNOTATION: CREATED,
}


def _facts_for(built: Built, **kwargs: Any) -> Built:
    """Attach facts, checking the literal expectations against the content."""
    facts = Facts(**kwargs)
    if built.is_index:
        images = built.images
        actual_platforms = tuple(str(c.platform) for c in images)
        actual_counts = {str(c.platform): len(c.layers) for c in images}
        digests = {str(c.platform): c.digest for c in images}
    else:
        actual_platforms = (str(built.platform),)
        actual_counts = {str(built.platform): len(built.layers)}
        digests = {str(built.platform): built.digest}
    if actual_platforms != facts.platforms or actual_counts != dict(facts.layer_counts):
        raise AssertionError(f"case {facts.name}: facts do not match the built content")
    return built.with_facts(replace(facts, digests=digests))


def oci_index_case() -> Built:
    """(a) OCI index, 4 platforms with 3/4/5/6 layers, attestations, annotations everywhere."""
    counts = {"linux/amd64": 3, "linux/arm64/v8": 4, "linux/arm/v7": 5, "linux/s390x": 6}
    children = [
        build_manifest(p, layers=n, media="oci", annotations=_OCI_ANNOTATIONS, seed="oci-index")
        for p, n in counts.items()
    ]
    built = build_index(children, media="oci", annotations=_OCI_ANNOTATIONS, attestations=True)
    return _facts_for(
        built,
        name="oci_index",
        description="OCI index: 4 platforms + 4 attestation manifests, annotated",
        media_type=OCI_INDEX,
        platforms=tuple(counts),
        layer_counts=counts,
        attestations=4,
        annotations=_OCI_ANNOTATIONS,
    )


def docker_list_case() -> Built:
    """(b) Docker manifest list: linux/amd64 (2 layers), linux/arm64 without variant (3)."""
    counts = {"linux/amd64": 2, "linux/arm64": 3}
    children = [
        build_manifest(p, layers=n, media="docker", seed="docker-list") for p, n in counts.items()
    ]
    return _facts_for(
        build_index(children, media="docker"),
        name="docker_list",
        description="Docker schema2 manifest list, arm64 entry without variant",
        media_type=DOCKER_MANIFEST_LIST,
        platforms=tuple(counts),
        layer_counts=counts,
    )


def oci_manifest_case() -> Built:
    """(c) A single OCI manifest, linux/amd64, 2 layers, annotated."""
    built = build_manifest(
        "linux/amd64", layers=2, media="oci", annotations=_OCI_ANNOTATIONS, seed="oci-manifest"
    )
    return _facts_for(
        built,
        name="oci_manifest",
        description="single OCI image manifest",
        media_type=OCI_MANIFEST,
        platforms=("linux/amd64",),
        layer_counts={"linux/amd64": 2},
        annotations=_OCI_ANNOTATIONS,
    )


def docker_manifest_case() -> Built:
    """(d) A single Docker schema2 manifest, linux/amd64, 3 layers."""
    built = build_manifest("linux/amd64", layers=3, media="docker", seed="docker-manifest")
    return _facts_for(
        built,
        name="docker_manifest",
        description="single Docker schema2 image manifest",
        media_type=DOCKER_MANIFEST,
        platforms=("linux/amd64",),
        layer_counts={"linux/amd64": 3},
    )


def windows_index_case() -> Built:
    """(e) Docker manifest list: windows/amd64 (1 foreign + 2 layers) and linux/amd64 (2).

    Docker media types, because distribution 2.8 accepts the Docker foreign
    layer type only in a schema2 manifest (in an OCI manifest it looks for the blob).
    """
    windows = build_manifest(
        Platform("windows", "amd64", os_version=WINDOWS_OS_VERSION),
        layers=2,
        media="docker",
        foreign_layer_urls=(WINDOWS_FOREIGN_URL,),
        cmd=["cmd", "/S", "/C", "echo hello"],
        env=[],
        working_dir="C:\\",
        seed="windows-index",
    )
    linux = build_manifest("linux/amd64", layers=2, media="docker", seed="windows-index")
    return _facts_for(
        build_index([windows, linux], media="docker"),
        name="windows_index",
        description="manifest list with a Windows entry whose first layer is foreign",
        media_type=DOCKER_MANIFEST_LIST,
        platforms=("windows/amd64", "linux/amd64"),
        layer_counts={"windows/amd64": 3, "linux/amd64": 2},
        foreign_layers={"windows/amd64": 1},
        os_versions={"windows/amd64": WINDOWS_OS_VERSION},
    )


#: A later Windows Server build (ltsc2022), beside :data:`WINDOWS_OS_VERSION` (ltsc2019).
WINDOWS_LATER_OS_VERSION = "10.0.20348.5622"


def windows_builds_case() -> Built:
    """An OCI index with two Windows builds of one os/arch (``windows/amd64`` for
    ltsc2019 and ltsc2022, 1 and 2 layers, as .NET and PowerShell images ship) and a
    linux/amd64 (3). Not in :data:`CASES`: its facts could not tell the two
    Windows entries apart (:class:`Facts` is keyed by ``os/arch``)."""
    builds = [
        build_manifest(
            Platform("windows", "amd64", os_version=version),
            layers=layers,
            working_dir="C:\\",
            seed=f"windows-builds-{version}",
        )
        for version, layers in ((WINDOWS_OS_VERSION, 1), (WINDOWS_LATER_OS_VERSION, 2))
    ]
    linux = build_manifest("linux/amd64", layers=3, seed="windows-builds")
    return build_index([*builds, linux], annotations=ANNOTATIONS)


CONFIG_LABELS = {
    "org.opencontainers.image.title": "manifest-lint fixture",
    "org.opencontainers.image.licenses": "Apache-2.0",
    "org.opencontainers.image.vendor": "Example Org",
    "maintainer": "tests@example.com",
}
CONFIG_USER = "10001:10001"
CONFIG_HISTORY: tuple[dict[str, Any], ...] = (
    {"created": CREATED, "created_by": "/bin/sh -c #(nop) ADD file:base in / "},
    {"created": CREATED, "created_by": '/bin/sh -c #(nop)  CMD ["sh"]', "empty_layer": True},
    {"created": CREATED, "created_by": "RUN /bin/sh -c adduser -D -u 10001 app # buildkit"},
    {
        "created": CREATED,
        "created_by": "LABEL org.opencontainers.image.title=...",
        "empty_layer": True,
    },
    {
        "created": CREATED,
        "created_by": "COPY app /app # buildkit",
        "comment": "buildkit.dockerfile.v0",
    },
    {"created": CREATED, "created_by": f"USER {CONFIG_USER}", "empty_layer": True},
    {"created": CREATED, "created_by": "EXPOSE map[8080/tcp:{}]", "empty_layer": True},
    {"created": CREATED, "created_by": 'ENTRYPOINT ["/app/server"]', "empty_layer": True},
)


def config_case() -> Built:
    """(f) OCI manifest whose config has labels, a non-root user, ports, volumes and history."""
    built = build_manifest(
        "linux/amd64",
        layers=3,
        media="oci",
        config_labels=CONFIG_LABELS,
        user=CONFIG_USER,
        env=[DEFAULT_PATH, "APP_ENV=production"],
        entrypoint=["/app/server"],
        cmd=["--port", "8080"],
        exposed_ports=["8080/tcp"],
        volumes=["/data"],
        working_dir="/app",
        history=CONFIG_HISTORY,
        seed="config",
    )
    return _facts_for(
        built,
        name="config",
        description="config with labels, user 10001:10001 and an 8-entry history",
        media_type=OCI_MANIFEST,
        platforms=("linux/amd64",),
        layer_counts={"linux/amd64": 3},
        labels=CONFIG_LABELS,
        user=CONFIG_USER,
    )


#: Every ready-made case by name; ``CASES[name]()`` builds it (cheaply, deterministically).
CASES: Mapping[str, Callable[[], Built]] = {
    "oci_index": oci_index_case,
    "docker_list": docker_list_case,
    "oci_manifest": oci_manifest_case,
    "docker_manifest": docker_manifest_case,
    "windows_index": windows_index_case,
    "config": config_case,
}


# --------------------------------------------------------------------------- pushing


class PushError(RuntimeError):
    """The registry refused part of a push; carries the request and the answer."""

    def __init__(self, message: str, response: httpx.Response) -> None:
        super().__init__(
            f"{message}: {response.request.method} {response.request.url} -> "
            f"{response.status_code} {response.text[:500]}"
        )
        self.response = response
        self.status_code = response.status_code


@dataclass(frozen=True)
class Pushed:
    """Where a push went and what it sent."""

    host: str
    repo: str
    tag: str | None
    digest: str
    uploaded: tuple[str, ...]
    skipped: tuple[str, ...]

    @property
    def reference(self) -> str:
        """``host/repo:tag`` when tagged, else ``host/repo@digest``."""
        if self.tag:
            return f"{self.host}/{self.repo}:{self.tag}"
        return f"{self.host}/{self.repo}@{self.digest}"

    @property
    def digest_reference(self) -> str:
        return f"{self.host}/{self.repo}@{self.digest}"


class PushedCase(NamedTuple):
    """A case pushed by the ``pushed`` fixture: ``127.0.0.1:PORT/repo:tag`` and its content."""

    reference: str
    built: Built


def _parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    scheme, _, rest = header.strip().partition(" ")
    params: dict[str, str] = {}
    for item in urllib.request.parse_http_list(rest):
        key, sep, value = item.partition("=")
        if sep:
            params[key.strip().lower()] = value.strip().strip('"')
    return scheme.lower(), params


def _with_push(scope: str) -> str:
    # "repository:NAME:pull" -> "repository:NAME:pull,push" (what a pusher needs anyway)
    kind, _, rest = scope.partition(":")
    name, _, actions = rest.rpartition(":")
    if kind != "repository" or not name:
        return scope
    wanted = [a for a in actions.split(",") if a]
    wanted += [a for a in ("pull", "push") if a not in wanted]
    return f"{kind}:{name}:{','.join(wanted)}"


class RegistryAuth(httpx.Auth):
    """Test-side registry auth: answers Basic and Bearer challenges.

    For Bearer it fetches a token from the realm (Basic credentials when it
    has them) for the challenged scope with ``push`` added, then keeps using
    it on later requests, fetching a new one only on another 401. The product
    has its own client; this one only needs to be simple and correct.
    """

    requires_response_body = True

    def __init__(self, username: str | None = None, password: str | None = None) -> None:
        self.username = username
        self.password = password
        self._authorization: str | None = None

    def _basic(self) -> str:
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._authorization:
            request.headers["Authorization"] = self._authorization
        response = yield request
        if response.status_code != 401:
            return
        scheme, params = _parse_challenge(response.headers.get("WWW-Authenticate", ""))
        if scheme == "basic" and self.username is not None:
            self._authorization = self._basic()
        elif scheme == "bearer" and "realm" in params:
            query: list[tuple[str, str | int | float | bool | None]] = []
            if "service" in params:
                query.append(("service", params["service"]))
            if self.username is not None and "scope" in params:
                query += [("scope", _with_push(s)) for s in params["scope"].split(" ")]
            elif "scope" in params:
                query += [("scope", s) for s in params["scope"].split(" ")]
            token_request = httpx.Request("GET", params["realm"], params=query)
            if self.username is not None:
                token_request.headers["Authorization"] = self._basic()
            token_response = yield token_request
            if token_response.status_code != 200:
                return
            body = token_response.json()
            self._authorization = "Bearer " + (body.get("token") or body["access_token"])
        else:
            return
        request.headers["Authorization"] = self._authorization
        yield request


def as_auth(auth: httpx.Auth | tuple[str, str] | None) -> httpx.Auth:
    if isinstance(auth, httpx.Auth):
        return auth
    if auth is None:
        return RegistryAuth()
    return RegistryAuth(*auth)


def _host(base_url: str) -> str:
    return httpx.URL(base_url).netloc.decode()


def push(
    base_url: str,
    repo: str,
    built: Built,
    tag: str | None = None,
    *,
    auth: httpx.Auth | tuple[str, str] | None = None,
    also_by_digest: bool = True,
    client: httpx.Client | None = None,
) -> Pushed:
    """Push ``built`` to ``base_url`` (``http://127.0.0.1:PORT``) as ``repo[:tag]``.

    Blobs go up as POST + PUT (the registry silently ignores the one-request
    ``POST ?digest=`` form), skipping those it has and foreign layers; child
    manifests are PUT by digest; the top-level by tag, and also by digest
    unless ``also_by_digest`` is false. ``auth`` is an httpx.Auth, a
    (user, password) pair (Basic or Bearer, whichever the registry asks for),
    or None for anonymous.
    """
    own = client is None
    http = client or httpx.Client(timeout=30.0)
    session = _Session(http, base_url.rstrip("/"), repo, as_auth(auth))
    uploaded: list[str] = []
    skipped: list[str] = []
    try:
        for blob in sorted(built.blobs.values(), key=lambda b: b.digest):
            if blob.is_foreign:
                continue
            if session.upload_blob(blob):
                uploaded.append(blob.digest)
            else:
                skipped.append(blob.digest)
        for manifest in built.manifests[:-1]:
            session.put_manifest(manifest.digest, manifest)
        top = built.manifests[-1]
        if tag is None or also_by_digest:
            session.put_manifest(top.digest, top)
        if tag is not None:
            session.put_manifest(tag, top)
    finally:
        if own:
            http.close()
    return Pushed(_host(base_url), repo, tag, built.digest, tuple(uploaded), tuple(skipped))


@dataclass(frozen=True)
class _Session:
    http: httpx.Client
    base: str
    repo: str
    auth: httpx.Auth

    def upload_blob(self, blob: Blob) -> bool:
        """Upload one blob; False when the registry already has it."""
        head = self.http.head(f"{self.base}/v2/{self.repo}/blobs/{blob.digest}", auth=self.auth)
        if head.status_code == 200:
            return False
        started = self.http.post(f"{self.base}/v2/{self.repo}/blobs/uploads/", auth=self.auth)
        if started.status_code != 202:
            raise PushError(f"starting the upload of {blob.digest}", started)
        location = started.headers.get("Location")
        if not location:
            raise PushError("upload started without a Location", started)
        # Location may be relative, and may already carry a query (_state=...).
        url = started.url.join(location).copy_merge_params({"digest": blob.digest})
        done = self.http.put(
            url,
            content=blob.data,
            headers={"Content-Type": "application/octet-stream"},
            auth=self.auth,
        )
        if done.status_code != 201:
            raise PushError(f"uploading {blob.digest}", done)
        returned = done.headers.get("Docker-Content-Digest")
        if returned and returned != blob.digest:
            raise PushError(f"registry stored {returned} for {blob.digest}", done)
        return True

    def put_manifest(self, ref: str, manifest: Blob) -> None:
        """PUT a manifest by tag or digest with the exact Content-Type of its media type."""
        response = self.http.put(
            f"{self.base}/v2/{self.repo}/manifests/{ref}",
            content=manifest.data,
            headers={"Content-Type": manifest.media_type},
            auth=self.auth,
        )
        if response.status_code != 201:
            raise PushError(f"putting manifest {manifest.digest} as {ref}", response)
        returned = response.headers.get("Docker-Content-Digest")
        if returned != manifest.digest:
            raise PushError(f"registry computed {returned} for {manifest.digest}", response)


# --------------------------------------------------------------------------- OCI layout


def _layout_files(built: Built, tags: Iterable[str | None]) -> dict[str, bytes]:
    descriptors = []
    for tag in tags:
        extra = {REF_NAME: tag} if tag else {}
        platform = built.platform.to_json() if built.platform and not built.is_index else None
        descriptors.append(
            Blob(built.media_type, built.data, built.digest, extra).descriptor(platform=platform)
        )
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": descriptors}
    files = {
        "oci-layout": canonical_json({"imageLayoutVersion": "1.0.0"}),
        "index.json": canonical_json(index),
    }
    for digest, blob in sorted(built.contents.items()):
        if blob.is_foreign:
            continue
        algorithm, _, hexdigest = digest.partition(":")
        files[f"blobs/{algorithm}/{hexdigest}"] = blob.data
    return files


def _tags(tag: str | Sequence[str] | None) -> list[str | None]:
    if tag is None or isinstance(tag, str):
        return [tag]
    return list(tag) or [None]


def write_layout(directory: Path | str, built: Built, tag: str | Sequence[str] | None) -> Path:
    """Write ``built`` as an OCI image layout in ``directory`` (created if missing).

    ``index.json`` names the top-level with ``org.opencontainers.image.ref.name``
    (one descriptor per tag); foreign layers are not written.
    """
    root = Path(directory)
    for name, data in sorted(_layout_files(built, _tags(tag)).items()):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def write_layout_archive(
    tar_path: Path | str, built: Built, tag: str | Sequence[str] | None
) -> Path:
    """The same layout as a deterministic tar (sorted, mtime 0, root owned)."""
    path = Path(tar_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(make_tar(_layout_files(built, _tags(tag))))
    return path


__all__ = [
    "CASES",
    "MANIFEST_ACCEPT",
    "Blob",
    "Built",
    "Facts",
    "Layer",
    "Platform",
    "PushError",
    "Pushed",
    "PushedCase",
    "RegistryAuth",
    "build_attestation",
    "build_index",
    "build_manifest",
    "config_case",
    "docker_list_case",
    "docker_manifest_case",
    "make_layer",
    "make_tar",
    "oci_index_case",
    "oci_manifest_case",
    "push",
    "windows_builds_case",
    "windows_index_case",
    "write_layout",
    "write_layout_archive",
]
