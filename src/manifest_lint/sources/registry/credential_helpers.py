"""Credential helpers: ``docker-credential-<name> get``, as docker and podman run them.

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

import errno
import json
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from typing import Final, Protocol

from manifest_lint.errors import CredentialError
from manifest_lint.sources.registry.credential import Credential
from manifest_lint.sources.registry.credential_files import Target, json_field

#: Seconds a credential helper may take before it is killed.
HELPER_TIMEOUT: Final = 30.0

_HELPER_PREFIX: Final = "docker-credential-"
_NOT_FOUND: Final = "credentials not found in native keychain"
_TOKEN_USERNAME: Final = "<token>"
_DETAIL_LIMIT: Final = 200


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
    # An argument list, no shell; ask_helper has checked the name has no path in it.
    return subprocess.run(
        [program, *argv[1:]],
        input=stdin,
        capture_output=True,
        timeout=timeout,
        env=dict(env),
        check=False,
    )


def ask_helper(
    helper: str,
    server_url: str,
    target: Target,
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
    username = json_field(reply, "Username")
    secret = json_field(reply, "Secret")
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
