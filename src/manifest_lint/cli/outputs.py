"""Report files: ``--output FORMAT=FILE`` and its shorthands, each written beside its
final path and renamed into place at the end, so a failed run never leaves half a
report where the last good one was."""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Collection
from typing import TextIO

from manifest_lint.errors import UsageError


def requested_outputs(args: argparse.Namespace, formats: Collection[str]) -> list[tuple[str, str]]:
    """The report files asked for, as ``(format, path)``: ``--output`` first, in order,
    then ``--junit``, ``--json`` and ``--sarif``."""
    outputs: list[tuple[str, str]] = []
    for spec in args.output:
        name, _, path = spec.partition("=")
        if not name or not path:
            raise UsageError(f"--output takes FORMAT=FILE, not {spec!r}")
        if name not in formats:
            raise UsageError(
                f"--output: unknown format {name!r} (available: {', '.join(sorted(formats))})"
            )
        outputs.append((name, path))
    for name in ("junit", "json", "sarif"):
        if path := getattr(args, name):
            outputs.append((name, path))
    return outputs


class OutputFile:
    """A report file written next to its final path and renamed into place at the end,
    so a failed run never leaves half a report where the last good one was."""

    def __init__(self, path: str) -> None:
        self.path = path
        directory = os.path.dirname(os.path.abspath(path))
        try:
            fd, self.tmp = tempfile.mkstemp(prefix=".manifest-lint-", dir=directory)
        except OSError as exc:
            raise UsageError(f"cannot write {path}: {exc.strerror}") from None
        self.stream: TextIO = open(fd, "w", encoding="utf-8")  # noqa: SIM115 (closed in close)

    def close(self, keep: bool) -> None:
        self.stream.close()
        if keep:
            os.replace(self.tmp, self.path)
        else:
            os.unlink(self.tmp)


def open_outputs(paths: Collection[str]) -> list[OutputFile]:
    """One :class:`OutputFile` per path; if one cannot be opened, those already open
    are removed before the error goes on."""
    files: list[OutputFile] = []
    try:
        for path in paths:
            files.append(OutputFile(path))
    except BaseException:
        for file in files:
            file.close(keep=False)
        raise
    return files
