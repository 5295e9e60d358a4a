"""The benchmark of issue #12: a registry tens of milliseconds away, an empty cache.

Not a test. Run (needs Debian's docker-registry, the docker CLI for part (c), and
``pip install '.[bench]'``)::

    .venv/bin/python -m bench.round_trips [--delay-ms 50] [--rounds 15] [--tags 100]
                                          [--concurrency 16] [--repeat 3] [--json-out FILE]

It starts the real CNCF registry on 127.0.0.1 (``tests/helpers``), pushes one
8-platform reference (an OCI index with BuildKit attestation manifests) and ``--tags``
4-platform tags (``bench/workload.py``), puts :class:`~bench.latency_proxy.LatencyProxy`
in front of it, and measures in the same run, every client as its own process with an
empty cache:

(a) ROUND TRIPS of one cold reference: manifest-lint on the 8-platform reference
    through the proxy with no delay and with ``--delay-ms``, interleaved for
    ``--rounds`` rounds; the median over the rounds of ``(delayed - direct) / delay``
    is the number of requests it waited for one after another. The least possible is 3: the index,
    then every platform manifest at once, then every config at once.
(b) THROUGHPUT: ``--tags`` cold tags through the delayed proxy, manifest-lint at
    ``--concurrency`` against the aiohttp floor of ``bench/lint.py`` (GET index by tag,
    each platform manifest and config by digest, no checks) with the same connection
    limit; best of ``--repeat``.
(c) END TO END against ``docker manifest inspect --verbose --insecure`` on the
    8-platform reference through the delayed proxy (docker 28 reads the index, every
    manifest and its config, attestations included, one request at a time;
    manifest-lint also evaluates the built-in policies): medians of ``--rounds``.

and prints each figure next to the issue's target, PASS or MISS.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.helpers.images import build_index, build_manifest, push
from tests.helpers.registry_server import RegistryServer

from bench import workload
from bench.latency_proxy import LatencyProxy

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent

#: The issue's targets.
TARGETS = {"round_trips": 3.3, "cold_over_floor": 1.2, "over_docker": 1.5}
PLATFORMS = (
    "linux/amd64",
    "linux/arm64",
    "linux/arm/v7",
    "linux/arm/v6",
    "linux/386",
    "linux/ppc64le",
    "linux/s390x",
    "linux/riscv64",
)
ONE_REPO = "bench/eight"
RUN_TIMEOUT = 600.0


class Runner:
    """Runs and times processes with a clean environment and an empty cache each."""

    def __init__(self, work: Path, proxy: LatencyProxy) -> None:
        self.work = work
        self.proxy = proxy
        self.env = workload.clean_env(work)
        self._serial = 0

    def timed(
        self, command: list[str], *, ok: tuple[int, ...] = (0,), cwd: Path | None = None
    ) -> tuple[float, str]:
        """Wall seconds of ``command`` and its standard output; fails loudly."""
        self.proxy.reset()
        started = time.perf_counter()
        done = subprocess.run(
            command,
            env=self.env,
            cwd=cwd or self.work,
            capture_output=True,
            timeout=RUN_TIMEOUT,
            check=False,
            text=True,
        )
        wall = time.perf_counter() - started
        if done.returncode not in ok:
            raise SystemExit(
                f"{' '.join(command)} exited {done.returncode}:\n{done.stderr[-3000:]}"
            )
        return wall, done.stdout

    def lint(self, references: list[str], concurrency: int) -> tuple[float, dict[str, Any]]:
        self._serial += 1
        refs = self.work / f"refs-{self._serial}.txt"
        refs.write_text("".join(f"{r}\n" for r in references))
        cache = self.work / f"cache-{self._serial}"  # empty: every run is cold
        command = [sys.executable, "-m", "manifest_lint", "--refs-file", str(refs)]
        command += ["--format", "json", "--concurrency", str(concurrency)]
        command += ["--cache-dir", str(cache)]
        wall, out = self.timed(command, ok=(0, 1))
        summary: dict[str, Any] = json.loads(out)["summary"]
        if summary.get("references") != len(references) or summary.get("error"):
            raise SystemExit(f"manifest-lint did not check every reference: {summary}")
        return wall, summary

    def floor(self, tags_file: Path, concurrency: int) -> tuple[float, dict[str, Any]]:
        spec = {"base": self.proxy.url, "repo": workload.REPO, "tags": str(tags_file)}
        command = [sys.executable, "-m", "bench.lint", "--floor-worker", json.dumps(spec)]
        command += ["--floor-concurrency", str(concurrency)]
        wall, out = self.timed(command, cwd=ROOT)
        result: dict[str, Any] = json.loads(out)
        return wall, result

    def docker(self, docker: str, reference: str) -> tuple[float, str]:
        return self.timed([docker, "manifest", "inspect", "--verbose", "--insecure", reference])


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Round trips of a cold reference, throughput through a delayed proxy, "
        "and docker manifest inspect (issue #12)."
    )
    parser.add_argument("--delay-ms", type=float, default=50.0, help="added per request (50)")
    parser.add_argument("--rounds", type=int, default=15, help="rounds of (a) and (c) (15)")
    parser.add_argument("--tags", type=int, default=100, help="cold tags of (b) (100)")
    parser.add_argument("--concurrency", type=int, default=16, help="of (b), both (16)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of (b); best counts (3)")
    parser.add_argument("--json-out", metavar="FILE", help="write every number as JSON")
    args = parser.parse_args(argv)
    if min(args.rounds, args.tags, args.concurrency, args.repeat) < 1 or args.delay_ms <= 0:
        parser.error("every count must be positive, and the delay above 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="manifest-lint-rtt-"))
    try:
        with RegistryServer(mode="open") as registry, LatencyProxy(registry.url) as proxy:
            return _run(args, registry, proxy, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run(
    args: argparse.Namespace, registry: RegistryServer, proxy: LatencyProxy, work: Path
) -> int:
    delay = args.delay_ms / 1000
    print(f"registry {registry.url}, proxy {proxy.url}; cpus {os.cpu_count()}", flush=True)
    children = [build_manifest(p, layers=3, seed=f"eight-{i}") for i, p in enumerate(PLATFORMS)]
    eight = push(registry.url, ONE_REPO, build_index(children, attestations=True), "v1")
    one = f"{proxy.host}/{ONE_REPO}:v1"
    docs, _ = workload.push_tags(registry.url, args.tags)
    tags_file = work / "tags.txt"
    tags_file.write_text("".join(f"{d.tag}\n" for d in docs))
    tag_refs = [f"{proxy.host}/{workload.REPO}:{d.tag}" for d in docs]
    print(f"pushed {eight.reference} (8 platforms) and {args.tags} 4-platform tags", flush=True)

    runner = Runner(work, proxy)
    docker = shutil.which("docker")
    # Untimed: the registry's files into the page cache, Python's bytecode compiled.
    proxy.delay = 0.0
    runner.lint([one], 1)
    runner.floor(tags_file, args.concurrency)

    # (a) and (c), interleaved round by round.
    lint_direct: list[float] = []
    lint_delayed: list[float] = []
    docker_delayed: list[float] = []
    docker_direct: list[float] = []
    requests: dict[str, Any] = {}
    for round_ in range(args.rounds):
        proxy.delay = 0.0
        lint_direct.append(runner.lint([one], 16)[0])
        if docker is not None:
            docker_direct.append(runner.docker(docker, one)[0])
        proxy.delay = delay
        wall, summary = runner.lint([one], 16)
        lint_delayed.append(wall)
        if round_ == 0:
            requests["lint"] = dict(proxy.counts)
            requests["lintOwn"] = summary["registries"][proxy.host]["requests"]
        if docker is not None:
            docker_delayed.append(runner.docker(docker, one)[0])
            if round_ == 0:
                requests["docker"] = dict(proxy.counts)
        print(
            f"  round {round_ + 1}: manifest-lint {lint_direct[-1]:.3f} s direct, "
            f"{lint_delayed[-1]:.3f} s delayed"
            + (
                f"; docker {docker_direct[-1]:.3f} s direct, {docker_delayed[-1]:.3f} s delayed"
                if docker is not None
                else ""
            ),
            flush=True,
        )
    # Each round's two runs are back to back, so a slow spell of a shared machine
    # mostly hits both: the median of the rounds' differences is the figure; the
    # difference of the medians and of the minima are printed beside it.
    round_trips = _median([(b - a) / delay for a, b in zip(lint_direct, lint_delayed, strict=True)])
    round_trips_medians = (_median(lint_delayed) - _median(lint_direct)) / delay
    round_trips_min = (min(lint_delayed) - min(lint_direct)) / delay

    # (b)
    proxy.delay = delay
    lint_many: list[float] = []
    floor_many: list[float] = []
    floor_double: list[float] = []
    for round_ in range(args.repeat):
        floor_many.append(runner.floor(tags_file, args.concurrency)[0])
        if round_ == 0:
            requests["floor"] = dict(proxy.counts)
        # manifest-lint's --concurrency C is C reference workers and C document workers:
        # up to 2C requests in flight. The floor with that many connections, for scale.
        floor_double.append(runner.floor(tags_file, 2 * args.concurrency)[0])
        lint_many.append(runner.lint(tag_refs, args.concurrency)[0])
        if round_ == 0:
            requests["lintTags"] = dict(proxy.counts)
        print(
            f"  {args.tags} tags, round {round_ + 1}: floor {floor_many[-1]:.2f} s "
            f"(c={2 * args.concurrency}: {floor_double[-1]:.2f} s), "
            f"manifest-lint {lint_many[-1]:.2f} s",
            flush=True,
        )
    over_floor = min(lint_many) / min(floor_many)
    over_floor_double = min(lint_many) / min(floor_double)

    results: dict[str, Any] = {
        "delayMs": args.delay_ms,
        "rounds": args.rounds,
        "cpus": os.cpu_count(),
        "lintDirect": lint_direct,
        "lintDelayed": lint_delayed,
        "roundTrips": round_trips,
        "roundTripsFromMedians": round_trips_medians,
        "roundTripsFromMinima": round_trips_min,
        "tags": args.tags,
        "concurrency": args.concurrency,
        "floorTags": floor_many,
        "lintTags": lint_many,
        "floorTagsDoubleConcurrency": floor_double,
        "coldOverFloor": over_floor,
        "coldOverFloorDoubleConcurrency": over_floor_double,
        "requests": requests,
    }
    table = [
        (
            f"(a) round trips, 1 cold 8-platform ref, {args.delay_ms:g} ms",
            f"{round_trips:.2f}",
            f"<= {TARGETS['round_trips']}",
            _verdict(round_trips <= TARGETS["round_trips"]),
        ),
        (
            f"(b) {args.tags} cold tags / aiohttp floor, c={args.concurrency} (best)",
            f"{over_floor:.2f}x",
            f"<= {TARGETS['cold_over_floor']}",
            _verdict(over_floor <= TARGETS["cold_over_floor"]),
        ),
    ]
    print(
        f"\n(a) manifest-lint, one cold reference: median {_median(lint_direct):.3f} s direct, "
        f"{_median(lint_delayed):.3f} s with {args.delay_ms:g} ms per request; round trips "
        f"{round_trips:.2f} (median of the rounds' differences; from the medians "
        f"{round_trips_medians:.2f}, from the minima {round_trips_min:.2f}); requests "
        f"{requests.get('lint')} (its own count {requests.get('lintOwn')})"
    )
    print(
        f"(b) {args.tags} tags: floor best {min(floor_many):.2f} s ({requests.get('floor')}), "
        f"manifest-lint best {min(lint_many):.2f} s ({requests.get('lintTags')}); against "
        f"the floor at c={2 * args.concurrency} ({min(floor_double):.2f} s): "
        f"{over_floor_double:.2f}x"
    )
    if docker is not None:
        over_docker = _median(lint_delayed) / _median(docker_delayed)
        results.update(
            dockerDirect=docker_direct,
            dockerDelayed=docker_delayed,
            overDocker=over_docker,
            overDockerDirect=_median(lint_direct) / _median(docker_direct),
            dockerRoundTrips=_median(
                [(b - a) / delay for a, b in zip(docker_direct, docker_delayed, strict=True)]
            ),
        )
        table.append(
            (
                f"(c) manifest-lint / docker manifest inspect, 1 ref, {args.delay_ms:g} ms",
                f"{over_docker:.2f}x",
                f"<= {TARGETS['over_docker']}",
                _verdict(over_docker <= TARGETS["over_docker"]),
            )
        )
        print(
            f"(c) docker manifest inspect --verbose --insecure: median "
            f"{_median(docker_direct):.3f} s direct, {_median(docker_delayed):.3f} s delayed "
            f"({results['dockerRoundTrips']:.2f} round trips; requests "
            f"{requests.get('docker')}); manifest-lint / docker direct "
            f"{results['overDockerDirect']:.2f}x"
        )
    else:
        print("(c) not measured: no docker CLI on PATH")
    width = max(len(row[0]) for row in table)
    print(f"\n=== issue #12 targets ({os.cpu_count()} cpus) ===")
    for metric, measured, target, verdict in table:
        print(f"{metric:<{width}}  {measured:>8}  {target:>8}  {verdict}")
    results["table"] = [
        {"metric": m, "measured": v, "target": t, "verdict": verdict} for m, v, t, verdict in table
    ]
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(results, indent=2) + "\n")
        print(f"\nraw numbers: {args.json_out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
