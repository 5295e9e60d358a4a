"""The built-in plugin: sources, policies, CEL functions and backends, reporters.

Registered by :func:`manifest_lint.plugins.get_plugin_manager` like any other
plugin. Everything heavy is imported inside the hooks, only when used.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from manifest_lint.hookspecs import hookimpl

if TYPE_CHECKING:
    from manifest_lint.cel import CelBackend, CelFunction
    from manifest_lint.fetch import Source
    from manifest_lint.plugins import SourceOpener
    from manifest_lint.policy import Policy
    from manifest_lint.reference import Reference
    from manifest_lint.registry.registries import Registries
    from manifest_lint.reporters import Reporter, ReporterFactory, RunInfo


def builtin_policy_dir() -> Path:
    """``policies/``: inside the installed package, or at the top of a source checkout."""
    packaged = Path(__file__).resolve().parent / "policies"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "policies"


def _open_registry(reference: Reference, registries: Registries) -> Source:
    from manifest_lint.registry.client import RegistrySource

    return RegistrySource(registries.client(reference.host), reference, registries.cache)


def _open_layout(reference: Reference, registries: Registries) -> Source:
    from manifest_lint.layout import LayoutSource

    return LayoutSource(reference)


@hookimpl
def manifest_lint_register_sources(register: Callable[[str, SourceOpener], None]) -> None:
    register("docker", _open_registry)
    register("oci", _open_layout)
    register("oci-archive", _open_layout)


@hookimpl
def manifest_lint_register_policies(register: Callable[[Policy | Path], None]) -> None:
    register(builtin_policy_dir())


@hookimpl
def manifest_lint_register_functions(register: Callable[[CelFunction], None]) -> None:
    from manifest_lint.cel.functions import BUILTIN_FUNCTIONS

    for function in BUILTIN_FUNCTIONS:
        register(function)


@hookimpl
def manifest_lint_register_cel_backends(
    register: Callable[[str, Callable[[], CelBackend]], None],
) -> None:
    from manifest_lint import cel

    def factory(name: str) -> Callable[[], CelBackend]:
        return lambda: cel.get_backend(name)

    for name in cel.BACKENDS:
        register(name, factory(name))


def _text(stream: TextIO, run: RunInfo) -> Reporter:
    from manifest_lint.reporters.text import TextReporter

    return TextReporter(stream, run)


def _json(stream: TextIO, run: RunInfo) -> Reporter:
    from manifest_lint.reporters.json_ import JsonReporter

    return JsonReporter(stream, run)


def _junit(stream: TextIO, run: RunInfo) -> Reporter:
    from manifest_lint.reporters.junit import JunitReporter

    return JunitReporter(stream, run)


def _sarif(stream: TextIO, run: RunInfo) -> Reporter:
    from manifest_lint.reporters.sarif import SarifReporter

    return SarifReporter(stream, run)


def _github(stream: TextIO, run: RunInfo) -> Reporter:
    from manifest_lint.reporters.github import GithubReporter

    return GithubReporter(stream, run)


@hookimpl
def manifest_lint_register_reporters(register: Callable[[str, ReporterFactory], None]) -> None:
    register("text", _text)
    register("json", _json)
    register("junit", _junit)
    register("sarif", _sarif)
    register("github", _github)
