"""2,000 references in one run, as a separate process with 256 file descriptors.

A few images are pushed to the real registry under many tags (tags are cheap:
each is one manifest PUT of bytes the registry already has the children of),
then ``python -m manifest_lint --refs-file`` reads them all with
``RLIMIT_NOFILE`` at 256. Every reference must be reported, in order, none as
an error (a descriptor running out would show as one), and the process's peak
resident memory (``ru_maxrss`` from ``wait4``) must stay under a sane bound.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.helpers.images import (
    ANNOTATIONS,
    Built,
    build_index,
    build_manifest,
    push,
)
from tests.helpers.registry_server import RegistryServer

pytestmark = pytest.mark.registry

REFERENCES = 2_000
REPOSITORIES = 4
#: Peak resident memory allowed to the run (ru_maxrss is in KiB on Linux).
MAX_RSS_MIB = 400
OPEN_FILES = 256
#: The whole run, as a bound (it takes a fraction of this).
DEADLINE = 120.0


def _image(n: int) -> Built:
    children = [
        build_manifest(p, layers=1, seed=f"load-{n}") for p in ("linux/amd64", "linux/arm64")
    ]
    return build_index(children, annotations=ANNOTATIONS)


def _tag_in_storage(registry: RegistryServer, repo: str, tag: str, digest: str) -> None:
    """Tag ``digest`` as ``tag`` the way the registry's filesystem driver does: the two
    link files of distribution's storage layout. A tag through the API costs a manifest
    PUT (about 10 ms here, the children verified each time); 2,000 of them would cost
    more than the run they prepare."""
    algorithm, _, hexdigest = digest.partition(":")
    tags = registry.root / "docker/registry/v2/repositories" / repo / "_manifests/tags" / tag
    for link in (tags / "current/link", tags / "index" / algorithm / hexdigest / "link"):
        link.parent.mkdir(parents=True, exist_ok=True)
        link.write_text(digest)


@pytest.fixture(scope="module")
def references(registry: RegistryServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A refs file of 2,000 tags over four images (one per repository)."""
    images = {f"load/app{n}": _image(n) for n in range(REPOSITORIES)}
    lines = []
    for repo, built in images.items():
        push(registry.url, repo, built, "base")
    for i in range(REFERENCES):
        repo = f"load/app{i % REPOSITORIES}"
        _tag_in_storage(registry, repo, f"v{i}", images[repo].digest)
        lines.append(f"{registry.host}/{repo}:v{i}")
    # The registry sees them as tags like any other.
    for repo, built in images.items():
        listed = httpx.get(f"{registry.url}/v2/{repo}/tags/list", timeout=30).json()["tags"]
        assert len(listed) == REFERENCES // REPOSITORIES + 1
        head = httpx.head(
            f"{registry.url}/v2/{repo}/manifests/{listed[-1]}",
            headers={"Accept": built.media_type},
            timeout=30,
        )
        assert head.headers["Docker-Content-Digest"] == built.digest
    path = tmp_path_factory.mktemp("load") / "refs.txt"
    path.write_text("# 2,000 references\n" + "".join(f"{line}\n" for line in lines))
    return path


def _limit_open_files() -> None:  # runs in the child, between fork and exec
    resource.setrlimit(resource.RLIMIT_NOFILE, (OPEN_FILES, OPEN_FILES))


def test_two_thousand_references_in_bounded_memory_and_descriptors(
    references: Path, tmp_path: Path
) -> None:
    report, junit = tmp_path / "report.json", tmp_path / "report.xml"
    argv = [
        sys.executable,
        "-m",
        "manifest_lint",
        "--refs-file",
        str(references),
        "--json",
        str(report),
        "--junit",
        str(junit),
        "--concurrency",
        "32",
        "--quiet",
    ]
    env = {**os.environ, "MANIFEST_LINT_CACHE_DIR": str(tmp_path / "cache")}
    started = time.monotonic()
    with (
        open(tmp_path / "stdout", "wb") as stdout,
        open(tmp_path / "stderr", "wb") as stderr_file,
        subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr_file,
            env=env,
            preexec_fn=_limit_open_files,  # nothing but setrlimit between fork and exec
        ) as proc,
    ):
        # wait4 gives this child's own rusage; a timer kills it if it hangs.
        timer = threading.Timer(DEADLINE, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - started
    stderr = (tmp_path / "stderr").read_text(encoding="utf-8", errors="replace")
    out = (tmp_path / "stdout").read_text(encoding="utf-8", errors="replace")
    peak_mib = usage.ru_maxrss / 1024
    print(
        f"\n{REFERENCES} references: exit {proc.returncode} in {seconds:.1f} s, "
        f"peak RSS {peak_mib:.0f} MiB, RLIMIT_NOFILE {OPEN_FILES}"
    )
    assert seconds < DEADLINE, "killed after the deadline"
    assert "Traceback" not in stderr
    assert "Too many open files" not in stderr + out
    assert proc.returncode == 0, stderr

    data = json.loads(report.read_text())
    results = data["results"]
    expected = [
        line for line in references.read_text().splitlines() if line and not line.startswith("#")
    ]
    assert [r["reference"] for r in results] == expected
    # Read and judged, every one: passes, and warnings below --fail-on (pinned-digest).
    assert {r["outcome"] for r in results} <= {"pass", "fail"}
    assert not [f for r in results for f in r["findings"] if f["outcome"] == "error"]
    assert all(r["platforms"] == ["linux/amd64", "linux/arm64"] for r in results)
    assert data["summary"]["blockingFailures"] == 0
    assert data["summary"]["references"] == REFERENCES
    assert data["summary"]["error"] == 0
    # One digest per repository: the tags really do share their manifests.
    assert len({r["digest"] for r in results}) == REPOSITORIES
    assert junit.read_text().count("<testsuite ") == REFERENCES
    assert peak_mib < MAX_RSS_MIB
