"""One test file run: its policies chosen and compiled, each case's fixture read and
evaluated, each case judged (:mod:`.verdict`).

The policies, CEL backend and functions, sources and registries are given by the
caller (the command line gets them from the plugins), so this package sits below
the plugin layer, next to the runner it reuses.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from manifest_lint.errors import PolicyTestError
from manifest_lint.image.reference import parse_reference
from manifest_lint.policy.compile import compile_policies
from manifest_lint.policy.evaluate import evaluate
from manifest_lint.policy.files import Policy, load_policies
from manifest_lint.policy.needs import needs_configs, needs_supply_chain
from manifest_lint.policy.params import Given, apply_params
from manifest_lint.policy.waivers import apply_waivers
from manifest_lint.policytest.files import Case, PolicyTestFile
from manifest_lint.policytest.verdict import Verdict, check_names, judge
from manifest_lint.results import FETCH, REFERENCE, Finding
from manifest_lint.runner import Plan, Target, check
from manifest_lint.yamlfile.schema import problems_of

if TYPE_CHECKING:
    from manifest_lint.cel.base import CelBackend, CelFunction
    from manifest_lint.sources.base import SourceOpener
    from manifest_lint.sources.registry.registries import Registries


@dataclass(frozen=True)
class Engine:
    """What evaluating needs, from the plugins: registered policies, the CEL backend
    and functions, the sources of references, and the registries' clients."""

    registered: Sequence[Policy]
    backend: CelBackend
    functions: Sequence[CelFunction]
    sources: Mapping[str, SourceOpener]
    registries: Registries


@dataclass(frozen=True)
class FileResult:
    test: PolicyTestFile
    #: The policies the file's cases ran, by name.
    policies: tuple[str, ...]
    verdicts: tuple[Verdict, ...]


def select(test: PolicyTestFile, registered: Sequence[Policy]) -> list[Policy]:
    """``spec.policies``: files (every policy in each) and names of registered
    policies, with ``spec.params`` applied and checked."""
    shown = str(test.path)
    by_name = {p.name: p for p in registered}
    chosen: dict[str, Policy] = {}
    for entry in test.policies:
        if entry.path is not None:
            if not entry.path.exists():
                raise PolicyTestError(
                    f"spec.policies: {entry.text}: no such file (relative to the test file)",
                    path=shown,
                    line=entry.line,
                )
            found = load_policies([entry.path])
        elif entry.text in by_name:
            found = [by_name[entry.text]]
        else:
            known = ", ".join(sorted(by_name)) or "none"
            raise PolicyTestError(
                f"spec.policies: no policy named {entry.text!r} (built-in and plugin policies: "
                f"{known}; a file is written with a '/' or a .yaml suffix)",
                path=shown,
                line=entry.line,
            )
        for policy in found:
            if policy.name in chosen:
                raise PolicyTestError(
                    f"spec.policies: policy {policy.name!r} is named twice",
                    path=shown,
                    line=entry.line,
                )
            chosen[policy.name] = policy
    for name, (values, line, lines) in test.params.items():
        if name not in chosen:
            raise PolicyTestError(
                f"spec.params.{name}: not a policy of spec.policies ({', '.join(chosen)})",
                path=shown,
                line=line,
            )
        chosen[name] = apply_params(chosen[name], [Given(values, shown, line, lines)])
    return list(chosen.values())


def run_file(test: PolicyTestFile, engine: Engine) -> FileResult:
    """Every case of ``test``; a malformed part raises :class:`PolicyTestError`."""
    policies = select(test, engine.registered)
    names = tuple(p.name for p in policies)
    _check_waivers(test, names)
    for case in test.cases:
        check_names(test, case, names)
    compiled = compile_policies(policies, engine.backend, engine.functions)
    plan = Plan(
        compiled,
        engine.sources,
        test.now,
        concurrency=1,
        configs=needs_configs(policies),
        supply_chain=needs_supply_chain(policies),
        # (spec.exceptions are applied by _findings, to the reference as written.)
    )
    verdicts = []
    for case in test.cases:
        findings, problem = _findings(test, case, plan, engine.registries)
        verdicts.append(judge(test, case, findings, problem))
    return FileResult(test, names, tuple(verdicts))


def _check_waivers(test: PolicyTestFile, policies: Sequence[str]) -> None:
    """Each of ``spec.exceptions`` names a policy of ``spec.policies`` (the
    configuration's limit on an exception's life, ``max-exception-days``, is not a
    test file's concern: a case may well test a long or an expired exception)."""
    for waiver in test.waivers:
        if waiver.policy not in policies:
            _path, _, line = waiver.source.rpartition(":")
            raise PolicyTestError(
                f"spec.exceptions: {waiver.policy!r} is not a policy of spec.policies "
                f"(policies: {', '.join(policies)})",
                path=str(test.path),
                line=int(line) if line.isdigit() else 0,
            )


def _findings(
    test: PolicyTestFile, case: Case, plan: Plan, registries: Registries
) -> tuple[list[Finding], str]:
    """The case's results with ``spec.exceptions`` applied, or why its fixture could
    not be read. An exception's image globs match the case's ``image`` as written (a
    layout's path relative to the test file, wherever the tests run from) or a
    document's ``ref.normalized``."""
    if case.document is not None:
        document = _document(test, case, case.document)
        found = evaluate(plan.policies, document, plan.now)
        normalized = str(document["ref"].get("normalized", ""))
        digest = str(document["image"].get("digest", ""))
    else:
        result = check(Target(case.image), plan, registries, None)
        unread = [f for f in result.findings if f.policy in (FETCH, REFERENCE)]
        if unread:
            return [], f"cannot read {case.written}: {unread[0].message}"
        normalized = str(parse_reference(case.written, plan.sources))
        found, digest = list(result.findings), result.digest
    findings, _used = apply_waivers(
        found,
        test.waivers,
        normalized=normalized,
        digest=digest,
        now=plan.now,
        warn_days=plan.warn_days,
    )
    return list(findings), ""


def _document(test: PolicyTestFile, case: Case, path: Path) -> dict[str, Any]:
    shown = str(test.path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise PolicyTestError(
            f"case {case.name!r}: document {case.written}: not JSON: {exc}",
            path=shown,
            line=case.line,
        ) from None
    problems = problems_of(document, "document.schema.json")
    if problems:
        raise PolicyTestError(
            f"case {case.name!r}: document {case.written}: not a policy document "
            f"(as `manifest-lint inspect --format json` writes): {problems[0][0]}",
            path=shown,
            line=case.line,
        )
    if not isinstance(document, dict):  # pragma: no cover - the schema requires an object
        raise PolicyTestError("not an object", path=shown, line=case.line)
    return document
