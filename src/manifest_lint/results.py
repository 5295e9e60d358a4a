"""Results: severities, outcomes, findings and the report. Pure values, sorted, deterministic."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Any


class Severity(enum.IntEnum):
    INFO = 1
    WARNING = 2
    ERROR = 3

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(
                f"unknown severity {text!r} (choose from error, warning, info)"
            ) from None


class Outcome(enum.Enum):
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    SKIP = "skip"
    #: A failure an exception covers (docs/exceptions.md): reported, never failing the run.
    WAIVED = "waived"

    def __str__(self) -> str:
        return self.value


#: The pseudo-policy of a reference that could not be read at all.
FETCH = "fetch"
#: The pseudo-policy of a reference that does not parse (a usage error: exit code 2).
REFERENCE = "reference"
#: The pseudo-policy of an exception that expired (an error) or expires soon (a warning).
EXCEPTION = "exception"


#: The expiry of an inline exception written without ``expires=`` (docs/exceptions.md).
NEVER = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Waiver:
    """An exception (docs/exceptions.md): a policy's failures on some images waived until
    ``expires``. ``expires`` is in UTC; a bare date (``2027-01-31``) means the end of that
    day, UTC (23:59:59.999999), so it is waived through the whole day it names."""

    policy: str
    expires: datetime
    reason: str
    #: ``""``: every platform; ``linux/arm64`` narrows (``max-layers[linux/arm64]``).
    platform: str = ""
    #: Globs on the normalised reference, or digests (``sha256:...``).
    images: tuple[str, ...] = ()
    owner: str = ""
    #: Where it was written: ``FILE:LINE``.
    source: str = ""
    #: Written in a scanned file next to the reference it waives
    #: (``# manifest-lint ignore=``), not in a configuration or exceptions file.
    inline: bool = False

    @property
    def name(self) -> str:
        return f"{self.policy}[{self.platform}]" if self.platform else self.policy

    @property
    def expires_text(self) -> str:
        """The date as written for a bare date, else the UTC time (``...T12:00:00Z``);
        ``never`` for an inline exception written without one."""
        if self.expires == NEVER:
            return "never"
        if self.expires.time() == time.max:
            return self.expires.date().isoformat()
        return self.expires.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Finding:
    """One result: a policy (on one platform, for platform-scoped policies) on one reference."""

    policy: str
    outcome: Outcome
    severity: Severity
    message: str = ""
    platform: str = ""
    #: Per failed validation: its message (a policy can have several validations).
    details: tuple[str, ...] = ()
    #: The exception that waived this failure (``outcome`` is then ``WAIVED``).
    waiver: Waiver | None = None

    @property
    def name(self) -> str:
        """``max-layers[linux/arm64]`` for platform-scoped results, else the policy name."""
        return f"{self.policy}[{self.platform}]" if self.platform else self.policy

    def sort_key(self) -> tuple[int, str, str]:
        return (0 if self.policy in (FETCH, REFERENCE) else 1, self.policy, self.platform)


@dataclass(frozen=True)
class Location:
    """Where a reference was found (a file, for references read from files)."""

    path: str
    line: int = 0
    column: int = 0


@dataclass(frozen=True)
class ReferenceResult:
    """Everything found for one reference as given."""

    reference: str
    normalized: str = ""
    registry: str = ""
    digest: str = ""
    findings: tuple[Finding, ...] = ()
    location: Location | None = None
    #: Platforms of the image (normalised), for coverage views.
    platforms: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "findings", tuple(sorted(self.findings, key=Finding.sort_key)))

    def count(self, outcome: Outcome) -> int:
        return sum(1 for f in self.findings if f.outcome is outcome)

    def outcome(self, fail_on: Severity) -> Outcome:
        """The reference's one outcome, the same in every report (docs/reporters.md):

        * ``error``: a result could not be evaluated (or the reference does not parse);
        * ``fail``: a violation at or above ``fail_on``;
        * ``waived``: an exception waived a failure, and nothing fails;
        * ``pass``: a policy passed, or failed only below ``fail_on`` (a warning does
          not fail the run, so it does not fail the reference: see :meth:`below`);
        * ``skip``: every result was skipped, or there was none: nothing was checked.

        ``error`` beats ``fail`` as exit code 3 beats 1.
        """
        if any(f.outcome is Outcome.ERROR for f in self.findings):
            return Outcome.ERROR
        if any(f.outcome is Outcome.FAIL and f.severity >= fail_on for f in self.findings):
            return Outcome.FAIL
        if any(f.outcome is Outcome.WAIVED for f in self.findings):
            return Outcome.WAIVED
        if any(f.outcome is not Outcome.SKIP for f in self.findings):
            return Outcome.PASS
        return Outcome.SKIP

    def below(self, fail_on: Severity) -> int:
        """How many violations are below ``fail_on`` (reported, not failing)."""
        return sum(1 for f in self.findings if f.outcome is Outcome.FAIL and f.severity < fail_on)

    @property
    def head(self) -> str:
        """The reference as given, after where it was found (``Dockerfile:3:6: alpine``)."""
        loc = self.location
        if loc is None:
            return self.reference
        if not loc.line:  # a file (scan's file of no known kind, or one it cannot read)
            return loc.path if self.reference == loc.path else f"{loc.path}: {self.reference}"
        where = f"{loc.path}:{loc.line}" + (f":{loc.column}" if loc.column else "")
        return f"{where}: {self.reference}"


@dataclass(frozen=True)
class PolicyInfo:
    """What reporters need to know about a policy (SARIF rules, JUnit, docs links)."""

    name: str
    description: str = ""
    severity: Severity = Severity.ERROR
    scope: str = "image"
    source: str = ""
    help_uri: str = ""


@dataclass
class Summary:
    """Counts over a run, by outcome."""

    references: int = 0
    counts: dict[Outcome, int] = field(default_factory=lambda: dict.fromkeys(Outcome, 0))
    #: Failures at or above the ``--fail-on`` threshold.
    blocking_failures: int = 0
    #: Failures below it (reported, not failing the run).
    warnings: int = 0
    #: References that do not parse.
    invalid_references: int = 0
    #: References by their outcome (:meth:`ReferenceResult.outcome`).
    outcomes: dict[Outcome, int] = field(default_factory=lambda: dict.fromkeys(Outcome, 0))
    #: Per registry host: requests by method, counted pulls, rate-limit headers.
    registries: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Cache hits and misses (empty without a cache).
    cache: dict[str, int] = field(default_factory=dict)
    #: CPU seconds spent evaluating CEL, summed over threads.
    evaluation_seconds: float = 0.0
    #: Exceptions that waived nothing, in a run that evaluated their policy.
    unused_exceptions: list[Waiver] = field(default_factory=list)

    def add(self, result: ReferenceResult, fail_on: Severity) -> None:
        self.references += 1
        self.outcomes[result.outcome(fail_on)] += 1
        for finding in result.findings:
            if finding.policy == REFERENCE and finding.outcome is Outcome.ERROR:
                self.invalid_references += 1
            self.counts[finding.outcome] += 1
            if finding.outcome is Outcome.FAIL:
                if finding.severity >= fail_on:
                    self.blocking_failures += 1
                else:
                    self.warnings += 1

    @property
    def errors(self) -> int:
        return self.counts[Outcome.ERROR]

    def lines(self) -> tuple[str, str]:
        """The text report's summary: results by outcome, then (the verdict, last)
        references by outcome."""
        o, c = self.outcomes, self.counts
        n = self.references
        results = sum(c.values())
        # Waived results are named only when there are some (the line is unchanged without).
        waived = f", {c[Outcome.WAIVED]} waived" if c[Outcome.WAIVED] else ""
        waived_refs = f", {o[Outcome.WAIVED]} waived" if o[Outcome.WAIVED] else ""
        return (
            f"{results} result{'s' if results != 1 else ''}: {c[Outcome.PASS]} passed, "
            f"{self.blocking_failures} failed, {self.warnings} below --fail-on, "
            f"{c[Outcome.ERROR]} errors, {c[Outcome.SKIP]} skipped{waived}",
            f"{n} reference{'s' if n != 1 else ''}: {o[Outcome.PASS]} passed, "
            f"{o[Outcome.FAIL]} failed, {o[Outcome.ERROR]} errors, {o[Outcome.SKIP]} skipped"
            f"{waived_refs}",
        )
