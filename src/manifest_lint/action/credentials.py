"""The credentials the inputs give, as a docker ``config.json`` merged over the one
already there, so a ``docker/login-action`` for another registry still counts."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Final, TextIO

from manifest_lint.action.inputs import Inputs, registry_key
from manifest_lint.errors import CredentialError
from manifest_lint.reporters.github import escape_data
from manifest_lint.sources.registry.credentials import find_credential

GHCR: Final = "ghcr.io"
#: The user name sent with the GitHub token when GITHUB_ACTOR is not set.
DEFAULT_GHCR_USER: Final = "github-actions"


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


def docker_config_path(env: Mapping[str, str]) -> Path | None:
    if env.get("DOCKER_CONFIG"):
        return Path(env["DOCKER_CONFIG"], "config.json")
    if env.get("HOME"):
        return Path(env["HOME"], ".docker", "config.json")
    return None


def read_base_config(path: Path | None, out: TextIO) -> dict[str, object]:
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
