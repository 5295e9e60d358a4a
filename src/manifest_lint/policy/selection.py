"""Which policies run: the registered ones, plus ``--policy`` files, as the
configuration file and ``--select`` choose, with their overrides applied."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from manifest_lint.config import Config
from manifest_lint.errors import ConfigError, UsageError
from manifest_lint.policy.files import Policy, load_policies, policy_files


def select_policies(
    registered: Sequence[Policy],
    config: Config,
    extra_paths: Sequence[Path],
    select: Sequence[str],
) -> list[Policy]:
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
    for name, settings in config.policies.items():
        if name not in by_name:
            raise ConfigError(
                f"policies.{name}: no such policy (known: {', '.join(sorted(by_name))})",
                path=config.path,
                line=settings.line,
            )
    chosen: list[Policy] = []
    wanted = [n.strip() for n in select]
    for name in wanted:
        if name not in by_name:
            raise UsageError(
                f"--select {name}: no such policy (known: {', '.join(sorted(by_name))})"
            )
    for name, policy in by_name.items():
        found = config.policies.get(name)
        if wanted:
            if name not in wanted:
                continue
        elif found is not None and found.enabled is False:
            continue
        if found is not None:
            policy = policy.with_overrides(severity=found.severity, params=found.params)
        chosen.append(policy)
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
