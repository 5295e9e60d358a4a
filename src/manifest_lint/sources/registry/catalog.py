"""Listing a registry: ``/v2/_catalog`` and ``/v2/<name>/tags/list``, page by page.

Both answers are paginated with ``n=`` and ``Link: <...>; rel="next"`` (followed on
the same registry only); each page is size-capped, counted and retried like any
request of the client. A registry that refuses its catalog (401, 403, 404: Docker
Hub, GHCR) is a :class:`RegistryError` naming it: an audit that cannot list is an
error, never an empty pass. Pages are read one at a time, as they are needed.
"""

from __future__ import annotations

import functools
import json
import urllib.parse
from collections.abc import Iterator
from typing import TYPE_CHECKING

from manifest_lint.errors import ContentError, NotFoundError, RegistryError
from manifest_lint.image.limits import MAX_DOCUMENT_SIZE
from manifest_lint.sources.registry.errors import check_status

if TYPE_CHECKING:
    from manifest_lint.sources.registry.client import RegistryClient

#: Pages of one listing followed at most (``n`` entries each).
MAX_PAGES = 100_000


def repositories(client: RegistryClient, page_size: int) -> Iterator[str]:
    """Every repository of the registry's catalog, in the registry's order."""
    what = f"the catalog of registry {client.host}"
    try:
        yield from _pages(client, f"/v2/_catalog?n={page_size}", "repositories", what)
    except RegistryError as exc:
        if exc.status in (401, 403, 404):
            raise RegistryError(
                f"registry {client.host} does not list its repositories (/v2/_catalog: "
                f"HTTP {exc.status}); name the images instead (arguments, --refs-file)",
                url=exc.url,
                status=exc.status,
            ) from None
        raise


def tags(client: RegistryClient, repository: str, page_size: int) -> Iterator[str]:
    """Every tag of ``repository``, in the registry's order (none for a repository
    that is gone since the catalog listed it)."""
    path = f"/v2/{repository}/tags/list?n={page_size}"
    try:
        yield from _pages(client, path, "tags", f"the tags of {client.host}/{repository}")
    except NotFoundError:
        return


def _pages(client: RegistryClient, path: str, key: str, what: str) -> Iterator[str]:
    following: str | ContentError | None = path
    pages = 0
    while isinstance(following, str):
        pages += 1
        if pages > MAX_PAGES:
            raise ContentError(f"{what}: more than {MAX_PAGES} pages")
        names, following = client._retry(
            functools.partial(_page, client, following, key, what), None
        )
        yield from names
    if following is not None:
        raise following  # (after that page's names: they are good)


def _page(
    client: RegistryClient, path: str, key: str, what: str
) -> tuple[list[str], str | ContentError | None]:
    """A page's names and the path of the next page (or why it is not followed)."""
    response = client._send("GET", path, {"Accept": "application/json"}, what=what)
    try:
        check_status(response, host=client.host, what=what, credential=client.auth.credential)
        data = client._read_capped(response, MAX_DOCUMENT_SIZE, what)
        link = response.links.get("next", {}).get("url")
    finally:
        response.close()
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        raise ContentError(f"{what}: the registry's answer is not JSON") from None
    names = value.get(key) if isinstance(value, dict) else None
    if names is None:
        names = []  # (distribution answers {"repositories": null} for an empty page)
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ContentError(f"{what}: {key!r} is not a list of names")
    if link is None:
        return names, None
    here = response.request.url
    url = here.join(link)
    if (url.host.lower(), url.port, url.scheme) != (here.host.lower(), here.port, here.scheme):
        return names, ContentError(f"{what}: the next page is linked to another host; not followed")
    target = url.raw_path.decode("ascii")
    if not urllib.parse.urlsplit(target).path.startswith("/v2/"):
        return names, ContentError(f"{what}: the next page is linked outside /v2/; not followed")
    return names, target
