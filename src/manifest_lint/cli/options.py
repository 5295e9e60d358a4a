"""Registry access from the command line: ``--timeout``, ``--ca-file``,
``--insecure-registry`` and the cache (``--cache-dir``, ``--no-cache``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from manifest_lint.errors import UsageError

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
