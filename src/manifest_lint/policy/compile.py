"""Policies compiled once, before any network: every expression as written (the check
that it compiles, with the policy file, line and column on an error), and for backends
that share one activation per image, the shared form (:class:`Shared`)."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from manifest_lint.cel import CelBackend, CelFunction, CelProgram
from manifest_lint.cel.base import shares_activations
from manifest_lint.errors import ExpressionError, PolicyError
from manifest_lint.policy.files import Expression, Policy

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
PARAMS_VARIABLE = "__params"
SHARED_VARIABLES: Mapping[str, str] = {
    **VARIABLES,
    PARAMS_VARIABLE: "map(string, map(string, dyn))",
}


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

    Measured, because this is a speed trick: a lint of 300 references from the local
    registry, concurrency 16, the built-in policies, six rounds with and without
    sharing interleaved (``compile_policies(share=...)``): warm cache 0.88-0.99 s
    shared against 1.03-1.14 s not (8-13% less); cold cache within the noise
    (3.61-3.83 s against 3.64-3.88 s). It stays for the warm runs CI repeats most.
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
        return f"cel.bind(params, {PARAMS_VARIABLE}[{json.dumps(self.key)}], {body})"

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
    if share and shares_activations(backend) and _plain(policy.params):
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
