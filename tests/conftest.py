"""Shared fixtures: real registries (open, htpasswd, token) and pushed test images.

The registry is the CNCF distribution server from the Debian package
``docker-registry``. When it (or ``htpasswd``/``skopeo``) is missing, the
fixtures skip with the reason, except on CI (``CI`` set) where they fail, so a
broken runner cannot turn the acceptance tests into silent skips.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import pytest

from tests.helpers.images import CASES, PushedCase, push
from tests.helpers.registry_server import Mode, RegistryServer, registry_binary


def _on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}


def require(available: bool, reason: str) -> None:
    """Skip with ``reason`` unless ``available``; fail instead when running on CI."""
    if available:
        return
    if _on_ci():
        pytest.fail(f"{reason} (CI is set, so this is an error, not a skip)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def registry_executable() -> str:
    """The registry binary; request it in tests that start their own RegistryServer."""
    path = registry_binary()
    require(
        path is not None,
        "the CNCF distribution registry is not installed (apt-get install docker-registry "
        "provides /usr/bin/docker-registry; MANIFEST_LINT_TEST_REGISTRY overrides the path)",
    )
    assert path is not None
    return path


def _start(
    mode: Mode, executable: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RegistryServer]:
    if mode == "htpasswd":
        require(
            shutil.which("htpasswd") is not None,
            "htpasswd is missing (apt-get install apache2-utils)",
        )
    directory = tmp_path_factory.mktemp(f"registry-{mode}")
    with RegistryServer(mode, binary=executable, directory=directory) as server:
        yield server


@pytest.fixture(scope="session")
def registry(
    registry_executable: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RegistryServer]:
    """An open registry (no auth) for the whole session."""
    yield from _start("open", registry_executable, tmp_path_factory)


@pytest.fixture(scope="session")
def registry_basic(
    registry_executable: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RegistryServer]:
    """A registry with Basic auth (bcrypt htpasswd); credentials in ``.credentials``."""
    yield from _start("htpasswd", registry_executable, tmp_path_factory)


@pytest.fixture(scope="session")
def registry_token(
    registry_executable: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RegistryServer]:
    """A registry with token auth; the issuer is ``registry_token.token_issuer``."""
    yield from _start("token", registry_executable, tmp_path_factory)


@pytest.fixture(scope="session")
def skopeo() -> str:
    """Path of the real ``skopeo``, an independent client to cross-check against."""
    path = shutil.which("skopeo")
    require(path is not None, "skopeo is not installed (apt-get install skopeo)")
    assert path is not None
    return path


@pytest.fixture(scope="session")
def pushed(registry: RegistryServer) -> dict[str, PushedCase]:
    """Every case of ``helpers.images.CASES`` pushed as ``cases/<name>:v1``."""
    out: dict[str, PushedCase] = {}
    for name, make in CASES.items():
        built = make()
        result = push(registry.url, f"cases/{name.replace('_', '-')}", built, "v1")
        out[name] = PushedCase(result.reference, built)
    return out


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """On failure, attach each registry's log tail (auth rejections are explained only there)."""
    report = yield
    if report.failed:
        for name, value in getattr(item, "funcargs", {}).items():
            if isinstance(value, RegistryServer):
                report.sections.append((f"registry log: {name} ({value.mode})", value.log_tail()))
    return report


@pytest.fixture(autouse=True)
def _private_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each test gets an empty manifest cache: a cache shared between tests would hide
    requests (and tampering) that a test means to see."""
    monkeypatch.setenv("MANIFEST_LINT_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(autouse=True)
def _no_installed_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    """Installed plugins (entry points) never change test results; tests of plugin
    loading unset this themselves."""
    monkeypatch.setenv("MANIFEST_LINT_DISABLE_PLUGIN_AUTOLOAD", "1")


@pytest.fixture(autouse=True)
def _no_config_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A MANIFEST_LINT_CONFIG in the developer's environment never changes test
    results; tests of it set it themselves."""
    monkeypatch.delenv("MANIFEST_LINT_CONFIG", raising=False)


@pytest.fixture
def installed_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], str]:
    """``installed_plugin(entry_point_name, module_source)`` installs a distribution
    ``test-plugin-NAME 1.2.3`` whose ``manifest_lint`` entry point is a new module with
    that source; returns the module name. Autoloading is switched back on."""
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.delenv("MANIFEST_LINT_DISABLE_PLUGIN_AUTOLOAD", raising=False)

    def install(name: str, source: str) -> str:
        module = f"manifest_lint_test_{name.replace('-', '_')}_{uuid.uuid4().hex[:8]}"
        (root / f"{module}.py").write_text(source)
        info = root / f"test_plugin_{name.replace('-', '_')}-1.2.3.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: test-plugin-{name}\nVersion: 1.2.3\n"
        )
        (info / "entry_points.txt").write_text(f"[manifest_lint]\n{name} = {module}\n")
        return module

    return install
