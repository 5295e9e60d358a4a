"""One lint run: references in, results out to every reporter as each is ready.

Each target ends as exactly one :class:`ReferenceResult`, whatever happens to
it or to the others: a reference that does not parse or cannot be read gets an
ERROR result, so every report names every reference given. A reference given more
than once (one base image in many Dockerfiles) is resolved and evaluated once, and
each of its targets gets that result at its own location.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from manifest_lint.errors import InvalidReferenceError, NotLocal, SourceError
from manifest_lint.image.limits import MAX_STATEMENT_SIZE
from manifest_lint.image.reference import Reference, parse_reference
from manifest_lint.policy.compile import CompiledPolicy
from manifest_lint.policy.document import build_document, offline_document
from manifest_lint.policy.evaluate import evaluate
from manifest_lint.policy.needs import needs_registry
from manifest_lint.policy.waivers import apply_waivers
from manifest_lint.reporters import Reporter
from manifest_lint.sources.registry.registries import Registries

if TYPE_CHECKING:
    from concurrent.futures import Executor, Future

    from manifest_lint.image.model import Image
    from manifest_lint.image.supply_chain import Verifier
    from manifest_lint.sources.base import Fetched, Source, SourceOpener

from manifest_lint.results import (
    FETCH,
    REFERENCE,
    Finding,
    Location,
    Outcome,
    ReferenceResult,
    Severity,
    Summary,
    Waiver,
)

#: How far ahead of the reference being reported a worker may start one, in
#: multiples of ``--concurrency`` (see :func:`run`).
AHEAD = 4
SHARED = 1_024  # results kept for a reference written again (scan), at most


class Target(NamedTuple):
    """A reference to check, and where it was found (for references read from files).

    ``problem`` says why a reference found in a file cannot be resolved (a variable
    without a default): it is then reported as skipped, never guessed. ``error`` says
    why a file (REFERENCE, exit 2) or a listing (FETCH, exit 3) could not be read."""

    reference: str
    location: Location | None = None
    problem: str = ""
    error: str = ""
    error_policy: str = REFERENCE
    #: Inline exceptions written at this occurrence (``# manifest-lint ignore=``),
    #: applied to its result after the plan's own.
    waivers: tuple[Waiver, ...] = ()


@dataclass(frozen=True)
class Plan:
    policies: Sequence[CompiledPolicy]
    sources: Mapping[str, SourceOpener]
    now: datetime
    fail_on: Severity = Severity.ERROR
    concurrency: int = 16
    #: ``--offline``: no registry is asked; only policies that need nothing from one run
    #: on registry references (OCI layouts are local and still read).
    offline: bool = False
    #: Whether image configs are fetched (only when some policy may read them).
    configs: bool = True
    #: Whether what refers to the image is read (only when some policy may read it),
    #: the size cap on one statement, and the verifier plugins.
    supply_chain: bool = False
    statement_limit: int = MAX_STATEMENT_SIZE
    verifiers: Sequence[Verifier] = ()
    timer: Timer = field(default_factory=lambda: Timer())
    #: Exceptions (docs/exceptions.md), in the order given, and how many days before it
    #: expires an applied one adds a warning.
    waivers: tuple[Waiver, ...] = ()
    warn_days: int = 14
    uses: Uses = field(default_factory=lambda: Uses())

    @functools.cached_property
    def offline_policies(self) -> tuple[list[CompiledPolicy], list[Finding]]:
        """``--offline``: the policies that run on a reference alone, and the skip
        findings of the others (which need the image)."""
        runnable = [p for p in self.policies if not needs_registry(p.policy)]
        skipped = [
            Finding(
                p.policy.name,
                Outcome.SKIP,
                p.policy.severity,
                "needs the image from the registry (--offline)",
            )
            for p in self.policies
            if needs_registry(p.policy)
        ]
        return runnable, skipped


class Timer:
    """CPU seconds spent in one kind of work, summed over threads (``time.thread_time``:
    waiting for the GIL is not counted)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._lock = threading.Lock()

    def add(self, seconds: float) -> None:
        with self._lock:
            self.seconds += seconds


class Uses:
    """Which exceptions matched a failure, and which policies were evaluated (not only
    skipped), over the whole run: references are checked concurrently."""

    def __init__(self) -> None:
        self.used: set[Waiver] = set()
        self.evaluated: set[str] = set()
        self._lock = threading.Lock()

    def add(self, used: Iterable[Waiver], findings: Iterable[Finding]) -> None:
        evaluated = {f.policy for f in findings if f.outcome is not Outcome.SKIP}
        with self._lock:
            self.used.update(used)
            self.evaluated.update(evaluated)

    def unused(self, waivers: Iterable[Waiver]) -> list[Waiver]:
        """The exceptions that matched nothing, of policies the run evaluated."""
        with self._lock:
            return [w for w in waivers if w not in self.used and w.policy in self.evaluated]


def _waive(
    plan: Plan, findings: Iterable[Finding], normalized: str, digest: str
) -> tuple[Finding, ...]:
    """``findings`` with the plan's exceptions applied (and their use recorded)."""
    at: dict[str, Any] = {"normalized": normalized, "digest": digest, "now": plan.now}
    waived, used = apply_waivers(findings, plan.waivers, warn_days=plan.warn_days, **at)
    plan.uses.add(used, waived)
    return waived


def _error(
    target: Target, policy: str, message: str, normalized: str = "", registry: str = ""
) -> ReferenceResult:
    finding = Finding(policy, Outcome.ERROR, Severity.ERROR, message)
    return ReferenceResult(
        target.reference,
        normalized=normalized,
        registry=registry,
        findings=(finding,),
        location=target.location,
    )


def _offline(target: Target, reference: Reference, plan: Plan) -> ReferenceResult:
    """The result of a registry reference without asking the registry."""
    runnable, skipped = plan.offline_policies
    document = offline_document(reference)
    started = time.thread_time()
    found = evaluate(runnable, document, plan.now)
    plan.timer.add(time.thread_time() - started)
    return ReferenceResult(
        target.reference,
        normalized=str(reference),
        registry=reference.registry,
        findings=_waive(plan, (*found, *skipped), str(reference), reference.digest),
        location=target.location,
    )


def _shared(target: Target) -> bool:
    """Whether the target's result depends on its reference alone (not on why the file
    it came from could not be read, or on what its variable lacks)."""
    return not (target.error or target.problem)


def _at(result: ReferenceResult, target: Target, plan: Plan) -> ReferenceResult:
    """``result`` (maybe of an earlier target with the same reference) at ``target``'s
    place, with ``target``'s inline exceptions applied."""
    if result.location != target.location:
        result = replace(result, location=target.location)
    if not target.waivers:
        return result
    waived, used = apply_waivers(
        result.findings,
        target.waivers,
        normalized=result.normalized or target.reference,
        digest=result.digest,
        now=plan.now,
        warn_days=plan.warn_days,
    )
    plan.uses.add(used, waived)
    return replace(result, findings=waived)


def check(
    target: Target, plan: Plan, registries: Registries, pool: Executor | None
) -> ReferenceResult:
    """Everything for one reference; never raises for the reference's sake."""
    if target.error:
        return _error(target, target.error_policy, target.error)
    if target.problem:
        skipped = Finding(REFERENCE, Outcome.SKIP, Severity.INFO, target.problem)
        return ReferenceResult(target.reference, findings=(skipped,), location=target.location)
    try:
        reference = parse_reference(target.reference, plan.sources)
    except InvalidReferenceError as exc:
        return _error(target, REFERENCE, str(exc))
    known = (str(reference), reference.registry)
    if plan.offline and reference.transport == "docker":
        return _offline(target, reference, plan)
    opener = plan.sources.get(reference.transport)
    if opener is None:
        return _error(target, REFERENCE, f"no source for transport {reference.transport!r}", *known)
    # (Not needed offline, so imported here: the offline start-up stays short.)
    from manifest_lint.sources.base import is_local
    from manifest_lint.sources.load import open_image

    try:
        source = opener(reference, registries)
        try:
            top = open_image(reference, source)
        except BaseException:
            source.close()
            raise
    except SourceError as exc:
        return _error(target, FETCH, str(exc), *known)
    return _finish(target, plan, reference, source, top, pool, local=is_local(source))


def _finish(
    target: Target,
    plan: Plan,
    reference: Reference,
    source: Source,
    top: Fetched,
    pool: Executor | None,
    *,
    local: bool = False,
) -> ReferenceResult:
    try:
        try:
            image = _read(reference, source, top, plan, pool, local)
            if plan.supply_chain:
                from manifest_lint.sources.supply_chain import with_supply_chain

                image = with_supply_chain(image, source, plan.statement_limit, plan.verifiers)
        finally:
            source.close()
    except SourceError as exc:
        return _error(target, FETCH, str(exc), str(reference), reference.registry)
    document = build_document(image)
    started = time.thread_time()
    findings = evaluate(plan.policies, document, plan.now)
    plan.timer.add(time.thread_time() - started)
    return ReferenceResult(
        target.reference,
        normalized=str(reference),
        registry=reference.registry,
        digest=image.digest,
        findings=_waive(plan, findings, str(reference), image.digest),
        location=target.location,
        # One per platform manifest (two Windows builds of windows/amd64 are two).
        platforms=tuple(sorted(m["platform"]["name"] for m in document["image"]["manifests"])),
    )


def _read(
    reference: Reference,
    source: Source,
    top: Fetched,
    plan: Plan,
    pool: Executor | None,
    local: bool,
) -> Image:
    """The image after its top document. A ``local`` image is read with no request
    and without the pool; if the cache entry lacks a document (written by
    a run that read less, such as no configs), it is read again with requests, its
    platforms through the pool, and the reference's deadline counted from now."""
    from manifest_lint.sources.base import CacheControls
    from manifest_lint.sources.load import read_image

    if local and isinstance(source, CacheControls):
        source.cache_only = True
        try:
            return read_image(reference, source, top, configs=plan.configs)
        except NotLocal:
            source.cache_only = False
            source.resume()
    elif local:
        pool = None
    return read_image(reference, source, top, configs=plan.configs, executor=pool)


def run(
    plan: Plan, targets: Iterable[Target], registries: Registries, reporters: Sequence[Reporter]
) -> Summary:
    """Check every target concurrently; report results in the order given."""
    summary = Summary()
    inline: list[Waiver] = []  # the targets' own exceptions, for the unused ones

    def report(results: Iterable[ReferenceResult]) -> None:
        for result in results:
            summary.add(result, plan.fail_on)
            for reporter in reporters:
                reporter.add(result)

    if plan.offline:
        # Nothing waits for a network: threads would only hand the GIL around (and
        # importing concurrent.futures, which imports logging, costs a pre-commit run).
        done: OrderedDict[str, ReferenceResult] = OrderedDict()  # (the last SHARED)

        def once(target: Target) -> ReferenceResult:
            inline.extend(target.waivers)
            if not _shared(target):
                return _at(check(target, plan, registries, None), target, plan)
            if target.reference not in done:
                done[target.reference] = check(target, plan, registries, None)
                if len(done) > SHARED:
                    done.popitem(last=False)
            return _at(done[target.reference], target, plan)

        report(once(t) for t in targets)
    else:
        from concurrent.futures import ThreadPoolExecutor

        workers = max(1, plan.concurrency)
        with (
            ThreadPoolExecutor(workers, thread_name_prefix="ref") as refs,
            ThreadPoolExecutor(workers, thread_name_prefix="doc") as docs,
        ):
            # Workers do the whole of a reference; results are reported in input order.
            # At most AHEAD x workers references are submitted and not yet reported:
            # what waits for the reporter (futures, results, images being read) stays
            # bounded however many references there are.
            # (Measured, and removed: a scheduler that did a cached image's CPU work in
            # this thread, with one Event per waiting worker. bench.lint's workload,
            # 300 refs, --concurrency 16, 2 cores, interleaved, medians of 8-9 rounds:
            # cold within noise (-2 to +0.4 %); warm tags 5-8 % slower (1.11-1.13 s
            # against 1.05-1.06 s: that CPU work waited in input order behind the
            # network); warm digest refs 10 % faster (0.70 s against 0.77 s). The Events
            # gained nothing over this deque; no net gain on cold or warm runs.)
            pending: deque[tuple[Future[ReferenceResult], Target]] = deque()
            # A reference seen again (scan) waits for the first one's future; the last
            # SHARED are kept (memory stays flat), an older one is checked again.
            started: OrderedDict[str, Future[ReferenceResult]] = OrderedDict()

            def start(target: Target) -> Future[ReferenceResult]:
                if not _shared(target):
                    return refs.submit(check, target, plan, registries, docs)
                if target.reference not in started:
                    started[target.reference] = refs.submit(check, target, plan, registries, docs)
                    if len(started) > SHARED:
                        started.popitem(last=False)
                return started[target.reference]

            def in_order() -> Iterator[ReferenceResult]:
                for target in targets:
                    inline.extend(target.waivers)
                    pending.append((start(target), target))
                    if len(pending) >= AHEAD * workers:
                        future, at = pending.popleft()
                        yield _at(future.result(), at, plan)
                while pending:
                    future, at = pending.popleft()
                    yield _at(future.result(), at, plan)

            try:
                report(in_order())
            except BaseException:
                # A reporter that raised, Ctrl-C, a broken pipe: start nothing more.
                refs.shutdown(wait=False, cancel_futures=True)
                raise
    summary.registries = {host: c.stats() for host, c in sorted(registries.clients().items())}
    if registries.cache is not None:
        summary.cache = {"hits": registries.cache.hits, "misses": registries.cache.misses}
    summary.evaluation_seconds = plan.timer.seconds
    summary.unused_exceptions = plan.uses.unused((*plan.waivers, *inline))
    for reporter in reporters:
        reporter.finish(summary)
    return summary
