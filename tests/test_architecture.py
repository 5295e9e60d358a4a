"""The package's shape stays what docs/architecture.md says it is."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "manifest_lint"
ARCHITECTURE = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
#: The issue that set the layout: a module longer than this holds more than one job.
MAX_MODULE_LINES = 400


def _top_level() -> list[str]:
    names = []
    for path in sorted(PACKAGE.iterdir()):
        if path.name.startswith(("_", ".")) or path.name == "policies":
            continue
        if path.is_dir() and (path / "__init__.py").exists():
            names.append(f"{path.name}/")
        elif path.suffix == ".py":
            names.append(path.name)
    return names


@pytest.mark.parametrize("name", _top_level())
def test_every_top_level_module_and_folder_is_on_the_map(name: str) -> None:
    assert f"**`{name}`**" in ARCHITECTURE or f"`{name}`" in ARCHITECTURE, (
        f"src/manifest_lint/{name} is not described in docs/architecture.md"
    )


def _modules() -> list[str]:
    return sorted(
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.name not in ("__init__.py", "__main__.py")
    )


@pytest.mark.parametrize("module", _modules())
def test_every_module_is_named_on_the_map(module: str) -> None:
    stem = Path(module).stem
    assert f"`{stem}.py`" in ARCHITECTURE or f"`{stem}`" in ARCHITECTURE, (
        f"src/manifest_lint/{module} is not named in docs/architecture.md"
    )


def test_no_module_is_longer_than_one_job() -> None:
    long = {
        str(path.relative_to(PACKAGE)): n
        for path in PACKAGE.rglob("*.py")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert not long, f"split these by job (over {MAX_MODULE_LINES} lines): {long}"
