"""``--shard K/N``: which references this run checks, so that N runs on N machines (a
CI matrix, GitLab ``parallel:``, a Kubernetes Indexed Job) check each reference once.

A reference belongs to shard ``K`` when a stable hash of its key (its repository by
default, so that one shard's cache serves every tag of a repository; the reference
itself with ``--shard-by reference``) is ``K - 1`` modulo ``N``: the same on every
machine, every run and every Python (SHA-256, never ``hash()``). docs/scale.md.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple

from manifest_lint.errors import InvalidReferenceError, UsageError

if TYPE_CHECKING:
    from manifest_lint.runner import Target
    from manifest_lint.sources.base import SourceOpener

BY = ("repository", "reference")
#: Kubernetes Indexed Jobs number completions from 0 and do not say how many there are.
SHARDS_ENV = "MANIFEST_LINT_SHARDS"


class Shard(NamedTuple):
    #: 1-based.
    number: int
    total: int
    by: str = "repository"
    #: Where K/N came from: ``--shard``, or the CI variables that gave it.
    origin: str = "--shard"

    def __str__(self) -> str:
        return f"{self.number}/{self.total}"


def parse_shard(text: str, origin: str = "--shard") -> tuple[int, int]:
    match = re.fullmatch(r"\s*([0-9]+)\s*/\s*([0-9]+)\s*", text)
    if not match:
        raise UsageError(f"{origin}: {text!r} is not K/N (shard K of N, 1 <= K <= N)")
    index, total = int(match.group(1)), int(match.group(2))
    if not 1 <= index <= total:
        raise UsageError(f"{origin}: shard {index} of {total} does not exist (1 <= K <= N)")
    return index, total


def find_shard(given: str | None, by: str, env: Mapping[str, str]) -> Shard | None:
    """``--shard`` when given; else GitLab's ``CI_NODE_INDEX``/``CI_NODE_TOTAL``, or a
    Kubernetes Indexed Job's ``JOB_COMPLETION_INDEX`` (0-based) with
    ``MANIFEST_LINT_SHARDS``; else None (the run checks every reference)."""
    if given:
        return Shard(*parse_shard(given), by=by)
    if env.get("CI_NODE_INDEX") and env.get("CI_NODE_TOTAL"):
        origin = "CI_NODE_INDEX/CI_NODE_TOTAL"
        text = f"{env['CI_NODE_INDEX']}/{env['CI_NODE_TOTAL']}"
        return Shard(*parse_shard(text, origin), by=by, origin=origin)
    if env.get("JOB_COMPLETION_INDEX") is not None and env.get(SHARDS_ENV):
        origin = f"JOB_COMPLETION_INDEX/{SHARDS_ENV}"
        completion = env["JOB_COMPLETION_INDEX"].strip()
        if not completion.isdigit():
            raise UsageError(f"{origin}: JOB_COMPLETION_INDEX {completion!r} is not a number")
        text = f"{int(completion) + 1}/{env[SHARDS_ENV]}"
        return Shard(*parse_shard(text, origin), by=by, origin=origin)
    return None


def shard_key(reference: str, by: str, sources: Mapping[str, SourceOpener]) -> str:
    """What decides a reference's shard: ``registry/repository`` (a layout's path),
    or with ``by == "reference"`` the reference as normalised. A reference that does
    not parse is keyed by its text (its error result lands in one shard)."""
    from manifest_lint.image.reference import parse_reference

    try:
        parsed = parse_reference(reference, sources)
    except InvalidReferenceError:
        return reference
    if by == "reference":
        return str(parsed)
    if parsed.transport == "docker":
        return f"{parsed.registry}/{parsed.repository}"
    return f"{parsed.transport}:{parsed.path}"


def shard_of(key: str, total: int) -> int:
    """The 1-based shard of ``key`` among ``total``."""
    digest = hashlib.sha256(key.encode("utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "big") % total + 1


def in_shard_one(target: Target, shard: Shard, sources: Mapping[str, SourceOpener]) -> bool:
    """Whether ``target`` belongs to ``shard``."""
    return shard_of(shard_key(target.reference, shard.by, sources), shard.total) == shard.number
