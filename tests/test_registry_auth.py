"""``inspect`` against registries that want credentials: htpasswd Basic and token auth.

Credentials come the way users keep them: a docker ``config.json`` (``auths``
with a base64 ``auth``, or ``credHelpers`` naming a real executable
``docker-credential-test`` on ``PATH``). ``HOME`` and ``DOCKER_CONFIG`` point
into a temporary directory so the real home is never read. No password may
ever reach stdout or stderr.
"""

from __future__ import annotations

import base64
import json
import os
import re
import stat
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers.cli import Run, run
from tests.helpers.images import CASES, Built, push
from tests.helpers.registry_server import RegistryServer
from tests.helpers.supply_chain import asks_referrers

pytestmark = pytest.mark.registry

REPOSITORY = "auth/oci-index"
WRONG_PASSWORD = "not-the-Passw0rd-9z"


@dataclass(frozen=True)
class Pushed:
    server: RegistryServer
    reference: str
    built: Built


def _push(server: RegistryServer) -> Pushed:
    built = CASES["oci_index"]()
    result = push(server.url, REPOSITORY, built, "v1", auth=server.credentials)
    return Pushed(server, result.reference, built)


@pytest.fixture(scope="module")
def basic_image(registry_basic: RegistryServer) -> Pushed:
    return _push(registry_basic)


@pytest.fixture(scope="module")
def token_image(registry_token: RegistryServer) -> Pushed:
    return _push(registry_token)


@pytest.fixture(params=["htpasswd", "token"])
def image(request: pytest.FixtureRequest) -> Pushed:
    name = "basic_image" if request.param == "htpasswd" else "token_image"
    pushed: Pushed = request.getfixturevalue(name)
    return pushed


@pytest.fixture
def docker_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty ``DOCKER_CONFIG`` directory; the real home and podman's files are out of reach."""
    home = tmp_path / "home"
    home.mkdir()
    config = tmp_path / "docker"
    config.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("DOCKER_CONFIG", str(config))
    for name in ("REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    return config


def write_config(directory: Path, document: object) -> None:
    (directory / "config.json").write_text(json.dumps(document))


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def install_helper(
    bin_dir: Path, monkeypatch: pytest.MonkeyPatch, host: str, username: str, password: str
) -> Path:
    """A real ``docker-credential-test`` on PATH that knows one server; returns its log file."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    log = bin_dir / "helper.log"
    reply = json.dumps({"ServerURL": host, "Username": username, "Secret": password})
    script = bin_dir / "docker-credential-test"
    script.write_text(
        "#!/bin/sh\n"
        "IFS= read -r server\n"
        f"printf '%s %s\\n' \"$1\" \"$server\" >> '{log}'\n"
        f'if [ "$1" = get ] && [ "$server" = \'{host}\' ]; then\n'
        f"  printf '%s' '{reply}'\n"
        "  exit 0\n"
        "fi\n"
        "echo 'credentials not found in native keychain'\n"
        "exit 1\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', os.defpath)}")
    return log


def inspect(capsys: pytest.CaptureFixture[str], reference: str) -> Run:
    return run(capsys, *["inspect", "--format", "json", reference])


def assert_no_secret(result: Run, server: RegistryServer, *extra: str) -> None:
    user, password = server.credentials or ("", "")
    for secret in (password, b64(f"{user}:{password}"), *extra):
        assert secret not in result.out
        assert secret not in result.err


def assert_auth_error(result: Run, server: RegistryServer) -> str:
    assert result.code == 3
    assert result.out == ""
    assert "Traceback" not in result.err
    assert result.err.startswith("manifest-lint: error: ")
    assert result.err.count("\n") == 1, result.err
    assert server.host in result.err
    assert "refused" in result.err
    return result.err


def assert_inspected(result: Run, pushed: Pushed) -> None:
    assert result.code == 0, result.err
    assert result.err == ""
    document = json.loads(result.out)
    assert document["image"]["digest"] == pushed.built.digest
    assert document["image"]["platforms"] == [
        "linux/amd64",
        "linux/arm/v7",
        "linux/arm64",
        "linux/s390x",
    ]
    assert len(document["image"]["attestations"]) == 4


# ------------------------------------------------------------------ credentials that work


def test_auths_entry(
    capsys: pytest.CaptureFixture[str], image: Pushed, docker_config: Path
) -> None:
    user, password = image.server.credentials or ("", "")
    write_config(docker_config, {"auths": {image.server.host: {"auth": b64(f"{user}:{password}")}}})
    result = inspect(capsys, image.reference)
    assert_inspected(result, image)
    assert_no_secret(result, image.server)


def test_cred_helper(
    capsys: pytest.CaptureFixture[str],
    image: Pushed,
    docker_config: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user, password = image.server.credentials or ("", "")
    host = image.server.host
    log = install_helper(tmp_path / "bin", monkeypatch, host, user, password)
    # The helper wins over an auths entry for the same host (as in docker).
    write_config(
        docker_config,
        {
            "auths": {host: {"auth": b64(f"{user}:{WRONG_PASSWORD}")}},
            "credHelpers": {host: "test"},
        },
    )
    result = inspect(capsys, image.reference)
    assert_inspected(result, image)
    assert_no_secret(result, image.server, WRONG_PASSWORD)
    # Asked once per run, for this host only.
    assert log.read_text().splitlines() == [f"get {host}"]


# ------------------------------------------------------------------ credentials that do not


def test_no_credentials(
    capsys: pytest.CaptureFixture[str], image: Pushed, docker_config: Path
) -> None:
    result = inspect(capsys, image.reference)
    err = assert_auth_error(result, image.server)
    assert "anonymous access" in err
    assert_no_secret(result, image.server)


def test_wrong_password(
    capsys: pytest.CaptureFixture[str], image: Pushed, docker_config: Path
) -> None:
    user, _ = image.server.credentials or ("", "")
    write_config(
        docker_config, {"auths": {image.server.host: {"auth": b64(f"{user}:{WRONG_PASSWORD}")}}}
    )
    result = inspect(capsys, image.reference)
    err = assert_auth_error(result, image.server)
    # Says where the refused credentials came from, so the user knows what to fix.
    assert f"credentials from {docker_config / 'config.json'} auths['{image.server.host}']" in err
    assert_no_secret(result, image.server, WRONG_PASSWORD, b64(f"{user}:{WRONG_PASSWORD}"))


def test_cred_helper_without_an_entry_means_anonymous(
    capsys: pytest.CaptureFixture[str],
    basic_image: Pushed,
    docker_config: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = basic_image.server
    user, password = server.credentials or ("", "")
    log = install_helper(tmp_path / "bin", monkeypatch, "other.example:5000", user, password)
    write_config(docker_config, {"credHelpers": {server.host: "test"}})
    result = inspect(capsys, basic_image.reference)
    err = assert_auth_error(result, server)
    assert "anonymous access" in err
    assert log.read_text().splitlines() == [f"get {server.host}"]


# ------------------------------------------------------------------ tokens


def test_one_token_serves_index_manifests_and_configs(
    capsys: pytest.CaptureFixture[str], token_image: Pushed, docker_config: Path
) -> None:
    server = token_image.server
    issuer = server.token_issuer
    assert issuer is not None
    user, password = server.credentials or ("", "")
    write_config(docker_config, {"auths": {server.host: {"auth": b64(f"{user}:{password}")}}})
    issuer.reset_counters()

    result = inspect(capsys, token_image.reference)
    assert_inspected(result, token_image)
    # 1 index + 8 manifests + 8 configs, all in one repository: one pull token.
    assert issuer.issued == 1
    assert issuer.scopes == [f"repository:{REPOSITORY}:pull"]
    (request,) = issuer.requests
    assert request.method == "GET"
    assert request.username == user
    assert request.service == issuer.service
    assert request.status == 200

    # A second run is a new process as far as tokens go: one more, no more.
    assert_inspected(inspect(capsys, token_image.reference), token_image)
    assert issuer.issued == 2


def test_token_wrong_password_asks_once(
    capsys: pytest.CaptureFixture[str], token_image: Pushed, docker_config: Path
) -> None:
    server = token_image.server
    issuer = server.token_issuer
    assert issuer is not None
    user, _ = server.credentials or ("", "")
    write_config(docker_config, {"auths": {server.host: {"auth": b64(f"{user}:{WRONG_PASSWORD}")}}})
    issuer.reset_counters()
    result = inspect(capsys, token_image.reference)
    err = assert_auth_error(result, server)
    assert "token service" in err
    assert "HTTP 401" in err
    assert issuer.issued == 0
    assert [r.status for r in issuer.requests] == [401]
    assert_no_secret(result, server, WRONG_PASSWORD, b64(f"{user}:{WRONG_PASSWORD}"))


def test_token_issuer_saw_the_basic_credentials_only(
    capsys: pytest.CaptureFixture[str], token_image: Pushed, docker_config: Path
) -> None:
    """The token request carries the user; the registry never sees Basic credentials
    (it would answer 401 to them), which a successful run shows."""
    server = token_image.server
    issuer = server.token_issuer
    assert issuer is not None
    user, password = server.credentials or ("", "")
    write_config(docker_config, {"auths": {server.host: {"username": user, "password": password}}})
    issuer.reset_counters()
    assert_inspected(inspect(capsys, token_image.reference), token_image)
    assert [r.username for r in issuer.requests] == [user]


# ------------------------------------------------------------------ round trips

_ACCESS = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/1\.1" (?P<status>\d{3}) ')


def _access_log(server: RegistryServer, start: int) -> list[tuple[str, str, int]]:
    """(method, path, status) of every request the registry logged after ``start``."""
    text = server.log_path.read_bytes()[start:].decode("utf-8", "replace")
    return [(m["method"], m["path"], int(m["status"])) for m in _ACCESS.finditer(text)]


def _settled_size(server: RegistryServer) -> int:
    """The log's size once it stopped growing (lines are written after responses)."""
    size = -1
    while (now := server.log_path.stat().st_size) != size:
        size = now
        time.sleep(0.2)
    return size


def test_a_cold_reference_asks_what_token_auth_needs_and_no_more(
    capsys: pytest.CaptureFixture[str], token_image: Pushed, docker_config: Path
) -> None:
    """The challenge comes with the first GET (no /v2/ ping, no HEAD: nothing is cached),
    then one token serves the index again, the platform manifests and the configs."""
    server = token_image.server
    issuer = server.token_issuer
    assert issuer is not None
    user, password = server.credentials or ("", "")
    write_config(docker_config, {"auths": {server.host: {"auth": b64(f"{user}:{password}")}}})
    issuer.reset_counters()
    start = _settled_size(server)
    assert_inspected(inspect(capsys, token_image.reference), token_image)
    seen = _access_log(server, start)
    tag = f"/v2/{REPOSITORY}/manifests/v1"
    assert seen[:2] == [("GET", tag, 401), ("GET", tag, 200)]
    rest = [request for request in seen[2:] if not asks_referrers(request[1])]
    assert all(status == 200 and method == "GET" for method, _path, status in rest)
    # Each platform's manifest and config, each attestation's manifest and statement.
    built = token_image.built
    documents = len(built.images) + len(built.attestations)
    assert sorted(path.split("/")[-2] for _m, path, _s in rest) == (
        ["blobs"] * documents + ["manifests"] * documents
    )
    # What refers to the image is asked with the same token: none of it exists here.
    asked = [request for request in seen[2:] if asks_referrers(request[1])]
    assert {status for _m, _p, status in asked} == {404}
    # The API, its fallback tag and three cosign tags, for the index and each platform.
    assert len(asked) == 5 * (1 + len(built.images))
    assert issuer.issued == 1


def test_concurrent_references_of_one_repository_share_one_token(
    capsys: pytest.CaptureFixture[str], token_image: Pushed, docker_config: Path
) -> None:
    """References of one repository started together all meet the challenge; one of
    them asks for the token and the others wait for it, not ask again."""
    server = token_image.server
    issuer = server.token_issuer
    assert issuer is not None
    user, password = server.credentials or ("", "")
    tags = [f"same{i}" for i in range(12)]
    for tag in tags:
        push(server.url, REPOSITORY, token_image.built, tag, auth=server.credentials)
    write_config(docker_config, {"auths": {server.host: {"auth": b64(f"{user}:{password}")}}})
    issuer.reset_counters()
    references = [f"{server.host}/{REPOSITORY}:{tag}" for tag in tags]
    result = run(capsys, "--concurrency", "12", "--select", "pinned-digest", *references)
    assert result.code == 0, result.err  # (pinned-digest only warns)
    assert issuer.issued == 1
    assert issuer.scopes == [f"repository:{REPOSITORY}:pull"]


def test_a_second_repository_asks_for_its_token_without_meeting_the_challenge(
    capsys: pytest.CaptureFixture[str], token_image: Pushed, docker_config: Path
) -> None:
    """Once the registry said where its tokens come from, the next repository's token is
    asked for before its first request: a round trip less, and one 401 per run."""
    server = token_image.server
    issuer = server.token_issuer
    assert issuer is not None
    user, password = server.credentials or ("", "")
    other = "auth/second"
    push(server.url, other, token_image.built, "v1", auth=server.credentials)
    write_config(docker_config, {"auths": {server.host: {"auth": b64(f"{user}:{password}")}}})
    issuer.reset_counters()
    start = _settled_size(server)
    references = [token_image.reference, f"{server.host}/{other}:v1"]
    result = run(capsys, "--concurrency", "1", "--select", "pinned-digest", *references)
    assert result.code == 0, result.err
    seen = _access_log(server, start)
    assert [(m, p) for m, p, status in seen if status == 401] == [
        ("GET", f"/v2/{REPOSITORY}/manifests/v1")
    ]
    assert issuer.scopes == [f"repository:{REPOSITORY}:pull", f"repository:{other}:pull"]
