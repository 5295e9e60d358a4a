"""Output formats. A reporter is given every result as it is ready and the summary at
the end; it writes to the stream it was given (stdout or a file the CLI opened)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TextIO

from manifest_lint.results import PolicyInfo, ReferenceResult, Severity, Summary


@dataclass(frozen=True)
class RunInfo:
    """What every reporter knows about the run before the first result."""

    policies: tuple[PolicyInfo, ...]
    fail_on: Severity
    version: str
    cel_backend: str = ""
    #: True when writing to a terminal (the text reporter colours only then).
    tty: bool = False
    #: ``--quiet``: the text report shows only violations and errors (and the summary).
    quiet: bool = False
    #: A fingerprint of the enabled policies, their params and ``--fail-on``
    #: (``sha256:...``): reports of runs that checked with the same set say the same.
    policy_set: str = ""
    #: ``--shard K/N``: ``{"index": K, "total": N, "by": "repository"}``, or None.
    shard: Mapping[str, Any] | None = None


class Reporter(Protocol):
    def add(self, result: ReferenceResult) -> None:
        """One reference's result, in the order the references were given."""

    def finish(self, summary: Summary) -> None:
        """The run is over: write whatever is left."""


ReporterFactory = Callable[[TextIO, RunInfo], Reporter]
