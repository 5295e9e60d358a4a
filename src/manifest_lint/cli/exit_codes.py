"""Exit codes: a pipeline can tell a policy violation from an outage (docs: README)."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from manifest_lint.results import Summary


class ExitCode(enum.IntEnum):
    """Exit codes; a pipeline can tell a policy violation from an outage."""

    OK = 0
    #: A policy violation at or above ``--fail-on``.
    POLICY_FAILED = 1
    #: Bad command line, configuration, policy file or reference syntax.
    USAGE_ERROR = 2
    #: Something could not be evaluated: registry unreachable, auth refused, broken image
    #: (``inspect``: the image has no platform ``--platform`` names).
    EVALUATION_ERROR = 3


EXIT_CODES_HELP = """\
exit codes:
  0  nothing at or above --fail-on
  1  a policy violation at or above --fail-on
  2  usage or configuration error (bad flag, bad policy file, bad reference syntax)
  3  could not evaluate something (registry unreachable, auth refused, broken image;
     inspect: the image has no platform --platform names)
"""


def exit_code(summary: Summary) -> ExitCode:
    """A run's exit code from its summary: 2 beats 3, and 3 beats 1."""
    if summary.invalid_references:
        return ExitCode.USAGE_ERROR
    if summary.errors:
        return ExitCode.EVALUATION_ERROR
    if summary.blocking_failures:
        return ExitCode.POLICY_FAILED
    return ExitCode.OK
