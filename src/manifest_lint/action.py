"""The GitHub Action's entry point: ``python -m manifest_lint.action``.

``action.yml`` (a composite action) installs manifest-lint and runs this module
with its inputs in ``ML_*`` environment variables, never interpolated into a
script. This module

1. masks the secrets (``::add-mask::``) before it prints anything;
2. checks the inputs: bad ones are an ``::error`` and exit code 2;
3. writes the credentials, if any, into a ``config.json`` in a fresh private
   directory, merged over the docker configuration already there (so a
   ``docker/login-action`` for another registry still counts), and points
   ``DOCKER_CONFIG`` (and ``REGISTRY_AUTH_FILE``, when unset, so the file is
   searched first) at it for the run; the directory is deleted afterwards;
4. runs :func:`manifest_lint.cli.main.main` in-process with ``--junit``, ``--sarif``
   and ``--json`` (default paths under ``$RUNNER_TEMP``); with
   ``GITHUB_ACTIONS=true`` the CLI also writes annotations and the job summary;
5. reads the JSON report for the counts and appends the step outputs to
   ``$GITHUB_OUTPUT``;
6. returns the CLI's exit code (0 pass, 1 policy failure, 2 usage, 3 could not
   evaluate).

Inputs (environment variables):

=================  ==========================================================
``ML_REFERENCES``  image references, one per line (``#`` starts a comment)
``ML_FILES``       files or globs (``**`` allowed), one per line: ``scan`` mode
``ML_POLICIES``    policy files or directories, one per line (``--policy``)
``ML_CONFIG``      ``--config``
``ML_FAIL_ON``     ``error``, ``warning``, ``info``, or empty (the config's, else error)
``ML_OFFLINE``     ``true`` or ``false`` (empty: false)
``ML_JUNIT``,      report paths; empty: a file in a new directory under
``ML_SARIF``,      ``$RUNNER_TEMP``
``ML_JSON``
``ML_REGISTRY``    the registry ``ML_USERNAME``/``ML_PASSWORD`` are for
                   (default: Docker Hub)
``ML_USERNAME``,   credentials for ``ML_REGISTRY``
``ML_PASSWORD``
``ML_GITHUB_TOKEN``  used for ghcr.io when nothing else gives a credential for it
=================  ==========================================================

References given alone are passed as arguments (after ``--``), so results carry
no file location; with ``ML_FILES`` they go through a references file, whose
path and line then appear as their location.
"""

from __future__ import annotations

import base64
import contextlib
import glob
import json
import os
import re
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, TextIO

from manifest_lint.cli.exit_codes import ExitCode
from manifest_lint.errors import CredentialError, UsageError
from manifest_lint.reporters.github import escape_data
from manifest_lint.sources.registry.credential_files import DOCKER_HUB_KEY
from manifest_lint.sources.registry.credentials import find_credential

FAIL_ON_VALUES: Final = ("error", "warning", "info")
GHCR: Final = "ghcr.io"
#: The user name sent with the GitHub token when GITHUB_ACTOR is not set.
DEFAULT_GHCR_USER: Final = "github-actions"
_HUB_HOSTS: Final = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
_HOST_RE: Final = re.compile(r"^(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9._-]*[a-z0-9])?)(:[0-9]{1,5})?$")
_SECRET_INPUTS: Final = ("ML_PASSWORD", "ML_GITHUB_TOKEN")


class InputError(UsageError):
    """An input of the action that cannot be used as given (exit code 2)."""


@dataclass(frozen=True)
class Inputs:
    """The action's inputs, checked."""

    references: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    policies: tuple[str, ...] = ()
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
        references = tuple(_lines(env.get("ML_REFERENCES", ""), comments=True))
        for reference in references:
            if reference.startswith("-"):
                raise InputError(f"references: {reference!r} is not an image reference")
        files = tuple(_lines(env.get("ML_FILES", ""), comments=False))
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
            policies=tuple(_lines(env.get("ML_POLICIES", ""), comments=False)),
            config=env.get("ML_CONFIG", "").strip(),
            fail_on=fail_on,
            offline=offline_text == "true",
            registry=registry,
            username=username,
            password=password,
            github_token=env.get("ML_GITHUB_TOKEN", "").strip(),
        )


@dataclass(frozen=True)
class Reports:
    """Absolute paths of the three report files."""

    junit: str
    sarif: str
    json: str


def _lines(text: str, *, comments: bool) -> Iterator[str]:
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


def build_argv(
    inputs: Inputs, files: list[str], reports: Reports, refs_file: str | None
) -> list[str]:
    """The ``manifest-lint`` arguments for ``inputs`` (every value after ``=`` or ``--``,
    so none is read as an option)."""
    argv: list[str] = ["scan"] if files else []
    argv += [f"--policy={policy}" for policy in inputs.policies]
    if inputs.config:
        argv.append(f"--config={inputs.config}")
    if inputs.fail_on:
        argv.append(f"--fail-on={inputs.fail_on}")
    if inputs.offline:
        argv.append("--offline")
    argv += [f"--junit={reports.junit}", f"--sarif={reports.sarif}", f"--json={reports.json}"]
    if files:
        if refs_file is not None:
            argv.append(f"--refs-file={refs_file}")
        argv += ["--", *files]
    else:
        argv += ["--", *inputs.references]
    return argv


def docker_config(
    base: Mapping[str, object], entries: Mapping[str, tuple[str, str]]
) -> dict[str, object]:
    """``base`` (a docker ``config.json``) with ``auths`` entries for ``entries``
    (key -> (user, password)) that win over whatever ``base`` says for those keys:
    a ``credHelpers`` entry (or ``credsStore``) would be asked first, so each key
    also gets an empty ``credHelpers`` entry, which means "no helper" to docker."""
    config: dict[str, object] = dict(base)
    auths_key = _field_name(config, "auths")
    helpers_key = _field_name(config, "credHelpers")
    auths_value = config.get(auths_key)
    helpers_value = config.get(helpers_key)
    auths: dict[str, object] = dict(auths_value) if isinstance(auths_value, dict) else {}
    helpers: dict[str, object] = dict(helpers_value) if isinstance(helpers_value, dict) else {}
    has_store = bool(config.get(_field_name(config, "credsStore")))
    for key, (username, password) in entries.items():
        token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        auths[key] = {"auth": token}
        if helpers or has_store:
            helpers[key] = ""
    config[auths_key] = auths
    if helpers:
        config[helpers_key] = helpers
    return config


def _field_name(obj: Mapping[str, object], name: str) -> str:
    """The key ``obj`` uses for ``name`` (matched as Go's encoding/json does), or ``name``."""
    if name in obj:
        return name
    return next((key for key in obj if key.casefold() == name.casefold()), name)


def _docker_config_path(env: Mapping[str, str]) -> Path | None:
    if env.get("DOCKER_CONFIG"):
        return Path(env["DOCKER_CONFIG"], "config.json")
    if env.get("HOME"):
        return Path(env["HOME"], ".docker", "config.json")
    return None


def _read_base_config(path: Path | None, out: TextIO) -> dict[str, object]:
    if path is None or not path.is_file():
        return {}
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        document = None
    if not isinstance(document, dict):
        # Its text may hold secrets: not quoted.
        message = escape_data(f"{path} is not a JSON object: ignored")
        out.write(f"::warning title=manifest-lint::{message}\n")
        return {}
    return document


def credential_entries(inputs: Inputs, env: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """``auths`` key -> (user, password) for the credentials the inputs give.

    The GitHub token goes to ghcr.io only when no username/password is given for
    ghcr.io and nothing configured already (docker or podman files, helpers) has a
    credential for it.
    """
    entries: dict[str, tuple[str, str]] = {}
    if inputs.username:
        entries[registry_key(inputs.registry)] = (inputs.username, inputs.password)
    if inputs.github_token and GHCR not in entries:
        try:
            configured = find_credential(GHCR, env=env) is not None
        except CredentialError:
            configured = True  # something is configured for it, if broken: leave it be
        if not configured:
            entries[GHCR] = (env.get("GITHUB_ACTOR") or DEFAULT_GHCR_USER, inputs.github_token)
    return entries


def mask(values: list[str], out: TextIO) -> None:
    """``::add-mask::`` each non-empty value (and each line of a multi-line one)."""
    for value in values:
        for part in dict.fromkeys([value, *value.splitlines()]):
            if part.strip():
                out.write(f"::add-mask::{escape_data(part)}\n")
    out.flush()


def format_output(name: str, value: str, *, multiline: bool = False) -> str:
    """One ``$GITHUB_OUTPUT`` entry: ``name=value``, or the heredoc form
    (``name<<DELIMITER``) for a value that has or may have line breaks."""
    if not multiline and "\n" not in value and "\r" not in value:
        return f"{name}={value}\n"
    delimiter = f"ghadelimiter_{uuid.uuid4()}"
    while delimiter in value:  # pragma: no cover - a random UUID in the value
        delimiter = f"ghadelimiter_{uuid.uuid4()}"
    return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


@dataclass(frozen=True)
class Counts:
    passed: int = 0
    failed: int = 0
    errors: int = 0


def write_outputs(path: str, reports: Reports | None, outcome: str, counts: Counts) -> None:
    """Append the step outputs to ``$GITHUB_OUTPUT`` (``path``)."""
    text = ""
    for name in ("junit", "sarif", "json"):
        text += format_output(name, getattr(reports, name) if reports else "", multiline=True)
    text += format_output("outcome", outcome)
    text += format_output("passed", str(counts.passed))
    text += format_output("failed", str(counts.failed))
    text += format_output("errors", str(counts.errors))
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(text)


def read_counts(json_report: str) -> Counts:
    """The counts from a JSON report's summary; zeros if there is no readable report."""
    try:
        with open(json_report, encoding="utf-8") as handle:
            summary = json.load(handle)["summary"]
        return Counts(int(summary["pass"]), int(summary["blockingFailures"]), int(summary["error"]))
    except (OSError, ValueError, KeyError, TypeError):
        return Counts()


def outcome_of(code: int) -> str:
    if code == ExitCode.OK:
        return "pass"
    if code == ExitCode.POLICY_FAILED:
        return "fail"
    return "error"


_REPORT_NAMES: Final = {
    "junit": "manifest-lint.junit.xml",
    "sarif": "manifest-lint.sarif",
    "json": "manifest-lint.json",
}


def report_paths(env: Mapping[str, str], cwd: Path, work_dir: Path) -> Reports:
    """The report paths asked for (relative to ``cwd``), else files in ``work_dir``;
    their directories are created."""
    paths: dict[str, str] = {}
    for kind, default in _REPORT_NAMES.items():
        given = env.get(f"ML_{kind.upper()}", "").strip()
        path = (cwd / given) if given else (work_dir / default)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"{kind}: cannot create {path.parent}: {exc.strerror}") from None
        paths[kind] = str(path)
    return Reports(**paths)


def _identity(path: str) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_ino, stat.st_mtime_ns)


@contextlib.contextmanager
def _environ(values: Mapping[str, str]) -> Iterator[None]:
    """``os.environ`` is ``values`` inside, as it was afterwards (the CLI reads os.environ)."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _run(environ: dict[str, str], reports: Reports, work_dir: Path, out: TextIO) -> int:
    from manifest_lint.cli.main import main as cli_main

    cwd = Path.cwd()
    inputs = Inputs.from_env(environ)
    files = expand_files(inputs.files, cwd)
    refs_file: str | None = None
    if files and inputs.references:
        refs_path = work_dir / "references"
        refs_path.write_text("".join(f"{ref}\n" for ref in inputs.references), encoding="utf-8")
        refs_file = str(refs_path)
    # The CLI sees neither the inputs nor the secrets among them.
    cli_env = {k: v for k, v in environ.items() if not k.startswith("ML_")}
    if inputs.registry and not inputs.username:
        message = escape_data(f"registry {inputs.registry} is set without username and password")
        out.write(f"::warning title=manifest-lint::{message}: ignored\n")
    secrets_dir: Path | None = None
    try:
        entries = credential_entries(inputs, environ)
        if entries:
            base = _read_base_config(_docker_config_path(environ), out)
            secrets_dir = Path(
                tempfile.mkdtemp(
                    prefix="manifest-lint-auth-", dir=environ.get("RUNNER_TEMP") or None
                )
            )
            config_path = secrets_dir / "config.json"
            fd = os.open(config_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with open(fd, "w", encoding="utf-8") as handle:
                json.dump(docker_config(base, entries), handle)
            cli_env["DOCKER_CONFIG"] = str(secrets_dir)
            # Searched before podman's files and the docker config, unless the user set it.
            cli_env.setdefault("REGISTRY_AUTH_FILE", str(config_path))
        argv = build_argv(inputs, files, reports, refs_file)
        out.flush()
        with _environ(cli_env):
            return cli_main(argv)
    finally:
        if secrets_dir is not None:
            shutil.rmtree(secrets_dir, ignore_errors=True)


def main(env: Mapping[str, str] | None = None) -> int:
    """Run the action with the inputs in ``env`` (default ``os.environ``); returns the
    exit code of the run."""
    environ = dict(os.environ if env is None else env)
    out = sys.stdout
    mask([environ.get(name, "") for name in _SECRET_INPUTS], out)
    code: int = ExitCode.EVALUATION_ERROR
    reports: Reports | None = None
    json_before: tuple[int, int] | None = None
    try:
        work_dir = Path(
            tempfile.mkdtemp(prefix="manifest-lint-", dir=environ.get("RUNNER_TEMP") or None)
        )
        reports = report_paths(environ, Path.cwd(), work_dir)
        json_before = _identity(reports.json)
        code = _run(environ, reports, work_dir, out)
    except InputError as exc:
        out.write(f"::error title=manifest-lint: invalid input::{escape_data(str(exc))}\n")
        code = ExitCode.USAGE_ERROR
    finally:
        # Written even when the run crashed, so the steps after it see outcome=error.
        output_path = environ.get("GITHUB_OUTPUT")
        if output_path:
            counts = Counts()
            # Counts only from a report this run wrote, never from an older one.
            if reports is not None and _identity(reports.json) not in (None, json_before):
                counts = read_counts(reports.json)
            write_outputs(output_path, reports, outcome_of(code), counts)
        out.flush()
    return code


if __name__ == "__main__":
    raise SystemExit(main())
