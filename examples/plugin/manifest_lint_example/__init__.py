"""An example manifest-lint plugin.

It adds:

* a CEL function, ``isSemverTag(string) -> bool``;
* a policy, ``semver-tag`` (the reference's tag is a semantic version), from
  ``policies/semver-tag.yaml`` in this package;
* a reporter, ``csv``: one line per result (``--format csv`` or
  ``--output csv=FILE``).

Installed with ``pip install examples/plugin``, it is found through the
``manifest_lint`` entry-point group; ``-p no:example`` blocks it.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

# Everything a plugin uses comes from the public plugin API; the rest is internal.
from manifest_lint.api import (
    BOOL,
    STRING,
    CelFunction,
    Policy,
    ReferenceResult,
    Reporter,
    ReporterFactory,
    RunInfo,
    Summary,
    hookimpl,
)

_SEMVER = re.compile(
    r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$"
)


def is_semver(text: str) -> bool:
    return bool(_SEMVER.match(text))


@hookimpl
def manifest_lint_register_functions(register: Callable[[CelFunction], None]) -> None:
    register(
        CelFunction(
            "isSemverTag",
            (STRING,),
            BOOL,
            is_semver,
            doc="A semantic version, an optional 'v' first (the Kubernetes isSemver() takes none).",
        )
    )


@hookimpl
def manifest_lint_register_policies(register: Callable[[Policy | Path], None]) -> None:
    register(Path(__file__).parent / "policies")


class CsvReporter:
    """One CSV row per result: reference, policy, platform, outcome, severity, message."""

    def __init__(self, stream: TextIO, run: RunInfo) -> None:
        self.writer = csv.writer(stream, lineterminator="\n")
        self.writer.writerow(["reference", "policy", "platform", "outcome", "severity", "message"])
        self.stream = stream

    def add(self, result: ReferenceResult) -> None:
        for f in result.findings:
            self.writer.writerow(
                [result.reference, f.policy, f.platform, str(f.outcome), str(f.severity), f.message]
            )

    def finish(self, summary: Summary) -> None:
        self.stream.flush()


def _csv(stream: TextIO, run: RunInfo) -> Reporter:
    return CsvReporter(stream, run)


@hookimpl
def manifest_lint_register_reporters(register: Callable[[str, ReporterFactory], None]) -> None:
    register("csv", _csv)
