"""Which policies run: the registered ones, plus ``--policy`` files, as the
configuration file and ``--select`` choose, with their overrides applied (params
checked against each policy's params schema, :mod:`.params`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from manifest_lint.config import Config
from manifest_lint.errors import ConfigError, UsageError
from manifest_lint.policy.files import Policy, load_policies, policy_files
from manifest_lint.policy.params import Given, apply_params


class Resolved(NamedTuple):
    """A known policy: as registered or loaded (``declared``), with the configuration's
    and ``--param``'s overrides (``effective``), and whether it runs."""

    declared: Policy
    effective: Policy
    enabled: bool


def resolve_policies(
    registered: Sequence[Policy],
    config: Config,
    extra_paths: Sequence[Path],
    select: Sequence[str],
    params: Mapping[str, Given] | None = None,
) -> list[Resolved]:
    """Every known policy, overrides applied and checked, and whether it runs.
    ``params``: what ``--param`` gives, by policy name."""
    by_name: dict[str, Policy] = {}
    for policy in [
        *registered,
        *load_policies(_distinct_files([*config.policy_paths, *extra_paths])),
    ]:
        if policy.name in by_name:
            first = by_name[policy.name]
            raise UsageError(
                f"two policies are named {policy.name!r}: {first.path or first.origin} and "
                f"{policy.path or policy.origin}"
            )
        by_name[policy.name] = policy
    known = ", ".join(sorted(by_name))
    for name, settings in config.policies.items():
        if name not in by_name:
            raise ConfigError(
                f"policies.{name}: no such policy (known: {known})",
                path=config.path,
                line=settings.line,
            )
    for name, given in (params or {}).items():
        if name not in by_name:
            argument = next(iter(given.arguments.values()), name)
            raise UsageError(f"--param {argument}: no such policy (known: {known})")
    wanted = [n.strip() for n in select]
    for name in wanted:
        if name not in by_name:
            raise UsageError(f"--select {name}: no such policy (known: {known})")
    resolved: list[Resolved] = []
    for name, policy in by_name.items():
        found = config.policies.get(name)
        if wanted:
            enabled = name in wanted
        elif found is not None and found.enabled is not None:
            enabled = found.enabled
        else:
            enabled = policy.enabled  # (spec.enabled: the policy's own default)
        sources: list[Given] = []
        if found is not None:
            sources.append(Given(found.params, config.path, found.line, found.param_lines))
        if params and name in params:
            sources.append(params[name])
        # A policy that does not run needs no value for a required param; what is
        # given for it is still checked.
        check = enabled or any(g.values for g in sources)
        effective = apply_params(policy, sources) if check else policy
        if found is not None and found.severity is not None:
            effective = effective.with_overrides(severity=found.severity)
        resolved.append(Resolved(policy, effective, enabled))
    return resolved


def select_policies(
    registered: Sequence[Policy],
    config: Config,
    extra_paths: Sequence[Path],
    select: Sequence[str],
    params: Mapping[str, Given] | None = None,
) -> list[Policy]:
    """The policies that run (:func:`resolve_policies`); none is a usage error."""
    chosen = [
        r.effective
        for r in resolve_policies(registered, config, extra_paths, select, params)
        if r.enabled
    ]
    if not chosen:
        raise UsageError("no policy is enabled")
    return chosen


def _distinct_files(paths: Sequence[Path]) -> list[Path]:
    """The policy files ``paths`` name, each file once (by its resolved path, as first
    written): the configuration and ``--policy`` may both name one file, or a
    directory and a file in it. Two files that name one policy stay an error."""
    files: dict[Path, Path] = {}
    for path in paths:
        for file in policy_files(path):
            files.setdefault(file.resolve(), file)
    return list(files.values())
