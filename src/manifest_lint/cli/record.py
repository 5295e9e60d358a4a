"""``manifest-lint record REF... --out DIR``: what policies read of images, as an OCI layout.

Every reference is parsed before anything is read (a bad one is exit 2). Each is read
through its source and kept in memory until all of it is read and verified; only then
are its blobs written and its entry named. A reference that cannot be read is
reported and the others are still recorded: the exit code is then 3.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TextIO

from manifest_lint.cli.exit_codes import ExitCode
from manifest_lint.cli.options import cache_option, registry_options
from manifest_lint.cli.parsers import (
    Parser,
    add_plugin_options,
    add_registry_options,
    blocked_plugins,
)
from manifest_lint.errors import SourceError, UsageError
from manifest_lint.image.reference import parse_reference
from manifest_lint.plugin.manager import PluginHost, get_plugin_manager
from manifest_lint.reporters.escape import escape
from manifest_lint.sources.layout_writer import LayoutWriter
from manifest_lint.sources.recording import record_image
from manifest_lint.sources.registry.registries import Registries

DESCRIPTION = """\
Record what policies read of images into an OCI image layout at DIR: the index or
manifest, every platform manifest, every config and the attestation manifests, each
under its digest with the bytes fetched. Layer blobs are not copied. index.json names
each reference (org.opencontainers.image.ref.name): REGISTRY/REPOSITORY:TAG, or
REGISTRY/REPOSITORY@DIGEST without a tag; read it back with oci:DIR:NAME (or
oci:DIR@DIGEST). Recording into an existing layout replaces entries of the same name.
"""

EXIT_CODES = """\
exit codes:
  0  every reference recorded
  2  usage error (bad flag, bad reference syntax; --out is not a layout or not writable)
  3  a reference could not be read (registry unreachable, auth refused, broken image);
     the others are still recorded
"""


def build_record_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="manifest-lint record",
        description=DESCRIPTION,
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "references",
        nargs="+",
        metavar="REF",
        help="image references: NAME[:TAG][@DIGEST], oci:DIR[:TAG][@DIGEST], oci-archive:FILE",
    )
    parser.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="the OCI image layout to write (created when missing; an existing layout "
        "keeps its other entries; any other non-empty directory is refused)",
    )
    add_registry_options(parser)
    add_plugin_options(parser)
    return parser


def record_command(argv: Sequence[str], out: TextIO) -> int:
    args = build_record_parser().parse_args(argv)
    sources = PluginHost(get_plugin_manager(blocked=blocked_plugins(argv))).sources()
    references = [parse_reference(text, sources) for text in args.references]
    for reference in references:
        if reference.transport not in sources:
            raise UsageError(f"no source for transport {reference.transport!r}")
    writer = LayoutWriter(args.out)
    failed = []
    with (
        Registries(registry_options(args), cache_option(args)) as registries,
        ThreadPoolExecutor(8) as pool,
    ):
        for reference in references:
            try:
                source = sources[reference.transport](reference, registries)
                try:
                    recording = record_image(reference, source, executor=pool)
                finally:
                    source.close()
            except SourceError as exc:
                failed.append(reference.raw)
                message = f"cannot record {reference.raw}: {exc}"
                print(f"manifest-lint: error: {escape(message, newlines=True)}", file=sys.stderr)
                continue
            try:
                writer.add(recording)
            except OSError as exc:
                raise UsageError(f"--out {args.out}: cannot write: {exc}") from None
            out.write(
                escape(
                    f"recorded {reference.raw} as {recording.name} "
                    f"({recording.digest}, {len(recording.blobs)} documents)"
                )
                + "\n"
            )
    try:
        if len(failed) < len(references):  # nothing recorded: nothing written
            writer.finish()
    except OSError as exc:
        raise UsageError(f"--out {args.out}: cannot write: {exc}") from None
    if failed:
        print(
            escape(f"manifest-lint: {len(failed)} of {len(references)} not recorded: ")
            + ", ".join(escape(f) for f in failed),
            file=sys.stderr,
        )
        return ExitCode.EVALUATION_ERROR
    return ExitCode.OK
