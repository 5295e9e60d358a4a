"""Faults between manifest-lint and a real registry: retried when transient, never a pass.

Every test here puts :class:`~helpers.fault_proxy.FaultProxy` between
``manifest_lint.cli.main.main`` and the real CNCF registry of the ``registry``
fixture, and reads what ``--json`` and ``--junit`` say:

* 20% random transient faults (429 with ``Retry-After`` in seconds or as an
  HTTP-date, 503 with and without it, connection resets, bodies cut short) over
  200 references give exactly the results of a fault-free run;
* a persistent outage is an ``error`` for every reference (exit code 3), never a
  pass, in every report;
* a ``Retry-After`` beyond ``--timeout`` is not waited for: the error says so;
* tampered bodies and lying headers are errors;
* a ``Content-Type`` that is not a manifest type does not decide anything: the
  digest-verified body and its own ``mediaType`` do.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from manifest_lint.errors import RegistryError, RegistryUnavailableError
from manifest_lint.sources.registry.client import RegistryClient
from manifest_lint.sources.registry.options import RegistryOptions
from manifest_lint.sources.registry.retry import MAX_ATTEMPTS, parse_retry_after
from tests.helpers.cli import Run, run_with_report
from tests.helpers.fault_proxy import (
    FAKE_DIGEST,
    TRANSIENT,
    Fault,
    FaultProxy,
    RandomFaults,
    Rule,
    http_date_in,
)
from tests.helpers.images import (
    OCI_CONFIG,
    OCI_LAYER,
    OCI_MANIFEST,
    Blob,
    Built,
    Platform,
    build_index,
    canonical_json,
    make_layer,
    push,
    sha256_digest,
)
from tests.helpers.registry_server import RegistryServer
from tests.helpers.reports import read_junit, suites_by_reference, validate_junit, validate_sarif

pytestmark = pytest.mark.registry

#: A platform-scoped policy reading every config, so that a config read wrong (or not at
#: all) changes the results.
POLICY = """\
apiVersion: manifest-lint.dev/v1
kind: Policy
metadata: {name: index-label}
spec:
  scope: platform
  validations:
    - expression: int(platform.config.labels['org.example.index']) % 3 != 0
      messageExpression: >-
        'index ' + platform.config.labels['org.example.index'] + ' is a multiple of 3'
"""
REFERENCES = 200
OUTAGE_REFERENCES = 20
LABEL = "org.example.index"


# --------------------------------------------------------------------------- images


def small_manifest(index: int, platform: str, layer: Blob, diff_id: str) -> Built:
    """An OCI manifest over a shared layer, with a config of its own (the label)."""
    plat = Platform.parse(platform)
    config_obj = {
        "architecture": plat.architecture,
        "os": plat.os,
        **({"variant": plat.variant} if plat.variant else {}),
        "config": {"Labels": {LABEL: str(index)}, "Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    }
    config = Blob(OCI_CONFIG, canonical_json(config_obj))
    doc = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config.descriptor(),
        "layers": [layer.descriptor()],
    }
    data = canonical_json(doc)
    return Built(
        media_type=OCI_MANIFEST,
        data=data,
        digest=sha256_digest(data),
        manifests=(Blob(OCI_MANIFEST, data),),
        blobs={config.digest: config, layer.digest: layer},
        platform=plat,
        config=config,
    )


@dataclass(frozen=True)
class Pushed:
    """``references`` are ``REPO:TAG`` or ``REPO@DIGEST``, without a host: each test puts
    its proxy's in front. ``built`` maps each to its content."""

    references: list[str]
    built: dict[str, Built]


def small_image(index: int, layer: Blob, diff_id: str) -> Built:
    """Every fourth image is an index over two platforms, the rest single manifests."""
    if index % 4 == 0:
        children = [
            small_manifest(index, p, layer, diff_id) for p in ("linux/amd64", "linux/arm64")
        ]
        return build_index(children)
    return small_manifest(index, "linux/amd64", layer, diff_id)


def push_images(registry: RegistryServer, count: int, prefix: str) -> Pushed:
    """``count`` small images in four repositories, pushed by a thread pool; every
    tenth one is referenced by digest."""
    shared = make_layer({"etc/fault-test": b"shared layer\n"}, media_type=OCI_LAYER)
    built = {i: small_image(i, shared.blob, shared.diff_id) for i in range(count)}
    limits = httpx.Limits(max_connections=16, max_keepalive_connections=16)
    with httpx.Client(timeout=30.0, limits=limits) as client:
        # The shared layer first, once per repository, so the pushes never race on it.
        for repo in {f"{prefix}/r{i % 4}" for i in range(count)}:
            push(
                registry.url,
                repo,
                small_manifest(-1, "linux/amd64", shared.blob, shared.diff_id),
                None,
                client=client,
            )

        def one(i: int) -> str:
            repo = f"{prefix}/r{i % 4}"
            # By tag only: the registry serves a manifest by its digest all the same.
            pushed = push(
                registry.url, repo, built[i], f"t{i}", client=client, also_by_digest=False
            )
            return f"{repo}@{pushed.digest}" if i % 10 == 5 else f"{repo}:t{i}"

        with ThreadPoolExecutor(8) as pool:
            references = list(pool.map(one, range(count)))
    return Pushed(references, {references[i]: built[i] for i in range(count)})


@pytest.fixture(scope="module")
def images(registry: RegistryServer) -> Pushed:
    return push_images(registry, REFERENCES, "faults")


@pytest.fixture
def policy(tmp_path: Path) -> str:
    path = tmp_path / "index-label.yaml"
    path.write_text(POLICY)
    return str(path)


# --------------------------------------------------------------------------- running


def lint(
    capsys: pytest.CaptureFixture[str],
    directory: Path,
    references: Sequence[str],
    *extra: str,
) -> Run:
    """``main()`` with ``--json`` and ``--junit`` into ``directory`` (created)."""
    return run_with_report(capsys, directory, *references, *extra, junit=True)


def comparable(result: dict[str, Any], host: str) -> dict[str, Any]:
    """A result with the proxy's address taken out (each run has its own proxy)."""
    replaced: dict[str, Any] = json.loads(json.dumps(result).replace(host, "HOST"))
    return replaced


def junit_cases(path: Path, host: str) -> list[tuple[str, list[tuple[str, str, str]]]]:
    _, suites = read_junit(path)
    return [
        (
            s.name.replace(host, "HOST"),
            [(c.name, c.kind, c.message.replace(host, "HOST")) for c in s.cases],
        )
        for s in suites
    ]


def outcomes(run: Run) -> list[str]:
    """Every outcome anywhere in the JSON report: references' and findings'."""
    found = []
    for result in run.results:
        found.append(result["outcome"])
        found.extend(f["outcome"] for f in result["findings"])
    return found


# --------------------------------------------------------------------------- (a) random faults


def test_random_transient_faults_change_no_result(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    registry: RegistryServer,
    images: Pushed,
    policy: str,
) -> None:
    """200 references, fault-free and then with 20% random transient faults: the same
    result for every reference, in JSON and JUnit."""
    common = ("--policy", policy, "--concurrency", "16")

    with FaultProxy(registry.host) as clean:
        refs = [f"{clean.host}/{r}" for r in images.references]
        baseline = lint(
            capsys, tmp_path / "clean", refs, *common, "--cache-dir", str(tmp_path / "cache-clean")
        )
        assert clean.injected == 0
    # Sanity: the baseline is a mix of outcomes, all read (no fetch errors).
    assert baseline.code == 1, baseline.err
    assert {r["outcome"] for r in baseline.results} == {"fail"}
    assert "error" not in outcomes(baseline)
    assert outcomes(baseline).count("pass") > REFERENCES
    label_results = [
        f for r in baseline.results for f in r["findings"] if f["policy"] == "index-label"
    ]
    assert {f["outcome"] for f in label_results} == {"pass", "fail"}

    faults = RandomFaults(seed=20240611, probability=0.2, max_consecutive=MAX_ATTEMPTS - 1)
    with FaultProxy(registry.host, random_faults=faults) as proxy:
        refs = [f"{proxy.host}/{r}" for r in images.references]
        faulty = lint(
            capsys,
            tmp_path / "faulty",
            refs,
            *common,
            "--cache-dir",
            str(tmp_path / "cache-faulty"),
        )
        requests, injected = proxy.requests, dict(proxy.faults)

    print(
        f"\n20% random transient faults: {sum(injected.values())} faults injected "
        f"({', '.join(f'{k}: {v}' for k, v in sorted(injected.items()))}) in {requests} "
        f"requests, {REFERENCES} references, run took {faulty.seconds:.1f} s "
        f"(fault-free: {baseline.seconds:.1f} s)"
    )
    # Every kind of transient fault was injected, about as often as asked.
    assert set(injected) == set(TRANSIENT)
    assert 0.12 * requests < sum(injected.values()) < 0.28 * requests

    assert faulty.code == baseline.code, faulty.err
    assert len(faulty.results) == len(baseline.results) == REFERENCES
    for before, after in zip(baseline.results, faulty.results, strict=True):
        assert comparable(after, proxy.host) == comparable(before, clean.host)
    validate_junit(baseline.junit)
    validate_junit(faulty.junit)
    assert junit_cases(faulty.junit, proxy.host) == junit_cases(baseline.junit, clean.host)
    summary = faulty.report["summary"]
    assert summary["error"] == 0
    assert faulty.seconds < 60


# --------------------------------------------------------------------------- (b) outage


@pytest.mark.parametrize(
    "rule",
    [
        pytest.param(Rule(Fault.UNAVAILABLE), id="503-everything"),
        pytest.param(Rule(Fault.UNAVAILABLE, retry_after="0"), id="503-retry-after-0"),
        pytest.param(Rule(Fault.RATE_LIMIT, retry_after="0"), id="429-everything"),
        pytest.param(Rule(Fault.RESET), id="reset-everything"),
    ],
)
def test_a_persistent_outage_is_an_error_for_every_reference(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    registry: RegistryServer,
    images: Pushed,
    rule: Rule,
) -> None:
    with FaultProxy(registry.host, [rule]) as proxy:
        refs = [f"{proxy.host}/{r}" for r in images.references[:OUTAGE_REFERENCES]]
        run = lint(
            capsys,
            tmp_path,
            refs,
            "--timeout",
            "2",
            "--concurrency",
            str(OUTAGE_REFERENCES),
            "--sarif",
            str(tmp_path / "report.sarif"),
        )
        requests, injected = proxy.requests, proxy.injected
    print(
        f"\noutage ({rule.fault}): {injected} faults injected in {requests} requests, "
        f"{OUTAGE_REFERENCES} references, run took {run.seconds:.1f} s"
    )
    assert run.code == 3, run.err
    assert injected == requests > 0
    # At most MAX_ATTEMPTS requests for each reference: the first request is the last.
    assert requests <= OUTAGE_REFERENCES * MAX_ATTEMPTS
    assert [r["reference"] for r in run.results] == refs
    assert "pass" not in outcomes(run)
    for result in run.results:
        assert result["outcome"] == "error"
        assert result["digest"] == ""
        [finding] = result["findings"]
        assert (finding["policy"], finding["outcome"]) == ("fetch", "error")
        assert f"registry {proxy.host}" in finding["message"]
        assert "gave up after" in finding["message"]
    assert run.report["summary"]["pass"] == 0
    assert run.report["summary"]["error"] == OUTAGE_REFERENCES

    validate_junit(run.junit)
    suites = suites_by_reference(run.junit, refs)
    totals, _ = read_junit(run.junit)
    assert (totals["tests"], totals["errors"], totals["failures"]) == ("20", "20", "0")
    for suite in suites.values():
        assert [(c.name, c.kind) for c in suite.cases] == [("fetch", "error")]
        assert proxy.host in suite.cases[0].message
    sarif = validate_sarif(tmp_path / "report.sarif")
    assert sarif["runs"][0]["invocations"][0]["executionSuccessful"] is False
    assert {r["kind"] for r in sarif["runs"][0]["results"]} == {"fail"}
    # --timeout 2 is a deadline for each reference, retries included; all read at once.
    assert run.seconds < 10


# --------------------------------------------------------------------------- (c) a long 429


@pytest.mark.parametrize(
    "retry_after",
    [
        pytest.param("30", id="seconds"),
        pytest.param(http_date_in(30), id="http-date"),
    ],
)
def test_a_rate_limit_beyond_the_deadline_is_not_waited_for(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    registry: RegistryServer,
    images: Pushed,
    retry_after: Any,
) -> None:
    with FaultProxy(registry.host, [Rule(Fault.RATE_LIMIT, retry_after=retry_after)]) as proxy:
        ref = f"{proxy.host}/{images.references[1]}"
        run = lint(capsys, tmp_path, [ref], "--timeout", "2")
        requests = proxy.requests
    assert run.code == 3
    [result] = run.results
    [finding] = result["findings"]
    assert finding["outcome"] == "error"
    message = finding["message"]
    assert message.startswith(
        f"registry {proxy.host} is rate limiting requests for {ref}: HTTP 429"
    )
    assert "gave up after 1 attempt;" in message
    assert "the registry asked to wait" in message
    assert message.endswith("; --timeout 2 s)")
    # One request, and no 30-second sleep.
    assert requests == 1
    assert run.seconds < 15


def test_a_short_retry_after_is_honoured(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    registry: RegistryServer,
    images: Pushed,
) -> None:
    ref = images.references[1]
    rules = [Rule(Fault.RATE_LIMIT, retry_after="1", count=2)]
    with FaultProxy(registry.host, rules) as proxy:
        run = lint(capsys, tmp_path, [f"{proxy.host}/{ref}"], "--timeout", "10")
        assert proxy.faults[Fault.RATE_LIMIT] == 2
    assert run.report["summary"]["error"] == 0
    assert run.seconds >= 2  # waited the 1 s it was asked to, twice


def test_a_slow_answer_within_the_deadline_passes_and_beyond_it_is_an_error(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    registry: RegistryServer,
    images: Pushed,
) -> None:
    ref = images.references[1]
    with FaultProxy(registry.host, [Rule(Fault.SLOW, delay=0.5, count=2)]) as proxy:
        run = lint(capsys, tmp_path / "ok", [f"{proxy.host}/{ref}"], "--timeout", "3")
    assert run.report["summary"]["error"] == 0
    with FaultProxy(registry.host, [Rule(Fault.SLOW, delay=5)]) as proxy:
        run = lint(capsys, tmp_path / "slow", [f"{proxy.host}/{ref}"], "--timeout", "1")
    [finding] = run.results[0]["findings"]
    assert finding["outcome"] == "error"
    assert f"registry {proxy.host} timed out" in finding["message"]
    assert run.seconds < 4.5  # the deadline, not the 5 s the proxy would have taken


# --------------------------------------------------------------------------- (d) tampering


def test_tampered_bodies_and_lying_headers_are_errors_never_passes(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    registry: RegistryServer,
    images: Pushed,
    policy: str,
) -> None:
    """One run, one lie per reference; an untouched reference as a control. Without the
    cache, a tag is fetched with one GET (whose Docker-Content-Digest is the check)."""
    pinned_ref, single_ref, index_ref, config_ref, control_ref = (
        images.references[i] for i in (5, 1, 4, 3, 2)
    )
    assert "@" in pinned_ref
    child = images.built[index_ref].children[1]
    config = images.built[config_ref].config
    assert config is not None
    rules = [
        Rule(Fault.TAMPER, f"/manifests/{images.built[pinned_ref].digest}"),
        Rule(Fault.DIGEST, f"/manifests/{single_ref.rpartition(':')[2]}"),
        Rule(Fault.TAMPER, f"/manifests/{child.digest}"),
        Rule(Fault.TAMPER, f"/blobs/{config.digest}"),
    ]
    sarif = tmp_path / "report.sarif"
    with FaultProxy(registry.host, rules) as proxy:
        refs = [
            f"{proxy.host}/{r}"
            for r in (pinned_ref, single_ref, index_ref, config_ref, control_ref)
        ]
        run = lint(capsys, tmp_path, refs, "--policy", policy, "--no-cache", "--sarif", str(sarif))
        assert [r.injected for r in rules] == [1, 1, 1, 1]
    assert run.code == 3
    *lied, control = run.results
    assert "error" not in [f["outcome"] for f in control["findings"]]
    for result in lied:
        assert result["outcome"] == "error"
        assert result["digest"] == ""
        [finding] = result["findings"]
        assert finding["policy"] == "fetch"
        assert "mismatch" in finding["message"]
    assert FAKE_DIGEST in lied[1]["findings"][0]["message"]
    assert child.digest in lied[2]["findings"][0]["message"]
    assert config.digest in lied[3]["findings"][0]["message"]
    validate_junit(run.junit)
    suites = suites_by_reference(run.junit, refs)
    for ref in refs[:-1]:
        assert [(c.name, c.kind) for c in suites[ref].cases] == [("fetch", "error")]
    document = validate_sarif(sarif)
    lied_results = [
        r
        for r in document["runs"][0]["results"]
        if r["locations"][0]["logicalLocations"][0]["name"] in refs[:-1]
    ]
    assert [(r["ruleId"], r["kind"], r["level"]) for r in lied_results] == [
        ("fetch", "fail", "error")
    ] * 4


# --------------------------------------------------------------------------- (e) Content-Type


@pytest.mark.parametrize("cache", [True, False], ids=["HEAD-then-GET", "no-cache-GET"])
@pytest.mark.parametrize("content_type", ["text/plain; charset=utf-8", "application/octet-stream"])
def test_a_content_type_that_is_no_manifest_type_is_ignored(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    registry: RegistryServer,
    images: Pushed,
    policy: str,
    cache: bool,
    content_type: str,
) -> None:
    """The header is not covered by any digest; the body is. A registry (or a proxy)
    sending ``text/plain`` for a manifest changes nothing: the verified body's own
    ``mediaType`` says what it is, and the results are those of an honest answer."""
    index_ref, single_ref = images.references[4], images.references[1]
    extra = () if cache else ("--no-cache",)
    with FaultProxy(registry.host) as clean:
        honest = lint(
            capsys,
            tmp_path / "honest",
            [f"{clean.host}/{index_ref}", f"{clean.host}/{single_ref}"],
            "--policy",
            policy,
            *extra,
        )
    rules = [Rule(Fault.CONTENT_TYPE, "", content_type=content_type)]
    with FaultProxy(registry.host, rules) as proxy:
        refs = [f"{proxy.host}/{index_ref}", f"{proxy.host}/{single_ref}"]
        run = lint(capsys, tmp_path / "odd", refs, "--policy", policy, *extra)
        assert proxy.faults[Fault.CONTENT_TYPE] > 0
    assert "error" not in outcomes(run)
    for before, after in zip(honest.results, run.results, strict=True):
        assert comparable(after, proxy.host) == comparable(before, clean.host)


def test_a_content_type_contradicting_the_body_is_an_error(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    registry: RegistryServer,
    images: Pushed,
) -> None:
    """Two manifest types that disagree (the header says index, the body says image
    manifest) are a broken answer: an error, never a guess."""
    single_ref = images.references[1]
    rules = [
        Rule(
            Fault.CONTENT_TYPE,
            f"/manifests/{single_ref.rpartition(':')[2]}",
            content_type="application/vnd.oci.image.index.v1+json",
        )
    ]
    with FaultProxy(registry.host, rules) as proxy:
        run = lint(capsys, tmp_path, [f"{proxy.host}/{single_ref}"], "--no-cache")
    [result] = run.results
    assert result["outcome"] == "error"
    assert "does not match" in result["findings"][0]["message"]


# --------------------------------------------------------------------------- (f) units


NOW = datetime(2024, 6, 11, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", 0.0),
        ("1", 1.0),
        ("120", 120.0),
        (" 7 ", 7.0),
        ("", None),
        ("soon", None),
        ("-1", None),
        ("1.5", None),
        ("Tue, 11 Jun 2024 12:00:30 GMT", 30.0),
        ("Tue, 11 Jun 2024 11:59:00 GMT", 0.0),  # in the past: no wait
        ("Tuesday, 11-Jun-24 12:01:00 GMT", 60.0),  # RFC 850, obsolete but allowed
        ("Tue Jun 11 12:00:05 2024", 5.0),  # asctime
        ("Tue, 32 Jun 2024 12:00:30 GMT", None),
    ],
)
def test_parse_retry_after(value: str, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected


@pytest.fixture
def direct(registry: RegistryServer) -> Iterator[tuple[FaultProxy, list[Rule]]]:
    """A proxy and its (live) list of rules."""
    with FaultProxy(registry.host) as proxy:
        yield proxy, proxy.rules


def make_client(host: str, *, timeout: float = 30.0) -> tuple[RegistryClient, list[float]]:
    """A client whose waits are recorded, not slept."""
    client = RegistryClient(host, RegistryOptions(timeout=timeout))
    sleeps: list[float] = []
    client._sleep = sleeps.append
    return client, sleeps


def split(reference: str) -> tuple[str, str]:
    repo, sep, tag = reference.rpartition(":")
    assert sep
    return repo, tag


@pytest.mark.parametrize(
    ("rule", "waits"),
    [
        pytest.param(Rule(Fault.RATE_LIMIT, retry_after="3", count=2), [3.0, 3.0], id="429"),
        pytest.param(Rule(Fault.UNAVAILABLE, retry_after="2", count=1), [2.0], id="503"),
    ],
)
def test_retry_after_is_what_the_client_waits(
    direct: tuple[FaultProxy, list[Rule]], images: Pushed, rule: Rule, waits: list[float]
) -> None:
    proxy, rules = direct
    rules.append(rule)
    client, sleeps = make_client(proxy.host)
    repo, tag = split(images.references[1])
    try:
        fetched = client.get_manifest(repo, tag, what="test")
    finally:
        client.close()
    assert fetched.digest == images.built[images.references[1]].digest
    assert sleeps == waits
    assert proxy.requests == len(waits) + 1


def test_http_date_retry_after_is_waited_until(
    direct: tuple[FaultProxy, list[Rule]], images: Pushed
) -> None:
    proxy, rules = direct
    rules.append(Rule(Fault.UNAVAILABLE, retry_after=http_date_in(20), count=1))
    client, sleeps = make_client(proxy.host)
    repo, tag = split(images.references[1])
    try:
        client.get_manifest(repo, tag, what="test")
    finally:
        client.close()
    [wait] = sleeps
    assert 18 <= wait <= 20  # whole seconds in the date, and a moment passed


def test_without_retry_after_the_waits_back_off(
    direct: tuple[FaultProxy, list[Rule]], images: Pushed
) -> None:
    proxy, rules = direct
    rules.append(Rule(Fault.UNAVAILABLE))
    client, sleeps = make_client(proxy.host)
    repo, tag = split(images.references[1])
    try:
        with pytest.raises(RegistryUnavailableError) as excinfo:
            client.get_manifest(repo, tag, what="test")
    finally:
        client.close()
    assert proxy.requests == MAX_ATTEMPTS
    assert len(sleeps) == MAX_ATTEMPTS - 1
    assert all(0 < s <= 8 for s in sleeps)
    # Exponential: each wait at least the previous one's base (jitter is at most 0.2 s).
    assert sleeps[-1] > sleeps[0]
    assert str(excinfo.value).endswith(f"(gave up after {MAX_ATTEMPTS} attempts; --timeout 30 s)")


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 409, 418, 500, 501])
def test_other_errors_are_not_retried(
    direct: tuple[FaultProxy, list[Rule]], images: Pushed, status: int
) -> None:
    proxy, rules = direct
    body = b'{"errors":[{"code":"DENIED","message":"no"}]}'
    rules.append(Rule(Fault.BODY, status=status, content_type="application/json", body=body))
    client, sleeps = make_client(proxy.host)
    repo, tag = split(images.references[1])
    try:
        with pytest.raises(RegistryError) as excinfo:
            client.get_manifest(repo, tag, what="test")
    finally:
        client.close()
    assert proxy.requests == 1
    assert sleeps == []
    assert "gave up" not in str(excinfo.value)


# --------------------------------------------------------------------------- the proxy itself


def test_the_proxy_injects_each_fault_as_documented(
    direct: tuple[FaultProxy, list[Rule]], images: Pushed
) -> None:
    """Each fault as a plain HTTP client sees it (manifest-lint aside)."""
    proxy, rules = direct
    repo, tag = split(images.references[1])
    path = f"/v2/{repo}/manifests/{tag}"
    url = f"http://{proxy.host}{path}"
    accept = {"Accept": OCI_MANIFEST}
    honest = httpx.get(url, headers=accept, timeout=10)
    assert honest.status_code == 200
    assert honest.content == images.built[images.references[1]].data

    def get(rule: Rule) -> httpx.Response:
        rules[:] = [rule]
        return httpx.get(url, headers=accept, timeout=10)

    answer = get(Rule(Fault.RATE_LIMIT, retry_after="7"))
    assert (answer.status_code, answer.headers["Retry-After"]) == (429, "7")
    answer = get(Rule(Fault.UNAVAILABLE))
    assert answer.status_code == 503
    assert "Retry-After" not in answer.headers
    date = get(Rule(Fault.UNAVAILABLE, retry_after=http_date_in(5))).headers["Retry-After"]
    assert 3 <= (parse_retry_after(date) or 0) <= 5
    with pytest.raises(httpx.TransportError):
        get(Rule(Fault.RESET))
    with pytest.raises(httpx.RemoteProtocolError, match=r"incomplete|complete message body"):
        get(Rule(Fault.TRUNCATE))
    started = time.monotonic()
    assert get(Rule(Fault.SLOW, delay=0.3)).content == honest.content
    assert time.monotonic() - started >= 0.3
    assert get(Rule(Fault.CONTENT_TYPE)).headers["Content-Type"].startswith("text/plain")
    assert get(Rule(Fault.DIGEST)).headers["Docker-Content-Digest"] == FAKE_DIGEST
    tampered = get(Rule(Fault.TAMPER)).content
    assert len(tampered) == len(honest.content)
    assert sum(a != b for a, b in zip(tampered, honest.content, strict=True)) == 1
    answer = get(Rule(Fault.BODY, status=418, body=b"teapot", headers={"X-Test": "1"}))
    assert (answer.status_code, answer.content, answer.headers["X-Test"]) == (418, b"teapot", "1")
    # Rules match by method and path suffix, and stop after their count.
    rules[:] = [Rule(Fault.UNAVAILABLE, path, method="HEAD", count=1)]
    assert httpx.get(url, headers=accept, timeout=10).status_code == 200
    assert httpx.head(url, headers=accept, timeout=10).status_code == 503
    assert httpx.head(url, headers=accept, timeout=10).status_code == 200
    assert proxy.seen(path, "HEAD") == 2
