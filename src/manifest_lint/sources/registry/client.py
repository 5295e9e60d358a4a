"""The OCI distribution API over httpx: manifests and blobs, verified and size-capped.

One :class:`RegistryClient` per registry host, each with its own connection pool and
token cache (:class:`~manifest_lint.sources.registry.registries.Registries` hands them
out by host). What an answer means as an error is in ``registry.errors``; when a
failure is tried again, in ``registry.retry``.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

import httpx

from manifest_lint import __version__
from manifest_lint.errors import (
    AuthenticationError,
    IntegrityError,
    RegistryError,
    RegistryUnavailableError,
    TooLargeError,
    UnsupportedMediaTypeError,
)
from manifest_lint.image import media_types as mt
from manifest_lint.image.digest import Digest, DigestFormatError
from manifest_lint.image.limits import MAX_DOCUMENT_SIZE
from manifest_lint.image.model import Descriptor
from manifest_lint.sources.base import Fetched
from manifest_lint.sources.registry.auth import RegistryAuth
from manifest_lint.sources.registry.credentials import find_credential
from manifest_lint.sources.registry.errors import (
    certificate_error,
    check_status,
    connection_error,
    reason,
)
from manifest_lint.sources.registry.options import RegistryOptions, is_loopback
from manifest_lint.sources.registry.retry import retry
from manifest_lint.sources.registry.tls import verified_context
from manifest_lint.sources.registry.transport import StdlibTransport, proxy_applies

USER_AGENT = f"manifest-lint/{__version__}"
T = TypeVar("T")


class _NoCookies(httpx.Cookies):
    """Cookies that are never kept: registries do not use them and docker ignores them.
    httpx's own jar turns every response into urllib request and email message objects
    to look for ``Set-Cookie`` (about 0.1 ms of CPU per request)."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


def _unverified() -> ssl.SSLContext:
    """TLS without verification, for ``--insecure-registry`` hosts (as httpx's ``verify=False``)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class RegistryClient:
    """Reads manifests and blobs from one registry host."""

    def __init__(
        self,
        host: str,
        options: RegistryOptions,
        tls: Callable[[], ssl.SSLContext] | None = None,
    ) -> None:
        """``tls`` gives the verifying context (shared by a run's clients, see
        :meth:`Registries.tls_context`); without it the client reads its own."""
        self.host = host
        self.options = options
        insecure = options.is_insecure(host)
        lookup = options.credential_lookup or (lambda h: find_credential(h, env=options.env))
        self.auth = RegistryAuth(
            host,
            lambda: lookup(host),
            allow_http_realm=lambda realm_host: (
                is_loopback(realm_host) or realm_host.lower() in options.insecure_registries
            ),
        )
        verify: bool | ssl.SSLContext = (
            False
            if host.lower() in options.insecure_registries
            else (tls() if tls is not None else verified_context(options.ca_file))
        )
        transport = options.transport
        if transport is None and not proxy_applies(host):
            # http.client under httpx: a third of httpcore's CPU per request (transport.py).
            # Through a proxy, httpx's own transport (which reads the proxy variables).
            transport = StdlibTransport(
                ssl_context=verify if isinstance(verify, ssl.SSLContext) else _unverified()
            )
        self._http = httpx.Client(
            auth=self.auth,
            verify=verify,
            timeout=min(options.request_timeout, options.timeout),
            headers={"User-Agent": USER_AGENT},
            follow_redirects=True,
            transport=transport,
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=32),
            event_hooks={"response": [self._record]},
        )
        self._http._cookies = _NoCookies()  # (httpx has no public switch for this)
        #: What every request carries (httpx's defaults and ours), by lower-case name;
        #: requests are built from it directly (httpx's build_request parses each URL
        #: twice and merges cookies and query parameters we never have).
        self._headers = {k.lower(): (k, v) for k, v in self._http.headers.items()}
        self._timeouts = self._http.timeout.as_dict()
        # Loopback and insecure registries may speak plain http: try https first,
        # as docker does, and fall back once the TLS handshake fails.
        self._schemes = ["https", "http"] if insecure else ["https"]
        #: How to wait between attempts (tests replace it).
        self._sleep: Callable[[float], None] = time.sleep
        self._scheme_lock = threading.Lock()
        self._stats_lock = threading.Lock()
        #: Documents being fetched now, so that concurrent references share one GET.
        self._inflight: dict[tuple[str, str], Future[Any]] = {}
        self._inflight_lock = threading.Lock()
        #: Responses received from this registry, by method (token requests, which go
        #: to the token service's host, are counted in ``token_requests``).
        self.requests: dict[str, int] = {}
        #: Successful manifest GETs: what Docker Hub counts as pulls (HEADs are free).
        self.manifest_gets = 0
        self.token_requests = 0
        #: The last rate-limit headers seen (Docker Hub's ``ratelimit-limit`` and
        #: ``ratelimit-remaining``), as sent.
        self.rate_limit: dict[str, str] = {}

    def close(self) -> None:
        self._http.close()

    # -- plumbing ------------------------------------------------------------
    def _record(self, response: httpx.Response) -> None:
        """Count every response, those of auth retries and redirects included."""
        request = response.request
        with self._stats_lock:
            if request.url.netloc.decode("ascii").lower() != self.host.lower():
                self.token_requests += 1
                return
            self.requests[request.method] = self.requests.get(request.method, 0) + 1
            if (
                request.method == "GET"
                and "/manifests/" in request.url.path
                and response.status_code < 300
            ):
                self.manifest_gets += 1
            for header in ("ratelimit-limit", "ratelimit-remaining"):
                if header in response.headers:
                    self.rate_limit[header] = response.headers[header]

    def stats(self) -> dict[str, Any]:
        """What was sent to this registry, for the reports."""
        with self._stats_lock:
            return {
                "requests": dict(sorted(self.requests.items())),
                "manifestGets": self.manifest_gets,
                "tokenRequests": self.token_requests,
                "rateLimit": dict(self.rate_limit),
            }

    def once(self, key: tuple[str, str], fetch: Callable[[], T]) -> T:
        """``fetch()``, unless the same document (repository, digest) is being fetched
        by another thread right now: then wait for that one and share its bytes (they
        are verified by digest either way). Failures are not shared: a waiter whose
        leader failed fetches for itself, so its error names its own reference."""
        with self._inflight_lock:
            waiting = self._inflight.get(key)
            if waiting is None:
                leader: Future[Any] = Future()
                self._inflight[key] = leader
        if waiting is not None:
            try:
                result: T = waiting.result()
            except BaseException:
                return fetch()
            return result
        try:
            value = fetch()
        except BaseException as exc:
            leader.set_exception(exc)
            raise
        else:
            leader.set_result(value)
            return value
        finally:
            with self._inflight_lock:
                del self._inflight[key]

    def _send(
        self, method: str, path: str, headers: dict[str, str], *, what: str
    ) -> httpx.Response:
        """Send a request, streaming; the caller must close the response."""
        while True:
            scheme = self._schemes[0]
            url = f"{scheme}://{self.host}{path}"
            merged = dict(self._headers)
            for name, value in headers.items():
                merged[name.lower()] = (name, value)
            request = httpx.Request(
                method, url, headers=list(merged.values()), extensions={"timeout": self._timeouts}
            )
            try:
                return self._http.send(request, stream=True)
            except AuthenticationError as exc:
                # Raised by the auth flow (token service), which does not know the image.
                if exc.reference is not None:
                    raise
                raise AuthenticationError(
                    f"{what}: {exc}", url=exc.url, status=exc.status, reference=what
                ) from exc
            except httpx.TransportError as exc:
                if isinstance(exc, httpx.ConnectError):
                    refused = certificate_error(exc, host=self.host, url=url, what=what)
                    if refused is not None:
                        raise refused from exc
                    if len(self._schemes) > 1 and scheme == "https":
                        with self._scheme_lock:
                            if self._schemes[0] == "https" and len(self._schemes) > 1:
                                self._schemes.pop(0)
                        continue
                raise connection_error(
                    exc,
                    host=self.host,
                    url=url,
                    what=what,
                    request_timeout=self.options.request_timeout,
                ) from exc

    def _read_capped(self, response: httpx.Response, limit: int, what: str) -> bytes:
        length = response.headers.get("content-length")
        if length and length.isdigit() and int(length) > limit:
            raise TooLargeError(
                f"{what} is {length} bytes, above the {limit}-byte limit; refused without "
                "reading it",
                limit=limit,
                reference=what,
            )
        body = bytearray()
        try:
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > limit:
                    raise TooLargeError(
                        f"{what} is larger than the {limit}-byte limit; refused after "
                        f"{len(body)} bytes",
                        limit=limit,
                        reference=what,
                    )
        except httpx.TransportError as exc:
            raise RegistryUnavailableError(
                f"registry {self.host} broke off the body of {what}: {reason(exc)}",
                url=str(response.request.url),
                reference=what,
            ) from exc
        return bytes(body)

    def _retry(self, attempt: Callable[[], T], deadline: float | None) -> T:
        """``attempt``, retried when transient (``registry.retry``) until ``deadline`` (a
        ``time.monotonic()`` value; default: ``--timeout`` from now)."""
        if deadline is None:
            deadline = time.monotonic() + self.options.timeout
        budget = max(deadline - time.monotonic(), 0.0)
        return retry(attempt, budget=budget, timeout=self.options.timeout, sleep=self._sleep)

    # -- the API -------------------------------------------------------------
    def get_manifest(
        self,
        repository: str,
        ref: str,
        *,
        what: str,
        limit: int = MAX_DOCUMENT_SIZE,
        deadline: float | None = None,
    ) -> Fetched:
        """GET a manifest or index by tag or digest, verified; retried when transient."""
        return self._retry(
            lambda: self._get_manifest(repository, ref, what=what, limit=limit), deadline
        )

    def _get_manifest(self, repository: str, ref: str, *, what: str, limit: int) -> Fetched:
        """GET a manifest or index by tag or digest, verified.

        By digest the body must hash to it; by tag it must hash to the
        ``Docker-Content-Digest`` the registry sent, if any. The digest returned is
        always computed from the bytes.
        """
        path = f"/v2/{repository}/manifests/{ref}"
        response = self._send("GET", path, {"Accept": mt.MANIFEST_ACCEPT}, what=what)
        try:
            check_status(response, host=self.host, what=what, credential=self.auth.credential)
            media_type = _manifest_type(response.headers.get("content-type", ""))
            if media_type in mt.SCHEMA1_TYPES:
                raise UnsupportedMediaTypeError(
                    f"{what} is a Docker schema1 manifest, which is deprecated and not "
                    "supported; push the image again with a current client (schema2 or OCI)",
                    media_type=media_type,
                    reference=what,
                )
            data = self._read_capped(response, limit, what)
        finally:
            response.close()
        announced = response.headers.get("docker-content-digest", "")
        by_digest = ":" in ref
        expected = ref if by_digest else announced
        try:
            algorithm = Digest.parse(expected).algorithm if expected else "sha256"
        except DigestFormatError as exc:
            raise RegistryError(
                f"registry {self.host} sent an invalid Docker-Content-Digest for {what}: {exc}",
                url=str(response.request.url),
                reference=what,
            ) from None
        actual = str(Digest.of(data, algorithm))
        if expected and actual != expected:
            source = "requested" if by_digest else "announced in Docker-Content-Digest"
            raise IntegrityError(
                f"digest mismatch for {what}: {source} {expected}, body hashes to {actual}",
                expected=expected,
                actual=actual,
                reference=what,
            )
        if by_digest and announced and announced != ref:
            raise IntegrityError(
                f"digest mismatch for {what}: requested {ref}, registry announced {announced}",
                expected=ref,
                actual=announced,
                reference=what,
            )
        return Fetched(data, media_type, actual)

    def head_manifest(
        self, repository: str, ref: str, *, what: str, deadline: float | None = None
    ) -> Descriptor | None:
        """HEAD a manifest: its descriptor from the headers, or None if the registry
        sent no ``Docker-Content-Digest``; retried when transient."""
        return self._retry(lambda: self._head_manifest(repository, ref, what=what), deadline)

    def _head_manifest(self, repository: str, ref: str, *, what: str) -> Descriptor | None:
        path = f"/v2/{repository}/manifests/{ref}"
        response = self._send("HEAD", path, {"Accept": mt.MANIFEST_ACCEPT}, what=what)
        try:
            check_status(response, host=self.host, what=what, credential=self.auth.credential)
            # Read the (empty) body: a streamed response closed unread loses its
            # connection, and every warm run would open one connection per HEAD.
            response.read()
        finally:
            response.close()
        digest = response.headers.get("docker-content-digest", "")
        length = response.headers.get("content-length", "")
        if not digest or not length.isdigit():
            return None
        return Descriptor(
            _manifest_type(response.headers.get("content-type", "")), digest, int(length)
        )

    def get_blob(
        self,
        repository: str,
        descriptor: Descriptor,
        *,
        what: str,
        limit: int = MAX_DOCUMENT_SIZE,
        deadline: float | None = None,
    ) -> bytes:
        """GET a blob (a config), size-capped, retried when transient; the caller
        verifies the digest."""
        return self._retry(
            lambda: self._get_blob(repository, descriptor, what=what, limit=limit), deadline
        )

    def _get_blob(self, repository: str, descriptor: Descriptor, *, what: str, limit: int) -> bytes:
        path = f"/v2/{repository}/blobs/{descriptor.digest}"
        response = self._send("GET", path, {}, what=what)
        try:
            check_status(response, host=self.host, what=what, credential=self.auth.credential)
            return self._read_capped(response, limit, what)
        finally:
            response.close()


def _manifest_type(content_type: str) -> str:
    """The media type a ``Content-Type`` header declares for a manifest, or ``""``.

    The header is not covered by any digest. A manifest, index or schema1 type is
    kept (and must then agree with the body's own ``mediaType``); anything else
    (``text/plain``, ``application/octet-stream``, ``application/json``) declares
    nothing, and the verified body's ``mediaType``, or its shape, decides.
    """
    media_type = mt.base(content_type)
    known = mt.MANIFEST_TYPES | mt.INDEX_TYPES | mt.SCHEMA1_TYPES
    return media_type if media_type in known else ""
