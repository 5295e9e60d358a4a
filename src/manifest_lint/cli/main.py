"""The command line: ``main(argv) -> int``.

The only module that prints errors and picks exit codes.
"""

from __future__ import annotations

import argparse
import contextlib
import enum
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TextIO

from manifest_lint import __version__
from manifest_lint.errors import ManifestLintError, SourceError, UsageError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from manifest_lint.runner import Target
    from manifest_lint.sources.base import SourceOpener
    from manifest_lint.sources.cache import Cache
    from manifest_lint.sources.registry.options import RegistryOptions

DEFAULT_CEL_BACKEND = "cel-expr-python"


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
        # Printed after "manifest-lint: error: ": name the subcommand, not the program twice.
        where = self.prog.removeprefix("manifest-lint").strip()
        raise UsageError(f"{where}: {message}" if where else message)


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """argparse's formatter, without its ``import shutil`` (and through it bz2, lzma and
    zlib, 2-3 ms): argparse makes one for every option added, to check its metavar, and
    the width is only used by ``--help``."""

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        if width is None:
            width = _terminal_columns() - 2
        super().__init__(prog, indent_increment, max_help_position, width)


def _terminal_columns() -> int:
    """What ``shutil.get_terminal_size().columns`` gives: ``$COLUMNS``, else the width
    of the terminal on stdout, else 80."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


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
        help="PEM bundle of CA certificates to trust in addition to the default ones "
        "(SSL_CERT_FILE or SSL_CERT_DIR when set, else certifi's bundle)",
    )
    group.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="deadline for reading one reference, retries included; transient failures "
        "(connection errors, 429, 502-504, a body cut short) are retried with backoff, "
        "honouring Retry-After (default: %(default)s; each request times out after 30 s "
        "or this, whichever is less)",
    )
    group.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="where manifests and configs are cached by digest (default: "
        "$MANIFEST_LINT_CACHE_DIR, else $XDG_CACHE_HOME/manifest-lint or ~/.cache/manifest-lint)",
    )
    group.add_argument(
        "--no-cache",
        action="store_true",
        help="neither read nor write the cache (a tag is then fetched with one GET, not HEAD)",
    )


def _add_plugin_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-p",
        dest="plugin_flags",
        action="append",
        default=[],
        metavar="no:NAME",
        help="block the plugin NAME (repeatable); set MANIFEST_LINT_DISABLE_PLUGIN_AUTOLOAD=1 "
        "to load no installed plugins at all",
    )


def build_inspect_parser() -> argparse.ArgumentParser:
    inspect = _Parser(
        prog="manifest-lint inspect",
        description="Show the policy document of an image reference: every platform "
        "manifest, layer and config, and the attestations, as text or JSON.",
        epilog=EXIT_CODES_HELP,
        formatter_class=_Formatter,
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
    _add_plugin_options(inspect)
    return inspect


LINT_DESCRIPTION = """\
Resolve image references, load their manifests and configs, and evaluate CEL
policies on them: once per image, or once per platform for platform-scoped
policies.

commands:
  manifest-lint [OPTIONS] REF...   lint images (this command)
  manifest-lint scan FILE...       lint the image references found in files
  manifest-lint inspect REF        show what policies see for an image
  manifest-lint plugins            list plugins, their versions and hooks
"""


SCAN_DESCRIPTION = """\
Find the image references in files and lint them: Dockerfile/Containerfile FROM
(ARG defaults substituted; stage names and scratch skipped), compose
services.*.image, Kubernetes workloads (containers, initContainers,
ephemeralContainers), and GitHub workflows (jobs.*.container, services.*.image,
uses: docker://). Results keep file, line and column. A reference that cannot be
resolved (a variable with no default) is reported as skipped, never guessed.
"""


def build_lint_parser(
    reporters: Sequence[str] = ("text", "json", "junit"), *, scan: bool = False
) -> _Parser:
    parser = _Parser(
        prog="manifest-lint scan" if scan else "manifest-lint",
        usage="manifest-lint scan [OPTIONS] FILE..."
        if scan
        else "manifest-lint [OPTIONS] REF... | manifest-lint {inspect,scan,plugins} ...",
        description=SCAN_DESCRIPTION if scan else LINT_DESCRIPTION,
        epilog=EXIT_CODES_HELP,
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"manifest-lint {__version__}")
    if scan:
        parser.add_argument(
            "files", nargs="*", metavar="FILE", help="files to find image references in"
        )
    else:
        parser.add_argument(
            "references",
            nargs="*",
            metavar="REF",
            help="image references: NAME[:TAG][@DIGEST], oci:DIR[:TAG|@DIGEST], "
            "oci-archive:FILE[:TAG]",
        )
    parser.add_argument(
        "--refs-file",
        metavar="FILE",
        help="read references from FILE, one per line ('-': standard input; "
        "blank lines and # comments ignored)",
    )
    policies = parser.add_argument_group("policies")
    policies.add_argument(
        "--policy",
        action="append",
        default=[],
        metavar="PATH",
        help="a policy file, or a directory of them, added to the enabled set (repeatable)",
    )
    policies.add_argument(
        "--select",
        action="append",
        default=[],
        metavar="NAME[,NAME...]",
        help="evaluate only these policies (repeatable)",
    )
    policies.add_argument(
        "--config",
        metavar="FILE",
        help="configuration file (default: ./.manifest-lint.yaml if present)",
    )
    policies.add_argument(
        "--fail-on",
        choices=("error", "warning", "info"),
        help="lowest severity of a violation that fails the run (default: error)",
    )
    policies.add_argument(
        "--cel-backend",
        metavar="NAME",
        help="CEL implementation: cel-expr-python (default) or celpy",
    )
    output = parser.add_argument_group("output")
    output.add_argument(
        "--format",
        choices=tuple(reporters),
        default="text",
        help="format written to standard output (default: %(default)s)",
    )
    output.add_argument("--junit", metavar="FILE", help="also write a JUnit XML report to FILE")
    output.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="text output: show only violations and errors, and the summary",
    )
    output.add_argument("--json", metavar="FILE", help="also write a JSON report to FILE")
    output.add_argument("--sarif", metavar="FILE", help="also write a SARIF 2.1.0 report to FILE")
    output.add_argument(
        "--github",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also write GitHub annotations to standard output and the job summary to "
        "$GITHUB_STEP_SUMMARY (default: on when GITHUB_ACTIONS=true)",
    )
    output.add_argument(
        "--output",
        action="append",
        default=[],
        metavar="FORMAT=FILE",
        help="also write FORMAT to FILE (repeatable; any registered format)",
    )
    run = parser.add_argument_group("run")
    run.add_argument(
        "--offline",
        action="store_true",
        help="ask no registry: run only policies that need nothing but the reference "
        "(others are skipped, with the reason); OCI layouts are still read",
    )
    run.add_argument(
        "--concurrency",
        type=int,
        default=16,
        metavar="N",
        help="references read at once (default: %(default)s)",
    )
    _add_registry_options(parser)
    _add_plugin_options(parser)
    return parser


def _registry_options(args: argparse.Namespace) -> RegistryOptions:
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


def _cache(args: argparse.Namespace) -> Cache | None:
    from manifest_lint.sources.cache import Cache, default_cache_dir

    if args.no_cache:
        return None
    return Cache(Path(args.cache_dir) if args.cache_dir else default_cache_dir())


def _blocked(argv: Sequence[str]) -> list[str]:
    """Plugins blocked with ``-p no:NAME`` (read before the parser exists, since plugins
    add options to it)."""
    blocked = []
    for i, arg in enumerate(argv):
        if arg == "--":
            break  # what follows is references or files, not options
        value = None
        if arg == "-p" and i + 1 < len(argv):
            value = argv[i + 1]
        elif arg.startswith("-p") and arg != "-p":
            value = arg[2:]
        if value is not None:
            if not value.startswith("no:") or not value[3:]:
                raise UsageError(f"-p takes no:NAME to block a plugin, not {value!r}")
            blocked.append(value[3:])
    return blocked


def _inspect(args: argparse.Namespace, argv: Sequence[str], out: TextIO) -> int:
    from manifest_lint.cli.inspect import filter_platform, write_json, write_text
    from manifest_lint.image.platforms import PlatformFormatError, parse_platform
    from manifest_lint.image.reference import parse_reference
    from manifest_lint.plugin.manager import PluginHost, get_plugin_manager
    from manifest_lint.policy.document import build_document
    from manifest_lint.sources.load import load_image
    from manifest_lint.sources.registry.registries import Registries

    sources = PluginHost(get_plugin_manager(blocked=_blocked(argv))).sources()
    reference = parse_reference(args.reference, sources)
    platform = None
    if args.platform:
        try:
            platform = parse_platform(args.platform)
        except PlatformFormatError as exc:
            raise UsageError(str(exc)) from None
    if reference.transport not in sources:
        raise UsageError(f"no source for transport {reference.transport!r}")
    options = _registry_options(args)
    from concurrent.futures import ThreadPoolExecutor

    with Registries(options, _cache(args)) as registries, ThreadPoolExecutor(8) as pool:
        source = sources[reference.transport](reference, registries)
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


def console_main() -> NoReturn:
    """The ``manifest-lint`` command: :func:`main`, then the process ends at once.

    Tearing the interpreter down (freeing every module and object of httpx, the
    CEL runtime and the rest) takes 30-80 ms after the work is done; by then
    every report is closed and renamed into place, the thread pools are shut
    down, and standard output and error are flushed here, so there is nothing
    left for it to do (mypy ends the same way). An unexpected exception still
    ends the normal way, with its traceback.
    """
    code = main()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more to say
            stream.flush()
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    """Run manifest-lint; returns the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    out = sys.stdout
    if args_list in (["--version"], ["scan", "--version"]):
        # Answered before anything else is imported: the start-up path stays short.
        out.write(f"manifest-lint {__version__}\n")
        return ExitCode.OK
    try:
        if args_list[:1] == ["inspect"]:
            return _inspect(build_inspect_parser().parse_args(args_list[1:]), args_list[1:], out)
        if args_list[:1] == ["scan"]:
            return _lint(args_list[1:], out, scan=True)
        if args_list[:1] == ["plugins"]:
            return _plugins(args_list[1:], out)
        return _lint(args_list, out)
    except UsageError as exc:
        print(f"manifest-lint: error: {exc}", file=sys.stderr)
        return ExitCode.USAGE_ERROR
    except SourceError as exc:
        print(f"manifest-lint: error: {exc}", file=sys.stderr)
        return ExitCode.EVALUATION_ERROR
    except ManifestLintError as exc:  # pragma: no cover - every error has a branch above
        print(f"manifest-lint: error: {exc}", file=sys.stderr)
        return ExitCode.EVALUATION_ERROR
    except SystemExit as exc:
        # argparse's --help and --version: they print, then exit 0.
        return exc.code if isinstance(exc.code, int) else ExitCode.USAGE_ERROR
    except KeyboardInterrupt:
        print("manifest-lint: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # stdout closed early (``| head``): not an error of ours.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return ExitCode.OK


def _scan_targets(files: Sequence[str]) -> list[Target]:
    from manifest_lint.results import Location
    from manifest_lint.runner import Target
    from manifest_lint.scan import scan_file

    targets: list[Target] = []
    for name in files:
        try:
            found = scan_file(Path(name))
        except ManifestLintError as exc:
            # A file that cannot be read is a result too: the other files still count.
            targets.append(Target(name, Location(name), error=str(exc)))
            continue
        for item in found:
            targets.append(
                Target(
                    item.reference or item.text or "(unresolved)",
                    item.location,
                    problem=item.problem,
                )
            )
    return targets


def _asks_registries(targets: Sequence[Target], sources: Mapping[str, SourceOpener]) -> bool:
    """Whether some target is a registry reference (a layout-only run reads no CAs)."""
    from manifest_lint.errors import InvalidReferenceError
    from manifest_lint.image.reference import parse_reference

    for target in targets:
        if target.error or target.problem:
            continue
        try:
            if parse_reference(target.reference, sources).transport == "docker":
                return True
        except InvalidReferenceError:
            continue
    return False


def _read_targets(args: argparse.Namespace, found: list[Target]) -> list[Target]:
    from manifest_lint.results import Location
    from manifest_lint.runner import Target

    targets = found + [Target(ref) for ref in getattr(args, "references", ())]
    if args.refs_file:
        try:
            if args.refs_file == "-":
                lines = sys.stdin.read().splitlines()
            else:
                with open(args.refs_file, encoding="utf-8") as handle:
                    lines = handle.read().splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"--refs-file {args.refs_file}: cannot read: {exc}") from None
        path = "<stdin>" if args.refs_file == "-" else args.refs_file
        for number, line in enumerate(lines, start=1):
            # '#' never occurs in a reference: everything after it is a comment.
            text = line.split("#", 1)[0].strip()
            if text:
                column = len(line) - len(line.lstrip()) + 1
                targets.append(Target(text, Location(path, number, column)))
    if not targets and not getattr(args, "files", None):
        raise UsageError("no image references given (REF..., or --refs-file FILE)")
    return targets


class _OutputFile:
    """A report file written next to its final path and renamed into place at the end,
    so a failed run never leaves half a report where the last good one was."""

    def __init__(self, path: str) -> None:
        import tempfile

        self.path = path
        directory = os.path.dirname(os.path.abspath(path))
        try:
            fd, self.tmp = tempfile.mkstemp(prefix=".manifest-lint-", dir=directory)
        except OSError as exc:
            raise UsageError(f"cannot write {path}: {exc.strerror}") from None
        self.stream: TextIO = open(fd, "w", encoding="utf-8")  # noqa: SIM115 (closed in close)

    def close(self, keep: bool) -> None:
        self.stream.close()
        if keep:
            os.replace(self.tmp, self.path)
        else:
            os.unlink(self.tmp)


def _lint(argv: Sequence[str], out: TextIO, *, scan: bool = False) -> int:
    from datetime import UTC, datetime

    from manifest_lint.config import load_config
    from manifest_lint.plugin.manager import PluginHost, get_plugin_manager
    from manifest_lint.policy.evaluate import compile_policies, needs_configs
    from manifest_lint.policy.selection import select_policies
    from manifest_lint.reporters import RunInfo
    from manifest_lint.results import Severity
    from manifest_lint.runner import Plan, run
    from manifest_lint.sources.registry.registries import Registries

    pm = get_plugin_manager(blocked=_blocked(argv))
    host = PluginHost(pm)
    reporter_factories = host.reporters()
    parser = build_lint_parser(sorted(reporter_factories), scan=scan)
    pm.hook.manifest_lint_add_options(parser=parser)
    args = parser.parse_args(argv)
    if args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    config = load_config(args.config, Path.cwd())
    fail_on = Severity.parse(args.fail_on) if args.fail_on else (config.fail_on or Severity.ERROR)
    pm.hook.manifest_lint_configure(options=args)

    # Everything that can be wrong with the command is found before any network.
    policies = select_policies(
        host.policies(),
        config,
        [Path(p) for p in args.policy],
        [name for value in args.select for name in value.split(",") if name.strip()],
    )
    backends = host.cel_backends()
    backend_name = args.cel_backend or config.cel_backend or DEFAULT_CEL_BACKEND
    if backend_name not in backends:
        raise UsageError(
            f"unknown CEL backend {backend_name!r} (available: {', '.join(sorted(backends))})"
        )
    backend = backends[backend_name]()
    compiled = compile_policies(policies, backend, host.functions(), share=not args.offline)
    targets = _read_targets(args, _scan_targets(args.files) if scan else [])
    # Offline, nothing is fetched: the cache is neither read nor written.
    registries = Registries(_registry_options(args), None if args.offline else _cache(args))
    sources = host.sources()
    if not args.offline and _asks_registries(targets, sources):
        registries.prepare()  # CA certificates read in a thread while the rest starts

    outputs: list[tuple[str, str]] = [
        (spec.partition("=")[0], spec.partition("=")[2]) for spec in args.output
    ]
    for spec, (name, path) in zip(args.output, outputs, strict=True):
        if not name or not path:
            raise UsageError(f"--output takes FORMAT=FILE, not {spec!r}")
        if name not in reporter_factories:
            raise UsageError(
                f"--output: unknown format {name!r} (available: "
                f"{', '.join(sorted(reporter_factories))})"
            )
    if args.junit:
        outputs.append(("junit", args.junit))
    if args.json:
        outputs.append(("json", args.json))
    if args.sarif:
        outputs.append(("sarif", args.sarif))
    github = args.github if args.github is not None else os.environ.get("GITHUB_ACTIONS") == "true"
    extra_stdout = ["github"] if github and args.format != "github" else []
    run_info = RunInfo(
        policies=tuple(p.info() for p in policies),
        fail_on=fail_on,
        version=__version__,
        cel_backend=backend_name,
        tty=out.isatty(),
        quiet=args.quiet,
    )
    files = [(_OutputFile(path), name) for name, path in outputs]
    ok = False
    try:
        reporters = [
            reporter_factories[name](out, run_info) for name in [args.format, *extra_stdout]
        ]
        reporters += [reporter_factories[name](f.stream, run_info) for f, name in files]
        plan = Plan(
            compiled,
            sources,
            datetime.now(UTC),
            fail_on,
            args.concurrency,
            offline=args.offline,
            configs=needs_configs(policies),
        )
        with registries:
            summary = run(plan, targets, registries, reporters)
        ok = True
    finally:
        for file, _name in files:
            file.close(keep=ok)
    if summary.invalid_references:
        return ExitCode.USAGE_ERROR
    if summary.errors:
        return ExitCode.EVALUATION_ERROR
    if summary.blocking_failures:
        return ExitCode.POLICY_FAILED
    return ExitCode.OK


def _plugins(argv: Sequence[str], out: TextIO) -> int:
    from manifest_lint.plugin.manager import PluginHost, get_plugin_manager

    parser = _Parser(
        prog="manifest-lint plugins",
        description="List plugins, their versions and the hooks they implement.",
    )
    _add_plugin_options(parser)
    parser.parse_args(argv)
    host = PluginHost(get_plugin_manager(blocked=_blocked(argv)))
    for name, version, hooks in host.plugin_list():
        out.write(f"{name}" + (f" ({version})" if version else "") + "\n")
        for hook in hooks:
            out.write(f"  {hook}\n")
    return ExitCode.OK
