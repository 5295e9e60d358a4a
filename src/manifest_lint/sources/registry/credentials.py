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

How keys match a host: :mod:`~manifest_lint.sources.registry.credential_files`;
how helpers are asked: :mod:`~manifest_lint.sources.registry.credential_helpers`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from manifest_lint.sources.registry.credential import Credential
from manifest_lint.sources.registry.credential_files import (
    Config,
    Target,
    best_key,
    config_paths,
    decode_entry,
    read_config,
)
from manifest_lint.sources.registry.credential_helpers import (
    HELPER_TIMEOUT,
    HelperRunner,
    ask_helper,
    run_helper_process,
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
    target = Target.of(host)
    if target is None:
        return None
    seen: set[Path] = set()
    for path in config_paths(environ):
        if path in seen:
            continue
        seen.add(path)
        config = read_config(path)
        if config is None:
            continue
        credential = _lookup(config, target, environ, runner, helper_timeout)
        if credential is not None:
            return credential
    return None


# -- one file's answer ----------------------------------------------------------------------


def _lookup(
    config: Config,
    target: Target,
    env: Mapping[str, str],
    runner: HelperRunner,
    timeout: float,
) -> Credential | None:
    helper_key = best_key(config.cred_helpers, target)
    if helper_key is not None:
        helper = config.cred_helpers[helper_key]
        if helper:
            origin = f"credHelpers[{helper_key!r}] in {config.path}"
            return ask_helper(helper, helper_key, target, origin, env, runner, timeout)
    elif config.creds_store:
        origin = f"credsStore in {config.path}"
        return ask_helper(
            config.creds_store, target.docker_key, target, origin, env, runner, timeout
        )
    key = best_key(config.auths, target)
    if key is None:
        return None
    return decode_entry(config.path, key, config.auths[key])
