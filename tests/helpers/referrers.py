"""The OCI 1.1 referrers API in front of the real registry, for tests.

The registry the tests run (Debian's ``docker-registry``, CNCF distribution 2.8) has no
referrers API: it answers ``GET /v2/<name>/referrers/<digest>`` with 404, which is the
fallback path, tested against it directly. Registries with the API (distribution 3,
zot, Harbor) are not packaged in Debian, so the API path is tested through this proxy:
it answers the referrers endpoint as distribution-spec 1.1 says (an OCI index of
descriptors, ``artifactType`` filtering with ``OCI-Filters-Applied``, pages linked by
``Link: <...>; rel="next"``) from the manifests the test pushed and registered with
:meth:`ReferrersAPI.add`, and forwards everything else to the real registry
(:class:`~tests.helpers.fault_proxy.FaultProxy`, which counts the requests).
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from typing import Any

from tests.helpers.fault_proxy import Fault, FaultProxy, Rule
from tests.helpers.images import OCI_INDEX, Built


class ReferrersAPI:
    """``own_answers`` for a :class:`FaultProxy`: the referrers endpoint."""

    def __init__(self, page_size: int = 2) -> None:
        self.page_size = page_size
        self._by_subject: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        #: Referrers requests answered (pages included).
        self.requests = 0

    def add(self, repository: str, subject: str, referrer: Built) -> None:
        """``referrer`` (pushed to the registry) refers to ``subject`` in ``repository``."""
        doc = referrer.json
        entry: dict[str, Any] = {
            "mediaType": referrer.media_type,
            "digest": referrer.digest,
            "size": referrer.size,
        }
        if doc.get("artifactType"):
            entry["artifactType"] = doc["artifactType"]
        if doc.get("annotations"):
            entry["annotations"] = doc["annotations"]
        with self._lock:
            self._by_subject.setdefault((repository, subject), []).append(entry)

    def __call__(self, method: str, target: str) -> Rule | None:
        parsed = urllib.parse.urlsplit(target)
        prefix, sep, digest = parsed.path.partition("/referrers/")
        if method != "GET" or not sep or not prefix.startswith("/v2/"):
            return None
        repository = prefix[len("/v2/") :]
        query = urllib.parse.parse_qs(parsed.query)
        start = int(query.get("page", ["0"])[0])
        wanted = query.get("artifactType", [])
        with self._lock:
            self.requests += 1
            entries = list(self._by_subject.get((repository, digest), []))
        headers: dict[str, str] = {}
        if wanted:
            entries = [e for e in entries if e.get("artifactType") in wanted]
            headers["OCI-Filters-Applied"] = "artifactType"
        page = entries[start : start + self.page_size]
        if start + self.page_size < len(entries):
            following = {"page": str(start + self.page_size)}
            if wanted:
                following["artifactType"] = wanted[0]
            link = f"{parsed.path}?{urllib.parse.urlencode(following)}"
            headers["Link"] = f'<{link}>; rel="next"'
        body = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": page})
        return Rule(
            Fault.BODY, content_type=OCI_INDEX, status=200, body=body.encode(), headers=headers
        )


def referrers_proxy(upstream: str, api: ReferrersAPI) -> FaultProxy:
    """A started proxy to ``upstream`` (``127.0.0.1:PORT``) with the referrers API."""
    return FaultProxy(upstream, own_answers=api).start()
