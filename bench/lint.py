"""The benchmark of issue #4: manifest-lint against the network floor, a skopeo loop and its cache.

Not a test. Run (needs Debian's docker-registry, skopeo and time, and
``pip install '.[bench]'``; an editable install works too, but parses the
built-in policies' YAML at every start, which a wheel does not)::

    .venv/bin/python -m bench.lint [--refs 500] [--skopeo-sample 50] [--rss-refs 10000]
                                   [--concurrency 8,16,32] [--floor-concurrency 16,32,64]
                                   [--repeat 1] [--json-out FILE]

In one run it starts the real CNCF registry on 127.0.0.1 (``tests/helpers``), pushes
``--refs`` multi-arch tags (``bench/workload.py``: OCI index, 4 platforms with 5-12
layers, BuildKit attestation manifests), then measures, each as its own process (wall
time with ``time.perf_counter`` around it, CPU from ``os.wait4``, peak RSS from GNU
time, see :data:`GNU_TIME`):

* manifest-lint COLD (empty ``--cache-dir``) and WARM (the same cache again), at each
  ``--concurrency``, with the built-in policies and ``--format json``;
* manifest-lint cold with ``--no-cache`` (no cache to write);
* the NETWORK FLOOR: a minimal aiohttp client fetching exactly the documents
  manifest-lint fetches (index by tag, each platform manifest and config by digest),
  no verification, no policies, at each ``--floor-concurrency``;
* digest references (``repo@sha256:...``) cold, then warm;
* peak RSS of a warm run over ``--rss-refs`` distinct references (``repo:rssN@DIGEST``
  over the pushed indexes: a reference given twice is read once a run, so repeating
  the tags would measure ``--refs`` results; the digest is what is read);
* the skopeo loop a user would write, on ``--skopeo-sample`` tags, extrapolated;

counts every run's requests in the registry's access log, and prints the ratios
next to the issue's targets, PASS or MISS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tests.helpers.registry_server import RegistryServer

from bench import workload

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent

#: The issue's targets.
TARGETS = {
    "cold_over_floor": 1.3,
    "skopeo_over_cold": 12.0,
    "cold_over_warm": 5.0,
    "cel_share": 0.05,
    "rss_mb": 200.0,
}
RUN_TIMEOUT = 1800.0


# --------------------------------------------------------------------------- measuring


@dataclass
class Measured:
    """One process: wall seconds, peak RSS, CPU, exit code, and requests in the log."""

    label: str
    wall: float
    rss_mb: float
    cpu: float
    exit_code: int
    references: int
    requests: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def per_ref_ms(self) -> float:
        return self.wall / self.references * 1000


def _gnu_time() -> str | None:
    path = shutil.which("time") or ("/usr/bin/time" if os.path.exists("/usr/bin/time") else None)
    if path is None:
        return None
    probe = subprocess.run([path, "-f", "%M", "true"], capture_output=True, text=True, check=False)
    return path if probe.returncode == 0 and probe.stderr.strip().isdigit() else None


#: GNU time, which reports the peak RSS of the program it starts. ``os.wait4`` on a
#: process spawned by this one cannot: Linux carries the high-water mark of the mm a
#: child is forked (or vforked) from across ``execve``, so every child would report at
#: least this script's own RSS. GNU time is small, so its child starts from almost nothing.
GNU_TIME = _gnu_time()


def run_process(
    command: list[str], *, env: dict[str, str], cwd: Path, stdout: Path, timeout: float
) -> tuple[float, float, float, int]:
    """Run ``command``; (wall s, peak RSS MiB, user+sys CPU s, exit code) of that process."""
    rss_file = stdout.with_suffix(".rss")
    if GNU_TIME is not None:
        command = [GNU_TIME, "-f", "%M", "-o", str(rss_file), *command]
    with open(stdout, "wb") as out, open(stdout.with_suffix(".err"), "wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(
            command, stdout=out, stderr=err, env=env, cwd=cwd, start_new_session=True
        )
        # On time-out, the whole process group: GNU time and the program it runs.
        watchdog = threading.Timer(timeout, os.killpg, (proc.pid, signal.SIGKILL))
        watchdog.start()
        try:
            _pid, status, usage = os.wait4(proc.pid, 0)
        finally:
            watchdog.cancel()
        wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if GNU_TIME is not None:
        words = rss_file.read_text().split() if rss_file.exists() else []
        rss_mb = int(words[-1]) / 1024 if words and words[-1].isdigit() else float("nan")
    else:
        rss_mb = usage.ru_maxrss / 1024  # an upper bound: see GNU_TIME
    # CPU: the child's own, and (through GNU time) its reaped children's; not inherited.
    return wall, rss_mb, usage.ru_utime + usage.ru_stime, proc.returncode


class Bench:
    def __init__(self, args: argparse.Namespace, registry: RegistryServer, work: Path) -> None:
        self.args = args
        self.registry = registry
        self.work = work
        self.log = workload.AccessLog(registry.log_path)
        self.runs: list[Measured] = []
        self.env = workload.clean_env(work)
        self._serial = 0

    def measure(self, label: str, command: list[str], references: int) -> Measured:
        self._serial += 1
        stdout = self.work / f"run-{self._serial:03d}.out"
        start = self.log.mark()
        wall, rss, cpu, code = run_process(
            command, env=self.env, cwd=self.work, stdout=stdout, timeout=RUN_TIMEOUT
        )
        requests = self.log.count(start, self.log.mark())
        run = Measured(label, wall, rss, cpu, code, references, requests.to_json())
        run.extra["stdout"] = str(stdout)
        self.runs.append(run)
        print(
            f"  {label:<34} {wall:8.2f} s  {run.per_ref_ms:7.2f} ms/ref  "
            f"{rss:6.1f} MiB  exit {code}  requests {requests.to_json()['byMethod']} "
            f"on {requests.connections} connections",
            flush=True,
        )
        return run

    def lint(
        self,
        label: str,
        refs_file: Path,
        references: int,
        *,
        cache: Path | None,
        concurrency: int,
    ) -> Measured:
        command = [
            sys.executable,
            "-m",
            "manifest_lint",
            "--refs-file",
            str(refs_file),
            "--format",
            "json",
            "--concurrency",
            str(concurrency),
        ]
        command += ["--cache-dir", str(cache)] if cache is not None else ["--no-cache"]
        run = self.measure(label, command, references)
        run.extra["concurrency"] = concurrency
        if run.exit_code not in (0, 1):
            err = Path(run.extra["stdout"]).with_suffix(".err").read_text(errors="replace")
            raise SystemExit(
                f"manifest-lint failed ({label}, exit {run.exit_code}):\n{err[-3000:]}"
            )
        report = json.loads(Path(run.extra["stdout"]).read_text())
        run.summary = report.get("summary", {})
        if run.summary.get("references") != references or run.summary.get("error"):
            raise SystemExit(
                f"manifest-lint did not check every reference ({label}): {run.summary}"
            )
        return run

    def floor(self, label: str, tags_file: Path, references: int, concurrency: int) -> Measured:
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--floor-worker",
            json.dumps({"base": self.registry.url, "repo": workload.REPO, "tags": str(tags_file)}),
            "--floor-concurrency",
            str(concurrency),
        ]
        run = self.measure(label, command, references)
        run.extra["concurrency"] = concurrency
        if run.exit_code != 0:
            err = Path(run.extra["stdout"]).with_suffix(".err").read_text(errors="replace")
            raise SystemExit(f"the floor client failed ({label}):\n{err[-3000:]}")
        run.extra.update(json.loads(Path(run.extra["stdout"]).read_text()))
        return run


# --------------------------------------------------------------------------- the floor


async def _floor(base: str, repo: str, tags: list[str], concurrency: int) -> dict[str, Any]:
    import aiohttp

    gets = 0
    size = 0
    accept = {"Accept": workload.MANIFEST_ACCEPT}
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=60)
    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def get(path: str, headers: dict[str, str] | None = None) -> bytes:
            nonlocal gets, size
            async with session.get(base + path, headers=headers) as response:
                body = await response.read()
                if response.status != 200:
                    raise RuntimeError(f"GET {path}: HTTP {response.status}")
            gets += 1
            size += len(body)
            return body

        async def platform(digest: str) -> None:
            manifest = json.loads(await get(f"/v2/{repo}/manifests/{digest}", accept))
            await get(f"/v2/{repo}/blobs/{manifest['config']['digest']}")

        async def tag(name: str) -> None:
            index = json.loads(await get(f"/v2/{repo}/manifests/{name}", accept))
            entries = [e["digest"] for e in index["manifests"] if workload.is_platform_entry(e)]
            await asyncio.gather(*(platform(d) for d in entries))

        await asyncio.gather(*(tag(t) for t in tags))
    return {"gets": gets, "bytes": size, "fetchSeconds": time.perf_counter() - started}


def floor_worker(spec: str, concurrency: int) -> int:
    config = json.loads(spec)
    tags = Path(config["tags"]).read_text().split()
    result = asyncio.run(_floor(config["base"], config["repo"], tags, concurrency))
    print(json.dumps(result))
    return 0


# --------------------------------------------------------------------------- skopeo


def skopeo_loop(bench: Bench, docs: list[workload.Documents]) -> Measured:
    """What a user's shell loop does: one skopeo call per document, one after another."""
    skopeo = shutil.which("skopeo")
    if skopeo is None:
        raise SystemExit("skopeo is not installed (apt-get install skopeo)")
    base = f"docker://{bench.registry.host}/{workload.REPO}"
    env = dict(bench.env)
    calls = 0

    def inspect(*args: str) -> bytes:
        nonlocal calls
        calls += 1
        done = subprocess.run(
            [skopeo, "inspect", "--tls-verify=false", *args],
            capture_output=True,
            env=env,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"skopeo inspect {' '.join(args)} failed: {done.stderr.decode()}")
        return done.stdout

    start = bench.log.mark()
    started = time.perf_counter()
    for doc in docs:
        index = json.loads(inspect("--raw", f"{base}:{doc.tag}"))
        for entry in index["manifests"]:
            if workload.is_platform_entry(entry):
                inspect("--raw", f"{base}@{entry['digest']}")
                inspect("--config", f"{base}@{entry['digest']}")
    wall = time.perf_counter() - started
    requests = bench.log.count(start, bench.log.mark())
    run = Measured(f"skopeo loop ({len(docs)} tags)", wall, 0.0, 0.0, 0, len(docs))
    run.requests = requests.to_json()
    run.extra["skopeoCalls"] = calls
    bench.runs.append(run)
    print(
        f"  {run.label:<34} {wall:8.2f} s  {run.per_ref_ms:7.2f} ms/ref  "
        f"{calls} skopeo calls  requests {requests.to_json()['byMethod']} "
        f"on {requests.connections} connections",
        flush=True,
    )
    return run


# --------------------------------------------------------------------------- the run


def _ints(text: str) -> list[int]:
    values = [int(v) for v in text.split(",") if v.strip()]
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"a comma-separated list of positive integers: {text!r}")
    return values


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="manifest-lint against the network floor, a skopeo loop and its own cache "
        "(issue #4).",
    )
    parser.add_argument("--refs", type=int, default=500, help="tags pushed and linted (500)")
    parser.add_argument(
        "--skopeo-sample", type=int, default=50, help="tags the skopeo loop reads (50)"
    )
    parser.add_argument(
        "--rss-refs", type=int, default=10000, help="references of the peak-RSS run (10000)"
    )
    parser.add_argument(
        "--concurrency", type=_ints, default=[8, 16, 32], help="manifest-lint's (8,16,32)"
    )
    parser.add_argument(
        "--floor-concurrency",
        type=_ints,
        default=[16, 32, 64],
        help="the aiohttp floor's connection limits (16,32,64)",
    )
    parser.add_argument("--repeat", type=int, default=1, help="rounds; the best wall counts (1)")
    parser.add_argument("--push-concurrency", type=int, default=8, help="pusher threads (8)")
    parser.add_argument("--json-out", metavar="FILE", help="write every number as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--floor-worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.refs < 1 or args.rss_refs < 1 or args.repeat < 1 or args.skopeo_sample < 0:
        parser.error("--refs, --rss-refs and --repeat must be positive")
    return args


def best(runs: list[Measured]) -> Measured:
    return min(runs, key=lambda r: r.wall)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.floor_worker:
        return floor_worker(args.floor_worker, args.floor_concurrency[0])
    try:
        import aiohttp  # noqa: F401

        import manifest_lint  # noqa: F401
    except ImportError as exc:
        raise SystemExit(f"{exc}: run with a venv where `pip install '.[bench]'` was run") from None
    work = Path(tempfile.mkdtemp(prefix="manifest-lint-bench-"))
    try:
        # Log level info (the default): its line per response names the client's port,
        # which counts TCP connections.
        with RegistryServer(mode="open") as registry:
            return _run(args, registry, work)
    finally:
        if args.keep:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def _run(args: argparse.Namespace, registry: RegistryServer, work: Path) -> int:
    n = args.refs
    print(f"registry {registry.url}; cpus {os.cpu_count()}; load {os.getloadavg()}", flush=True)
    if GNU_TIME is None:
        print(
            "WARNING: no GNU time (apt-get install time): peak RSS is os.wait4's, an upper "
            "bound that includes this script's own RSS",
            flush=True,
        )
    docs, pushed = workload.push_tags(registry.url, n, concurrency=args.push_concurrency)
    print(
        f"pushed {pushed.tags} tags in {pushed.seconds:.1f} s ({pushed.requests} requests, "
        f"{pushed.requests / pushed.seconds:.0f}/s; {pushed.blobs_uploaded} blobs, "
        f"{pushed.manifests_put} manifests)",
        flush=True,
    )
    host = registry.host
    tags_file = work / "tags.txt"
    tags_file.write_text("".join(f"{d.tag}\n" for d in docs))
    tag_refs = work / "tag-refs.txt"
    tag_refs.write_text("".join(f"{host}/{workload.REPO}:{d.tag}\n" for d in docs))
    digest_refs = work / "digest-refs.txt"
    digest_refs.write_text("".join(f"{host}/{workload.REPO}@{d.index}\n" for d in docs))
    rss_refs = work / "rss-refs.txt"
    with open(rss_refs, "w") as handle:
        for i in range(args.rss_refs):
            handle.write(f"{host}/{workload.REPO}:rss{i}@{docs[i % n].index}\n")
    expected_gets = sum(d.count for d in docs)

    bench = Bench(args, registry, work)
    print("warming the registry up (untimed):", flush=True)
    bench.floor("warm-up (floor client)", tags_file, n, max(args.floor_concurrency))
    bench.runs.pop()

    cold: dict[int, list[Measured]] = {c: [] for c in args.concurrency}
    warm: dict[int, list[Measured]] = {c: [] for c in args.concurrency}
    floor: dict[int, list[Measured]] = {c: [] for c in args.floor_concurrency}
    no_cache: list[Measured] = []
    default = 16 if 16 in args.concurrency else args.concurrency[0]
    for round_ in range(args.repeat):
        print(f"round {round_ + 1}/{args.repeat}:", flush=True)
        for c in args.floor_concurrency:
            floor[c].append(bench.floor(f"floor aiohttp c={c}", tags_file, n, c))
        for c in args.concurrency:
            cache = work / f"cache-c{c}-r{round_}"
            cold[c].append(bench.lint(f"cold c={c}", tag_refs, n, cache=cache, concurrency=c))
            warm[c].append(bench.lint(f"warm c={c}", tag_refs, n, cache=cache, concurrency=c))
        no_cache.append(
            bench.lint(f"cold --no-cache c={default}", tag_refs, n, cache=None, concurrency=default)
        )
    print("digest references, then the peak-RSS run:", flush=True)
    digest_cache = work / "cache-digests"
    digest_cold = bench.lint(
        "digest refs cold", digest_refs, n, cache=digest_cache, concurrency=default
    )
    digest_warm = bench.lint(
        "digest refs warm", digest_refs, n, cache=digest_cache, concurrency=default
    )
    one_ref = work / "one-ref.txt"
    one_ref.write_text(f"{host}/{workload.REPO}:{docs[0].tag}\n")
    baseline = bench.lint(
        "warm, 1 ref (start-up)", one_ref, 1, cache=work / "cache-digests", concurrency=default
    )
    rss = bench.lint(
        f"warm, {args.rss_refs} refs (peak RSS)",
        rss_refs,
        args.rss_refs,
        cache=work / f"cache-c{default}-r0",
        concurrency=default,
    )
    skopeo = None
    if args.skopeo_sample:
        print("the skopeo loop:", flush=True)
        skopeo = skopeo_loop(bench, docs[: args.skopeo_sample])

    results = summarize(
        args,
        n=n,
        expected_gets=expected_gets,
        cold=cold,
        warm=warm,
        floor=floor,
        no_cache=best(no_cache),
        digest_cold=digest_cold,
        digest_warm=digest_warm,
        baseline=baseline,
        rss=rss,
        skopeo=skopeo,
        default=default,
    )
    if args.json_out:
        results["runs"] = [asdict(r) for r in bench.runs]
        results["push"] = asdict(pushed)
        Path(args.json_out).write_text(json.dumps(results, indent=2) + "\n")
        print(f"\nraw numbers: {args.json_out}")
    return 0


# --------------------------------------------------------------------------- the table


def _methods(run: Measured) -> dict[str, int]:
    return dict(run.requests.get("byMethod", {}))


def _per_ref(run: Measured) -> str:
    methods = _methods(run)
    if not methods:
        return "0 requests"
    return " + ".join(f"{n / run.references:g} {m}" for m, n in sorted(methods.items()))


def _conns(run: Measured) -> str:
    count = run.requests.get("connections")
    return "?" if count is None else str(count)


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def summarize(
    args: argparse.Namespace,
    *,
    n: int,
    expected_gets: int,
    cold: dict[int, list[Measured]],
    warm: dict[int, list[Measured]],
    floor: dict[int, list[Measured]],
    no_cache: Measured,
    digest_cold: Measured,
    digest_warm: Measured,
    baseline: Measured,
    rss: Measured,
    skopeo: Measured | None,
    default: int,
) -> dict[str, Any]:
    cold_best = {c: best(r) for c, r in cold.items()}
    warm_best = {c: best(r) for c, r in warm.items()}
    floor_best = {c: best(r) for c, r in floor.items()}
    cold_default, warm_default = cold_best[default], warm_best[default]
    cold_top = min(cold_best.values(), key=lambda r: r.wall)
    warm_top = min(warm_best.values(), key=lambda r: r.wall)
    floor_top = min(floor_best.values(), key=lambda r: r.wall)
    floor_gets = floor_top.extra.get("gets", 0)
    cold_methods = _methods(cold_default)
    warm_methods = _methods(warm_default)

    print(f"\n=== timings ({n} tag references; best of {args.repeat}) ===")
    print(
        f"{'run':<36} {'wall s':>8} {'ms/ref':>8} {'RSS MiB':>8} {'CPU s':>7} {'conns':>6}  "
        "requests"
    )
    rows: list[Measured] = [
        *floor_best.values(),
        *cold_best.values(),
        *warm_best.values(),
        no_cache,
        digest_cold,
        digest_warm,
        baseline,
        rss,
    ]
    for run in rows:
        print(
            f"{run.label:<36} {run.wall:8.2f} {run.per_ref_ms:8.2f} {run.rss_mb:8.1f} "
            f"{run.cpu:7.2f} {_conns(run):>6}  {_per_ref(run)} per ref"
        )
    if skopeo is not None:
        print(
            f"{skopeo.label:<36} {skopeo.wall:8.2f} {skopeo.per_ref_ms:8.2f} {'':>8} {'':>7} "
            f"{_conns(skopeo):>6}  {_per_ref(skopeo)} per ref"
        )

    print(
        f"\ndocuments: the floor fetched {floor_gets} with GET; manifest-lint cold "
        f"(c={default}) sent {cold_methods.get('GET', 0)} GET + {cold_methods.get('HEAD', 0)} "
        f"HEAD; expected {expected_gets} documents ({expected_gets // n} per tag: index, 4 "
        "platform manifests, 4 configs; attestation manifests are not read)"
    )
    print(f"requests by kind, cold c={default}: {cold_default.requests.get('byKind')}")
    for run in (cold_default, warm_default, digest_warm):
        own = {
            method: count
            for stats in run.summary.get("registries", {}).values()
            for method, count in stats.get("requests", {}).items()
        }
        agree = "agrees" if own == _methods(run) else "DISAGREES"
        print(f"manifest-lint's own count ({run.label}): {own or 'none'}, {agree} with the log")
    if skopeo is not None:
        print(
            f"requests by kind, skopeo loop ({skopeo.extra['skopeoCalls']} calls): "
            f"{skopeo.requests.get('byKind')}"
        )
    eval_default = float(cold_default.summary.get("evaluationSeconds", 0.0))
    eval_top = float(cold_top.summary.get("evaluationSeconds", 0.0))
    ratios: dict[str, Any] = {
        "cold_over_floor_default": cold_default.wall / floor_top.wall,
        "cold_over_floor_best": cold_top.wall / floor_top.wall,
        "cold_over_warm_default": cold_default.wall / warm_default.wall,
        "cold_over_warm_best": cold_top.wall / warm_top.wall,
        "cel_share_default": eval_default / cold_default.wall,
        "cel_share_best": eval_top / cold_top.wall,
        "rss_mb": rss.rss_mb,
    }
    if skopeo is not None:
        ratios["skopeo_over_cold_default"] = skopeo.per_ref_ms / cold_default.per_ref_ms
        ratios["skopeo_over_cold_best"] = skopeo.per_ref_ms / cold_top.per_ref_ms
        ratios["skopeo_extrapolated_seconds"] = skopeo.wall / skopeo.references * n

    # Cold, nothing of the repository is cached: each tag by GET, no HEAD first.
    cold_ok = cold_methods == {"GET": expected_gets} and floor_gets == expected_gets
    warm_ok = warm_methods == {"HEAD": n}
    digest_cold_methods = _methods(digest_cold)
    digest_cold_ok = digest_cold_methods == {"GET": expected_gets}
    digest_warm_ok = _methods(digest_warm) == {}
    rss_ok = _methods(rss) == {"HEAD": rss.references}

    table: list[tuple[str, str, str, str]] = [
        (
            f"cold / floor (c={default} vs floor c={floor_top.extra['concurrency']})",
            f"{ratios['cold_over_floor_default']:.2f}x",
            f"<= {TARGETS['cold_over_floor']}",
            _verdict(ratios["cold_over_floor_default"] <= TARGETS["cold_over_floor"]),
        ),
        (
            f"cold / floor (best c={cold_top.extra['concurrency']})",
            f"{ratios['cold_over_floor_best']:.2f}x",
            f"<= {TARGETS['cold_over_floor']}",
            _verdict(ratios["cold_over_floor_best"] <= TARGETS["cold_over_floor"]),
        ),
    ]
    if skopeo is not None:
        table.append(
            (
                f"skopeo / cold per ref (c={default}; skopeo from {skopeo.references} tags)",
                f"{ratios['skopeo_over_cold_default']:.1f}x",
                f">= {TARGETS['skopeo_over_cold']:g}",
                _verdict(ratios["skopeo_over_cold_default"] >= TARGETS["skopeo_over_cold"]),
            )
        )
    table += [
        (
            f"cold / warm (c={default})",
            f"{ratios['cold_over_warm_default']:.2f}x",
            f">= {TARGETS['cold_over_warm']:g}",
            _verdict(ratios["cold_over_warm_default"] >= TARGETS["cold_over_warm"]),
        ),
        (
            f"cold / warm (best: c={cold_top.extra['concurrency']} / c="
            f"{warm_top.extra['concurrency']})",
            f"{ratios['cold_over_warm_best']:.2f}x",
            f">= {TARGETS['cold_over_warm']:g}",
            _verdict(ratios["cold_over_warm_best"] >= TARGETS["cold_over_warm"]),
        ),
        (
            f"CEL share of cold wall (c={default}; summed over threads)",
            f"{ratios['cel_share_default']:.1%}",
            f"<= {TARGETS['cel_share']:.0%}",
            _verdict(ratios["cel_share_default"] <= TARGETS["cel_share"]),
        ),
        (
            "requests per tag ref, cold",
            _per_ref(cold_default),
            "the floor's GETs",
            _verdict(cold_ok),
        ),
        ("requests per tag ref, warm", _per_ref(warm_default), "1 HEAD", _verdict(warm_ok)),
        (
            "requests per digest ref, cold",
            _per_ref(digest_cold),
            "the floor's GETs",
            _verdict(digest_cold_ok),
        ),
        ("requests per digest ref, warm", _per_ref(digest_warm), "0", _verdict(digest_warm_ok)),
        (
            f"peak RSS, {rss.references} refs (warm)",
            f"{rss.rss_mb:.0f} MiB",
            f"<= {TARGETS['rss_mb']:g} MiB",
            _verdict(rss.rss_mb <= TARGETS["rss_mb"]),
        ),
        (
            f"requests per ref, {rss.references}-ref warm run",
            _per_ref(rss),
            "1 HEAD",
            _verdict(rss_ok),
        ),
    ]
    width = max(len(row[0]) for row in table)
    print(f"\n=== issue #4 targets ({n} refs, {os.cpu_count()} cpus) ===")
    print(f"{'metric':<{width}}  {'measured':>20}  {'target':>26}  verdict")
    for metric, measured, target, verdict in table:
        print(f"{metric:<{width}}  {measured:>20}  {target:>26}  {verdict}")
    print(
        f"\nfor scale: cold c={default} {cold_default.wall:.2f} s, warm {warm_default.wall:.2f} s, "
        f"floor {floor_top.wall:.2f} s (its own fetch time "
        f"{floor_top.extra.get('fetchSeconds', 0):.2f} s), start-up alone "
        f"{baseline.wall:.2f} s, CEL {eval_default:.2f} s (summed over threads)"
    )
    for run in (cold_default, warm_default, rss):
        connections = run.requests.get("connections")
        if connections is not None and connections > 2 * run.extra["concurrency"] + 2:
            print(
                f"NOTE: {run.label} opened {connections} TCP connections for "
                f"{run.requests.get('total')} requests at concurrency {run.extra['concurrency']}: "
                "connections are not being reused (keep-alive lost)"
            )
    if skopeo is not None:
        print(
            f"skopeo loop: {skopeo.per_ref_ms:.0f} ms per tag reference measured on "
            f"{skopeo.references} tags; {ratios['skopeo_extrapolated_seconds']:.0f} s for {n} "
            "is EXTRAPOLATED from that sample, not measured"
        )
    return {
        "refs": n,
        "cpus": os.cpu_count(),
        "expectedDocuments": expected_gets,
        "ratios": ratios,
        "targets": TARGETS,
        "table": [
            {"metric": m, "measured": v, "target": t, "verdict": verdict}
            for m, v, t, verdict in table
        ],
    }


if __name__ == "__main__":
    raise SystemExit(main())
