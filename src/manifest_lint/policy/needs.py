"""What the policies read, decided from their expressions before any request: whether
a policy needs the image from the registry at all (``--offline`` runs the others), and
whether any reads image configs (else they are not fetched)."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from manifest_lint.policy.files import Policy

_STRING_LITERAL = re.compile(
    r"""[rRbB]{0,2}('\'\'\'.*?\'\'\'|\"\"\".*?\"\"\"|'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*")""",
    re.DOTALL,
)


_REGISTRY_DATA = re.compile(r"\b(image|platform)\b")


def _decisive(policy: Policy) -> list[str]:
    """The expressions that decide a result (not the messages)."""
    return [
        *(m.expression.text for m in policy.match_conditions),
        *(v.expression.text for v in policy.variables),
        *(v.expression.text for v in policy.validations),
    ]


def needs_registry(policy: Policy) -> bool:
    """Whether ``policy`` reads anything but the reference (``ref``, ``params``, ``now``).

    Decided from the expression texts, outside string literals: a policy whose match
    conditions, variables or validations name ``image`` or ``platform`` needs the
    image, and so does every ``scope: platform`` policy. Message expressions do not
    count: offline, they see an empty ``image`` (see ``docs/policies.md``).
    """
    if policy.scope == "platform":
        return True
    return _reads_image(tuple(_decisive(policy)))


@functools.lru_cache(maxsize=1024)
def _reads_image(texts: tuple[str, ...]) -> bool:
    """(Asked once per policy and reference offline: the answer is kept.)"""
    return any(_REGISTRY_DATA.search(_STRING_LITERAL.sub("''", t)) for t in texts)


def needs_configs(policies: Sequence[Policy]) -> bool:
    """Whether any policy may read image configs: any expression (messages included)
    mentioning ``config``, even inside a string (``m['config']``). When none does,
    configs are not fetched at all."""
    for policy in policies:
        texts = _decisive(policy) + [
            v.message_expression.text for v in policy.validations if v.message_expression
        ]
        if any("config" in t for t in texts):
            return True
    return False


_SUPPLY_CHAIN = re.compile(r"referrers|signatures|attestations|statements")


def needs_supply_chain(policies: Sequence[Policy]) -> bool:
    """Whether any policy may read what refers to the image (``referrers``,
    ``signatures``, ``attestations``): any expression, messages included, naming one,
    even inside a string. When none does, no referrer is asked for
    (docs/supply-chain.md)."""
    for policy in policies:
        texts = _decisive(policy) + [
            v.message_expression.text for v in policy.validations if v.message_expression
        ]
        if any(_SUPPLY_CHAIN.search(t) for t in texts):
            return True
    return False
