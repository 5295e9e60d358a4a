"""``manifest-lint inspect`` end to end against the real registry, cross-checked with skopeo.

Every test drives ``main(argv)`` and reads what it printed; the images are the
ready-made cases of ``helpers.images`` pushed by the ``pushed`` fixture, whose
facts are written down literally. A small reverse proxy between the client and
the registry tampers with answers to show that every byte is digest-checked.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import subprocess
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from manifest_lint.image.platforms import parse_platform
from tests.helpers.cli import Run, inspect_json, run
from tests.helpers.images import (
    CONFIG_HISTORY,
    CONFIG_LABELS,
    CONFIG_USER,
    DOCKER_FOREIGN_LAYER,
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_INDEX,
    OCI_MANIFEST,
    WINDOWS_FOREIGN_URL,
    WINDOWS_OS_VERSION,
    PushedCase,
)
from tests.helpers.registry_server import RegistryServer, free_port
from tests.helpers.supply_chain import asks_referrers

pytestmark = pytest.mark.registry

FOUR_PLATFORMS = ["linux/amd64", "linux/arm/v7", "linux/arm64", "linux/s390x"]


def by_platform(document: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    manifests = document["image"]["manifests"]
    out = {m["platform"]["name"]: m for m in manifests}
    assert len(out) == len(manifests), "one manifest per platform"
    return out


def normalised(name: str) -> str:
    return str(parse_platform(name))


def split_reference(reference: str) -> tuple[str, str, str]:
    """``127.0.0.1:PORT/repo:tag`` -> (host, repo, tag)."""
    host, _, rest = reference.partition("/")
    repo, _, tag = rest.rpartition(":")
    return host, repo, tag


def assert_one_line_error(result: Run, code: int) -> str:
    assert result.code == code
    assert result.out == ""
    assert "Traceback" not in result.err
    assert result.err.startswith("manifest-lint: error: ")
    assert result.err.endswith("\n")
    assert result.err.count("\n") == 1, result.err
    return result.err


# ------------------------------------------------------------------ the pushed cases, as JSON


def test_oci_index_lists_four_normalised_platforms_and_attestations(
    capsys: pytest.CaptureFixture[str], pushed: Mapping[str, PushedCase]
) -> None:
    reference, built = pushed["oci_index"]
    facts = built.facts
    assert facts is not None
    doc = inspect_json(capsys, reference)
    image = doc["image"]

    assert doc["version"] == 1
    assert doc["ref"]["normalized"] == reference
    assert doc["ref"]["pinned"] is False
    assert image["isIndex"] is True
    assert image["mediaType"] == OCI_INDEX
    assert image["digest"] == built.digest
    assert image["size"] == built.size
    assert image["platforms"] == FOUR_PLATFORMS
    assert image["annotations"] == dict(facts.annotations)
    assert image["others"] == []

    manifests = by_platform(doc)
    assert sorted(manifests) == FOUR_PLATFORMS
    # Literally, and as the pushed facts say (arm64/v8 is written arm64 once normalised).
    assert {p: m["layerCount"] for p, m in manifests.items()} == {
        "linux/amd64": 3,
        "linux/arm64": 4,
        "linux/arm/v7": 5,
        "linux/s390x": 6,
    }
    for name, count in facts.layer_counts.items():
        entry = manifests[normalised(name)]
        assert entry["layerCount"] == count
        assert len(entry["layers"]) == count
        assert entry["digest"] == facts.digests[name]
        assert entry["mediaType"] == OCI_MANIFEST
        assert entry["annotations"] == dict(facts.annotations)
        assert entry["totalSize"] == sum(layer["size"] for layer in entry["layers"])
        config = built.child(name).config
        assert config is not None
        assert entry["config"]["digest"] == config.digest
    arm64 = manifests["linux/arm64"]["platform"]
    assert (arm64["os"], arm64["architecture"], arm64["variant"]) == ("linux", "arm64", "")

    attestations = image["attestations"]
    assert len(attestations) == facts.attestations == 4
    digest_to_platform = {m["digest"]: p for p, m in manifests.items()}
    assert {a["describes"] for a in attestations} == set(digest_to_platform)
    for attestation in attestations:
        assert attestation["platform"] == digest_to_platform[attestation["describes"]]
        assert attestation["mediaType"] == OCI_MANIFEST
        assert attestation["annotations"]["vnd.docker.reference.type"] == "attestation-manifest"
        assert attestation["digest"] == built.attestations[attestation["describes"]].digest
    assert not {a["digest"] for a in attestations} & set(digest_to_platform)


def test_docker_manifest_list(
    capsys: pytest.CaptureFixture[str], pushed: Mapping[str, PushedCase]
) -> None:
    reference, built = pushed["docker_list"]
    doc = inspect_json(capsys, reference)
    image = doc["image"]
    assert image["isIndex"] is True
    assert image["mediaType"] == DOCKER_MANIFEST_LIST
    assert image["digest"] == built.digest
    assert image["platforms"] == ["linux/amd64", "linux/arm64"]
    assert image["attestations"] == []
    assert image["annotations"] == {}
    manifests = by_platform(doc)
    assert {p: m["layerCount"] for p, m in manifests.items()} == {
        "linux/amd64": 2,
        "linux/arm64": 3,
    }
    for m in manifests.values():
        assert m["mediaType"] == DOCKER_MANIFEST
        assert m["config"]["mediaType"] == "application/vnd.docker.container.image.v1+json"


@pytest.mark.parametrize(
    ("case", "media_type", "layers"),
    [("oci_manifest", OCI_MANIFEST, 2), ("docker_manifest", DOCKER_MANIFEST, 3)],
)
def test_single_manifest_takes_its_platform_from_the_config(
    capsys: pytest.CaptureFixture[str],
    pushed: Mapping[str, PushedCase],
    case: str,
    media_type: str,
    layers: int,
) -> None:
    reference, built = pushed[case]
    facts = built.facts
    assert facts is not None
    assert "platform" not in built.json  # nothing but the config can say it
    doc = inspect_json(capsys, reference)
    image = doc["image"]
    assert image["isIndex"] is False
    assert image["mediaType"] == media_type
    assert image["digest"] == built.digest
    assert image["platforms"] == ["linux/amd64"]
    assert image["attestations"] == []
    assert image["annotations"] == dict(facts.annotations)
    (manifest,) = image["manifests"]
    assert manifest["platform"]["name"] == "linux/amd64"
    assert manifest["digest"] == built.digest
    assert manifest["layerCount"] == layers == facts.layer_counts["linux/amd64"]
    assert manifest["annotations"] == dict(facts.annotations)
    assert built.config is not None
    assert manifest["config"]["digest"] == built.config.digest


def test_windows_entry_keeps_os_version_and_foreign_layer_urls(
    capsys: pytest.CaptureFixture[str], pushed: Mapping[str, PushedCase]
) -> None:
    reference, built = pushed["windows_index"]
    facts = built.facts
    assert facts is not None
    doc = inspect_json(capsys, reference)
    assert doc["image"]["platforms"] == ["linux/amd64", "windows/amd64"]
    manifests = by_platform(doc)
    windows = manifests["windows/amd64"]
    assert windows["platform"]["osVersion"] == WINDOWS_OS_VERSION
    assert windows["layerCount"] == facts.layer_counts["windows/amd64"] == 3
    foreign = windows["layers"][0]
    assert foreign["mediaType"] == DOCKER_FOREIGN_LAYER
    assert foreign["urls"] == [WINDOWS_FOREIGN_URL]
    assert [layer["urls"] for layer in windows["layers"][1:]] == [[], []]
    assert windows["config"]["workdir"] == "C:\\"
    assert windows["config"]["cmd"] == ["cmd", "/S", "/C", "echo hello"]
    linux = manifests["linux/amd64"]
    assert linux["platform"]["osVersion"] == ""
    assert linux["layerCount"] == 2


def test_config_labels_user_and_history(
    capsys: pytest.CaptureFixture[str], pushed: Mapping[str, PushedCase]
) -> None:
    reference, _ = pushed["config"]
    doc = inspect_json(capsys, reference)
    (manifest,) = doc["image"]["manifests"]
    config = manifest["config"]
    assert config["labels"] == dict(sorted(CONFIG_LABELS.items()))
    assert list(config["labels"]) == sorted(CONFIG_LABELS)
    assert config["user"] == CONFIG_USER
    assert config["workdir"] == "/app"
    assert config["entrypoint"] == ["/app/server"]
    assert config["cmd"] == ["--port", "8080"]
    assert config["exposedPorts"] == ["8080/tcp"]
    assert config["volumes"] == ["/data"]
    assert "APP_ENV=production" in config["env"]
    assert config["history"] == [
        {
            "created": h["created"],
            "createdBy": h["created_by"],
            "author": "",
            "comment": h.get("comment", ""),
            "emptyLayer": h.get("empty_layer", False),
        }
        for h in CONFIG_HISTORY
    ]
    assert len(config["history"]) == 8
    assert sum(not h["emptyLayer"] for h in config["history"]) == manifest["layerCount"] == 3
    assert len(config["diffIds"]) == 3


# ------------------------------------------------------------------ text, --platform, references


def test_text_format(capsys: pytest.CaptureFixture[str], pushed: Mapping[str, PushedCase]) -> None:
    reference, built = pushed["oci_index"]
    result = run(capsys, "inspect", "--format", "text", reference)
    assert result.code == 0, result.err
    assert result.err == ""
    lines = result.out.splitlines()
    assert lines[0] == reference
    assert f"  digest       {built.digest}" in lines
    assert "  platforms    linux/amd64, linux/arm/v7, linux/arm64, linux/s390x" in lines
    for platform in FOUR_PLATFORMS:
        assert f"  {platform}" in lines
    assert "  attestations" in lines
    assert sum(" describes linux/" in line for line in lines) == 4
    assert "    layers     6, " in result.out  # s390x


def test_text_format_shows_foreign_layers_and_os_version(
    capsys: pytest.CaptureFixture[str], pushed: Mapping[str, PushedCase]
) -> None:
    reference, _ = pushed["windows_index"]
    result = run(capsys, "inspect", reference)  # text is the default
    assert result.code == 0, result.err
    assert f"  windows/amd64 (os.version {WINDOWS_OS_VERSION})" in result.out
    assert f"foreign: {WINDOWS_FOREIGN_URL}" in result.out


def test_platform_filter_normalises_arm64_v8(
    capsys: pytest.CaptureFixture[str], pushed: Mapping[str, PushedCase]
) -> None:
    reference, built = pushed["oci_index"]
    assert built.facts is not None
    doc = inspect_json(capsys, reference, "--platform", "linux/arm64/v8")
    (manifest,) = doc["image"]["manifests"]
    assert manifest["platform"]["name"] == "linux/arm64"
    assert manifest["digest"] == built.facts.digests["linux/arm64/v8"]
    assert manifest["layerCount"] == 4
    (attestation,) = doc["image"]["attestations"]
    assert attestation["describes"] == manifest["digest"]
    # The image-level list still says what the index holds.
    assert doc["image"]["platforms"] == FOUR_PLATFORMS


def test_platform_filter_without_a_match_exits_3_naming_the_platforms(
    capsys: pytest.CaptureFixture[str], pushed: Mapping[str, PushedCase]
) -> None:
    """Not a policy violation (1): the image cannot show what was asked for."""
    reference, _ = pushed["oci_index"]
    result = run(capsys, "inspect", "--format", "json", "--platform", "linux/mips", reference)
    assert result.code == 3
    assert result.out == ""
    assert result.err == (
        f"manifest-lint: error: {reference} has no platform linux/mips "
        f"(platforms: {', '.join(FOUR_PLATFORMS)})\n"
    )


def test_by_digest_reference(
    capsys: pytest.CaptureFixture[str], pushed: Mapping[str, PushedCase]
) -> None:
    reference, built = pushed["oci_index"]
    host, repo, _ = split_reference(reference)
    pinned = f"{host}/{repo}@{built.digest}"
    doc = inspect_json(capsys, pinned)
    assert doc["ref"]["normalized"] == pinned
    assert doc["ref"]["tag"] == ""
    assert doc["ref"]["digest"] == built.digest
    assert doc["ref"]["pinned"] is True
    assert doc["image"]["digest"] == built.digest
    assert doc["image"]["platforms"] == FOUR_PLATFORMS


def test_by_digest_reference_to_a_platform_manifest(
    capsys: pytest.CaptureFixture[str], pushed: Mapping[str, PushedCase]
) -> None:
    reference, built = pushed["oci_index"]
    host, repo, _ = split_reference(reference)
    child = built.child("linux/arm/v7")
    doc = inspect_json(capsys, f"{host}/{repo}@{child.digest}")
    assert doc["image"]["isIndex"] is False
    assert doc["image"]["platforms"] == ["linux/arm/v7"]
    assert doc["image"]["manifests"][0]["layerCount"] == 5


def test_tag_and_digest_reference(
    capsys: pytest.CaptureFixture[str], pushed: Mapping[str, PushedCase]
) -> None:
    reference, built = pushed["docker_list"]
    both = f"{reference}@{built.digest}"
    doc = inspect_json(capsys, both)
    assert doc["ref"]["normalized"] == both
    assert doc["ref"]["tag"] == "v1"
    assert doc["ref"]["digest"] == built.digest
    assert doc["ref"]["pinned"] is True
    assert doc["image"]["digest"] == built.digest
    assert doc["image"]["platforms"] == ["linux/amd64", "linux/arm64"]


def test_tag_and_digest_reference_digest_wins(
    capsys: pytest.CaptureFixture[str], pushed: Mapping[str, PushedCase]
) -> None:
    """With both, the digest is what is fetched (as docker does): a digest that is not
    in the repository is not found, whatever the tag names."""
    reference, _ = pushed["docker_list"]
    other = pushed["oci_manifest"].built.digest
    result = run(capsys, "inspect", f"{reference}@{other}")
    err = assert_one_line_error(result, 3)
    assert "not found" in err
    assert other in err


# ------------------------------------------------------------------ errors


def test_unknown_tag_exits_3_naming_the_reference(
    capsys: pytest.CaptureFixture[str], pushed: Mapping[str, PushedCase]
) -> None:
    host, repo, _ = split_reference(pushed["oci_index"].reference)
    missing = f"{host}/{repo}:no-such-tag"
    result = run(capsys, "inspect", "--format", "json", missing)
    err = assert_one_line_error(result, 3)
    assert missing in err
    assert "not found" in err
    assert "MANIFEST_UNKNOWN" in err


def test_unknown_repository_exits_3(
    capsys: pytest.CaptureFixture[str], registry: RegistryServer
) -> None:
    missing = f"{registry.host}/no/such-repo:v1"
    err = assert_one_line_error(run(capsys, "inspect", missing), 3)
    assert missing in err
    assert "HTTP 404" in err


def test_unreachable_registry_exits_3_without_a_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    port = free_port()  # nothing listens there
    result = run(capsys, "inspect", "--timeout", "5", f"127.0.0.1:{port}/some/image:1")
    err = assert_one_line_error(result, 3)
    assert f"cannot connect to registry 127.0.0.1:{port}" in err
    assert f"127.0.0.1:{port}/some/image:1" in err


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("alpine:", "invalid reference 'alpine:': tag is empty after ':' at position 8"),
        (
            "localhost:5000/Upper/x",
            "invalid reference 'localhost:5000/Upper/x': repository name must be lowercase "
            "at position 16",
        ),
        (
            "alpine@sha256:abc",
            "invalid reference 'alpine@sha256:abc': sha256 digest must have 64 hex characters, "
            "got 3 at position 8",
        ),
    ],
)
def test_invalid_reference_exits_2_with_the_exact_message(
    capsys: pytest.CaptureFixture[str], reference: str, message: str
) -> None:
    result = run(capsys, "inspect", reference)
    assert result.code == 2
    assert result.out == ""
    assert result.err == f"manifest-lint: error: {message}\n"


# ------------------------------------------------------------------ skopeo cross-check


def test_oci_index_agrees_with_skopeo(
    capsys: pytest.CaptureFixture[str],
    pushed: Mapping[str, PushedCase],
    skopeo: str,
    tmp_path: Path,
) -> None:
    reference, _ = pushed["oci_index"]
    proc = subprocess.run(
        [skopeo, "inspect", "--raw", "--tls-verify=false", f"docker://{reference}"],
        capture_output=True,
        timeout=60,
        check=False,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr.decode()
    raw = proc.stdout
    doc = inspect_json(capsys, reference)
    assert "sha256:" + hashlib.sha256(raw).hexdigest() == doc["image"]["digest"]

    entries = json.loads(raw)["manifests"]
    platforms = {
        normalised("/".join(p for p in (pl["os"], pl["architecture"], pl.get("variant")) if p))
        for pl in (
            e["platform"]
            for e in entries
            if e.get("annotations", {}).get("vnd.docker.reference.type") != "attestation-manifest"
        )
    }
    assert sorted(platforms) == doc["image"]["platforms"] == FOUR_PLATFORMS


# ------------------------------------------------------------------ tampering proxy


FAKE_DIGEST = "sha256:" + hashlib.sha256(b"not the manifest").hexdigest()


def flip_a_byte(data: bytes) -> bytes:
    """The same length, one bit different (in the middle: JSON stays ASCII)."""
    changed = bytearray(data)
    changed[len(changed) // 2] ^= 0x01
    return bytes(changed)


@dataclass
class Tamper:
    """What the proxy changes: paths are matched by suffix."""

    rewrite_digest_for: str = ""
    drop_digest_for: str = ""
    flip_body_for: str = ""
    seen: list[str] = field(default_factory=list)


class TamperingProxy:
    """A reverse proxy on 127.0.0.1 in front of a registry that can lie about answers."""

    def __init__(self, upstream: str, tamper: Tamper) -> None:
        self.upstream = upstream
        self.tamper = tamper
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> TamperingProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return  # TLS probes from the client's https attempt land here

            def do_GET(self) -> None:
                self._forward()

            def do_HEAD(self) -> None:
                self._forward()

            def _forward(self) -> None:
                tamper = proxy.tamper
                tamper.seen.append(self.path)
                upstream = http.client.HTTPConnection(proxy.upstream, timeout=10)
                try:
                    headers = {
                        k: v
                        for k, v in self.headers.items()
                        if k.lower() in ("accept", "authorization")
                    }
                    upstream.request(self.command, self.path, headers=headers)
                    response = upstream.getresponse()
                    body = response.read()
                    out_headers = [
                        (k, v)
                        for k, v in response.getheaders()
                        if k.lower() not in ("content-length", "connection", "transfer-encoding")
                    ]
                finally:
                    upstream.close()
                path = self.path.split("?", 1)[0]
                if tamper.rewrite_digest_for and path.endswith(tamper.rewrite_digest_for):
                    out_headers = [
                        (k, FAKE_DIGEST if k.lower() == "docker-content-digest" else v)
                        for k, v in out_headers
                    ]
                if tamper.drop_digest_for and path.endswith(tamper.drop_digest_for):
                    out_headers = [
                        (k, v) for k, v in out_headers if k.lower() != "docker-content-digest"
                    ]
                if tamper.flip_body_for and path.endswith(tamper.flip_body_for) and body:
                    body = flip_a_byte(body)
                self.send_response(response.status)
                for key, value in out_headers:
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

        return Handler


@pytest.fixture
def proxied(registry: RegistryServer) -> Iterator[tuple[TamperingProxy, Tamper]]:
    tamper = Tamper()
    with TamperingProxy(registry.host, tamper) as proxy:
        yield proxy, tamper


def test_proxy_passes_honest_answers_through(
    capsys: pytest.CaptureFixture[str],
    pushed: Mapping[str, PushedCase],
    proxied: tuple[TamperingProxy, Tamper],
) -> None:
    proxy, tamper = proxied
    _, repo, tag = split_reference(pushed["oci_index"].reference)
    doc = inspect_json(capsys, f"{proxy.host}/{repo}:{tag}")
    assert doc["image"]["platforms"] == FOUR_PLATFORMS
    assert any(path.endswith("/manifests/v1") for path in tamper.seen)


@pytest.mark.parametrize(
    ("field_", "target", "pinned"),
    [
        pytest.param("digest", "tag", False, id="Docker-Content-Digest-of-the-tag"),
        pytest.param("body", "tag", False, id="body-fetched-by-tag"),
        pytest.param("body", "index", True, id="body-of-the-index-fetched-by-digest"),
        pytest.param("digest", "child", False, id="Docker-Content-Digest-of-a-child"),
        pytest.param("body", "child", False, id="body-of-a-child-manifest"),
        pytest.param("body", "config", False, id="body-of-a-config-blob"),
    ],
)
def test_tampering_is_detected_end_to_end(
    capsys: pytest.CaptureFixture[str],
    pushed: Mapping[str, PushedCase],
    proxied: tuple[TamperingProxy, Tamper],
    field_: str,
    target: str,
    pinned: bool,
) -> None:
    proxy, tamper = proxied
    reference, built = pushed["oci_index"]
    child = built.child("linux/s390x")
    assert child.config is not None
    path, data = {
        "tag": ("/manifests/v1", built.data),
        "index": (f"/manifests/{built.digest}", built.data),
        "child": (f"/manifests/{child.digest}", child.data),
        "config": (f"/blobs/{child.config.digest}", child.config.data),
    }[target]
    true_digest = "sha256:" + hashlib.sha256(data).hexdigest()
    if field_ == "digest":
        tamper.rewrite_digest_for = path
        lie = FAKE_DIGEST
    else:
        tamper.flip_body_for = path
        lie = "sha256:" + hashlib.sha256(flip_a_byte(data)).hexdigest()
    _, repo, _ = split_reference(reference)
    ref = f"{proxy.host}/{repo}@{built.digest}" if pinned else f"{proxy.host}/{repo}:v1"

    # By tag, the body is fetched by tag without the cache and with a cache that holds
    # nothing of the repository (with one that does, a HEAD resolves the tag and the
    # body is fetched by digest: see the test below).
    for extra in (["--no-cache"], []) if target == "tag" else ([],):
        tamper.seen.clear()
        result = run(capsys, "inspect", "--format", "json", *extra, ref)
        err = assert_one_line_error(result, 3)
        assert "digest mismatch" in err
        assert true_digest in err
        assert lie in err
        assert any(seen.endswith(path) for seen in tamper.seen)


def test_a_lying_head_never_passes(
    capsys: pytest.CaptureFixture[str],
    pushed: Mapping[str, PushedCase],
    proxied: tuple[TamperingProxy, Tamper],
) -> None:
    """With a cache that holds images of the repository, a tag is resolved by HEAD; a
    forged Docker-Content-Digest there leads to a GET of a digest the registry does not
    have: an error, never a pass."""
    proxy, tamper = proxied
    reference, _built = pushed["oci_index"]
    _, repo, _ = split_reference(reference)
    inspect_json(capsys, f"{proxy.host}/{repo}:v1")  # the cache now knows the repository
    tamper.rewrite_digest_for = "/manifests/v1"
    tamper.seen.clear()
    result = run(capsys, "inspect", "--format", "json", f"{proxy.host}/{repo}:v1")
    err = assert_one_line_error(result, 3)
    assert FAKE_DIGEST in err
    assert any(seen.endswith(f"/manifests/{FAKE_DIGEST}") for seen in tamper.seen)


def test_a_tag_without_docker_content_digest_is_named_by_its_bytes(
    capsys: pytest.CaptureFixture[str],
    pushed: Mapping[str, PushedCase],
    proxied: tuple[TamperingProxy, Tamper],
) -> None:
    """A registry that sends no Docker-Content-Digest: the tag's GET (cold) and its
    HEAD (warm, which then cannot resolve it) say nothing, and the image is named by
    the digest of the bytes read, which every later read is checked against."""
    proxy, tamper = proxied
    reference, built = pushed["oci_index"]
    _, repo, _ = split_reference(reference)
    tamper.drop_digest_for = "/manifests/v1"
    cold = inspect_json(capsys, f"{proxy.host}/{repo}:v1")
    assert cold["image"]["digest"] == built.digest
    # One request for the tag, a GET: no HEAD first, as nothing of the repository is cached.
    assert tamper.seen.count(f"/v2/{repo}/manifests/v1") == 1
    tamper.seen.clear()
    warm = inspect_json(capsys, f"{proxy.host}/{repo}:v1")
    assert warm["image"]["digest"] == built.digest
    # The HEAD names no digest, so the tag is read with GET; the rest is in the cache
    # (but for the lists of referrers, which are asked on every run).
    assert [p for p in tamper.seen if not asks_referrers(p)] == [f"/v2/{repo}/manifests/v1"] * 2


def test_a_digest_reference_without_docker_content_digest_is_checked_against_it(
    capsys: pytest.CaptureFixture[str],
    pushed: Mapping[str, PushedCase],
    proxied: tuple[TamperingProxy, Tamper],
) -> None:
    proxy, tamper = proxied
    reference, built = pushed["oci_index"]
    _, repo, _ = split_reference(reference)
    path = f"/manifests/{built.digest}"
    tamper.drop_digest_for = path
    tamper.flip_body_for = path
    result = run(capsys, "inspect", "--format", "json", f"{proxy.host}/{repo}@{built.digest}")
    err = assert_one_line_error(result, 3)
    assert "digest mismatch" in err
    assert built.digest in err
    assert "sha256:" + hashlib.sha256(flip_a_byte(built.data)).hexdigest() in err
