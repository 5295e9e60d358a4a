"""Registry credentials, found where docker and podman keep them.

:func:`find_credential` answers "which credential would the container tools use
for this registry host?" without ever putting a secret into a message.

Files, in the order they are searched (``$VAR`` comes from the ``env`` given,
``os.environ`` by default; an unset or empty variable skips its file):

1. ``$REGISTRY_AUTH_FILE`` (podman, skopeo, buildah);
2. ``$XDG_RUNTIME_DIR/containers/auth.json`` (podman's primary file);
3. ``$XDG_CONFIG_HOME/containers/auth.json``, ``$XDG_CONFIG_HOME`` defaulting
   to ``$HOME/.config``;
4. ``$DOCKER_CONFIG/config.json`` if ``DOCKER_CONFIG`` is set, else
   ``$HOME/.docker/config.json``.

The first file that gives a credential for the host wins; a missing file, or
one with nothing for the host, passes the search on to the next. A file that
exists but cannot be read or parsed is an error, not a skip. This is podman's
search with two differences: podman reads *only* ``REGISTRY_AUTH_FILE`` when it
is set (here it merely comes first), and it ignores ``credsStore``. Docker reads
only file 4. Not read at all: podman's legacy ``~/.dockercfg``,
``/run/containers/$UID/auth.json`` and the ``credential-helpers`` of
``registries.conf``.

Within one file (every file has docker's ``config.json`` layout):

* ``credHelpers[host]`` names a helper: its answer is the file's answer. An
  empty name means "no helper for this host", so ``credsStore`` is skipped and
  ``auths`` is read, as docker does.
* otherwise ``credsStore`` (if set) names a helper for every host; its answer is
  the file's answer.
* otherwise ``auths[host]``: ``auth`` (base64 of ``user:password``, split at the
  first colon) or else ``username`` and ``password``, plus ``identitytoken``.
  An entry counts only if it gives a user name and password, or an identity
  token; docker's empty ``{}`` markers do not.

As in docker, ``auths`` is not consulted when a helper applies, even if the
helper says it has nothing ("credentials not found in native keychain"); that
answer passes the search on to the next file. Field names are matched as Go's
``encoding/json`` matches them: exactly, else case-insensitively.

Keys are normalised before matching: a ``http://`` or ``https://`` prefix and
anything after the host are dropped (``https://host/v2/`` is ``host``); a key
without a scheme may end in ``/``, ``/v1/`` or ``/v2/``, and any other path
(podman's namespace keys such as ``quay.io/org``) is not a host-wide entry and
is ignored. Host names compare case-insensitively and ports must be equal.
``docker.io``, ``index.docker.io`` and ``registry-1.docker.io`` (and docker's
``https://index.docker.io/v1/``) are one registry. When several keys match,
the one written exactly as docker writes it (the host, or
``https://index.docker.io/v1/`` for Docker Hub) wins, else the first in the file.

Credential helpers follow the docker-credential-helpers protocol: the program
``docker-credential-<name>`` is looked up on the ``PATH`` of ``env`` and run as
``docker-credential-<name> get`` (an argument list, no shell) with the server
URL on stdin: the ``credHelpers`` key as written, or for ``credsStore`` the host
(``https://index.docker.io/v1/`` for Docker Hub). It must answer
``{"ServerURL", "Username", "Secret"}`` as JSON; ``Username`` ``<token>`` makes
``Secret`` an identity token; an empty ``Secret`` counts as no credential.

What error messages may say about a failed helper: its name, the host, its exit
status, and the first non-blank line of its stdout (where the protocol puts
error text) and of its stderr, each cut to 200 characters, with non-printable
characters replaced. A line that starts like JSON (``{``, ``[``, ``"``) is left
out, since it may be the credential itself; output of a helper that exited 0 is
never shown. Errors about a secret-bearing value are raised outside the
``except`` block that caught the parse error, so no chained exception carries
the file's or the helper's text.
"""

from __future__ import annotations

import base64
import binascii
import errno
import json
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Protocol

from manifest_lint.errors import CredentialError

#: Seconds a credential helper may take before it is killed.
HELPER_TIMEOUT: Final = 30.0
#: Larger credential files are refused rather than read.
MAX_CONFIG_BYTES: Final = 4 * 1024 * 1024
#: The key docker uses for Docker Hub, in files and towards helpers.
DOCKER_HUB_KEY: Final = "https://index.docker.io/v1/"

_HUB_HOSTS: Final = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
_HUB: Final = "docker.io"
_HELPER_PREFIX: Final = "docker-credential-"
_NOT_FOUND: Final = "credentials not found in native keychain"
_TOKEN_USERNAME: Final = "<token>"
_DETAIL_LIMIT: Final = 200


@dataclass(frozen=True)
class Credential:
    """A user name and password and/or an OAuth2 identity (refresh) token.

    ``source`` says where it was found, e.g. ``"/home/me/.docker/config.json
    auths['ghcr.io']"``; it never holds a secret. ``repr()`` and ``str()`` show
    whether a password or token is present, never its value.
    """

    username: str = ""
    password: str = field(default="", repr=False)
    identity_token: str = field(default="", repr=False)
    source: str = ""

    def __repr__(self) -> str:
        password = "<set>" if self.password else "<empty>"
        token = "<set>" if self.identity_token else "<empty>"
        return (
            f"Credential(username={self.username!r}, password={password}, "
            f"identity_token={token}, source={self.source!r})"
        )

    __str__ = __repr__


class HelperRunner(Protocol):
    """Runs a credential helper: ``argv[0]`` is the bare program name.

    Returns the finished process; raises :class:`OSError` (e.g.
    :class:`FileNotFoundError`) if it cannot be started and
    :class:`subprocess.TimeoutExpired` if it runs past ``timeout``.
    """

    def __call__(
        self, argv: Sequence[str], *, stdin: bytes, timeout: float, env: Mapping[str, str]
    ) -> subprocess.CompletedProcess[bytes]: ...


def run_helper_process(
    argv: Sequence[str], *, stdin: bytes, timeout: float, env: Mapping[str, str]
) -> subprocess.CompletedProcess[bytes]:
    """The default :class:`HelperRunner`: find ``argv[0]`` on ``env["PATH"]`` and run it."""
    program = shutil.which(argv[0], path=env.get("PATH", os.defpath))
    if program is None:
        raise FileNotFoundError(errno.ENOENT, "not found on PATH", argv[0])
    # An argument list, no shell; _ask_helper has checked the name has no path in it.
    return subprocess.run(
        [program, *argv[1:]],
        input=stdin,
        capture_output=True,
        timeout=timeout,
        env=dict(env),
        check=False,
    )


def find_credential(
    host: str,
    *,
    env: Mapping[str, str] | None = None,
    run_helper: HelperRunner | None = None,
    helper_timeout: float = HELPER_TIMEOUT,
) -> Credential | None:
    """The credential docker/podman would use for ``host``, or ``None``.

    ``host`` is the registry's ``host[:port]`` as requests go to it
    (``registry-1.docker.io``, ``ghcr.io``, ``localhost:5000``). ``env``
    (default ``os.environ``) supplies ``HOME``, the file locations and the
    helpers' ``PATH`` and environment. ``run_helper`` replaces the subprocess
    call (for tests). Raises :class:`CredentialError` if a file exists but is
    unreadable or malformed, or a helper fails; see the module docstring for
    the search order.
    """
    environ: Mapping[str, str] = os.environ if env is None else env
    runner: HelperRunner = run_helper_process if run_helper is None else run_helper
    target = _Target.of(host)
    if target is None:
        return None
    seen: set[Path] = set()
    for path in _config_paths(environ):
        if path in seen:
            continue
        seen.add(path)
        config = _read_config(path)
        if config is None:
            continue
        credential = _lookup(config, target, environ, runner, helper_timeout)
        if credential is not None:
            return credential
    return None


# -- where the files are --------------------------------------------------------------------


def _config_paths(env: Mapping[str, str]) -> list[Path]:
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


# -- reading a file ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Config:
    path: Path
    auths: Mapping[str, object]
    cred_helpers: Mapping[str, str]
    creds_store: str


def _read_config(path: Path) -> _Config | None:
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
            return _Config(path, {}, {}, "")  # docker accepts an empty file
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
    return _parse_config(path, document)


def _parse_config(path: Path, document: object) -> _Config:
    if not isinstance(document, dict):
        raise CredentialError(f"credential file {path}: the top level is not a JSON object")
    auths = _field(document, "auths")
    if auths is None:
        auths = {}
    elif not isinstance(auths, dict):
        raise CredentialError(f'credential file {path}: "auths" is not a JSON object')
    helpers = _field(document, "credHelpers")
    if helpers is None:
        helpers = {}
    elif not isinstance(helpers, dict):
        raise CredentialError(f'credential file {path}: "credHelpers" is not a JSON object')
    for key, name in helpers.items():
        if not isinstance(name, str):
            raise CredentialError(f"credential file {path}: credHelpers[{key!r}] is not a string")
    store = _field(document, "credsStore")
    if store is None:
        store = ""
    elif not isinstance(store, str):
        raise CredentialError(f'credential file {path}: "credsStore" is not a string')
    return _Config(path, auths, helpers, store)


def _field(obj: Mapping[str, object], name: str) -> object:
    """``obj[name]``, matched like Go's encoding/json: exactly, else ignoring case."""
    if name in obj:
        return obj[name]
    folded = name.casefold()
    for key, value in obj.items():
        if key.casefold() == folded:
            return value
    return None


# -- matching a host ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    name: str  # normalised host[:port]; Docker Hub is "docker.io"
    docker_key: str  # how docker writes it: the host, or DOCKER_HUB_KEY
    display: str  # the host as asked for, for messages

    @classmethod
    def of(cls, host: str) -> _Target | None:
        stripped = host.strip()
        lowered = stripped.lower()
        for scheme in ("https://", "http://"):
            if lowered.startswith(scheme):
                lowered = lowered[len(scheme) :]
                break
        name = lowered.partition("/")[0]
        if not name:
            return None
        if name in _HUB_HOSTS:
            return cls(_HUB, DOCKER_HUB_KEY, stripped)
        return cls(name, name, stripped)


def _normalise_key(key: str) -> str | None:
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
    return _HUB if host in _HUB_HOSTS else host


def _best_key(entries: Mapping[str, object], target: _Target) -> str | None:
    if target.docker_key in entries:
        return target.docker_key
    for key in entries:
        if _normalise_key(key) == target.name:
            return key
    return None


# -- one file's answer -----------------------------------------------------------------------


def _lookup(
    config: _Config,
    target: _Target,
    env: Mapping[str, str],
    runner: HelperRunner,
    timeout: float,
) -> Credential | None:
    helper_key = _best_key(config.cred_helpers, target)
    if helper_key is not None:
        helper = config.cred_helpers[helper_key]
        if helper:
            origin = f"credHelpers[{helper_key!r}] in {config.path}"
            return _ask_helper(helper, helper_key, target, origin, env, runner, timeout)
    elif config.creds_store:
        origin = f"credsStore in {config.path}"
        return _ask_helper(
            config.creds_store, target.docker_key, target, origin, env, runner, timeout
        )
    key = _best_key(config.auths, target)
    if key is None:
        return None
    return _decode_entry(config.path, key, config.auths[key])


def _decode_entry(path: Path, key: str, entry: object) -> Credential | None:
    where = f"credential file {path}: auths[{key!r}]"
    if not isinstance(entry, dict):
        raise CredentialError(f"{where} is not a JSON object")
    values: dict[str, str] = {}
    for name in ("auth", "username", "password", "identitytoken"):
        value = _field(entry, name)
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise CredentialError(f'{where}: "{name}" is not a string')
        values[name] = value
    if values["auth"]:
        username, password = _decode_auth(where, values["auth"])
    else:
        username, password = values["username"], values["password"]
    token = values["identitytoken"]
    if not ((username and password) or token):
        return None
    return Credential(username, password, token, source=f"{path} auths[{key!r}]")


def _decode_auth(where: str, value: str) -> tuple[str, str]:
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


# -- credential helpers -----------------------------------------------------------------------


def _ask_helper(
    helper: str,
    server_url: str,
    target: _Target,
    origin: str,
    env: Mapping[str, str],
    runner: HelperRunner,
    timeout: float,
) -> Credential | None:
    program = _HELPER_PREFIX + helper
    about = f"credential helper {program} ({origin}) for {target.display}"
    if any(char in helper for char in "/\\\0") or helper in (".", ".."):
        raise CredentialError(f"{about}: not a valid helper name")
    result: subprocess.CompletedProcess[bytes] | None = None
    problem = ""
    try:
        result = runner(
            [program, "get"], stdin=server_url.encode("utf-8"), timeout=timeout, env=env
        )
    except FileNotFoundError as exc:
        raise CredentialError(f"{about}: {program} is not on PATH") from exc
    except OSError as exc:
        raise CredentialError(
            f"{about}: cannot run it: {exc.strerror or type(exc).__name__}"
        ) from exc
    except subprocess.TimeoutExpired:
        # The exception holds whatever the helper wrote so far: not chained.
        problem = f"no answer within {timeout:g} s"
    if result is None:
        raise CredentialError(f"{about}: {problem}")
    if result.returncode != 0:
        if result.stdout.strip() == _NOT_FOUND.encode():
            return None
        raise CredentialError(f"{about}: {_failure(result)}")
    username, secret = _parse_reply(about, result.stdout)
    if not secret:
        return None
    source = f"credential helper {program} ({origin})"
    if username == _TOKEN_USERNAME:
        return Credential(identity_token=secret, source=source)
    return Credential(username, secret, source=source)


def _parse_reply(about: str, stdout: bytes) -> tuple[str, str]:
    # The reply holds the secret: it is never quoted, and the parse error
    # (which keeps the text in .doc/.object) is not chained.
    reply: object = None
    broken = False
    try:
        reply = json.loads(stdout.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        broken = True
    if broken or not isinstance(reply, dict):
        raise CredentialError(
            f"{about}: its answer is not a JSON object (not shown: it may hold the secret)"
        )
    username = _field(reply, "Username")
    secret = _field(reply, "Secret")
    if username is None:
        username = ""
    if secret is None:
        secret = ""
    if not isinstance(username, str) or not isinstance(secret, str):
        raise CredentialError(f'{about}: "Username" or "Secret" in its answer is not a string')
    return username, secret


def _failure(result: subprocess.CompletedProcess[bytes]) -> str:
    if result.returncode < 0:
        status = f"killed by signal {-result.returncode}"
    else:
        status = f"exit status {result.returncode}"
    said = [line for line in (_first_line(result.stdout), _first_line(result.stderr)) if line]
    return status + "".join(f": {line}" for line in said)


def _first_line(data: bytes) -> str:
    for raw_line in data.decode("utf-8", "replace").splitlines():
        line = raw_line.strip()
        if not line:
            continue
        if line.startswith(("{", "[", '"')):
            return ""  # may be the JSON credential
        line = "".join(char if char.isprintable() else "?" for char in line)
        if len(line) > _DETAIL_LIMIT:
            line = line[: _DETAIL_LIMIT - 3] + "..."
        return line
    return ""
