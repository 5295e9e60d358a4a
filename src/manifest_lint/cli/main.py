"""The command line: ``main(argv) -> int``.

The only module that prints errors and picks exit codes.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from manifest_lint import __version__
from manifest_lint.cli.exit_codes import ExitCode
from manifest_lint.errors import ManifestLintError, SourceError, UsageError

# Error messages quote registries and files: escaped like every output for people.
from manifest_lint.reporters.escape import escape


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
    # Each command's module is imported when it runs: a command loads only what it uses.
    try:
        from manifest_lint.cli.parsers import split_command

        command, args_list = split_command(args_list)
        if command == "inspect":
            from manifest_lint.cli.inspect import inspect_command

            return inspect_command(args_list, out)
        if command == "record":
            from manifest_lint.cli.record import record_command

            return record_command(args_list, out)
        if command == "plugins":
            from manifest_lint.cli.plugins import plugins_command

            return plugins_command(args_list, out)
        if command == "policies":
            from manifest_lint.cli.policies import policies_command

            return policies_command(args_list, out)
        if command == "merge":
            from manifest_lint.cli.merge import merge_command

            return merge_command(args_list, out)
        if command == "test":
            from manifest_lint.cli.policytests import policytests_command

            return policytests_command(args_list, out)
        from manifest_lint.cli.lint import lint_command

        return lint_command(args_list, out, scan=command == "scan")
    except UsageError as exc:
        print(f"manifest-lint: error: {escape(str(exc), newlines=True)}", file=sys.stderr)
        return ExitCode.USAGE_ERROR
    except SourceError as exc:
        print(f"manifest-lint: error: {escape(str(exc), newlines=True)}", file=sys.stderr)
        return ExitCode.EVALUATION_ERROR
    except ManifestLintError as exc:  # pragma: no cover - every error has a branch above
        print(f"manifest-lint: error: {escape(str(exc), newlines=True)}", file=sys.stderr)
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
