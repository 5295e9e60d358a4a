"""``manifest-lint merge``: the shards' JSONL reports of a real run, merged, give the
reports of the unsharded run over the same references; missing, repeated or
overlapping shards and mixed policy sets are exit 2."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.cli import run
from tests.helpers.images import build_index, build_manifest, push
from tests.helpers.registry_server import RegistryServer

pytestmark = pytest.mark.registry

POLICIES = ("--select", "max-layers,no-latest,required-platforms,pinned-digest")


@pytest.fixture(scope="module")
def references(registry: RegistryServer) -> list[str]:
    """40 tags over 8 repositories: passing, failing and warning images, and one
    reference that cannot be read (an error result)."""
    found = []
    for repo in range(8):
        single = build_manifest("linux/amd64", layers=1, seed=f"merge-{repo}")
        both = build_index(
            [
                build_manifest(p, layers=1, seed=f"merge-{repo}")
                for p in ("linux/amd64", "linux/arm64")
            ]
        )
        for tag in range(5):
            name = "latest" if tag == 4 else f"1.{tag}"
            push(registry.url, f"merge/app{repo}", both if tag % 2 else single, name)
            found.append(f"{registry.host}/merge/app{repo}:{name}")
    found.insert(7, f"{registry.host}/merge/missing:1.0")
    return found


@pytest.fixture
def exceptions(tmp_path: Path, registry: RegistryServer) -> Path:
    path = tmp_path / "exceptions.yaml"
    path.write_text(
        "exceptions:\n"
        "  - policy: required-platforms\n"
        f"    images: ['{registry.host}/merge/app3:*']\n"
        "    reason: single-platform until the arm64 runners exist\n"
        "    expires: 2027-03-01\n"
        "  - policy: max-layers\n"
        "    images: ['nothing/*']\n"
        "    reason: matches nothing\n"
        "    expires: 2027-03-01\n"
    )
    return path


def _reports(directory: Path) -> list[str]:
    return [
        "--json",
        str(directory / "r.json"),
        "--junit",
        str(directory / "r.xml"),
        "--sarif",
        str(directory / "r.sarif"),
    ]


def _stable_json(path: Path) -> dict[str, Any]:
    """The JSON report without the run statistics (requests, cache, seconds: what each
    run spent, not what it found)."""
    report: dict[str, Any] = json.loads(path.read_text())
    for key in ("registries", "cache", "evaluationSeconds"):
        report["summary"].pop(key)
    return report


def _stable_xml(path: Path) -> str:
    return re.sub(r' (time|timestamp|hostname)="[^"]*"', "", path.read_text())


@pytest.mark.parametrize("total", [3, 7])
def test_merged_shards_are_the_unsharded_run(
    total: int,
    references: list[str],
    exceptions: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    refs = tmp_path / "refs.txt"
    refs.write_text("".join(f"{r}\n" for r in references))
    common = [
        *POLICIES,
        "--refs-file",
        str(refs),
        "--exceptions",
        str(exceptions),
        "--now",
        "2026-12-01T00:00:00Z",
    ]
    whole = tmp_path / "whole"
    whole.mkdir()
    unsharded = run(capsys, *common, *_reports(whole))
    assert unsharded.code == 3  # (the missing image)
    shards = []
    for number in range(1, total + 1):
        out = tmp_path / f"shard{number}.jsonl"
        ran = run(capsys, *common, "--shard", f"{number}/{total}", "--jsonl", str(out))
        assert ran.code in (0, 1, 3)
        shards.append(str(out))
    merged = tmp_path / "merged"
    merged.mkdir()
    ran = run(capsys, "merge", *shards[::-1], *_reports(merged))  # (any order of files)
    assert ran.code == unsharded.code
    # The text report: the same lines, but for the requests line(s) at the end.
    text = [line for line in ran.out.splitlines() if "counted pulls" not in line]
    assert text == [line for line in unsharded.out.splitlines() if "counted pulls" not in line]
    assert _stable_json(merged / "r.json") == _stable_json(whole / "r.json")
    assert _stable_xml(merged / "r.xml") == _stable_xml(whole / "r.xml")
    assert (merged / "r.sarif").read_bytes() == (whole / "r.sarif").read_bytes()
    # Outcomes of every kind went through: pass, fail, error, waived; and the unused exception.
    outcomes = json.loads((merged / "r.json").read_text())["summary"]["outcomes"]
    assert all(outcomes[k] > 0 for k in ("pass", "fail", "error", "waived")), outcomes
    assert [
        u["reason"] for u in json.loads((merged / "r.json").read_text())["unusedExceptions"]
    ] == ["matches nothing"]


@pytest.fixture
def three(references: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> list[Path]:
    paths = []
    for number in (1, 2, 3):
        out = tmp_path / f"s{number}.jsonl"
        run(capsys, *POLICIES, *references[:20], "--shard", f"{number}/3", "--jsonl", str(out))
        paths.append(out)
    return paths


def test_a_missing_or_repeated_shard_is_exit_2(
    three: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    ran = run(capsys, "merge", str(three[0]), str(three[2]))
    assert (ran.code, ran.err) == (2, "manifest-lint: error: shard 2 of 3 missing\n")
    ran = run(capsys, "merge", *map(str, three), str(three[1]))
    assert (ran.code, ran.err) == (2, "manifest-lint: error: shard 2 of 3 given more than once\n")


def test_overlapping_shards_are_exit_2(
    three: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """A result of one shard copied into another. (Which shards hold results depends
    on the registry's port, part of every key: any shard with one is the source.)"""
    source = next(p for p in three if '"reference"' in p.read_text())
    stolen = next(line for line in source.read_text().splitlines() if '"reference"' in line)
    target = next(p for p in three if p != source)
    lines = target.read_text().splitlines()
    # Where its position puts it: a line out of order is another error (below).
    position = json.loads(stolen)["position"]
    at = 1 + sum(1 for line in lines[1:] if json.loads(line).get("position", 1e9) < position)
    target.write_text("\n".join([*lines[:at], stolen, *lines[at:]]) + "\n")
    ran = run(capsys, "merge", *map(str, three))
    assert ran.code == 2
    assert "the shards overlap" in ran.err


def test_a_shard_out_of_order_is_exit_2(
    three: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Results whose positions go back (a file edited, sorted or joined with
    another): merge reads each file once in its order, so it refuses them."""
    shard = max(three, key=lambda p: p.read_text().count('"reference"'))
    lines = shard.read_text().splitlines()
    results = [n for n, line in enumerate(lines) if '"reference"' in line]
    assert len(results) >= 2, "40 references in 3 shards: one holds two"
    first, second = results[:2]
    lines[first], lines[second] = lines[second], lines[first]
    shard.write_text("\n".join(lines) + "\n")
    ran = run(capsys, "merge", *map(str, three))
    assert ran.code == 2
    assert f"{shard}:{second + 1}: position" in ran.err
    assert "was the file edited or joined with another?" in ran.err


def test_reports_of_other_policy_sets_are_exit_2(
    three: list[Path], references: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.jsonl"
    run(capsys, "--select", "max-layers", *references[:20], "--shard", "2/3", "--jsonl", str(other))
    ran = run(capsys, "merge", str(three[0]), str(other), str(three[2]))
    assert ran.code == 2
    assert "the reports come from different policy sets" in ran.err


def test_merge_reads_json_reports_too(
    references: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = []
    for number in (1, 2):
        out = tmp_path / f"s{number}.json"
        run(capsys, *POLICIES, *references[:10], "--shard", f"{number}/2", "--json", str(out))
        paths.append(str(out))
    merged = tmp_path / "merged.json"
    ran = run(capsys, "merge", *paths, "--json", str(merged))
    assert ran.code in (1, 3)
    results = json.loads(merged.read_text())["results"]
    assert sorted(r["reference"] for r in results) == sorted(references[:10])
    assert "shard" not in json.loads(merged.read_text())


def test_merge_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    ran = run(capsys, "merge", str(garbage))
    assert ran.code == 2
    assert "neither a JSON nor a JSONL report" in ran.err
    assert run(capsys, "merge", str(tmp_path / "absent.jsonl")).code == 2


def test_a_shard_that_did_not_finish_is_exit_2(
    three: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """A shard killed mid-way (its file has no summary line): merging it would report
    what it did not check as nothing at all."""
    lines = three[1].read_text().splitlines()
    three[1].write_text("\n".join(lines[:-1]) + "\n")
    ran = run(capsys, "merge", *map(str, three))
    assert ran.code == 2
    assert "did not finish" in ran.err
    assert "resume it (--resume FILE)" in ran.err
