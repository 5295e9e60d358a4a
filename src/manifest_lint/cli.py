"""The command line: ``main(argv) -> int``.

The only module that prints errors and picks exit codes.
"""

from __future__ import annotations

import argparse
import enum
import os
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TextIO

from manifest_lint import __version__
from manifest_lint.errors import ManifestLintError, SourceError, UsageError


class ExitCode(enum.IntEnum):
    """Exit codes; a pipeline can tell a policy violation from an outage."""

    OK = 0
    #: A policy violation at or above ``--fail-on`` (``inspect``: ``--platform`` matched nothing).
    POLICY_FAILED = 1
    #: Bad command line, configuration, policy file or reference syntax.
    USAGE_ERROR = 2
    #: Something could not be evaluated: registry unreachable, auth refused, broken image.
    EVALUATION_ERROR = 3


EXIT_CODES_HELP = """\
exit codes:
  0  nothing at or above --fail-on
  1  a policy violation at or above --fail-on (inspect: --platform matched nothing)
  2  usage or configuration error (bad flag, bad policy file, bad reference syntax)
  3  could not evaluate something (registry unreachable, auth refused, broken image)
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]  # raise instead of exit
        raise UsageError(f"{self.prog}: {message}")


def _add_registry_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("registry access")
    group.add_argument(
        "--insecure-registry",
        action="append",
        default=[],
        metavar="HOST[:PORT]",
        help="allow plain http and skip TLS verification for this registry (repeatable); "
        "loopback registries (localhost, 127.0.0.0/8, ::1) may always use plain http",
    )
    group.add_argument(
        "--ca-file",
        metavar="FILE",
        help="PEM bundle of CA certificates to verify registries with (default: the system's, "
        "or SSL_CERT_FILE)",
    )
    group.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="per-request time-out (default: %(default)s)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="manifest-lint",
        description="Resolve container image references and check their OCI/Docker manifests.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"manifest-lint {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    inspect = commands.add_parser(
        "inspect",
        help="show what policies see for an image: every platform, layer and config",
        description="Show the policy document of an image reference: every platform "
        "manifest, layer and config, and the attestations, as text or JSON.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    inspect.add_argument(
        "reference",
        metavar="REF",
        help="image reference: NAME[:TAG][@DIGEST], oci:DIR[:TAG], oci-archive:FILE[:TAG]",
    )
    inspect.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="output format (default: %(default)s)",
    )
    inspect.add_argument(
        "--platform",
        metavar="OS/ARCH[/VARIANT]",
        help="show only this platform (normalised: arm64 == arm64/v8)",
    )
    _add_registry_options(inspect)
    return parser


def _inspect(args: argparse.Namespace, out: TextIO) -> int:
    from manifest_lint.document import build_document
    from manifest_lint.fetch import load_image
    from manifest_lint.inspect import filter_platform, write_json, write_text
    from manifest_lint.platform import PlatformFormatError, parse_platform
    from manifest_lint.reference import parse_reference
    from manifest_lint.registry.client import Registries, RegistryOptions
    from manifest_lint.sources import open_source

    reference = parse_reference(args.reference)
    platform = None
    if args.platform:
        try:
            platform = parse_platform(args.platform)
        except PlatformFormatError as exc:
            raise UsageError(str(exc)) from None
    options = RegistryOptions(
        insecure_registries=frozenset(h.lower() for h in args.insecure_registry),
        ca_file=args.ca_file,
        timeout=args.timeout,
    )
    with Registries(options) as registries, ThreadPoolExecutor(max_workers=8) as pool:
        source = open_source(reference, registries)
        try:
            image = load_image(reference, source, executor=pool)
        finally:
            source.close()
    document = build_document(image)
    if platform is not None:
        document = filter_platform(document, platform)
        if not document["image"]["manifests"]:
            available = ", ".join(document["image"]["platforms"]) or "none"
            print(
                f"manifest-lint: {reference} has no platform {platform} (platforms: {available})",
                file=sys.stderr,
            )
            return ExitCode.POLICY_FAILED
    (write_json if args.format == "json" else write_text)(document, out)
    return ExitCode.OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run manifest-lint; returns the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    out = sys.stdout
    try:
        args = build_parser().parse_args(args_list)
        if args.command == "inspect":
            return _inspect(args, out)
        build_parser().print_help(out)
        return ExitCode.USAGE_ERROR
    except UsageError as exc:
        print(f"manifest-lint: error: {exc}", file=sys.stderr)
        return ExitCode.USAGE_ERROR
    except SourceError as exc:
        print(f"manifest-lint: error: {exc}", file=sys.stderr)
        return ExitCode.EVALUATION_ERROR
    except ManifestLintError as exc:  # pragma: no cover - every error has a branch above
        print(f"manifest-lint: error: {exc}", file=sys.stderr)
        return ExitCode.EVALUATION_ERROR
    except KeyboardInterrupt:
        print("manifest-lint: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # stdout closed early (``| head``): not an error of ours.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return ExitCode.OK
