"""Plugins: the manager factory, loading and blocking, refused duplicates, every hook
exercised by a test plugin, the example plugin through its real entry point, and
meta-tests that every hook is documented and tested.

Test plugins reach ``main`` in two ways: objects, through ``get_plugin_manager``'s
``plugins`` argument (the ``extra_plugins`` fixture wraps the factory ``main``
calls), and installed distributions, as a ``*.dist-info`` with an
``entry_points.txt`` on ``sys.path`` (the ``installed_plugin`` fixture), which
``importlib.metadata`` finds like any installed package.
"""

from __future__ import annotations

import argparse
import ast
import functools
import inspect
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, TextIO

import pluggy
import pytest
import yaml

from manifest_lint import __version__, api

# What the test plugins use is the public plugin API, as a real plugin's would be.
from manifest_lint.api import (
    BOOL,
    INT,
    STRING,
    CelBackend,
    CelFunction,
    CelProgram,
    Descriptor,
    Fetched,
    Policy,
    Reference,
    ReferenceResult,
    Registries,
    ReporterFactory,
    RunInfo,
    Summary,
    hookimpl,
    parse_policies,
)
from manifest_lint.cel import get_backend
from manifest_lint.cli import inspect as cli_inspect
from manifest_lint.cli import lint as cli_lint
from manifest_lint.cli import plugins as cli_plugins
from manifest_lint.cli import policytests as cli_policytests
from manifest_lint.cli import record as cli_record
from manifest_lint.cli.main import main
from manifest_lint.errors import PluginError
from manifest_lint.plugin import builtin, hookspecs
from manifest_lint.plugin import manager as plugins_module
from manifest_lint.plugin.manager import PluginHost, get_plugin_manager
from tests.helpers.images import Built, build_index, build_manifest

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_LAYOUT = f"oci:{REPO / 'examples' / 'multiarch'}:1.0"
HOOKS = sorted(
    name
    for name, value in vars(hookspecs).items()
    if name.startswith("manifest_lint_") and callable(value)
)


def policy_yaml(name: str, expression: str, *, severity: str = "error") -> str:
    return (
        f"apiVersion: manifest-lint.dev/v1\nkind: Policy\nmetadata:\n  name: {name}\n"
        f"spec:\n  severity: {severity}\n  validations:\n    - expression: {expression!r}\n"
    )


@pytest.fixture
def extra_plugins(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """``extra_plugins(("name", obj), ...)``: ``main`` registers these after the built-in."""

    def install(*items: tuple[str, object]) -> None:
        real = plugins_module.get_plugin_manager

        def factory(**kwargs: Any) -> Any:
            kwargs["plugins"] = [*items, *kwargs.get("plugins", ())]
            return real(**kwargs)

        for command in (cli_inspect, cli_lint, cli_plugins, cli_record, cli_policytests):
            # each makes its own
            monkeypatch.setattr(command, "get_plugin_manager", factory)

    return install


REPORTER_PLUGIN = """
from manifest_lint.api import hookimpl


class Lines:
    def __init__(self, stream, run):
        self.stream = stream
        self.fail_on = run.fail_on

    def add(self, result):
        self.stream.write(f"{result.reference} {result.outcome(self.fail_on)}\\n")

    def finish(self, summary):
        self.stream.write(f"done {summary.references}\\n")


@hookimpl
def manifest_lint_register_reporters(register):
    register("lines", Lines)
"""


def python_path(*first: Path) -> str:
    """``PYTHONPATH`` for a child Python: ``first``, then the manifest_lint this test
    imported (a checkout's ``src``, not whichever one is installed)."""
    source_root = Path(api.__file__).resolve().parents[1]
    return os.pathsep.join([*map(str, first), str(source_root)])


def lint(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# --------------------------------------------------------------------------- the factory


def test_the_builtin_plugin_is_registered_like_any_other() -> None:
    pm = get_plugin_manager(autoload=False)
    assert pm.get_plugin("builtin") is builtin
    assert [name for name, _ in pm.list_name_plugin()] == ["builtin"]
    host = PluginHost(pm)
    assert sorted(host.sources()) == ["docker", "oci", "oci-archive"]
    assert {"text", "json", "junit"} <= set(host.reporters())
    assert sorted(host.cel_backends()) == ["cel-expr-python", "celpy"]
    # The policies are the files of policies/, each read here with plain YAML.
    files = sorted((REPO / "policies").glob("*.yaml"))
    assert [p.name for p in host.policies()] == [
        yaml.safe_load(f.read_text())["metadata"]["name"] for f in files
    ]
    assert [p.path for p in host.policies()] == [f"builtin:{f.name}" for f in files]
    assert {p.origin for p in host.policies()} == {"builtin"}
    assert [f.name for f in host.functions()] == ["normalizePlatform", "joinStrings"]


def test_a_misspelled_hook_fails_loudly() -> None:
    class Typo:
        @hookimpl
        def manifest_lint_register_polices(self, register: Callable[..., None]) -> None:
            """Never called: the name matches no hook."""

    with pytest.raises(PluginError) as info:
        get_plugin_manager(autoload=False, plugins=[("typo", Typo())])
    assert str(info.value).startswith(
        "plugin 'typo': unknown hook 'manifest_lint_register_polices' in plugin "
    )
    assert info.value.plugin == "typo"


def test_a_misspelled_hook_argument_fails_loudly() -> None:
    class WrongArgument:
        @hookimpl
        def manifest_lint_register_policies(self, registr: Callable[..., None]) -> None:
            """Never called: pluggy cannot pass ``registr``."""

    with pytest.raises(PluginError) as info:
        get_plugin_manager(autoload=False, plugins=[("wrong", WrongArgument())])
    assert "Plugin 'wrong' for hook 'manifest_lint_register_policies'" in str(info.value)
    assert "{'registr'}" in str(info.value)


def test_a_misspelled_hook_in_an_installed_plugin_exits_2(
    installed_plugin: Callable[[str, str], str], capsys: pytest.CaptureFixture[str]
) -> None:
    installed_plugin(
        "typo",
        "from manifest_lint.api import hookimpl\n\n"
        "@hookimpl\ndef manifest_lint_register_reporter(register):\n    pass\n",
    )
    code, out, err = lint(capsys, EXAMPLE_LAYOUT)
    assert (code, out) == (2, "")
    assert err.startswith(
        "manifest-lint: error: plugin 'typo': unknown hook 'manifest_lint_register_reporter' "
        "in plugin <module 'manifest_lint_test_typo_"
    )
    # Blocking it is the way out.
    code, _, _ = lint(capsys, "-p", "no:typo", "--select", "required-platforms", EXAMPLE_LAYOUT)
    assert code == 0


# --------------------------------------------------------------------------- duplicates


class DuplicatePolicy:
    @hookimpl
    def manifest_lint_register_policies(self, register: Callable[[Policy | Path], None]) -> None:
        [policy] = parse_policies(policy_yaml("max-layers", "true"), "mine.yaml")
        register(policy)


class DuplicateReporter:
    @hookimpl
    def manifest_lint_register_reporters(self, register: Callable[..., None]) -> None:
        register("json", lambda stream, run: None)


class DuplicateSource:
    @hookimpl
    def manifest_lint_register_sources(self, register: Callable[..., None]) -> None:
        register("oci", lambda reference, registries: None)


class DuplicateFunction:
    @hookimpl
    def manifest_lint_register_functions(self, register: Callable[[CelFunction], None]) -> None:
        register(CelFunction("joinStrings", builtin_join_params(), STRING, lambda a, b: ""))


class DuplicateBackend:
    @hookimpl
    def manifest_lint_register_cel_backends(self, register: Callable[..., None]) -> None:
        register("celpy", lambda: get_backend("celpy"))


def builtin_join_params() -> tuple[Any, ...]:
    from manifest_lint.cel.functions import BUILTIN_FUNCTIONS

    [join] = [f for f in BUILTIN_FUNCTIONS if f.name == "joinStrings"]
    return join.params


@pytest.mark.parametrize(
    ("plugin", "collect", "message"),
    [
        (
            DuplicatePolicy(),
            PluginHost.policies,
            "plugin 'dupe' registered policy 'max-layers', which plugin 'builtin' already "
            "registered",
        ),
        (
            DuplicateReporter(),
            PluginHost.reporters,
            "plugin 'dupe' registered reporter 'json', which plugin 'builtin' already registered",
        ),
        (
            DuplicateSource(),
            PluginHost.sources,
            "plugin 'dupe' registered source 'oci', which plugin 'builtin' already registered",
        ),
        (
            DuplicateFunction(),
            PluginHost.functions,
            "plugin 'dupe' registered CEL function 'joinStrings' with the same parameters as "
            "plugin 'builtin'",
        ),
        (
            DuplicateBackend(),
            PluginHost.cel_backends,
            "plugin 'dupe' registered CEL backend 'celpy', which plugin 'builtin' already "
            "registered",
        ),
    ],
)
def test_a_name_another_plugin_registered_is_refused_naming_both(
    plugin: object, collect: Callable[[PluginHost], Any], message: str
) -> None:
    host = PluginHost(get_plugin_manager(autoload=False, plugins=[("dupe", plugin)]))
    with pytest.raises(PluginError) as info:
        collect(host)
    assert str(info.value) == message
    assert info.value.plugin == "dupe"


@pytest.mark.parametrize(
    "plugin", [DuplicatePolicy(), DuplicateReporter(), DuplicateSource(), DuplicateFunction()]
)
def test_duplicates_exit_2_through_main(
    plugin: object,
    extra_plugins: Callable[..., None],
    capsys: pytest.CaptureFixture[str],
) -> None:
    extra_plugins(("dupe", plugin))
    code, out, err = lint(capsys, EXAMPLE_LAYOUT)
    assert (code, out) == (2, "")
    assert err.startswith("manifest-lint: error: plugin 'dupe' registered ")
    assert "plugin 'builtin'" in err


def test_two_plugins_registering_one_name_are_both_named() -> None:
    class Lines:
        @hookimpl
        def manifest_lint_register_reporters(self, register: Callable[..., None]) -> None:
            register("lines", lambda stream, run: None)

    pm = get_plugin_manager(autoload=False, plugins=[("first", Lines()), ("second", Lines())])
    with pytest.raises(PluginError) as info:
        PluginHost(pm).reporters()
    assert str(info.value) == (
        "plugin 'second' registered reporter 'lines', which plugin 'first' already registered"
    )


def test_overloads_of_one_function_are_not_duplicates(
    extra_plugins: Callable[..., None], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    class Twice:
        @hookimpl
        def manifest_lint_register_functions(self, register: Callable[[CelFunction], None]) -> None:
            register(CelFunction("twice", (INT,), INT, lambda n: n * 2))
            register(CelFunction("twice", (STRING,), STRING, lambda s: s + s))

    extra_plugins(("twice", Twice()))
    policy = tmp_path / "twice.yaml"
    policy.write_text(policy_yaml("twice", "twice(2) == 4 && twice('ab') == 'abab'"))
    code, out, err = lint(capsys, "--policy", str(policy), "--select", "twice", EXAMPLE_LAYOUT)
    assert (code, err) == (0, ""), out
    assert "  PASS  twice\n" in out


# --------------------------------------------------------------------------- through pluggy


class WrapReporters:
    """A new-style wrapper (``wrapper=True``) of a collection hook: it registers nothing
    and sees each plugin's call, with that plugin's ``register``."""

    def __init__(self) -> None:
        self.calls: list[Callable[..., None]] = []

    @hookimpl(wrapper=True)
    def manifest_lint_register_reporters(self, register: Callable[..., None]) -> Iterator[None]:
        self.calls.append(register)
        return (yield)


class OldStyleWrapSources:
    """An old-style ``hookwrapper=True`` of a collection hook."""

    def __init__(self) -> None:
        self.outcomes: list[object] = []

    @hookimpl(hookwrapper=True)
    def manifest_lint_register_sources(
        self, register: Callable[..., None]
    ) -> Generator[None, pluggy.Result[object], None]:
        outcome = yield
        self.outcomes.append(outcome.get_result())


def test_a_wrapper_of_a_collection_hook_sees_each_plugins_call() -> None:
    wrap, old_style = WrapReporters(), OldStyleWrapSources()
    pm = get_plugin_manager(
        autoload=False,
        plugins=[("wrap", wrap), ("old-style", old_style), ("count", ReporterPlugin())],
    )
    host = PluginHost(pm)
    reporters = host.reporters()
    assert {"text", "json", "count"} <= set(reporters)
    # Once for the built-in plugin, once for "count"; never for itself.
    assert len(wrap.calls) == 2
    assert sorted(host.sources()) == ["docker", "oci", "oci-archive"]
    assert old_style.outcomes == [[]]  # the built-in's call; register returns nothing
    # Attribution still holds with wrappers around: the duplicate names both plugins.
    pm = get_plugin_manager(
        autoload=False, plugins=[("wrap", WrapReporters()), ("dupe", DuplicateReporter())]
    )
    with pytest.raises(PluginError, match="plugin 'dupe' registered reporter 'json', which "):
        PluginHost(pm).reporters()


def test_hook_call_monitoring_sees_each_collection_hook_call() -> None:
    pm = get_plugin_manager(autoload=False, plugins=[("count", ReporterPlugin())])
    calls: list[tuple[str, list[str]]] = []

    def before(hook: str, impls: Sequence[Any], kwargs: Mapping[str, object]) -> None:
        assert set(kwargs) == {"register"}
        calls.append((hook, [impl.plugin_name for impl in impls]))

    undo = pm.add_hookcall_monitoring(before, lambda *args: None)
    host = PluginHost(pm)
    host.reporters()
    host.sources()
    undo()
    assert calls == [
        ("manifest_lint_register_reporters", ["builtin"]),
        ("manifest_lint_register_reporters", ["count"]),
        ("manifest_lint_register_sources", ["builtin"]),
    ]


def test_pluggy_tracing_sees_each_collection_hook_call() -> None:
    pm = get_plugin_manager(autoload=False, plugins=[("count", ReporterPlugin())])
    written: list[str] = []
    pm.trace.root.setwriter(written.append)
    undo = pm.enable_tracing()
    try:
        PluginHost(pm).reporters()
    finally:
        undo()
        pm.trace.root.setwriter(None)
    calls = [line for line in written if line.lstrip().startswith("manifest_lint_register_")]
    finished = [line for line in written if "finish manifest_lint_register_" in line]
    assert len(calls) == len(finished) == 2
    assert all("manifest_lint_register_reporters" in line for line in calls + finished)


# --------------------------------------------------------------------------- loading


def test_installed_plugins_are_loaded_unless_autoload_is_disabled(
    installed_plugin: Callable[[str, str], str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    installed_plugin("lines", REPORTER_PLUGIN)
    code, out, err = lint(capsys, "--format", "lines", "--select", "max-layers", EXAMPLE_LAYOUT)
    assert (code, err) == (0, "")
    assert out == f"{EXAMPLE_LAYOUT} pass\ndone 1\n"
    monkeypatch.setenv("MANIFEST_LINT_DISABLE_PLUGIN_AUTOLOAD", "1")
    code, out, err = lint(capsys, "--format", "lines", EXAMPLE_LAYOUT)
    assert code == 2
    assert "argument --format: invalid choice: 'lines'" in err
    assert "lines" not in PluginHost(get_plugin_manager()).reporters()
    assert "lines" in PluginHost(get_plugin_manager(autoload=True)).reporters()


def test_p_no_name_blocks_a_plugin(
    installed_plugin: Callable[[str, str], str], capsys: pytest.CaptureFixture[str]
) -> None:
    installed_plugin("lines", REPORTER_PLUGIN)
    assert "lines" not in PluginHost(get_plugin_manager(blocked=["lines"])).reporters()
    code, _, err = lint(capsys, "-p", "no:lines", "--format", "lines", EXAMPLE_LAYOUT)
    assert code == 2
    assert "invalid choice: 'lines'" in err
    code, out, _ = lint(capsys, "plugins", "-pno:lines", "-p", "no:example")
    assert (code, out) == (0, f"builtin (manifest-lint {__version__})\n" + BUILTIN_HOOKS)


def test_p_no_name_blocks_plugin_objects_too() -> None:
    pm = get_plugin_manager(autoload=False, blocked=["dupe"], plugins=[("dupe", DuplicateSource())])
    assert pm.get_plugin("dupe") is None
    assert sorted(PluginHost(pm).sources()) == ["docker", "oci", "oci-archive"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-p", "no:builtin"], "manifest-lint: error: the built-in plugin cannot be blocked\n"),
        (
            ["-p", "lines"],
            "manifest-lint: error: -p takes no:NAME to block a plugin, not 'lines'\n",
        ),
        (["-p", "no:"], "manifest-lint: error: -p takes no:NAME to block a plugin, not 'no:'\n"),
    ],
)
def test_bad_p_flags_are_usage_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert lint(capsys, *argv, EXAMPLE_LAYOUT) == (2, "", message)


BUILTIN_HOOKS = (
    "  manifest_lint_register_cel_backends\n"
    "  manifest_lint_register_functions\n"
    "  manifest_lint_register_policies\n"
    "  manifest_lint_register_reporters\n"
    "  manifest_lint_register_sources\n"
    "  manifest_lint_register_verifiers\n"
)


def test_the_plugins_command_lists_plugins_versions_and_hooks(
    installed_plugin: Callable[[str, str], str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MANIFEST_LINT_DISABLE_PLUGIN_AUTOLOAD", "1")
    assert lint(capsys, "plugins") == (
        0,
        f"builtin (manifest-lint {__version__})\n" + BUILTIN_HOOKS,
        "",
    )
    monkeypatch.delenv("MANIFEST_LINT_DISABLE_PLUGIN_AUTOLOAD")
    installed_plugin("lines", REPORTER_PLUGIN)
    code, out, err = lint(capsys, "plugins")
    assert (code, err) == (0, "")
    assert out.startswith(f"builtin (manifest-lint {__version__})\n" + BUILTIN_HOOKS)
    assert "lines (test-plugin-lines 1.2.3)\n  manifest_lint_register_reporters\n" in out


# --------------------------------------------------------------------------- every hook, used


class OptionsPlugin:
    """manifest_lint_add_options + manifest_lint_configure: an option of its own."""

    def __init__(self) -> None:
        self.configured: list[argparse.Namespace] = []

    @hookimpl
    def manifest_lint_add_options(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--options-greeting", default="hello", help="a plugin's option")

    @hookimpl
    def manifest_lint_configure(self, options: argparse.Namespace) -> None:
        self.configured.append(options)


def test_add_options_and_configure(
    extra_plugins: Callable[..., None], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plugin = OptionsPlugin()
    extra_plugins(("options", plugin))
    config = tmp_path / "c.yaml"
    config.write_text("fail-on: warning\n")
    code, _, err = lint(
        capsys,
        "--options-greeting",
        "bonjour",
        "--config",
        str(config),
        "--select",
        "required-platforms",
        EXAMPLE_LAYOUT,
    )
    assert (code, err) == (0, "")
    [options] = plugin.configured
    assert options.options_greeting == "bonjour"
    assert options.references == [EXAMPLE_LAYOUT]
    assert options.config == str(config)
    # The option is part of the lint command's help (main returns 0 after printing it).
    assert main(["--help"]) == 0
    assert "--options-greeting" in capsys.readouterr().out


class MemorySource:
    """A ``Source`` serving a ``Built`` from memory; ``tamper`` corrupts one child."""

    def __init__(self, built: Built, tamper: str = "") -> None:
        self.built = built
        self.tamper = tamper
        self.closed = False

    def resolve(self) -> Fetched:
        return Fetched(self.built.data, self.built.media_type, self.built.digest)

    def fetch(self, descriptor: Descriptor, *, manifest: bool) -> bytes:
        data = self.built.contents[descriptor.digest].data
        if descriptor.digest == self.tamper:
            return data.replace(b"schemaVersion", b"schemaVersioN")
        return data

    def close(self) -> None:
        self.closed = True


class SourcePlugin:
    """manifest_lint_register_sources: references written ``mem:NAME:TAG``."""

    def __init__(self, images: Mapping[str, Built], tamper: str = "") -> None:
        self.images = images
        self.tamper = tamper
        self.opened: list[MemorySource] = []

    def open(self, reference: Reference, registries: Registries) -> MemorySource:
        source = MemorySource(self.images[f"{reference.path}:{reference.tag}"], self.tamper)
        self.opened.append(source)
        return source

    @hookimpl
    def manifest_lint_register_sources(self, register: Callable[..., None]) -> None:
        register("mem", self.open)


@pytest.fixture(scope="module")
def memory_image() -> Built:
    return build_index(
        [
            build_manifest(p, layers=2, seed="plugin-source")
            for p in ("linux/amd64", "linux/ppc64le")
        ]
    )


def test_a_plugin_source_is_used_for_its_references(
    extra_plugins: Callable[..., None],
    memory_image: Built,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    plugin = SourcePlugin({"team/app:2.0": memory_image})
    extra_plugins(("memory", plugin))
    report = tmp_path / "r.json"
    code, _, err = lint(
        capsys,
        "mem:team/app:2.0",
        "--select",
        "required-platforms,max-layers",
        "--json",
        str(report),
    )
    assert code == 1, err
    [result] = json.loads(report.read_text())["results"]
    assert (result["normalized"], result["digest"]) == ("mem:team/app:2.0", memory_image.digest)
    assert {f["name"]: f["outcome"] for f in result["findings"]} == {
        "max-layers[linux/amd64]": "pass",
        "max-layers[linux/ppc64le]": "pass",
        "required-platforms": "fail",
    }
    [source] = plugin.opened
    assert source.closed


def test_what_a_plugin_source_returns_is_digest_checked(
    extra_plugins: Callable[..., None], memory_image: Built, capsys: pytest.CaptureFixture[str]
) -> None:
    child = memory_image.images[1].digest
    extra_plugins(("memory", SourcePlugin({"team/app:2.0": memory_image}, tamper=child)))
    code, out, _ = lint(capsys, "mem:team/app:2.0", "--select", "max-layers")
    assert code == 3
    assert "  ERROR fetch: " in out
    assert child in out


def test_record_reads_a_plugin_source(
    extra_plugins: Callable[..., None],
    memory_image: Built,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``record`` reads through a plugin's source like ``lint``; the entry is named by
    the tag, and the layout gives the plugin source's document."""
    plugin = SourcePlugin({"team/app:2.0": memory_image})
    extra_plugins(("memory", plugin))
    out = tmp_path / "layout"
    assert main(["record", "mem:team/app:2.0", "--out", str(out)]) == 0
    capsys.readouterr()
    [entry] = json.loads((out / "index.json").read_text())["manifests"]
    assert entry["annotations"] == {"org.opencontainers.image.ref.name": "2.0"}
    assert entry["digest"] == memory_image.digest

    def document(reference: str) -> dict[str, Any]:
        assert main(["inspect", "--format", "json", reference]) == 0
        loaded: dict[str, Any] = json.loads(capsys.readouterr().out)
        del loaded["ref"]
        return loaded

    assert document(f"oci:{out}:2.0") == document("mem:team/app:2.0")
    assert all(source.closed for source in plugin.opened)


class CountingBackend:
    """A CEL backend wrapping the real one, counting what it compiles."""

    def __init__(self, inner: CelBackend) -> None:
        self.inner = inner
        self.compiled: list[str] = []

    @property
    def name(self) -> str:
        return "counting"

    @property
    def max_iterations(self) -> int | None:
        return self.inner.max_iterations

    def compile(
        self, expression: str, *, variables: Mapping[str, Any], functions: Sequence[Any] = ()
    ) -> CelProgram:
        self.compiled.append(expression)
        return self.inner.compile(expression, variables=variables, functions=functions)

    def activation(self, values: Mapping[str, Any]) -> Any:
        return self.inner.activation(values)


class BackendPlugin:
    """manifest_lint_register_cel_backends: ``--cel-backend counting``."""

    def __init__(self) -> None:
        self.made: list[CountingBackend] = []

    def factory(self) -> CelBackend:
        backend = CountingBackend(get_backend("cel-expr-python"))
        self.made.append(backend)
        return backend

    @hookimpl
    def manifest_lint_register_cel_backends(self, register: Callable[..., None]) -> None:
        register("counting", self.factory)


def test_a_plugin_cel_backend_is_selected_with_cel_backend(
    extra_plugins: Callable[..., None], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plugin = BackendPlugin()
    extra_plugins(("counting", plugin))
    report = tmp_path / "r.json"
    # Not selected: its factory is never called.
    assert lint(capsys, "--select", "pinned-digest", EXAMPLE_LAYOUT)[0] == 0
    assert plugin.made == []
    code, _, err = lint(
        capsys,
        "--cel-backend",
        "counting",
        "--select",
        "pinned-digest",
        "--json",
        str(report),
        EXAMPLE_LAYOUT,
    )
    assert (code, err) == (0, "")
    [backend] = plugin.made
    [validation] = yaml.safe_load((REPO / "policies" / "pinned-digest.yaml").read_text())["spec"][
        "validations"
    ]
    assert backend.compiled == [validation["expression"], validation["messageExpression"]]
    assert json.loads(report.read_text())["celBackend"] == "counting"


class FunctionPlugin:
    """manifest_lint_register_functions: ``isEven(int)`` and a function that raises."""

    @hookimpl
    def manifest_lint_register_functions(self, register: Callable[[CelFunction], None]) -> None:
        register(CelFunction("isEven", (INT,), BOOL, lambda n: n % 2 == 0, doc="n is even"))
        register(CelFunction("explode", (STRING,), BOOL, self.explode))

    @staticmethod
    def explode(text: str) -> bool:
        raise ValueError(f"cannot judge {text}")


@pytest.mark.parametrize("backend", ["cel-expr-python", "celpy"])
def test_a_plugin_cel_function_is_callable_from_policies(
    backend: str,
    extra_plugins: Callable[..., None],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    extra_plugins(("functions", FunctionPlugin()))
    even = tmp_path / "even.yaml"
    even.write_text(policy_yaml("even-platforms", "isEven(size(image.platforms))"))
    boom = tmp_path / "boom.yaml"
    boom.write_text(policy_yaml("boom", "explode(ref.tag)"))
    report = tmp_path / "r.json"
    code, _, err = lint(
        capsys,
        "--policy",
        str(even),
        "--policy",
        str(boom),
        "--select",
        "even-platforms,boom",
        "--cel-backend",
        backend,
        "--json",
        str(report),
        EXAMPLE_LAYOUT,
    )
    assert code == 3, err
    findings = {f["name"]: f for f in json.loads(report.read_text())["results"][0]["findings"]}
    assert findings["even-platforms"]["outcome"] == "fail"  # 3 platforms
    assert findings["boom"]["outcome"] == "error"
    assert "cannot judge 1.0" in findings["boom"]["message"]


class PolicyPlugin:
    """manifest_lint_register_policies: a Policy value and a directory of files."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @hookimpl
    def manifest_lint_register_policies(self, register: Callable[[Policy | Path], None]) -> None:
        [policy] = parse_policies(policy_yaml("from-value", "image.isIndex"), "<memory>")
        register(policy)
        register(self.directory)


def test_a_plugin_registers_policies_as_values_and_paths(
    extra_plugins: Callable[..., None], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / "policies"
    (directory / "nested").mkdir(parents=True)
    (directory / "nested" / "from-file.yaml").write_text(
        policy_yaml("from-file", "size(image.platforms) > 5", severity="info")
    )
    extra_plugins(("bundle", PolicyPlugin(directory)))
    report = tmp_path / "r.json"
    code, _, err = lint(
        capsys, "--select", "from-value,from-file", "--json", str(report), EXAMPLE_LAYOUT
    )
    assert (code, err) == (0, "")
    data = json.loads(report.read_text())
    assert {p["name"]: p["source"] for p in data["policies"]} == {
        "from-value": "<memory>",
        "from-file": "bundle:nested/from-file.yaml",
    }
    findings = {f["name"]: (f["outcome"], f["severity"]) for f in data["results"][0]["findings"]}
    assert findings == {"from-value": ("pass", "error"), "from-file": ("fail", "info")}


def test_a_plugin_registering_something_else_as_a_policy_is_refused() -> None:
    class Wrong:
        @hookimpl
        def manifest_lint_register_policies(self, register: Callable[..., None]) -> None:
            register({"name": "dict-policy"})

    host = PluginHost(get_plugin_manager(autoload=False, plugins=[("wrong", Wrong())]))
    with pytest.raises(PluginError) as info:
        host.policies()
    assert str(info.value) == (
        "plugin 'wrong' registered {'name': 'dict-policy'}: a policy must be a Policy or the "
        "path of a policy file or directory"
    )


class CountReporter:
    def __init__(self, stream: TextIO, run: RunInfo) -> None:
        self.stream = stream
        self.run = run
        self.lines: list[str] = []

    def add(self, result: ReferenceResult) -> None:
        self.lines.append(f"{result.reference}: {len(result.findings)} results")

    def finish(self, summary: Summary) -> None:
        self.stream.write("\n".join([*self.lines, f"fail-on {self.run.fail_on}"]) + "\n")


class ReporterPlugin:
    """manifest_lint_register_reporters: ``--format count`` and ``--output count=FILE``."""

    @hookimpl
    def manifest_lint_register_reporters(
        self, register: Callable[[str, ReporterFactory], None]
    ) -> None:
        register("count", CountReporter)


def test_a_plugin_reporter_writes_to_stdout_and_to_files(
    extra_plugins: Callable[..., None], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra_plugins(("count", ReporterPlugin()))
    out_file = tmp_path / "count.txt"
    code, out, err = lint(
        capsys,
        "--format",
        "count",
        "--output",
        f"count={out_file}",
        "--select",
        "max-layers",
        EXAMPLE_LAYOUT,
    )
    assert (code, err) == (0, "")
    expected = f"{EXAMPLE_LAYOUT}: 3 results\nfail-on error\n"
    assert out == expected
    assert out_file.read_text() == expected
    code, _, err = lint(capsys, "--output", f"csv={out_file}", EXAMPLE_LAYOUT)
    assert code == 2
    assert err.startswith("manifest-lint: error: --output: unknown format 'csv' (available: ")


# --------------------------------------------------------------------------- the example plugin


@pytest.fixture(scope="module")
def example_plugin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``examples/plugin`` installed with pip into a directory of its own."""
    target = tmp_path_factory.mktemp("example-plugin")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(target),
            str(REPO / "examples" / "plugin"),
        ],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    assert (target / "manifest_lint_example" / "__init__.py").is_file()
    return target


def run_with_example(target: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "MANIFEST_LINT_DISABLE_PLUGIN_AUTOLOAD"}
    env["PYTHONPATH"] = python_path(target)
    env.pop("NO_COLOR", None)
    return subprocess.run(
        [sys.executable, *argv], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )


def test_the_example_plugin_through_its_entry_point(example_plugin: Path) -> None:
    where = run_with_example(
        example_plugin,
        "-c",
        "import importlib.metadata as m, manifest_lint_example as e;"
        "print(m.distribution('manifest-lint-example-plugin').locate_file(''));print(e.__file__)",
    )
    assert where.returncode == 0, where.stderr
    assert [Path(line).resolve() for line in where.stdout.splitlines()] == [
        example_plugin.resolve(),
        (example_plugin / "manifest_lint_example" / "__init__.py").resolve(),
    ]

    run = run_with_example(
        example_plugin, "-m", "manifest_lint", "--format", "csv", "oci:examples/multiarch:1.0"
    )
    assert (run.returncode, run.stderr) == (0, "")
    lines = run.stdout.splitlines()
    assert lines[0] == "reference,policy,platform,outcome,severity,message"
    assert (
        "oci:examples/multiarch:1.0,semver-tag,,fail,warning,tag 1.0 is not a semantic version"
        in lines
    )
    assert "oci:examples/multiarch:1.0,required-platforms,,pass,error," in lines

    blocked = run_with_example(
        example_plugin,
        "-m",
        "manifest_lint",
        "-p",
        "no:example",
        "--format",
        "json",
        "oci:examples/multiarch:1.0",
    )
    assert blocked.returncode == 0, blocked.stderr
    report = json.loads(blocked.stdout)
    assert "semver-tag" not in [p["name"] for p in report["policies"]]
    assert "semver-tag" not in blocked.stdout

    listing = run_with_example(example_plugin, "-m", "manifest_lint", "plugins")
    assert listing.returncode == 0, listing.stderr
    assert (
        "example (manifest-lint-example-plugin 0.1.0)\n"
        "  manifest_lint_register_functions\n"
        "  manifest_lint_register_policies\n"
        "  manifest_lint_register_reporters\n"
    ) in listing.stdout


def test_the_example_plugin_s_policy_tests(example_plugin: Path) -> None:
    """examples/plugin/tests: the plugin's policy tested by name, through
    ``manifest-lint test`` and through pytest's plugin, with the plugin installed."""
    tests = "examples/plugin/tests"
    loaded = ["-p", "manifest_lint.pytest_plugin"]
    run = run_with_example(example_plugin, "-m", "manifest_lint", "test", tests)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.endswith("3 cases in 1 file: 3 passed, 0 failed\n")

    items = run_with_example(
        example_plugin,
        "-m",
        "pytest",
        # By its pytest11 entry point where this environment has it installed.
        *([] if entry_points(group="pytest11").select(name="manifest-lint") else loaded),
        "-p",
        "no:cacheprovider",
        "--manifest-lint-policytests",
        "-q",
        "--rootdir",
        tests,
        tests,
    )
    assert items.returncode == 0, items.stdout + items.stderr
    assert "3 passed" in items.stdout

    # Without the plugin, its policy is unknown: the test file is an error, never a pass.
    blocked = run_with_example(
        example_plugin, "-m", "manifest_lint", "-p", "no:example", "test", tests
    )
    assert blocked.returncode == 2, blocked.stdout + blocked.stderr
    assert "semver-tag" in blocked.stderr


# --------------------------------------------------------------------------- meta


def test_there_are_hooks_to_check() -> None:
    assert len(HOOKS) >= 7


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hookspec_has_a_docstring(hook: str) -> None:
    spec = getattr(hookspecs, hook)
    assert getattr(spec, "manifest_lint_spec", None) is not None, f"{hook} is not a hookspec"
    doc = inspect.getdoc(spec) or ""
    assert len(doc) > 40, f"{hook} needs a docstring saying what it receives and returns"


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hookspec_is_documented(hook: str) -> None:
    docs = (REPO / "docs" / "plugins.md").read_text(encoding="utf-8")
    assert f"### `{hook}(" in docs, f"docs/plugins.md has no section for {hook}"


@functools.cache
def _implemented_in_tests() -> dict[str, set[str]]:
    """Hook name -> test files defining a function of that name (a test plugin's hook)."""
    found: dict[str, set[str]] = {}
    for path in sorted(Path(__file__).parent.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and any(
                isinstance(d, ast.Name) and d.id == "hookimpl" for d in node.decorator_list
            ):
                found.setdefault(node.name, set()).add(path.name)
        for text in (
            n.value
            for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str)
        ):
            # Plugins installed as modules carry their source as a string.
            for hook in HOOKS:
                if f"@hookimpl\ndef {hook}(" in text:
                    found.setdefault(hook, set()).add(path.name)
    return found


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hookspec_is_implemented_by_a_test_plugin(hook: str) -> None:
    # Names found through the AST (decorated functions), not text search, so this
    # test's own code cannot satisfy it.
    assert hook in _implemented_in_tests(), f"no test plugin implements {hook}"


def test_no_test_plugin_implements_an_unknown_hook() -> None:
    known = set(HOOKS)
    # The deliberately misspelled ones are the only exceptions.
    unknown = {
        name for name in _implemented_in_tests() if name.startswith("manifest_lint_")
    } - known
    assert unknown == {"manifest_lint_register_polices"}


def _public_api_documented() -> list[str]:
    """The names the "public API" section of docs/plugins.md lists (``- `Name`: ...``)."""
    docs = (REPO / "docs" / "plugins.md").read_text(encoding="utf-8")
    section = docs.split("\n## The public API (`manifest_lint.api`)\n", 1)[1].split("\n## ")[0]
    items = section.replace("\n  ", " ").splitlines()  # a list item's lines, joined
    names: list[str] = []
    for item in items:
        if item.startswith("- `"):
            head = item[2:].split(":", 1)[0]
            names += [part.strip().strip("`") for part in head.split(",")]
    return names


def test_the_public_api_is_exactly_what_docs_plugins_md_lists() -> None:
    documented = _public_api_documented()
    assert len(documented) >= 30
    assert len(documented) == len(set(documented)), "a name is documented twice"
    for name in documented:
        assert hasattr(api, name), f"docs/plugins.md documents {name}, gone from manifest_lint.api"
    assert set(documented) == set(api.__all__), (
        f"undocumented: {sorted(set(api.__all__) - set(documented))}; "
        f"not exported: {sorted(set(documented) - set(api.__all__))}"
    )
    for name in api.__all__:
        assert getattr(api, name) is not None, name


@pytest.mark.parametrize("name", ["hookimpl", "CelFunction", "Policy", "Reporter", "Source"])
def test_the_public_api_names_what_the_hooks_pass(name: str) -> None:
    assert name in api.__all__


def _imports_of(source: str) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {module for module in found if module.split(".")[0] == "manifest_lint"}


def test_the_example_plugin_and_the_docs_import_only_the_public_api() -> None:
    sources = [p.read_text() for p in sorted((REPO / "examples" / "plugin").rglob("*.py"))]
    docs = (REPO / "docs" / "plugins.md").read_text(encoding="utf-8")
    blocks = [block.split("\n", 1)[1] for block in docs.split("```python")[1:]]
    sources += [block.split("```", 1)[0] for block in blocks]
    assert len(sources) >= 2
    for source in sources:
        assert _imports_of(source) <= {"manifest_lint.api"}


def test_the_hookspecs_name_the_public_api() -> None:
    docs = " ".join(inspect.getdoc(getattr(hookspecs, hook)) or "" for hook in HOOKS)
    named = set(re.findall(r"manifest_lint\.(?:[a-z_]+\.)*([A-Za-z_]+)", docs))
    assert {"Source", "SourceOpener", "Policy", "CelFunction", "CelBackend", "Reporter"} <= named
    for qualified in re.findall(r"manifest_lint(?:\.[A-Za-z_]+)+", docs):
        module, _, name = qualified.rpartition(".")
        assert module == "manifest_lint.api", f"a hookspec names the internal {qualified}"
        assert name in api.__all__, qualified


def test_hookspecs_and_the_builtin_agree() -> None:
    implemented = {name for name in HOOKS if hasattr(builtin, name)}
    assert implemented == {h for h in HOOKS if h.startswith("manifest_lint_register_")}


def test_plugins_are_loaded_by_main_never_at_import(
    installed_plugin: Callable[[str, str], str], tmp_path: Path
) -> None:
    module = installed_plugin("lines", REPORTER_PLUGIN)
    code = (
        "import sys, manifest_lint, manifest_lint.cli.main, manifest_lint.plugin.manager;"
        f"print({module!r} in sys.modules, 'manifest_lint.plugin.builtin' in sys.modules);"
        "manifest_lint.cli.main.main(['plugins', '-p', 'no:example']);"
        f"print({module!r} in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if k != "MANIFEST_LINT_DISABLE_PLUGIN_AUTOLOAD"}
    env["PYTHONPATH"] = python_path(tmp_path / "site")
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "False False"
    assert "lines (test-plugin-lines 1.2.3)" in lines
    assert lines[-1] == "True"


@pytest.fixture(autouse=True)
def _no_leaking_modules() -> Iterator[None]:
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        if name.startswith("manifest_lint_test_"):
            del sys.modules[name]


def test_a_plugin_that_fails_to_import_is_named_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An installed plugin whose module raises on import: exit 2 naming the plugin."""
    dist = tmp_path / "broken_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[manifest_lint]\nbroken = broken_plugin_module\n")
    (tmp_path / "broken_plugin_module.py").write_text("raise RuntimeError('boom at import')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("MANIFEST_LINT_DISABLE_PLUGIN_AUTOLOAD", raising=False)

    code = main(["-p", "no:example", "oci:examples/multiarch:1.0"])
    err = capsys.readouterr().err
    assert code == 2
    assert (
        "plugin 'broken' (broken_plugin_module) failed to load: RuntimeError: boom at import" in err
    )
    assert "-p no:broken" in err
    assert "Traceback" not in err

    # Blocking it by name lets the run go on without it.
    monkeypatch.chdir(Path(__file__).resolve().parent.parent)
    assert main(["-p", "no:example", "-p", "no:broken", "oci:examples/multiarch:1.0"]) == 0


def test_the_quick_look_for_installed_plugins(tmp_path: Path) -> None:
    """No installed distribution declares the group: importlib.metadata is not even
    imported. One that does, or a path it cannot look into (a zip), is a maybe."""
    from manifest_lint.plugin.manager import _may_have_entry_points

    site = tmp_path / "site"
    other = site / "other-1.0.dist-info"
    other.mkdir(parents=True)
    (other / "entry_points.txt").write_text("[console_scripts]\nother = other:main\n")
    (site / "no_entry_points-2.0.dist-info").mkdir()
    assert not _may_have_entry_points([str(site), str(tmp_path / "missing")])

    legacy = site / "plugin.egg-info"
    legacy.mkdir()
    (legacy / "entry_points.txt").write_text("[manifest_lint]\nmine = my_plugin\n")
    assert _may_have_entry_points([str(site)])

    archive = tmp_path / "deps.zip"
    archive.write_bytes(b"PK\x05\x06" + b"\0" * 18)
    assert _may_have_entry_points([str(archive)])
