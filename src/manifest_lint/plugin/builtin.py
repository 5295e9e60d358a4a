"""The built-in plugin: sources, policies, CEL functions and backends, reporters.

Registered by :func:`manifest_lint.plugin.manager.get_plugin_manager` like any other
plugin. Everything heavy is imported inside the hooks, only when used.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from manifest_lint.plugin.hookspecs import BUILTIN, hookimpl

if TYPE_CHECKING:
    from manifest_lint.cel import CelBackend, CelFunction
    from manifest_lint.image.reference import Reference
    from manifest_lint.image.supply_chain import Verifier
    from manifest_lint.policy.files import Policy
    from manifest_lint.reporters import Reporter, ReporterFactory, RunInfo
    from manifest_lint.sources.base import Source, SourceOpener
    from manifest_lint.sources.registry.registries import Registries


def builtin_policy_dir() -> Path:
    """``policies/``: inside the installed package, or at the top of a source checkout."""
    package = Path(__file__).resolve().parents[1]  # manifest_lint/
    packaged = package / "policies"
    if packaged.is_dir():
        return packaged
    return package.parents[1] / "policies"


def _open_registry(reference: Reference, registries: Registries) -> Source:
    from manifest_lint.sources.registry.source import RegistrySource

    return RegistrySource(registries.client(reference.host), reference, registries.cache)


def _open_layout(reference: Reference, registries: Registries) -> Source:
    from manifest_lint.sources.layout import LayoutSource

    return LayoutSource(reference)


@hookimpl
def manifest_lint_register_sources(register: Callable[[str, SourceOpener], None]) -> None:
    register("docker", _open_registry)
    register("oci", _open_layout)
    register("oci-archive", _open_layout)


#: The built-in policies as parsed when the wheel was built (``hatch_build.py``), in
#: the packaged ``policies/``: ``{file name: {"text": ..., "documents": ...}}``, the
#: documents as :func:`manifest_lint.yamlfile.pack` gives them. Not in a source checkout.
PARSED_POLICIES = "parsed.json"


def builtin_policies() -> list[Policy]:
    """The built-in policies. A file whose text is the one parsed when the wheel was built
    is read from that parse, which spares the run PyYAML's import and parser; any other
    text is parsed now (libyaml's parser, positions kept).

    Measured (``bench/startup.py``'s offline scan of 100 Dockerfiles, interleaved, 21 and
    31 runs, 2 cores): 97 ms median from the parse against 107-110 ms parsing with
    libyaml (9.7-11.6 % of the run) and 112-113 ms with the pure-Python loader."""
    from dataclasses import replace

    from manifest_lint.errors import PolicyError
    from manifest_lint.policy.files import parse_policies, policy_files, read_policies
    from manifest_lint.yamlfile import read_text, unpack

    root = builtin_policy_dir()
    parsed = _parsed_policies(root)
    policies: list[Policy] = []
    for file in policy_files(root):
        name = file.relative_to(root).as_posix()
        text = read_text(file, PolicyError)
        entry = parsed.get(name)
        try:
            documents = unpack(entry["documents"]) if entry and entry["text"] == text else None
        except (KeyError, TypeError, ValueError):  # pragma: no cover - a broken build
            documents = None
        loaded = (
            parse_policies(text, str(file), origin=BUILTIN, fast=True)
            if documents is None
            else read_policies(documents, str(file), origin=BUILTIN, text=text)
        )
        policies += [replace(p, path=f"{BUILTIN}:{name}") for p in loaded]
    return policies


def _parsed_policies(root: Path) -> dict[str, Any]:
    import json

    try:
        with open(root / PARSED_POLICIES, "rb") as file:
            data = json.load(file)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


@hookimpl
def manifest_lint_register_policies(register: Callable[[Policy | Path], None]) -> None:
    for policy in builtin_policies():
        register(policy)


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


@hookimpl
def manifest_lint_register_verifiers(register: Callable[[Verifier], None]) -> None:
    """None: signatures and statements are found and read, not verified, unless a
    plugin verifies them (sigstore-python for cosign; docs/supply-chain.md)."""
