"""The on-disk cache: verified on read, atomic, bounded; and what it saves a real run."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
from pathlib import Path

import pytest

from helpers.images import (
    CREATED_ANNOTATION,
    REVISION,
    SOURCE,
    build_index,
    build_manifest,
    push,
)
from helpers.registry_server import RegistryServer
from manifest_lint.cache import Cache, default_cache_dir
from manifest_lint.cli import main


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_put_then_get_and_counts(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    data = b'{"schemaVersion": 2}'
    assert cache.get(digest_of(data)) is None
    cache.put(digest_of(data), data)
    assert cache.get(digest_of(data)) == data
    assert (cache.hits, cache.misses) == (1, 1)
    entry = tmp_path / "blobs" / "sha256" / digest_of(data).split(":")[1]
    assert entry.read_bytes() == data
    assert [p.name for p in entry.parent.iterdir()] == [entry.name]  # no temporary left


def test_a_corrupt_entry_is_a_miss_and_is_removed(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    data = b"config bytes"
    cache.put(digest_of(data), data)
    entry = tmp_path / "blobs" / "sha256" / digest_of(data).split(":")[1]
    entry.write_bytes(b"config bytez")
    assert cache.get(digest_of(data)) is None
    assert not entry.exists()


def test_invalid_digests_are_never_paths(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    for bad in ("sha256:../../etc/passwd", "../x", "md5:" + "0" * 32):
        cache.put(bad, b"x")
        assert cache.get(bad) is None
    assert not (tmp_path / "blobs").exists()


def test_the_size_bound_drops_the_least_recently_used(tmp_path: Path) -> None:
    cache = Cache(tmp_path, max_bytes=10_000)
    blobs = [os.urandom(1_000) for _ in range(15)]
    for age, data in enumerate(blobs):
        cache.put(digest_of(data), data)
        entry = tmp_path / "blobs" / "sha256" / digest_of(data).split(":")[1]
        os.utime(entry, (1_000_000 + age, 1_000_000 + age))  # older first
    cache.prune()
    kept = [data for data in blobs if cache.get(digest_of(data)) is not None]
    total = sum(len(d) for d in kept)
    assert total <= 8_000  # pruned to 80 % of the bound
    assert kept == blobs[-len(kept) :]  # the newest survive


def _writer(root: str, data: bytes, rounds: int) -> None:
    cache = Cache(Path(root))
    digest = digest_of(data)
    for _ in range(rounds):
        cache.put(digest, data)
        (Path(root) / "blobs" / "sha256" / digest.split(":")[1]).unlink(missing_ok=True)


def test_concurrent_processes_never_expose_half_an_entry(tmp_path: Path) -> None:
    """Writers in other processes put and remove the same entry over and over; a reader
    sees either nothing or the whole, verified entry."""
    data = os.urandom(256 * 1024)
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_writer, args=(str(tmp_path), data, 200)) for _ in range(2)]
    for writer in writers:
        writer.start()
    cache = Cache(tmp_path)
    seen = 0
    while any(w.is_alive() for w in writers):
        got = cache.get(digest_of(data))
        if got is not None:
            assert got == data
            seen += 1
    for writer in writers:
        writer.join(timeout=60)
        assert writer.exitcode == 0
    assert cache.misses + cache.hits > 0
    assert not [p for p in tmp_path.rglob(".tmp-*")]  # temporaries are always renamed away
    del seen  # either outcome is fine; what matters is that no torn read happened


def test_default_location() -> None:
    assert default_cache_dir({"MANIFEST_LINT_CACHE_DIR": "/c"}) == Path("/c")
    assert default_cache_dir({"XDG_CACHE_HOME": "/x", "HOME": "/h"}) == Path("/x/manifest-lint")
    if os.uname().sysname != "Darwin":
        assert default_cache_dir({"HOME": "/h"}) == Path("/h/.cache/manifest-lint")


@pytest.mark.registry
def test_a_warm_run_sends_one_head_per_tag_and_nothing_for_digests(
    registry: RegistryServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    children = [build_manifest(p, layers=2, seed="cache") for p in ("linux/amd64", "linux/arm64")]
    annotations = {SOURCE: "https://example.com/app", REVISION: "abc", CREATED_ANNOTATION: "x"}
    built = build_index(children, annotations=annotations, attestations=True)
    pushed = push(registry.url, "cache/app", built, "v1")
    refs = [pushed.reference, f"{registry.host}/cache/app@{built.digest}"]
    cache = tmp_path / "cache"

    def run() -> dict[str, object]:
        report = tmp_path / "report.json"
        code = main(["--cache-dir", str(cache), "--json", str(report), *refs])
        assert code == 0, capsys.readouterr().out
        summary: dict[str, object] = json.loads(report.read_text())["summary"]
        return summary

    cold = run()["registries"][registry.host]  # type: ignore[index]
    # Cold: a HEAD for the tag, then the index, 2 manifests and 2 configs by digest once
    # (the digest reference finds them all in the cache).
    assert cold["requests"] == {"GET": 5, "HEAD": 1}
    warm = run()
    assert warm["registries"][registry.host]["requests"] == {"HEAD": 1}  # type: ignore[index]
    assert warm["registries"][registry.host]["manifestGets"] == 0  # type: ignore[index]
    assert warm["cache"] == {"hits": 10, "misses": 0}
