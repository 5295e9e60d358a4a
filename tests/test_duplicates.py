"""A reference given many times is resolved and evaluated once, against a real registry.

What is reported (docs/configuration.md, "References given more than once"): one
result per distinct reference from arguments and ``--refs-file``, at its first
occurrence; one result per occurrence from ``scan``, each at its own ``file:line``.
The request counts of the run's summary show the work done.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from manifest_lint.cli.main import main
from tests.helpers.images import ANNOTATIONS, build_index, build_manifest, push
from tests.helpers.registry_server import RegistryServer

pytestmark = pytest.mark.registry


@pytest.fixture(scope="module")
def refs(registry: RegistryServer) -> list[str]:
    """Ten distinct pushed references (multi-platform indexes)."""
    out = []
    for i in range(10):
        children = [
            build_manifest(p, layers=1, seed=f"dup{i}") for p in ("linux/amd64", "linux/arm64")
        ]
        built = build_index(children, annotations=ANNOTATIONS)
        out.append(push(registry.url, f"dup/image{i}", built, "v1").reference)
    return out


def lint(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str, *argv: str
) -> dict[str, Any]:
    report = tmp_path / f"{name}.json"
    cache = tmp_path / f"{name}-cache"  # each run starts cold
    command = [argv[0]] if argv[0] == "scan" else []
    rest = argv[len(command) :]
    main([*command, "--cache-dir", str(cache), "--json", str(report), *rest])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    result: dict[str, Any] = json.loads(report.read_text())
    return result


def requests(report: dict[str, Any], registry: RegistryServer) -> dict[str, int]:
    counted: dict[str, int] = report["summary"]["registries"][registry.host]["requests"]
    return counted


def test_a_refs_file_of_1000_lines_with_10_references(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, registry: RegistryServer, refs: list[str]
) -> None:
    distinct = tmp_path / "distinct.txt"
    distinct.write_text("".join(f"{r}\n" for r in refs))
    many = tmp_path / "many.txt"
    many.write_text("".join(f"{refs[i % 10]}\n" for i in range(1000)))

    once = lint(capsys, tmp_path, "once", "--refs-file", str(distinct))
    thousand = lint(capsys, tmp_path, "thousand", "--refs-file", str(many))

    assert requests(thousand, registry) == requests(once, registry)
    assert sum(requests(once, registry).values()) <= 10 * 6  # HEAD/GET, 2 manifests, 2 configs
    results = thousand["results"]
    assert [r["reference"] for r in results] == refs
    # Each at its first occurrence.
    assert [r["location"]["line"] for r in results] == list(range(1, 11))
    assert thousand["summary"]["references"] == 10
    assert [r["findings"] for r in results] == [r["findings"] for r in once["results"]]


def test_arguments_given_twice(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, registry: RegistryServer, refs: list[str]
) -> None:
    once = lint(capsys, tmp_path, "once", refs[0], refs[1])
    twice = lint(capsys, tmp_path, "twice", refs[0], refs[1], refs[0], refs[1], refs[0])
    assert [r["reference"] for r in twice["results"]] == [refs[0], refs[1]]
    assert requests(twice, registry) == requests(once, registry)


def test_scan_reports_every_place_and_fetches_once(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, registry: RegistryServer, refs: list[str]
) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(
        f"FROM {refs[0]} AS build\nRUN true\nFROM {refs[0]}\nFROM {refs[1]}\nFROM {refs[0]}\n"
    )
    compose = tmp_path / "compose.yaml"
    compose.write_text(f"services:\n  app:\n    image: {refs[0]}\n")
    one = lint(capsys, tmp_path, "one", refs[0], refs[1])
    scanned = lint(capsys, tmp_path, "scan", "scan", str(dockerfile), str(compose))

    places = [
        (r["reference"], Path(r["location"]["path"]).name, r["location"]["line"])
        for r in scanned["results"]
    ]
    assert places == [
        (refs[0], "Dockerfile", 1),
        (refs[0], "Dockerfile", 3),
        (refs[1], "Dockerfile", 4),
        (refs[0], "Dockerfile", 5),
        (refs[0], "compose.yaml", 3),
    ]
    assert requests(scanned, registry) == requests(one, registry)
    first = scanned["results"][0]
    same = [r for i, r in enumerate(scanned["results"]) if i != 2]
    assert all(r["findings"] == first["findings"] for r in same)
