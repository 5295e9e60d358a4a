"""What a registry's answer means as an error: HTTP statuses, OCI error bodies and
connection failures, translated into :mod:`manifest_lint.errors` (with the image named).

Every message names the registry host and the image; none carries a credential (an
authentication failure says where the credentials came from, never what they are).
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx

from manifest_lint.errors import (
    AuthenticationError,
    NotFoundError,
    RegistryError,
    RegistryUnavailableError,
)
from manifest_lint.sources.registry.retry import TRANSIENT_STATUSES, parse_retry_after

if TYPE_CHECKING:
    from manifest_lint.sources.registry.credential import Credential


def check_status(
    response: httpx.Response,
    *,
    host: str,
    what: str,
    credential: Callable[[], Credential | None],
) -> None:
    """Raise the error a status of 300 or more means for ``what`` (read from ``host``).

    ``credential`` is asked, on a 401 or 403 only, which credential was refused, so that
    the message can say where it came from."""
    status = response.status_code
    if status < 300:
        return
    response.read()  # (a HEAD's body is empty) so the connection can be reused
    detail = error_detail(response)
    suffix = f" ({detail})" if detail else ""
    url = str(response.request.url)
    if status == 401 or status == 403:
        cred = credential()
        who = (
            f"credentials from {cred.source}"
            if cred and cred.source
            else ("the configured credentials" if cred else "anonymous access")
        )
        raise AuthenticationError(
            f"registry {host} refused {who} for {what}: HTTP {status}{suffix}",
            url=url,
            status=status,
            reference=what,
        )
    if status == 404:
        raise NotFoundError(
            f"{what} not found on {host}: HTTP 404{suffix}",
            url=url,
            status=status,
            reference=what,
        )
    retry_after = parse_retry_after(response.headers.get("retry-after", ""))
    if status == 429:
        limit = response.headers.get("ratelimit-limit", "")
        quota = f", rate limit {limit}" if limit else ""
        raise RegistryUnavailableError(
            f"registry {host} is rate limiting requests for {what}: HTTP 429{suffix}{quota}",
            url=url,
            status=status,
            reference=what,
            retry_after=retry_after,
        )
    if status >= 500:
        raise RegistryUnavailableError(
            f"registry {host} failed for {what}: HTTP {status}{suffix}",
            url=url,
            status=status,
            reference=what,
            transient=status in TRANSIENT_STATUSES,
            retry_after=retry_after,
        )
    raise RegistryError(
        f"registry {host} answered HTTP {status} for {what}{suffix}",
        url=url,
        status=status,
        reference=what,
    )


def error_detail(response: httpx.Response) -> str:
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


def certificate_error(
    exc: httpx.ConnectError, *, host: str, url: str, what: str
) -> RegistryUnavailableError | None:
    """The error for a TLS handshake that failed on the certificate, or None when it
    failed otherwise (a server speaking plain http, for one)."""
    if not certificate_failure(exc):
        return None
    return RegistryUnavailableError(
        f"TLS certificate of registry {host} could not be verified for "
        f"{what}: {reason(exc)} (use --ca-file for a private CA, or "
        "--insecure-registry for a registry you trust without TLS)",
        url=url,
        reference=what,
        transient=False,
    )


def connection_error(
    exc: httpx.TransportError, *, host: str, url: str, what: str, request_timeout: float
) -> RegistryUnavailableError:
    """The error for a request that got no answer: refused, timed out, broken off."""
    if isinstance(exc, httpx.ConnectError):
        message = f"cannot connect to registry {host} for {what}: {reason(exc)}"
    elif isinstance(exc, httpx.TimeoutException):
        message = f"registry {host} timed out for {what} (request time-out {request_timeout:g} s)"
    else:
        message = f"registry {host} failed for {what}: {reason(exc)}"
    return RegistryUnavailableError(message, url=url, reference=what)


def certificate_failure(exc: BaseException) -> bool:
    """The TLS handshake failed on the certificate (not because the server speaks http)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return True
        current = current.__cause__ or current.__context__
    return "CERTIFICATE_VERIFY_FAILED" in str(exc)


def reason(exc: Exception) -> str:
    """The first line of an exception's message (at most 200 characters)."""
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]
