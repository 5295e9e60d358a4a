"""When and how a failed registry request is tried again.

Transient failures (connection refused, time-outs, 429 and 502-504) are retried with
exponential backoff and jitter, or after the server's ``Retry-After``, up to
:data:`MAX_ATTEMPTS` and never past the reference's deadline.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar

from manifest_lint.errors import RegistryUnavailableError

if TYPE_CHECKING:
    import tenacity

T = TypeVar("T")

MAX_ATTEMPTS = 5
TRANSIENT_STATUSES = frozenset({502, 503, 504})
#: Longest wait between attempts when the server does not say (seconds).
MAX_BACKOFF = 8.0


def retry(
    attempt: Callable[[], T],
    *,
    budget: float,
    timeout: float,
    sleep: Callable[[float], None],
) -> T:
    """Run ``attempt`` until it succeeds, retrying transient failures with exponential
    backoff and jitter (or the server's ``Retry-After``) for at most ``budget`` seconds.
    A failure after retries says how many attempts were made (``timeout`` is the
    ``--timeout`` it names); ``sleep`` waits between attempts."""
    try:
        # Nearly every request succeeds at once: no retry machinery for those.
        return attempt()
    except RegistryUnavailableError as exc:
        if not exc.transient:
            raise
        first: list[RegistryUnavailableError] = [exc]

    def again() -> T:
        """Attempt 1 is the failure just seen (so waits and counts stay exact)."""
        if first:
            raise first.pop()
        return attempt()

    import tenacity  # (only when an attempt failed: start-up does not pay for it)

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception(is_transient),
        wait=_wait,
        stop=tenacity.stop_before_delay(budget) | tenacity.stop_after_attempt(MAX_ATTEMPTS),
        sleep=sleep,
        reraise=True,
    )
    try:
        return retrying(again)
    except RegistryUnavailableError as exc:
        attempts = retrying.statistics.get("attempt_number", 1)
        # A single attempt is worth a note too when the server asked for a wait that
        # would pass the deadline: the message must say why it was not retried.
        if not exc.transient or (attempts <= 1 and exc.retry_after is None):
            raise
        note = f" (gave up after {attempts} attempt{'s' if attempts != 1 else ''}"
        if exc.retry_after is not None:
            note += f"; the registry asked to wait {exc.retry_after:g} s"
        note += f"; --timeout {timeout:g} s)"
        raise RegistryUnavailableError(
            str(exc) + note,
            url=exc.url,
            status=exc.status,
            reference=exc.reference,
            retry_after=exc.retry_after,
        ) from exc


def is_transient(exc: BaseException) -> bool:
    """A failure worth another attempt."""
    return isinstance(exc, RegistryUnavailableError) and exc.transient


@functools.cache
def _backoff() -> Callable[[tenacity.RetryCallState], float]:
    import tenacity

    return tenacity.wait_exponential_jitter(multiplier=0.1, max=MAX_BACKOFF, jitter=0.2)


def _wait(state: tenacity.RetryCallState) -> float:
    """The server's ``Retry-After`` when it sent one, else exponential backoff with jitter."""
    exc = state.outcome.exception() if state.outcome is not None else None
    if isinstance(exc, RegistryUnavailableError) and exc.retry_after is not None:
        return exc.retry_after
    return float(_backoff()(state))


def parse_retry_after(value: str, now: datetime | None = None) -> float | None:
    """``Retry-After`` in seconds: delta-seconds or an HTTP-date; None when absent or bad."""
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        import email.utils

        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)
