"""Registry-wide audits: ``--shard K/N``, ``--jsonl FILE`` and ``--resume FILE``
(docs/scale.md). What a sharded, streamed run checks and where its lines go; the
lines themselves are ``reporters/jsonl.py``'s."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from manifest_lint.cli.shards import BY, Shard, find_shard, in_shard_one
from manifest_lint.errors import UsageError

if TYPE_CHECKING:
    from manifest_lint.policy.files import Policy
    from manifest_lint.results import Severity
    from manifest_lint.runner import Target
    from manifest_lint.sources.base import SourceOpener


def add_audit_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("registry-wide audits (docs/scale.md)")
    group.add_argument(
        "--catalog",
        action="append",
        default=[],
        metavar="REGISTRY[/PREFIX]",
        help="also check every tag of every repository the registry lists (under PREFIX) "
        "(repeatable)",
    )
    group.add_argument(
        "--include",
        action="append",
        default=[],
        metavar="GLOB",
        help="--catalog: only repositories matching one of these globs (repeatable)",
    )
    group.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="GLOB",
        help="--catalog: not repositories matching one of these globs (repeatable)",
    )
    group.add_argument(
        "--tag-pattern",
        metavar="REGEX",
        help="--catalog: only tags this regular expression matches (anywhere: anchor it "
        "with ^ and $)",
    )
    group.add_argument(
        "--catalog-page-size",
        type=int,
        default=100,
        metavar="N",
        help="--catalog: names asked per page (n=; default: %(default)s)",
    )
    group.add_argument(
        "--shard",
        metavar="K/N",
        help="check only shard K of N (1-based), chosen by a stable hash; default: from "
        "GitLab's CI_NODE_INDEX/CI_NODE_TOTAL or a Kubernetes Indexed Job's "
        "JOB_COMPLETION_INDEX with MANIFEST_LINT_SHARDS, else every reference",
    )
    group.add_argument(
        "--shard-by",
        choices=BY,
        default="repository",
        help="what decides a reference's shard (default: %(default)s, so one shard's "
        "cache serves all tags of a repository)",
    )
    group.add_argument(
        "--jsonl",
        metavar="FILE",
        help="also write one JSON line per reference as it completes, flushed, and a "
        "summary line ('-': standard output, instead of the text report)",
    )
    group.add_argument(
        "--resume",
        metavar="FILE",
        help="skip the references FILE (the --jsonl of an interrupted run) has results "
        "for, and append to it",
    )


def policy_set(policies: Sequence[Policy], fail_on: Severity) -> str:
    """A fingerprint of what decides results: each enabled policy (name, severity,
    scope, params, expressions) and ``--fail-on``. Two reports with the same one were
    judged by the same rules (``merge`` refuses to mix others)."""
    described = [
        {
            "name": p.name,
            "severity": str(p.severity),
            "scope": p.scope,
            "params": p.params,
            "expressions": [
                *(m.expression.text for m in p.match_conditions),
                *(v.expression.text for v in p.variables),
                *(v.expression.text for v in p.validations),
                *(v.message_expression.text for v in p.validations if v.message_expression),
            ],
        }
        for p in sorted(policies, key=lambda p: p.name)
    ]
    text = json.dumps([str(fail_on), described], sort_keys=True, default=str)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


class Audit:
    """The audit options of one run, checked before any request."""

    def __init__(self, args: argparse.Namespace, env: Mapping[str, str]) -> None:
        self.shard: Shard | None = find_shard(args.shard, args.shard_by, env)
        self.jsonl: str | None = args.jsonl or args.resume
        self.resume: str | None = args.resume
        if args.resume and args.jsonl and args.jsonl != args.resume:
            raise UsageError(
                f"--resume {args.resume} appends to that file: --jsonl {args.jsonl} names "
                "another (give one of them, or the same file)"
            )
        if args.resume == "-":
            raise UsageError("--resume needs a file, not '-'")
        self.done: set[str] = set()
        #: Positions of the targets yielded and not yet reported (JsonlReporter pops them).
        self.positions: deque[int] = deque()
        self._policy_sets: set[str] = set()
        if self.resume:
            self._read_resumed(self.resume)

    def _read_resumed(self, path: str) -> None:
        from manifest_lint.reporters.jsonl import read_lines

        try:
            with open(path, encoding="utf-8") as handle:
                lines = handle.read().splitlines()
        except FileNotFoundError:
            return  # nothing done yet: the run starts the file
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"--resume {path}: cannot read: {exc}") from None
        self.done, self._policy_sets = read_lines(lines)

    def check_policy_set(self, fingerprint: str) -> None:
        """A resumed file written with other policies would mix two verdicts."""
        other = self._policy_sets - {fingerprint}
        if other:
            raise UsageError(
                f"--resume {self.resume}: written with another policy set "
                f"({', '.join(sorted(other))}; this run's is {fingerprint}): resume with the "
                "same policies, params and --fail-on, or start a new file"
            )

    def info(self) -> dict[str, Any] | None:
        if self.shard is None:
            return None
        return {"index": self.shard.number, "total": self.shard.total, "by": self.shard.by}

    def select(
        self, targets: Iterable[Target], sources: Mapping[str, SourceOpener]
    ) -> Iterator[Target]:
        """The targets this run checks: its shard's, minus those already done. Each
        one's position in the whole input (every shard's) is queued in ``positions``
        for the JSONL lines, which ``merge`` orders by."""
        for position, target in enumerate(targets):
            if self.shard is not None and not in_shard_one(target, self.shard, sources):
                continue
            if target.reference in self.done:
                continue
            if self.jsonl is not None:
                self.positions.append(position)
            yield target

    def open_jsonl(self, out: TextIO) -> tuple[TextIO | None, bool]:
        """The stream the JSONL lines go to (None without ``--jsonl``), and whether
        it was opened here (to close)."""
        if self.jsonl is None:
            return None, False
        if self.jsonl == "-":
            return out, False
        try:
            if self.resume:
                _end_with_newline(self.jsonl)
                return open(self.jsonl, "a", encoding="utf-8"), True
            return open(self.jsonl, "w", encoding="utf-8"), True
        except OSError as exc:
            raise UsageError(f"--jsonl {self.jsonl}: cannot write: {exc.strerror}") from None


def _end_with_newline(path: str) -> None:
    """A run killed mid-line left a last line without its end: end it, so the lines
    appended now stay lines of their own (the cut one is not a result)."""
    try:
        with open(path, "rb+") as handle:
            handle.seek(0, os.SEEK_END)
            if handle.tell() == 0:
                return
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) != b"\n":
                handle.write(b"\n")
    except FileNotFoundError:
        return
