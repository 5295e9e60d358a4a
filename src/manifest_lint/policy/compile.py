"""Policies compiled once, before any network: every expression as written (the check
that it compiles, with the policy file, line and column on an error), and for backends
that share one activation per image, the programs for it (:class:`Shared`)."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from manifest_lint.cel import CelBackend, CelFunction, CelProgram
from manifest_lint.cel.base import SharesActivations
from manifest_lint.errors import ExpressionError, PolicyError
from manifest_lint.policy.files import Expression, Policy
from manifest_lint.policy.params import params_schema

if TYPE_CHECKING:
    from manifest_lint.cel.typed import TypeChecker

#: The origin of the built-in policies, which the test suite type-checks
#: (``tests/test_typecheck.py``) so that runs need not.
BUILTIN = "builtin"

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


class Shared:
    """An image-scoped policy's programs for the activation an image's policies share.

    Converting an image's document into CEL values costs cel-expr-python far more
    (about 150 us for a four-platform image) than evaluating an expression on
    converted values (about 5 us), and an activation converts each value once, on
    first use. So the image-scoped policies of an image are evaluated on one
    activation holding ``ref``, ``image`` and ``now`` once, and each policy's
    ``params`` under its own scope (``SCOPE.params``): the policy's expressions are
    compiled as written with ``params`` read from there
    (:meth:`~manifest_lint.cel.base.SharesActivations.compile_scoped`). What reads
    ``variables`` runs on an activation of the policy's own (it is filled as the
    variables are computed); converting ``image`` there is only paid by what reads it.
    The programs are compiled on first use: offline runs and policies a run never
    reaches do not pay for a second compile.

    Measured, because this is a speed trick: ``python -m bench.lint --refs 300
    --concurrency 16`` against the local registry, the built-in policies, two wheels
    (sharing on; ``share=False``) in three interleaved rounds: warm tags 0.87-0.91 s
    against 0.92-1.16 s (CPU 0.64-0.68 s against 0.73-0.82 s, about 10% less), the
    warm 300-reference run 0.83-0.95 s against 0.96-1.03 s; cold runs and warm digest
    references within the noise. Through the engine (``python -m bench.cel``, 8
    platforms x 30 layers): 1.17 ms per image shared against 2.23 ms not. It stays
    for the warm runs CI repeats most. The ``cel.bind`` rewrite it replaces measured
    0.64 ms there, because it also took each ``platform`` from the converted
    ``image``; that needs text pasted around the policy's expression, which no
    longer happens.
    """

    def __init__(
        self, policy: Policy, backend: CelBackend, functions: Sequence[CelFunction]
    ) -> None:
        self.scope = f"policy{next(_counter)}"
        #: The name of this policy's ``params`` in the shared activation.
        self.params_name = f"{self.scope}.params"
        self._policy = policy
        self._backend = backend
        self._functions = functions
        self._programs: Programs | object | None = _MISSING
        self._lock = threading.Lock()

    @property
    def backend(self) -> CelBackend:
        return self._backend

    def programs(self) -> Programs | None:
        """The scoped programs; None if they do not compile (never seen: every
        expression compiled as written first; the plain programs run then)."""
        with self._lock:
            if self._programs is _MISSING:
                try:
                    self._programs = self._compile()
                except ExpressionError:
                    self._programs = None
            return self._programs  # type: ignore[return-value]

    def _compile(self) -> Programs:
        policy = self._policy
        backend = self._backend
        assert isinstance(backend, SharesActivations)  # (compile_policy checked)

        def build(expression: Expression) -> CelProgram:
            return backend.compile_scoped(
                expression.text,
                scope=self.scope,
                scoped=("params",),
                variables=VARIABLES,
                functions=self._functions,
            )

        return _programs(policy, build)


_counter = itertools.count()
_MISSING = object()


def _programs(policy: Policy, build: Callable[[Expression], CelProgram]) -> Programs:
    """Every expression of ``policy`` compiled by ``build``."""
    return Programs(
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


def _compile(
    backend: CelBackend, expression: Expression, functions: Sequence[CelFunction], policy: Policy
) -> CelProgram:
    try:
        return backend.compile(expression.text, variables=VARIABLES, functions=functions)
    except ExpressionError as exc:
        raise _policy_error(policy, expression, exc, "does not compile") from None


def _policy_error(
    policy: Policy, expression: Expression, exc: ExpressionError, what: str
) -> PolicyError:
    line, column = expression.position(exc.line, exc.column)
    caret = f"\n{exc.caret}" if exc.caret else ""
    return PolicyError(
        f"policy {policy.name!r}: CEL expression {what}: {exc.detail}{caret}",
        path=expression.path or policy.path or f"<{policy.origin}>",
        line=line,
        column=column,
        policy=policy.name,
    )


def type_check(policy: Policy, checker: TypeChecker) -> None:
    """Every expression of ``policy`` checked against the document's schema
    (:mod:`manifest_lint.cel.typed`), ``params`` typed by the policy's params schema
    where a message can say it: a :class:`PolicyError` at the first that fails."""
    from manifest_lint.cel.typed import params_definition

    params = params_definition(params_schema(policy))
    types: dict[str, Any] = {}
    for variable in policy.variables:  # each sees the ones before it
        try:
            types[variable.name] = checker.check(
                variable.expression.text, "dyn", "a variable", types, params
            )
        except ExpressionError as exc:
            raise _policy_error(policy, variable.expression, exc, "does not type-check") from None
    # Match conditions run before the variables exist (policy/evaluate.py).
    checks: list[tuple[Expression, str, str, dict[str, Any]]] = [
        (m.expression, "bool", "a match condition", {}) for m in policy.match_conditions
    ]
    for validation in policy.validations:
        checks.append((validation.expression, "bool", "a validation", types))
        if validation.message_expression:
            checks.append((validation.message_expression, "string", "a messageExpression", types))
    for expression, result, role, declared in checks:
        try:
            checker.check(expression.text, result, role, declared, params)
        except ExpressionError as exc:
            raise _policy_error(policy, expression, exc, "does not type-check") from None


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
    the policy is image-scoped with params CEL takes, its programs for the shared
    activation (:class:`Shared`) are compiled on first use."""

    def build(expression: Expression) -> CelProgram:
        return _compile(backend, expression, functions, policy)

    programs = _programs(policy, build)
    if (
        share
        and policy.scope == "image"
        and isinstance(backend, SharesActivations)
        and _plain(policy.params)
    ):
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
    programs for a shared activation would not pay for their compile."""
    compiled = [compile_policy(p, backend, functions, share=share) for p in policies]
    checked = [p for p in policies if p.origin != BUILTIN]
    if checked:
        # Imported here: the checker imports cel-expr-python and protobuf (26-31 ms),
        # which runs of the built-in policies alone (checked by the tests) never need.
        from manifest_lint.cel.typed import TypeChecker

        checker = TypeChecker(functions)
        for policy in checked:
            type_check(policy, checker)
    return compiled
