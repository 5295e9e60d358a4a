"""One use of the Action: inputs checked, credentials written for the run only, the
CLI run in-process, the step outputs written even when the run failed."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Final, TextIO

from manifest_lint.action.credentials import (
    credential_entries,
    docker_config,
    docker_config_path,
    read_base_config,
)
from manifest_lint.action.inputs import Inputs, expand_files
from manifest_lint.action.outputs import (
    Counts,
    Reports,
    mask,
    outcome_of,
    read_counts,
    report_paths,
    write_outputs,
)
from manifest_lint.cli import main as cli
from manifest_lint.cli.exit_codes import ExitCode
from manifest_lint.cli.outputs import new_directory
from manifest_lint.errors import InputError
from manifest_lint.reporters.github import escape_data

_SECRET_INPUTS: Final = ("ML_PASSWORD", "ML_GITHUB_TOKEN")


def build_argv(inputs: Inputs, files: list[str], reports: Reports) -> list[str]:
    """The ``manifest-lint`` arguments for ``inputs`` (every value after ``=`` or ``--``,
    so none is read as an option)."""
    argv: list[str] = ["scan"] if files else []
    argv += [f"--policy={policy}" for policy in inputs.policies]
    argv += [f"--exceptions={path}" for path in inputs.exceptions]
    if inputs.config:
        argv.append(f"--config={inputs.config}")
    if inputs.fail_on:
        argv.append(f"--fail-on={inputs.fail_on}")
    if inputs.offline:
        argv.append("--offline")
    argv += [f"--junit={reports.junit}", f"--sarif={reports.sarif}", f"--json={reports.json}"]
    # Inline references are in no file: no location (never a temporary file's path);
    # as --ref, one spelled like a command (scan) is an image all the same.
    argv += [f"--ref={reference}" for reference in inputs.references]
    if files:
        argv += ["--", *files]
    return argv


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


def _run(environ: dict[str, str], reports: Reports, out: TextIO) -> int:
    cwd = Path.cwd()
    inputs = Inputs.from_env(environ)
    files = expand_files(inputs.files, cwd)
    # The CLI sees neither the inputs nor the secrets among them.
    cli_env = {k: v for k, v in environ.items() if not k.startswith("ML_")}
    if inputs.registry and not inputs.username:
        message = escape_data(f"registry {inputs.registry} is set without username and password")
        out.write(f"::warning title=manifest-lint::{message}: ignored\n")
    secrets_dir: Path | None = None
    try:
        entries = credential_entries(inputs, environ)
        if entries:
            base = read_base_config(docker_config_path(environ), out)
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
        argv = build_argv(inputs, files, reports)
        out.flush()
        with _environ(cli_env):
            return cli.main(argv)
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
        # The reports' directory: readable as the umask says, like the reports in it.
        work_dir = new_directory(
            Path(environ.get("RUNNER_TEMP") or tempfile.gettempdir()), "manifest-lint-"
        )
        reports = report_paths(environ, Path.cwd(), work_dir)
        json_before = _identity(reports.json)
        code = _run(environ, reports, out)
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
