"""Wheel build hook: parse the built-in policies once, at build time.

The wheel ships ``manifest_lint/policies/parsed.json`` next to the policy files: each
file's text and its parsed documents (``manifest_lint.yamlfile.pack``). A run then
reads its built-in policies without importing PyYAML: an offline pre-commit run of
``bench/startup.py`` took 97 ms against 107-110 ms parsing them with libyaml, about a
tenth (``docs/performance.md``). A file is read from this parse only
while its text is the one parsed here (``manifest_lint.plugin.builtin.builtin_policies``).

Editable installs read the policies at the top of the checkout and parse them.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


def parse_policies(directory: Path) -> dict[str, Any]:
    """``{file name: {"text": ..., "documents": ...}}`` for the policy files of
    ``directory``, parsed by this checkout's ``manifest_lint.yamlfile``."""
    sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))
    try:
        from manifest_lint.yamlfile import load_all, pack
        from manifest_lint.yamlfile.schema import problems_of
    finally:
        sys.path.pop(0)
    parsed = {}
    for file in sorted(directory.rglob("*")):
        if file.suffix in (".yaml", ".yml") and file.is_file():
            text = file.read_text(encoding="utf-8")
            documents = list(load_all(text, fast=True))
            # A run does not check its built-in policies against the schema: the build does.
            for doc in documents:
                for message, line, column in problems_of(doc.value, "policy.schema.json"):
                    raise SystemExit(f"{file}:{line}:{column}: {message}")
            parsed[file.relative_to(directory).as_posix()] = {
                "text": text,
                "documents": pack(documents),
            }
    return parsed


class ParsePoliciesHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        root = Path(self.root)
        self._scratch = tempfile.mkdtemp(prefix="manifest-lint-build-")
        out = Path(self._scratch) / "parsed.json"
        out.write_text(json.dumps(parse_policies(root / "policies")), encoding="utf-8")
        build_data["force_include"][str(out)] = "manifest_lint/policies/parsed.json"

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        scratch = getattr(self, "_scratch", None)
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
