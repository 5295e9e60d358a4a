"""From a reference and a :class:`~manifest_lint.sources.base.Source` to a verified :class:`Image`.

The source serves the bytes; this module checks every child document against the
descriptor that names it (size and digest) before parsing it, so no source can
forget to, and classifies index entries into platforms, attestations and others.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, TypeVar

from manifest_lint.errors import IntegrityError, TooLargeError
from manifest_lint.image import media_types as mt
from manifest_lint.image.config import ImageConfig
from manifest_lint.image.digest import Digest
from manifest_lint.image.limits import MAX_DOCUMENT_SIZE
from manifest_lint.image.model import (
    Attestation,
    Descriptor,
    Image,
    Index,
    Manifest,
    PlatformImage,
    is_index,
)
from manifest_lint.image.platforms import Platform
from manifest_lint.image.reference import Reference
from manifest_lint.sources.base import Fetched, Source, is_local

if TYPE_CHECKING:
    from concurrent.futures import Executor

T = TypeVar("T")
R = TypeVar("R")


def check_size(descriptor: Descriptor, what: str) -> None:
    """A descriptor above :data:`MAX_DOCUMENT_SIZE` is refused before anything is read."""
    if descriptor.size > MAX_DOCUMENT_SIZE:
        raise TooLargeError(
            f"{what} is {descriptor.size} bytes, above the {MAX_DOCUMENT_SIZE}-byte limit; "
            "refused without reading it",
            limit=MAX_DOCUMENT_SIZE,
            reference=what,
        )


def verify(data: bytes, descriptor: Descriptor, what: str) -> None:
    """``data`` must have the descriptor's size and digest."""
    if len(data) != descriptor.size:
        actual = Digest.of(data, Digest.parse(descriptor.digest).algorithm)
        raise IntegrityError(
            f"size mismatch for {what}: descriptor says {descriptor.size} bytes "
            f"({descriptor.digest}), got {len(data)} bytes ({actual})",
            expected=descriptor.digest,
            actual=str(actual),
            reference=what,
        )
    Digest.parse(descriptor.digest).verify(data, what=what)


def _sequential(fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
    return map(fn, items)


def load_image(
    reference: Reference,
    source: Source,
    *,
    configs: bool = True,
    executor: Executor | None = None,
) -> Image:
    """Read the image ``reference`` names from ``source``: the index or manifest,
    every platform manifest and (with ``configs``) every config, all verified.

    Without ``configs``, the configs that name a platform are still read: a single
    manifest's, and those of index entries without a ``platform``."""
    top = open_image(reference, source)
    return read_image(reference, source, top, configs=configs, executor=executor)


def open_image(reference: Reference, source: Source) -> Fetched:
    """The image's top document (index or manifest), checked against the reference's
    digest: the first step of :func:`load_image`, the one that asks the network for a
    tag even when the rest is in a cache."""
    top = source.resolve()
    if reference.digest and top.digest != reference.digest:
        name = str(reference)
        raise IntegrityError(
            f"digest mismatch for {name}: expected {reference.digest}, got {top.digest}",
            expected=reference.digest,
            actual=top.digest,
            reference=name,
        )
    return top


def read_manifest(source: Source, entry: Descriptor, what: str) -> Manifest:
    """The manifest ``entry`` names, size-capped and verified before it is parsed."""
    check_size(entry, what)
    data = source.fetch(entry, manifest=True)
    verify(data, entry, what)
    return Manifest.from_json(data, digest=entry.digest, media_type=entry.media_type, what=what)


def read_image(
    reference: Reference,
    source: Source,
    top: Fetched,
    *,
    configs: bool = True,
    executor: Executor | None = None,
) -> Image:
    """The rest of :func:`load_image`, after :func:`open_image` gave ``top``."""
    name = str(reference)
    # A source that serves this image from local storage (a layout, or a cache entry
    # for its digest) is read in this thread: handing CPU-bound reads to other
    # threads only passes the GIL around (it doubled a warm run's CPU time).
    local = is_local(source)
    mapper = executor.map if executor is not None and not local else _sequential

    def platform_image(entry: Descriptor) -> PlatformImage:
        manifest = read_manifest(source, entry, f"{name} manifest {entry.digest}")
        read_config = configs or entry.platform is None
        config = _load_config(source, manifest, name) if read_config else None
        platform = entry.platform or (config.platform if config else None)
        return PlatformImage(
            entry, (platform or Platform("unknown", "unknown")).normalized(), manifest, config
        )

    if is_index(top.data, top.media_type):
        index = Index.from_json(top.data, digest=top.digest, media_type=top.media_type, what=name)
        wanted, attestations, others = classify(index)
        platforms = tuple(mapper(platform_image, wanted))
        return Image(
            reference,
            top.digest,
            index.media_type,
            len(top.data),
            index,
            platforms,
            attestations,
            others,
        )

    manifest = Manifest.from_json(top.data, digest=top.digest, media_type=top.media_type, what=name)
    config = _load_config(source, manifest, name)  # where a single manifest's platform is
    descriptor = Descriptor(manifest.media_type, top.digest, len(top.data), manifest.annotations)
    platform = (config.platform if config else None) or Platform("unknown", "unknown")
    single = PlatformImage(descriptor, platform.normalized(), manifest, config)
    return Image(reference, top.digest, manifest.media_type, len(top.data), None, (single,))


def classify(
    index: Index,
) -> tuple[list[Descriptor], tuple[Attestation, ...], tuple[Descriptor, ...]]:
    """Split index entries into platform manifests, attestations and the rest."""
    wanted: list[Descriptor] = []
    attestations: list[Attestation] = []
    others: list[Descriptor] = []
    for entry in index.manifests:
        if entry.is_attestation:
            describes = entry.annotations.get(mt.REFERENCE_DIGEST_ANNOTATION, "")
            attestations.append(Attestation(entry, describes))
        elif mt.base(entry.media_type) in mt.MANIFEST_TYPES and not (
            entry.platform is not None and entry.platform.is_unknown
        ):
            wanted.append(entry)
        else:
            others.append(entry)
    return wanted, tuple(attestations), tuple(others)


def _load_config(source: Source, manifest: Manifest, name: str) -> ImageConfig | None:
    descriptor = manifest.config
    if mt.base(descriptor.media_type) not in (mt.OCI_CONFIG, mt.DOCKER_CONFIG):
        return None  # an artifact, not an image: its config is not an image config
    what = f"{name} config {descriptor.digest}"
    check_size(descriptor, what)
    data = source.fetch(descriptor, manifest=False)
    verify(data, descriptor, what)
    return ImageConfig.from_json(
        data, digest=descriptor.digest, media_type=descriptor.media_type, what=what
    )
