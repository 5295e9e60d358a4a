"""Exceptions applied to one reference's findings (docs/exceptions.md). Pure: values in,
values out; the caller keeps which exceptions were used.

A FAIL finding (never an ERROR, a PASS or a SKIP) is waived by the first exception, in
the order given, that names its policy (and its platform, when the exception names one)
and one of whose ``images`` matches the reference: a glob on the normalised reference
(``registry.example.com/legacy/*``) or the image's digest (``sha256:...``).

* An exception that has not expired waives the finding (outcome ``waived``). One that
  expires within ``warn_days`` also adds a warning finding of the pseudo-policy
  ``exception``.
* An expired one (``now > expires``) is not applied: the failure stays, and an error
  finding of the pseudo-policy ``exception`` says which exception expired (fail closed).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from fnmatch import fnmatchcase

from manifest_lint.results import EXCEPTION, Finding, Outcome, Severity, Waiver


def matches(waiver: Waiver, finding: Finding, *, normalized: str, digest: str) -> bool:
    """Whether ``waiver`` names ``finding``'s policy (and platform) and the image."""
    if waiver.policy != finding.policy:
        return False
    if waiver.platform and waiver.platform != finding.platform:
        return False
    for pattern in waiver.images:
        if pattern.startswith("sha256:"):
            if digest and pattern == digest:
                return True
        elif normalized and fnmatchcase(normalized, pattern):
            return True
    return False


def _expired(waiver: Waiver, finding: Finding) -> Finding:
    return Finding(
        EXCEPTION,
        Outcome.FAIL,
        Severity.ERROR,
        f"exception expired on {waiver.expires_text}: {waiver.reason} ({waiver.name})",
        platform=finding.platform,
    )


def _expiring(waiver: Waiver, finding: Finding, now: datetime) -> Finding:
    days = max(0, math.ceil((waiver.expires - now).total_seconds() / 86400))
    return Finding(
        EXCEPTION,
        Outcome.FAIL,
        Severity.WARNING,
        f"exception expires on {waiver.expires_text} (in {days} day{'s' if days != 1 else ''})"
        f": {waiver.reason} ({waiver.name})",
        platform=finding.platform,
    )


def apply_waivers(
    findings: Iterable[Finding],
    waivers: Sequence[Waiver],
    *,
    normalized: str,
    digest: str,
    now: datetime,
    warn_days: int,
) -> tuple[tuple[Finding, ...], frozenset[Waiver]]:
    """``findings`` with the failures ``waivers`` cover waived, and the findings of the
    pseudo-policy ``exception`` for expired and soon-expiring exceptions added; and the
    exceptions that matched a failure (expired or not)."""
    findings = tuple(findings)
    if not waivers:
        return findings, frozenset()
    out: list[Finding] = []
    used: set[Waiver] = set()
    for finding in findings:
        if finding.outcome is not Outcome.FAIL:
            out.append(finding)
            continue
        found = [w for w in waivers if matches(w, finding, normalized=normalized, digest=digest)]
        used.update(found)
        valid = [w for w in found if now <= w.expires]
        if valid:
            waiver = valid[0]
            out.append(replace(finding, outcome=Outcome.WAIVED, waiver=waiver))
            if (waiver.expires - now).total_seconds() <= warn_days * 86400:
                out.append(_expiring(waiver, finding, now))
            continue
        out.append(finding)
        out.extend(_expired(w, finding) for w in found)
    return tuple(out), frozenset(used)
