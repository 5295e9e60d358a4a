"""The command line's argparse parsers: lint (and scan), inspect, the shared option
groups, and the ``-p no:NAME`` plugin blocks read before any parser exists."""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from datetime import datetime

from manifest_lint import __version__
from manifest_lint.cli.audit import add_audit_options
from manifest_lint.cli.exit_codes import EXIT_CODES_HELP
from manifest_lint.cli.sizes import add_statement_size_option, file_size
from manifest_lint.errors import UsageError


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]  # raise instead of exit
        # Printed after "manifest-lint: error: ": name the subcommand, not the program twice.
        where = self.prog.removeprefix("manifest-lint").strip()
        raise UsageError(f"{where}: {message}" if where else message)


_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})\Z")


def rfc3339(text: str) -> datetime:
    """``--now``: an RFC 3339 time with its offset (``2025-06-01T12:00:00Z``)."""
    try:
        if not _RFC3339.match(text):
            raise ValueError(text)
        return datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an RFC 3339 time with an offset (2025-06-01T12:00:00Z)"
        ) from None


def add_registry_options(parser: argparse.ArgumentParser) -> None:
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


def add_param_option(group: argparse._ActionsContainer) -> None:
    group.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="POLICY.KEY=VALUE",
        help="set a policy's param, over the configuration file (repeatable; VALUE is "
        "read as YAML: max-layers.max=20 is a number); checked against the policy's params",
    )


def add_plugin_options(parser: argparse.ArgumentParser) -> None:
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
    inspect = Parser(
        prog="manifest-lint inspect",
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
    inspect.add_argument(
        "--offline",
        action="store_true",
        help="ask no registry: only OCI layouts (oci:, oci-archive:) can be inspected",
    )
    add_statement_size_option(inspect)
    add_registry_options(inspect)
    add_plugin_options(inspect)
    return inspect


LINT_DESCRIPTION = """\
Resolve image references, load their manifests and configs, and evaluate CEL
policies on them: once per image, or once per platform for platform-scoped
policies.

commands:
  manifest-lint [OPTIONS] REF...   lint images (this command)
  manifest-lint scan FILE...       lint the image references found in files
  manifest-lint inspect REF        show what policies see for an image
  manifest-lint record REF... --out DIR  keep what policies read as an OCI layout
  manifest-lint plugins            list plugins, their versions and hooks
  manifest-lint policies           list the policies a run would know, as configured
  manifest-lint policies check FILE...  load and compile policy files, lint nothing
  manifest-lint test [PATH...]     run policy tests (*.policytest.yaml)
  manifest-lint merge FILE...      merge the reports of a sharded run into one
"""


SCAN_DESCRIPTION = """\
Find the image references in files and lint them: Dockerfile/Containerfile FROM
(ARG defaults substituted; stage names and scratch skipped), COPY --from and
RUN --mount from=, compose services.*.image, Kubernetes workloads (containers,
initContainers, ephemeralContainers, image volumes), and GitHub workflows
(jobs.*.container, services.*.image, uses: docker://). Results keep file, line and
column. A reference that cannot be resolved (a variable with no default), or a
file that is none of these, is reported as skipped, never guessed.
"""


def build_lint_parser(
    reporters: Sequence[str] = ("text", "json", "junit"), *, scan: bool = False
) -> Parser:
    parser = Parser(
        prog="manifest-lint scan" if scan else "manifest-lint",
        usage="manifest-lint scan [OPTIONS] FILE..."
        if scan
        else "manifest-lint [OPTIONS] REF... | "
        "manifest-lint {inspect,record,scan,test,plugins,policies} ...",
        description=SCAN_DESCRIPTION if scan else LINT_DESCRIPTION,
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"manifest-lint {__version__}")
    if scan:
        parser.add_argument(
            "files", nargs="*", metavar="FILE", help="files to find image references in"
        )
        parser.add_argument(
            "--max-file-size",
            type=file_size,
            default="16MiB",
            metavar="SIZE",
            help="read files up to SIZE: bytes, or KiB, MiB, GiB (default: %(default)s); "
            "a larger file is an error result",
        )
    else:
        parser.add_argument(
            "references",
            nargs="*",
            metavar="REF",
            help="image references: NAME[:TAG][@DIGEST], oci:DIR[:TAG][@DIGEST], "
            "and oci-archive:FILE with the same [:TAG][@DIGEST]",
        )
    parser.add_argument(
        "--ref",
        dest="ref",
        action="append",
        default=[],
        metavar="REF",
        help="also lint this image reference"
        + (", found in no file" if scan else "")
        + " (repeatable; never taken for a command or an option)",
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
    add_param_option(policies)
    policies.add_argument(
        "--config",
        metavar="FILE",
        help="configuration file (default: $MANIFEST_LINT_CONFIG, else the nearest "
        ".manifest-lint.yaml from the working directory up to the repository root)",
    )
    policies.add_argument(
        "--show-config",
        action="store_true",
        help="print which configuration file is used and the settings in effect "
        "(with the other options given), then exit",
    )
    policies.add_argument(
        "--fail-on",
        choices=("error", "warning", "info"),
        help="lowest severity of a violation that fails the run (default: error)",
    )
    policies.add_argument(
        "--exceptions",
        action="append",
        default=[],
        metavar="FILE",
        help="also apply the exceptions of FILE (repeatable; docs/exceptions.md)",
    )
    policies.add_argument(
        "--fail-on-unused-exceptions",
        action="store_true",
        help="exit 1 when an exception matched nothing",
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
        help="text output: show only violations and errors, and the summary (and one "
        "line naming the references scan could not resolve)",
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
    run.add_argument(
        "--now",
        type=rfc3339,
        metavar="RFC3339",
        help="the time policies see as 'now' (default: when the run starts), "
        "e.g. 2025-06-01T12:00:00Z",
    )
    add_statement_size_option(run)
    add_audit_options(parser)
    add_registry_options(parser)
    add_plugin_options(parser)
    return parser


#: The subcommands; any other first word is an image reference of the default command.
COMMANDS = ("scan", "inspect", "record", "plugins", "policies", "test", "merge")


def split_command(argv: Sequence[str]) -> tuple[str, list[str]]:
    """``(command, its arguments)``: the command is the first word that is neither an
    option nor an option's value, when it names one of :data:`COMMANDS` (``""``, the
    lint command, otherwise); options written before it are kept, in order.

    Which options take a value is read from the parsers themselves (``policies``
    has only options the lint parser has, so its parser is not built here; their long
    options may be abbreviated, as argparse allows). Options that plugins add are
    not known here: written before the command, such an option's value would be
    taken for the first word, and the command word then fails as a reference.
    """
    takes_value: dict[str, bool] = {}
    for parser in (build_lint_parser(), build_lint_parser(scan=True), build_inspect_parser()):
        for action in parser._actions:  # argparse has no public list of them
            for option in action.option_strings:
                takes_value[option] = action.nargs != 0
    takes_value["--out"] = True  # record's (its parser is cli/record.py's own)
    long_options = [option for option in takes_value if option.startswith("--")]
    index = 0
    while index < len(argv):
        word = argv[index]
        if word == "--":
            break  # what follows is references or files, never a command
        if word.startswith("--"):
            name = word.partition("=")[0]
            matches = [o for o in long_options if o == name] or [
                o for o in long_options if o.startswith(name)
            ]
            if "=" not in word and len(matches) == 1 and takes_value[matches[0]]:
                index += 1  # its value is the next word
        elif word.startswith("-") and word != "-":
            # A cluster of short options (-qp no:NAME): a value is the rest of the word,
            # or the next word.
            for position, letter in enumerate(word[1:], start=2):
                if takes_value.get(f"-{letter}", False):
                    index += position == len(word)
                    break
        else:
            if word in COMMANDS:
                return word, [*argv[:index], *argv[index + 1 :]]
            break
        index += 1
    return "", list(argv)


def blocked_plugins(argv: Sequence[str]) -> list[str]:
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
