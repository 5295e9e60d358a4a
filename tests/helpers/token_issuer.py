"""A small Docker token server for tests (the ``auth: token`` side of a registry).

It implements enough of the Docker token protocol for the CNCF distribution
registry and for real clients such as skopeo:

* ``GET /token?service=S&scope=repository:NAME:pull,push[&scope=...]`` with
  optional Basic credentials (``offline_token=true`` adds a refresh token);
* ``POST /token`` with an OAuth2 form, ``grant_type=password`` or
  ``grant_type=refresh_token``, as ``docker login`` does.

Valid credentials get every action they ask for; anonymous requests get
``pull`` only when ``allow_anonymous_pull`` is set, else 401; wrong
credentials always get 401. Tokens are ES256 (or RS256) JWTs whose key is named
by an ``x5c`` chain (the default), a ``jwk`` header or a ``kid`` equal to the
libtrust fingerprint of the key, all of which distribution 2.8 accepts. The
self-signed certificate is written to :attr:`TokenIssuer.cert_path` for the
registry's ``rootcertbundle``.

The issuer counts what it served (:attr:`TokenIssuer.issued`,
:attr:`TokenIssuer.scopes`, :attr:`TokenIssuer.requests`) so tests can assert
that a client reuses its tokens.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import secrets
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from tests.helpers.service import Service

Algorithm = Literal["ES256", "RS256"]
KeyHeader = Literal["x5c", "jwk", "kid"]

DEFAULT_SERVICE = "manifest-lint-test-registry"
DEFAULT_ISSUER = "manifest-lint-test-issuer"

_PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


@dataclass(frozen=True)
class Access:
    """One entry of the ``access`` claim (and one parsed ``scope``)."""

    type: str
    name: str
    actions: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "name": self.name, "actions": list(self.actions)}


@dataclass(frozen=True)
class TokenRequest:
    """What one request to the issuer asked for and what it got."""

    method: str
    grant_type: str | None
    username: str | None
    service: str | None
    scopes: tuple[str, ...]
    status: int
    granted: tuple[Access, ...] = ()


def parse_scope(scope: str) -> Access | None:
    """``repository:library/busybox:pull,push`` -> Access; None if it is not a scope.

    The name may itself contain ``:`` (``registry:catalog:*`` does not, but a
    name with a port would), so the type is cut at the first colon and the
    actions at the last.
    """
    kind, sep, rest = scope.partition(":")
    name, sep2, actions = rest.rpartition(":")
    if not sep or not sep2 or not kind or not name:
        return None
    return Access(kind, name, tuple(a for a in actions.split(",") if a))


def libtrust_key_id(public_key: Any) -> str:
    """The libtrust fingerprint of a public key, as distribution matches ``kid``.

    SHA-256 of the DER SubjectPublicKeyInfo, truncated to 240 bits, base32,
    in twelve groups of four separated by ``:``.
    """
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    b32 = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
    return ":".join(b32[i : i + 4] for i in range(0, len(b32), 4))


def _make_key(algorithm: Algorithm) -> _PrivateKey:
    if algorithm == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _self_signed(key: _PrivateKey, common_name: str) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )


class TokenIssuer(Service):
    """A Docker token server on 127.0.0.1, in a thread; a context manager.

    ``realm`` is the URL to configure as the registry's ``auth.token.realm``
    and ``cert_path`` its ``rootcertbundle``.
    """

    def __init__(
        self,
        *,
        username: str = "user",
        password: str = "pass",
        service: str = DEFAULT_SERVICE,
        issuer: str = DEFAULT_ISSUER,
        ttl: int = 300,
        allow_anonymous_pull: bool = False,
        algorithm: Algorithm = "ES256",
        key_header: KeyHeader = "x5c",
        directory: Path | None = None,
    ) -> None:
        self.username = username
        self.password = password
        self.service = service
        self.issuer = issuer
        self.ttl = ttl
        self.allow_anonymous_pull = allow_anonymous_pull
        self.algorithm: Algorithm = algorithm
        self.key_header: KeyHeader = key_header
        self._own_dir = directory is None
        self.directory = (
            Path(tempfile.mkdtemp(prefix="manifest-lint-token-"))
            if directory is None
            else directory
        )
        self._key = _make_key(algorithm)
        self._cert = _self_signed(self._key, f"{issuer} signing key")
        self.key_id = libtrust_key_id(self._key.public_key())
        self.cert_path = self.directory / "token-issuer.pem"
        self.cert_path.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))

        self._lock = threading.Lock()
        self._refresh_tokens: dict[str, str] = {}
        self.issued = 0
        self.scopes: list[str] = []
        self.requests: list[TokenRequest] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ----------------------------------------------------------------- lifecycle

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("token issuer is not running")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def realm(self) -> str:
        return f"{self.url}/token"

    def start(self) -> TokenIssuer:
        if self._server is not None:
            return self
        server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="token-issuer",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._own_dir:
            shutil.rmtree(self.directory, ignore_errors=True)

    def reset_counters(self) -> None:
        """Forget what was served so far (``issued``, ``scopes``, ``requests``)."""
        with self._lock:
            self.issued = 0
            self.scopes.clear()
            self.requests.clear()

    # ------------------------------------------------------------------- tokens

    def make_token(
        self,
        access: Iterable[Access] = (),
        *,
        subject: str = "",
        ttl: int | None = None,
        audience: str | None = None,
        issuer: str | None = None,
        key_header: KeyHeader | None = None,
        now: float | None = None,
    ) -> str:
        """Sign a token; tests may call it directly to craft odd tokens.

        distribution 2.8 wants ``aud`` as a string and ``exp`` as an integer.
        """
        issued_at = int(time.time() if now is None else now)
        claims = {
            "iss": self.issuer if issuer is None else issuer,
            "sub": subject,
            "aud": self.service if audience is None else audience,
            "exp": issued_at + (self.ttl if ttl is None else ttl),
            "nbf": issued_at,
            "iat": issued_at,
            "jti": uuid.uuid4().hex,
            "access": [a.to_json() for a in access],
        }
        return jwt.encode(
            claims, self._key, algorithm=self.algorithm, headers=self._headers(key_header)
        )

    def _headers(self, key_header: KeyHeader | None) -> dict[str, Any]:
        mode = self.key_header if key_header is None else key_header
        if mode == "x5c":
            der = self._cert.public_bytes(serialization.Encoding.DER)
            return {"x5c": [base64.b64encode(der).decode()]}
        if mode == "jwk":
            algo = jwt.get_algorithm_by_name(self.algorithm)
            public_jwk = json.loads(algo.to_jwk(self._key.public_key()))
            return {"jwk": public_jwk}
        return {"kid": self.key_id}

    def _grant(self, username: str | None, requested: Sequence[Access]) -> tuple[Access, ...]:
        if username is not None:
            return tuple(requested)
        granted = []
        for access in requested:
            if access.type == "repository" and "pull" in access.actions:
                granted.append(Access(access.type, access.name, ("pull",)))
        return tuple(granted)

    def _record(self, request: TokenRequest) -> None:
        with self._lock:
            self.requests.append(request)
            self.scopes.extend(request.scopes)
            if request.status == HTTPStatus.OK:
                self.issued += 1

    def _issue(self, username: str | None, scopes: Sequence[str], *, offline: bool) -> _Reply:
        requested = [a for a in map(parse_scope, scopes) if a is not None]
        granted = self._grant(username, requested)
        token = self.make_token(granted, subject=username or "")
        body: dict[str, Any] = {
            "token": token,
            "access_token": token,
            "expires_in": self.ttl,
            "issued_at": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
        }
        if offline and username is not None:
            refresh = secrets.token_urlsafe(24)
            with self._lock:
                self._refresh_tokens[refresh] = username
            body["refresh_token"] = refresh
        return _Reply(HTTPStatus.OK, body, granted=granted)

    def _check_basic(self, header: str | None) -> tuple[bool, str | None]:
        """(ok, username): ok is False for malformed or wrong credentials."""
        if not header:
            return True, None
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return False, None
        try:
            user, sep, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False, None
        if not sep:
            return False, None
        return self._check_password(user, password), user

    def _check_password(self, user: str, password: str) -> bool:
        return secrets.compare_digest(user, self.username) and secrets.compare_digest(
            password, self.password
        )


@dataclass
class _Reply:
    status: int
    body: dict[str, Any] = field(default_factory=dict)
    challenge: bool = False
    granted: tuple[Access, ...] = ()


def _split_scopes(values: Sequence[str]) -> tuple[str, ...]:
    # GET sends one ``scope`` parameter per scope; the OAuth2 form joins them with spaces.
    return tuple(s for v in values for s in v.split(" ") if s)


def _make_handler(issuer: TokenIssuer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "manifest-lint-token-issuer/1"
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path != "/token":
                self._send(_Reply(HTTPStatus.NOT_FOUND, {"error": "not found"}))
                return
            query = parse_qs(parts.query)
            scopes = _split_scopes(query.get("scope", []))
            service = query.get("service", [None])[0]
            ok, username = issuer._check_basic(self.headers.get("Authorization"))
            reply = self._decide(ok, username, scopes, offline=_true(query, "offline_token"))
            issuer._record(
                TokenRequest("GET", None, username, service, scopes, reply.status, reply.granted)
            )
            self._send(reply)

        def do_POST(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(length).decode("utf-8", "replace"))
            if parts.path != "/token":
                self._send(_Reply(HTTPStatus.NOT_FOUND, {"error": "not found"}))
                return
            grant = form.get("grant_type", [None])[0]
            scopes = _split_scopes(form.get("scope", []))
            service = form.get("service", [None])[0]
            offline = form.get("access_type", [""])[0] == "offline"
            username: str | None = None
            if grant == "password":
                username = form.get("username", [""])[0]
                ok = issuer._check_password(username, form.get("password", [""])[0])
                reply = self._decide(ok, username, scopes, offline=offline)
            elif grant == "refresh_token":
                refresh = form.get("refresh_token", [""])[0]
                with issuer._lock:
                    username = issuer._refresh_tokens.get(refresh)
                if username is None:
                    reply = _Reply(HTTPStatus.UNAUTHORIZED, {"error": "invalid_grant"})
                else:
                    reply = issuer._issue(username, scopes, offline=False)
                    reply.body["refresh_token"] = refresh
            else:
                reply = _Reply(HTTPStatus.BAD_REQUEST, {"error": "unsupported_grant_type"})
            issuer._record(
                TokenRequest("POST", grant, username, service, scopes, reply.status, reply.granted)
            )
            self._send(reply)

        def _decide(
            self, ok: bool, username: str | None, scopes: Sequence[str], *, offline: bool
        ) -> _Reply:
            if not ok:
                return _Reply(HTTPStatus.UNAUTHORIZED, {"error": "invalid credentials"}, True)
            if username is None and not issuer.allow_anonymous_pull:
                return _Reply(HTTPStatus.UNAUTHORIZED, {"error": "authentication required"}, True)
            return issuer._issue(username, scopes, offline=offline)

        def _send(self, reply: _Reply) -> None:
            data = json.dumps(reply.body).encode()
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if reply.challenge:
                self.send_header("WWW-Authenticate", f'Basic realm="{issuer.issuer}"')
            self.end_headers()
            self.wfile.write(data)

    return Handler


def _true(query: Mapping[str, list[str]], key: str) -> bool:
    return query.get(key, ["false"])[0].lower() in {"1", "true", "yes"}
