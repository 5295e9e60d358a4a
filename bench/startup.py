#!/usr/bin/env python3
"""Start-up: an offline pre-commit run over N files against a bare ``python -c pass``.

What pre-commit runs is ``manifest-lint scan --offline`` (``.pre-commit-hooks.yaml``)
in a virtual environment of its own that holds manifest-lint and its dependencies
and nothing else. This script builds such an environment (``python -m venv`` and
``pip install`` of this checkout, not editable; ``--python`` to use one you have),
writes N Dockerfiles, and times, interleaved, run after run:

* ``python -c pass`` with that environment's interpreter: the floor of any Python tool;
* ``manifest-lint scan --offline -q FILE...`` over the N files, with the built-in
  policies and plugin autoloading on, as a pre-commit hook runs it;
* ``manifest-lint --version``.

Wall time per run is ``time.perf_counter()`` around the process; the median of
``--runs`` counts (the minimum is printed too). Target (issue #4): the scan at most
10 times ``python -c pass``.

``--with-config`` adds a ``.manifest-lint.yaml`` beside the files (a params override
and a disabled policy), as a project that configures manifest-lint has: the run then
reads and checks it (``jsonschema`` is imported for that).

    python3 -m bench.startup [--files 100] [--runs 21] [--python PATH] [--with-config]
                             [--json-out FILE]
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

ROOT = Path(__file__).resolve().parent.parent
TARGET = 10.0


def build_venv(where: Path) -> Path:
    print(f"building a clean virtual environment in {where} (pip install of {ROOT})", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True)
    python = where / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(ROOT)],
        check=True,
    )
    return python


def write_files(directory: Path, count: int) -> list[str]:
    """Dockerfiles as projects have them: a build stage by tag, a final stage by digest."""
    names = []
    for i in range(count):
        name = f"Dockerfile.{i}"
        (directory / name).write_text(
            f"# syntax=docker/dockerfile:1\n"
            f"ARG BASE=docker.io/library/python:3.{i % 13}-slim\n"
            f"FROM golang:1.{20 + i % 5} AS build\n"
            f"WORKDIR /src\nCOPY . .\nRUN go build -o /out/app ./cmd/app\n"
            f"FROM ${{BASE}}\n"
            f"FROM gcr.io/distroless/static@sha256:{i:064x} AS final\n"
            f'COPY --from=build /out/app /app\nUSER 65532\nENTRYPOINT ["/app"]\n'
        )
        names.append(name)
    return names


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, check=False)  # fmt: skip
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):  # 1: a policy failed, which is a normal outcome
        raise SystemExit(f"{command[:3]} failed ({done.returncode}):\n{done.stderr.decode()}")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=100, help="Dockerfiles scanned (100)")
    parser.add_argument("--runs", type=int, default=21, help="runs of each command (21)")
    parser.add_argument("--python", help="an interpreter with manifest-lint installed")
    parser.add_argument(
        "--with-config", action="store_true", help="with a .manifest-lint.yaml beside the files"
    )
    parser.add_argument("--json-out", metavar="FILE", help="write the numbers as JSON")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="manifest-lint-startup-"))
    try:
        python = Path(args.python) if args.python else build_venv(work / "venv")
        files_dir = work / "files"
        files_dir.mkdir()
        names = write_files(files_dir, args.files)
        if args.with_config:
            (files_dir / ".manifest-lint.yaml").write_text(
                "policies:\n  max-layers: {params: {max: 20}}\n  pinned-digest: {enabled: false}\n"
            )
        env = {k: v for k, v in os.environ.items() if not k.startswith("MANIFEST_LINT_")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # as on a developer's machine
        lint = [str(python), "-m", "manifest_lint"]
        script = python.parent / "manifest-lint"
        if script.exists():
            lint = [str(script)]  # the console script, as pre-commit calls it
        commands = {
            "python -c pass": [str(python), "-c", "pass"],
            f"scan --offline, {args.files} files": [*lint, "scan", "--offline", "-q", *names],
            "--version": [*lint, "--version"],
        }
        for command in commands.values():  # warm the page cache and write bytecode
            timed(command, files_dir, env)
        times: dict[str, list[float]] = {label: [] for label in commands}
        for _ in range(args.runs):
            for label, command in commands.items():
                times[label].append(timed(command, files_dir, env))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    floor = statistics.median(times["python -c pass"])
    print(f"\ncpus {os.cpu_count()}; load {os.getloadavg()}; {args.runs} runs each, interleaved")
    print(f"{'command':32} {'median ms':>10} {'min ms':>8} {'x python -c pass':>17}")
    results = {}
    for label, values in times.items():
        median = statistics.median(values)
        results[label] = {"median": median, "min": min(values), "ratio": median / floor}
        print(f"{label:32} {median * 1e3:10.1f} {min(values) * 1e3:8.1f} {median / floor:17.1f}")
    scan = results[f"scan --offline, {args.files} files"]["ratio"]
    verdict = "pass" if scan <= TARGET else "MISS"
    print(f"\nscan / python -c pass: {scan:.1f}x (target <= {TARGET:g}x): {verdict}")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"files": args.files, "runs": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
