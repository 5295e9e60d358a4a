"""The contract between manifest-lint and a source of images (a registry, a layout, a plugin's).

A :class:`Source` serves the documents of one reference; :mod:`manifest_lint.sources.load`
verifies each against the descriptor that names it and builds the image. What a source
must do is declared on :class:`Source`; what it may do besides, and the default for a
source that does not, on :class:`Locality` and :class:`CacheControls`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from manifest_lint.image.reference import Reference

if TYPE_CHECKING:
    from manifest_lint.image.model import Descriptor
    from manifest_lint.image.supply_chain import Referrer
    from manifest_lint.sources.registry.registries import Registries


@dataclass(frozen=True)
class Fetched:
    """A top-level document as served: bytes, declared media type, and its digest."""

    data: bytes
    media_type: str
    digest: str


class Source(Protocol):
    """Where the documents of one reference come from.

    Required: :meth:`resolve`, :meth:`fetch` and :meth:`close`. Optional: ``local``
    (:class:`Locality`; a source without it is not local) and the cache controls
    (:class:`CacheControls`; a source without them is never asked to read from a cache
    only).
    """

    def resolve(self) -> Fetched:
        """The document the reference names (by digest when it has one, else by tag),
        verified against that digest or the digest the server announced."""

    def fetch(self, descriptor: Descriptor, *, manifest: bool) -> bytes:
        """The bytes ``descriptor`` names: a manifest when ``manifest``, else a blob.
        Callers verify size and digest (a body of another size than the descriptor's
        is an integrity error); sources never read more than
        :data:`~manifest_lint.image.limits.MAX_DOCUMENT_SIZE`."""

    def close(self) -> None:
        """Release files or connections held for this reference."""


@runtime_checkable
class Locality(Protocol):
    """A :class:`Source` that says whether its documents come from local storage.

    Optional: a source that does not declare ``local`` is read as not local (its
    documents are fetched concurrently), as it always was."""

    @property
    def local(self) -> bool:
        """Read after :meth:`Source.resolve`: True when the image's documents come from
        local storage (a layout, a cache entry for its digest). They are then read one
        after another, in the calling thread: handing CPU-bound reads to other threads
        only passes the GIL around."""


@runtime_checkable
class CacheControls(Protocol):
    """A local :class:`Source` that keeps a cache, and can be told to answer from it only.

    Optional: the runner uses them only on a source that declares both, and only while
    it is :attr:`~Locality.local`."""

    #: Set by the runner while it reads the image where no request should be sent (the
    #: reporting thread): a document missing from the cache then raises
    #: :class:`~manifest_lint.errors.NotLocal` instead of being fetched, and the source
    #: is no longer :attr:`~Locality.local`.
    cache_only: bool

    def resume(self) -> None:
        """Called after :class:`~manifest_lint.errors.NotLocal`, before the image is read
        again with requests: per-reference deadlines count from now, since the reference
        waited its turn."""


@runtime_checkable
class Referrers(Protocol):
    """A :class:`Source` that can say what refers to a digest of its image, and read the
    (larger) blobs of attestations. Optional: a source without it has no supply chain
    (docs/supply-chain.md); the registry and OCI layout sources have one."""

    def referrers(self, digest: str) -> tuple[Referrer, ...]:
        """What refers to ``digest``: from the referrers API (``api``) or its fallback
        tag (``tag``), and cosign's tags (``cosign-tag``), each a manifest descriptor."""

    def fetch_blob(self, descriptor: Descriptor, *, limit: int) -> bytes:
        """A blob of at most ``limit`` bytes (a statement); callers verify it."""


def is_local(source: Source) -> bool:
    """``source.local`` (:class:`Locality`), or False for a source that does not declare it."""
    return isinstance(source, Locality) and source.local


#: Opens a :class:`Source` for a reference of one transport (registered by plugins through
#: ``manifest_lint_register_sources``).
SourceOpener = Callable[[Reference, "Registries"], Source]
