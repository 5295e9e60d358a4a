"""The test infrastructure works against the real registry, checked by raw HTTP and skopeo."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import subprocess
import tarfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from tests.helpers.images import (
    CASES,
    FOREIGN_LAYER_MEDIA_TYPES,
    MANIFEST_ACCEPT,
    REF_NAME,
    Built,
    PushedCase,
    PushError,
    RegistryAuth,
    push,
    write_layout,
    write_layout_archive,
)
from tests.helpers.registry_server import (
    DEFAULT_PASSWORD,
    DEFAULT_USERNAME,
    RegistryServer,
    RegistryStartError,
)
from tests.helpers.token_issuer import Access, libtrust_key_id

pytestmark = pytest.mark.registry

USERNAME, PASSWORD = DEFAULT_USERNAME, DEFAULT_PASSWORD


def _get_manifest(
    server: RegistryServer, repo: str, ref: str, auth: httpx.Auth | None = None
) -> httpx.Response:
    return httpx.get(
        f"{server.url}/v2/{repo}/manifests/{ref}",
        headers={"Accept": MANIFEST_ACCEPT},
        auth=auth,
    )


def _assert_manifest(response: httpx.Response, built: Built) -> None:
    assert response.status_code == 200, response.text
    assert response.content == built.data
    assert response.headers["Docker-Content-Digest"] == built.digest
    assert response.headers["Content-Type"] == built.media_type


def _split(reference: str) -> tuple[str, str]:
    """``127.0.0.1:PORT/repo:tag`` -> (repo, tag)."""
    _, _, rest = reference.partition("/")
    repo, _, tag = rest.rpartition(":")
    return repo, tag


def _skopeo_raw(skopeo: str, *args: str) -> bytes:
    proc = subprocess.run(
        [skopeo, "--insecure-policy", "inspect", "--raw", *args],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout


# ------------------------------------------------------------------ builders (no server)


@pytest.mark.parametrize("name", sorted(CASES))
def test_cases_are_deterministic_and_consistent(name: str) -> None:
    built = CASES[name]()
    assert CASES[name]().data == built.data
    assert built.facts is not None
    assert hashlib.sha256(built.data).hexdigest() == built.digest.removeprefix("sha256:")
    for digest, blob in built.contents.items():
        assert hashlib.sha256(blob.data).hexdigest() == digest.removeprefix("sha256:")
    images = built.images if built.is_index else (built,)
    assert tuple(str(i.platform) for i in images) == built.facts.platforms
    for image in images:
        assert image.config is not None
        config = json.loads(image.config.data)
        manifest = image.json
        assert manifest["config"]["digest"] == image.config.digest
        assert len(manifest["layers"]) == built.facts.layer_counts[str(image.platform)]
        assert image.platform is not None
        assert (config["os"], config["architecture"]) == (
            image.platform.os,
            image.platform.architecture,
        )
        assert config.get("variant") == image.platform.variant
        assert config["rootfs"]["type"] == "layers"
        diff_ids = []
        for layer in image.layers:
            raw = gzip.decompress(layer.blob.data)
            assert layer.blob.data[4:8] == b"\0\0\0\0", "gzip mtime must be 0"
            with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
                members = tar.getmembers()
            assert members
            assert {m.mtime for m in members} == {0}
            diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
        assert config["rootfs"]["diff_ids"] == diff_ids
        assert sum(1 for h in config["history"] if not h.get("empty_layer")) == len(diff_ids)


def test_oci_index_case_facts() -> None:
    built = CASES["oci_index"]()
    assert built.facts is not None
    assert dict(built.facts.layer_counts) == {
        "linux/amd64": 3,
        "linux/arm64/v8": 4,
        "linux/arm/v7": 5,
        "linux/s390x": 6,
    }
    entries = built.json["manifests"]
    assert len(entries) == 8
    assert built.json["annotations"] == dict(built.facts.annotations)
    attestations = [
        e for e in entries if e["platform"] == {"os": "unknown", "architecture": "unknown"}
    ]
    assert len(attestations) == 4
    image_digests = {c.digest for c in built.images}
    for entry in attestations:
        assert entry["annotations"]["vnd.docker.reference.type"] == "attestation-manifest"
        assert entry["annotations"]["vnd.docker.reference.digest"] in image_digests
    for digest, attestation in built.attestations.items():
        layer = attestation.json["layers"][0]
        assert layer["mediaType"] == "application/vnd.in-toto+json"
        statement = json.loads(built.contents[layer["digest"]].data)
        assert statement["subject"][0]["digest"]["sha256"] == digest.removeprefix("sha256:")
    arm = next(e for e in entries if e["platform"].get("variant") == "v8")
    assert arm["platform"] == {"architecture": "arm64", "os": "linux", "variant": "v8"}


def test_docker_list_and_windows_case_facts() -> None:
    docker = CASES["docker_list"]()
    arm64 = docker.json["manifests"][1]
    assert arm64["platform"] == {"architecture": "arm64", "os": "linux"}
    windows = CASES["windows_index"]()
    entry = windows.json["manifests"][0]
    assert entry["platform"] == {
        "architecture": "amd64",
        "os": "windows",
        "os.version": "10.0.17763.5122",
    }
    child = windows.child("windows/amd64")
    foreign = child.json["layers"][0]
    assert foreign["mediaType"] == "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
    assert foreign["urls"][0].startswith("https://mcr.microsoft.com/")
    assert foreign["digest"] not in windows.contents
    assert json.loads(child.config.data if child.config else b"")["os.version"] == "10.0.17763.5122"


def test_config_case_facts() -> None:
    built = CASES["config"]()
    assert built.config is not None
    config = json.loads(built.config.data)["config"]
    assert config["User"] == "10001:10001"
    assert config["Labels"]["org.opencontainers.image.licenses"] == "Apache-2.0"
    assert config["ExposedPorts"] == {"8080/tcp": {}}
    assert config["Volumes"] == {"/data": {}}
    assert config["WorkingDir"] == "/app"
    assert config["Entrypoint"] == ["/app/server"]
    assert len(json.loads(built.config.data)["history"]) == 8


# ------------------------------------------------------------------ pushing, read back raw


@pytest.mark.parametrize("name", sorted(CASES))
def test_pushed_case_reads_back(
    name: str, pushed: Mapping[str, PushedCase], registry: RegistryServer
) -> None:
    reference, built = pushed[name]
    assert reference.startswith(registry.host + "/")
    repo, tag = _split(reference)
    _assert_manifest(_get_manifest(registry, repo, tag), built)
    _assert_manifest(_get_manifest(registry, repo, built.digest), built)
    for child in built.children:
        _assert_manifest(_get_manifest(registry, repo, child.digest), child)
    with httpx.Client(base_url=registry.url) as client:
        for digest, blob in built.blobs.items():
            response = client.get(f"/v2/{repo}/blobs/{digest}")
            assert response.status_code == 200
            assert response.content == blob.data
        for layer in built.foreign_layers:
            assert layer.blob.media_type in FOREIGN_LAYER_MEDIA_TYPES
            assert client.head(f"/v2/{repo}/blobs/{layer.digest}").status_code == 404


def test_push_again_skips_every_blob(registry: RegistryServer) -> None:
    built = CASES["docker_list"]()
    first = push(registry.url, "again/docker-list", built, "one")
    second = push(registry.url, "again/docker-list", built, "two")
    assert len(first.uploaded) == len(built.blobs)
    assert second.uploaded == ()
    assert set(second.skipped) == set(built.blobs)
    _assert_manifest(_get_manifest(registry, "again/docker-list", "two"), built)


def test_push_by_digest_only(registry: RegistryServer) -> None:
    built = CASES["oci_manifest"]()
    result = push(registry.url, "bydigest/oci", built)
    assert result.reference == f"{registry.host}/bydigest/oci@{built.digest}"
    _assert_manifest(_get_manifest(registry, "bydigest/oci", built.digest), built)


def _mock_registry(location: str) -> tuple[httpx.Client, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "HEAD":
            return httpx.Response(404)
        if request.method == "POST":
            return httpx.Response(202, headers={"Location": location})
        digest = request.url.params.get("digest") or request.url.path.rsplit("/", 1)[-1]
        if request.url.path.endswith("/manifests/tag"):
            digest = "sha256:" + hashlib.sha256(request.content).hexdigest()
        return httpx.Response(201, headers={"Docker-Content-Digest": digest})

    return httpx.Client(transport=httpx.MockTransport(handler)), seen


@pytest.mark.parametrize(
    ("location", "expected_prefix"),
    [
        (
            "/v2/r/blobs/uploads/u1?_state=abc",
            "http://reg.test/v2/r/blobs/uploads/u1?_state=abc&digest=",
        ),
        ("/v2/r/blobs/uploads/u1", "http://reg.test/v2/r/blobs/uploads/u1?digest="),
        ("http://other.test/up/u1?x=1", "http://other.test/up/u1?x=1&digest="),
    ],
)
def test_push_follows_relative_and_absolute_locations(location: str, expected_prefix: str) -> None:
    built = CASES["oci_manifest"]()
    client, seen = _mock_registry(location)
    with client:
        push("http://reg.test", "r", built, "tag", client=client)
    puts = [r for r in seen if r.method == "PUT" and "digest" in r.url.params]
    assert len(puts) == len(built.blobs)
    for request in puts:
        assert str(request.url).startswith(expected_prefix)
        assert (
            request.url.params["digest"] == "sha256:" + hashlib.sha256(request.content).hexdigest()
        )
    manifest_puts = [r for r in seen if r.method == "PUT" and "/manifests/" in r.url.path]
    assert [r.headers["Content-Type"] for r in manifest_puts] == [built.media_type] * 2


# ------------------------------------------------------------------ auth modes


def test_basic_registry_rejects_anonymous_and_wrong_password(
    registry_basic: RegistryServer,
) -> None:
    response = httpx.get(f"{registry_basic.url}/v2/")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic ")
    assert httpx.get(f"{registry_basic.url}/v2/", auth=(USERNAME, "wrong")).status_code == 401
    assert httpx.get(f"{registry_basic.url}/v2/", auth=(USERNAME, PASSWORD)).status_code == 200
    with pytest.raises(PushError) as excinfo:
        push(registry_basic.url, "basic/denied", CASES["oci_manifest"](), "v1")
    assert excinfo.value.status_code == 401


def test_basic_registry_push_and_read_back(registry_basic: RegistryServer) -> None:
    built = CASES["oci_index"]()
    result = push(registry_basic.url, "basic/oci-index", built, "v1", auth=(USERNAME, PASSWORD))
    assert registry_basic.credentials == (USERNAME, PASSWORD)
    assert _get_manifest(registry_basic, "basic/oci-index", "v1").status_code == 401
    response = _get_manifest(
        registry_basic, "basic/oci-index", "v1", httpx.BasicAuth(USERNAME, PASSWORD)
    )
    _assert_manifest(response, built)
    assert result.reference == f"{registry_basic.host}/basic/oci-index:v1"


def test_token_registry_push_reuses_one_token(registry_token: RegistryServer) -> None:
    issuer = registry_token.token_issuer
    assert issuer is not None
    issuer.reset_counters()
    built = CASES["oci_index"]()
    push(registry_token.url, "token/oci-index", built, "v1", auth=(USERNAME, PASSWORD))
    # One token with pull+push for the repository serves every request of the push.
    assert issuer.issued == 1
    assert issuer.scopes == ["repository:token/oci-index:pull,push"]
    assert issuer.requests[0].username == USERNAME
    assert issuer.requests[0].granted == (
        Access("repository", "token/oci-index", ("pull", "push")),
    )

    anonymous = _get_manifest(registry_token, "token/oci-index", "v1")
    assert anonymous.status_code == 401
    challenge = anonymous.headers["WWW-Authenticate"]
    assert challenge.startswith(f'Bearer realm="{issuer.realm}"')
    assert 'scope="repository:token/oci-index:pull"' in challenge

    response = _get_manifest(
        registry_token, "token/oci-index", "v1", RegistryAuth(USERNAME, PASSWORD)
    )
    _assert_manifest(response, built)


def test_token_registry_rejects_anonymous_and_wrong_credentials(
    registry_token: RegistryServer,
) -> None:
    issuer = registry_token.token_issuer
    assert issuer is not None
    query = {"service": issuer.service, "scope": "repository:token/x:pull"}
    assert httpx.get(issuer.realm, params=query).status_code == 401
    assert httpx.get(issuer.realm, params=query, auth=(USERNAME, "wrong")).status_code == 401
    with pytest.raises(PushError) as excinfo:
        push(registry_token.url, "token/denied", CASES["oci_manifest"](), "v1")
    assert excinfo.value.status_code == 401
    with pytest.raises(PushError):
        push(
            registry_token.url, "token/denied", CASES["oci_manifest"](), "v1", auth=(USERNAME, "x")
        )


def test_token_response_shape_and_claims(registry_token: RegistryServer) -> None:
    issuer = registry_token.token_issuer
    assert issuer is not None
    response = httpx.get(
        issuer.realm,
        params=[
            ("service", issuer.service),
            ("scope", "repository:a/b:pull"),
            ("scope", "repository:c:pull,push"),
        ],
        auth=(USERNAME, PASSWORD),
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token"] == body["access_token"]
    assert body["expires_in"] == issuer.ttl
    assert body["issued_at"].endswith("Z")
    header = jwt.get_unverified_header(body["token"])
    assert header["alg"] == "ES256"
    assert "x5c" in header
    claims = jwt.decode(
        body["token"],
        issuer._key.public_key(),
        algorithms=["ES256"],
        audience=issuer.service,
        issuer=issuer.issuer,
    )
    assert isinstance(claims["aud"], str)
    assert isinstance(claims["exp"], int)
    assert claims["sub"] == USERNAME
    assert claims["access"] == [
        {"type": "repository", "name": "a/b", "actions": ["pull"]},
        {"type": "repository", "name": "c", "actions": ["pull", "push"]},
    ]


def test_token_oauth2_password_and_refresh_grants(registry_token: RegistryServer) -> None:
    issuer = registry_token.token_issuer
    assert issuer is not None
    push(
        registry_token.url,
        "token/oauth",
        CASES["docker_manifest"](),
        "v1",
        auth=(USERNAME, PASSWORD),
    )
    form = {
        "grant_type": "password",
        "username": USERNAME,
        "password": PASSWORD,
        "service": issuer.service,
        "scope": "repository:token/oauth:pull",
        "client_id": "manifest-lint-tests",
        "access_type": "offline",
    }
    first = httpx.post(issuer.realm, data=form)
    assert first.status_code == 200
    refresh = first.json()["refresh_token"]
    second = httpx.post(
        issuer.realm,
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh,
            "service": issuer.service,
            "scope": "repository:token/oauth:pull",
        },
    )
    assert second.status_code == 200
    for token in (first.json()["access_token"], second.json()["access_token"]):
        response = httpx.get(
            f"{registry_token.url}/v2/token/oauth/manifests/v1",
            headers={"Authorization": f"Bearer {token}", "Accept": MANIFEST_ACCEPT},
        )
        assert response.status_code == 200
    bad = httpx.post(issuer.realm, data={**form, "password": "wrong"})
    assert bad.status_code == 401
    assert (
        httpx.post(
            issuer.realm, data={"grant_type": "refresh_token", "refresh_token": "no"}
        ).status_code
        == 401
    )


@pytest.mark.parametrize("key_header", ["x5c", "jwk", "kid"])
def test_registry_accepts_each_way_of_naming_the_key(
    registry_token: RegistryServer, key_header: Any
) -> None:
    issuer = registry_token.token_issuer
    assert issuer is not None
    token = issuer.make_token([Access("repository", "keys/none", ("pull",))], key_header=key_header)
    response = httpx.get(
        f"{registry_token.url}/v2/keys/none/tags/list", headers={"Authorization": f"Bearer {token}"}
    )
    # 404 "name unknown" means the token was accepted; a rejected token is 401.
    assert response.status_code == 404, registry_token.log_tail(5)
    if key_header == "kid":
        assert jwt.get_unverified_header(token)["kid"] == libtrust_key_id(issuer._key.public_key())


@pytest.mark.parametrize(
    ("claims", "accepted"),
    [
        ({"ttl": -30}, True),  # distribution allows 60 s of leeway after exp
        ({"ttl": -120}, False),
        ({"audience": "another-service"}, False),
        ({"issuer": "another-issuer"}, False),
    ],
)
def test_registry_token_validation(
    registry_token: RegistryServer, claims: dict[str, Any], accepted: bool
) -> None:
    issuer = registry_token.token_issuer
    assert issuer is not None
    token = issuer.make_token([Access("repository", "keys/none", ("pull",))], **claims)
    response = httpx.get(
        f"{registry_token.url}/v2/keys/none/tags/list", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == (404 if accepted else 401)
    if not accepted:
        assert "invalid token" in registry_token.log_tail(10)


def test_token_ttl_and_anonymous_pull(registry_executable: str, tmp_path: Path) -> None:
    with RegistryServer(
        "token",
        token_ttl=2,
        allow_anonymous_pull=True,
        token_key_header="kid",
        binary=registry_executable,
        directory=tmp_path,
    ) as server:
        issuer = server.token_issuer
        assert issuer is not None
        built = CASES["oci_manifest"]()
        push(server.url, "short/lived", built, "v1", auth=(server.username, server.password))
        token = httpx.get(
            issuer.realm,
            params={"service": issuer.service, "scope": "repository:short/lived:pull,push"},
        ).json()
        assert token["expires_in"] == 2
        claims = jwt.decode(token["token"], options={"verify_signature": False})
        assert claims["exp"] - claims["iat"] == 2
        assert claims["access"] == [
            {"type": "repository", "name": "short/lived", "actions": ["pull"]}
        ]
        _assert_manifest(_get_manifest(server, "short/lived", "v1", RegistryAuth()), built)
        with pytest.raises(PushError):
            push(server.url, "short/anon", built, "v1")


def test_env_overrides_reach_the_registry(registry_executable: str, tmp_path: Path) -> None:
    with RegistryServer(
        env={"REGISTRY_LOG_LEVEL": "debug"}, binary=registry_executable, directory=tmp_path
    ) as server:
        httpx.get(f"{server.url}/v2/")
        assert "level=debug" in server.log_text()
    assert server.log_path.exists()


def test_start_failure_reports_the_log(registry_executable: str, tmp_path: Path) -> None:
    server = RegistryServer(
        env={"REGISTRY_LOG_LEVEL": "nonsense"}, binary=registry_executable, directory=tmp_path
    )
    started = time.monotonic()
    with pytest.raises(RegistryStartError, match="exited with status") as excinfo:
        server.start()
    assert time.monotonic() - started < 5
    assert "nonsense" in str(excinfo.value)


# ------------------------------------------------------------------ skopeo cross-checks


def test_skopeo_reads_open_registry(skopeo: str, pushed: Mapping[str, PushedCase]) -> None:
    for name in ("oci_index", "docker_list", "windows_index", "config"):
        reference, built = pushed[name]
        raw = _skopeo_raw(skopeo, "--tls-verify=false", f"docker://{reference}")
        assert raw == built.data, name


def test_skopeo_reads_basic_and_token_registries(
    skopeo: str, registry_basic: RegistryServer, registry_token: RegistryServer
) -> None:
    built = CASES["docker_list"]()
    for server in (registry_basic, registry_token):
        push(server.url, "skopeo/list", built, "v1", auth=(USERNAME, PASSWORD))
        reference = f"docker://{server.host}/skopeo/list:v1"
        raw = _skopeo_raw(skopeo, "--tls-verify=false", f"--creds={USERNAME}:{PASSWORD}", reference)
        assert raw == built.data, server.mode
        denied = subprocess.run(
            [
                skopeo,
                "inspect",
                "--raw",
                "--tls-verify=false",
                f"--creds={USERNAME}:nope",
                reference,
            ],
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert denied.returncode != 0


@pytest.mark.parametrize("name", sorted(CASES))
def test_layout_writer(tmp_path: Path, name: str) -> None:
    built = CASES[name]()
    layout = write_layout(tmp_path / "layout", built, "v1")
    assert json.loads((layout / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads((layout / "index.json").read_text())
    assert index["mediaType"] == "application/vnd.oci.image.index.v1+json"
    (entry,) = index["manifests"]
    assert (entry["mediaType"], entry["digest"], entry["size"]) == (
        built.media_type,
        built.digest,
        len(built.data),
    )
    assert entry["annotations"] == {REF_NAME: "v1"}
    blobs = layout / "blobs" / "sha256"
    assert {f"sha256:{p.name}" for p in blobs.iterdir()} == set(built.contents)
    for digest, blob in built.contents.items():
        assert (blobs / digest.removeprefix("sha256:")).read_bytes() == blob.data
    for layer in built.foreign_layers:
        assert not (blobs / layer.digest.removeprefix("sha256:")).exists()

    archive = write_layout_archive(tmp_path / "layout.tar", built, "v1")
    again = write_layout_archive(tmp_path / "again.tar", built, "v1")
    assert archive.read_bytes() == again.read_bytes()
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
        assert {m.mtime for m in members} == {0}
        assert [m.name for m in members] == sorted(m.name for m in members)
        files = {}
        for member in members:
            extracted = tar.extractfile(member)
            if extracted is not None:
                files[member.name] = extracted.read()
    on_disk = {str(p.relative_to(layout)): p.read_bytes() for p in layout.rglob("*") if p.is_file()}
    assert files == on_disk


# skopeo 1.9.3 only looks at OCI-typed descriptors in index.json: a layout whose
# top-level is a Docker manifest or manifest list is "no descriptor found" to it.
@pytest.mark.parametrize("name", ["oci_index", "oci_manifest", "config"])
def test_layout_is_readable_by_skopeo(skopeo: str, tmp_path: Path, name: str) -> None:
    built = CASES[name]()
    layout = write_layout(tmp_path / "layout", built, "v1")
    assert _skopeo_raw(skopeo, f"oci:{layout}:v1") == built.data
    archive = write_layout_archive(tmp_path / "layout.tar", built, "v1")
    assert _skopeo_raw(skopeo, f"oci-archive:{archive}:v1") == built.data
