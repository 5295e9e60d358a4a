"""Measure before you choose: HTTP clients fetching what manifest-lint fetches.

Not a test. Run (needs Debian's docker-registry and ``pip install '.[bench]'``)::

    .venv/bin/python -m bench.http_clients [--tags 200] [--repeat 3] [--json-out FILE]

Starts the real CNCF registry on 127.0.0.1, pushes ``--tags`` multi-arch tags
(``bench/workload.py``), then has each client fetch, for every tag, the 9 documents
manifest-lint reads: the index by tag, and per platform its manifest and its config
by digest (``--tags 200``: 1,800 GETs). Every client does the same work in the same
shape: C workers (threads or coroutines) take tags one at a time and fetch a tag's
documents one after another, parsing the index and each manifest to find the next
digests; C is also the connection pool's size. Client creation and closing are
inside the timing, as in a real run.

Reported per client: wall seconds, and this process's CPU seconds (user + system,
``resource.getrusage(RUSAGE_SELF)``, all threads; the registry is another process)
per request. The rounds are interleaved and each figure is the best of ``--repeat``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import time
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
from tests.helpers.registry_server import RegistryServer

from bench import workload

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent

ACCEPT = {"Accept": workload.MANIFEST_ACCEPT}


@dataclass
class Tally:
    gets: int = 0
    bytes: int = 0

    def add(self, other: Tally) -> None:
        self.gets += other.gets
        self.bytes += other.bytes


@dataclass
class Result:
    client: str
    concurrency: int
    wall: float
    cpu: float
    gets: int
    bytes: int

    @property
    def wall_ms_per_request(self) -> float:
        return self.wall / self.gets * 1000

    @property
    def cpu_ms_per_request(self) -> float:
        return self.cpu / self.gets * 1000


# --------------------------------------------------------------------------- the work, per tag


def _platform_digests(index: bytes) -> list[str]:
    return [e["digest"] for e in json.loads(index)["manifests"] if workload.is_platform_entry(e)]


def _config_digest(manifest: bytes) -> str:
    return str(json.loads(manifest)["config"]["digest"])


def sync_tag(get: Callable[[str, dict[str, str] | None], bytes], repo: str, tag: str) -> Tally:
    """The 9 GETs of one tag, one after another, with a blocking ``get(path, headers)``."""
    tally = Tally()

    def fetch(path: str, headers: dict[str, str] | None = None) -> bytes:
        body = get(path, headers)
        tally.gets += 1
        tally.bytes += len(body)
        return body

    for digest in _platform_digests(fetch(f"/v2/{repo}/manifests/{tag}", ACCEPT)):
        manifest = fetch(f"/v2/{repo}/manifests/{digest}", ACCEPT)
        fetch(f"/v2/{repo}/blobs/{_config_digest(manifest)}")
    return tally


async def async_tag(
    get: Callable[[str, dict[str, str] | None], Awaitable[bytes]], repo: str, tag: str
) -> Tally:
    """The same with an awaitable ``get``."""
    tally = Tally()

    async def fetch(path: str, headers: dict[str, str] | None = None) -> bytes:
        body = await get(path, headers)
        tally.gets += 1
        tally.bytes += len(body)
        return body

    for digest in _platform_digests(await fetch(f"/v2/{repo}/manifests/{tag}", ACCEPT)):
        manifest = await fetch(f"/v2/{repo}/manifests/{digest}", ACCEPT)
        await fetch(f"/v2/{repo}/blobs/{_config_digest(manifest)}")
    return tally


def run_threads(
    get: Callable[[str, dict[str, str] | None], bytes], repo: str, tags: list[str], workers: int
) -> Tally:
    total = Tally()
    if workers == 1:
        for tag in tags:
            total.add(sync_tag(get, repo, tag))
        return total
    with ThreadPoolExecutor(workers) as pool:
        for tally in pool.map(lambda t: sync_tag(get, repo, t), tags):
            total.add(tally)
    return total


async def run_tasks(
    get: Callable[[str, dict[str, str] | None], Awaitable[bytes]],
    repo: str,
    tags: list[str],
    workers: int,
) -> Tally:
    total = Tally()
    queue = iter(tags)

    async def worker() -> None:
        for tag in queue:  # shared: each tag is taken by one worker
            total.add(await async_tag(get, repo, tag))

    await asyncio.gather(*(worker() for _ in range(workers)))
    return total


# --------------------------------------------------------------------------- the clients


def _check(status: int, path: str) -> None:
    if status != 200:
        raise RuntimeError(f"GET {path}: HTTP {status}")


def _client_threads(client: Any, repo: str, tags: list[str], c: int) -> Tally:
    """C threads sharing one synchronous httpx-style client."""

    def get(path: str, headers: dict[str, str] | None) -> bytes:
        response = client.get(path, headers=headers)
        _check(response.status_code, path)
        return bytes(response.content)

    return run_threads(get, repo, tags, c)


def httpx_threads(base: str, repo: str, tags: list[str], c: int) -> Tally:
    limits = httpx.Limits(max_connections=c, max_keepalive_connections=c)
    with httpx.Client(base_url=base, limits=limits, timeout=60.0) as client:
        return _client_threads(client, repo, tags, c)


def httpx_stdlib_threads(base: str, repo: str, tags: list[str], c: int) -> Tally:
    """httpx's API on manifest-lint's http.client transport (what manifest-lint runs)."""
    from manifest_lint.sources.registry.transport import StdlibTransport

    with httpx.Client(base_url=base, transport=StdlibTransport(), timeout=60.0) as client:
        return _client_threads(client, repo, tags, c)


def http_client_threads(base: str, repo: str, tags: list[str], c: int) -> Tally:
    """The standard library's http.client alone, one connection per thread: what the
    transport above costs without httpx on top."""
    import http.client
    import threading

    url = httpx.URL(base)
    local = threading.local()

    def get(path: str, headers: dict[str, str] | None) -> bytes:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = http.client.HTTPConnection(url.host, url.port, timeout=60.0)
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        body = response.read()
        _check(response.status, path)
        return body

    return run_threads(get, repo, tags, c)


def httpx2_threads(base: str, repo: str, tags: list[str], c: int) -> Tally:
    import httpx2

    limits = httpx2.Limits(max_connections=c, max_keepalive_connections=c)
    with httpx2.Client(base_url=base, limits=limits, timeout=60.0) as client:
        return _client_threads(client, repo, tags, c)


def manifest_lint_threads(base: str, repo: str, tags: list[str], c: int) -> Tally:
    """manifest-lint's own RegistryClient (streamed, size-capped, digest-verified reads,
    per-response accounting) on its httpx.Client, shared by C threads."""
    from manifest_lint.image.model import Descriptor
    from manifest_lint.sources.registry.options import RegistryOptions
    from manifest_lint.sources.registry.registries import Registries

    host = httpx.URL(base).netloc.decode()
    with Registries(RegistryOptions(timeout=60.0)) as registries:
        client = registries.client(host)

        def get(path: str, headers: dict[str, str] | None) -> bytes:
            kind, _, ref = path.rpartition("/")
            if kind.endswith("/manifests"):
                return client.get_manifest(repo, ref, what=path).data
            descriptor = Descriptor("application/vnd.oci.image.config.v1+json", ref, 0)
            return client.get_blob(repo, descriptor, what=path)

        return run_threads(get, repo, tags, c)


async def _httpx_async(client: httpx.AsyncClient, repo: str, tags: list[str], c: int) -> Tally:
    async with client:

        async def get(path: str, headers: dict[str, str] | None) -> bytes:
            response = await client.get(path, headers=headers)
            _check(response.status_code, path)
            return response.content

        return await run_tasks(get, repo, tags, c)


def httpx_async(base: str, repo: str, tags: list[str], c: int) -> Tally:
    limits = httpx.Limits(max_connections=c, max_keepalive_connections=c)
    client = httpx.AsyncClient(base_url=base, limits=limits, timeout=60.0)
    return asyncio.run(_httpx_async(client, repo, tags, c))


def httpx_aiohttp_async(base: str, repo: str, tags: list[str], c: int) -> Tally:
    from httpx_aiohttp import HttpxAiohttpClient

    limits = httpx.Limits(max_connections=c, max_keepalive_connections=c)

    async def go() -> Tally:
        # Made inside the loop: the aiohttp session binds to the running loop.
        client = HttpxAiohttpClient(base_url=base, limits=limits, timeout=60.0)
        return await _httpx_async(client, repo, tags, c)

    return asyncio.run(go())


def httpx2_async(base: str, repo: str, tags: list[str], c: int) -> Tally:
    import httpx2

    async def go() -> Tally:
        limits = httpx2.Limits(max_connections=c, max_keepalive_connections=c)
        async with httpx2.AsyncClient(base_url=base, limits=limits, timeout=60.0) as client:

            async def get(path: str, headers: dict[str, str] | None) -> bytes:
                response = await client.get(path, headers=headers)
                _check(response.status_code, path)
                return response.content

            return await run_tasks(get, repo, tags, c)

    return asyncio.run(go())


def aiohttp_async(base: str, repo: str, tags: list[str], c: int) -> Tally:
    import aiohttp

    async def go() -> Tally:
        connector = aiohttp.TCPConnector(limit=c)
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=60)
        async with aiohttp.ClientSession(base, connector=connector, timeout=timeout) as session:

            async def get(path: str, headers: dict[str, str] | None) -> bytes:
                async with session.get(path, headers=headers) as response:
                    body = await response.read()
                    _check(response.status, path)
                    return body

            return await run_tasks(get, repo, tags, c)

    return asyncio.run(go())


Runner = Callable[[str, str, list[str], int], Tally]


def variants(skip_httpx2: bool) -> list[tuple[str, int, Runner]]:
    out: list[tuple[str, int, Runner]] = [
        ("httpx.Client, sequential", 1, httpx_threads),
        ("httpx.Client + threads", 8, httpx_threads),
        ("httpx.Client + threads", 16, httpx_threads),
        ("httpx.Client + threads", 32, httpx_threads),
        ("httpx.Client on StdlibTransport + threads", 8, httpx_stdlib_threads),
        ("httpx.Client on StdlibTransport + threads", 16, httpx_stdlib_threads),
        ("http.client + threads", 8, http_client_threads),
        ("manifest-lint RegistryClient + threads", 8, manifest_lint_threads),
        ("httpx.AsyncClient", 4, httpx_async),
        ("httpx.AsyncClient", 32, httpx_async),
        ("httpx.AsyncClient + httpx-aiohttp", 32, httpx_aiohttp_async),
        ("aiohttp (the floor)", 32, aiohttp_async),
    ]
    if not skip_httpx2:
        out += [
            ("httpx2.Client + threads", 16, httpx2_threads),
            ("httpx2.AsyncClient", 32, httpx2_async),
        ]
    return out


def httpx2_status() -> str | None:
    """None when httpx2 can be used, else why not."""
    try:
        import httpx2
    except ImportError as exc:
        return f"httpx2 is not installed ({exc}); pip install httpx2 to include it"
    return None if hasattr(httpx2, "AsyncClient") else "httpx2 has no AsyncClient"


def measure(name: str, c: int, runner: Runner, base: str, tags: list[str]) -> Result:
    gc.collect()
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    tally = runner(base, workload.REPO, tags, c)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Result(name, c, wall, cpu, tally.gets, tally.bytes)


def best(results: Iterable[Result]) -> Result:
    runs = list(results)
    top = min(runs, key=lambda r: r.wall)
    return Result(
        top.client, top.concurrency, top.wall, min(r.cpu for r in runs), top.gets, top.bytes
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="HTTP clients fetching what manifest-lint does.")
    parser.add_argument("--tags", type=int, default=200, help="tags pushed and read (200)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; best of them (3)")
    parser.add_argument("--push-concurrency", type=int, default=8, help="pusher threads (8)")
    parser.add_argument("--json-out", metavar="FILE", help="write the numbers as JSON")
    args = parser.parse_args(argv)
    if args.tags < 1 or args.repeat < 1:
        parser.error("--tags and --repeat must be positive")
    httpx2_missing = httpx2_status()
    # warn: no "response completed" line per request (less work for the registry).
    with RegistryServer(mode="open", env={"REGISTRY_LOG_LEVEL": "warn"}) as registry:
        print(f"registry {registry.url}; cpus {os.cpu_count()}; load {os.getloadavg()}")
        docs, pushed = workload.push_tags(
            registry.url, args.tags, concurrency=args.push_concurrency
        )
        print(f"pushed {pushed.tags} tags in {pushed.seconds:.1f} s", flush=True)
        tags = [d.tag for d in docs]
        expected = sum(d.count for d in docs)
        chosen = variants(httpx2_missing is not None)
        measure("warm-up", 32, aiohttp_async, registry.url, tags)  # the registry's caches
        runs: dict[tuple[str, int], list[Result]] = {(n, c): [] for n, c, _ in chosen}
        for round_ in range(args.repeat):
            for name, c, runner in chosen:
                result = measure(name, c, runner, registry.url, tags)
                if result.gets != expected:
                    raise SystemExit(f"{name} c={c} made {result.gets} GETs, not {expected}")
                runs[(name, c)].append(result)
                print(
                    f"  round {round_ + 1}: {name:<40} c={c:<3} {result.wall:7.3f} s  "
                    f"cpu {result.cpu:6.3f} s",
                    flush=True,
                )
    results = [best(r) for r in runs.values()]
    sizes = {r.bytes for r in results}
    print(
        f"\n=== {args.tags} tags, {expected} GETs per client ({expected // args.tags} per tag), "
        f"{sizes.pop() if len(sizes) == 1 else sizes} bytes; best of {args.repeat}; "
        f"{os.cpu_count()} cpus ==="
    )
    floor = next(r for r in results if r.client.startswith("aiohttp"))
    print(
        f"{'client':<40} {'C':>3} {'wall s':>8} {'req/s':>7} {'wall ms/req':>12} "
        f"{'CPU ms/req':>11} {'wall/floor':>10}"
    )
    for r in results:
        print(
            f"{r.client:<40} {r.concurrency:>3} {r.wall:8.3f} {r.gets / r.wall:7.0f} "
            f"{r.wall_ms_per_request:12.3f} {r.cpu_ms_per_request:11.3f} "
            f"{r.wall / floor.wall:10.2f}"
        )
    if httpx2_missing:
        print(f"\nhttpx2: not measured: {httpx2_missing}")
    if args.json_out:
        Path(args.json_out).write_text(
            json.dumps(
                {
                    "tags": args.tags,
                    "requests": expected,
                    "cpus": os.cpu_count(),
                    "httpx2": httpx2_missing or "measured",
                    "results": [
                        {
                            **asdict(r),
                            "wallMsPerRequest": r.wall_ms_per_request,
                            "cpuMsPerRequest": r.cpu_ms_per_request,
                        }
                        for r in results
                    ],
                },
                indent=2,
            )
            + "\n"
        )
        print(f"raw numbers: {args.json_out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
