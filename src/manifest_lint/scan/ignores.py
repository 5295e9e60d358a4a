"""Inline exceptions in scanned files (docs/exceptions.md): a comment

    # manifest-lint ignore=POLICY[,POLICY] reason="..." [expires=DATE]

on the line directly above a reference, or at the end of its line (YAML only: a
Dockerfile has no end-of-line comments, ``docker build`` would read the ``#`` as an
argument), waives those policies' failures on that occurrence of the reference.

Every such comment must waive something found: one that is malformed, or that sits
where no reference is, is an :class:`~manifest_lint.errors.IgnoreCommentError`
naming the file and line, never a comment silently ignored.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from manifest_lint.errors import ConfigError, IgnoreCommentError
from manifest_lint.exception_files import expiry, policy_name
from manifest_lint.results import NEVER, Waiver
from manifest_lint.scan.found import DOCKERFILE, Found

#: A comment addressed to manifest-lint: ``# manifest-lint WORD=...``.
_MARK = re.compile(r"#\s*manifest-lint\s+(?=[\w-]+=)(?P<rest>.*)$")
_PAIR = re.compile(r'\s*(?P<key>[\w-]+)=(?:"(?P<quoted>(?:[^"\\]|\\.)*)"|(?P<bare>[^\s"]+))')
_KEYS = ("ignore", "reason", "expires")
_SHAPE = 'ignore=POLICY[,POLICY] reason="..." [expires=DATE]'


def with_inline_waivers(found: Sequence[Found], text: str, path: str, kind: str) -> list[Found]:
    """``found`` (from ``text``, a file of ``kind`` read from ``path``), each with the
    waivers of the ``# manifest-lint ignore=`` comments that name it."""
    marks = {
        number: match
        for number, line in enumerate(text.splitlines(), start=1)
        if (match := _MARK.search(line)) is not None
    }
    if not marks:
        return list(found)
    lines = text.splitlines()
    if kind == DOCKERFILE:
        for number in marks:
            if not lines[number - 1].lstrip().startswith("#"):
                raise IgnoreCommentError(
                    "a Dockerfile has no end-of-line comments (docker build reads the '#' "
                    "as an argument): put '# manifest-lint ignore=...' on the line above",
                    path=path,
                    line=number,
                )
    used: set[int] = set()
    out: list[Found] = []
    for item in found:
        line = item.location.line
        if not item.reference or line < 1:
            out.append(item)
            continue
        waivers: list[Waiver] = []
        above = line - 1
        if above in marks and lines[above - 1].lstrip().startswith("#"):
            waivers += _parse(marks[above].group("rest"), path, above)
            used.add(above)
        if line in marks and not lines[line - 1].lstrip().startswith("#"):
            waivers += _parse(marks[line].group("rest"), path, line)
            used.add(line)
        out.append(item._replace(waivers=tuple(waivers)) if waivers else item)
    for number in sorted(set(marks) - used):
        _parse(marks[number].group("rest"), path, number)  # a malformed one says so first
        raise IgnoreCommentError(
            "this comment waives nothing: write it on the line directly above an image "
            "reference, or at the end of the reference's line (YAML)",
            path=path,
            line=number,
        )
    return out


def _parse(rest: str, path: str, line: int) -> list[Waiver]:
    """The waivers of one comment's ``key=value`` words."""
    given: dict[str, str] = {}
    position = 0
    rest = rest.rstrip()
    while position < len(rest):
        pair = _PAIR.match(rest, position)
        if pair is None:
            raise IgnoreCommentError(
                f"cannot read {rest[position:].strip()!r} (write {_SHAPE})", path=path, line=line
            )
        key = pair["key"]
        if key not in _KEYS:
            raise IgnoreCommentError(f"unknown word {key!r} (write {_SHAPE})", path=path, line=line)
        if key in given:
            raise IgnoreCommentError(f"{key}= is given twice", path=path, line=line)
        value = pair["quoted"] if pair["quoted"] is not None else pair["bare"]
        given[key] = re.sub(r"\\(.)", r"\1", value) if pair["quoted"] is not None else value
        position = pair.end()
    for key in ("ignore", "reason"):
        if not given.get(key, "").strip():
            raise IgnoreCommentError(f"{key}= is required (write {_SHAPE})", path=path, line=line)
    expires = NEVER
    if "expires" in given:
        try:
            expires = expiry(given["expires"])
        except ValueError as exc:
            raise IgnoreCommentError(f"expires: {exc}", path=path, line=line) from None
    waivers = []
    for name in given["ignore"].split(","):
        try:
            policy, platform = policy_name(name.strip(), path, line)
        except ConfigError as exc:
            raise IgnoreCommentError(f"ignore: {_bare(exc)}", path=path, line=line) from None
        waivers.append(
            Waiver(
                policy,
                expires,
                given["reason"].strip(),
                platform=platform,
                # Applied to this occurrence only (the runner's target), whatever its name.
                images=("*",),
                source=f"{path}:{line}",
                inline=True,
            )
        )
    return waivers


def _bare(exc: ConfigError) -> str:
    """The message of ``exc`` without its ``path:line:`` prefix."""
    prefix = f"{exc.path}:{exc.line}: " if exc.line else f"{exc.path}: "
    return exc.message.removeprefix(prefix) if exc.path else exc.message
