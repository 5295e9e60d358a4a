"""The on-disk cache: verified on read, atomic, bounded; and what it saves a real run."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
from pathlib import Path
from typing import Any

import pytest

from manifest_lint.cli.main import main
from manifest_lint.sources.cache import MAGIC, Cache, decode, default_cache_dir, encode
from tests.helpers.images import (
    ANNOTATIONS,
    CREATED_ANNOTATION,
    REVISION,
    SOURCE,
    build_index,
    build_manifest,
    push,
)
from tests.helpers.registry_server import RegistryServer


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def entry_path(root: Path, digest: str) -> Path:
    return root / "images" / "sha256" / digest.split(":")[1]


def test_put_then_get_and_counts(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    data = b'{"schemaVersion": 2}'
    assert cache.get(digest_of(data)) is None
    cache.put(digest_of(data), data)
    assert Cache(tmp_path).get(digest_of(data)) == data  # from disk, not from memory
    assert cache.get(digest_of(data)) == data
    assert (cache.hits, cache.misses) == (1, 1)
    entry = entry_path(tmp_path, digest_of(data))
    assert decode(entry.read_bytes()) == {digest_of(data): data}
    assert [p.name for p in entry.parent.iterdir()] == [entry.name]  # no temporary left


def test_an_image_is_one_entry_with_its_children(tmp_path: Path) -> None:
    index, manifest, config = b'{"manifests": []}', b'{"layers": []}', b'{"os": "linux"}'
    documents = {digest_of(d): d for d in (index, manifest, config)}
    Cache(tmp_path).write(digest_of(index), documents)
    assert [p.name for p in (tmp_path / "images" / "sha256").iterdir()] == [
        digest_of(index).split(":")[1]
    ]
    cache = Cache(tmp_path)
    entry = cache.read(digest_of(index))
    assert entry is not None
    assert {d: cache.take(d, entry) for d in documents} == documents
    assert cache.take(digest_of(b"other"), entry) is None
    assert (cache.hits, cache.misses) == (3, 1)
    assert cache.read(digest_of(manifest)) is None  # children have no entry of their own


def test_a_corrupt_document_is_a_miss_and_its_entry_is_removed(tmp_path: Path) -> None:
    index, config = b'{"manifests": []}', b"config bytes"
    Cache(tmp_path).write(digest_of(index), {digest_of(index): index, digest_of(config): config})
    entry = entry_path(tmp_path, digest_of(index))
    entry.write_bytes(entry.read_bytes().replace(b"config bytes", b"config bytez"))
    cache = Cache(tmp_path)
    found = cache.read(digest_of(index))
    assert found is not None
    assert cache.take(digest_of(index), found) == index  # the intact one still verifies
    assert cache.take(digest_of(config), found) is None
    assert not entry.exists()


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not an entry",
        MAGIC + b"sha256:00 99\nshort",  # a size past the end (a torn write)
        MAGIC + b"no size here\n",
        MAGIC + b"x" * 500,  # no line end where a header should be
    ],
)
def test_what_is_not_an_entry_is_a_miss_and_is_removed(tmp_path: Path, raw: bytes) -> None:
    digest = digest_of(b"index")
    entry = entry_path(tmp_path, digest)
    entry.parent.mkdir(parents=True)
    entry.write_bytes(raw)
    cache = Cache(tmp_path)
    assert cache.get(digest) is None
    assert not entry.exists()


def test_documents_fetched_in_this_process_are_found_without_an_entry(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    data = b"a manifest"
    cache.remember(digest_of(data), data)
    assert cache.take(digest_of(data)) == data
    assert Cache(tmp_path).take(digest_of(data)) is None  # memory is per process
    assert not (tmp_path / "images").exists()


def test_invalid_digests_are_never_paths(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    for bad in ("sha256:../../etc/passwd", "../x", "md5:" + "0" * 32):
        cache.put(bad, b"x")
        assert cache.get(bad) is None
    assert not (tmp_path / "images").exists()


def test_the_size_bound_drops_the_least_recently_used(tmp_path: Path) -> None:
    cache = Cache(tmp_path, max_bytes=10_000)
    blobs = [os.urandom(1_000) for _ in range(15)]
    for age, data in enumerate(blobs):
        cache.put(digest_of(data), data)
        entry = entry_path(tmp_path, digest_of(data))
        os.utime(entry, (1_000_000 + age, 1_000_000 + age))  # older first
    cache.prune()
    kept = [data for data in blobs if Cache(tmp_path).get(digest_of(data)) is not None]
    total = sum(len(encode({digest_of(d): d})) for d in kept)
    assert 0 < total <= 10_000  # within the bound (pruning goes down to 80 % of it)
    assert len(kept) < len(blobs)
    assert kept == blobs[-len(kept) :]  # the newest survive


def test_pruning_removes_entries_of_the_old_format(tmp_path: Path) -> None:
    old = tmp_path / "blobs" / "sha256" / ("0" * 64)
    old.parent.mkdir(parents=True)
    old.write_bytes(b"a document of cache format 1")
    Cache(tmp_path).prune()
    assert not old.exists()


def test_repositories_are_known_from_the_next_process_on(tmp_path: Path) -> None:
    """What a run stored marks its repository for later runs; within one process the
    answer first given holds (a repository first met in a run is cold all run long)."""
    cache = Cache(tmp_path)
    assert not cache.knows("r.example/app")
    cache.add_repository("r.example/app")
    assert not cache.knows("r.example/app")
    later = Cache(tmp_path)
    assert later.knows("r.example/app")
    assert not later.knows("r.example/other")
    assert not later.knows("other.example/app")


def test_pruning_drops_markers_older_than_every_entry_kept(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    for name in ("old", "new"):
        cache.add_repository(f"r.example/{name}")
    markers = {p.name: p for p in (tmp_path / "repositories").iterdir()}
    assert len(markers) == 2
    blobs = [os.urandom(1_000) for _ in range(4)]
    for age, data in enumerate(blobs):
        cache.put(digest_of(data), data)
        os.utime(entry_path(tmp_path, digest_of(data)), (5_000_000 + age, 5_000_000 + age))
    old, new = markers.values()
    ages = {old: 1_000_000, new: 5_000_000}
    for marker, age in ages.items():
        os.utime(marker, (age, age))
    Cache(tmp_path, max_bytes=3_000).prune()
    assert len(list((tmp_path / "images" / "sha256").iterdir())) == 2
    assert not old.exists()
    assert new.exists()


def _writer(root: str, data: bytes, rounds: int) -> None:
    cache = Cache(Path(root))
    digest = digest_of(data)
    for _ in range(rounds):
        cache.put(digest, data)
        entry_path(Path(root), digest).unlink(missing_ok=True)


def test_concurrent_processes_never_expose_half_an_entry(tmp_path: Path) -> None:
    """Writers in other processes put and remove the same entry over and over; a reader
    sees either nothing or the whole, verified entry."""
    data = os.urandom(256 * 1024)
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_writer, args=(str(tmp_path), data, 200)) for _ in range(2)]
    for writer in writers:
        writer.start()
    seen = 0
    while any(w.is_alive() for w in writers):
        cache = Cache(tmp_path)  # a new one each time: nothing from memory
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
        # One reference at a time: the digest reference then finds what the tag's read.
        argv = ["--cache-dir", str(cache), "--concurrency", "1", "--json", str(report), *refs]
        code = main(argv)
        assert code == 0, capsys.readouterr().out
        summary: dict[str, object] = json.loads(report.read_text())["summary"]
        return summary

    cold = run()["registries"][registry.host]  # type: ignore[index]
    # Cold, nothing cached for the repository: the tag's index by one GET (a HEAD first
    # would only cost a round trip), then 2 manifests and 2 configs by digest, once (the
    # digest reference finds them all in the cache).
    assert cold["requests"] == {"GET": 5}
    warm = run()
    assert warm["registries"][registry.host]["requests"] == {"HEAD": 1}  # type: ignore[index]
    assert warm["registries"][registry.host]["manifestGets"] == 0  # type: ignore[index]
    assert warm["cache"] == {"hits": 10, "misses": 0}


class RecordingExecutor:
    """An executor that runs in the calling thread and counts what it was given."""

    def __init__(self) -> None:
        self.mapped = 0

    def map(self, fn: Any, items: Any) -> Any:
        self.mapped += 1
        return list(map(fn, items))


@pytest.mark.registry
def test_an_image_read_from_the_cache_is_read_in_the_calling_thread(
    registry: RegistryServer, tmp_path: Path
) -> None:
    """Fetching from a registry uses the executor for the platforms; an image whose
    entry is in the cache is read in the calling thread (threads would only pass the
    GIL around)."""
    from manifest_lint.image.reference import parse_reference
    from manifest_lint.sources.load import load_image
    from manifest_lint.sources.registry.options import RegistryOptions
    from manifest_lint.sources.registry.registries import Registries
    from manifest_lint.sources.registry.source import RegistrySource

    children = [build_manifest(p, layers=1, seed="local") for p in ("linux/amd64", "linux/arm64")]
    built = build_index(children)
    pushed = push(registry.url, "cache/local", built, "v1")
    reference = parse_reference(pushed.reference)
    cache = Cache(tmp_path / "cache")

    def load() -> tuple[int, int]:
        executor = RecordingExecutor()
        with Registries(RegistryOptions(), cache) as registries:
            source = RegistrySource(registries.client(reference.registry), reference, cache)
            try:
                image = load_image(reference, source, executor=executor)  # type: ignore[arg-type]
            finally:
                source.close()
        return executor.mapped, len(image.platforms)

    assert load() == (1, 2)  # cold: the platforms through the executor
    assert load() == (0, 2)  # from the cache entry: in this thread


@pytest.mark.registry
def test_an_entry_lacking_configs_is_completed_by_the_workers(
    registry: RegistryServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A run whose policies read no config writes entries without configs. A later run
    that needs them finds the entry, starts reading it where no request may be sent (the
    reporting thread), and reads the image again with requests: the configs are fetched
    by the worker pools, and the findings are those of a run without a cache."""
    import threading

    from manifest_lint.sources.registry.client import RegistryClient
    from manifest_lint.sources.registry.source import RegistrySource

    refs = []
    for i in range(3):
        children = [
            build_manifest(p, layers=2, seed=f"partial{i}") for p in ("linux/amd64", "linux/arm64")
        ]
        built = build_index(children, annotations=ANNOTATIONS)
        refs.append(push(registry.url, f"cache/partial{i}", built, "v1").reference)
    cache = tmp_path / "cache"

    def run(*args: str) -> dict[str, Any]:
        report = tmp_path / "report.json"
        main([*args, "--json", str(report), *refs])
        capsys.readouterr()
        result: dict[str, Any] = json.loads(report.read_text())
        return result

    first = run("--cache-dir", str(cache), "--select", "pinned-digest")
    # Three repositories the cache knows nothing of: each tag's index by GET, no HEAD.
    assert first["summary"]["registries"][registry.host]["requests"] == {"GET": 9}

    threads: list[str] = []
    real = RegistryClient.get_blob

    def recording(self: RegistryClient, *args: Any, **kwargs: Any) -> Any:
        threads.append(threading.current_thread().name)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(RegistryClient, "get_blob", recording)
    resumed: list[float] = []
    real_resume = RegistrySource.resume

    def resume(self: RegistrySource) -> None:
        before = self.deadline
        real_resume(self)
        resumed.append(self.deadline - before)

    monkeypatch.setattr(RegistrySource, "resume", resume)
    second = run("--cache-dir", str(cache))
    # Each reference's deadline restarted when it was read again with requests.
    assert len(resumed) == 3
    assert all(moved >= 0 for moved in resumed)
    # The two configs of each image, and nothing else.
    assert second["summary"]["registries"][registry.host]["requests"] == {"GET": 6, "HEAD": 3}
    assert len(threads) == 6
    assert threading.main_thread().name not in threads
    fresh = run("--no-cache")
    assert [r["findings"] for r in second["results"]] == [r["findings"] for r in fresh["results"]]
    third = run("--cache-dir", str(cache))  # the entries were completed
    assert third["summary"]["registries"][registry.host]["requests"] == {"HEAD": 3}


@pytest.mark.registry
def test_head_first_only_for_repositories_the_cache_knows(
    registry: RegistryServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A new tag of a repository the cache holds images of is resolved with HEAD (it
    may name a cached image); a tag of another repository is fetched with GET."""

    def push_one(repository: str, tag: str) -> str:
        built = build_index([build_manifest("linux/amd64", layers=1, seed=f"{repository}{tag}")])
        return push(registry.url, repository, built, tag).reference

    def requests(reference: str) -> dict[str, int]:
        report = tmp_path / "report.json"
        main(["--cache-dir", str(tmp_path / "cache"), "--json", str(report), reference])
        capsys.readouterr()
        summary = json.loads(report.read_text())["summary"]
        result: dict[str, int] = summary["registries"][registry.host]["requests"]
        return result

    assert requests(push_one("known/app", "v1")) == {"GET": 3}
    # Another tag, another image, of the known repository: HEAD, then GETs by digest.
    assert requests(push_one("known/app", "v2")) == {"GET": 3, "HEAD": 1}
    assert requests(push_one("unknown/app", "v1")) == {"GET": 3}
