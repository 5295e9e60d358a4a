"""What ``manifest-lint record`` keeps of one image: every document policies read, as fetched.

:class:`RecordingSource` wraps any :class:`~manifest_lint.sources.base.Source` and keeps
the bytes of what :mod:`manifest_lint.sources.load` asks it for; :func:`record_image`
reads the image through it (so every document is verified against its descriptor
exactly as a lint verifies it), then the attestation manifests and their configs, which
a lint does not read. Layer blobs are never asked for.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from manifest_lint.image import media_types as mt
from manifest_lint.sources.base import Fetched, Source
from manifest_lint.sources.load import check_size, load_image, read_manifest, verify

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from manifest_lint.image.model import Descriptor
    from manifest_lint.image.reference import Reference


@dataclass(frozen=True)
class Recording:
    """One image, recorded: its name in ``index.json``, its top document as served,
    and every document read for it, by digest (the exact bytes, verified)."""

    name: str
    media_type: str
    digest: str
    size: int
    blobs: dict[str, bytes]


class RecordingSource:
    """A :class:`~manifest_lint.sources.base.Source` that keeps the bytes it serves.

    Bytes are kept as served; the reader verifies them after :meth:`fetch` returns, and a
    recording whose reading failed is thrown away whole (:func:`record_image`)."""

    def __init__(self, source: Source) -> None:
        self._source = source
        self._lock = threading.Lock()
        self.top: Fetched | None = None
        self.blobs: dict[str, bytes] = {}

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
    reference: Reference, source: Source, *, executor: Executor | None = None
) -> Recording:
    """Read the image ``reference`` names from ``source`` and keep what policies read:
    the index or manifest, every platform manifest, every config, and the attestation
    manifests with their configs; every document verified against its descriptor."""
    recorder = RecordingSource(source)
    image = load_image(reference, recorder, configs=True, executor=executor)
    name = str(reference)
    for attestation in image.attestations:
        _record_attestation(recorder, attestation.descriptor, name)
    top = recorder.top
    assert top is not None  # (load_image resolved it)
    return Recording(
        record_name(reference, top.digest),
        mt.base(top.media_type),
        top.digest,
        len(top.data),
        dict(sorted(recorder.blobs.items())),
    )


def _record_attestation(recorder: RecordingSource, descriptor: Descriptor, name: str) -> None:
    manifest = read_manifest(
        recorder, descriptor, f"{name} attestation manifest {descriptor.digest}"
    )
    config = manifest.config
    what = f"{name} attestation config {config.digest}"
    check_size(config, what)
    verify(recorder.fetch(config, manifest=False), config, what)
