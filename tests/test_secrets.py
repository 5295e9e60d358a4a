"""No secret in any output: passwords, their Basic encoding, and bearer tokens.

A canary (a fresh random string) is the password of a real htpasswd registry and
of a real token-auth registry. Passing, failing and auth-refused runs write
every format (text on stdout and stderr, ``--json``, ``--junit``, ``--sarif``,
``--output``, ``--format github`` with ``$GITHUB_STEP_SUMMARY``, and ``inspect``),
and none of them may hold the canary, ``base64(user:canary)``, or any token the
token issuer handed out. Tokens are asked for with pull scope only, and a token
past its lifetime (minus the client's margin) is replaced, not reused.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from manifest_lint.cli.main import main
from manifest_lint.sources.registry.auth import EXPIRY_MARGIN
from manifest_lint.sources.registry.credential import Credential
from manifest_lint.sources.registry.options import RegistryOptions
from manifest_lint.sources.registry.registries import Registries
from tests.helpers.images import (
    ANNOTATIONS,
    build_index,
    build_manifest,
    push,
)
from tests.helpers.registry_server import RegistryServer
from tests.helpers.token_issuer import parse_scope

pytestmark = pytest.mark.registry

#: Unique per test session: found anywhere, it can only have come from here.
CANARY = f"canary-{secrets.token_hex(16)}"
USER = "ci-bot"
#: The token lifetime for the refresh test: valid for TTL - EXPIRY_MARGIN seconds.
TTL = 6


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@dataclass
class Secured:
    """A registry whose password is the canary, the images pushed to it, and every token
    its issuer signed (pushes included)."""

    server: RegistryServer
    passing: str
    failing: str
    tokens: list[str] = field(default_factory=list)

    @property
    def secrets(self) -> list[str]:
        return [
            CANARY,
            b64(f"{USER}:{CANARY}"),
            b64(f"nobody:{CANARY}"),
            *self.tokens,
        ]


def _record_tokens(server: RegistryServer, into: list[str]) -> None:
    issuer = server.token_issuer
    if issuer is None:
        return
    original = issuer.make_token

    def recording(*args: Any, **kwargs: Any) -> str:
        token = original(*args, **kwargs)
        into.append(token)
        return token

    issuer.make_token = recording  # type: ignore[method-assign]  # an instance attribute


def _start(
    mode: str, executable: str, tmp_path_factory: pytest.TempPathFactory, **kwargs: Any
) -> Iterator[Secured]:
    directory = tmp_path_factory.mktemp(f"secrets-{mode}")
    with RegistryServer(
        mode,  # type: ignore[arg-type]  # "htpasswd" or "token"
        username=USER,
        password=CANARY,
        binary=executable,
        directory=directory,
        **kwargs,
    ) as server:
        tokens: list[str] = []
        _record_tokens(server, tokens)
        good = build_index(
            [
                build_manifest(p, layers=1, seed=f"secret-{mode}")
                for p in ("linux/amd64", "linux/arm64")
            ],
            annotations=ANNOTATIONS,
        )
        bad = build_manifest("linux/amd64", layers=1, seed=f"secret-bad-{mode}")
        passing = push(server.url, "secret/good", good, "1.0", auth=(USER, CANARY))
        failing = push(server.url, "secret/bad", bad, "1.0", auth=(USER, CANARY))
        yield Secured(server, passing.reference, failing.reference, tokens)


@pytest.fixture(scope="module", params=["htpasswd", "token"])
def secured(
    request: pytest.FixtureRequest,
    registry_executable: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Secured]:
    yield from _start(request.param, registry_executable, tmp_path_factory)


@pytest.fixture
def docker_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``DOCKER_CONFIG`` in a fresh directory; no other credential file is in reach."""
    home = tmp_path / "home"
    home.mkdir()
    config = tmp_path / "docker"
    config.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("DOCKER_CONFIG", str(config))
    for name in ("REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "GITHUB_ACTIONS"):
        monkeypatch.delenv(name, raising=False)
    return config


def use_credentials(config: Path, host: str, username: str) -> None:
    document = {"auths": {host: {"auth": b64(f"{username}:{CANARY}")}}}
    (config / "config.json").write_text(json.dumps(document))


# --------------------------------------------------------------------------- every output


@dataclass(frozen=True)
class Outputs:
    codes: list[int]
    texts: dict[str, str]


def every_output(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    reference: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Outputs:
    """Lint ``reference`` writing every format, then inspect it both ways."""
    out = tmp_path / "out"
    out.mkdir()
    texts: dict[str, str] = {}
    codes = []
    code = main(
        [
            reference,
            "--json",
            str(out / "r.json"),
            "--junit",
            str(out / "r.xml"),
            "--sarif",
            str(out / "r.sarif"),
            "--output",
            f"text={out / 'r.txt'}",
        ]
    )
    captured = capsys.readouterr()
    codes.append(code)
    texts |= {"text stdout": captured.out, "text stderr": captured.err}

    summary = out / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    codes.append(main([reference, "--format", "github"]))
    captured = capsys.readouterr()
    texts |= {"github stdout": captured.out, "github stderr": captured.err}
    monkeypatch.delenv("GITHUB_STEP_SUMMARY")

    for fmt in ("text", "json"):
        main(["inspect", "--format", fmt, reference])
        captured = capsys.readouterr()
        texts |= {f"inspect {fmt} stdout": captured.out, f"inspect {fmt} stderr": captured.err}

    for path in sorted(out.iterdir()):
        texts[path.name] = path.read_text(encoding="utf-8")
    assert {"r.json", "r.xml", "r.sarif", "r.txt", "summary.md"} <= set(texts)
    return Outputs(codes, texts)


def assert_no_secret(outputs: Outputs, secured: Secured) -> None:
    assert secured.secrets[0] == CANARY
    for name, text in outputs.texts.items():
        for secret in secured.secrets:
            assert secret not in text, f"a secret is in {name}"
        assert "Traceback" not in text, name


def assert_pull_only(secured: Secured) -> None:
    issuer = secured.server.token_issuer
    if issuer is None:
        return
    assert issuer.requests, "the token registry was asked for tokens"
    for request in issuer.requests:
        for scope in request.scopes:
            access = parse_scope(scope)
            assert access is not None
            assert (access.type, access.actions) == ("repository", ("pull",)), scope


@pytest.mark.parametrize("which", ["passing", "failing"])
def test_no_secret_in_any_output(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    secured: Secured,
    docker_config: Path,
    monkeypatch: pytest.MonkeyPatch,
    which: str,
) -> None:
    use_credentials(docker_config, secured.server.host, USER)
    issuer = secured.server.token_issuer
    if issuer is not None:
        issuer.reset_counters()
    before = len(secured.tokens)
    reference = secured.passing if which == "passing" else secured.failing
    outputs = every_output(capsys, tmp_path, reference, monkeypatch)
    assert outputs.codes == ([0, 0] if which == "passing" else [1, 1])
    assert json.loads(outputs.texts["r.json"])["results"][0]["digest"].startswith("sha256:")
    if issuer is not None:
        # Real tokens were handed out to this run, and are among the secrets looked for.
        assert len(secured.tokens) > before
    assert_no_secret(outputs, secured)
    assert_pull_only(secured)


def test_no_secret_when_the_credentials_are_refused(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    secured: Secured,
    docker_config: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The canary is sent (as the password of a user the registry does not know) and
    refused: the error names the registry and where the credentials came from."""
    use_credentials(docker_config, secured.server.host, "nobody")
    outputs = every_output(capsys, tmp_path, secured.passing, monkeypatch)
    assert outputs.codes == [3, 3]
    report = json.loads(outputs.texts["r.json"])
    [finding] = report["results"][0]["findings"]
    assert finding["outcome"] == "error"
    assert "refused" in finding["message"]
    assert secured.server.host in finding["message"]
    assert str(docker_config / "config.json") in finding["message"]
    assert_no_secret(outputs, secured)
    assert_pull_only(secured)


# --------------------------------------------------------------------------- token lifetime


@pytest.fixture(scope="module")
def short_lived(
    registry_executable: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Secured]:
    yield from _start("token", registry_executable, tmp_path_factory, token_ttl=TTL)


def test_a_token_is_replaced_once_it_is_about_to_expire(short_lived: Secured) -> None:
    """Tokens live TTL s; the client stops using one EXPIRY_MARGIN s before that. Two
    references of one repository within that window share a token; one after it gets
    a new one."""
    issuer = short_lived.server.token_issuer
    assert issuer is not None
    assert TTL > EXPIRY_MARGIN
    host = short_lived.server.host
    repository = "secret/good"
    options = RegistryOptions(
        credential_lookup=lambda _host: Credential(USER, CANARY, source="test"), timeout=30
    )
    issuer.reset_counters()
    first_token = len(short_lived.tokens)
    with Registries(options) as registries:
        client = registries.client(host)
        started = time.monotonic()
        client.get_manifest(repository, "1.0", what="first")
        client.head_manifest(repository, "1.0", what="second, at once")
        assert issuer.issued == 1
        # Bounded: the token is usable for TTL - EXPIRY_MARGIN seconds after it came.
        time.sleep(max(0.0, TTL - EXPIRY_MARGIN - (time.monotonic() - started)) + 0.3)
        client.get_manifest(repository, "1.0", what="third, after expiry")
        assert issuer.issued == 2
    first, second = short_lived.tokens[first_token:]
    assert first != second
    assert issuer.scopes == [f"repository:{repository}:pull"] * 2
    assert_pull_only(short_lived)
