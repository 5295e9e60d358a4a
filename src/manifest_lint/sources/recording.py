"""What ``manifest-lint record`` keeps of one image: every document policies read, as fetched.

:class:`RecordingSource` wraps any :class:`~manifest_lint.sources.base.Source` and keeps
the bytes of what :mod:`manifest_lint.sources.load` asks it for; :func:`record_image`
reads the image through it (so every document is verified against its descriptor
exactly as a lint verifies it), then the attestation manifests and their configs, and
what refers to the image (``sources.supply_chain``) with every referrer's manifest.
Layer blobs of the image are never asked for.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from manifest_lint.errors import ContentError
from manifest_lint.image import media_types as mt
from manifest_lint.image.limits import MAX_STATEMENT_SIZE
from manifest_lint.sources.base import Fetched, Referrers, Source
from manifest_lint.sources.load import check_size, load_image, read_manifest, verify
from manifest_lint.sources.supply_chain import read_supply_chain

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from manifest_lint.image.model import Descriptor
    from manifest_lint.image.reference import Reference
    from manifest_lint.image.supply_chain import Referrer


@dataclass(frozen=True)
class Recording:
    """One image, recorded: its name in ``index.json``, its top document as served,
    and every document read for it, by digest (the exact bytes, verified)."""

    name: str
    media_type: str
    digest: str
    size: int
    blobs: dict[str, bytes]
    #: What refers to the image's digests, as found (written as the referrers fallback
    #: tag and cosign's tags, so a lint of the recording finds the same).
    referrers: dict[str, tuple[Referrer, ...]] = field(default_factory=dict)


class RecordingSource:
    """A :class:`~manifest_lint.sources.base.Source` that keeps the bytes it serves.

    Bytes are kept as served; the reader verifies them after :meth:`fetch` returns, and a
    recording whose reading failed is thrown away whole (:func:`record_image`)."""

    def __init__(self, source: Source) -> None:
        self._source = source
        self._lock = threading.Lock()
        self.top: Fetched | None = None
        self.blobs: dict[str, bytes] = {}
        self.found: dict[str, tuple[Referrer, ...]] = {}

    def resolve(self) -> Fetched:
        self.top = self._source.resolve()
        with self._lock:
            self.blobs[self.top.digest] = self.top.data
        return self.top

    def fetch(self, descriptor: Descriptor, *, manifest: bool) -> bytes:
        data = self._source.fetch(descriptor, manifest=manifest)
        with self._lock:
            self.blobs[descriptor.digest] = data
        return data

    def close(self) -> None:
        self._source.close()

    def referrers(self, digest: str) -> tuple[Referrer, ...]:
        found = self._source.referrers(digest) if isinstance(self._source, Referrers) else ()
        with self._lock:
            self.found[digest] = found
        return found

    def fetch_blob(self, descriptor: Descriptor, *, limit: int) -> bytes:
        if isinstance(self._source, Referrers):
            data = self._source.fetch_blob(descriptor, limit=limit)
        else:
            data = self._source.fetch(descriptor, manifest=False)
        with self._lock:
            self.blobs[descriptor.digest] = data
        return data


def record_name(reference: Reference, digest: str) -> str:
    """The ``org.opencontainers.image.ref.name`` a recorded reference gets (docs/recording.md).

    A registry reference: ``REGISTRY/REPOSITORY:TAG`` (normalised, without a digest it
    may also name), or ``REGISTRY/REPOSITORY@DIGEST`` when it names no tag. Any other
    transport (a layout, a plugin's): its tag, or the image's digest when it has none."""
    if reference.transport == "docker":
        base = f"{reference.registry}/{reference.repository}"
        return f"{base}:{reference.tag}" if reference.tag else f"{base}@{digest}"
    return reference.tag or digest


def record_image(
    reference: Reference,
    source: Source,
    *,
    executor: Executor | None = None,
    statement_limit: int = MAX_STATEMENT_SIZE,
) -> Recording:
    """Read the image ``reference`` names from ``source`` and keep what policies read:
    the index or manifest, every platform manifest, every config, the attestation
    manifests with their configs and statements, and what refers to the image (every
    referrer's manifest, signatures' and attestations' included); every document
    verified against its descriptor."""
    recorder = RecordingSource(source)
    image = load_image(reference, recorder, configs=True, executor=executor)
    name = str(reference)
    for attestation in image.attestations:
        _record_attestation(recorder, attestation.descriptor, name)
    chain = read_supply_chain(recorder, image, limit=statement_limit)
    if chain.errors:
        raise ContentError("; ".join(chain.errors))
    for found in recorder.found.values():
        for referrer in found:
            if referrer.descriptor.digest not in recorder.blobs:
                what = f"{name} referrer {referrer.descriptor.digest}"
                read_manifest(recorder, referrer.descriptor, what)
    top = recorder.top
    assert top is not None  # (load_image resolved it)
    return Recording(
        record_name(reference, top.digest),
        mt.base(top.media_type),
        top.digest,
        len(top.data),
        dict(sorted(recorder.blobs.items())),
        dict(recorder.found),
    )


def _record_attestation(recorder: RecordingSource, descriptor: Descriptor, name: str) -> None:
    manifest = read_manifest(
        recorder, descriptor, f"{name} attestation manifest {descriptor.digest}"
    )
    config = manifest.config
    what = f"{name} attestation config {config.digest}"
    check_size(config, what)
    verify(recorder.fetch(config, manifest=False), config, what)
