"""What a lint run checks: references from the command line, ``--refs-file`` and the
files ``scan`` reads, each with where it was found."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from manifest_lint.errors import IgnoreCommentError, ManifestLintError, UsageError

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

    from manifest_lint.results import Waiver
    from manifest_lint.runner import Target
    from manifest_lint.sources.base import SourceOpener


def scan_targets(files: Sequence[str], max_size: int | None = None) -> list[Target]:
    from manifest_lint.results import Location
    from manifest_lint.runner import Target
    from manifest_lint.scan import MAX_SCAN_SIZE, scan_file

    targets: list[Target] = []
    for name in files:
        try:
            found = scan_file(Path(name), max_size=max_size or MAX_SCAN_SIZE)
        except IgnoreCommentError:
            raise  # (exit 2, as a malformed exception in a configuration is)
        except ManifestLintError as exc:
            # A file that cannot be read is a result too: the other files still count.
            targets.append(Target(name, Location(name), error=str(exc)))
            continue
        for item in found:
            targets.append(
                Target(
                    # (No kind: the file itself, which holds nothing to check.)
                    item.reference or item.text or ("(unresolved)" if item.kind else name),
                    item.location,
                    problem=item.problem,
                    waivers=item.waivers,
                )
            )
    return targets


def asks_registries(targets: Iterable[Target], sources: Mapping[str, SourceOpener]) -> bool:
    """Whether some target is a registry reference (a layout-only run reads no CAs)."""
    from manifest_lint.errors import InvalidReferenceError
    from manifest_lint.image.reference import parse_reference

    for target in targets:
        if target.error or target.problem:
            continue
        try:
            if parse_reference(target.reference, sources).transport == "docker":
                return True
        except InvalidReferenceError:
            continue
    return False


def check_arguments(references: Sequence[str]) -> None:
    """A reference argument spelled like a command is taken for a misplaced command:
    a usage error, with the spelling that means the image."""
    from manifest_lint.cli.parsers import COMMANDS

    for reference in references:
        if reference in COMMANDS:
            raise UsageError(
                f"{reference!r} is a command, not an image reference here: write "
                f"'manifest-lint {reference} ...' with the command first (options may come "
                f"before it), or docker.io/library/{reference} to lint an image named "
                f"{reference}"
            )


class Targets:
    """What a run checks, made one at a time as the run asks: scan's findings, then the
    arguments and the ``--refs-file`` lines, each reference (as written) once, at its
    first occurrence. The lines are kept as text, not as targets, so that a list of
    10^5 references costs little more than its text (docs/scale.md)."""

    def __init__(
        self, found: list[Target], arguments: list[str], lines: list[str], path: str
    ) -> None:
        self.found = found
        self.arguments = arguments
        self.lines = lines
        self.path = path

    def __bool__(self) -> bool:
        return bool(self.found or self.arguments or any(_text(line) for line in self.lines))

    def __iter__(self) -> Iterator[Target]:
        from manifest_lint.results import Location
        from manifest_lint.runner import Target

        yield from self.found
        # A list of references is a set to check, not places to report (scan's
        # findings are; the runner still evaluates those once).
        seen: set[str] = set()
        for reference in self.arguments:
            if reference not in seen:
                seen.add(reference)
                yield Target(reference)
        for number, line in enumerate(self.lines, start=1):
            text = _text(line)
            if text and text not in seen:
                seen.add(text)
                column = len(line) - len(line.lstrip()) + 1
                yield Target(text, Location(self.path, number, column))

    def waivers(self) -> list[Waiver]:
        """The inline exceptions of scan's findings."""
        return [w for t in self.found for w in t.waivers]


def _text(line: str) -> str:
    # '#' never occurs in a reference: everything after it is a comment.
    return line.split("#", 1)[0].strip()


def read_targets(args: argparse.Namespace, found: list[Target]) -> Targets:
    arguments = [*getattr(args, "references", ()), *args.ref]
    lines: list[str] = []
    if args.refs_file:
        try:
            if args.refs_file == "-":
                lines = sys.stdin.read().splitlines()
            else:
                with open(args.refs_file, encoding="utf-8") as handle:
                    lines = handle.read().splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"--refs-file {args.refs_file}: cannot read: {exc}") from None
    path = "<stdin>" if args.refs_file == "-" else (args.refs_file or "")
    targets = Targets(found, arguments, lines, path)
    if not targets and not getattr(args, "files", None) and not getattr(args, "catalog", None):
        if hasattr(args, "files"):  # scan
            raise UsageError("scan: no files given (FILE..., or --ref REF, --refs-file FILE)")
        raise UsageError(
            "no image references given (REF..., --refs-file FILE, or --catalog REGISTRY)"
        )
    return targets
