"""``manifest-lint policies``: every policy a run would know, as the configuration and
flags leave it; ``manifest-lint policies check FILE...``: policy files loaded and
compiled as a run loads them, linting nothing (exit 0, or 2 naming each error)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from manifest_lint.cli.exit_codes import EXIT_CODES_HELP, ExitCode
from manifest_lint.cli.options import param_overrides
from manifest_lint.cli.parsers import (
    Parser,
    add_param_option,
    add_plugin_options,
    blocked_plugins,
)
from manifest_lint.config import ENV_VAR as CONFIG_ENV_VAR
from manifest_lint.config import Config, load_config
from manifest_lint.errors import UsageError
from manifest_lint.plugin.manager import PluginHost, get_plugin_manager
from manifest_lint.policy.compile import compile_policies
from manifest_lint.policy.files import Policy, load_policy_file, policy_files
from manifest_lint.policy.params import apply_params, params_schema
from manifest_lint.policy.selection import Resolved, resolve_policies
from manifest_lint.reporters.escape import escape

DESCRIPTION = """\
List every policy a run would know with the configuration and the flags given:
its source, severity, scope, whether it runs, and its params (defaults and the
values in effect).

  manifest-lint policies [--format text|json] [OPTIONS]
  manifest-lint policies check FILE...   load and compile policy files, lint nothing
"""


def build_policies_parser() -> Parser:
    parser = Parser(
        prog="manifest-lint policies",
        usage="manifest-lint policies [OPTIONS] | manifest-lint policies check [OPTIONS] FILE...",
        description=DESCRIPTION,
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "words",
        nargs="*",
        metavar="check FILE",
        help="'check' and the policy files (or directories of them) to check",
    )
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="format of the list (default: %(default)s)",
    )
    parser.add_argument(
        "--policy",
        action="append",
        default=[],
        metavar="PATH",
        help="a policy file, or a directory of them, added to the enabled set (repeatable)",
    )
    parser.add_argument(
        "--select",
        action="append",
        default=[],
        metavar="NAME[,NAME...]",
        help="only these policies run (repeatable)",
    )
    add_param_option(parser)
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="configuration file (default: $MANIFEST_LINT_CONFIG, else the nearest "
        ".manifest-lint.yaml from the working directory up to the repository root)",
    )
    parser.add_argument(
        "--cel-backend",
        metavar="NAME",
        help="CEL implementation that 'check' compiles with (default: cel-expr-python)",
    )
    add_plugin_options(parser)
    return parser


def policies_command(argv: Sequence[str], out: TextIO) -> int:
    parser = build_policies_parser()
    args = parser.parse_args(argv)
    if args.words and args.words[0] != "check":
        raise UsageError(f"policies: unknown word {args.words[0]!r} (did you mean 'check'?)")
    host = PluginHost(get_plugin_manager(blocked=blocked_plugins(argv)))
    config = load_config(args.config, Path.cwd(), os.environ.get(CONFIG_ENV_VAR))
    if args.words:
        if len(args.words) == 1:
            raise UsageError("policies check: name at least one policy file")
        return _check(host, [Path(w) for w in args.words[1:]], args.cel_backend, config, out)
    resolved = resolve_policies(
        host.policies(),
        config,
        [Path(p) for p in args.policy],
        [name for value in args.select for name in value.split(",") if name.strip()],
        param_overrides(args.param),
    )
    if args.format == "json":
        json.dump({"policies": [_entry(r) for r in resolved]}, out, indent=2)
        out.write("\n")
    else:
        _write_text(resolved, out)
    return ExitCode.OK


def _check(
    host: PluginHost, files: Sequence[Path], asked: str | None, config: Config, out: TextIO
) -> int:
    """Each file loaded, its params checked and compiled as a run does; every file's
    first error printed."""
    from manifest_lint.cli.lint import DEFAULT_CEL_BACKEND

    backends = host.cel_backends()
    name = asked or config.cel_backend or DEFAULT_CEL_BACKEND
    if name not in backends:
        raise UsageError(f"unknown CEL backend {name!r} (available: {', '.join(sorted(backends))})")
    backend, functions = backends[name](), host.functions()
    failed = 0
    for file in _files(files):
        try:
            if isinstance(file, UsageError):
                raise file
            policies = [apply_params(p, []) for p in load_policy_file(file)]
            compile_policies(policies, backend, functions, share=False)
        except UsageError as exc:
            failed += 1
            print(f"manifest-lint: error: {escape(str(exc), newlines=True)}", file=sys.stderr)
            continue
        names = ", ".join(p.name for p in policies)
        out.write(f"{escape(str(file))}: ok ({escape(names)})\n")
    return ExitCode.USAGE_ERROR if failed else ExitCode.OK


def _files(paths: Sequence[Path]) -> Iterator[Path | UsageError]:
    """The policy files ``paths`` name (directories walked), or the error of a path
    that names none: each is reported, and the others still checked."""
    for path in paths:
        try:
            yield from policy_files(path)
        except UsageError as exc:
            yield exc


def source(policy: Policy) -> str:
    """Where a policy comes from: ``built-in``, ``FILE:LINE``, or ``plugin NAME``."""
    if policy.origin == "builtin":
        return "built-in"
    if policy.origin == "file":
        return f"{policy.path}:{policy.line}"
    return f"plugin {policy.origin}" + (f" ({policy.path})" if policy.path else "")


def _entry(resolved: Resolved) -> dict[str, Any]:
    policy = resolved.effective
    return {
        "name": policy.name,
        "source": source(policy),
        "severity": policy.severity.name.lower(),
        "scope": policy.scope,
        "enabled": resolved.enabled,
        "description": policy.description,
        "params": {
            key: {"default": resolved.declared.params.get(key), "effective": value}
            for key, value in policy.params.items()
        },
        "paramsSchema": params_schema(resolved.declared),
    }


def _write_text(resolved: Sequence[Resolved], out: TextIO) -> None:
    for entry in map(_entry, resolved):
        state = "enabled" if entry["enabled"] else "disabled"
        out.write(
            f"{entry['name']} ({state}): {entry['severity']}, {entry['scope']} scope, "
            f"{escape(entry['source'])}\n"
        )
        if entry["description"]:
            out.write(f"  {escape(entry['description'], newlines=True)}\n")
        for key, values in entry["params"].items():
            effective = json.dumps(values["effective"], ensure_ascii=False)
            default = json.dumps(values["default"], ensure_ascii=False)
            note = "" if values["effective"] == values["default"] else f" (default: {default})"
            out.write(f"  params.{escape(key)} = {escape(effective)}{note}\n")
