"""The GitHub Action's entry point: ``python -m manifest_lint.action``
(``__main__.py``).

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

References are passed as ``--ref=REF``, so their results carry no file location
(code scanning never gets a path outside the workspace), and a reference spelled
like a command is an image all the same.
"""

from __future__ import annotations

from manifest_lint.action.credentials import credential_entries, docker_config
from manifest_lint.action.inputs import Inputs, expand_files, registry_key
from manifest_lint.action.outputs import Reports, format_output
from manifest_lint.action.run import build_argv, main

__all__ = [
    "Inputs",
    "Reports",
    "build_argv",
    "credential_entries",
    "docker_config",
    "expand_files",
    "format_output",
    "main",
    "registry_key",
]
