"""The pytest plugin (entry point group ``pytest11``): policy test files
(``*.policytest.yaml``) collected by pytest, one item per case, so plugin and policy
authors run them in their own suites.

Opt-in, so that installing manifest-lint changes no other suite: set the ini option
``manifest_lint_policytests = true`` or pass ``--manifest-lint-policytests``. A
malformed test file is a collection error; a case that does not pass fails its item
with each expectation that does not hold.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from manifest_lint.cli.lint import DEFAULT_CEL_BACKEND
from manifest_lint.errors import ManifestLintError
from manifest_lint.plugin.manager import PluginHost, get_plugin_manager
from manifest_lint.policytest.files import Case, read_test_file
from manifest_lint.policytest.run import Engine, FileResult, run_file
from manifest_lint.policytest.verdict import Verdict
from manifest_lint.sources.registry.registries import Registries

INI = "manifest_lint_policytests"
FLAG = "--manifest-lint-policytests"
SUFFIX = ".policytest.yaml"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        INI, "collect *.policytest.yaml files (manifest-lint)", type="bool", default=False
    )
    parser.addoption(
        FLAG, action="store_true", default=False, help="collect *.policytest.yaml files"
    )


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    config = parent.config
    if not (config.getoption(FLAG) or config.getini(INI)):
        return None
    if file_path.name.endswith(SUFFIX):
        collected: PolicyTestYaml = PolicyTestYaml.from_parent(parent, path=file_path)
        return collected
    return None


class PolicyTestFailed(Exception):
    """A case that does not pass: its failing expectations."""


class PolicyTestYaml(pytest.File):
    """One test file: read and checked when collected; its cases run once, together."""

    def collect(self) -> Iterator[PolicyTestCase]:
        host = PluginHost(get_plugin_manager())
        sources = host.sources()
        try:
            self.test = read_test_file(self.path, sources)
        except ManifestLintError as exc:
            raise self.CollectError(str(exc)) from None
        self.host = host
        for case in self.test.cases:
            yield PolicyTestCase.from_parent(self, name=case.name, case=case)

    @functools.cached_property
    def result(self) -> FileResult:
        host = self.host
        backend = host.cel_backends()[DEFAULT_CEL_BACKEND]()
        with Registries() as registries:
            engine = Engine(host.policies(), backend, host.functions(), host.sources(), registries)
            return run_file(self.test, engine)


class PolicyTestCase(pytest.Item):
    def __init__(self, *, case: Case, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case

    def runtest(self) -> None:
        parent = self.parent
        assert isinstance(parent, PolicyTestYaml)  # made by PolicyTestYaml.collect
        try:
            result = parent.result
        except ManifestLintError as exc:
            raise PolicyTestFailed(str(exc)) from None
        verdict: Verdict = next(v for v in result.verdicts if v.case == self.case)
        if not verdict.passed:
            raise PolicyTestFailed("\n".join(verdict.failures))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, PolicyTestFailed):
            return f"{self.path}:{self.case.line}: case {self.case.name!r}\n{excinfo.value}"
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        online = " (online)" if self.case.online else ""
        return self.path, self.case.line - 1, f"policy test: {self.case.name}{online}"
