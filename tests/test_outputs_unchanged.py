"""The CLI's outputs, byte for byte, against golden files recorded before the modules
moved into packages (``tests/golden/unchanged/``, one directory per case).

Each case runs ``python -m manifest_lint ARGS`` as a subprocess, so nothing here depends
on internal import paths: from the repository root, in a small fixed environment (no
``GITHUB_ACTIONS``, ``COLUMNS=80``, ``NO_COLOR``, installed plugins off, a temporary
``HOME`` and cache). Its exit code, standard output, standard error and every file it
wrote are compared with the golden files after :func:`normalise`, which replaces only
what legitimately differs between runs (the registry's port, temporary paths, durations).
Registry cases use the ``registry`` and ``pushed`` fixtures of ``conftest.py``.

To record the golden files again (only when an output is meant to change)::

    MANIFEST_LINT_RECORD_GOLDEN=1 python -m pytest tests/test_outputs_unchanged.py

Recording writes the files and then fails every case, so a run with the variable set
never passes; run again without it and review the diff of ``tests/golden/unchanged/``.
"""

from __future__ import annotations

import difflib
import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden" / "unchanged"
RECORD_ENV = "MANIFEST_LINT_RECORD_GOLDEN"
RECORD = os.environ.get(RECORD_ENV, "") not in ("", "0")
#: The Python (major.minor) the golden files were recorded with: argparse's help and
#: usage errors are worded differently by other versions.
PYTHON_VERSION_FILE = GOLDEN / "python-version.txt"
RUNNING_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
TIMEOUT = 120.0

LAYOUT = "oci:examples/multiarch:1.0"
SCAN_FILES = tuple(
    f"tests/fixtures/scan/{name}"
    for name in ("Dockerfile", "Containerfile", "compose.yaml", "manifests.yaml")
)
REPORT_FILES = (
    *("--json", "{out}/report.json"),
    *("--junit", "{out}/report.junit.xml"),
    *("--sarif", "{out}/report.sarif"),
)


class RegistryFixture(Protocol):
    """What is used of the ``registry`` fixture (its class lives in the test helpers,
    which are not imported here: their import path is part of the move)."""

    @property
    def host(self) -> str: ...


class PushedImage(Protocol):
    """What is used of one value of the ``pushed`` fixture."""

    @property
    def reference(self) -> str: ...


@dataclass(frozen=True)
class Case:
    """One run of the CLI. ``args`` may hold placeholders: ``{out}`` (the directory for
    report files), ``{cache}`` (an empty cache directory), and, for registry cases,
    ``{registry}`` (``127.0.0.1:PORT``) and ``{NAME}`` for each image of ``pushed``."""

    name: str
    args: tuple[str, ...]
    registry: bool = False
    #: Rendered by argparse (help, unknown flags), whose wording depends on the Python version.
    argparse: bool = False


CASES = (
    # (1) The example OCI layout: text on stdout, every report format into files.
    Case(
        "lint-layout",
        (
            LAYOUT,
            *("--format", "text", "--cache-dir", "{cache}"),
            *REPORT_FILES,
            *("--output", "github={out}/report.github"),
        ),
    ),
    # (2) inspect of the layout.
    Case("inspect-layout-text", ("inspect", "--cache-dir", "{cache}", LAYOUT)),
    Case("inspect-layout-json", ("inspect", "--format", "json", "--cache-dir", "{cache}", LAYOUT)),
    # (3) Images pushed to the real registry: an OCI index of four platforms with
    # attestations, and a single Docker schema2 manifest (stdout in every format).
    Case(
        "lint-registry-index",
        ("{oci_index}", "--cache-dir", "{cache}", *REPORT_FILES),
        registry=True,
    ),
    Case(
        "lint-registry-single-text",
        ("{docker_manifest}", "--cache-dir", "{cache}"),
        registry=True,
    ),
    *(
        Case(
            f"lint-registry-single-{fmt}",
            ("{docker_manifest}", "--format", fmt, "--cache-dir", "{cache}"),
            registry=True,
        )
        for fmt in ("json", "junit", "sarif")
    ),
    Case(
        "inspect-registry-index-json",
        ("inspect", "--format", "json", "--cache-dir", "{cache}", "{oci_index}"),
        registry=True,
    ),
    Case(
        "inspect-registry-single-json",
        ("inspect", "--format", "json", "--cache-dir", "{cache}", "{docker_manifest}"),
        registry=True,
    ),
    # (4) A reference the registry does not have (a tag missing from a pushed repository).
    Case(
        "lint-registry-missing-tag",
        ("{registry}/cases/oci-index:no-such-tag", "--cache-dir", "{cache}", *REPORT_FILES),
        registry=True,
    ),
    # A reference that does not parse.
    Case(
        "lint-invalid-reference",
        ("Not/A Reference", "--no-cache", "--json", "{out}/report.json"),
    ),
    # (5) scan, offline, over the scan fixtures.
    Case(
        "scan-offline",
        (
            *("scan", "--offline", "--no-cache"),
            *SCAN_FILES,
            *("--json", "{out}/report.json", "--sarif", "{out}/report.sarif"),
        ),
    ),
    # (6) Help, version and usage errors.
    Case("help-main", ("--help",), argparse=True),
    Case("help-scan", ("scan", "--help"), argparse=True),
    Case("help-inspect", ("inspect", "--help"), argparse=True),
    Case("help-record", ("record", "--help"), argparse=True),
    Case("help-test", ("test", "--help"), argparse=True),
    Case("version", ("--version",)),
    Case("usage-bad-flag", ("--bogus", LAYOUT), argparse=True),
    Case("usage-scan-bad-flag", ("scan", "--bogus", *SCAN_FILES), argparse=True),
    Case("usage-no-references", ()),
)

_FINGERPRINT = re.compile(r'("manifestLint/v1": ")([0-9a-f]{64})(")')


def normalise(text: str, *, tmp: Path, registry: str | None) -> str:
    """Replace what differs between two runs of the same case; nothing else."""
    # Temporary directories (report files, cache, HOME) are new for every run.
    text = text.replace(str(tmp), "<tmp>")
    if registry is not None:
        # The registry listens on a free port chosen for each session.
        text = text.replace(registry, "127.0.0.1:<port>")
        # SARIF partialFingerprints hash the reference, port included: number them in
        # order of first appearance, which keeps which results share one (the layout
        # case checks the hashes themselves).
        numbers: dict[str, int] = {}

        def number(match: re.Match[str]) -> str:
            n = numbers.setdefault(match[2], len(numbers) + 1)
            return f"{match[1]}<fingerprint {n}>{match[3]}"

        text = _FINGERPRINT.sub(number, text)
    # JUnit: the run's wall-clock duration, on <testsuites> only.
    text = re.sub(r'(<testsuites\b[^>]*? time=")[0-9.]+(")', r"\1<seconds>\2", text)
    # JSON report: the time spent evaluating policies (a quoted placeholder keeps it JSON).
    text = re.sub(r'("evaluationSeconds": )[0-9.eE+-]+', r'\1"<seconds>"', text)
    return text


def _package_parent() -> str:
    """The directory holding the ``manifest_lint`` this session imports: the subprocess
    runs that same code (not whatever an editable install elsewhere points at)."""
    spec = importlib.util.find_spec("manifest_lint")
    assert spec is not None, "manifest_lint is not importable"
    assert spec.submodule_search_locations, "manifest_lint is not a package"
    return str(Path(next(iter(spec.submodule_search_locations))).parent)


def environment(home: Path) -> dict[str, str]:
    """A fixed environment: nothing of the caller's (CI, credentials, proxies, colours,
    ``MANIFEST_LINT_*``) leaks into the run."""
    python_path = [_package_parent(), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "PYTHONPATH": os.pathsep.join(python_path),
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "LC_ALL": "C.UTF-8",
        "PYTHONIOENCODING": "utf-8",
        "COLUMNS": "80",
        "NO_COLOR": "1",
        "MANIFEST_LINT_DISABLE_PLUGIN_AUTOLOAD": "1",
    }


def _expand(arg: str, values: Mapping[str, str]) -> str:
    for key, value in values.items():
        arg = arg.replace("{" + key + "}", value)
    assert "{" not in arg, f"unknown placeholder in {arg!r}"
    return arg


def run_case(
    case: Case, tmp: Path, values: Mapping[str, str], registry: str | None
) -> dict[str, bytes]:
    """Run ``case``; its normalised results by golden file name."""
    out, home = tmp / "out", tmp / "home"
    out.mkdir()
    home.mkdir()
    values = {"out": str(out), "cache": str(tmp / "cache"), **values}
    proc = subprocess.run(
        [sys.executable, "-m", "manifest_lint", *(_expand(a, values) for a in case.args)],
        cwd=ROOT,
        env=environment(home),
        capture_output=True,
        timeout=TIMEOUT,
        check=False,
    )

    def clean(data: bytes) -> bytes:
        text = data.decode("utf-8", "surrogateescape")
        return normalise(text, tmp=tmp, registry=registry).encode("utf-8", "surrogateescape")

    command = shlex.join(["manifest-lint", *case.args])
    results = {
        "run.txt": f"{command}\nexit code: {proc.returncode}\n".encode(),
        "stdout.txt": clean(proc.stdout),
        "stderr.txt": clean(proc.stderr),
    }
    for path in sorted(out.rglob("*")):
        if path.is_file():
            results[f"files/{path.relative_to(out).as_posix()}"] = clean(path.read_bytes())
    return results


def _read_golden(directory: Path) -> dict[str, bytes]:
    return {
        path.relative_to(directory).as_posix(): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def _record(directory: Path, results: Mapping[str, bytes]) -> None:
    if directory.exists():
        shutil.rmtree(directory)
    for name, data in results.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    PYTHON_VERSION_FILE.write_text(RUNNING_PYTHON + "\n", encoding="utf-8")


def differences(expected: Mapping[str, bytes], actual: Mapping[str, bytes]) -> list[str]:
    """What differs, file by file (missing, unexpected, or a unified diff)."""
    out = [f"{name}: has a golden file but was not written" for name in expected.keys() - actual]
    out += [f"{name}: written, but has no golden file" for name in actual.keys() - expected]
    for name in sorted(expected.keys() & actual.keys()):
        if expected[name] == actual[name]:
            continue
        diff = list(
            difflib.unified_diff(
                expected[name].decode("utf-8", "replace").splitlines(keepends=True),
                actual[name].decode("utf-8", "replace").splitlines(keepends=True),
                f"golden/{name}",
                f"actual/{name}",
            )
        )
        shown = "".join(diff[:80]) + (
            f"... ({len(diff) - 80} more diff lines)\n" * (len(diff) > 80)
        )
        out.append(shown or f"{name}: differs (in bytes the diff does not show)")
    return sorted(out)


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(case, id=case.name, marks=[pytest.mark.registry] if case.registry else [])
        for case in CASES
    ],
)
def test_output_unchanged(case: Case, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if case.argparse and not RECORD:
        recorded = PYTHON_VERSION_FILE.read_text(encoding="utf-8").strip()
        if recorded != RUNNING_PYTHON:
            pytest.skip(f"argparse output recorded with Python {recorded}, not {RUNNING_PYTHON}")
    values: dict[str, str] = {}
    registry: str | None = None
    if case.registry:
        server: RegistryFixture = request.getfixturevalue("registry")
        pushed: Mapping[str, PushedImage] = request.getfixturevalue("pushed")
        registry = server.host
        values = {"registry": registry, **{name: p.reference for name, p in pushed.items()}}
    results = run_case(case, tmp_path, values, registry)
    directory = GOLDEN / case.name
    if RECORD:
        _record(directory, results)
        pytest.fail(f"recorded {directory} ({RECORD_ENV} is set): run again without it")
    assert directory.is_dir(), f"{directory} is missing: record it with {RECORD_ENV}=1"
    problems = differences(_read_golden(directory), results)
    assert not problems, (
        f"the output of {case.name} changed; if that is intended, record again with "
        f"{RECORD_ENV}=1 and review the diff\n" + "\n".join(problems)
    )


def test_every_golden_directory_has_a_case() -> None:
    directories = {p.name for p in GOLDEN.iterdir() if p.is_dir()}
    stale = directories - {case.name for case in CASES}
    assert not stale, f"golden directories of no case (remove them): {sorted(stale)}"
