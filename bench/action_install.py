"""The benchmark of issue #17's Action start: how long a job takes to reach the lint.
Not a test. Run (from the checkout, with the test extra installed)::

    .venv/bin/python -m bench.action_install [--repeat 5]

It runs ``action.yml`` with the test harness (``tests/test_action.py``: every ``run:``
step as the runner runs it, ``actions/cache`` with GNU tar on a local directory in
place of the Actions cache service), one job after another on one ``RUNNER_TEMP``,
each an offline lint of a pinned reference, pip finding packages in a wheelhouse
built first (as in the tests). It measures, in the same run:

* BASELINE: what the action did before the cache, run as its script was:
  ``python3 -m venv`` (pip bootstrapped into it) and the venv's pip installing the
  checkout;
* COLD: a job with an empty cache (prepare, install with the runner's pip into a venv
  without pip, save);
* WARM: a job after it (prepare, restore, the import check).

It prints the medians, the sizes of the cached venv, and the warm time against the
target (at most 3 s to the lint step). Not measured: the download of the cache
entry on a hosted runner (the size, compressed, is printed to estimate it).
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

from tests.test_action import PINNED, ROOT, install_seconds, run_action

TARGET_WARM_SECONDS = 3.0


def _wheelhouse(directory: Path) -> Path:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    requirements = [*pyproject["project"]["dependencies"], *pyproject["build-system"]["requires"]]
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--wheel-dir", str(directory), *requirements],
        check=True,
        timeout=900,
    )
    return directory


def _baseline(work: Path, wheelhouse: Path) -> float:
    """The install step as it was: a venv with pip, and its pip installing the checkout."""
    venv = work / "baseline-venv"
    shutil.rmtree(venv, ignore_errors=True)
    env = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheelhouse), "PATH": "/usr/bin:/bin"}
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(ROOT)],
        check=True,
        env=env,
    )
    return time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.action_install")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="manifest-lint-action-"))
    try:
        wheelhouse = _wheelhouse(work / "wheelhouse")
        baseline, cold, warm = [], [], []
        size = packed = 0
        for _ in range(args.repeat):
            baseline.append(_baseline(work, wheelhouse))
            store = work / "store"
            shutil.rmtree(store, ignore_errors=True)
            store.mkdir()
            for times in (cold, warm):
                runner_temp, workspace = work / "temp", work / "workspace"
                shutil.rmtree(runner_temp, ignore_errors=True)
                runner_temp.mkdir()
                workspace.mkdir(exist_ok=True)
                run = run_action(
                    {"references": PINNED, "offline": "true"},
                    workspace=workspace,
                    runner_temp=runner_temp,
                    wheelhouse=wheelhouse,
                    cache_store=store,
                )
                if run.code != 0:
                    raise SystemExit(f"the action failed:\n{run.stdout}\n{run.stderr}")
                times.append(install_seconds(run))
            (archive,) = store.glob("*.tar")
            size = archive.stat().st_size
            packed = len(gzip.compress(archive.read_bytes(), compresslevel=3))
        b, c, w = (statistics.median(x) for x in (baseline, cold, warm))
        print(f"venv in the cache: {size / 1e6:.1f} MB as a tar, {packed / 1e6:.1f} MB gzipped")
        print(f"to the lint step, medians of {args.repeat}:")
        print(f"  baseline (venv with pip, no cache)  {b:6.2f} s")
        print(f"  cold (empty cache: install, save)   {c:6.2f} s  ({c / b:.2f} of the baseline)")
        print(f"  warm (restore)                      {w:6.2f} s  ({w / b:.2f} of the baseline)")
        verdict = "PASS" if w <= TARGET_WARM_SECONDS else "MISS"
        print(f"  warm {w:.2f} s  (target <= {TARGET_WARM_SECONDS:.0f} s)  {verdict}")
        return 0 if verdict == "PASS" else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
