"""The referrers API (OCI distribution-spec 1.1) over a :class:`RegistryClient`.

``GET /v2/<name>/referrers/<digest>`` answers an OCI index of the manifests whose
``subject`` is that digest, in pages linked by ``Link: <...>; rel="next"``. A registry
without the API answers 404 (GHCR, CNCF distribution 2.x): then the caller reads the
fallback tag ``sha256-<hex>`` instead (``registry.source``). Part of the client
(it uses the client's request, retry and size-cap plumbing), kept apart by job.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from manifest_lint.errors import ContentError
from manifest_lint.image import media_types as mt
from manifest_lint.image.digest import Digest
from manifest_lint.image.limits import MAX_DOCUMENT_SIZE
from manifest_lint.image.model import Descriptor, Index
from manifest_lint.sources.registry.errors import check_status

if TYPE_CHECKING:
    from manifest_lint.sources.registry.client import RegistryClient

#: Pages of one referrers answer followed at most (each holds many descriptors).
MAX_REFERRER_PAGES = 64

Page = tuple[tuple[Descriptor, ...], "str | None"]


def get_referrers(
    client: RegistryClient,
    repository: str,
    digest: str,
    *,
    what: str,
    deadline: float | None = None,
) -> tuple[Descriptor, ...] | None:
    """Every descriptor of every page for ``digest`` (links followed on the same
    registry only), or None when the registry has no referrers API (404 or 405). Each
    page is size-capped, retried like any request, and read as an OCI index."""
    found: list[Descriptor] = []
    path: str | None = f"/v2/{repository}/referrers/{digest}"
    pages = 0
    while path is not None:
        pages += 1
        if pages > MAX_REFERRER_PAGES:
            raise ContentError(
                f"{what}: the referrers API sent more than {MAX_REFERRER_PAGES} pages"
            )
        answer = client._retry(functools.partial(_page, client, path, what), deadline)
        if answer is None:
            return None if pages == 1 else tuple(found)
        entries, path = answer
        found.extend(entries)
    return tuple(found)


def _page(client: RegistryClient, path: str, what: str) -> Page | None:
    response = client._send("GET", path, {"Accept": mt.OCI_INDEX}, what=what)
    try:
        if response.status_code in (404, 405):
            response.read()  # (so the connection can be reused)
            return None
        check_status(response, host=client.host, what=what, credential=client.auth.credential)
        data = client._read_capped(response, MAX_DOCUMENT_SIZE, what)
        following = response.links.get("next", {}).get("url")
    finally:
        response.close()
    index = Index.from_json(
        data, digest=str(Digest.of(data)), media_type=mt.OCI_INDEX, what=f"{what} (referrers)"
    )
    if following is None:
        return index.manifests, None
    here = response.request.url
    url = here.join(following)
    if (url.host.lower(), url.port, url.scheme) != (here.host.lower(), here.port, here.scheme):
        raise ContentError(
            f"registry {client.host} linked the next referrers page of {what} to "
            f"{url.scheme}://{url.netloc.decode('ascii', 'replace')}; not followed"
        )
    target = url.raw_path.decode("ascii")
    if not target.startswith("/v2/"):
        raise ContentError(
            f"registry {client.host} linked the next referrers page of {what} outside /v2/"
        )
    return index.manifests, target
