"""Tests for manifest_lint.sources.registry.credentials: files, precedence, helpers, secrecy."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from manifest_lint.errors import CredentialError
from manifest_lint.sources.registry import credential_files, credential_helpers
from manifest_lint.sources.registry.credential import Credential
from manifest_lint.sources.registry.credential_files import DOCKER_HUB_KEY
from manifest_lint.sources.registry.credentials import find_credential

CANARY = "CANARY-s3cr3t-7f3a9"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def write_json(path: Path, document: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document))
    return path


def auth_entry(user: str, password: str) -> dict[str, str]:
    return {"auth": b64(f"{user}:{password}")}


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    path = tmp_path / "bin"
    path.mkdir()
    return path


@pytest.fixture
def env(home: Path, bin_dir: Path) -> dict[str, str]:
    """A clean environment: no real config files can leak in; helper scripts go in bin_dir."""
    return {"HOME": str(home), "PATH": os.pathsep.join([str(bin_dir), os.defpath])}


def docker_config(home: Path) -> Path:
    return home / ".docker" / "config.json"


@dataclass
class FakeRunner:
    """Stands in for the subprocess; records each call."""

    returncode: int = 0
    stdout: bytes = b""
    stderr: bytes = b""
    raises: BaseException | None = None
    calls: list[tuple[list[str], bytes, float]] = field(default_factory=list)

    @classmethod
    def answering(cls, username: str, secret: str) -> FakeRunner:
        reply = {"ServerURL": "x", "Username": username, "Secret": secret}
        return cls(stdout=json.dumps(reply).encode())

    @classmethod
    def not_found(cls) -> FakeRunner:
        return cls(returncode=1, stdout=b"credentials not found in native keychain\n")

    def __call__(
        self, argv: Sequence[str], *, stdin: bytes, timeout: float, env: Mapping[str, str]
    ) -> subprocess.CompletedProcess[bytes]:
        self.calls.append((list(argv), stdin, timeout))
        if self.raises is not None:
            raise self.raises
        return subprocess.CompletedProcess(list(argv), self.returncode, self.stdout, self.stderr)


def exception_texts(exc: BaseException) -> Iterator[str]:
    """Everything an exception and its chain could show a log or a traceback."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield str(current)
        yield repr(current)
        yield repr(current.args)
        yield repr(vars(current))
        for attribute in ("doc", "object", "output", "stdout", "stderr"):
            yield repr(getattr(current, attribute, None))
        current = current.__cause__ or current.__context__


# -- the Credential value ----------------------------------------------------------------------


def test_credential_repr_and_str_hide_secrets() -> None:
    credential = Credential("alice", CANARY, CANARY + "-token", source="somewhere")
    for text in (repr(credential), str(credential), f"{credential}", f"{credential!r}"):
        assert CANARY not in text
        assert "alice" in text
        assert "somewhere" in text
        assert "password=<set>" in text
        assert "identity_token=<set>" in text
    assert "password=<empty>" in repr(Credential("bob"))


def test_credential_is_frozen_and_comparable() -> None:
    credential = Credential("u", "p")
    assert credential == Credential("u", "p")
    with pytest.raises(AttributeError):
        credential.password = "other"  # type: ignore[misc]  # frozen on purpose


# -- docker config.json auths ------------------------------------------------------------------


def test_no_files_means_no_credential(env: dict[str, str]) -> None:
    assert find_credential("ghcr.io", env=env) is None


def test_no_home_means_no_home_files(tmp_path: Path) -> None:
    assert find_credential("ghcr.io", env={"PATH": str(tmp_path)}) is None


def test_auth_field(env: dict[str, str], home: Path) -> None:
    path = write_json(docker_config(home), {"auths": {"ghcr.io": auth_entry("alice", "pw")}})
    credential = find_credential("ghcr.io", env=env)
    assert credential == Credential("alice", "pw", source=f"{path} auths['ghcr.io']")


def test_auth_splits_on_the_first_colon(env: dict[str, str], home: Path) -> None:
    write_json(docker_config(home), {"auths": {"ghcr.io": auth_entry("alice", "p:w:d")}})
    credential = find_credential("ghcr.io", env=env)
    assert credential is not None
    assert (credential.username, credential.password) == ("alice", "p:w:d")


def test_auth_trailing_nuls_and_line_breaks_are_tolerated(env: dict[str, str], home: Path) -> None:
    encoded = b64("alice:pw\x00\x00")
    write_json(
        docker_config(home), {"auths": {"ghcr.io": {"auth": encoded[:4] + "\n" + encoded[4:]}}}
    )
    credential = find_credential("ghcr.io", env=env)
    assert credential is not None
    assert credential.password == "pw"


def test_username_and_password_fields(env: dict[str, str], home: Path) -> None:
    write_json(docker_config(home), {"auths": {"ghcr.io": {"username": "alice", "password": "pw"}}})
    credential = find_credential("ghcr.io", env=env)
    assert credential is not None
    assert (credential.username, credential.password) == ("alice", "pw")


def test_auth_field_wins_over_username_and_password(env: dict[str, str], home: Path) -> None:
    entry = {**auth_entry("alice", "pw"), "username": "bob", "password": "other"}
    write_json(docker_config(home), {"auths": {"ghcr.io": entry}})
    credential = find_credential("ghcr.io", env=env)
    assert credential is not None
    assert (credential.username, credential.password) == ("alice", "pw")


def test_field_names_match_case_insensitively_like_go(env: dict[str, str], home: Path) -> None:
    write_json(docker_config(home), {"Auths": {"ghcr.io": {"IdentityToken": "tok"}}})
    credential = find_credential("ghcr.io", env=env)
    assert credential is not None
    assert credential.identity_token == "tok"


def test_identity_token_entry(env: dict[str, str], home: Path) -> None:
    entry = {**auth_entry("alice", "pw"), "identitytoken": "refresh"}
    write_json(docker_config(home), {"auths": {"ghcr.io": entry}})
    credential = find_credential("ghcr.io", env=env)
    assert credential is not None
    assert (credential.username, credential.password) == ("alice", "pw")
    assert credential.identity_token == "refresh"


def test_identity_token_alone(env: dict[str, str], home: Path) -> None:
    write_json(docker_config(home), {"auths": {"ghcr.io": {"identitytoken": "refresh"}}})
    assert find_credential("ghcr.io", env=env) == Credential(
        identity_token="refresh", source=f"{docker_config(home)} auths['ghcr.io']"
    )


@pytest.mark.parametrize(
    "entry",
    [
        {},
        {"auth": ""},
        {"username": "alice"},
        {"auth": b64("alice:")},
        {"email": "a@example.com"},
        {"auth": None, "identitytoken": None},
    ],
)
def test_entries_without_a_usable_credential_count_as_none(
    env: dict[str, str], home: Path, entry: dict[str, object]
) -> None:
    write_json(docker_config(home), {"auths": {"ghcr.io": entry}})
    assert find_credential("ghcr.io", env=env) is None


def test_other_hosts_entries_do_not_apply(env: dict[str, str], home: Path) -> None:
    write_json(docker_config(home), {"auths": {"quay.io": auth_entry("alice", "pw")}})
    assert find_credential("ghcr.io", env=env) is None


def test_empty_file_is_no_credential(env: dict[str, str], home: Path) -> None:
    path = docker_config(home)
    path.parent.mkdir()
    path.write_text("  \n")
    assert find_credential("ghcr.io", env=env) is None


def test_other_top_level_fields_are_ignored(env: dict[str, str], home: Path) -> None:
    write_json(
        docker_config(home),
        {"proxies": [1, 2], "psFormat": 3, "auths": {"ghcr.io": auth_entry("a", "b")}},
    )
    assert find_credential("ghcr.io", env=env) is not None


# -- key normalisation and Docker Hub ----------------------------------------------------------

HUB_KEYS = [DOCKER_HUB_KEY, "index.docker.io", "docker.io", "registry-1.docker.io"]
HUB_HOSTS = ["registry-1.docker.io", "docker.io", "index.docker.io"]


@pytest.mark.parametrize("key", HUB_KEYS)
@pytest.mark.parametrize("host", HUB_HOSTS)
def test_docker_hub_aliases(env: dict[str, str], home: Path, key: str, host: str) -> None:
    write_json(docker_config(home), {"auths": {key: auth_entry("alice", "pw")}})
    credential = find_credential(host, env=env)
    assert credential is not None
    assert credential.username == "alice"


@pytest.mark.parametrize("key", HUB_KEYS)
def test_docker_hub_keys_do_not_apply_elsewhere(env: dict[str, str], home: Path, key: str) -> None:
    write_json(docker_config(home), {"auths": {key: auth_entry("alice", "pw")}})
    assert find_credential("ghcr.io", env=env) is None
    assert find_credential("docker.example.com", env=env) is None


@pytest.mark.parametrize(
    "key",
    [
        "ghcr.io",
        "https://ghcr.io",
        "http://ghcr.io",
        "ghcr.io/",
        "ghcr.io/v1/",
        "ghcr.io/v2",
        "https://ghcr.io/v2/",
        "https://ghcr.io/anything/at/all",
        "HTTPS://GHCR.IO/v2/",
        "GHCR.io",
    ],
)
@pytest.mark.parametrize("host", ["ghcr.io", "GHCR.IO"])
def test_key_normalisation(env: dict[str, str], home: Path, key: str, host: str) -> None:
    write_json(docker_config(home), {"auths": {key: auth_entry("alice", "pw")}})
    credential = find_credential(host, env=env)
    assert credential is not None
    assert credential.source.endswith(f"auths[{key!r}]")


@pytest.mark.parametrize(
    ("key", "host", "applies"),
    [
        ("localhost:5000", "localhost:5000", True),
        ("http://localhost:5000/v2/", "localhost:5000", True),
        ("localhost:5000", "localhost", False),
        ("localhost", "localhost:5000", False),
        ("localhost:5000", "localhost:5001", False),
        ("ghcr.io", "ghcr.io.evil.example", False),
        ("ghcr.io.evil.example", "ghcr.io", False),
        ("quay.io/myorg", "quay.io", False),  # podman namespace key: not host-wide
        ("quay.io/myorg/app", "quay.io", False),
        ("https://quay.io/myorg", "quay.io", True),  # with a scheme, docker drops the path
        ("", "ghcr.io", False),
        ("https://", "ghcr.io", False),
    ],
)
def test_host_match_is_exact_on_host_and_port(
    env: dict[str, str], home: Path, key: str, host: str, applies: bool
) -> None:
    write_json(docker_config(home), {"auths": {key: auth_entry("alice", "pw")}})
    assert (find_credential(host, env=env) is not None) is applies


def test_host_argument_may_carry_a_scheme_or_path(env: dict[str, str], home: Path) -> None:
    write_json(docker_config(home), {"auths": {"ghcr.io": auth_entry("alice", "pw")}})
    assert find_credential("https://ghcr.io/v2/", env=env) is not None
    assert find_credential("", env=env) is None


def test_docker_written_key_wins_over_other_spellings(env: dict[str, str], home: Path) -> None:
    write_json(
        docker_config(home),
        {
            "auths": {
                "https://ghcr.io": auth_entry("first", "pw"),
                "ghcr.io": auth_entry("exact", "pw"),
                "docker.io": auth_entry("hub-alias", "pw"),
                DOCKER_HUB_KEY: auth_entry("hub-exact", "pw"),
            }
        },
    )
    assert find_credential("ghcr.io", env=env) == Credential(
        "exact", "pw", source=f"{docker_config(home)} auths['ghcr.io']"
    )
    hub = find_credential("registry-1.docker.io", env=env)
    assert hub is not None
    assert hub.username == "hub-exact"


def test_otherwise_the_first_matching_key_in_the_file_wins(env: dict[str, str], home: Path) -> None:
    write_json(
        docker_config(home),
        {
            "auths": {
                "https://ghcr.io/v2/": auth_entry("first", "pw"),
                "http://ghcr.io": auth_entry("second", "pw"),
            }
        },
    )
    credential = find_credential("ghcr.io", env=env)
    assert credential is not None
    assert credential.username == "first"


# -- which file ------------------------------------------------------------------------------


def entry_for(user: str) -> dict[str, object]:
    return {"auths": {"ghcr.io": auth_entry(user, "pw")}}


def found_user(env: Mapping[str, str]) -> str | None:
    credential = find_credential("ghcr.io", env=env)
    return None if credential is None else credential.username


@pytest.fixture
def all_files(tmp_path: Path, home: Path, env: dict[str, str]) -> dict[str, Path]:
    """One file in every place, each with a different user for ghcr.io."""
    files = {
        "registry_auth_file": write_json(tmp_path / "explicit.json", entry_for("explicit")),
        "xdg_runtime": write_json(
            tmp_path / "run" / "containers" / "auth.json", entry_for("runtime")
        ),
        "config_home": write_json(
            home / ".config" / "containers" / "auth.json", entry_for("config-home")
        ),
        "docker_config_dir": write_json(
            tmp_path / "dockercfg" / "config.json", entry_for("docker-config-dir")
        ),
        "docker_home": write_json(docker_config(home), entry_for("docker-home")),
    }
    env["REGISTRY_AUTH_FILE"] = str(files["registry_auth_file"])
    env["XDG_RUNTIME_DIR"] = str(tmp_path / "run")
    env["DOCKER_CONFIG"] = str(tmp_path / "dockercfg")
    return files


def test_file_order(env: dict[str, str], all_files: dict[str, Path]) -> None:
    assert found_user(env) == "explicit"
    del env["REGISTRY_AUTH_FILE"]
    assert found_user(env) == "runtime"
    del env["XDG_RUNTIME_DIR"]
    assert found_user(env) == "config-home"
    all_files["config_home"].unlink()
    assert found_user(env) == "docker-config-dir"
    del env["DOCKER_CONFIG"]
    assert found_user(env) == "docker-home"


def test_a_file_without_an_entry_passes_the_search_on(
    env: dict[str, str], all_files: dict[str, Path]
) -> None:
    write_json(all_files["registry_auth_file"], {"auths": {"quay.io": auth_entry("q", "pw")}})
    write_json(all_files["xdg_runtime"], {"auths": {"ghcr.io": {}}})  # docker's marker
    all_files["config_home"].write_text("")
    assert found_user(env) == "docker-config-dir"


def test_missing_registry_auth_file_is_skipped(
    env: dict[str, str], all_files: dict[str, Path]
) -> None:
    all_files["registry_auth_file"].unlink()
    assert found_user(env) == "runtime"


def test_docker_config_replaces_home_docker_dir(
    env: dict[str, str], tmp_path: Path, home: Path
) -> None:
    write_json(docker_config(home), entry_for("docker-home"))
    env["DOCKER_CONFIG"] = str(tmp_path / "empty-docker-config")
    assert found_user(env) is None
    env["DOCKER_CONFIG"] = ""  # empty is unset, as in docker
    assert found_user(env) == "docker-home"


def test_xdg_config_home_is_honoured(env: dict[str, str], tmp_path: Path, home: Path) -> None:
    write_json(home / ".config" / "containers" / "auth.json", entry_for("default"))
    write_json(tmp_path / "xdg" / "containers" / "auth.json", entry_for("xdg"))
    assert found_user(env) == "default"
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")
    assert found_user(env) == "xdg"


def test_podman_file_source_names_its_path(env: dict[str, str], tmp_path: Path) -> None:
    path = write_json(tmp_path / "run" / "containers" / "auth.json", entry_for("p"))
    env["XDG_RUNTIME_DIR"] = str(tmp_path / "run")
    credential = find_credential("ghcr.io", env=env)
    assert credential is not None
    assert credential.source == f"{path} auths['ghcr.io']"


def test_env_defaults_to_os_environ(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], home: Path
) -> None:
    write_json(docker_config(home), entry_for("from-os-environ"))
    for name in ("REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "DOCKER_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", env["HOME"])
    monkeypatch.setenv("PATH", env["PATH"])
    credential = find_credential("ghcr.io")
    assert credential is not None
    assert credential.username == "from-os-environ"


# -- helpers: precedence, with a fake runner ---------------------------------------------------


def test_cred_helpers_win_over_creds_store_and_auths(env: dict[str, str], home: Path) -> None:
    path = write_json(
        docker_config(home),
        {
            "auths": {"ghcr.io": auth_entry("from-auths", "pw")},
            "credsStore": "store",
            "credHelpers": {"https://ghcr.io": "special"},
        },
    )
    runner = FakeRunner.answering("from-helper", "secret")
    credential = find_credential("ghcr.io", env=env, run_helper=runner)
    assert credential == Credential(
        "from-helper",
        "secret",
        source=(
            "credential helper docker-credential-special "
            f"(credHelpers['https://ghcr.io'] in {path})"
        ),
    )
    # The key as written goes to the helper on stdin, with no newline.
    assert runner.calls == [
        (
            ["docker-credential-special", "get"],
            b"https://ghcr.io",
            credential_helpers.HELPER_TIMEOUT,
        )
    ]


def test_creds_store_wins_over_auths(env: dict[str, str], home: Path) -> None:
    path = write_json(
        docker_config(home),
        {"auths": {"ghcr.io": auth_entry("from-auths", "pw")}, "credsStore": "store"},
    )
    runner = FakeRunner.answering("from-store", "secret")
    credential = find_credential("GHCR.io", env=env, run_helper=runner, helper_timeout=5)
    assert credential is not None
    assert credential.username == "from-store"
    assert credential.source == f"credential helper docker-credential-store (credsStore in {path})"
    assert runner.calls == [(["docker-credential-store", "get"], b"ghcr.io", 5)]


@pytest.mark.parametrize("host", HUB_HOSTS)
def test_creds_store_is_asked_for_docker_hub_by_dockers_key(
    env: dict[str, str], home: Path, host: str
) -> None:
    write_json(docker_config(home), {"credsStore": "store"})
    runner = FakeRunner.answering("hubuser", "secret")
    assert find_credential(host, env=env, run_helper=runner) is not None
    assert runner.calls[0][1] == DOCKER_HUB_KEY.encode()


def test_cred_helpers_match_hub_aliases(env: dict[str, str], home: Path) -> None:
    write_json(docker_config(home), {"credHelpers": {"docker.io": "hub"}})
    runner = FakeRunner.answering("hubuser", "secret")
    assert find_credential("registry-1.docker.io", env=env, run_helper=runner) is not None
    assert runner.calls == [(["docker-credential-hub", "get"], b"docker.io", 30.0)]


def test_cred_helpers_for_other_hosts_do_not_apply(env: dict[str, str], home: Path) -> None:
    write_json(
        docker_config(home),
        {"credHelpers": {"quay.io": "special"}, "auths": {"ghcr.io": auth_entry("a", "pw")}},
    )
    runner = FakeRunner.answering("from-helper", "secret")
    credential = find_credential("ghcr.io", env=env, run_helper=runner)
    assert credential is not None
    assert credential.username == "a"
    assert runner.calls == []


def test_empty_cred_helper_skips_creds_store(env: dict[str, str], home: Path) -> None:
    write_json(
        docker_config(home),
        {
            "credHelpers": {"ghcr.io": ""},
            "credsStore": "store",
            "auths": {"ghcr.io": auth_entry("from-auths", "pw")},
        },
    )
    runner = FakeRunner.answering("from-store", "secret")
    credential = find_credential("ghcr.io", env=env, run_helper=runner)
    assert credential is not None
    assert credential.username == "from-auths"
    assert runner.calls == []


def test_helper_not_found_is_no_credential_and_auths_is_not_read(
    env: dict[str, str], home: Path
) -> None:
    write_json(
        docker_config(home),
        {"credsStore": "store", "auths": {"ghcr.io": auth_entry("from-auths", "pw")}},
    )
    runner = FakeRunner.not_found()
    assert find_credential("ghcr.io", env=env, run_helper=runner) is None
    assert len(runner.calls) == 1


def test_helper_not_found_passes_the_search_to_the_next_file(
    env: dict[str, str], tmp_path: Path, home: Path
) -> None:
    write_json(
        tmp_path / "run" / "containers" / "auth.json", {"credHelpers": {"ghcr.io": "podman"}}
    )
    env["XDG_RUNTIME_DIR"] = str(tmp_path / "run")
    write_json(docker_config(home), entry_for("docker"))
    runner = FakeRunner.not_found()
    assert found_user_with(env, runner) == "docker"


def found_user_with(env: Mapping[str, str], runner: FakeRunner) -> str | None:
    credential = find_credential("ghcr.io", env=env, run_helper=runner)
    return None if credential is None else credential.username


def test_helper_token_username_means_identity_token(env: dict[str, str], home: Path) -> None:
    write_json(docker_config(home), {"credsStore": "store"})
    runner = FakeRunner.answering("<token>", "refresh-token")
    credential = find_credential("ghcr.io", env=env, run_helper=runner)
    assert credential is not None
    assert (credential.username, credential.password) == ("", "")
    assert credential.identity_token == "refresh-token"


@pytest.mark.parametrize(
    "stdout",
    [
        b'{"ServerURL": "ghcr.io", "Username": "", "Secret": ""}',
        b'{"ServerURL": "ghcr.io"}',
    ],
)
def test_helper_empty_secret_is_no_credential(
    env: dict[str, str], home: Path, stdout: bytes
) -> None:
    write_json(docker_config(home), {"credsStore": "store"})
    assert find_credential("ghcr.io", env=env, run_helper=FakeRunner(stdout=stdout)) is None


def test_helper_failure_names_helper_host_and_its_message(env: dict[str, str], home: Path) -> None:
    write_json(docker_config(home), {"credsStore": "store"})
    runner = FakeRunner(
        returncode=1,
        stdout=b"error getting credentials: locked keyring\nmore\n",
        stderr=b"\n  warning: \x1b[31mred\x1b[0m " + b"x" * 300 + b"\n",
    )
    with pytest.raises(CredentialError) as info:
        find_credential("ghcr.io", env=env, run_helper=runner)
    message = str(info.value)
    assert "docker-credential-store" in message
    assert "ghcr.io" in message
    assert "exit status 1" in message
    assert "locked keyring" in message
    assert "more" not in message
    assert "warning: ?[31mred" in message
    assert "x" * 200 not in message
    assert "\x1b" not in message


def test_helper_killed_by_signal(env: dict[str, str], home: Path) -> None:
    write_json(docker_config(home), {"credsStore": "store"})
    with pytest.raises(CredentialError, match="killed by signal 9"):
        find_credential("ghcr.io", env=env, run_helper=FakeRunner(returncode=-9))


@pytest.mark.parametrize(
    ("raises", "expected"),
    [
        (FileNotFoundError(2, "No such file"), "docker-credential-store is not on PATH"),
        (PermissionError(13, "Permission denied"), "cannot run it: Permission denied"),
        (subprocess.TimeoutExpired(["x"], 0.5, output=CANARY.encode()), "no answer within 7 s"),
    ],
)
def test_helper_cannot_run(
    env: dict[str, str], home: Path, raises: BaseException, expected: str
) -> None:
    write_json(docker_config(home), {"credsStore": "store"})
    with pytest.raises(CredentialError, match=expected) as info:
        find_credential("ghcr.io", env=env, run_helper=FakeRunner(raises=raises), helper_timeout=7)
    assert "ghcr.io" in str(info.value)
    assert not any(CANARY in text for text in exception_texts(info.value))


@pytest.mark.parametrize(
    "stdout",
    [
        b"",
        b"not json " + CANARY.encode(),
        b'{"Username": "u", "Secret": "' + CANARY.encode(),
        b'["u", "' + CANARY.encode() + b'"]',
        b"\xff\xfe" + CANARY.encode(),
        b"[" * 100_000,
    ],
)
def test_helper_answer_that_is_not_json_is_an_error_without_the_output(
    env: dict[str, str], home: Path, stdout: bytes
) -> None:
    write_json(docker_config(home), {"credsStore": "store"})
    with pytest.raises(CredentialError, match="not a JSON object") as info:
        find_credential("ghcr.io", env=env, run_helper=FakeRunner(stdout=stdout))
    assert not any(CANARY in text for text in exception_texts(info.value))


def test_helper_answer_with_wrong_types(env: dict[str, str], home: Path) -> None:
    write_json(docker_config(home), {"credsStore": "store"})
    runner = FakeRunner(stdout=json.dumps({"Username": "u", "Secret": 12345}).encode())
    with pytest.raises(CredentialError, match='"Secret" in its answer is not a string'):
        find_credential("ghcr.io", env=env, run_helper=runner)


@pytest.mark.parametrize("name", ["../evil", "a/b", "..", "a\\b", "nul\x00"])
def test_helper_names_with_paths_are_refused(env: dict[str, str], home: Path, name: str) -> None:
    write_json(docker_config(home), {"credsStore": name})
    runner = FakeRunner.answering("u", "p")
    with pytest.raises(CredentialError, match="not a valid helper name"):
        find_credential("ghcr.io", env=env, run_helper=runner)
    assert runner.calls == []


# -- helpers: real executables on env["PATH"] --------------------------------------------------


def write_helper(bin_dir: Path, name: str, script: str) -> Path:
    path = bin_dir / f"docker-credential-{name}"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def test_real_helper_is_run_from_env_path(
    env: dict[str, str], home: Path, bin_dir: Path, tmp_path: Path
) -> None:
    received = tmp_path / "received"
    write_helper(
        bin_dir,
        "real",
        f'test "$1" = get || exit 9\ncat > "{received}"\n'
        """printf '{"ServerURL":"x","Username":"alice","Secret":"pw"}'\n""",
    )
    write_json(docker_config(home), {"credHelpers": {DOCKER_HUB_KEY: "real"}})
    credential = find_credential("registry-1.docker.io", env=env)
    assert credential is not None
    assert (credential.username, credential.password) == ("alice", "pw")
    assert received.read_bytes() == DOCKER_HUB_KEY.encode()


def test_real_helper_gets_the_environment(env: dict[str, str], home: Path, bin_dir: Path) -> None:
    write_helper(
        bin_dir,
        "envy",
        """cat >/dev/null\nprintf '{"Username":"%s","Secret":"pw"}' "$HELPER_USER"\n""",
    )
    write_json(docker_config(home), {"credsStore": "envy"})
    env["HELPER_USER"] = "from-env"
    credential = find_credential("ghcr.io", env=env)
    assert credential is not None
    assert credential.username == "from-env"


def test_real_helper_not_found(env: dict[str, str], home: Path, bin_dir: Path) -> None:
    write_helper(
        bin_dir,
        "empty",
        "cat >/dev/null\necho 'credentials not found in native keychain'\nexit 1\n",
    )
    write_json(docker_config(home), {"credsStore": "empty"})
    assert find_credential("ghcr.io", env=env) is None


def test_real_helper_failure_reports_stderr(env: dict[str, str], home: Path, bin_dir: Path) -> None:
    write_helper(bin_dir, "broken", "cat >/dev/null\necho 'gpg: decryption failed' >&2\nexit 3\n")
    write_json(docker_config(home), {"credsStore": "broken"})
    with pytest.raises(CredentialError) as info:
        find_credential("ghcr.io", env=env)
    message = str(info.value)
    assert "docker-credential-broken" in message
    assert "ghcr.io" in message
    assert "exit status 3" in message
    assert "gpg: decryption failed" in message


def test_real_helper_that_prints_its_secret_and_fails(
    env: dict[str, str], home: Path, bin_dir: Path
) -> None:
    write_helper(
        bin_dir,
        "leaky",
        f"""cat >/dev/null\nprintf '{{"Username":"u","Secret":"{CANARY}"}}\\n'\n"""
        f"""printf '"{CANARY}"\\n' >&2\nexit 1\n""",
    )
    write_json(docker_config(home), {"credsStore": "leaky"})
    with pytest.raises(CredentialError, match="exit status 1") as info:
        find_credential("ghcr.io", env=env)
    assert not any(CANARY in text for text in exception_texts(info.value))


def test_real_helper_missing_binary(env: dict[str, str], home: Path) -> None:
    write_json(docker_config(home), {"credHelpers": {"ghcr.io": "nowhere"}})
    with pytest.raises(CredentialError, match="docker-credential-nowhere is not on PATH"):
        find_credential("ghcr.io", env=env)


def test_real_helper_not_executable(env: dict[str, str], home: Path, bin_dir: Path) -> None:
    (bin_dir / "docker-credential-noexec").write_text("#!/bin/sh\n")
    write_json(docker_config(home), {"credsStore": "noexec"})
    with pytest.raises(CredentialError, match="not on PATH"):
        find_credential("ghcr.io", env=env)


def test_real_helper_timeout(env: dict[str, str], home: Path, bin_dir: Path) -> None:
    write_helper(bin_dir, "slow", f"printf '{CANARY}'\nexec sleep 30\n")
    write_json(docker_config(home), {"credsStore": "slow"})
    started = time.monotonic()
    with pytest.raises(CredentialError, match=r"no answer within 0\.3 s") as info:
        find_credential("ghcr.io", env=env, helper_timeout=0.3)
    assert time.monotonic() - started < 10
    assert "docker-credential-slow" in str(info.value)
    assert not any(CANARY in text for text in exception_texts(info.value))


# -- malformed files ---------------------------------------------------------------------------


def test_malformed_json_names_the_file_and_position(env: dict[str, str], home: Path) -> None:
    path = docker_config(home)
    path.parent.mkdir()
    path.write_text('{\n  "auths": {\n    "ghcr.io": {"auth": "' + CANARY + '"}\n  },,\n}\n')
    with pytest.raises(CredentialError) as info:
        find_credential("ghcr.io", env=env)
    message = str(info.value)
    assert str(path) in message
    assert "line 4 column 5" in message
    assert not any(CANARY in text for text in exception_texts(info.value))


def test_malformed_file_is_an_error_even_if_a_later_file_would_match(
    env: dict[str, str], tmp_path: Path, home: Path
) -> None:
    explicit = tmp_path / "explicit.json"
    explicit.write_text("{")
    env["REGISTRY_AUTH_FILE"] = str(explicit)
    write_json(docker_config(home), entry_for("docker"))
    with pytest.raises(CredentialError, match=f"{explicit}: invalid JSON at line 1 column 2"):
        find_credential("ghcr.io", env=env)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\xff\xfe{}", "not UTF-8 (byte offset 0)"),
        (b"[" * 100_000, "invalid JSON"),
        (b'{"x": ' + b"9" * 5000 + b"}", "a value cannot be decoded"),
        (b"[]", "the top level is not a JSON object"),
        (b'{"auths": []}', '"auths" is not a JSON object'),
        (b'{"credHelpers": "x"}', '"credHelpers" is not a JSON object'),
        (b'{"credHelpers": {"quay.io": 1}}', "credHelpers['quay.io'] is not a string"),
        (b'{"credsStore": 1}', '"credsStore" is not a string'),
        (b'{"auths": {"ghcr.io": "x"}}', "auths['ghcr.io'] is not a JSON object"),
        (b'{"auths": {"ghcr.io": {"auth": 1}}}', "auths['ghcr.io']: \"auth\" is not a string"),
        (
            b'{"auths": {"ghcr.io": {"identitytoken": []}}}',
            "auths['ghcr.io']: \"identitytoken\" is not a string",
        ),
    ],
)
def test_malformed_files(env: dict[str, str], home: Path, content: bytes, expected: str) -> None:
    path = docker_config(home)
    path.parent.mkdir()
    path.write_bytes(content)
    with pytest.raises(CredentialError) as info:
        find_credential("ghcr.io", env=env)
    assert str(info.value).startswith(f"credential file {path}")
    assert expected in str(info.value)


@pytest.mark.parametrize(
    ("auth", "expected"),
    [
        (CANARY + "!", "not base64"),
        (base64.b64encode(CANARY.encode()).decode().rstrip("="), "not base64"),
        ("é" + CANARY, "not base64"),
        (base64.b64encode(b"\xff" + CANARY.encode()).decode(), "not base64"),
        (b64(CANARY), 'does not decode to "user:password"'),
        (b64(":" + CANARY), 'does not decode to "user:password"'),
    ],
)
def test_bad_auth_field_names_file_and_key_but_not_the_value(
    env: dict[str, str], home: Path, auth: str, expected: str
) -> None:
    path = write_json(docker_config(home), {"auths": {"https://ghcr.io/v2/": {"auth": auth}}})
    with pytest.raises(CredentialError) as info:
        find_credential("ghcr.io", env=env)
    message = str(info.value)
    assert str(path) in message
    assert "'https://ghcr.io/v2/'" in message
    assert expected in message
    assert auth not in message
    assert not any(CANARY in text for text in exception_texts(info.value))


def test_bad_entries_for_other_hosts_are_not_decoded(env: dict[str, str], home: Path) -> None:
    write_json(
        docker_config(home),
        {"auths": {"quay.io": {"auth": "!!!"}, "ghcr.io": auth_entry("alice", "pw")}},
    )
    assert found_user(env) == "alice"


def test_unreadable_file_is_an_error(env: dict[str, str], home: Path) -> None:
    docker_config(home).mkdir(parents=True)  # a directory where the file should be
    with pytest.raises(CredentialError, match="cannot read credential file"):
        find_credential("ghcr.io", env=env)


def test_path_through_a_file_counts_as_missing(env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("")
    env["DOCKER_CONFIG"] = str(tmp_path / "plain")
    assert find_credential("ghcr.io", env=env) is None


def test_oversized_file_is_refused(
    env: dict[str, str], home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(credential_files, "MAX_CONFIG_BYTES", 64)
    write_json(docker_config(home), {"auths": {"ghcr.io": {"auth": "x" * 100}}})
    with pytest.raises(CredentialError, match="larger than 64 bytes"):
        find_credential("ghcr.io", env=env)


# -- secrets never leak ------------------------------------------------------------------------


def test_canary_secret_appears_in_no_repr_str_or_error(env: dict[str, str], home: Path) -> None:
    """Every way a secret can reach a credential or an error, and everywhere it could show."""
    path = docker_config(home)
    found: list[Credential] = []
    errors: list[CredentialError] = []

    def attempt(
        document: object = None, raw: str | None = None, run_helper: FakeRunner | None = None
    ) -> None:
        if raw is not None:
            path.parent.mkdir(exist_ok=True)
            path.write_text(raw)
        else:
            write_json(path, document)
        try:
            credential = find_credential("ghcr.io", env=env, run_helper=run_helper)
        except CredentialError as exc:
            errors.append(exc)
        else:
            assert credential is not None
            found.append(credential)

    attempt({"auths": {"ghcr.io": auth_entry("alice", CANARY)}})
    attempt({"auths": {"ghcr.io": {"username": "alice", "password": CANARY}}})
    attempt({"auths": {"ghcr.io": {"identitytoken": CANARY}}})
    attempt({"credsStore": "s"}, run_helper=FakeRunner.answering("alice", CANARY))
    attempt({"credsStore": "s"}, run_helper=FakeRunner.answering("<token>", CANARY))
    attempt({"auths": {"ghcr.io": {"auth": CANARY}}})
    attempt({"auths": {"ghcr.io": {"auth": b64(CANARY)}}})
    attempt(raw='{"auths": {"ghcr.io": {"auth": "' + b64("a:" + CANARY) + '"}}')
    attempt(raw='{"auths": {"ghcr.io": {"auth": "' + CANARY + "\x01" + '"}}}')
    attempt({"credsStore": "s"}, run_helper=FakeRunner(stdout=CANARY.encode()))
    attempt(
        {"credsStore": "s"},
        run_helper=FakeRunner(returncode=1, stdout=json.dumps({"Secret": CANARY}).encode()),
    )
    attempt(
        {"credsStore": "s"},
        run_helper=FakeRunner(raises=subprocess.TimeoutExpired(["x"], 1, CANARY.encode())),
    )

    assert len(found) == 5
    assert len(errors) == 7
    for credential in found:
        assert CANARY in (credential.password + credential.identity_token)
        for text in (repr(credential), str(credential), credential.source, credential.username):
            assert CANARY not in text
    for error in errors:
        for text in exception_texts(error):
            assert CANARY not in text


# -- property: untrusted bytes -----------------------------------------------------------------

_KEYS = st.sampled_from(
    ["ghcr.io", "https://ghcr.io/v2/", "GHCR.IO/v1/", "ghcr.io/org", "docker.io", "", "x"]
)
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=12))
_AUTHS = st.one_of(
    st.text(max_size=12),
    st.binary(max_size=12).map(lambda raw: base64.b64encode(raw).decode()),
    st.text(max_size=12).map(b64),
)
_ENTRIES = st.one_of(
    _SCALARS,
    st.dictionaries(
        st.sampled_from(["auth", "Auth", "username", "password", "identitytoken", "email"]),
        st.one_of(_SCALARS, _AUTHS),
        max_size=4,
    ),
)
_DOCUMENTS = st.one_of(
    _SCALARS,
    st.dictionaries(
        st.sampled_from(["auths", "credHelpers", "credsStore", "AUTHS", "other"]),
        st.one_of(
            _SCALARS,
            st.dictionaries(_KEYS, _ENTRIES, max_size=4),
            st.lists(_SCALARS, max_size=3),
        ),
        max_size=4,
    ),
)
_FILE_CONTENTS = st.one_of(
    st.binary(max_size=300),
    _DOCUMENTS.map(lambda document: json.dumps(document).encode()),
    _DOCUMENTS.map(lambda document: json.dumps(document).encode()[:-1]),
)


@settings(max_examples=300, deadline=None)
@given(content=_FILE_CONTENTS, host=st.sampled_from(["ghcr.io", "docker.io", "localhost:5000"]))
def test_any_file_content_gives_a_result_or_credential_error(content: bytes, host: str) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory, "auth.json")
        path.write_bytes(content)
        env = {"REGISTRY_AUTH_FILE": str(path), "PATH": directory}
        try:
            result = find_credential(host, env=env, run_helper=FakeRunner.not_found())
        except CredentialError:
            return
        assert result is None or isinstance(result, Credential)
