"""The benchmark of issue #16: memory flat in the number of references, and what
sharding costs. Not a test. Run (Debian's docker-registry and GNU time installed)::

    .venv/bin/python -m bench.scale [--refs 200] [--small 10000] [--large 50000]
                                    [--shard-refs 10000] [--shards 3] [--repeat 3]
                                    [--select max-layers,required-platforms]

It starts the real CNCF registry on 127.0.0.1, pushes ``--refs`` multi-arch tags
(``bench/workload.py``) and warms a cache with them. Then, each run its own process
(``bench.lint.run_process``: wall time, peak RSS from GNU time):

* PEAK RSS of a warm run streaming ``--jsonl`` over ``--small`` and over ``--large``
  distinct digest references (``repo:rssN@DIGEST``, served from the warm cache), with
  the text report to /dev/null: the target is a difference under 20 %;
* SHARDS: the unsharded run over ``--shard-refs`` digest references against
  ``--shards`` shard runs (``--shard K/N --shard-by reference``) one after another,
  all warm, medians of ``--repeat``: the target is at most 10 % more in total.

It prints the ratios against those targets, measured in the same run.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from tests.helpers.registry_server import RegistryServer

from bench import workload
from bench.lint import RUN_TIMEOUT, run_process

TARGETS = {"rss_large_over_small": 1.20, "shards_over_whole": 1.10}
#: The policies of every run (``--select``).
SELECT = ["max-layers,required-platforms"]


def _lint(
    work: Path, env: dict[str, str], refs: Path, cache: Path, *extra: str
) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) of one warm run."""
    command = [
        sys.executable,
        "-m",
        "manifest_lint",
        "--refs-file",
        str(refs),
        "--cache-dir",
        str(cache),
        "--select",
        SELECT[0],
        "--quiet",
        *extra,
    ]
    out = work / "run.out"
    wall, rss, _cpu, code = run_process(command, env=env, cwd=work, stdout=out, timeout=RUN_TIMEOUT)
    if code not in (0, 1):
        err = out.with_suffix(".err").read_text(errors="replace")
        raise SystemExit(f"manifest-lint failed (exit {code}):\n{err[-3000:]}")
    return wall, rss


def _refs(path: Path, host: str, docs: list[workload.Documents], count: int) -> Path:
    with open(path, "w") as handle:
        for i in range(count):
            handle.write(f"{host}/{workload.REPO}:rss{i}@{docs[i % len(docs)].index}\n")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale")
    parser.add_argument("--refs", type=int, default=200)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=50_000)
    parser.add_argument("--shard-refs", type=int, default=10_000)
    parser.add_argument("--shards", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--select", default=SELECT[0], help="the policies of every run")
    args = parser.parse_args(argv)
    SELECT[0] = args.select
    work = Path(tempfile.mkdtemp(prefix="manifest-lint-scale-"))
    try:
        with RegistryServer(mode="open") as registry:
            return _run(args, registry, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run(args: argparse.Namespace, registry: RegistryServer, work: Path) -> int:
    env = workload.clean_env(work)
    docs, pushed = workload.push_tags(registry.url, args.refs)
    print(f"pushed {pushed.tags} tags in {pushed.seconds:.1f} s", flush=True)
    cache = work / "cache"
    warm_up = _refs(work / "warm.txt", registry.host, docs, len(docs))
    _lint(work, env, warm_up, cache)

    small = _refs(work / "small.txt", registry.host, docs, args.small)
    large = _refs(work / "large.txt", registry.host, docs, args.large)
    rss_small = min(
        _lint(work, env, small, cache, "--jsonl", str(work / "s.jsonl"))[1]
        for _ in range(args.repeat)
    )
    rss_large = min(
        _lint(work, env, large, cache, "--jsonl", str(work / "l.jsonl"))[1]
        for _ in range(args.repeat)
    )
    print(
        f"peak RSS, {args.small} refs: {rss_small:.1f} MiB; {args.large} refs: {rss_large:.1f} MiB"
    )

    refs = _refs(work / "shard.txt", registry.host, docs, args.shard_refs)
    whole, sharded = [], []
    for _ in range(args.repeat):  # (interleaved: the machine's drift hits both alike)
        whole.append(_lint(work, env, refs, cache)[0])
        total = 0.0
        for k in range(1, args.shards + 1):
            shard = f"{k}/{args.shards}"
            total += _lint(work, env, refs, cache, "--shard", shard, "--shard-by", "reference")[0]
        sharded.append(total)
    w, s = statistics.median(whole), statistics.median(sharded)
    print(f"{args.shard_refs} refs: unsharded {w:.2f} s; {args.shards} shards in a row {s:.2f} s")

    ratios = {"rss_large_over_small": rss_large / rss_small, "shards_over_whole": s / w}
    failed = 0
    for name, ratio in ratios.items():
        verdict = "PASS" if ratio <= TARGETS[name] else "MISS"
        failed += verdict == "MISS"
        print(f"  {name:<22} {ratio:5.3f}  (target <= {TARGETS[name]:.2f})  {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
