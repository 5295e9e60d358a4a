"""Registry authentication as an ``httpx.Auth`` flow.

The flow answers a ``401`` with a ``WWW-Authenticate`` challenge:

* ``Bearer realm=...,service=...,scope=...``: asks the realm for a token with
  ``repository:NAME:pull`` scope (anonymously, with Basic credentials, or with an
  identity token through the OAuth2 ``refresh_token`` grant), caches it per scope
  until it expires, and retries the request once with it; requests that meet the
  challenge together wait for one token request, not one each, and once the host
  sent a challenge, the token of a new scope is asked for before its first
  request rather than after a ``401`` that would repeat it;
* ``Basic``: retries with the username and password, and sends them up front
  from then on.

Credentials go only to the registry host they belong to, and to the token realm
that host names (which must be https unless it is a loopback or insecure host).
"""

from __future__ import annotations

import base64
import re
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

import httpx

from manifest_lint.errors import AuthenticationError
from manifest_lint.sources.registry.credential import Credential

_PATH_SCOPE = re.compile(r"^/v2/(.+?)/(?:manifests|blobs|tags|referrers)(?:/|$)")
_PARAM = re.compile(r'\s*([A-Za-z0-9_.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?')
#: Seconds before expiry at which a cached token is no longer used.
EXPIRY_MARGIN = 5.0
#: Docker's default lifetime when a token response gives none.
DEFAULT_TOKEN_LIFETIME = 60


@dataclass(frozen=True)
class Challenge:
    scheme: str
    params: dict[str, str]


def parse_challenge(header: str) -> Challenge | None:
    """Parse one ``WWW-Authenticate`` challenge (``Bearer realm="...",service="..."``)."""
    header = header.strip()
    if not header:
        return None
    scheme, _, rest = header.partition(" ")
    params: dict[str, str] = {}
    pos = 0
    while pos < len(rest):
        match = _PARAM.match(rest, pos)
        if not match or match.end() == pos:
            break
        value = match.group(2) if match.group(2) is not None else match.group(3)
        params[match.group(1).lower()] = re.sub(r"\\(.)", r"\1", value or "")
        pos = match.end()
    return Challenge(scheme.lower(), params)


def scope_for(path: str) -> str:
    """The pull scope a registry URL path needs (``repository:NAME:pull``), or ``""``."""
    match = _PATH_SCOPE.match(path)
    return f"repository:{match.group(1)}:pull" if match else ""


def _basic_header(credential: Credential) -> str:
    raw = f"{credential.username}:{credential.password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


@dataclass
class _Token:
    value: str
    expires: float


class RegistryAuth(httpx.Auth):
    """Authentication for one registry host. Thread-safe; one instance per client."""

    def __init__(
        self,
        host: str,
        credential: Callable[[], Credential | None],
        *,
        allow_http_realm: Callable[[str], bool] = lambda _host: False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.host = host.lower()
        self._credential_source = credential
        self._credential: Credential | None = None
        self._credential_loaded = False
        self._allow_http_realm = allow_http_realm
        self._clock = clock
        self._tokens: dict[str, _Token] = {}
        #: Held by the thread asking the token service for a scope.
        self._fetching: dict[str, threading.Lock] = {}
        #: The host's last Bearer challenge (its realm and service apply to every scope).
        self._challenge: Challenge | None = None
        self._basic = False
        self._lock = threading.Lock()
        #: Token requests made, by scope: lets tests and reports see token reuse.
        self.token_requests: list[str] = []

    # -- helpers -------------------------------------------------------------
    def _for_us(self, url: httpx.URL) -> bool:
        netloc = url.netloc.decode("ascii").lower()
        return netloc == self.host or (url.host == self.host)

    def credential(self) -> Credential | None:
        with self._lock:
            if not self._credential_loaded:
                self._credential = self._credential_source()
                self._credential_loaded = True
            return self._credential

    def _scope_lock(self, scope: str) -> threading.Lock:
        with self._lock:
            return self._fetching.setdefault(scope, threading.Lock())

    def _cached(self, scope: str) -> str | None:
        with self._lock:
            token = self._tokens.get(scope)
            if token and token.expires - EXPIRY_MARGIN > self._clock():
                return token.value
            return None

    # -- the flow ------------------------------------------------------------
    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if not self._for_us(request.url):
            # Never attach credentials to a request for another host.
            yield request
            return
        scope = scope_for(request.url.path)
        token = self._cached(scope)
        known = self._challenge
        if token is None and scope and known is not None:
            # The host already said where its tokens come from: ask for this scope's
            # before the request, not after a 401 that would only say it again.
            with self._scope_lock(scope):
                token = self._cached(scope)
                if token is None:
                    token_request = self._token_request(known, scope)
                    token_response = yield token_request
                    token_response.read()
                    token = self._accept_token(token_response, token_request, scope)
        if token is not None:
            request.headers["Authorization"] = f"Bearer {token}"
        elif self._basic:
            credential = self.credential()
            if credential and credential.username:
                request.headers["Authorization"] = _basic_header(credential)
        response = yield request
        if response.status_code != 401:
            return
        challenge = parse_challenge(response.headers.get("www-authenticate", ""))
        if challenge is None:
            return
        if challenge.scheme == "basic":
            credential = self.credential()
            if credential is None or not credential.username or "Authorization" in request.headers:
                return  # nothing (new) to offer: the 401 stands
            self._basic = True
            request.headers["Authorization"] = _basic_header(credential)
            yield request
            return
        if challenge.scheme != "bearer":
            return
        with self._lock:
            self._challenge = challenge
        # One token request per scope at a time: requests that met the challenge
        # together (a run's references of one repository start together) wait for
        # the one that asks, then use its token. (httpx closes the flow when it ends
        # or fails, which releases the lock.)
        with self._scope_lock(scope):
            value = self._cached(scope)
            if value is None or value == token:  # none yet, or the one just refused
                token_request = self._token_request(
                    challenge, scope or challenge.params.get("scope", "")
                )
                token_response = yield token_request
                token_response.read()
                value = self._accept_token(token_response, token_request, scope)
        request.headers["Authorization"] = f"Bearer {value}"
        yield request

    # -- tokens --------------------------------------------------------------
    def _token_request(self, challenge: Challenge, scope: str) -> httpx.Request:
        realm = challenge.params.get("realm", "")
        try:
            url = httpx.URL(realm)
        except httpx.InvalidURL as exc:
            raise AuthenticationError(
                f"registry {self.host} named an invalid token realm {realm!r}"
            ) from exc
        if url.scheme not in ("https", "http") or not url.host:
            raise AuthenticationError(
                f"registry {self.host} named an invalid token realm {realm!r}"
            )
        if url.scheme == "http" and not self._allow_http_realm(url.netloc.decode("ascii")):
            raise AuthenticationError(
                f"registry {self.host} asked for a token from {realm}, over plain http; "
                "refused (use --insecure-registry for that host if this is intended)",
                url=realm,
            )
        service = challenge.params.get("service", "")
        credential = self.credential()
        headers = {"Accept": "application/json"}
        if credential is not None and credential.identity_token:
            form = {
                "grant_type": "refresh_token",
                "refresh_token": credential.identity_token,
                "service": service,
                "scope": scope,
                "client_id": "manifest-lint",
            }
            return httpx.Request("POST", url, data=form, headers=headers)
        params = {k: v for k, v in (("service", service), ("scope", scope)) if v}
        if credential is not None and credential.username:
            headers["Authorization"] = _basic_header(credential)
        return httpx.Request("GET", url.copy_merge_params(params), headers=headers)

    def _accept_token(self, response: httpx.Response, request: httpx.Request, scope: str) -> str:
        realm = str(request.url.copy_with(query=None))
        if response.status_code in (401, 403):
            credential = self.credential()
            who = (
                f"credentials from {credential.source}"
                if credential and credential.source
                else ("the configured credentials" if credential else "anonymous access")
            )
            raise AuthenticationError(
                f"token service {realm} refused {who} for {scope or 'the registry'} "
                f"on registry {self.host} (HTTP {response.status_code})",
                url=realm,
                status=response.status_code,
            )
        if response.status_code != 200:
            raise AuthenticationError(
                f"token service {realm} answered HTTP {response.status_code}",
                url=realm,
                status=response.status_code,
            )
        try:
            body: Any = response.json()
        except ValueError as exc:
            raise AuthenticationError(
                f"token service {realm} did not answer with JSON", url=realm
            ) from exc
        value = body.get("token") or body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(value, str) or not value:
            raise AuthenticationError(f"token service {realm} sent no token", url=realm)
        lifetime = body.get("expires_in", DEFAULT_TOKEN_LIFETIME)
        if isinstance(lifetime, bool) or not isinstance(lifetime, int | float) or lifetime <= 0:
            lifetime = DEFAULT_TOKEN_LIFETIME
        with self._lock:
            self._tokens[scope] = _Token(value, self._clock() + float(lifetime))
            self.token_requests.append(scope)
        return value
