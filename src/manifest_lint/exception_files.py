"""Exceptions as written (docs/exceptions.md): the ``exceptions:`` list of
``.manifest-lint.yaml`` and of ``--exceptions FILE``, read into :class:`Waiver` values
with ``FILE:LINE`` errors, and checked against a run (known policies, the longest
allowed life).

    exceptions:
      - policy: max-layers[linux/arm64]      # a policy name; [os/arch] narrows it
        images: [registry.example.com/legacy/*, "sha256:..."]
        reason: legacy base image; replacement tracked in OPS-123
        expires: 2027-01-31                   # a date (the end of that day, UTC) or RFC 3339
        owner: team-platform                  # optional
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from manifest_lint.errors import ConfigError
from manifest_lint.image.platforms import PlatformFormatError, parse_platform
from manifest_lint.results import NEVER, Waiver
from manifest_lint.yamlfile import LocatedDict, LocatedList, check_keys, load_all, read_text
from manifest_lint.yamlfile.schema import check as check_schema

KEYS = ("policy", "images", "reason", "expires", "owner")
_REQUIRED = ("policy", "images", "reason", "expires")
_NAME = re.compile(r"(?P<policy>[^\[\]\s]+)(\[(?P<platform>[^\[\]]+)\])?\Z")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})\Z")


def expiry(value: Any) -> datetime:
    """``expires`` as UTC: a date is the end of that day (23:59:59.999999 UTC); a time
    must carry its offset. YAML reads an unquoted date or time as one; quoted, it is text.
    ``ValueError`` says what is wrong."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"{value.isoformat()} has no offset (write Z or +HH:MM)")
        return value.astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, time.max, tzinfo=UTC)
    if isinstance(value, str) and _DATE.match(value):
        return expiry(date.fromisoformat(value))
    if isinstance(value, str) and _TIME.match(value):
        return expiry(datetime.fromisoformat(value.upper().replace("Z", "+00:00")))
    raise ValueError(f"{value!r} is not a date (2027-01-31) or an RFC 3339 time")


def policy_name(text: str, path: str, line: int) -> tuple[str, str]:
    """``max-layers[linux/arm64]`` as the policy and its platform (normalised; ``""``
    for every platform)."""
    name = _NAME.match(text)
    if name is None:
        raise ConfigError(
            f"{text!r}: a policy name, or NAME[os/arch], was expected", path=path, line=line
        )
    platform = name["platform"] or ""
    if platform:
        try:
            platform = str(parse_platform(platform))
        except PlatformFormatError as exc:
            raise ConfigError(str(exc), path=path, line=line) from None
    return name["policy"], platform


def _text(item: LocatedDict, key: str, path: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{key} must be non-empty text", path=path, line=item.key_line(key))
    return value.strip()


def _item(item: Any, path: str, line: int) -> Waiver:
    if not isinstance(item, LocatedDict):
        raise ConfigError("an exception must be a mapping", path=path, line=line)
    check_keys(item, KEYS, "an exception", path=path, error=ConfigError)
    for key in _REQUIRED:
        if key not in item:
            raise ConfigError(f"an exception needs {key!r}", path=path, line=line)
    policy, platform = policy_name(_text(item, "policy", path), path, item.key_line("policy"))
    images = item["images"]
    if (
        not isinstance(images, list)
        or not images
        or not all(isinstance(i, str) and i.strip() for i in images)
    ):
        raise ConfigError(
            "images must be a list of reference globs or digests",
            path=path,
            line=item.key_line("images"),
        )
    try:
        expires = expiry(item["expires"])
    except ValueError as exc:
        raise ConfigError(f"expires: {exc}", path=path, line=item.key_line("expires")) from None
    owner = _text(item, "owner", path) if "owner" in item else ""
    return Waiver(
        policy,
        expires,
        _text(item, "reason", path),
        platform=platform,
        images=tuple(i.strip() for i in images),
        owner=owner,
        source=f"{path}:{line}",
    )


def parse_exceptions(value: Any, path: str, line: int) -> tuple[Waiver, ...]:
    """The ``exceptions:`` list (``value``, at ``line`` of ``path``) as waivers."""
    if value is None:
        return ()
    if not isinstance(value, LocatedList):
        raise ConfigError("exceptions must be a list", path=path, line=line)
    positions = getattr(value, "item_positions", [])
    return tuple(
        _item(item, path, positions[i][0] if i < len(positions) else line)
        for i, item in enumerate(value)
    )


def load_exceptions(path: Path) -> tuple[Waiver, ...]:
    """``--exceptions FILE``: a mapping with one key, ``exceptions``."""
    documents = load_all(read_text(path, ConfigError), path=str(path), error=ConfigError)
    if not documents or documents[0].value is None:
        return ()
    top = documents[0].value
    if len(documents) > 1 or not isinstance(top, LocatedDict):
        raise ConfigError("an exceptions file holds one mapping", path=str(path), line=1)
    for key in top:
        if key != "exceptions":
            raise ConfigError(
                f"unknown key {key!r} (an exceptions file holds only 'exceptions')",
                path=str(path),
                line=top.key_line(key),
            )
    waivers = parse_exceptions(top.get("exceptions"), str(path), top.key_line("exceptions"))
    check_schema(top, "exceptions.schema.json", path=str(path), error=ConfigError)
    return waivers


def check_exceptions(
    waivers: Sequence[Waiver], known: Collection[str], now: datetime, max_days: int
) -> None:
    """Each exception names a known policy and expires at most ``max_days`` after ``now``."""
    latest = (now + timedelta(days=max_days)).date()
    for waiver in waivers:
        path, _, line = waiver.source.rpartition(":")
        at = int(line) if line.isdigit() else 0
        if waiver.policy not in known:
            raise ConfigError(
                f"exception for {waiver.policy!r}: no such policy "
                f"(known: {', '.join(sorted(known))})",
                path=path,
                line=at,
            )
        if waiver.expires != NEVER and waiver.expires.date() > latest:
            raise ConfigError(
                f"exception for {waiver.name!r} expires on {waiver.expires_text}, more than "
                f"max-exception-days ({max_days}) after today (at most {latest.isoformat()})",
                path=path,
                line=at,
            )
