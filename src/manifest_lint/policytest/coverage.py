"""``--require-tests``: which policies lack a case expecting ``pass`` or one expecting
``fail``. ``max-layers[linux/arm64]`` counts for ``max-layers``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from manifest_lint.policytest.run import FileResult
from manifest_lint.policytest.verdict import policy_of

#: The outcomes every policy needs a case for.
REQUIRED = ("pass", "fail")


def uncovered(results: Sequence[FileResult], enabled: Iterable[str]) -> list[str]:
    """``POLICY: no case expects fail`` for each policy of the files' ``spec.policies``
    and of ``enabled`` that lacks one of :data:`REQUIRED`; sorted by policy."""
    expected: dict[str, set[str]] = {}
    for result in results:
        for name in result.policies:
            expected.setdefault(name, set())
        for verdict in result.verdicts:
            for name, word, _line in verdict.case.expect:
                expected.setdefault(policy_of(name), set()).add(word)
    for name in enabled:
        expected.setdefault(name, set())
    return [
        f"{policy}: no case expects {word}"
        for policy, words in sorted(expected.items())
        for word in REQUIRED
        if word not in words
    ]
