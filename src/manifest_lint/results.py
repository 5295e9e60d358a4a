"""Results: severities, outcomes, findings and the report. Pure values, sorted, deterministic."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
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

    def __str__(self) -> str:
        return self.value


#: The pseudo-policy of a reference that could not be read at all.
FETCH = "fetch"
#: The pseudo-policy of a reference that does not parse (a usage error: exit code 2).
REFERENCE = "reference"


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

    @property
    def outcome(self) -> Outcome:
        """error if anything errored, else fail if anything failed, else pass."""
        outcomes = {f.outcome for f in self.findings}
        for worst in (Outcome.ERROR, Outcome.FAIL):
            if worst in outcomes:
                return worst
        return Outcome.PASS


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
    #: Per registry host: requests by method, counted pulls, rate-limit headers.
    registries: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Cache hits and misses (empty without a cache).
    cache: dict[str, int] = field(default_factory=dict)
    #: CPU seconds spent evaluating CEL, summed over threads.
    evaluation_seconds: float = 0.0

    def add(self, result: ReferenceResult, fail_on: Severity) -> None:
        self.references += 1
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

    def line(self) -> str:
        c = self.counts
        return (
            f"{self.references} reference{'s' if self.references != 1 else ''}: "
            f"{c[Outcome.PASS]} passed, {self.blocking_failures} failed, "
            f"{self.warnings} below --fail-on, {c[Outcome.ERROR]} errors, {c[Outcome.SKIP]} skipped"
        )
