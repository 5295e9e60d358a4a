"""The Action's inputs (``ML_*`` variables) read and checked: a bad one is an
:class:`~manifest_lint.errors.InputError` (exit code 2), before anything runs."""

from __future__ import annotations

import glob
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from manifest_lint.errors import InputError
from manifest_lint.sources.registry.credential_files import DOCKER_HUB_KEY

FAIL_ON_VALUES: Final = ("error", "warning", "info")
_HUB_HOSTS: Final = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
_HOST_RE: Final = re.compile(r"^(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9._-]*[a-z0-9])?)(:[0-9]{1,5})?$")


@dataclass(frozen=True)
class Inputs:
    """The action's inputs, checked."""

    references: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    policies: tuple[str, ...] = ()
    exceptions: tuple[str, ...] = ()
    config: str = ""
    fail_on: str = ""
    offline: bool = False
    registry: str = ""
    username: str = ""
    password: str = field(default="", repr=False)
    github_token: str = field(default="", repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Inputs:
        """Read and check the ``ML_*`` variables; raises :class:`InputError`."""
        references = tuple(input_lines(env.get("ML_REFERENCES", ""), comments=True))
        for reference in references:
            if reference.startswith("-"):
                raise InputError(f"references: {reference!r} is not an image reference")
        files = tuple(input_lines(env.get("ML_FILES", ""), comments=False))
        if not references and not files:
            raise InputError(
                "give image references (input `references`) or files to scan (input `files`)"
            )
        fail_on = env.get("ML_FAIL_ON", "").strip().lower()
        if fail_on and fail_on not in FAIL_ON_VALUES:
            raise InputError(
                f"fail-on must be one of {', '.join(FAIL_ON_VALUES)}, not "
                f"{env.get('ML_FAIL_ON', '')!r}"
            )
        offline_text = env.get("ML_OFFLINE", "").strip().lower()
        if offline_text not in ("", "true", "false"):
            raise InputError(f"offline must be true or false, not {env.get('ML_OFFLINE', '')!r}")
        username = env.get("ML_USERNAME", "").strip()
        password = env.get("ML_PASSWORD", "")
        registry = env.get("ML_REGISTRY", "").strip()
        if bool(username) != bool(password):
            missing = "password" if username else "username"
            raise InputError(f"username and password go together: {missing} is empty")
        if ":" in username or "\n" in username:
            raise InputError("username must not contain ':' or a line break")
        if username and not registry:
            registry = "docker.io"
        if registry:
            registry_key(registry)  # checked here, so a bad one is a usage error
        return cls(
            references=references,
            files=files,
            policies=tuple(input_lines(env.get("ML_POLICIES", ""), comments=False)),
            exceptions=tuple(input_lines(env.get("ML_EXCEPTIONS", ""), comments=False)),
            config=env.get("ML_CONFIG", "").strip(),
            fail_on=fail_on,
            offline=offline_text == "true",
            registry=registry,
            username=username,
            password=password,
            github_token=env.get("ML_GITHUB_TOKEN", "").strip(),
        )


def input_lines(text: str, *, comments: bool) -> Iterator[str]:
    """The non-blank lines of ``text``, stripped; with ``comments``, a ``#`` starts a
    comment (as in a ``--refs-file``)."""
    for raw in text.splitlines():
        line = (raw.partition("#")[0] if comments else raw).strip()
        if line:
            yield line


def registry_key(registry: str) -> str:
    """The ``auths`` key docker writes for ``registry``: ``host[:port]``, or
    ``https://index.docker.io/v1/`` for Docker Hub. Raises :class:`InputError`."""
    text = registry.strip().lower()
    for scheme in ("https://", "http://"):
        if text.startswith(scheme):
            text = text[len(scheme) :]
            break
    host = text.partition("/")[0]
    if not _HOST_RE.match(host):
        raise InputError(f"registry {registry!r} is not a host[:port]")
    return DOCKER_HUB_KEY if host in _HUB_HOSTS else host


def expand_files(patterns: tuple[str, ...], cwd: Path) -> list[str]:
    """Paths and globs (``**`` allowed) -> the files, in order, without duplicates.

    A plain path is kept as written (the CLI reports one that cannot be read); a glob
    that matches no file is an :class:`InputError`.
    """
    out: list[str] = []
    for pattern in patterns:
        if any(char in pattern for char in "*?["):
            matches = sorted(
                m for m in glob.glob(pattern, root_dir=cwd, recursive=True) if (cwd / m).is_file()
            )
            if not matches:
                raise InputError(f"files: {pattern!r} matches no file")
        else:
            matches = [pattern]
        for name in matches:
            # A file named like an option must not be read as one.
            name = f"./{name}" if name.startswith("-") else name
            if name not in out:
                out.append(name)
    return out
