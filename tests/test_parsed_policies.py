"""The built-in policies parsed when the wheel is built (``hatch_build.py``).

A run reads its built-in policies from that parse instead of importing PyYAML,
but only while a file's text is the one that was parsed. These tests check that
the parse carries everything the parser gives (values, positions, quoting
styles), that a changed file is parsed again, and, on a wheel built here, that
the shipped parse is what a run uses and that it spares the run PyYAML.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from manifest_lint.plugin import builtin
from manifest_lint.results import Severity
from manifest_lint.yamlfile import (
    LocatedDict,
    LocatedList,
    NotPackable,
    YamlDocument,
    load_all,
    pack,
    unpack,
)

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ROOT / "policies"

#: Every kind of value and position a policy or configuration file can hold.
TRICKY = textwrap.dedent(
    """\
    # a comment first, so the document starts on line 2
    plain: text
    single: 'quoted'
    double: "quoted\\ttab"
    literal: |
      line one
        indented
    folded: >
      folded
      text
    numbers: [1, -2.5, 0x10, .inf]
    flags: {yes-no: true, "off": false, nothing: null, tilde: ~}
    empty-map: {}
    empty-list: []
    nested:
      - name: a
        items: [{k: v}, [1, [2]]]
      - - deeper
    unicode: "caf\\u00e9 \\U0001F600"
    ---
    second: document
    """
)


def _hatch_build() -> ModuleType:
    spec = importlib.util.spec_from_file_location("hatch_build", ROOT / "hatch_build.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _same(a: Any, b: Any, where: str = "$") -> None:
    """Equal values, and for mappings and lists equal positions and styles too."""
    assert type(a) is type(b), where
    if isinstance(a, LocatedDict):
        assert (a.line, a.column) == (b.line, b.column), where
        assert list(a) == list(b), where
        assert a.key_positions == b.key_positions, where
        assert a.value_positions == b.value_positions, where
        assert a.value_styles == b.value_styles, where
        for key in a:
            _same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, LocatedList):
        assert (a.line, a.column) == (b.line, b.column), where
        assert a.item_positions == b.item_positions, where
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


def _same_documents(a: list[YamlDocument], b: list[YamlDocument]) -> None:
    assert [d.line for d in a] == [d.line for d in b]
    for x, y in zip(a, b, strict=True):
        _same(x.value, y.value)


def _texts() -> list[tuple[str, str]]:
    files = sorted(POLICIES.glob("*.yaml"))
    assert len(files) >= 6
    return [("tricky", TRICKY)] + [(f.name, f.read_text()) for f in files]


@pytest.mark.parametrize(("name", "text"), _texts(), ids=[n for n, _ in _texts()])
def test_a_parse_through_json_is_the_parsers_own(name: str, text: str) -> None:
    for fast in (False, True):
        parsed = list(load_all(text, fast=fast))
        _same_documents(unpack(json.loads(json.dumps(pack(parsed)))), parsed)


def test_the_comparison_sees_positions_and_styles() -> None:
    """The helper above would catch a parse that lost a position or a style."""
    parsed = list(load_all(TRICKY))
    moved = list(load_all("\n" + TRICKY))
    with pytest.raises(AssertionError):
        _same_documents(moved, parsed)
    requoted = list(load_all(TRICKY.replace("'quoted'", '"quoted"')))
    with pytest.raises(AssertionError):
        _same_documents(requoted, parsed)


@pytest.mark.parametrize(
    "text", ["when: 2024-01-01", "blob: !!binary aGVsbG8=", "set: !!set {a: null}"]
)
def test_values_json_cannot_carry_are_refused(text: str) -> None:
    with pytest.raises(NotPackable):
        pack(list(load_all(text)))


@pytest.fixture
def policy_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the built-in policies that :func:`builtin.builtin_policies` reads."""
    copy = tmp_path / "policies"
    shutil.copytree(POLICIES, copy)
    monkeypatch.setattr(builtin, "builtin_policy_dir", lambda: copy)
    return copy


def _write_parse(directory: Path) -> dict[str, Any]:
    parsed: dict[str, Any] = _hatch_build().parse_policies(directory)
    (directory / builtin.PARSED_POLICIES).write_text(json.dumps(parsed))
    return parsed


def test_the_built_in_policies_are_the_same_read_either_way(policy_copy: Path) -> None:
    parsed_now = builtin.builtin_policies()
    _write_parse(policy_copy)
    from_build = builtin.builtin_policies()
    assert from_build == parsed_now
    assert [p.path for p in from_build] == [
        f"builtin:{f.name}" for f in sorted(policy_copy.glob("*.yaml"))
    ]


def test_the_parse_made_at_build_time_is_what_is_read(policy_copy: Path) -> None:
    """A parse that differs from its text (which a build never writes) shows which of
    the two a run used."""
    parsed = _write_parse(policy_copy)
    spec = parsed["max-layers.yaml"]["documents"][0][1]
    severity = next(item for item in spec[3] if item[0] == "spec")[3][3]
    next(item for item in severity if item[0] == "severity")[3] = "info"
    (policy_copy / builtin.PARSED_POLICIES).write_text(json.dumps(parsed))
    by_name = {p.name: p for p in builtin.builtin_policies()}
    assert by_name["max-layers"].severity is Severity.INFO


def test_a_file_changed_after_the_build_is_parsed_again(policy_copy: Path) -> None:
    _write_parse(policy_copy)
    file = policy_copy / "max-layers.yaml"
    file.write_text(file.read_text().replace("severity: error", "severity: warning"))
    by_name = {p.name: p for p in builtin.builtin_policies()}
    assert by_name["max-layers"].severity is Severity.WARNING


@pytest.mark.parametrize("content", ["not json", "[1, 2]", '{"max-layers.yaml": 3}'])
def test_an_unreadable_parse_is_ignored(policy_copy: Path, content: str) -> None:
    expected = builtin.builtin_policies()
    (policy_copy / builtin.PARSED_POLICIES).write_text(content)
    assert builtin.builtin_policies() == expected


_RUN_FROM_WHEEL = """
import contextlib, io, json, sys
from manifest_lint.plugin import builtin
from manifest_lint.results import Severity
from manifest_lint.cli.main import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    code = main(["scan", "--offline", "--no-cache", sys.argv[1]])
print(json.dumps({
    "code": code,
    "builtin": builtin.__file__,
    "parsed": (builtin.builtin_policy_dir() / builtin.PARSED_POLICIES).is_file(),
    "yaml": sorted(m for m in sys.modules if m == "yaml" or m.startswith("yaml.")),
    "output": out.getvalue(),
}))
"""


def test_the_wheel_ships_the_parse_and_a_run_from_it_needs_no_yaml(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "--disable-pip-version-check", "-w", str(tmp_path / "dist"), str(ROOT)],
        check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = (tmp_path / "dist").glob("manifest_lint-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        shipped = json.loads(archive.read("manifest_lint/policies/parsed.json"))
        archive.extractall(tmp_path / "site")
    assert sorted(shipped) == sorted(f.name for f in POLICIES.glob("*.yaml"))
    for name, entry in shipped.items():
        assert entry["text"] == (POLICIES / name).read_text()

    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM docker.io/library/python:3.12\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MANIFEST_LINT_")}
    env["PYTHONPATH"] = str(tmp_path / "site")
    env["MANIFEST_LINT_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # installed plugins may use YAML
    done = subprocess.run(
        [sys.executable, "-c", _RUN_FROM_WHEEL, str(dockerfile)],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    result = json.loads(done.stdout)
    assert Path(result["builtin"]).is_relative_to(tmp_path / "site")
    assert result["parsed"] is True
    assert result["yaml"] == []
    assert result["code"] == 0
    assert "pinned-digest: not pinned to a digest" in result["output"]
