"""A case's results against what its test file expects.

Names are checked twice: before any evaluation, each ``expect``/``messages`` key's
policy must be one of ``spec.policies`` (:func:`check_names`); after it, each key must
be a result the case produced (:func:`judge`). Either mistake is a
:class:`~manifest_lint.errors.PolicyTestError` (exit 2), never a silent pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from manifest_lint.errors import PolicyTestError
from manifest_lint.policytest.files import Case, PolicyTestFile
from manifest_lint.results import EXCEPTION, Finding


@dataclass(frozen=True)
class Verdict:
    case: Case
    #: One line per expectation that does not hold (empty: the case passes).
    failures: tuple[str, ...]
    #: The results the case produced: name -> outcome word.
    results: tuple[tuple[str, str], ...] = ()

    @property
    def passed(self) -> bool:
        return not self.failures


def policy_of(result_name: str) -> str:
    """``max-layers`` of ``max-layers[linux/arm64]``."""
    return result_name.partition("[")[0]


def check_names(test: PolicyTestFile, case: Case, policies: Sequence[str]) -> None:
    """Every key of the case names a policy of ``spec.policies`` (or ``exception``,
    the result of an expired or soon-expiring exception, when the file has some)."""
    if test.waivers:
        policies = [*policies, EXCEPTION]
    keys = [(name, line) for name, _word, line in case.expect]
    keys += [(name, line) for name, _pattern, line in case.messages]
    for name, line in keys:
        if policy_of(name) not in policies:
            raise PolicyTestError(
                f"case {case.name!r}: {name}: {policy_of(name)!r} is not a policy of "
                f"spec.policies (policies: {', '.join(policies)})",
                path=str(test.path),
                line=line,
            )


def judge(
    test: PolicyTestFile, case: Case, findings: Sequence[Finding], problem: str = ""
) -> Verdict:
    """The case's verdict; ``problem``: why its fixture could not be read (the case fails)."""
    if problem:
        return Verdict(case, (problem,))
    by_name = {f.name: f for f in findings}
    produced = ", ".join(sorted(by_name)) or "none"
    failures: list[str] = []
    keys = [(name, line) for name, _word, line in case.expect]
    keys += [(name, line) for name, _pattern, line in case.messages]
    for name, line in keys:
        if name not in by_name:
            raise PolicyTestError(
                f"case {case.name!r}: {name} is not a result of this case; results are: {produced}",
                path=str(test.path),
                line=line,
            )
    for name, word, _line in case.expect:
        finding = by_name[name]
        actual = str(finding.outcome)
        if actual != word:
            failures.append(f"{name}: expected {word}, got {actual}: {_message(finding)}")
    for name, pattern, _line in case.messages:
        finding = by_name[name]
        if pattern.search(finding.message) is None:
            failures.append(
                f"{name}: message does not match /{pattern.pattern}/: {_message(finding)}"
            )
    if test.strict:
        listed = {name for name, _word, _line in case.expect}
        for name, finding in sorted(by_name.items()):
            if name not in listed:
                failures.append(
                    f"{name}: not listed in expect (spec.strict), got {finding.outcome}: "
                    f"{_message(finding)}"
                )
    results = tuple((name, str(f.outcome)) for name, f in sorted(by_name.items()))
    return Verdict(case, tuple(failures), results)


def _message(finding: Finding) -> str:
    return finding.message or "(no message)"
