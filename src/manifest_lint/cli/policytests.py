"""``manifest-lint test [PATH...]``: run policy test files (``*.policytest.yaml``).

Exit 0 when every case passes, 1 when one does not (or, with ``--require-tests``,
a policy lacks a case expecting ``pass`` or one expecting ``fail``), 2 for a
malformed test file or no test file at all.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from manifest_lint.cli.exit_codes import ExitCode
from manifest_lint.cli.lint import DEFAULT_CEL_BACKEND
from manifest_lint.cli.options import cache_option, registry_options
from manifest_lint.cli.parsers import (
    Parser,
    add_plugin_options,
    add_registry_options,
    blocked_plugins,
)
from manifest_lint.config import ENV_VAR as CONFIG_ENV_VAR
from manifest_lint.config import load_config
from manifest_lint.errors import PolicyTestError, UsageError
from manifest_lint.plugin.manager import PluginHost, get_plugin_manager
from manifest_lint.policy.selection import resolve_policies
from manifest_lint.policytest.coverage import uncovered
from manifest_lint.policytest.files import DEFAULT_NOW, PATTERN, collect, read_test_file
from manifest_lint.policytest.junit import write_junit
from manifest_lint.policytest.run import Engine, FileResult, run_file
from manifest_lint.reporters.escape import escape
from manifest_lint.sources.registry.registries import Registries

EXIT_CODES = """\
exit codes:
  0  every case passes
  1  a case does not pass (or, with --require-tests, a policy lacks a case expecting
     pass or one expecting fail)
  2  a malformed test file (unknown key, policy or result name, missing fixture, bad
     outcome word), or no test file found
"""


DESCRIPTION = f"""\
Run policy tests: each case evaluates policies on a fixture (an OCI layout, a
document, or a registry reference, marked online) and compares each result it lists
with the outcome it expects. PATHs are test files, or directories searched for
**/{PATTERN} (default: the current directory). Without spec.now, the
policies see now = {DEFAULT_NOW.isoformat().replace("+00:00", "Z")}. See docs/testing.md.
"""


def build_test_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="manifest-lint test",
        description=DESCRIPTION,
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="test files or directories")
    parser.add_argument(
        "--junit",
        metavar="FILE",
        help="also write JUnit XML: one testsuite per test file, one testcase per case",
    )
    parser.add_argument(
        "--require-tests",
        action="store_true",
        help="every policy of the test files' spec.policies and every enabled policy of "
        "the configuration needs a case expecting pass and one expecting fail",
    )
    parser.add_argument("--config", metavar="FILE", help="configuration file (--require-tests)")
    parser.add_argument("--cel-backend", metavar="NAME", help="CEL backend to evaluate with")
    add_registry_options(parser)
    add_plugin_options(parser)
    return parser


def policytests_command(argv: Sequence[str], out: TextIO) -> int:
    args = build_test_parser().parse_args(argv)
    host = PluginHost(get_plugin_manager(blocked=blocked_plugins(argv)))
    sources = host.sources()
    files = collect([Path(p) for p in args.paths or ["."]])
    if not files:
        where = ", ".join(args.paths or ["."])
        raise PolicyTestError(f"no test files ({PATTERN}) under {where}")
    tests = [read_test_file(path, sources) for path in files]  # every file checked before any run
    backends = host.cel_backends()
    name = args.cel_backend or DEFAULT_CEL_BACKEND
    if name not in backends:
        raise UsageError(f"unknown CEL backend {name!r} (available: {', '.join(sorted(backends))})")
    registered = host.policies()
    enabled: list[str] = []
    if args.require_tests:  # the configuration is read before any case runs
        config = load_config(args.config, Path.cwd(), os.environ.get(CONFIG_ENV_VAR))
        resolved = resolve_policies(registered, config, [], [])
        enabled = [r.effective.name for r in resolved if r.enabled]
    with Registries(registry_options(args), cache_option(args)) as registries:
        engine = Engine(registered, backends[name](), host.functions(), sources, registries)
        results = [run_file(test, engine) for test in tests]
    failed = _write_text(results, out)
    if args.junit:
        write_junit(results, Path(args.junit))
    missing: list[str] = []
    if args.require_tests:
        missing = uncovered(results, enabled)
        for line in missing:
            out.write(f"uncovered: {escape(line)}\n")
    return ExitCode.POLICY_FAILED if failed or missing else ExitCode.OK


def _write_text(results: Sequence[FileResult], out: TextIO) -> int:
    """Each file and case, the failing expectations under their case; the number of
    failed cases."""
    passed = failed = 0
    for result in results:
        out.write(f"{escape(str(result.test.path))} ({escape(result.test.name)})\n")
        for verdict in result.verdicts:
            online = " (online)" if verdict.case.online else ""
            word = "PASS" if verdict.passed else "FAIL"
            out.write(f"  {word}  {escape(verdict.case.name)}{online}\n")
            for failure in verdict.failures:
                out.write(f"        {escape(failure)}\n")
            passed += verdict.passed
            failed += not verdict.passed
    cases = passed + failed
    out.write(
        f"{cases} case{'s' if cases != 1 else ''} in {len(results)} file"
        f"{'s' if len(results) != 1 else ''}: {passed} passed, {failed} failed\n"
    )
    return failed
