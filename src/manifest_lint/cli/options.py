"""Options from the command line: registry access (``--timeout``, ``--ca-file``,
``--insecure-registry``), the cache (``--cache-dir``, ``--no-cache``) and policy
params (``--param``)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from manifest_lint.errors import UsageError, YamlError
from manifest_lint.policy.params import Given

if TYPE_CHECKING:
    from manifest_lint.sources.cache import Cache
    from manifest_lint.sources.registry.options import RegistryOptions


def registry_options(args: argparse.Namespace) -> RegistryOptions:
    from manifest_lint.sources.registry.options import RegistryOptions

    if args.timeout <= 0:
        raise UsageError("--timeout must be a positive number of seconds")
    if args.ca_file:
        import ssl

        try:  # a CA file that cannot be used is the command's fault: say so before any request
            ssl.create_default_context(cafile=args.ca_file)
        except (OSError, ssl.SSLError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise UsageError(
                f"--ca-file {args.ca_file}: cannot load CA certificates from it ({reason})"
            ) from None
    return RegistryOptions(
        insecure_registries=frozenset(h.lower() for h in args.insecure_registry),
        ca_file=args.ca_file,
        timeout=args.timeout,
    )


def cache_option(args: argparse.Namespace) -> Cache | None:
    from manifest_lint.sources.cache import Cache, default_cache_dir

    if args.no_cache:
        return None
    return Cache(Path(args.cache_dir) if args.cache_dir else default_cache_dir())


def param_overrides(arguments: Sequence[str]) -> dict[str, Given]:
    """``--param POLICY.KEY=VALUE`` arguments, by policy; VALUE is read as YAML
    (``max-layers.max=20`` is the integer 20, ``x.list=[a, b]`` a list)."""
    from manifest_lint.yamlfile import load_all, plain

    values: dict[str, dict[str, Any]] = {}
    named: dict[str, dict[str, str]] = {}
    for argument in arguments:
        name, equals, text = argument.partition("=")
        policy, dot, key = name.partition(".")
        if not equals or not dot or not policy or not key:
            raise UsageError(f"--param takes POLICY.KEY=VALUE, not {argument!r}")
        try:
            documents = load_all(text)
        except YamlError as exc:
            raise UsageError(f"--param {argument}: VALUE is not YAML: {exc.message}") from None
        values.setdefault(policy, {})[key] = plain(documents[0].value) if documents else None
        named.setdefault(policy, {})[key] = argument
    return {policy: Given(values[policy], arguments=named[policy]) for policy in values}
