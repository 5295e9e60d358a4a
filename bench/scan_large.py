#!/usr/bin/env python3
"""A release manifest: ``scan --offline`` of one generated ``install.yaml`` of ~5 MB.

Operators and dashboards ship their release as one ``install.yaml`` of 1-5 MB, most
of it CustomResourceDefinitions (an OpenAPI schema per version, nested, with a
description on every field, as controller-gen writes them), plus the Deployments,
ServiceAccounts, roles and Services that run the controllers. This script writes
one such file of ``--megabytes`` MB (deterministic: the same bytes every time) and
times, interleaved, run after run, each its own process:

* ``python -c pass``: the floor of any Python tool;
* ``floor: libyaml``: ``yaml.load_all`` with PyYAML's ``CSafeLoader`` (libyaml's
  parser and composer, PyYAML's constructors, no positions): the fastest way to
  read the same YAML in Python, and nothing else;
* ``manifest-lint scan --offline -q FILE``, as the pre-commit hook runs it.

Wall time is ``time.perf_counter()`` around the process (median of ``--runs``),
peak RSS comes from GNU time (see ``bench.lint.GNU_TIME``). A JSON run first checks
what the scan finds: one reference per Deployment, at the line it is written on.

    python3 -m bench.scan_large [--megabytes 5] [--runs 5] [--json-out FILE] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from bench.lint import GNU_TIME, run_process

#: Words of the field descriptions.
WORDS = (
    "the controller reconciles this field when the resource changes and reports "
    "its state in status; when unset the operator chooses a default that matches "
    "the cluster version and the selected storage class"
)


def _description(seed: int) -> str:
    """A field description, as controller-gen copies Go doc comments (80-200 chars)."""
    words = WORDS.split(" ")
    count = 14 + seed % 20
    return " ".join(words[(seed + i) % len(words)] for i in range(count)).capitalize() + "."


def _schema(depth: int, seed: int) -> dict[str, Any]:
    if depth == 0:
        kinds = ("string", "integer", "boolean")
        return {"description": _description(seed), "type": kinds[seed % 3]}
    return {
        "description": _description(seed),
        "properties": {f"field{seed % 97}x{k}": _schema(depth - 1, seed * 7 + k) for k in range(4)},
        "required": [f"field{seed % 97}x0"],
        "type": "object",
    }


def _documents(i: int) -> list[dict[str, Any]]:
    """One CRD and what runs its controller."""
    name = f"widget{i}"
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "example-operator"}
    version = {
        "name": "v1",
        "served": True,
        "storage": True,
        "schema": {"openAPIV3Schema": _schema(4, i + 1)},
        "subresources": {"status": {}},
    }
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "annotations": {"controller-gen.kubebuilder.io/version": "v0.16.5"},
            "name": f"{name}s.example.com",
        },
        "spec": {
            "group": "example.com",
            "names": {"kind": name.capitalize(), "plural": f"{name}s", "singular": name},
            "scope": "Namespaced",
            "versions": [version],
        },
    }
    account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}}
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": f"{name}-manager"},
        "rules": [{"apiGroups": ["example.com"], "resources": [f"{name}s"], "verbs": ["*"]}],
    }
    container = {
        "name": "manager",
        "image": f"ghcr.io/example/{name}-controller:v1.{i}.0",
        "args": ["--leader-elect", "--metrics-bind-address=:8443"],
        "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}},
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"labels": labels, "name": f"{name}-controller"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [container], "serviceAccountName": name},
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": f"{name}-metrics"},
        "spec": {"ports": [{"port": 8443}], "selector": labels},
    }
    return [crd, account, role, deployment, service]


def write_install_yaml(path: Path, megabytes: float) -> int:
    """Write the file; the number of Deployments (each one image reference) in it."""
    size, i = 0, 0
    with path.open("w", encoding="utf-8") as out:
        while size < megabytes * 1e6:
            text = yaml.safe_dump_all(_documents(i), sort_keys=False, width=100)
            out.write("---\n" + text)
            size += len(text) + 4
            i += 1
    return i


def check_scan(lint: list[str], path: Path, deployments: int, work: Path) -> None:
    """What the scan finds: every Deployment's image, and nothing else."""
    report = work / "scan.json"
    command = [*lint, "scan", "--offline", "-q", "--json", str(report), str(path)]
    wall, _rss, _cpu, code = run_process(
        command, env=dict(os.environ), cwd=work, stdout=work / "check.out", timeout=600
    )
    if code not in (0, 1):
        raise SystemExit(f"scan failed ({code}): {(work / 'check.err').read_text()}")
    results = json.loads(report.read_text())["results"]
    found = sorted(r["reference"] for r in results)
    wanted = sorted(f"ghcr.io/example/widget{i}-controller:v1.{i}.0" for i in range(deployments))
    if found != wanted:
        raise SystemExit(f"scan found {len(found)} references, not the {deployments} written")
    print(f"check: {len(found)} references found, one per Deployment ({wall:.2f} s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--megabytes", type=float, default=5.0, help="file size (5)")
    parser.add_argument("--runs", type=int, default=5, help="runs of each command (5)")
    parser.add_argument("--json-out", metavar="FILE", help="write the numbers as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the generated file")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="manifest-lint-scan-large-"))
    python = sys.executable
    script = Path(python).parent / "manifest-lint"
    lint = [str(script)] if script.exists() else [python, "-m", "manifest_lint"]
    try:
        path = work / "install.yaml"
        deployments = write_install_yaml(path, args.megabytes)
        size = path.stat().st_size
        print(f"{path}: {size / 1e6:.2f} MB, {deployments} CRDs and Deployments")
        check_scan(lint, path, deployments, work)
        floor = (
            "import sys, yaml\n"
            "with open(sys.argv[1], encoding='utf-8') as f:\n"
            "    list(yaml.load_all(f.read(), Loader=yaml.CSafeLoader))\n"
        )
        commands = {
            "python -c pass": [python, "-c", "pass"],
            "floor: libyaml": [python, "-c", floor, str(path)],
            "scan --offline -q": [*lint, "scan", "--offline", "-q", str(path)],
        }
        runs: dict[str, list[tuple[float, float]]] = {label: [] for label in commands}
        for _ in range(args.runs):
            for label, command in commands.items():
                wall, rss, _cpu, code = run_process(
                    command, env=dict(os.environ), cwd=work, stdout=work / "run.out", timeout=600
                )
                if code not in (0, 1):  # 1: a policy failed, which is a normal outcome
                    raise SystemExit(f"{label} failed ({code}): {(work / 'run.err').read_text()}")
                runs[label].append((wall, rss))
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    print(f"\ncpus {os.cpu_count()}; load {os.getloadavg()}; {args.runs} runs each, interleaved")
    if GNU_TIME is None:
        print("(no GNU time: peak RSS is an upper bound, see bench/lint.py)")
    print(f"{'command':20} {'median s':>9} {'min s':>7} {'peak RSS MiB':>13}")
    results = {}
    for label, values in runs.items():
        walls = [wall for wall, _ in values]
        rss = max(r for _, r in values)
        results[label] = {"median": statistics.median(walls), "min": min(walls), "rss": rss}
        print(f"{label:20} {statistics.median(walls):9.2f} {min(walls):7.2f} {rss:13.1f}")
    ratio = results["scan --offline -q"]["median"] / results["floor: libyaml"]["median"]
    print(f"\nscan / libyaml floor: {ratio:.2f}x")
    if args.json_out:
        Path(args.json_out).write_text(
            json.dumps({"bytes": size, "deployments": deployments, "runs": results}, indent=2)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
