"""Registry-wide audits, first part: ``--shard K/N`` (stable, complete, disjoint),
``--jsonl`` (a line per reference as it completes) and ``--resume`` (each reference
checked once in total across a killed run and its resumption)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from manifest_lint.cli.shards import Shard, find_shard, parse_shard, shard_key, shard_of
from manifest_lint.errors import UsageError
from tests.helpers.cli import run, run_with_report
from tests.helpers.fault_proxy import Fault, FaultProxy, Rule
from tests.helpers.images import build_manifest, push
from tests.helpers.registry_server import RegistryServer

SOURCES: dict = {"docker": None, "oci": None, "oci-archive": None}
#: The fleet's images pass this one (they are single-platform: required-platforms fails).
ONE = ("--select", "max-layers")


@pytest.mark.parametrize(
    ("text", "message"),
    [("0/3", "does not exist"), ("4/3", "does not exist"), ("1", "is not K/N"), ("a/b", "K/N")],
)
def test_bad_shards_are_usage_errors(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_shard(text)


def test_the_shard_comes_from_the_flag_or_the_ci() -> None:
    gitlab = {"CI_NODE_INDEX": "2", "CI_NODE_TOTAL": "5"}
    kubernetes = {"JOB_COMPLETION_INDEX": "0", "MANIFEST_LINT_SHARDS": "4"}
    assert find_shard("3/7", "reference", gitlab) == Shard(3, 7, "reference", "--shard")
    assert find_shard(None, "repository", gitlab) == Shard(
        2, 5, "repository", "CI_NODE_INDEX/CI_NODE_TOTAL"
    )
    assert find_shard(None, "repository", kubernetes)[:2] == (1, 4)  # 0-based completions
    assert find_shard(None, "repository", {"JOB_COMPLETION_INDEX": "3"}) is None
    assert find_shard(None, "repository", {}) is None
    with pytest.raises(UsageError, match="JOB_COMPLETION_INDEX/MANIFEST_LINT_SHARDS"):
        find_shard(None, "repository", {"JOB_COMPLETION_INDEX": "4", "MANIFEST_LINT_SHARDS": "4"})


def test_a_shard_is_the_same_on_every_machine() -> None:
    # SHA-256 of the key, never Python's per-process hash(): these never change.
    assert [shard_of("docker.io/library/alpine", n) for n in (1, 3, 7)] == [
        1,
        shard_of("docker.io/library/alpine", 3),
        shard_of("docker.io/library/alpine", 7),
    ]
    script = "from manifest_lint.cli.shards import shard_of; print(shard_of('ghcr.io/o/r', 7))"
    runs = {
        subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert runs == {f"{shard_of('ghcr.io/o/r', 7)}\n"}


@pytest.mark.parametrize("total", [1, 3, 7])
def test_shards_partition_the_references(total: int) -> None:
    keys = [f"registry.example.com/team{i % 20}/app{i}" for i in range(300)]
    shards = [{k for k in keys if shard_of(k, total) == n} for n in range(1, total + 1)]
    assert set().union(*shards) == set(keys)
    assert sum(len(s) for s in shards) == len(keys)  # no overlap
    if total == 7:
        assert all(shards)  # (300 keys: every shard has some)


def test_by_repository_keeps_a_repository_together() -> None:
    keys = {shard_key(f"ghcr.io/o/app:{tag}", "repository", SOURCES) for tag in ("1", "2", "3")}
    assert keys == {"ghcr.io/o/app"}
    by_reference = {shard_key(f"ghcr.io/o/app:{t}", "reference", SOURCES) for t in ("1", "2")}
    assert by_reference == {"ghcr.io/o/app:1", "ghcr.io/o/app:2"}
    assert shard_key("Not A Reference!", "repository", SOURCES) == "Not A Reference!"


# ---------------------------------------------------------------------------- real runs


@pytest.fixture(scope="module")
def fleet(registry: RegistryServer) -> list[str]:
    """30 references over 6 repositories of the real registry."""
    references = []
    for repo in range(6):
        image = build_manifest("linux/amd64", layers=1, seed=f"fleet-{repo}")
        for tag in range(5):
            push(registry.url, f"fleet/repo{repo}", image, f"v{tag}")
            references.append(f"{registry.host}/fleet/repo{repo}:v{tag}")
    return references


def _refs_file(tmp_path: Path, references: list[str]) -> Path:
    path = tmp_path / "refs.txt"
    path.write_text("".join(f"{r}\n" for r in references))
    return path


@pytest.mark.parametrize("total", [1, 3, 7])
def test_the_shards_of_a_real_run_cover_every_reference_once(
    total: int, fleet: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    refs = _refs_file(tmp_path, fleet)
    seen: list[str] = []
    for number in range(1, total + 1):
        out = tmp_path / f"shard{number}.jsonl"
        ran = run(
            capsys,
            *ONE,
            "--refs-file",
            str(refs),
            "--shard",
            f"{number}/{total}",
            "--jsonl",
            str(out),
        )
        assert ran.code == 0, ran.out
        results = _results(out)
        seen += [r["reference"] for r in results]
        assert (
            f"shard {number}/{total} (by repository): {len(results)} of the references" in ran.out
        )
        lines = out.read_text().splitlines()
        header, summary = json.loads(lines[0]), json.loads(lines[-1])
        assert header["header"]["shard"] == {"index": number, "total": total, "by": "repository"}
        assert summary["summary"]["references"] == len(results)
        # A repository's tags are all in one shard.
        repositories = {r.rsplit(":", 1)[0] for r in seen[-len(results) :]} if results else set()
        for repository in repositories:
            assert sum(r.startswith(repository + ":") for r in seen) == 5
    assert sorted(seen) == sorted(fleet)


def test_the_shard_is_in_the_json_report(
    fleet: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ran = run_with_report(
        capsys, tmp_path, *ONE, *fleet[:5], "--shard", "2/2", "--shard-by", "reference"
    )
    assert ran.report["shard"] == {"index": 2, "total": 2, "by": "reference"}
    assert ran.report["policySet"].startswith("sha256:")
    unsharded = run_with_report(capsys, tmp_path / "all", *ONE, *fleet[:5])
    assert "shard" not in unsharded.report
    assert unsharded.report["policySet"] == ran.report["policySet"]


def test_jsonl_to_standard_output_replaces_the_text_report(
    fleet: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    ran = run(capsys, *ONE, *fleet[:3], "--jsonl", "-")
    lines = [json.loads(line) for line in ran.out.splitlines()]
    assert list(lines[0]) == ["header"]
    assert [line["reference"] for line in lines[1:-1]] == fleet[:3]
    assert lines[-1]["summary"]["references"] == 3


@pytest.fixture
def slow(registry: RegistryServer) -> Iterator[FaultProxy]:
    """Every manifest answer held back a little, so a run can be killed mid-way."""
    rule = Rule(Fault.SLOW, path_suffix="", method="GET", delay=0.15)
    with FaultProxy(registry.host, [rule]).start() as proxy:
        yield proxy


def test_resume_after_a_kill_checks_each_reference_once_in_total(
    fleet: list[str], slow: FaultProxy, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    references = [r.replace(r.split("/", 1)[0], slow.host) for r in fleet]
    refs = _refs_file(tmp_path, references)
    out = tmp_path / "audit.jsonl"
    command = [
        sys.executable,
        "-m",
        "manifest_lint",
        "--refs-file",
        str(refs),
        "--concurrency",
        "1",
        "--no-cache",
        "--jsonl",
        str(out),
        *ONE,
    ]
    env = {**os.environ, "MANIFEST_LINT_DISABLE_PLUGIN_AUTOLOAD": "1"}
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not out.exists() or len(_results(out)) < 5):
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    first = [r["reference"] for r in _results(out)]
    assert 5 <= len(first) < len(references)  # killed mid-way
    ran = run(capsys, *ONE, "--refs-file", str(refs), "--resume", str(out), "--no-cache")
    assert ran.code == 0, ran.err
    done = [r["reference"] for r in _results(out)]
    assert sorted(done) == sorted(references)  # each exactly once
    assert done[: len(first)] == first
    # Two headers (one per run), one summary: the resumed run's, of what it checked.
    lines = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    assert sum("header" in line for line in lines) == 2
    [summary] = [line["summary"] for line in lines if "summary" in line]
    assert summary["references"] == len(references) - len(first)


def test_resume_refuses_another_policy_set(
    fleet: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "audit.jsonl"
    assert run(capsys, *ONE, *fleet[:2], "--jsonl", str(out)).code == 0
    ran = run(capsys, *fleet[:4], "--resume", str(out), "--select", "max-layers,no-latest")
    assert ran.code == 2
    assert "written with another policy set" in ran.err
    ran = run(capsys, *ONE, *fleet[:4], "--resume", str(out))
    assert ran.code == 0
    assert [r["reference"] for r in _results(out)] == fleet[:4]


def test_a_resumed_file_cut_mid_line_keeps_its_lines(
    fleet: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "audit.jsonl"
    assert run(capsys, *ONE, *fleet[:2], "--jsonl", str(out)).code == 0
    lines = out.read_text().splitlines()
    out.write_text("\n".join(lines[:2]) + "\n" + lines[2][:20])  # killed while writing
    assert run(capsys, *ONE, *fleet[:3], "--resume", str(out)).code == 0
    assert [r["reference"] for r in _results(out)] == fleet[:3]


def _results(path: Path) -> list[dict]:
    """The result lines of a JSONL report (a line cut short by a kill is skipped)."""
    found = []
    for line in path.read_text().splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if "reference" in value:
            found.append(value)
    return found
