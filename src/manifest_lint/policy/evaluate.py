"""Policies x images -> findings.

Every policy is compiled once, before any network (:func:`compile_policies`); a
compile error names the policy file, line and column. Evaluation never raises
for a policy's sake: a CEL run-time error, or a validation that returns
something other than a bool, is an ERROR finding for that policy and image
(fail closed), never a pass and never a crash.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from manifest_lint.cel import CelBackend, CelFunction, CelProgram
from manifest_lint.errors import EvaluationError, ExpressionError, PolicyError
from manifest_lint.policy.files import Expression, Policy
from manifest_lint.results import Finding, Outcome

#: The variables every expression may use; all maps but ``now``.
VARIABLES: Mapping[str, str] = {
    "ref": "map",
    "image": "map",
    "params": "map",
    "variables": "map",
    "platform": "map",
    "now": "timestamp",
}


class CompiledValidation(NamedTuple):
    program: CelProgram
    expression: Expression
    message: str
    message_program: CelProgram | None


class Programs(NamedTuple):
    """What one evaluation of a policy runs: match conditions, variables, validations."""

    match_conditions: tuple[tuple[str, CelProgram], ...]
    variables: tuple[tuple[str, CelProgram], ...]
    validations: tuple[CompiledValidation, ...]


class CompiledPolicy:
    """A policy ready to evaluate: ``programs`` run on an activation of the policy's
    own; ``shared`` (backends that share one activation per image, see
    :class:`Shared`), when set, run on the image's shared activation."""

    __slots__ = ("policy", "programs", "shared")

    def __init__(self, policy: Policy, programs: Programs, shared: Shared | None = None) -> None:
        self.policy = policy
        self.programs = programs
        self.shared = shared


#: Every policy's ``params``, by policy, in the activation an image's policies share.
_PARAMS = "__params"
SHARED_VARIABLES: Mapping[str, str] = {**VARIABLES, _PARAMS: "map(string, map(string, dyn))"}
_counter = itertools.count()
_MISSING = object()


class Shared:
    """A policy's programs rewritten to read one activation per image.

    Converting an image's document into CEL values costs cel-expr-python far more
    (about 150 us for a four-platform image) than evaluating an expression on
    converted values (about 5 us), and an activation converts each variable once.
    So every policy of an image is evaluated on one activation holding ``ref``,
    ``image``, ``now`` and every policy's ``params``; what differs per policy and
    per platform is bound inside the expression with ``cel.bind`` (the bindings
    extension): ``params`` from ``__params``, each variable of ``variables`` in
    order, and for a platform-scoped policy ``platform`` as ``image.manifests[j]``
    (programs are compiled per platform position, on first use). The original
    expressions were compiled first (:func:`compile_policy`): that is the check, and
    gives any compile error its position; a variable is still evaluated on its own
    first, so its failure is reported as the variable's.
    """

    def __init__(
        self, policy: Policy, backend: CelBackend, functions: Sequence[CelFunction]
    ) -> None:
        self.key = str(next(_counter))
        self._policy = policy
        self._backend = backend
        self._functions = functions
        self._programs: dict[int | None, Programs | None] = {}
        self._lock = threading.Lock()

    @property
    def backend(self) -> CelBackend:
        return self._backend

    def programs(self, platform: int | None) -> Programs | None:
        """The programs for the platform at position ``platform`` (None: image scope);
        None if the rewrite does not compile (never seen: the plain programs run then)."""
        found = self._programs.get(platform, _MISSING)
        if found is _MISSING:
            try:
                found = self._compile(platform)
            except ExpressionError:
                found = None
            with self._lock:
                self._programs[platform] = found
        return found  # type: ignore[return-value]

    def _wrap(self, text: str, platform: int | None, variables: int) -> str:
        """``text`` with params, the first ``variables`` variables and the platform bound."""
        names = [v.name for v in self._policy.variables[:variables]]
        body = f"(\n{text}\n)"  # on lines of its own: a trailing // comment ends there
        for k in reversed(range(len(names))):
            entries = [f"{json.dumps(n)}: variables.{n}" for n in names[:k]]
            entries.append(
                f"{json.dumps(names[k])}: (\n{self._policy.variables[k].expression.text}\n)"
            )
            body = f"cel.bind(variables, {{{', '.join(entries)}}}, {body})"
        if platform is not None:
            body = f"cel.bind(platform, image.manifests[{platform}], {body})"
        return f"cel.bind(params, {_PARAMS}[{json.dumps(self.key)}], {body})"

    def _compile(self, platform: int | None) -> Programs:
        policy = self._policy

        def build(text: str, variables: int) -> CelProgram:
            return self._backend.compile(
                self._wrap(text, platform, variables),
                variables=SHARED_VARIABLES,
                functions=self._functions,
            )

        every = len(policy.variables)
        return Programs(
            match_conditions=tuple(
                (m.name, build(m.expression.text, 0)) for m in policy.match_conditions
            ),
            variables=tuple(
                (v.name, build(v.expression.text, k)) for k, v in enumerate(policy.variables)
            ),
            validations=tuple(
                CompiledValidation(
                    build(v.expression.text, every),
                    v.expression,
                    v.message,
                    build(v.message_expression.text, every) if v.message_expression else None,
                )
                for v in policy.validations
            ),
        )


def _compile(
    backend: CelBackend, expression: Expression, functions: Sequence[CelFunction], policy: Policy
) -> CelProgram:
    try:
        return backend.compile(expression.text, variables=VARIABLES, functions=functions)
    except ExpressionError as exc:
        line, column = expression.position(exc.line, exc.column)
        caret = f"\n{exc.caret}" if exc.caret else ""
        raise PolicyError(
            f"policy {policy.name!r}: CEL expression does not compile: {exc.detail}{caret}",
            path=expression.path or policy.path or f"<{policy.origin}>",
            line=line,
            column=column,
            policy=policy.name,
        ) from None


def compile_policy(
    policy: Policy,
    backend: CelBackend,
    functions: Sequence[CelFunction],
    *,
    share: bool = True,
) -> CompiledPolicy:
    """``policy`` compiled, or a :class:`PolicyError` naming where it does not compile.

    Every expression is compiled as written: that is the check, and the programs of
    a policy's own activation. Where the backend shares activations (``share``) and
    the policy's params allow it, the shared form (:class:`Shared`) is compiled on
    first use. The shared form alone is no check: it pastes each expression's text
    into ``cel.bind(...)``, where a text such as ``false) || (true``, which is no
    expression, would compile."""

    def build(expression: Expression) -> CelProgram:
        return _compile(backend, expression, functions, policy)

    programs = Programs(
        match_conditions=tuple((m.name, build(m.expression)) for m in policy.match_conditions),
        variables=tuple((v.name, build(v.expression)) for v in policy.variables),
        validations=tuple(
            CompiledValidation(
                build(v.expression),
                v.expression,
                v.message,
                build(v.message_expression) if v.message_expression else None,
            )
            for v in policy.validations
        ),
    )
    if share and getattr(backend, "shares_activations", False) and _plain(policy.params):
        return CompiledPolicy(policy, programs, Shared(policy, backend, functions))
    return CompiledPolicy(policy, programs)


def _plain(value: Any) -> bool:
    """JSON-like values only: all policies' params are converted together, so one that
    CEL refuses (a YAML date) must stay in its own activation and fail only its policy."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return True
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


def compile_policies(
    policies: Sequence[Policy],
    backend: CelBackend,
    functions: Sequence[CelFunction],
    *,
    share: bool = True,
) -> list[CompiledPolicy]:
    """Every policy compiled (:func:`compile_policy`). ``share=False`` for runs whose
    images cost nothing to convert (``--offline``: the reference alone), where the
    shared forms, two to three times dearer to compile, would not pay for themselves."""
    return [compile_policy(p, backend, functions, share=share) for p in policies]


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


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _evaluate_one(
    compiled: CompiledPolicy,
    activation: Mapping[str, Any],
    platform: str,
    programs: Programs | None = None,
) -> Finding:
    """One policy on one activation. With ``programs`` (a :class:`Shared` policy's),
    variables are bound inside the expressions; without, the plain programs run and
    each variable's value is put into ``activation`` for the next."""
    policy = compiled.policy
    shared = programs is not None
    if programs is None:
        programs = compiled.programs

    def finding(outcome: Outcome, message: str, details: tuple[str, ...] = ()) -> Finding:
        return Finding(policy.name, outcome, policy.severity, message, platform, details)

    where = "match condition"
    name = ""
    try:
        for name, program in programs.match_conditions:
            result = program.evaluate(activation)
            if result is not True:
                if result is False:
                    return finding(Outcome.SKIP, f"match condition {name!r} is false")
                return finding(
                    Outcome.ERROR,
                    f"match condition {name!r} returned {_describe(result)}, not a bool",
                )
        where = "variable"
        values: dict[str, Any] = {}
        if not shared:
            activation = {**activation, "variables": values}
        for name, program in programs.variables:
            values[name] = program.evaluate(activation)
    except EvaluationError as exc:
        return finding(Outcome.ERROR, f"{where} {name!r} failed: {exc}")

    failures: list[str] = []
    errors: list[str] = []
    for validation in programs.validations:
        try:
            result = validation.program.evaluate(activation)
        except EvaluationError as exc:
            errors.append(f"{validation.expression.text.strip()}: {exc}")
            continue
        if result is True:
            continue
        if result is not False:
            errors.append(
                f"{validation.expression.text.strip()}: returned {_describe(result)}, not a bool"
            )
            continue
        failures.append(_message(validation, activation))
    if errors:
        return finding(
            Outcome.ERROR, "evaluation failed: " + "; ".join(errors), tuple(errors + failures)
        )
    if failures:
        return finding(Outcome.FAIL, "; ".join(failures), tuple(failures))
    return finding(Outcome.PASS, "")


def _message(validation: CompiledValidation, activation: Mapping[str, Any]) -> str:
    fallback = validation.message or f"failed: {validation.expression.text.strip()}"
    if validation.message_program is None:
        return fallback
    try:
        value = validation.message_program.evaluate(activation)
    except EvaluationError as exc:
        return f"{fallback} (messageExpression failed: {exc})"
    if not isinstance(value, str) or not value.strip():
        return fallback
    return value


def evaluate(
    compiled: Sequence[CompiledPolicy], document: Mapping[str, Any], now: datetime
) -> list[Finding]:
    """Every policy on one image document; platform-scoped ones once per platform."""
    findings: list[Finding] = []
    base = {
        "ref": document["ref"],
        "image": document["image"],
        "now": now,
        "platform": {},
        "variables": {},
    }
    manifests = document["image"]["manifests"]
    labels = platform_labels(manifests)
    shared_activation: Mapping[str, Any] | None = None
    sharing = [p for p in compiled if p.shared is not None]
    if sharing:
        params = {p.shared.key: p.policy.params for p in sharing if p.shared is not None}
        backend = sharing[0].shared.backend  # type: ignore[union-attr]
        shared_activation = backend.activation({**base, "params": {}, _PARAMS: params})
    for policy in compiled:
        shared = policy.shared if shared_activation is not None else None
        activation = {**base, "params": policy.policy.params}
        if policy.policy.scope == "platform":
            if not manifests:
                findings.append(
                    Finding(
                        policy.policy.name,
                        Outcome.SKIP,
                        policy.policy.severity,
                        "the image has no platform manifests",
                    )
                )
            for j, (manifest, label) in enumerate(zip(manifests, labels, strict=True)):
                programs = shared.programs(j) if shared is not None else None
                if programs is not None and shared_activation is not None:
                    findings.append(_evaluate_one(policy, shared_activation, label, programs))
                else:
                    findings.append(
                        _evaluate_one(policy, {**activation, "platform": manifest}, label)
                    )
            continue
        programs = shared.programs(None) if shared is not None else None
        if programs is not None and shared_activation is not None:
            findings.append(_evaluate_one(policy, shared_activation, "", programs))
        else:
            findings.append(_evaluate_one(policy, activation, ""))
    return findings


def platform_labels(manifests: Sequence[Mapping[str, Any]]) -> list[str]:
    """A unique label per platform manifest: its platform name; where two share a name,
    with the Windows ``os.version`` added; where that is still not unique, with the
    digest instead; and where one manifest is listed twice, with its position (``#2``)."""
    names = [m["platform"]["name"] for m in manifests]
    labels = [
        f"{name} {m['platform']['osVersion']}"
        if names.count(name) > 1 and m["platform"]["osVersion"]
        else name
        for m, name in zip(manifests, names, strict=True)
    ]
    labels = [
        f"{name} {m['digest'][:19]}" if labels.count(label) > 1 else label
        for m, name, label in zip(manifests, names, labels, strict=True)
    ]
    seen: dict[str, int] = {}
    unique = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        unique.append(f"{label} #{seen[label]}" if labels.count(label) > 1 else label)
    return unique
