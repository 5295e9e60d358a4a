"""``--show-config``: which configuration file a run uses and the settings in effect,
written as a configuration file (YAML) with comments saying where each came from."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from manifest_lint.config import (
    DEFAULT_NAME,
    ENV_VAR,
    EXCEPTION_WARN_DAYS,
    MAX_EXCEPTION_DAYS,
    Config,
)
from manifest_lint.policy.files import Policy
from manifest_lint.results import Severity, Waiver

_FILE = "configuration file"
_ORIGINS = {
    "--config": "--config",
    ENV_VAR: f"${ENV_VAR}",
    "found": "found searching up from the working directory",
}


def _flow(value: Any) -> str:
    """A value in YAML flow style (JSON is valid YAML for these plain values)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def write_config(
    out: TextIO,
    args: argparse.Namespace,
    config: Config,
    fail_on: Severity,
    backend: str,
    policies: Sequence[Policy],
    waivers: Sequence[Waiver] = (),
) -> None:
    w = out.write
    if config.path:
        w(f"# configuration file: {config.path} ({_ORIGINS.get(config.origin, config.origin)})\n")
    else:
        w(
            f"# configuration file: none ({DEFAULT_NAME} is searched from the working "
            f"directory up to the repository root; ${ENV_VAR} or --config name one)\n"
        )
    fail_on_from = "--fail-on" if args.fail_on else _FILE if config.fail_on else "default"
    w(f"fail-on: {fail_on.name.lower()}  # {fail_on_from}\n")
    backend_from = (
        "--cel-backend" if args.cel_backend else "file" if config.cel_backend else "default"
    )
    w(f"cel-backend: {backend}  # {backend_from}\n")
    # Absolute: the file's paths are relative to the file, --policy's to the working directory.
    paths = [str(p.absolute()) for p in config.policy_paths]
    extra = [str(Path(p).absolute()) for p in args.policy]
    w(f"policy-paths: {_flow(paths + extra)}")
    w(f"  # --policy: {_flow(extra)}\n" if extra else "\n")
    w("policies:" + (f"  # --select: {', '.join(args.select)}\n" if args.select else "\n"))
    for policy in policies:
        settings = {"severity": policy.severity.name.lower(), "params": dict(policy.params)}
        w(f"  {policy.name}: {_flow(settings)}  # {policy.path or policy.origin}\n")
    chosen = {policy.name for policy in policies}
    for name, found in config.policies.items():
        if found.enabled is False and name not in chosen:
            w(f'  {name}: {{"enabled": false}}  # {_FILE}\n')
    for key, days, default in (
        ("max-exception-days", config.max_exception_days, MAX_EXCEPTION_DAYS),
        ("exception-warn-days", config.exception_warn_days, EXCEPTION_WARN_DAYS),
    ):
        w(f"{key}: {days}  # {_FILE if days != default else 'default'}\n")
    # The configuration's and --exceptions files' (inline ones are in the scanned files).
    w("exceptions:" + ("\n" if waivers else " []\n"))
    for waiver in waivers:
        item = {
            "policy": waiver.name,
            "images": list(waiver.images),
            "reason": waiver.reason,
            "expires": waiver.expires_text,
        }
        if waiver.owner:
            item["owner"] = waiver.owner
        w(f"  - {_flow(item)}  # {waiver.source}\n")
