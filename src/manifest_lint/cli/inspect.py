"""``manifest-lint inspect REF``: the policy document of one image, as text or JSON."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import TextIO

from manifest_lint.cli.document_view import filter_platform, write_json, write_text
from manifest_lint.cli.exit_codes import ExitCode
from manifest_lint.cli.options import cache_option, registry_options
from manifest_lint.cli.parsers import blocked_plugins, build_inspect_parser
from manifest_lint.errors import UsageError
from manifest_lint.image.platforms import PlatformFormatError, parse_platform
from manifest_lint.image.reference import parse_reference
from manifest_lint.plugin.manager import PluginHost, get_plugin_manager
from manifest_lint.policy.document import build_document
from manifest_lint.reporters.escape import escape
from manifest_lint.sources.load import load_image
from manifest_lint.sources.registry.registries import Registries
from manifest_lint.sources.supply_chain import read_supply_chain


def inspect_command(argv: Sequence[str], out: TextIO) -> int:
    args = build_inspect_parser().parse_args(argv)
    host = PluginHost(get_plugin_manager(blocked=blocked_plugins(argv)))
    sources = host.sources()
    reference = parse_reference(args.reference, sources)
    platform = None
    if args.platform:
        try:
            platform = parse_platform(args.platform)
        except PlatformFormatError as exc:
            raise UsageError(str(exc)) from None
    if reference.transport not in sources:
        raise UsageError(f"no source for transport {reference.transport!r}")
    if args.offline and reference.transport == "docker":
        raise UsageError(
            f"--offline: {args.reference} is read from a registry, and --offline asks none "
            "(OCI layouts, oci:DIR and oci-archive:FILE, are read offline)"
        )
    options = registry_options(args)
    verifiers = host.verifiers()
    with Registries(options, cache_option(args)) as registries, ThreadPoolExecutor(8) as pool:
        source = sources[reference.transport](reference, registries)
        try:
            image = load_image(reference, source, executor=pool)
            chain = read_supply_chain(
                source, image, limit=args.max_statement_size, verifiers=verifiers
            )
        finally:
            source.close()
    image = replace(image, supply_chain=chain)
    document = build_document(image)
    if platform is not None:
        document = filter_platform(document, platform)
        if not document["image"]["manifests"]:
            available = ", ".join(document["image"]["platforms"]) or "none"
            message = f"{reference} has no platform {platform} (platforms: {available})"
            # Platform names come from the registry: escaped like every output for people.
            print(f"manifest-lint: error: {escape(message)}", file=sys.stderr)
            # Not a violation: there is nothing to show, the run could not do what it was asked.
            return ExitCode.EVALUATION_ERROR
    (write_json if args.format == "json" else write_text)(document, out)
    return ExitCode.OK
