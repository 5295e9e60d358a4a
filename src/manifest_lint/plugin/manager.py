"""The plugin manager factory and a typed facade over ``pm.hook``.

:func:`get_plugin_manager` is called from ``main``, never at import time. It
registers the built-in plugin, loads the ``manifest_lint`` entry points unless
autoloading is disabled (``MANIFEST_LINT_DISABLE_PLUGIN_AUTOLOAD``), honours
blocked plugin names (``-p no:NAME``), and calls ``check_pending()`` so that a
misspelled hook fails loudly.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import pluggy

from manifest_lint.errors import PluginError
from manifest_lint.plugin import hookspecs
from manifest_lint.plugin.hookspecs import BUILTIN

if TYPE_CHECKING:
    from manifest_lint.cel import CelBackend, CelFunction
    from manifest_lint.image.supply_chain import Verifier
    from manifest_lint.policy.files import Policy
    from manifest_lint.reporters import ReporterFactory
    from manifest_lint.sources.base import SourceOpener

ENTRY_POINT_GROUP = "manifest_lint"
DISABLE_AUTOLOAD_ENV = "MANIFEST_LINT_DISABLE_PLUGIN_AUTOLOAD"


def get_plugin_manager(
    *,
    blocked: Iterable[str] = (),
    autoload: bool | None = None,
    plugins: Iterable[tuple[str, object]] = (),
) -> pluggy.PluginManager:
    """A plugin manager with the built-ins, the installed plugins and ``plugins``."""
    from manifest_lint.plugin import builtin

    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for name in blocked:
        if name == BUILTIN:
            raise PluginError("the built-in plugin cannot be blocked")
        pm.set_blocked(name)
    if autoload is None:
        autoload = not os.environ.get(DISABLE_AUTOLOAD_ENV)
    # Registering checks each hook's arguments; check_pending() the hook names.
    try:
        pm.register(builtin, name=BUILTIN)
        if autoload:
            _load_entry_points(pm)
        for name, plugin in plugins:
            if not pm.is_blocked(name):
                pm.register(plugin, name=name)
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        # A plugin refused while registering is no longer registered; pluggy's
        # message names it then.
        refused = pm.get_name(exc.plugin)
        message = f"plugin {refused!r}: {exc}" if refused else str(exc)
        raise PluginError(message, plugin=refused or "") from None
    return pm


def _may_have_entry_points(paths: Iterable[str] | None = None) -> bool:
    """Whether any distribution on ``sys.path`` may declare a ``manifest_lint`` entry point.

    A look at the ``entry_points.txt`` files of the ``*.dist-info`` and ``*.egg-info``
    directories, for the group's header, so that a run with no plugin installed (most
    installations) never imports :mod:`importlib.metadata`. Anything this look cannot
    read (a zip file on the path) counts as a maybe, and then :mod:`importlib.metadata`
    decides. The plain path is ``_load_entry_points`` without this call.

    Measured gain (``python -m bench.startup --python VENV --runs 11``, 8 rounds with
    and without this look interleaved, one venv, 2 shared cores): the offline
    pre-commit run over 100 Dockerfiles took 92.8 ms with it and 109.0 ms without
    (medians of the rounds' medians; rounds 90.4-94.4 ms and 108.0-111.5 ms), 16 ms or
    15% saved; ``python -c pass`` was 10.4 ms.
    """
    header = f"[{ENTRY_POINT_GROUP}]"
    for entry in sys.path if paths is None else paths:
        directory = entry or "."
        try:
            names = os.listdir(directory)
        except NotADirectoryError:
            return True  # a zip archive: only importlib.metadata can look inside
        except OSError:
            continue
        for name in names:
            if not name.endswith((".dist-info", ".egg-info")):
                continue
            try:
                with open(os.path.join(directory, name, "entry_points.txt"), "rb") as handle:
                    if header.encode() in handle.read():
                        return True
            except OSError:
                continue
    return False


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    """Load the installed plugins one by one, so that one that fails to import is named."""
    if not _may_have_entry_points():
        return
    import importlib.metadata  # only now: the start-up it costs, measured above

    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if pm.is_blocked(entry_point.name) or pm.get_plugin(entry_point.name) is not None:
            continue
        try:
            pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP, name=entry_point.name)
        except pluggy.PluginValidationError:
            raise
        except Exception as exc:
            raise PluginError(
                f"plugin {entry_point.name!r} ({entry_point.value}) failed to load: "
                f"{type(exc).__name__}: {exc} (block it with -p no:{entry_point.name})",
                plugin=entry_point.name,
            ) from exc


class Registered(NamedTuple):
    """A thing a plugin registered, and which plugin did."""

    name: str
    value: Any
    plugin: str


class _Collector:
    """Builds the ``register`` callback for one collection hook, plugin by plugin."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.items: dict[str, Registered] = {}

    def add(self, name: str, value: Any, plugin: str) -> None:
        if not isinstance(name, str) or not name:
            raise PluginError(
                f"plugin {plugin!r} registered a {self.what} without a name", plugin=plugin
            )
        if name in self.items:
            first = self.items[name].plugin
            raise PluginError(
                f"plugin {plugin!r} registered {self.what} {name!r}, which plugin {first!r} "
                "already registered",
                plugin=plugin,
            )
        self.items[name] = Registered(name, value, plugin)


class PluginHost:
    """Typed access to what the plugins provide."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm

    def _each(self, hook_name: str) -> Iterator[tuple[str, Callable[[Callable[..., None]], None]]]:
        """(plugin name, call) for each plugin implementing a collection hook, in
        registration order: built-ins first.

        ``call(register)`` calls the hook through pluggy with only that plugin's
        implementation (and every wrapper): ``pm.subset_hook_caller`` leaves the other
        plugins out, so everything ``register`` receives is that plugin's. One pluggy
        call per plugin, rather than one call with a ``register`` that cannot tell who
        calls it, keeps each registration attributed (a duplicate names both plugins)
        while the calls still go through pluggy's hook execution: hook wrappers see
        each call, and so do ``pm.add_hookcall_monitoring`` and ``pm.enable_tracing``.
        """
        hook = getattr(self.pm.hook, hook_name)
        plugins = list(  # one call per plugin, even one implementing the hook twice (specname)
            dict.fromkeys(
                impl.plugin
                for impl in hook.get_hookimpls()
                if not (impl.wrapper or impl.hookwrapper)
            )
        )
        for plugin in plugins:
            others = [other for other in plugins if other is not plugin]
            only = self.pm.subset_hook_caller(hook_name, remove_plugins=others)
            name = self.pm.get_name(plugin) or repr(plugin)

            def call(register: Callable[..., None], _only: pluggy.HookCaller = only) -> None:
                _only(register=register)

            yield name, call

    def _collect(
        self,
        hook_name: str,
        what: str,
        key: Callable[[Any], str] | None = None,
    ) -> dict[str, Registered]:
        collector = _Collector(what)
        for plugin, call in self._each(hook_name):

            def register(*args: Any, _plugin: str = plugin) -> None:
                if key is not None:
                    collector.add(key(args[0]), args[0], _plugin)
                else:
                    collector.add(args[0], args[1], _plugin)

            call(register)
        return collector.items

    def sources(self) -> dict[str, SourceOpener]:
        return {
            n: r.value for n, r in self._collect("manifest_lint_register_sources", "source").items()
        }

    def functions(self) -> list[CelFunction]:
        found: list[CelFunction] = []
        seen: dict[tuple[str, tuple[Any, ...]], str] = {}
        for plugin, call in self._each("manifest_lint_register_functions"):

            def register(function: CelFunction, _plugin: str = plugin) -> None:
                signature = (function.name, tuple(function.params))
                if signature in seen:
                    raise PluginError(
                        f"plugin {_plugin!r} registered CEL function {function.name!r} with "
                        f"the same parameters as plugin {seen[signature]!r}",
                        plugin=_plugin,
                    )
                seen[signature] = _plugin
                found.append(function)

            call(register)
        return found

    def cel_backends(self) -> dict[str, Callable[[], CelBackend]]:
        return {
            n: r.value
            for n, r in self._collect("manifest_lint_register_cel_backends", "CEL backend").items()
        }

    def verifiers(self) -> list[Verifier]:
        """Every registered verifier, the last registered (installed plugins) first."""
        found: list[Verifier] = []
        for _plugin, call in self._each("manifest_lint_register_verifiers"):
            call(found.append)
        return found[::-1]

    def reporters(self) -> dict[str, ReporterFactory]:
        return {
            n: r.value
            for n, r in self._collect("manifest_lint_register_reporters", "reporter").items()
        }

    def policies(self) -> list[Policy]:
        """Every registered policy (files and directories loaded), unique by name."""
        from manifest_lint.policy.files import Policy, load_policies

        collector = _Collector("policy")
        for plugin, call in self._each("manifest_lint_register_policies"):

            def register(item: Policy | Path, _plugin: str = plugin) -> None:
                if isinstance(item, Policy):
                    loaded = [item]
                elif isinstance(item, Path | str):
                    root = Path(item)
                    loaded = [
                        replace(p, path=_display_path(_plugin, root, Path(p.path)))
                        for p in load_policies([root], origin=_plugin, fast=True)
                    ]
                else:
                    raise PluginError(
                        f"plugin {_plugin!r} registered {item!r}: a policy must be a Policy "
                        "or the path of a policy file or directory",
                        plugin=_plugin,
                    )
                for policy in loaded:
                    collector.add(policy.name, policy, _plugin)

            call(register)
        return [r.value for r in collector.items.values()]

    def plugin_list(self) -> list[tuple[str, str, list[str]]]:
        """(name, version, hooks implemented) for every registered plugin."""
        dist_versions: Mapping[Any, str] = {
            plugin: f"{dist.project_name} {dist.version}"
            for plugin, dist in self.pm.list_plugin_distinfo()
        }
        from manifest_lint import __version__

        rows = []
        for name, plugin in sorted(self.pm.list_name_plugin(), key=lambda item: item[0]):
            if plugin is None:
                continue
            version = dist_versions.get(plugin, "")
            if name == BUILTIN:
                version = f"manifest-lint {__version__}"
            hooks = sorted(h.name for h in self.pm.get_hookcallers(plugin) or ())
            rows.append((name, version, hooks))
        return rows


def _display_path(plugin: str, root: Path, path: Path) -> str:
    """``builtin:max-layers.yaml``: where a plugin's policy came from, without the
    machine's install path."""
    relative = path.name if root == path else path.relative_to(root).as_posix()
    return f"{plugin}:{relative}"
