"""Report files: ``--output FORMAT=FILE`` and its shorthands, each written beside its
final path and renamed into place at the end, so a failed run never leaves half a
report where the last good one was."""

from __future__ import annotations

import argparse
import os
import secrets
from collections.abc import Callable, Collection
from pathlib import Path
from typing import TextIO, TypeVar

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


#: Tries at a fresh name before giving up (each name has 64 random bits).
_ATTEMPTS = 100
_T = TypeVar("_T")


def _create_fresh(directory: str, prefix: str, create: Callable[[str], _T]) -> tuple[str, _T]:
    """``create(path)`` for a new random name in ``directory``, until one is free.

    ``tempfile.mkstemp`` and ``mkdtemp`` would do this, but they always create 0600
    and 0700: a report written by a root step could then not be read by a later step
    running as another user. Created with 0666 (0777), the kernel applies the umask;
    the umask itself is never read (reading it means setting it, for every thread of
    the process at once).
    """
    for _ in range(_ATTEMPTS):
        path = os.path.join(directory, prefix + secrets.token_hex(8))
        try:
            return path, create(path)
        except FileExistsError:
            continue
    raise FileExistsError(f"no free name in {directory}")  # pragma: no cover - 2**64 names


def new_directory(parent: Path, prefix: str) -> Path:
    """A new directory in ``parent`` with the mode the umask gives (not 0700)."""
    path, _ = _create_fresh(str(parent), prefix, lambda p: os.mkdir(p, 0o777))
    return Path(path)


class OutputFile:
    """A report file written next to its final path and renamed into place at the end,
    so a failed run never leaves half a report where the last good one was. Its mode
    is what the umask gives a new file (0644 under umask 022)."""

    def __init__(self, path: str) -> None:
        self.path = path
        directory = os.path.dirname(os.path.abspath(path))
        try:
            self.tmp, fd = _create_fresh(
                directory,
                ".manifest-lint-",
                lambda p: os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666),
            )
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
