"""``manifest-lint merge FILE...``: the reports of a sharded run's shards, as one.

Each FILE is a JSON report or a JSONL report (``--jsonl``, resumed or not). They must
come from the same policy set (``policySet``) and, when sharded, be every shard of one
``N`` once; no reference may be in two of them (exit code 2 otherwise). The results
are then written in every format asked, as a single run over the same references
would have written them: in the order of the whole input (JSONL's ``position``; for
JSON reports, shard by shard in file order), with the summary counted again and the
run statistics (requests, cache, evaluation seconds) summed over the shards.
JSONL files are read line by line and merged in order (heapq.merge): memory holds
one line per file, and the references seen (for overlaps). docs/scale.md.
"""

from __future__ import annotations

import argparse
import heapq
import json
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TextIO

from manifest_lint import __version__
from manifest_lint.cli.exit_codes import exit_code
from manifest_lint.cli.outputs import open_outputs
from manifest_lint.cli.parsers import Parser
from manifest_lint.errors import UsageError
from manifest_lint.reporters import RunInfo
from manifest_lint.reporters.from_json import result_from_json, waiver_from_json
from manifest_lint.results import (
    Outcome,
    PolicyInfo,
    ReferenceResult,
    Severity,
    Summary,
    Waiver,
)

DESCRIPTION = """\
Merge the JSON or JSONL reports of a sharded run (--shard K/N) into one report in
every format, as one run over the same references would have written it."""


def build_merge_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="manifest-lint merge", description=DESCRIPTION)
    parser.add_argument("files", nargs="+", metavar="FILE", help="JSON or JSONL reports")
    parser.add_argument(
        "--format", choices=("text", "github"), default="text", help="on standard output"
    )
    parser.add_argument("--junit", metavar="FILE", help="also write a JUnit XML report")
    parser.add_argument("--json", metavar="FILE", help="also write a JSON report")
    parser.add_argument("--sarif", metavar="FILE", help="also write a SARIF 2.1.0 report")
    parser.add_argument("--jsonl", metavar="FILE", help="also write a JSONL report")
    return parser


class Line(NamedTuple):
    """One result of a report: its position in the whole input, its order in the
    report, the result as written, where (``FILE:LINE``) and which report."""

    position: int
    order: int
    value: dict[str, Any]
    where: str
    report: Report


@dataclass
class Report:
    path: str
    header: dict[str, Any]
    lines: Iterator[Line]
    summaries: list[dict[str, Any]] = field(default_factory=list)
    unused: list[list[dict[str, Any]]] = field(default_factory=list)
    #: Policies with a result other than skip in this report (as the run's ``Uses``).
    evaluated: set[str] = field(default_factory=set)
    #: The JSONL file being read (closed by ``merge_command``).
    handle: TextIO | None = None
    #: Whether the last run that wrote it ended (a summary after its last header).
    finished: bool = True


def _open(path: str, rank: int) -> Report:
    """A report: a JSON report read whole, or a JSONL report read line by line."""
    try:
        handle = open(path, encoding="utf-8")  # noqa: SIM115 (closed by the line reader)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from None
    first = handle.readline()
    try:
        start = json.loads(first) if first.strip() else None
    except ValueError:
        start = None
    if isinstance(start, dict) and isinstance(start.get("header"), dict):
        report = Report(path, start["header"], iter(()), handle=handle, finished=False)
        report.lines = _jsonl_lines(handle, report)
        return report
    try:
        whole = json.loads(first + handle.read())
    except ValueError as exc:
        raise UsageError(
            f"{path}: neither a JSON nor a JSONL report of manifest-lint: {exc}"
        ) from None
    finally:
        handle.close()
    if not isinstance(whole, dict) or not isinstance(whole.get("results"), list):
        raise UsageError(f"{path}: not a manifest-lint report (no 'results')")
    header = {k: v for k, v in whole.items() if k not in ("results", "summary", "unusedExceptions")}
    report = Report(path, header, iter(()))
    report.summaries.append(whole.get("summary") or {})
    report.unused.append(whole.get("unusedExceptions") or [])
    shard = header.get("shard") or {}
    base = int(shard.get("index", 0)) << 40 | rank << 32
    report.lines = iter(
        Line(base + i, i, r, f"{path}: results[{i}]", report)
        for i, r in enumerate(whole["results"])
    )
    return report


def _jsonl_lines(handle: TextIO, report: Report) -> Iterator[Line]:
    """The results of a JSONL report, in its order (the handle is closed by
    ``merge_command``, read or not); its summaries and exceptions kept aside."""
    last: Line | None = None
    for number, text in enumerate(handle, start=2):
        try:
            value = json.loads(text)
        except ValueError:
            continue  # (a line cut short by a kill: not a result)
        if not isinstance(value, dict):
            continue
        if "summary" in value:
            report.summaries.append(value["summary"])
            report.unused.append(value.get("unusedExceptions") or [])
            report.finished = True
        elif "header" in value:
            report.finished = False
            if value["header"].get("policySet") != report.header.get("policySet"):
                raise UsageError(f"{report.path}:{number}: a resumed part of another policy set")
        elif "reference" in value:
            position = value.get("position")
            if not isinstance(position, int):
                raise UsageError(f"{report.path}:{number}: a result without a position")
            if last is not None and position <= last.position:
                # The merge below reads each file once, in its order: a file whose
                # positions go back (edited, sorted, or two files joined) is refused.
                raise UsageError(
                    f"{report.path}:{number}: position {position} after {last.position} "
                    f"(line {last.order}): a shard's results are written in the order of "
                    "the input; was the file edited or joined with another?"
                )
            last = Line(position, number, value, f"{report.path}:{number}", report)
            yield last


def _check(reports: Sequence[Report]) -> None:
    """Same policy set; when sharded, every shard of one N exactly once."""
    sets = {r.header.get("policySet", "") for r in reports}
    if len(sets) > 1:
        named = ", ".join(f"{r.path} ({r.header.get('policySet') or 'none'})" for r in reports)
        raise UsageError(f"the reports come from different policy sets: {named}")
    shards = [r.header.get("shard") for r in reports]
    if not any(shards):
        if len(reports) > 1:
            raise UsageError(
                "the reports say no shard (--shard K/N): merge is for the shards of one run"
            )
        return
    if not all(shards):
        unsharded = ", ".join(r.path for r, s in zip(reports, shards, strict=True) if not s)
        raise UsageError(f"{unsharded}: not a shard, among shards")
    totals = {(s["total"], s["by"]) for s in shards if s}
    if len(totals) > 1:
        raise UsageError(f"the reports are shards of different splits: {sorted(totals)}")
    total = next(iter(totals))[0]
    seen = Counter(s["index"] for s in shards if s)
    twice = sorted(k for k, n in seen.items() if n > 1)
    if twice:
        raise UsageError(f"shard {', '.join(map(str, twice))} of {total} given more than once")
    missing = sorted(set(range(1, total + 1)) - set(seen))
    if missing:
        raise UsageError(f"shard {', '.join(map(str, missing))} of {total} missing")


def _results(reports: Sequence[Report]) -> Iterator[ReferenceResult]:
    """Every result in the order of the whole input; a reference in two reports (two
    shards claiming one position) is an error."""
    previous: Line | None = None
    for line in heapq.merge(*(r.lines for r in reports), key=lambda x: (x.position, x.order)):
        if previous is not None and previous.position == line.position:
            raise UsageError(
                f"{line.where}: {line.value['reference']} is also in {previous.where}: "
                "the shards overlap"
            )
        previous = line
        result = result_from_json(line.value, line.where)
        line.report.evaluated.update(
            f.policy for f in result.findings if f.outcome is not Outcome.SKIP
        )
        yield result


def _run_info(header: dict[str, Any], out: TextIO) -> RunInfo:
    policies = tuple(
        PolicyInfo(
            name=p["name"],
            description=p.get("description", ""),
            severity=Severity.parse(p.get("severity", "error")),
            scope=p.get("scope", "image"),
            source=p.get("source", ""),
            help_uri=p.get("helpUri", ""),
        )
        for p in header.get("policies", [])
    )
    return RunInfo(
        policies=policies,
        fail_on=Severity.parse(header.get("failOn", "error")),
        version=str(header.get("tool", {}).get("version", __version__)),
        cel_backend=str(header.get("celBackend", "")),
        tty=out.isatty(),
        policy_set=str(header.get("policySet", "")),
    )


def _statistics(summary: Summary, reports: Sequence[Report]) -> None:
    """The run statistics, summed over the shards' runs."""
    registries: dict[str, dict[str, Any]] = {}
    cache: Counter[str] = Counter()
    seconds = 0.0
    for report in reports:
        # (A resumed JSONL report has a summary per run that wrote to it.)
        for part in report.summaries:
            seconds += float(part.get("evaluationSeconds", 0))
            cache.update(part.get("cache") or {})
            for host, stats in (part.get("registries") or {}).items():
                into = registries.setdefault(
                    host, {"requests": {}, "manifestGets": 0, "tokenRequests": 0, "rateLimit": {}}
                )
                for method, n in stats.get("requests", {}).items():
                    into["requests"][method] = into["requests"].get(method, 0) + n
                into["manifestGets"] += stats.get("manifestGets", 0)
                into["tokenRequests"] += stats.get("tokenRequests", 0)
                into["rateLimit"] = stats.get("rateLimit", {}) or into["rateLimit"]
    summary.registries = {
        h: {**s, "requests": dict(sorted(s["requests"].items()))}
        for h, s in sorted(registries.items())
    }
    summary.cache = dict(cache)
    summary.evaluation_seconds = seconds


def _unused(reports: Sequence[Report]) -> list[Waiver]:
    """The exceptions a single run would list as unused: listed by some shard, and by
    every shard that evaluated its policy (a shard that did not evaluate it cannot tell;
    one that evaluated it and does not list it used it). In the order of their files."""
    listed: list[dict[str, dict[str, Any]]] = []
    for report in reports:
        found: dict[str, dict[str, Any]] = {}
        for part in report.unused:
            for item in part:
                found[json.dumps(item, sort_keys=True)] = item
        listed.append(found)
    keys: dict[str, dict[str, Any]] = {}
    for found in listed:
        keys.update(found)
    kept = []
    for key, item in keys.items():
        policy = str(item.get("policy", "")).partition("[")[0]
        if all(
            key in found for r, found in zip(reports, listed, strict=True) if policy in r.evaluated
        ):
            kept.append(item)
    files: dict[str, int] = {}
    for item in kept:
        files.setdefault(str(item.get("source", "")).rpartition(":")[0], len(files))

    def order(item: dict[str, Any]) -> tuple[int, int]:
        path, _, line = str(item.get("source", "")).rpartition(":")
        return files[path], int(line) if line.isdigit() else 0

    return [waiver_from_json(item, "unusedExceptions") for item in sorted(kept, key=order)]


def merge_command(argv: Sequence[str], out: TextIO) -> int:
    args = build_merge_parser().parse_args(argv)
    reports: list[Report] = []
    try:
        for rank, path in enumerate(args.files):
            reports.append(_open(path, rank))
        _check(reports)
        return _merge(args, reports, out)
    finally:
        for report in reports:
            if report.handle is not None:
                report.handle.close()


def _merge(args: argparse.Namespace, reports: list[Report], out: TextIO) -> int:
    from manifest_lint.plugin.manager import PluginHost, get_plugin_manager
    from manifest_lint.reporters.jsonl import JsonlReporter

    run_info = _run_info(reports[0].header, out)
    factories = PluginHost(get_plugin_manager()).reporters()
    outputs = [(n, getattr(args, n)) for n in ("junit", "json", "sarif") if getattr(args, n)]
    files = open_outputs([path for _name, path in outputs] + ([args.jsonl] if args.jsonl else []))
    ok = False
    summary = Summary()
    try:
        reporters = [factories[args.format](out, run_info)]
        reporters += [
            factories[name](file.stream, run_info)
            for file, (name, _path) in zip(files, outputs, strict=False)
        ]
        if args.jsonl:
            reporters.append(JsonlReporter(files[-1].stream, run_info))
        for result in _results(reports):
            summary.add(result, run_info.fail_on)
            for reporter in reporters:
                reporter.add(result)
        unfinished = [r.path for r in reports if not r.finished]
        if unfinished:
            raise UsageError(
                f"{', '.join(unfinished)}: the run that wrote it did not finish (no summary "
                "line after its last header): resume it (--resume FILE), then merge"
            )
        _statistics(summary, reports)
        summary.unused_exceptions = _unused(reports)
        for reporter in reporters:
            reporter.finish(summary)
        ok = True
    finally:
        for file in files:
            file.close(keep=ok)
    return exit_code(summary)
