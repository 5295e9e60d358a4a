"""A :class:`~manifest_lint.sources.base.Source` for registry references, with the cache.

When the cache holds images of the reference's repository, a tag is resolved with
``HEAD`` (which Docker Hub does not count as a pull) and documents are read from the
cache's entry for that digest when they are there; otherwise the tag is fetched with
one ``GET``. What had to be fetched is written back as one entry for the image.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

from manifest_lint.errors import NotFoundError, NotLocal
from manifest_lint.image import media_types as mt
from manifest_lint.sources.base import Fetched
from manifest_lint.sources.load import verify

if TYPE_CHECKING:
    from manifest_lint.image.model import Descriptor
    from manifest_lint.image.reference import Reference
    from manifest_lint.image.supply_chain import Referrer
    from manifest_lint.sources.cache import Cache, Entry
    from manifest_lint.sources.registry.client import RegistryClient


class RegistrySource:
    """A :class:`~manifest_lint.sources.base.Source` for one reference in a registry.

    With a cache that holds images of the repository, a tag is resolved with
    ``HEAD`` (which Docker Hub does not count as a pull) and content is read from
    the cache's entry for that digest when it is there; a cached digest reference
    needs no request at all. Where the cache could not answer (no cache, or nothing
    cached for the repository: a CI job's first run), a tag is fetched with one
    ``GET``: a ``HEAD`` first would only add a round trip. Either way the top
    document is verified, against ``Docker-Content-Digest`` when the registry sends
    one, and is named by the digest of its bytes. What had to be fetched is written
    to the cache when the source is closed, as one entry for the image.
    """

    def __init__(
        self, client: RegistryClient, reference: Reference, cache: Cache | None = None
    ) -> None:
        self.client = client
        self.reference = reference
        self.cache = cache
        self.what = str(reference)
        #: ``registry/repository``: what the cache knows images of.
        self._repository = f"{reference.registry}/{reference.repository}"
        #: Everything for this reference, retries included, must be done by then.
        self.deadline = time.monotonic() + client.options.timeout
        self._entry: Entry | None = None
        #: The image's digest and the verified documents read for it, for the cache.
        self._top = ""
        self._documents: dict[str, bytes] = {}
        self._fetched = False
        #: Set while the image is read where no request should be sent (the reporting
        #: thread, see ``runner``): a document the entry lacks raises NotLocal
        #: (:class:`~manifest_lint.sources.base.CacheControls`).
        self.cache_only = False
        self._incomplete = False

    @property
    def local(self) -> bool:
        """Whether the cache has an entry for the image (and it was not found to lack a
        document): its documents are read from disk, one after another
        (:class:`~manifest_lint.sources.base.Locality`)."""
        return self._entry is not None and not self._incomplete

    def resume(self) -> None:
        """The reference's deadline counts from now: work on it resumes after it
        waited its turn (see ``runner``)."""
        self.deadline = time.monotonic() + self.client.options.timeout

    def _must_ask(self, digest: str) -> None:
        """A document is not in the cache: say so if no request may be sent now."""
        if self.cache_only:
            self._incomplete = True
            raise NotLocal(f"{self.what}: {digest} is not in the cache entry")

    def close(self) -> None:
        """Write what was fetched to the cache (the client is shared: nothing else)."""
        if self.cache is not None and self._fetched and self._top:
            self.cache.write(self._top, self._documents)
            self.cache.add_repository(self._repository)
            self._fetched = False

    def _cached(self, digest: str) -> bytes | None:
        if self.cache is None:
            return None
        data = self.cache.take(digest, self._entry)
        if data is not None:
            self._documents[digest] = data
        return data

    def _keep(self, digest: str, data: bytes) -> None:
        """A document fetched and verified: for this image's cache entry."""
        if self.cache is not None:
            self.cache.remember(digest, data)
            self._documents[digest] = data
            self._fetched = True

    def _open(self, digest: str) -> None:
        """The image is ``digest``: read its cache entry."""
        self._top = digest
        if self.cache is not None:
            self._entry = self.cache.read(digest)

    def _by_digest(self, digest: str, media_type: str, what: str) -> Fetched:
        data = self._cached(digest)
        if data is not None:
            return Fetched(data, media_type or _declared_type(data), digest)
        self._must_ask(digest)

        def get() -> Fetched:
            return self.client.get_manifest(
                self.reference.repository, digest, what=what, deadline=self.deadline
            )

        fetched = self.client.once((self.reference.repository, digest), get)
        self._keep(fetched.digest, fetched.data)
        return fetched

    def resolve(self) -> Fetched:
        repository, tag, digest = (
            self.reference.repository,
            self.reference.tag,
            self.reference.digest,
        )
        if digest:
            self._open(digest)
            return self._by_digest(digest, "", self.what)
        if self.cache is not None and self.cache.knows(self._repository):
            try:
                head = self.client.head_manifest(
                    repository, tag, what=self.what, deadline=self.deadline
                )
            except NotFoundError:
                head = None  # a HEAD has no body: the GET below says what is missing
            if head is not None:
                self._open(head.digest)
                what = f"{self.what} (HEAD resolved it to {head.digest})"
                return self._by_digest(head.digest, head.media_type, what)

        def get() -> Fetched:
            return self.client.get_manifest(repository, tag, what=self.what, deadline=self.deadline)

        # (A tag's key has no ':', so it never meets a digest's.) The digest is the
        # bytes' own, checked against Docker-Content-Digest when sent (client.py).
        fetched = self.client.once((repository, tag), get)
        # Its children may be cached all the same (the image under another name).
        self._open(fetched.digest)
        self._keep(fetched.digest, fetched.data)
        return fetched

    def fetch(self, descriptor: Descriptor, *, manifest: bool) -> bytes:
        what = f"{self.what} {'manifest' if manifest else 'blob'} {descriptor.digest}"
        if manifest:
            return self._by_digest(descriptor.digest, descriptor.media_type, what).data
        cached = self._cached(descriptor.digest)
        if cached is not None:
            return cached
        self._must_ask(descriptor.digest)

        def get() -> bytes:
            data = self.client.get_blob(
                self.reference.repository, descriptor, what=what, deadline=self.deadline
            )
            if self.cache is not None:
                verify(data, descriptor, what)  # never store what does not match its name
            return data

        data = self.client.once((self.reference.repository, descriptor.digest), get)
        self._keep(descriptor.digest, data)
        return data

    # -- what refers to the image (sources.base.Referrers) ------------------------------
    def _tag(self, tag: str, what: str) -> Fetched | None:
        """The manifest a tag names, or None when there is no such tag. With a cache it
        is resolved by ``HEAD`` and read from the cache by digest when there."""
        repository = self.reference.repository
        try:
            if self.cache is not None:
                head = self.client.head_manifest(repository, tag, what=what, deadline=self.deadline)
                if head is not None:
                    return self._by_digest(head.digest, head.media_type, what)
            fetched = self.client.get_manifest(repository, tag, what=what, deadline=self.deadline)
        except NotFoundError:
            return None
        self._keep(fetched.digest, fetched.data)
        return fetched

    def referrers(self, digest: str) -> tuple[Referrer, ...]:
        from manifest_lint.image.model import Descriptor, Index
        from manifest_lint.image.supply_chain import API, COSIGN_KIND, COSIGN_TAG, TAG, Referrer
        from manifest_lint.sources.registry.referrers import get_referrers

        what = f"{self.what} referrers of {digest}"
        tag = digest.replace(":", "-", 1)
        found: list[Referrer] = []
        listed = get_referrers(
            self.client, self.reference.repository, digest, what=what, deadline=self.deadline
        )
        if listed is not None:
            found.extend(Referrer(d, API, digest) for d in listed)
        else:
            fallback = self._tag(tag, f"{what} (fallback tag {tag})")
            if fallback is not None:
                index = Index.from_json(
                    fallback.data,
                    digest=fallback.digest,
                    media_type=fallback.media_type,
                    what=f"{what} (fallback tag {tag})",
                )
                found.extend(Referrer(d, TAG, digest) for d in index.manifests)
        for kind in ("sig", "att", "sbom"):
            try:
                head = self.client.head_manifest(
                    self.reference.repository,
                    f"{tag}.{kind}",
                    what=f"{what} (cosign tag {tag}.{kind})",
                    deadline=self.deadline,
                )
            except NotFoundError:
                continue
            if head is None:  # no Docker-Content-Digest: read the tag itself
                fetched = self._tag(f"{tag}.{kind}", f"{what} (cosign tag {tag}.{kind})")
                if fetched is None:
                    continue
                head = Descriptor(fetched.media_type, fetched.digest, len(fetched.data))
            found.append(
                Referrer(head._replace(annotations={COSIGN_KIND: kind}), COSIGN_TAG, digest)
            )
        return tuple(found)

    def fetch_blob(self, descriptor: Descriptor, *, limit: int) -> bytes:
        """A blob up to ``limit`` bytes, verified; kept in the cache as its own entry (a
        statement can be larger than an image's entry should grow)."""
        what = f"{self.what} blob {descriptor.digest}"
        if self.cache is not None:
            cached = self.cache.get(descriptor.digest)
            if cached is not None:
                return cached

        def get() -> bytes:
            data = self.client.get_blob(
                self.reference.repository,
                descriptor,
                what=what,
                limit=limit,
                deadline=self.deadline,
            )
            verify(data, descriptor, what)
            return data

        data = self.client.once((self.reference.repository, descriptor.digest), get)
        if self.cache is not None:
            self.cache.put(descriptor.digest, data)
        return data


def _declared_type(data: bytes) -> str:
    """The ``mediaType`` a cached manifest declares, or ``""`` (then its shape decides)."""
    try:
        value = json.loads(data).get("mediaType", "")
    except (ValueError, AttributeError, RecursionError):
        return ""
    return mt.base(value) if isinstance(value, str) else ""
