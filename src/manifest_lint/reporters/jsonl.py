"""The JSON Lines report (``--jsonl FILE``): one line per reference as it completes.

The first line is the JSON report's header (``{"header": {...}}``), then one line per
reference in the JSON report's per-reference shape, each flushed as it is written, and
a last line with the summary (``{"summary": {...}, "unusedExceptions": [...]}``).
Nothing is kept per reference, so a run of any size holds the same memory; a run
killed mid-way leaves every line it finished, which ``--resume FILE`` reads to skip
those references and append to the file (docs/scale.md).
"""

from __future__ import annotations

import json
from collections import deque
from typing import TextIO

from manifest_lint.reporters import RunInfo
from manifest_lint.reporters.escape import json_text
from manifest_lint.reporters.json_ import header_json, result_json, summary_json, waiver_json
from manifest_lint.results import ReferenceResult, Summary


class JsonlReporter:
    """``positions`` (when given) holds each reported reference's position in the whole
    input, in reporting order: written as ``position``, which ``merge`` orders by."""

    def __init__(self, stream: TextIO, run: RunInfo, positions: deque[int] | None = None) -> None:
        self.stream = stream
        self.fail_on = run.fail_on
        self.positions = positions
        self._line({"header": header_json(run)})

    def _line(self, value: object) -> None:
        # Exact values; the characters a terminal would obey as \u escapes (escape.py).
        self.stream.write(json_text(json.dumps(value, ensure_ascii=False)) + "\n")
        self.stream.flush()

    def add(self, result: ReferenceResult) -> None:
        line = result_json(result, self.fail_on)
        for finding, found in zip(result.findings, line["findings"], strict=True):
            if finding.waiver is not None and finding.waiver.inline:
                found["exception"]["inline"] = True  # (for SARIF's inSource, after a merge)
        if self.positions:
            line["position"] = self.positions.popleft()
        self._line(line)

    def finish(self, summary: Summary) -> None:
        unused = [waiver_json(w) for w in summary.unused_exceptions]
        self._line({"summary": summary_json(summary), "unusedExceptions": unused})


def read_lines(lines: list[str]) -> tuple[set[str], set[str]]:
    """What a JSONL report says (``--resume``): the references it holds a result for,
    and the ``policySet`` of each header. A last line cut short by a kill is not a
    result; header and summary lines are not results."""
    done: set[str] = set()
    policy_sets: set[str] = set()
    for line in lines:
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if not isinstance(value, dict):
            continue
        if isinstance(value.get("reference"), str):
            done.add(value["reference"])
        elif isinstance(value.get("header"), dict):
            policy_sets.add(str(value["header"].get("policySet", "")))
    return done, policy_sets
