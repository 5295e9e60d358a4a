"""policy.waivers.apply_waivers: which failures an exception waives, and what expired and
soon-expiring exceptions add (docs/exceptions.md)."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from manifest_lint.policy.waivers import apply_waivers
from manifest_lint.results import (
    EXCEPTION,
    Finding,
    Outcome,
    ReferenceResult,
    Severity,
    Summary,
    Waiver,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
REF = "registry.example.com/legacy/app:1.0"
DIGEST = "sha256:" + "a" * 64


def _end_of(day: str) -> datetime:
    return datetime.combine(datetime.fromisoformat(day).date(), time.max, tzinfo=UTC)


def _waiver(
    images: tuple[str, ...] = ("registry.example.com/legacy/*",),
    expires: str = "2027-01-31",
    policy: str = "max-layers",
    platform: str = "",
) -> Waiver:
    return Waiver(
        policy,
        _end_of(expires),
        "legacy base image",
        platform=platform,
        images=images,
        source="x.yaml:3",
    )


FAIL = Finding("max-layers", Outcome.FAIL, Severity.ERROR, "too many layers")


def _apply(
    findings: list[Finding],
    waivers: list[Waiver],
    digest: str = DIGEST,
    now: datetime = NOW,
    warn_days: int = 14,
) -> tuple[tuple[Finding, ...], frozenset[Waiver]]:
    return apply_waivers(
        findings, waivers, normalized=REF, digest=digest, now=now, warn_days=warn_days
    )


def test_a_failure_is_waived_by_a_glob() -> None:
    waiver = _waiver()
    findings, used = _apply([FAIL], [waiver])
    assert [(f.outcome, f.waiver) for f in findings] == [(Outcome.WAIVED, waiver)]
    assert used == {waiver}
    result = ReferenceResult(REF, findings=findings)
    assert result.outcome(Severity.ERROR) is Outcome.WAIVED


@pytest.mark.parametrize(
    "images", [("registry.example.com/other/*",), ("sha256:" + "b" * 64,), ("legacy/*",)]
)
def test_an_exception_for_other_images_waives_nothing(images: tuple[str, ...]) -> None:
    findings, used = _apply([FAIL], [_waiver(images)])
    assert findings == (FAIL,)
    assert used == frozenset()


def test_a_digest_matches_the_image_digest() -> None:
    findings, _ = _apply([FAIL], [_waiver((DIGEST,))])
    assert findings[0].outcome is Outcome.WAIVED
    # Without a digest known (offline, a reference by tag), a digest matches nothing.
    findings, _ = _apply([FAIL], [_waiver((DIGEST,))], digest="")
    assert findings == (FAIL,)


def test_only_a_failure_is_waived() -> None:
    others = [
        Finding("max-layers", Outcome.ERROR, Severity.ERROR, "no such key", platform="linux/amd64"),
        Finding("max-layers", Outcome.PASS, Severity.ERROR, platform="linux/arm64"),
        Finding("max-layers", Outcome.SKIP, Severity.ERROR, platform="linux/s390x"),
    ]
    findings, used = _apply(others, [_waiver()])
    assert findings == tuple(others)
    assert used == frozenset()


def test_a_platform_narrows_the_exception() -> None:
    amd = Finding("max-layers", Outcome.FAIL, Severity.ERROR, "x", platform="linux/amd64")
    arm = Finding("max-layers", Outcome.FAIL, Severity.ERROR, "x", platform="linux/arm64")
    findings, _ = _apply([amd, arm], [_waiver(platform="linux/arm64")])
    assert [f.outcome for f in findings] == [Outcome.FAIL, Outcome.WAIVED]
    # Another policy's failure is not waived.
    other = Finding("no-latest", Outcome.FAIL, Severity.ERROR, "latest")
    assert _apply([other], [_waiver()])[0] == (other,)


def test_an_expired_exception_fails_closed() -> None:
    waiver = _waiver(expires="2026-11-30")
    findings, used = _apply([FAIL], [waiver])
    assert findings[0] == FAIL
    expired = findings[1]
    assert (expired.policy, expired.outcome, expired.severity) == (
        EXCEPTION,
        Outcome.FAIL,
        Severity.ERROR,
    )
    assert expired.message == ("exception expired on 2026-11-30: legacy base image (max-layers)")
    assert used == {waiver}  # it matched: it is not "unused"


def test_a_bare_date_lasts_the_whole_day() -> None:
    waiver = _waiver(expires="2026-12-01")
    late = datetime(2026, 12, 1, 23, 59, 59, tzinfo=UTC)
    findings, _ = _apply([FAIL], [waiver], now=late)
    assert findings[0].outcome is Outcome.WAIVED
    after = datetime(2026, 12, 2, 0, 0, 0, tzinfo=UTC)
    findings, _ = _apply([FAIL], [waiver], now=after)
    assert findings[0] == FAIL
    assert findings[1].message.startswith("exception expired on 2026-12-01:")


def test_an_exception_expiring_soon_is_applied_with_a_warning() -> None:
    findings, _ = _apply([FAIL], [_waiver(expires="2026-12-10")])
    assert findings[0].outcome is Outcome.WAIVED
    warning = findings[1]
    assert (warning.policy, warning.outcome, warning.severity) == (
        EXCEPTION,
        Outcome.FAIL,
        Severity.WARNING,
    )
    assert warning.message == (
        "exception expires on 2026-12-10 (in 10 days): legacy base image (max-layers)"
    )
    # Outside the window: no warning.
    findings, _ = _apply([FAIL], [_waiver(expires="2026-12-10")], warn_days=5)
    assert [f.policy for f in findings] == ["max-layers"]


def test_a_valid_exception_wins_over_an_expired_one() -> None:
    old, new = _waiver(expires="2026-01-01"), _waiver(expires="2027-03-01")
    findings, used = _apply([FAIL], [old, new])
    assert [f.outcome for f in findings] == [Outcome.WAIVED]
    assert findings[0].waiver == new
    assert used == {old, new}


def test_a_waived_result_does_not_fail_the_summary() -> None:
    findings, _ = _apply([FAIL], [_waiver()])
    summary = Summary()
    summary.add(ReferenceResult(REF, findings=findings), Severity.ERROR)
    assert summary.blocking_failures == 0
    assert summary.counts[Outcome.WAIVED] == 1
    assert summary.lines()[1].endswith("0 skipped, 1 waived")
