"""The OCI distribution API over httpx: manifests and blobs, verified and size-capped.

One :class:`RegistryClient` per registry host, each with its own connection
pool and token cache; :class:`Registries` hands them out by host.
"""

from __future__ import annotations

import functools
import json
import ssl
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from manifest_lint import __version__

if TYPE_CHECKING:
    import tenacity
from manifest_lint.errors import (
    AuthenticationError,
    IntegrityError,
    NotFoundError,
    NotLocal,
    RegistryError,
    RegistryUnavailableError,
    TooLargeError,
    UnsupportedMediaTypeError,
)
from manifest_lint.image import media_types as mt
from manifest_lint.image.digest import Digest, DigestFormatError
from manifest_lint.image.limits import MAX_DOCUMENT_SIZE
from manifest_lint.image.model import Descriptor
from manifest_lint.image.reference import Reference
from manifest_lint.sources.base import Fetched
from manifest_lint.sources.cache import Cache, Entry
from manifest_lint.sources.load import verify
from manifest_lint.sources.registry.auth import RegistryAuth
from manifest_lint.sources.registry.credentials import find_credential
from manifest_lint.sources.registry.registries import Registries, RegistryOptions, is_loopback
from manifest_lint.sources.registry.tls import verified_context
from manifest_lint.sources.registry.transport import StdlibTransport, proxy_applies

__all__ = [
    "USER_AGENT",
    "Registries",
    "RegistryClient",
    "RegistryOptions",
    "RegistrySource",
    "is_loopback",
    "parse_retry_after",
    "ssl_context",
]

USER_AGENT = f"manifest-lint/{__version__}"
T = TypeVar("T")


def ssl_context(options: RegistryOptions) -> ssl.SSLContext:
    """The CAs registries are verified with (``registry.tls.verified_context``)."""
    return verified_context(options.ca_file)


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


def _error_detail(response: httpx.Response) -> str:
    """The first error of an OCI error body (``{"errors": [{"code", "message"}]}``)."""
    try:
        body: Any = response.json()
        first = body["errors"][0]
        text = f"{first.get('code', '')}: {first.get('message', '')}".strip(": ")
    except Exception:
        return ""
    # The registry's words go into messages and reports: a lone surrogate ("\ud800" in
    # the JSON) could not be written to any of them, so it is written as an escape.
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


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
            else (tls() if tls is not None else ssl_context(options))
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
            except httpx.ConnectError as exc:
                if _certificate_failure(exc):
                    raise RegistryUnavailableError(
                        f"TLS certificate of registry {self.host} could not be verified for "
                        f"{what}: {_reason(exc)} (use --ca-file for a private CA, or "
                        "--insecure-registry for a registry you trust without TLS)",
                        url=url,
                        reference=what,
                        transient=False,
                    ) from exc
                if len(self._schemes) > 1 and scheme == "https":
                    with self._scheme_lock:
                        if self._schemes[0] == "https" and len(self._schemes) > 1:
                            self._schemes.pop(0)
                    continue
                raise RegistryUnavailableError(
                    f"cannot connect to registry {self.host} for {what}: {_reason(exc)}",
                    url=url,
                    reference=what,
                ) from exc
            except httpx.TimeoutException as exc:
                raise RegistryUnavailableError(
                    f"registry {self.host} timed out for {what} "
                    f"(request time-out {self.options.request_timeout:g} s)",
                    url=url,
                    reference=what,
                ) from exc
            except httpx.TransportError as exc:
                raise RegistryUnavailableError(
                    f"registry {self.host} failed for {what}: {_reason(exc)}",
                    url=url,
                    reference=what,
                ) from exc

    def _check_status(self, response: httpx.Response, what: str) -> None:
        status = response.status_code
        if status < 300:
            return
        response.read()  # (a HEAD's body is empty) so the connection can be reused
        detail = _error_detail(response)
        suffix = f" ({detail})" if detail else ""
        url = str(response.request.url)
        if status == 401 or status == 403:
            cred = self.auth.credential()
            who = (
                f"credentials from {cred.source}"
                if cred and cred.source
                else ("the configured credentials" if cred else "anonymous access")
            )
            raise AuthenticationError(
                f"registry {self.host} refused {who} for {what}: HTTP {status}{suffix}",
                url=url,
                status=status,
                reference=what,
            )
        if status == 404:
            raise NotFoundError(
                f"{what} not found on {self.host}: HTTP 404{suffix}",
                url=url,
                status=status,
                reference=what,
            )
        retry_after = parse_retry_after(response.headers.get("retry-after", ""))
        if status == 429:
            limit = response.headers.get("ratelimit-limit", "")
            quota = f", rate limit {limit}" if limit else ""
            raise RegistryUnavailableError(
                f"registry {self.host} is rate limiting requests for {what}: "
                f"HTTP 429{suffix}{quota}",
                url=url,
                status=status,
                reference=what,
                retry_after=retry_after,
            )
        if status >= 500:
            raise RegistryUnavailableError(
                f"registry {self.host} failed for {what}: HTTP {status}{suffix}",
                url=url,
                status=status,
                reference=what,
                transient=status in TRANSIENT_STATUSES,
                retry_after=retry_after,
            )
        raise RegistryError(
            f"registry {self.host} answered HTTP {status} for {what}{suffix}",
            url=url,
            status=status,
            reference=what,
        )

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
                f"registry {self.host} broke off the body of {what}: {_reason(exc)}",
                url=str(response.request.url),
                reference=what,
            ) from exc
        return bytes(body)

    # -- retries -------------------------------------------------------------
    def _retry(self, attempt: Callable[[], T], what: str, deadline: float | None) -> T:
        """Run ``attempt`` until it succeeds, retrying transient failures with
        exponential backoff and jitter (or the server's ``Retry-After``), until
        ``deadline`` (a ``time.monotonic()`` value; default: ``--timeout`` from now)."""
        if deadline is None:
            deadline = time.monotonic() + self.options.timeout
        budget = max(deadline - time.monotonic(), 0.0)
        try:
            # Nearly every request succeeds at once: no retry machinery for those.
            return attempt()
        except RegistryUnavailableError as exc:
            if not exc.transient:
                raise
            first: list[RegistryUnavailableError] = [exc]

        def again() -> T:
            """Attempt 1 is the failure just seen (so waits and counts stay exact)."""
            if first:
                raise first.pop()
            return attempt()

        import tenacity  # (only when an attempt failed: start-up does not pay for it)

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(_is_transient),
            wait=_wait,
            stop=tenacity.stop_before_delay(budget) | tenacity.stop_after_attempt(MAX_ATTEMPTS),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            return retrying(again)
        except RegistryUnavailableError as exc:
            attempts = retrying.statistics.get("attempt_number", 1)
            # A single attempt is worth a note too when the server asked for a wait that
            # would pass the deadline: the message must say why it was not retried.
            if not exc.transient or (attempts <= 1 and exc.retry_after is None):
                raise
            note = f" (gave up after {attempts} attempt{'s' if attempts != 1 else ''}"
            if exc.retry_after is not None:
                note += f"; the registry asked to wait {exc.retry_after:g} s"
            note += f"; --timeout {self.options.timeout:g} s)"
            raise RegistryUnavailableError(
                str(exc) + note,
                url=exc.url,
                status=exc.status,
                reference=exc.reference,
                retry_after=exc.retry_after,
            ) from exc

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
            lambda: self._get_manifest(repository, ref, what=what, limit=limit), what, deadline
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
            self._check_status(response, what)
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
        return self._retry(lambda: self._head_manifest(repository, ref, what=what), what, deadline)

    def _head_manifest(self, repository: str, ref: str, *, what: str) -> Descriptor | None:
        path = f"/v2/{repository}/manifests/{ref}"
        response = self._send("HEAD", path, {"Accept": mt.MANIFEST_ACCEPT}, what=what)
        try:
            self._check_status(response, what)
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
            lambda: self._get_blob(repository, descriptor, what=what, limit=limit), what, deadline
        )

    def _get_blob(self, repository: str, descriptor: Descriptor, *, what: str, limit: int) -> bytes:
        path = f"/v2/{repository}/blobs/{descriptor.digest}"
        response = self._send("GET", path, {}, what=what)
        try:
            self._check_status(response, what)
            return self._read_capped(response, limit, what)
        finally:
            response.close()


MAX_ATTEMPTS = 5
TRANSIENT_STATUSES = frozenset({502, 503, 504})
#: Longest wait between attempts when the server does not say (seconds).
MAX_BACKOFF = 8.0


@functools.cache
def _backoff() -> Callable[[tenacity.RetryCallState], float]:
    import tenacity

    return tenacity.wait_exponential_jitter(multiplier=0.1, max=MAX_BACKOFF, jitter=0.2)


def _is_transient(exc: BaseException) -> bool:
    return isinstance(exc, RegistryUnavailableError) and exc.transient


def _wait(state: tenacity.RetryCallState) -> float:
    """The server's ``Retry-After`` when it sent one, else exponential backoff with jitter."""
    exc = state.outcome.exception() if state.outcome is not None else None
    if isinstance(exc, RegistryUnavailableError) and exc.retry_after is not None:
        return exc.retry_after
    return float(_backoff()(state))


def parse_retry_after(value: str, now: datetime | None = None) -> float | None:
    """``Retry-After`` in seconds: delta-seconds or an HTTP-date; None when absent or bad."""
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        import email.utils

        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


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


def _certificate_failure(exc: BaseException) -> bool:
    """The TLS handshake failed on the certificate (not because the server speaks http)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return True
        current = current.__cause__ or current.__context__
    return "CERTIFICATE_VERIFY_FAILED" in str(exc)


def _reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]


class RegistrySource:
    """A :class:`~manifest_lint.sources.base.Source` for one reference in a registry.

    With a cache, a tag is resolved with ``HEAD`` (which Docker Hub does not count
    as a pull) and content is read from the cache's entry for that digest when it
    is there; a cached digest reference needs no request at all. What had to be
    fetched is written to the cache when the source is closed, as one entry for
    the image. Without a cache, a tag is fetched with one ``GET``.
    """

    def __init__(
        self, client: RegistryClient, reference: Reference, cache: Cache | None = None
    ) -> None:
        self.client = client
        self.reference = reference
        self.cache = cache
        self.what = str(reference)
        #: Everything for this reference, retries included, must be done by then.
        self.deadline = time.monotonic() + client.options.timeout
        self._entry: Entry | None = None
        #: The image's digest and the verified documents read for it, for the cache.
        self._top = ""
        self._documents: dict[str, bytes] = {}
        self._fetched = False
        #: Set while the image is read where no request should be sent (the reporting
        #: thread, see ``runner``): a document the entry lacks raises NotLocal.
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
        if self.cache is not None:
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
        fetched = self.client.get_manifest(repository, tag, what=self.what, deadline=self.deadline)
        self._top = fetched.digest
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


def _declared_type(data: bytes) -> str:
    """The ``mediaType`` a cached manifest declares, or ``""`` (then its shape decides)."""
    try:
        value = json.loads(data).get("mediaType", "")
    except (ValueError, AttributeError, RecursionError):
        return ""
    return mt.base(value) if isinstance(value, str) else ""
