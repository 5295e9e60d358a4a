"""Docker's and podman's credential files: where they are, what they say for a host.

Every file has docker's ``config.json`` layout (``auths``, ``credHelpers``,
``credsStore``); which of them answers is decided by
:func:`manifest_lint.sources.registry.credentials.find_credential`. Field names are
matched as Go's ``encoding/json`` matches them: exactly, else case-insensitively.

Keys are normalised before matching: a ``http://`` or ``https://`` prefix and
anything after the host are dropped (``https://host/v2/`` is ``host``); a key
without a scheme may end in ``/``, ``/v1/`` or ``/v2/``, and any other path
(podman's namespace keys such as ``quay.io/org``) is not a host-wide entry and
is ignored. Host names compare case-insensitively and ports must be equal.
``docker.io``, ``index.docker.io`` and ``registry-1.docker.io`` (and docker's
``https://index.docker.io/v1/``) are one registry. When several keys match,
the one written exactly as docker writes it (the host, or
``https://index.docker.io/v1/`` for Docker Hub) wins, else the first in the file.

A file's text, and what an ``auth`` field decodes to, never appear in a message or
in an exception chain.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from manifest_lint.errors import CredentialError
from manifest_lint.sources.registry.credential import Credential

#: Larger credential files are refused rather than read.
MAX_CONFIG_BYTES: Final = 4 * 1024 * 1024
#: The key docker uses for Docker Hub, in files and towards helpers.
DOCKER_HUB_KEY: Final = "https://index.docker.io/v1/"

HUB_HOSTS: Final = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
HUB: Final = "docker.io"


# -- where the files are --------------------------------------------------------------------


def config_paths(env: Mapping[str, str]) -> list[Path]:
    home = env.get("HOME", "")
    paths: list[Path] = []
    if auth_file := env.get("REGISTRY_AUTH_FILE", ""):
        paths.append(Path(auth_file))
    if runtime_dir := env.get("XDG_RUNTIME_DIR", ""):
        paths.append(Path(runtime_dir, "containers", "auth.json"))
    if config_home := env.get("XDG_CONFIG_HOME", ""):
        paths.append(Path(config_home, "containers", "auth.json"))
    elif home:
        paths.append(Path(home, ".config", "containers", "auth.json"))
    if docker_config := env.get("DOCKER_CONFIG", ""):
        paths.append(Path(docker_config, "config.json"))
    elif home:
        paths.append(Path(home, ".docker", "config.json"))
    return paths


# -- reading a file -------------------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    path: Path
    auths: Mapping[str, object]
    cred_helpers: Mapping[str, str]
    creds_store: str


def read_config(path: Path) -> Config | None:
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_CONFIG_BYTES + 1)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise CredentialError(
            f"cannot read credential file {path}: {exc.strerror or type(exc).__name__}"
        ) from exc
    if len(raw) > MAX_CONFIG_BYTES:
        raise CredentialError(
            f"credential file {path} is larger than {MAX_CONFIG_BYTES} bytes; not read"
        )
    # The parse errors below hold the file's text (exc.doc, exc.object): their
    # messages are built inside the except blocks and raised outside them, so
    # no exception chain carries the text.
    problem = ""
    document: object = None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        problem = f"not UTF-8 (byte offset {exc.start})"
    else:
        if not text.strip():
            return Config(path, {}, {}, "")  # docker accepts an empty file
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            problem = f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        except RecursionError:
            problem = "invalid JSON: nested too deeply"
        except ValueError:
            problem = "invalid JSON: a value cannot be decoded (e.g. a number too long)"
    if problem:
        raise CredentialError(f"credential file {path}: {problem}")
    return parse_config(path, document)


def parse_config(path: Path, document: object) -> Config:
    if not isinstance(document, dict):
        raise CredentialError(f"credential file {path}: the top level is not a JSON object")
    auths = json_field(document, "auths")
    if auths is None:
        auths = {}
    elif not isinstance(auths, dict):
        raise CredentialError(f'credential file {path}: "auths" is not a JSON object')
    helpers = json_field(document, "credHelpers")
    if helpers is None:
        helpers = {}
    elif not isinstance(helpers, dict):
        raise CredentialError(f'credential file {path}: "credHelpers" is not a JSON object')
    for key, name in helpers.items():
        if not isinstance(name, str):
            raise CredentialError(f"credential file {path}: credHelpers[{key!r}] is not a string")
    store = json_field(document, "credsStore")
    if store is None:
        store = ""
    elif not isinstance(store, str):
        raise CredentialError(f'credential file {path}: "credsStore" is not a string')
    return Config(path, auths, helpers, store)


def json_field(obj: Mapping[str, object], name: str) -> object:
    """``obj[name]``, matched like Go's encoding/json: exactly, else ignoring case."""
    if name in obj:
        return obj[name]
    folded = name.casefold()
    for key, value in obj.items():
        if key.casefold() == folded:
            return value
    return None


# -- matching a host ------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    name: str  # normalised host[:port]; Docker Hub is "docker.io"
    docker_key: str  # how docker writes it: the host, or DOCKER_HUB_KEY
    display: str  # the host as asked for, for messages

    @classmethod
    def of(cls, host: str) -> Target | None:
        stripped = host.strip()
        lowered = stripped.lower()
        for scheme in ("https://", "http://"):
            if lowered.startswith(scheme):
                lowered = lowered[len(scheme) :]
                break
        name = lowered.partition("/")[0]
        if not name:
            return None
        if name in HUB_HOSTS:
            return cls(HUB, DOCKER_HUB_KEY, stripped)
        return cls(name, name, stripped)


def normalise_key(key: str) -> str | None:
    """The host a file key applies to, or None for namespace keys and junk."""
    lowered = key.lower()
    for scheme in ("https://", "http://"):
        if lowered.startswith(scheme):
            host = lowered[len(scheme) :].partition("/")[0]
            break
    else:
        host, _, rest = lowered.partition("/")
        if rest.strip("/") not in ("", "v1", "v2"):
            return None  # podman's registry/namespace key: not for the whole host
    if not host:
        return None
    return HUB if host in HUB_HOSTS else host


def best_key(entries: Mapping[str, object], target: Target) -> str | None:
    if target.docker_key in entries:
        return target.docker_key
    for key in entries:
        if normalise_key(key) == target.name:
            return key
    return None


# -- an auths entry -------------------------------------------------------------------------


def decode_entry(path: Path, key: str, entry: object) -> Credential | None:
    where = f"credential file {path}: auths[{key!r}]"
    if not isinstance(entry, dict):
        raise CredentialError(f"{where} is not a JSON object")
    values: dict[str, str] = {}
    for name in ("auth", "username", "password", "identitytoken"):
        value = json_field(entry, name)
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise CredentialError(f'{where}: "{name}" is not a string')
        values[name] = value
    if values["auth"]:
        username, password = decode_auth(where, values["auth"])
    else:
        username, password = values["username"], values["password"]
    token = values["identitytoken"]
    if not ((username and password) or token):
        return None
    return Credential(username, password, token, source=f"{path} auths[{key!r}]")


def decode_auth(where: str, value: str) -> tuple[str, str]:
    # Messages name the file and key only; the value and what it decodes to
    # stay out of them (and out of any exception chain).
    decoded = ""
    problem = ""
    try:
        # Go's decoder skips line breaks, so this one does too.
        compact = value.replace("\r", "").replace("\n", "")
        decoded = base64.b64decode(compact.encode("ascii"), validate=True).decode("utf-8")
    except (UnicodeError, binascii.Error):
        problem = 'the "auth" field is not base64 of UTF-8 text'
    if problem:
        raise CredentialError(f"{where}: {problem}")
    username, colon, password = decoded.partition(":")
    if not colon or not username:
        raise CredentialError(f'{where}: the "auth" field does not decode to "user:password"')
    return username, password.strip("\x00")
