"""runner.run: every reference gets its result, in order; a local image is read as
local; workers never run far ahead of the reports.

The images are the committed example layout (``examples/multiarch``), read through
the real layout source (local) and through a source that says it is not local and
answers after a random short wait, so that results complete out of order.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from manifest_lint import runner
from manifest_lint.cel import BUILTIN_FUNCTIONS, get_backend
from manifest_lint.image.model import Descriptor
from manifest_lint.image.reference import Reference, parse_reference
from manifest_lint.plugin.builtin import builtin_policies
from manifest_lint.policy.compile import compile_policies
from manifest_lint.results import Location, Outcome, ReferenceResult, Summary
from manifest_lint.sources.base import Fetched
from manifest_lint.sources.layout import LayoutSource
from manifest_lint.sources.registry.registries import Registries

LAYOUT = Path(__file__).resolve().parents[1] / "examples" / "multiarch"


class _Remote:
    """The example layout, as a source that is not local and answers late."""

    def __init__(self, reference: Reference, registries: Registries) -> None:
        self.inner = LayoutSource(parse_reference(f"oci:{LAYOUT}:1.0"))

    def resolve(self) -> Fetched:
        time.sleep(random.uniform(0, 0.004))
        return self.inner.resolve()

    def fetch(self, descriptor: Descriptor, *, manifest: bool) -> bytes:
        time.sleep(random.uniform(0, 0.002))
        return self.inner.fetch(descriptor, manifest=manifest)

    def close(self) -> None:
        self.inner.close()


@dataclass
class _Recorder:
    results: list[ReferenceResult] = field(default_factory=list)
    threads: list[str] = field(default_factory=list)
    summary: Summary | None = None

    def add(self, result: ReferenceResult) -> None:
        self.results.append(result)
        self.threads.append(threading.current_thread().name)

    def finish(self, summary: Summary) -> None:
        self.summary = summary


def _plan(concurrency: int) -> runner.Plan:
    from manifest_lint.plugin.builtin import _open_layout

    policies = [p for p in builtin_policies() if p.name != "allowed-registries"]
    compiled = compile_policies(policies, get_backend("cel-expr-python"), BUILTIN_FUNCTIONS)
    sources: dict[str, Any] = {"oci": _open_layout, "remote": _Remote}
    return runner.Plan(compiled, sources, datetime.now(UTC), concurrency=concurrency)


def _targets(count: int) -> list[runner.Target]:
    """``count`` different references (one written the same way twice is read once):
    two of three the example layout, spelled with more ``/.`` each time, and every
    third a remote one."""

    def reference(i: int) -> str:
        return f"oci:{LAYOUT}{'/.' * i}:1.0" if i % 3 else f"remote:example{i}"

    return [runner.Target(reference(i), Location("refs.txt", i + 1)) for i in range(count)]


@pytest.mark.parametrize("concurrency", [1, 4, 16])
def test_every_reference_is_reported_in_order(concurrency: int) -> None:
    targets = _targets(60)
    recorder = _Recorder()
    with Registries() as registries:
        summary = runner.run(_plan(concurrency), targets, registries, [recorder])
    assert [r.location for r in recorder.results] == [t.location for t in targets]
    assert summary.references == 60
    assert all(r.digest.startswith("sha256:") for r in recorder.results)
    local, remote = recorder.results[1], recorder.results[0]
    assert local.digest == remote.digest
    assert len({r.reference for r in recorder.results}) == 60
    # One image, read either way: the same outcomes (messages quote the reference).
    assert [(f.policy, f.platform, f.outcome) for f in local.findings] == [
        (f.policy, f.platform, f.outcome) for f in remote.findings
    ]
    assert {f.outcome for f in local.findings} <= {Outcome.PASS, Outcome.FAIL, Outcome.SKIP}


@pytest.mark.parametrize("concurrency", [1, 4])
@pytest.mark.parametrize("offline", [False, True])
def test_a_reference_given_again_is_checked_once_and_reported_at_each_place(
    monkeypatch: pytest.MonkeyPatch, concurrency: int, offline: bool
) -> None:
    checked: list[str] = []
    real = runner.check

    def recording(target: runner.Target, *args: Any) -> Any:
        checked.append(target.reference)
        return real(target, *args)

    monkeypatch.setattr(runner, "check", recording)
    local, remote = f"oci:{LAYOUT}:1.0", "remote:example"
    written = [local, remote, local, local, remote, "remote:other", local]
    targets = [runner.Target(r, Location("Dockerfile", i + 1)) for i, r in enumerate(written)]
    # A target whose variable has no default is its own (the same text elsewhere is not).
    targets.append(runner.Target(local, Location("Dockerfile", 99), problem="needs ARG"))
    recorder = _Recorder()
    plan = replace(_plan(concurrency), offline=offline)
    with Registries() as registries:
        summary = runner.run(plan, targets, registries, [recorder])
    assert sorted(checked) == sorted([local, remote, "remote:other", local])
    assert summary.references == len(targets)
    assert [r.location for r in recorder.results] == [t.location for t in targets]
    assert [r.reference for r in recorder.results] == [t.reference for t in targets]
    first = recorder.results[0]
    for again in (recorder.results[2], recorder.results[3], recorder.results[6]):
        assert (again.digest, again.findings) == (first.digest, first.findings)
    assert recorder.results[7].findings[0].outcome is Outcome.SKIP


def test_a_local_image_is_read_as_local_and_a_remote_one_is_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    finished: dict[bool, int] = {True: 0, False: 0}
    real = runner._finish

    def recording(*args: Any, local: bool = False) -> ReferenceResult:
        finished[local] += 1
        return real(*args, local=local)

    monkeypatch.setattr(runner, "_finish", recording)
    with Registries() as registries:
        runner.run(_plan(4), _targets(30), registries, [_Recorder()])
    assert finished == {True: 20, False: 10}


def test_workers_start_no_reference_far_ahead_of_the_reports(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The window keeps what waits for the reporting thread bounded (a local image
    waiting there holds its documents)."""
    concurrency = 2
    window = runner.AHEAD * concurrency
    recorder = _Recorder()
    leads: list[int] = []
    filled = threading.Event()
    real = runner.check

    def recording(target: runner.Target, *args: Any) -> Any:
        assert target.location is not None
        leads.append(target.location.line - 1 - len(recorder.results))
        if len(leads) >= window:
            filled.set()
        return real(target, *args)

    def stalled_add(result: ReferenceResult) -> None:
        # A reporter stalled on its first result: the workers run as far ahead as
        # the window lets them (waiting for them, not for a clock, so a slow
        # machine gives the same answer).
        if not recorder.results:
            assert filled.wait(30), f"the workers started only {len(leads)} references"
            time.sleep(0.05)  # room for a worker that would start one too many
        _Recorder.add(recorder, result)

    monkeypatch.setattr(runner, "check", recording)
    monkeypatch.setattr(recorder, "add", stalled_add)
    with Registries() as registries:
        runner.run(_plan(concurrency), _targets(120), registries, [recorder])
    assert len(recorder.results) == 120
    assert max(leads) == window - 1  # it ran ahead, and no further than the window


class _Broken(Exception):
    pass


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_failing_reporter_stops_the_run_instead_of_hanging_it(concurrency: int) -> None:
    """When reporting stops (a reporter that raises, a broken pipe, Ctrl-C), the run
    must end: nothing may keep the pools' shutdown waiting for ever."""

    class Failing(_Recorder):
        def add(self, result: ReferenceResult) -> None:
            if len(self.results) == 5:
                raise _Broken("disk full")
            super().add(result)

    outcome: list[BaseException | None] = []

    def go() -> None:
        try:
            with Registries() as registries:
                runner.run(_plan(concurrency), _targets(80), registries, [Failing()])
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=go, daemon=True)
    thread.start()
    thread.join(timeout=60)  # (a hang, not a speed: the run takes well under a second)
    assert not thread.is_alive(), "the run hung after its reporter failed"
    assert len(outcome) == 1
    assert isinstance(outcome[0], _Broken)


def test_references_are_drawn_from_the_input_no_further_than_the_window() -> None:
    """10^5 references: the input is read lazily, so what waits stays bounded."""
    concurrency, count = 4, 100_000
    drawn = 0
    leads: list[int] = []

    def targets() -> Any:
        nonlocal drawn
        for i in range(count):
            drawn += 1
            yield runner.Target(f"ref{i}", Location("refs.txt", i + 1), problem="unresolved")

    class Leads(_Recorder):
        def add(self, result: ReferenceResult) -> None:
            leads.append(drawn - len(self.results))
            super().add(result)

    recorder = Leads()
    with Registries() as registries:
        summary = runner.run(_plan(concurrency), targets(), registries, [recorder])
    assert summary.references == count
    assert [r.location.line for r in recorder.results if r.location] == list(range(1, count + 1))
    assert max(leads) <= runner.AHEAD * concurrency
