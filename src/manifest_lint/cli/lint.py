"""``manifest-lint [OPTIONS] REF...`` and ``manifest-lint scan FILE...``: policies
loaded and compiled before any request, then one run, then the exit code."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime
from itertools import chain
from pathlib import Path
from typing import TextIO

from manifest_lint import __version__
from manifest_lint.cel.base import CelBackend
from manifest_lint.cli.audit import Audit, policy_set
from manifest_lint.cli.catalog import Catalogs
from manifest_lint.cli.exit_codes import ExitCode, exit_code
from manifest_lint.cli.options import cache_option, param_overrides, registry_options
from manifest_lint.cli.outputs import open_outputs, requested_outputs
from manifest_lint.cli.parsers import blocked_plugins, build_lint_parser
from manifest_lint.cli.targets import (
    asks_registries,
    check_arguments,
    read_targets,
    scan_targets,
)
from manifest_lint.config import ENV_VAR as CONFIG_ENV_VAR
from manifest_lint.config import Config, load_config
from manifest_lint.errors import UsageError
from manifest_lint.exception_files import check_exceptions, load_exceptions
from manifest_lint.plugin.manager import PluginHost, get_plugin_manager
from manifest_lint.policy.compile import compile_policies
from manifest_lint.policy.needs import needs_configs, needs_supply_chain
from manifest_lint.policy.selection import resolve_policies
from manifest_lint.reporters import RunInfo
from manifest_lint.reporters.jsonl import JsonlReporter
from manifest_lint.results import Severity
from manifest_lint.runner import Plan, run
from manifest_lint.sources.registry.registries import Registries

DEFAULT_CEL_BACKEND = "cel-expr-python"


def lint_command(argv: Sequence[str], out: TextIO, *, scan: bool = False) -> int:
    pm = get_plugin_manager(blocked=blocked_plugins(argv))
    host = PluginHost(pm)
    reporter_factories = host.reporters()
    parser = build_lint_parser(sorted(reporter_factories), scan=scan)
    pm.hook.manifest_lint_add_options(parser=parser)
    args = parser.parse_args(argv)
    if not scan:
        check_arguments(args.references)
    if args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    config = load_config(args.config, Path.cwd(), os.environ.get(CONFIG_ENV_VAR))
    fail_on = Severity.parse(args.fail_on) if args.fail_on else (config.fail_on or Severity.ERROR)
    pm.hook.manifest_lint_configure(options=args)

    # Everything that can be wrong with the command is found before any network.
    resolved = resolve_policies(
        host.policies(),
        config,
        [Path(p) for p in args.policy],
        [name for value in args.select for name in value.split(",") if name.strip()],
        param_overrides(args.param),
    )
    policies = [r.effective for r in resolved if r.enabled]
    if not policies:
        raise UsageError("no policy is enabled")
    now = args.now or datetime.now(UTC)
    waivers = config.exceptions + tuple(
        w for f in args.exceptions for w in load_exceptions(Path(f))
    )
    known = {r.declared.name for r in resolved}
    check_exceptions(waivers, known, now, config.max_exception_days)
    backend_name, backend = _backend(host, args.cel_backend, config)
    if args.show_config:
        from manifest_lint.cli.show_config import write_config

        write_config(out, args, config, fail_on, backend_name, policies, waivers)
        return ExitCode.OK
    audit = Audit(args, os.environ)
    catalogs = Catalogs(
        args.catalog,
        include=args.include,
        exclude=args.exclude,
        tag_pattern=args.tag_pattern,
        page_size=args.catalog_page_size,
    )
    if args.catalog and args.offline:
        raise UsageError("--catalog asks the registry for its repositories: not with --offline")
    fingerprint = policy_set(policies, fail_on)
    audit.check_policy_set(fingerprint)
    compiled = compile_policies(policies, backend, host.functions(), share=not args.offline)
    targets = read_targets(args, scan_targets(args.files, args.max_file_size) if scan else [])
    # Inline exceptions (# manifest-lint ignore=) follow the same rules as the others.
    check_exceptions(targets.waivers(), known, now, config.max_exception_days)
    # Offline, nothing is fetched: the cache is neither read nor written.
    registries = Registries(registry_options(args), None if args.offline else cache_option(args))
    sources = host.sources()
    if not args.offline and asks_registries(targets, sources):
        registries.prepare()  # CA certificates read in a thread while the rest starts
    outputs = requested_outputs(args, reporter_factories)
    github = args.github if args.github is not None else os.environ.get("GITHUB_ACTIONS") == "true"
    run_info = RunInfo(
        policies=tuple(p.info() for p in policies),
        fail_on=fail_on,
        version=__version__,
        cel_backend=backend_name,
        tty=out.isatty(),
        quiet=args.quiet,
        policy_set=fingerprint,
        shard=audit.info(),
    )
    plan = Plan(
        compiled,
        sources,
        now,
        fail_on,
        args.concurrency,
        offline=args.offline,
        configs=needs_configs(policies),
        supply_chain=needs_supply_chain(policies),
        statement_limit=args.max_statement_size,
        verifiers=host.verifiers(),
        waivers=waivers,
        warn_days=config.exception_warn_days,
    )

    files = open_outputs([path for _name, path in outputs])
    jsonl, own_jsonl = audit.open_jsonl(out)
    ok = False
    try:
        on_stdout = [args.format] + (["github"] if github and args.format != "github" else [])
        if args.jsonl == "-":
            on_stdout = []  # (standard output is the JSONL report's)
        reporters = [reporter_factories[name](out, run_info) for name in on_stdout]
        reporters += [
            reporter_factories[name](file.stream, run_info)
            for file, (name, _path) in zip(files, outputs, strict=True)
        ]
        if jsonl is not None:
            reporters.append(JsonlReporter(jsonl, run_info, audit.positions))
        with registries:
            listed = catalogs.targets(registries) if args.catalog else iter(())
            chosen = audit.select(chain(targets, listed), sources)
            summary = run(plan, chosen, registries, reporters)
        ok = True
    finally:
        for file in files:
            file.close(keep=ok)
        if own_jsonl and jsonl is not None:
            jsonl.close()  # (kept either way: each line it holds is a finished result)
    if args.catalog and not targets and catalogs.listed == 0:
        raise UsageError(
            f"nothing to check: --catalog {', '.join(args.catalog)} listed no reference "
            "(with the --include, --exclude and --tag-pattern given)"
        )
    code = exit_code(summary)
    if code is ExitCode.OK and args.fail_on_unused_exceptions and summary.unused_exceptions:
        return ExitCode.POLICY_FAILED
    return code


def _backend(host: PluginHost, asked: str | None, config: Config) -> tuple[str, CelBackend]:
    backends = host.cel_backends()
    name = asked or config.cel_backend or DEFAULT_CEL_BACKEND
    if name not in backends:
        raise UsageError(f"unknown CEL backend {name!r} (available: {', '.join(sorted(backends))})")
    return name, backends[name]()
