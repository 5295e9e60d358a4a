"""Unit tests of the registry client with ``httpx.MockTransport``: the faults a real
registry will not produce on demand (lying digests, tampered or oversized bodies,
schema1, error bodies, outages), the Bearer flow, redirects and the http fallback.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from manifest_lint.errors import (
    AuthenticationError,
    IntegrityError,
    NotFoundError,
    RegistryError,
    RegistryUnavailableError,
    TooLargeError,
    UnsupportedMediaTypeError,
)
from manifest_lint.image import media_types as mt
from manifest_lint.image.limits import MAX_DOCUMENT_SIZE
from manifest_lint.image.model import Descriptor
from manifest_lint.image.reference import parse_reference
from manifest_lint.sources.cache import Cache
from manifest_lint.sources.load import load_image
from manifest_lint.sources.registry.client import RegistryClient
from manifest_lint.sources.registry.credential import Credential
from manifest_lint.sources.registry.options import RegistryOptions, is_loopback
from manifest_lint.sources.registry.source import RegistrySource

HOST = "registry.example"
REPO = "team/app"
WHAT = f"{HOST}/{REPO}:v1"
MiB = 1024 * 1024

Handler = Callable[[httpx.Request], httpx.Response]


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


CONFIG = json.dumps(
    {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}
).encode()
MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": mt.OCI_MANIFEST,
        "config": {"mediaType": mt.OCI_CONFIG, "digest": sha256(CONFIG), "size": len(CONFIG)},
        "layers": [],
    }
).encode()
DIGEST = sha256(MANIFEST)
OTHER_DIGEST = sha256(b"something else")
CONFIG_DESCRIPTOR = Descriptor(mt.OCI_CONFIG, sha256(CONFIG), len(CONFIG))


def manifest_response(
    body: bytes = MANIFEST, *, digest: str | None = DIGEST, media_type: str = mt.OCI_MANIFEST
) -> httpx.Response:
    headers = {"Content-Type": media_type}
    if digest:
        headers["Docker-Content-Digest"] = digest
    return httpx.Response(200, headers=headers, content=body)


def oci_error(status: int, code: str, message: str) -> httpx.Response:
    body = {"errors": [{"code": code, "message": message, "detail": {}}]}
    return httpx.Response(status, json=body)


#: What a transient failure's message ends with once the retries are spent (5 attempts,
#: since the tests' clients do not really sleep and so never reach the deadline).
GAVE_UP = " (gave up after 5 attempts; --timeout 60 s)"
#: The waits between retries of the clients ``make_client`` built, in order.
SLEEPS: list[float] = []


@pytest.fixture
def make_client() -> Iterator[Callable[..., RegistryClient]]:
    """``make_client(handler, host=HOST, credential=None, **options)``; all closed afterwards."""
    clients: list[RegistryClient] = []

    def make(
        handler: Handler,
        host: str = HOST,
        credential: Credential | None = None,
        **options: object,
    ) -> RegistryClient:
        client = RegistryClient(
            host,
            RegistryOptions(
                transport=httpx.MockTransport(handler),
                credential_lookup=lambda _host: credential,
                **options,  # type: ignore[arg-type]  # the dataclass fields, by name
            ),
        )
        client._sleep = SLEEPS.append  # retries wait in tests too, but not for real
        clients.append(client)
        return client

    SLEEPS.clear()
    yield make
    for client in clients:
        client.close()


# ------------------------------------------------------------------ digests


def test_manifest_by_tag_is_verified_against_docker_content_digest(
    make_client: Callable[..., RegistryClient],
) -> None:
    client = make_client(lambda request: manifest_response(digest=OTHER_DIGEST))
    with pytest.raises(IntegrityError) as excinfo:
        client.get_manifest(REPO, "v1", what=WHAT)
    error = excinfo.value
    assert (error.expected, error.actual) == (OTHER_DIGEST, DIGEST)
    assert str(error) == (
        f"digest mismatch for {WHAT}: announced in Docker-Content-Digest {OTHER_DIGEST}, "
        f"body hashes to {DIGEST}"
    )
    assert error.reference == WHAT


def test_manifest_by_digest_with_a_tampered_body(
    make_client: Callable[..., RegistryClient],
) -> None:
    tampered = MANIFEST.replace(b'"layers": []', b'"layers":  []')
    client = make_client(lambda request: manifest_response(tampered, digest=None))
    with pytest.raises(IntegrityError) as excinfo:
        client.get_manifest(REPO, DIGEST, what=WHAT)
    assert (excinfo.value.expected, excinfo.value.actual) == (DIGEST, sha256(tampered))
    assert f"requested {DIGEST}, body hashes to {sha256(tampered)}" in str(excinfo.value)


def test_manifest_by_digest_announced_as_another_digest(
    make_client: Callable[..., RegistryClient],
) -> None:
    client = make_client(lambda request: manifest_response(digest=OTHER_DIGEST))
    with pytest.raises(IntegrityError) as excinfo:
        client.get_manifest(REPO, DIGEST, what=WHAT)
    assert (excinfo.value.expected, excinfo.value.actual) == (DIGEST, OTHER_DIGEST)


def test_invalid_docker_content_digest(make_client: Callable[..., RegistryClient]) -> None:
    client = make_client(lambda request: manifest_response(digest="md5:abc"))
    with pytest.raises(RegistryError, match="invalid Docker-Content-Digest"):
        client.get_manifest(REPO, "v1", what=WHAT)


@pytest.mark.parametrize("announced", [DIGEST, None])
def test_manifest_by_tag_digest_comes_from_the_bytes(
    make_client: Callable[..., RegistryClient], announced: str | None
) -> None:
    client = make_client(lambda request: manifest_response(digest=announced))
    fetched = client.get_manifest(REPO, "v1", what=WHAT)
    assert (fetched.data, fetched.digest, fetched.media_type) == (MANIFEST, DIGEST, mt.OCI_MANIFEST)


@pytest.mark.parametrize(
    ("announced", "cached"),
    [(DIGEST, False), (None, False), (OTHER_DIGEST, False), (DIGEST, True), (None, True)],
    ids=["header", "no-header", "wrong-header", "header-warm", "no-header-warm"],
)
def test_a_tag_through_the_cache_is_verified_and_named_by_its_bytes(
    make_client: Callable[..., RegistryClient],
    tmp_path: Path,
    announced: str | None,
    cached: bool,
) -> None:
    """With a cache that holds nothing of the repository, a tag is one GET (no HEAD),
    checked against Docker-Content-Digest; what does not match is never stored. With
    one that knows the repository, HEAD first; a HEAD without a digest falls back
    to the same GET."""
    seen: list[tuple[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path))
        response = manifest_response(digest=announced)
        return (
            httpx.Response(200, headers=response.headers) if request.method == "HEAD" else response
        )

    reference = parse_reference(WHAT)
    if cached:
        Cache(tmp_path).add_repository(f"{HOST}/{REPO}")
    cache = Cache(tmp_path)
    source = RegistrySource(make_client(handler), reference, cache)
    tag = ("GET", f"/v2/{REPO}/manifests/v1")
    if announced == OTHER_DIGEST:
        with pytest.raises(IntegrityError, match="announced in Docker-Content-Digest"):
            source.resolve()
        source.close()
        assert seen == [tag]
        assert cache.read(DIGEST) is None
        assert cache.read(OTHER_DIGEST) is None
        assert not Cache(tmp_path).knows(f"{HOST}/{REPO}")
        return
    fetched = source.resolve()
    source.close()
    assert (fetched.data, fetched.digest) == (MANIFEST, DIGEST)
    if not cached:
        assert seen == [tag]
    elif announced:
        assert seen == [("HEAD", tag[1]), ("GET", f"/v2/{REPO}/manifests/{DIGEST}")]
    else:
        assert seen == [("HEAD", tag[1]), tag]
    entry = Cache(tmp_path).read(DIGEST)
    assert entry is not None
    assert entry.documents == {DIGEST: MANIFEST}
    assert Cache(tmp_path).knows(f"{HOST}/{REPO}")


# ------------------------------------------------------------------ size caps


@dataclass
class Body(httpx.SyncByteStream):
    """A response body that counts the chunks read and fails the test if read too far."""

    chunk: bytes
    allowed: int
    read: int = 0
    closed: bool = False

    def __iter__(self) -> Iterator[bytes]:
        while True:
            if self.read >= self.allowed:
                raise AssertionError(f"body read past chunk {self.allowed}")
            self.read += 1
            yield self.chunk

    def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize("kind", ["manifest", "blob"])
def test_content_length_above_the_cap_is_refused_unread(
    make_client: Callable[..., RegistryClient], kind: str
) -> None:
    body = Body(b"{" * MiB, allowed=1)
    size = 5 * MiB
    client = make_client(
        lambda request: httpx.Response(
            200,
            headers={"Content-Length": str(size), "Content-Type": mt.OCI_MANIFEST},
            stream=body,
        )
    )
    fetch: Callable[[], object] = (
        (lambda: client.get_manifest(REPO, "v1", what=WHAT))
        if kind == "manifest"
        else (lambda: client.get_blob(REPO, CONFIG_DESCRIPTOR, what=WHAT))
    )
    with pytest.raises(TooLargeError) as excinfo:
        fetch()
    assert excinfo.value.limit == MAX_DOCUMENT_SIZE == 4 * MiB
    assert str(excinfo.value) == (
        f"{WHAT} is {size} bytes, above the {4 * MiB}-byte limit; refused without reading it"
    )
    assert body.read == 0
    assert body.closed


def test_chunked_body_growing_past_the_cap_is_cut_off(
    make_client: Callable[..., RegistryClient],
) -> None:
    body = Body(b" " * MiB, allowed=6)
    client = make_client(
        lambda request: httpx.Response(200, headers={"Content-Type": mt.OCI_MANIFEST}, stream=body)
    )
    with pytest.raises(TooLargeError) as excinfo:
        client.get_manifest(REPO, "v1", what=WHAT)
    assert body.read == 5  # 4 MiB is allowed; the fifth MiB is one byte too many
    assert body.closed
    assert f"refused after {5 * MiB} bytes" in str(excinfo.value)


def test_body_exactly_at_the_cap_is_read(make_client: Callable[..., RegistryClient]) -> None:
    data = b" " * (MAX_DOCUMENT_SIZE - len(MANIFEST)) + MANIFEST
    client = make_client(lambda request: manifest_response(data, digest=sha256(data)))
    assert len(client.get_manifest(REPO, "v1", what=WHAT).data) == MAX_DOCUMENT_SIZE


# ------------------------------------------------------------------ media types and errors


@pytest.mark.parametrize(
    "content_type",
    [mt.DOCKER_SCHEMA1_SIGNED, mt.DOCKER_SCHEMA1, mt.DOCKER_SCHEMA1 + "; charset=utf-8"],
)
def test_schema1_content_type_is_unsupported(
    make_client: Callable[..., RegistryClient], content_type: str
) -> None:
    body = json.dumps({"schemaVersion": 1, "name": REPO, "tag": "v1", "fsLayers": []}).encode()
    client = make_client(
        lambda request: manifest_response(body, digest=sha256(body), media_type=content_type)
    )
    with pytest.raises(UnsupportedMediaTypeError) as excinfo:
        client.get_manifest(REPO, "v1", what=WHAT)
    assert excinfo.value.media_type == content_type.split(";")[0]
    assert str(excinfo.value) == (
        f"{WHAT} is a Docker schema1 manifest, which is deprecated and not supported; "
        "push the image again with a current client (schema2 or OCI)"
    )


def test_schema1_body_without_its_content_type_is_unsupported(
    make_client: Callable[..., RegistryClient],
) -> None:
    body = json.dumps({"schemaVersion": 1, "name": REPO, "tag": "v1", "fsLayers": []}).encode()
    client = make_client(
        lambda request: manifest_response(body, digest=sha256(body), media_type="application/json")
    )
    reference = parse_reference(WHAT)
    with pytest.raises(UnsupportedMediaTypeError, match="schema1"):
        load_image(reference, RegistrySource(client, reference))


def test_404_names_the_oci_error_code(make_client: Callable[..., RegistryClient]) -> None:
    client = make_client(lambda request: oci_error(404, "MANIFEST_UNKNOWN", "manifest unknown"))
    with pytest.raises(NotFoundError) as excinfo:
        client.get_manifest(REPO, "v1", what=WHAT)
    assert excinfo.value.status == 404
    assert excinfo.value.url == f"https://{HOST}/v2/{REPO}/manifests/v1"
    assert str(excinfo.value) == (
        f"{WHAT} not found on {HOST}: HTTP 404 (MANIFEST_UNKNOWN: manifest unknown)"
    )


def test_404_of_a_blob(make_client: Callable[..., RegistryClient]) -> None:
    client = make_client(lambda request: oci_error(404, "BLOB_UNKNOWN", "blob unknown to registry"))
    with pytest.raises(NotFoundError, match=r"HTTP 404 \(BLOB_UNKNOWN: blob unknown to registry\)"):
        client.get_blob(REPO, CONFIG_DESCRIPTOR, what=WHAT)


@pytest.mark.parametrize(
    ("response", "text"),
    [
        (
            httpx.Response(503, text="<html>down</html>"),
            f"registry {HOST} failed for {WHAT}: HTTP 503{GAVE_UP}",
        ),
        (
            oci_error(500, "UNKNOWN", "unknown error"),
            f"registry {HOST} failed for {WHAT}: HTTP 500 (UNKNOWN: unknown error)",
        ),
        (
            oci_error(429, "TOOMANYREQUESTS", "slow down"),
            f"registry {HOST} is rate limiting requests for {WHAT}: HTTP 429 "
            f"(TOOMANYREQUESTS: slow down){GAVE_UP}",
        ),
    ],
)
def test_server_errors_mean_unavailable(
    make_client: Callable[..., RegistryClient], response: httpx.Response, text: str
) -> None:
    client = make_client(lambda request: response)
    with pytest.raises(RegistryUnavailableError) as excinfo:
        client.get_manifest(REPO, "v1", what=WHAT)
    assert excinfo.value.status == response.status_code
    assert str(excinfo.value) == text


def test_connection_failure_means_unavailable(make_client: Callable[..., RegistryClient]) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    client = make_client(refuse)
    with pytest.raises(RegistryUnavailableError) as excinfo:
        client.get_manifest(REPO, "v1", what=WHAT)
    assert str(excinfo.value) == (
        f"cannot connect to registry {HOST} for {WHAT}: [Errno 111] Connection refused{GAVE_UP}"
    )
    assert excinfo.value.status is None


def test_accept_header_lists_all_four_manifest_types(
    make_client: Callable[..., RegistryClient],
) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return manifest_response()

    client = make_client(handler)
    client.get_manifest(REPO, "v1", what=WHAT)
    client.head_manifest(REPO, "v1", what=WHAT)
    for request in seen:
        accepted = {part.strip() for part in request.headers["Accept"].split(",")}
        assert accepted == {
            mt.OCI_INDEX,
            mt.OCI_MANIFEST,
            mt.DOCKER_MANIFEST_LIST,
            mt.DOCKER_MANIFEST,
        }
        assert request.headers["User-Agent"].startswith("manifest-lint/")
    assert [r.method for r in seen] == ["GET", "HEAD"]
    assert client.manifest_gets == 1


# ------------------------------------------------------------------ authentication

TOKEN = "tok-0123456789"
SCOPE = f"repository:{REPO}:pull"


def bearer_challenge(realm: str = "https://auth.example/token") -> httpx.Response:
    header = f'Bearer realm="{realm}",service="{HOST}",scope="{SCOPE}"'
    response = oci_error(401, "UNAUTHORIZED", "authentication required")
    response.headers["WWW-Authenticate"] = header
    return response


@dataclass
class Recorder:
    """A mock world of several hosts: a registry wanting a token, its realm, and a CDN."""

    realm: str = "https://auth.example/token"
    basic: tuple[str, str] | None = None
    redirect_blobs_to: str = ""
    requests: dict[str, list[httpx.Request]] = field(default_factory=dict)
    #: The Authorization header of each request as it was sent (the auth flow
    #: re-sends the same request object with a header added).
    authorization: dict[str, list[str | None]] = field(default_factory=dict)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        host = request.url.netloc.decode()
        self.requests.setdefault(host, []).append(request)
        self.authorization.setdefault(host, []).append(request.headers.get("Authorization"))
        if host == "auth.example" or request.url.path == "/token":
            return httpx.Response(200, json={"token": TOKEN, "expires_in": 300})
        if host == "cdn.example":
            return httpx.Response(200, content=CONFIG)
        authorization = request.headers.get("Authorization", "")
        if self.basic is not None:
            wanted = "Basic " + base64.b64encode(":".join(self.basic).encode()).decode()
            if authorization != wanted:
                response = oci_error(401, "UNAUTHORIZED", "authentication required")
                response.headers["WWW-Authenticate"] = 'Basic realm="registry"'
                return response
        elif authorization != f"Bearer {TOKEN}":
            return bearer_challenge(self.realm)
        if "/blobs/" in request.url.path:
            if self.redirect_blobs_to:
                return httpx.Response(307, headers={"Location": self.redirect_blobs_to})
            return httpx.Response(200, content=CONFIG)
        return manifest_response()

    def on(self, host: str) -> list[httpx.Request]:
        return self.requests.get(host, [])


def test_bearer_token_is_fetched_once_and_reused(
    make_client: Callable[..., RegistryClient],
) -> None:
    world = Recorder()
    client = make_client(world)
    client.get_manifest(REPO, "v1", what=WHAT)
    client.get_manifest(REPO, DIGEST, what=WHAT)
    assert client.get_blob(REPO, CONFIG_DESCRIPTOR, what=WHAT) == CONFIG

    (token_request,) = world.on("auth.example")
    assert token_request.method == "GET"
    assert dict(token_request.url.params) == {"service": HOST, "scope": SCOPE}
    assert "Authorization" not in token_request.headers  # anonymous
    assert client.auth.token_requests == [SCOPE]
    # One 401, then every request carries the token.
    assert world.authorization[HOST] == [None] + [f"Bearer {TOKEN}"] * 3


def test_bearer_token_request_carries_basic_credentials(
    make_client: Callable[..., RegistryClient],
) -> None:
    world = Recorder()
    client = make_client(world, credential=Credential("alice", "pa55word", source="test"))
    client.get_manifest(REPO, "v1", what=WHAT)
    (token_request,) = world.on("auth.example")
    expected = "Basic " + base64.b64encode(b"alice:pa55word").decode()
    assert token_request.headers["Authorization"] == expected
    # The password goes to the realm only: never to the registry itself.
    assert world.authorization[HOST] == [None, f"Bearer {TOKEN}"]


def test_identity_token_uses_the_refresh_token_grant(
    make_client: Callable[..., RegistryClient],
) -> None:
    world = Recorder()
    client = make_client(world, credential=Credential(identity_token="refresh-me", source="test"))
    client.get_manifest(REPO, "v1", what=WHAT)
    (token_request,) = world.on("auth.example")
    assert token_request.method == "POST"
    form = dict(httpx.QueryParams(token_request.content.decode()))
    assert form["grant_type"] == "refresh_token"
    assert form["refresh_token"] == "refresh-me"
    assert form["scope"] == SCOPE
    assert form["service"] == HOST


@pytest.mark.parametrize("mode", ["bearer", "basic"])
def test_authorization_is_not_sent_to_a_redirect_target_on_another_host(
    make_client: Callable[..., RegistryClient], mode: str
) -> None:
    world = Recorder(redirect_blobs_to="https://cdn.example/blobs/config?signature=abc")
    if mode == "basic":
        world.basic = ("alice", "pa55word")
    client = make_client(world, credential=Credential("alice", "pa55word", source="test"))
    assert client.get_blob(REPO, CONFIG_DESCRIPTOR, what=WHAT) == CONFIG

    first, second = world.authorization[HOST]
    assert first is None
    assert second is not None
    assert second.startswith("Bearer " if mode == "bearer" else "Basic ")
    (cdn_request,) = world.on("cdn.example")
    assert world.authorization["cdn.example"] == [None]
    assert cdn_request.url.params["signature"] == "abc"


def test_plain_http_token_realm_on_a_remote_host_is_refused(
    make_client: Callable[..., RegistryClient],
) -> None:
    world = Recorder(realm="http://auth.example/token")
    client = make_client(world, credential=Credential("alice", "pa55word", source="test"))
    with pytest.raises(AuthenticationError) as excinfo:
        client.get_manifest(REPO, "v1", what=WHAT)
    assert "over plain http; refused" in str(excinfo.value)
    assert "pa55word" not in str(excinfo.value)
    assert world.on("auth.example") == []  # the credentials never left


@pytest.mark.parametrize(
    ("realm", "insecure"),
    [
        ("http://127.0.0.1:8081/token", frozenset()),
        ("http://localhost:8081/token", frozenset()),
        ("http://auth.example/token", frozenset({"auth.example"})),
    ],
)
def test_plain_http_token_realm_allowed_for_loopback_or_insecure_hosts(
    make_client: Callable[..., RegistryClient], realm: str, insecure: frozenset[str]
) -> None:
    world = Recorder(realm=realm)
    client = make_client(world, insecure_registries=insecure)
    assert client.get_manifest(REPO, "v1", what=WHAT).digest == DIGEST
    realm_host = httpx.URL(realm).netloc.decode()
    assert len(world.on(realm_host)) == 1


def test_token_service_refusal_is_an_authentication_error(
    make_client: Callable[..., RegistryClient],
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.example":
            return httpx.Response(401, json={"details": "incorrect username or password"})
        return bearer_challenge()

    client = make_client(handler, credential=Credential("alice", "wrong", source="a file"))
    with pytest.raises(AuthenticationError) as excinfo:
        client.get_manifest(REPO, "v1", what=WHAT)
    assert excinfo.value.status == 401
    assert "credentials from a file" in str(excinfo.value)
    assert "wrong" not in str(excinfo.value)


# ------------------------------------------------------------------ loopback and http fallback


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("localhost", True),
        ("LOCALHOST:5000", True),
        ("localhost:5000", True),
        ("127.0.0.1", True),
        ("127.0.0.5:5000", True),
        ("[::1]:5000", True),
        ("[::1]", True),
        ("::1", True),
        ("10.0.0.1", False),
        ("10.0.0.1:5000", False),
        ("example.com", False),
        ("example.com:5000", False),
        ("localhost.example.com", False),
        ("[2001:db8::1]:5000", False),
    ],
)
def test_is_loopback(host: str, expected: bool) -> None:
    assert is_loopback(host) is expected


@dataclass
class HttpOnly:
    """A registry that speaks plain http only: https connections fail."""

    schemes: list[str] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.schemes.append(request.url.scheme)
        if request.url.scheme == "https":
            raise httpx.ConnectError("[SSL: WRONG_VERSION_NUMBER] wrong version number")
        return manifest_response()


@pytest.mark.parametrize(
    ("host", "insecure"),
    [
        ("127.0.0.1:5000", frozenset()),
        ("localhost:5000", frozenset()),
        ("[::1]:5000", frozenset()),
        ("registry.internal:5000", frozenset({"registry.internal:5000"})),
    ],
)
def test_http_fallback_for_loopback_and_insecure_hosts(
    make_client: Callable[..., RegistryClient], host: str, insecure: frozenset[str]
) -> None:
    world = HttpOnly()
    client = make_client(world, host=host, insecure_registries=insecure)
    assert client.get_manifest(REPO, "v1", what=WHAT).digest == DIGEST
    assert client.get_manifest(REPO, DIGEST, what=WHAT).digest == DIGEST
    # https first, as docker does; once it fails, http for good.
    assert world.schemes == ["https", "http", "http"]


@pytest.mark.parametrize("host", ["registry.example", "10.0.0.1:5000", "registry.internal:5000"])
def test_no_http_fallback_for_other_hosts(
    make_client: Callable[..., RegistryClient], host: str
) -> None:
    world = HttpOnly()
    client = make_client(world, host=host, insecure_registries=frozenset({"registry.internal"}))
    with pytest.raises(RegistryUnavailableError, match=f"cannot connect to registry {host}"):
        client.get_manifest(REPO, "v1", what=WHAT)
    assert set(world.schemes) == {"https"}
