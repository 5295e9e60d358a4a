"""Every hook manifest-lint calls, typed and documented.

A plugin is a module or object with functions marked ``@hookimpl`` named like the
specs below; installed plugins are found through the ``manifest_lint`` entry-point
group. Collection hooks receive a ``register`` callback: the host checks what each
plugin adds and refuses a name that is already taken (a :class:`PluginError`,
exit code 2) instead of silently renaming or replacing it.

The built-in sources, policies, CEL functions, backends and reporters are
registered through these same hooks by :mod:`manifest_lint.plugin.builtin`.

Collection hooks are called once per plugin that implements them, built-ins first,
each call through pluggy with only that plugin's implementation (and every hook
wrapper), so that whatever ``register`` receives is attributed to that plugin.

The types these hooks pass and take are the public plugin API,
:mod:`manifest_lint.api`; plugins import them from there.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from manifest_lint.cel import CelBackend, CelFunction
    from manifest_lint.image.supply_chain import Verifier
    from manifest_lint.policy.files import Policy
    from manifest_lint.reporters import ReporterFactory
    from manifest_lint.sources.base import SourceOpener

PROJECT = "manifest_lint"
#: The name the built-in plugin is registered under (``-p no:builtin`` is refused).
BUILTIN = "builtin"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def manifest_lint_add_options(parser: argparse.ArgumentParser) -> None:
    """Add options to the lint command's ``argparse`` parser.

    Called once while the command line is built; the parsed values reach
    :func:`manifest_lint_configure`. Use long option names with a prefix of your
    plugin's name to avoid clashes (argparse refuses duplicates).
    """


@hookspec
def manifest_lint_configure(options: argparse.Namespace) -> None:
    """Receive the parsed command line (after the config file was applied).

    Called once, after option parsing and before any policy is compiled or
    any reference is read.
    """


@hookspec
def manifest_lint_register_sources(register: Callable[[str, SourceOpener], None]) -> None:
    """Register transports: ``register("name", opener)``, the opener a
    :data:`manifest_lint.api.SourceOpener`.

    References written ``name:PATH[:TAG][@DIGEST]`` are then opened with
    ``opener(reference, registries)`` (a :class:`manifest_lint.api.Reference` and the
    run's :class:`manifest_lint.api.Registries`), which returns a
    :class:`manifest_lint.api.Source`. The built-ins are ``docker`` (registries,
    the default for references without a prefix), ``oci`` and ``oci-archive``.
    """


@hookspec
def manifest_lint_register_policies(register: Callable[[Policy | Path], None]) -> None:
    """Register policies: a :class:`manifest_lint.api.Policy` (from
    :func:`manifest_lint.api.parse_policies`), or the path of a policy file or directory
    of them.

    Registered policies are enabled by default; the configuration file and
    ``--select`` choose among them. Policy names must be unique.
    """


@hookspec
def manifest_lint_register_functions(register: Callable[[CelFunction], None]) -> None:
    """Register custom CEL functions (:class:`manifest_lint.api.CelFunction`) that
    every policy may call. Declare concrete parameter types (``manifest_lint.api.STRING``,
    ``INT``, ``list_of(STRING)``...); one name may have several overloads with
    different parameter types."""


@hookspec
def manifest_lint_register_cel_backends(
    register: Callable[[str, Callable[[], CelBackend]], None],
) -> None:
    """Register CEL backends: ``register("name", factory)``; ``--cel-backend name``
    selects one. ``factory()`` returns a :class:`manifest_lint.api.CelBackend`; it is
    only called for the selected backend, so the CEL library is imported only when it
    is used."""


@hookspec
def manifest_lint_register_reporters(register: Callable[[str, ReporterFactory], None]) -> None:
    """Register output formats: ``register("name", factory)``.

    ``factory(stream, run)`` (a :data:`manifest_lint.api.ReporterFactory`, ``run`` a
    :class:`manifest_lint.api.RunInfo`) returns a :class:`manifest_lint.api.Reporter`
    that is given every reference's :class:`manifest_lint.api.ReferenceResult` as it
    is ready (``add``) and the run's :class:`manifest_lint.api.Summary` at the end
    (``finish``). ``--format name`` writes it to stdout and
    ``--output name=FILE`` to a file.
    """


@hookspec
def manifest_lint_register_verifiers(register: Callable[[Verifier], None]) -> None:
    """Register verifiers: ``register(verifier)``, a :class:`manifest_lint.api.Verifier`.

    Before policies run, each signature and each in-toto statement read for an image
    is offered to every verifier (the last registered first) until one returns a
    :class:`manifest_lint.api.Verification` (``verified``, ``identity``, ``issuer``),
    which the document then shows. The built-in plugin registers none: without a
    verifier, ``verified`` is false everywhere (docs/supply-chain.md). sigstore-python
    is the intended verifier for cosign signatures and attestations."""
