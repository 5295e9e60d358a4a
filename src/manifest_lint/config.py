"""``.manifest-lint.yaml``: which policies run, with which params and severity.

    fail-on: warning                 # error | warning | info
    cel-backend: cel-expr-python
    policy-paths: [policies/]        # files or directories, relative to this file
    policies:
      max-layers: {params: {max: 20}, severity: warning}
      pinned-digest: {enabled: false}
    exceptions: [...]                # docs/exceptions.md
    max-exception-days: 180
    exception-warn-days: 14

Unknown keys are errors naming the file and line. Command-line flags override
the file. The file is ``--config FILE``, else ``$MANIFEST_LINT_CONFIG``, else the
nearest ``.manifest-lint.yaml`` from the working directory up to the repository
root (:func:`find_config`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from manifest_lint.errors import ConfigError
from manifest_lint.exception_files import parse_exceptions
from manifest_lint.results import Severity, Waiver
from manifest_lint.yamlfile import LocatedDict, check_keys, load_all, plain, read_text
from manifest_lint.yamlfile.schema import check as check_schema

DEFAULT_NAME = ".manifest-lint.yaml"
_TOP_KEYS = (
    "fail-on",
    "cel-backend",
    "policy-paths",
    "policies",
    "exceptions",
    "max-exception-days",
    "exception-warn-days",
)
#: ``max-exception-days`` and ``exception-warn-days`` when not configured.
MAX_EXCEPTION_DAYS = 180
EXCEPTION_WARN_DAYS = 14
_POLICY_KEYS = ("enabled", "severity", "params")


@dataclass(frozen=True)
class PolicySettings:
    enabled: bool | None = None
    severity: Severity | None = None
    params: dict[str, Any] = field(default_factory=dict)
    #: The line of the policy's entry, and of each key under its ``params``.
    line: int = 0
    param_lines: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Config:
    path: str = ""
    #: How the file was chosen: ``--config``, ``MANIFEST_LINT_CONFIG``, ``found`` (the
    #: search from the working directory), or ``""`` (no file: the defaults).
    origin: str = ""
    fail_on: Severity | None = None
    cel_backend: str = ""
    policy_paths: tuple[Path, ...] = ()
    policies: dict[str, PolicySettings] = field(default_factory=dict)
    exceptions: tuple[Waiver, ...] = ()
    max_exception_days: int = MAX_EXCEPTION_DAYS
    exception_warn_days: int = EXCEPTION_WARN_DAYS


def _days(top: LocatedDict, key: str, default: int, path: str) -> int:
    value = top.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ConfigError(
            f"{key} must be a whole number of days", path=path, line=top.key_line(key)
        )
    return value


def _severity(value: Any, path: str, line: int, what: str) -> Severity:
    if not isinstance(value, str):
        raise ConfigError(f"{what} must be error, warning or info", path=path, line=line)
    try:
        return Severity.parse(value)
    except ValueError as exc:
        raise ConfigError(f"{what}: {exc}", path=path, line=line) from None


def parse_config(text: str, path: str) -> Config:
    documents = load_all(text, path=path, error=ConfigError)
    if not documents:
        return Config(path=path)
    if len(documents) > 1:
        raise ConfigError(
            "a configuration file holds one YAML document", path=path, line=documents[1].line
        )
    top = documents[0].value
    if not isinstance(top, LocatedDict):
        raise ConfigError("the configuration must be a mapping", path=path, line=1)
    check_keys(top, _TOP_KEYS, "the configuration", path=path, error=ConfigError)
    base = Path(path).parent
    fail_on = None
    if "fail-on" in top:
        fail_on = _severity(top["fail-on"], path, top.key_line("fail-on"), "fail-on")
    backend = top.get("cel-backend", "")
    if not isinstance(backend, str):
        raise ConfigError(
            "cel-backend must be a string", path=path, line=top.key_line("cel-backend")
        )
    paths = top.get("policy-paths") or []
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise ConfigError(
            "policy-paths must be a list of paths", path=path, line=top.key_line("policy-paths")
        )
    settings: dict[str, PolicySettings] = {}
    policies = top.get("policies") or LocatedDict()
    if not isinstance(policies, LocatedDict):
        raise ConfigError(
            "policies must be a mapping of policy name to settings",
            path=path,
            line=top.key_line("policies"),
        )
    for name, value in policies.items():
        line = policies.key_line(name)
        if value is None:
            value = LocatedDict()
            value.line = line
            value.key_positions = {}
        if not isinstance(value, LocatedDict):
            raise ConfigError(f"policies.{name} must be a mapping", path=path, line=line)
        check_keys(value, _POLICY_KEYS, f"policies.{name}", path=path, error=ConfigError)
        enabled = value.get("enabled")
        if enabled is not None and not isinstance(enabled, bool):
            raise ConfigError(
                f"policies.{name}.enabled must be true or false",
                path=path,
                line=value.key_line("enabled"),
            )
        severity = None
        if "severity" in value:
            severity = _severity(
                value["severity"], path, value.key_line("severity"), f"policies.{name}.severity"
            )
        params = value.get("params") or {}
        if not isinstance(params, dict):
            raise ConfigError(
                f"policies.{name}.params must be a mapping",
                path=path,
                line=value.key_line("params"),
            )
        param_lines = (
            {key: params.key_line(key) for key in params} if isinstance(params, LocatedDict) else {}
        )
        settings[name] = PolicySettings(enabled, severity, plain(params), line, param_lines)
    exceptions = parse_exceptions(top.get("exceptions"), path, top.key_line("exceptions"))
    max_days = _days(top, "max-exception-days", MAX_EXCEPTION_DAYS, path)
    warn_days = _days(top, "exception-warn-days", EXCEPTION_WARN_DAYS, path)
    # What the checks above let through must also fit the schema editors use.
    check_schema(top, "config.schema.json", path=path, error=ConfigError)
    return Config(
        path=path,
        fail_on=fail_on,
        cel_backend=backend,
        policy_paths=tuple(base / p for p in paths),
        policies=settings,
        exceptions=exceptions,
        max_exception_days=max_days,
        exception_warn_days=warn_days,
    )


#: The environment variable naming the configuration file (``--config`` wins over it).
ENV_VAR = "MANIFEST_LINT_CONFIG"
#: What marks a repository's root, where the search for the file stops (``.git`` is a
#: file in a worktree or submodule), as mypy and ansible-lint stop there.
REPOSITORY_MARKERS = (".git", ".hg")


def find_config(cwd: Path) -> Path | None:
    """``.manifest-lint.yaml`` in ``cwd`` or the nearest directory above it, searching
    up to the repository root (the directory holding ``.git`` or ``.hg``), or to the
    filesystem root outside a repository."""
    # os.path's tests, not Path's: they answer False for a directory the user may not
    # search (EACCES), where Path.is_file raises.
    for directory in (cwd, *cwd.parents):
        candidate = directory / DEFAULT_NAME
        if os.path.isfile(candidate):
            return candidate
        if any(os.path.lexists(directory / marker) for marker in REPOSITORY_MARKERS):
            return None
    return None


def load_config(explicit: str | None, cwd: Path, env: str | None = None) -> Config:
    """``--config FILE`` (``explicit``), else ``$MANIFEST_LINT_CONFIG`` (``env``), each of
    which must exist, else the file :func:`find_config` finds, else the defaults.
    ``Config.origin`` says which."""
    if explicit is not None:
        path, origin = Path(explicit), "--config"
    elif env:
        path, origin = Path(env), ENV_VAR
    else:
        found = find_config(cwd.absolute())
        if found is None:
            return Config()
        path, origin = found, "found"
    text = read_text(path, ConfigError)
    return replace(parse_config(text, str(path)), origin=origin)
