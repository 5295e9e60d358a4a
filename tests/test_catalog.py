"""``--catalog``: the references of a real registry, listed page by page (``n=`` and
``Link``), filtered, sharded and streamed; refusals and empty listings are errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers.cli import run, run_with_report
from tests.helpers.fault_proxy import Fault, FaultProxy, Rule
from tests.helpers.images import build_manifest, push
from tests.helpers.registry_server import RegistryServer

pytestmark = pytest.mark.registry

REPOSITORIES = 20
TAGS = 15
ONE = ("--select", "max-layers")


@pytest.fixture(scope="module")
def audited(registry: RegistryServer) -> list[str]:
    """300 tags over 20 repositories under audit/ of the real registry."""
    references = []
    with httpx.Client(timeout=30.0) as client:  # (one connection for the 300 pushes)
        for repo in range(REPOSITORIES):
            image = build_manifest("linux/amd64", layers=1, seed=f"audit-{repo % 4}")
            repository = f"audit/team{repo % 5}/app{repo}"
            for tag in range(TAGS):
                name = f"1.{tag}" if tag % 5 else f"latest-{tag}"
                push(registry.url, repository, image, name, also_by_digest=False, client=client)
                references.append(f"{registry.host}/{repository}:{name}")
    return references


@pytest.fixture
def proxy(registry: RegistryServer) -> Iterator[FaultProxy]:
    with FaultProxy(registry.host).start() as started:
        yield started


def _listed(capsys: pytest.CaptureFixture[str], tmp_path: Path, *argv: str) -> list[str]:
    out = tmp_path / "out.jsonl"
    ran = run(capsys, *ONE, *argv, "--jsonl", str(out))
    assert ran.code == 0, ran.out + ran.err
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    return [line["reference"] for line in lines if "reference" in line]


def test_every_tag_of_every_repository_is_checked(
    audited: list[str],
    proxy: FaultProxy,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    registry: RegistryServer,
) -> None:
    listed = _listed(
        capsys, tmp_path, "--catalog", f"{proxy.host}/audit", "--catalog-page-size", "7"
    )
    assert sorted(listed) == sorted(r.replace(registry.host, proxy.host) for r in audited)
    paths = [e.path for e in proxy.events]
    # Pages of 7: the catalog (20 repositories here, and the other tests' too). The
    # registry (distribution 2.8) answers a tag list whole, ignoring n (distribution 3
    # pages it): tag pages are tested below, with a registry that pages them.
    assert sum(p == "/v2/_catalog" for p in paths) >= 3
    assert sum(p.endswith("/tags/list") for p in paths) == REPOSITORIES
    # Streaming: the first image was read before the last page of tags was listed.
    first_image = next(i for i, p in enumerate(paths) if "/manifests/" in p)
    last_listing = max(i for i, p in enumerate(paths) if p.endswith("/tags/list"))
    assert first_image < last_listing


def test_include_exclude_and_tag_pattern_filter(
    audited: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path, registry: RegistryServer
) -> None:
    listed = _listed(
        capsys,
        tmp_path,
        "--catalog",
        f"{registry.host}/audit",
        "--include",
        "audit/team1/*",
        "--include",
        "audit/team2/*",
        "--exclude",
        "*/app7",
        "--tag-pattern",
        r"^1\.[0-9]+$",
    )
    expected = [
        r
        for r in audited
        if ("/team1/" in r or "/team2/" in r) and "/app7:" not in r and ":latest-" not in r
    ]
    assert sorted(listed) == sorted(expected)
    assert len(expected) == 7 * 12  # apps 1, 6, 11, 16, 2, 12, 17 (not 7); 1.N tags


@pytest.mark.parametrize("total", [1, 3, 7])
def test_shards_of_a_catalog_are_the_catalog(
    total: int,
    audited: list[str],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    registry: RegistryServer,
) -> None:
    seen: list[str] = []
    for number in range(1, total + 1):
        seen += _listed(
            capsys,
            tmp_path,
            "--catalog",
            f"{registry.host}/audit",
            "--catalog-page-size",
            "7",
            "--shard",
            f"{number}/{total}",
        )
    assert sorted(seen) == sorted(audited)  # the union, and no reference twice


@pytest.mark.parametrize("status", [401, 403, 404])
def test_a_registry_that_refuses_its_catalog_is_an_error(
    status: int, registry: RegistryServer, capsys: pytest.CaptureFixture[str]
) -> None:
    refuse = Rule(Fault.BODY, path_suffix="/v2/_catalog", status=status, body=b'{"errors": []}')
    with FaultProxy(registry.host, [refuse]).start() as proxy:
        ran = run(capsys, *ONE, "--catalog", proxy.host)
    assert ran.code == 3
    assert f"registry {proxy.host} does not list its repositories" in ran.err
    assert f"HTTP {status}" in ran.err


def test_an_empty_catalog_is_nothing_to_check(
    audited: list[str], capsys: pytest.CaptureFixture[str], registry: RegistryServer
) -> None:
    ran = run(capsys, *ONE, "--catalog", f"{registry.host}/no-such-prefix")
    assert ran.code == 2
    assert "nothing to check: --catalog" in ran.err
    # With another reference given, an empty catalog is fine.
    assert run(capsys, *ONE, "--catalog", f"{registry.host}/none", audited[0]).code == 0


def test_catalog_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--catalog", "https://example.com").code == 2
    ran = run(capsys, "--catalog", "example.com", "--tag-pattern", "(")
    assert (ran.code, "--tag-pattern '('" in ran.err) == (2, True)
    assert run(capsys, "--catalog", "example.com", "--offline").code == 2


def test_tag_lists_are_followed_page_by_page(
    registry: RegistryServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A registry that pages tag lists (as distribution 3 does): every page is read,
    and a link to another host is not followed."""
    image = build_manifest("linux/amd64", layers=1, seed="paged")
    names = [f"v{i}" for i in range(5)]
    for name in names:
        push(registry.url, "paged/app", image, name)

    def answer(method: str, target: str) -> Rule | None:
        if "/v2/paged/app/tags/list" not in target:
            return None
        start = int(target.partition("last=v")[2].partition("&")[0] or -1) + 1
        page = names[start : start + 2]
        headers = {}
        if start + 2 < len(names):
            headers["Link"] = f'</v2/paged/app/tags/list?n=2&last={page[-1]}>; rel="next"'
        body = json.dumps({"name": "paged/app", "tags": page}).encode()
        return Rule(Fault.BODY, content_type="application/json", body=body, headers=headers)

    with FaultProxy(registry.host, own_answers=answer).start() as proxy:
        listed = _listed(
            capsys, tmp_path, "--catalog", f"{proxy.host}/paged", "--catalog-page-size", "2"
        )
        assert listed == [f"{proxy.host}/paged/app:{n}" for n in names]
        assert sum(e.path.endswith("/tags/list") for e in proxy.events) == 3

    def elsewhere(method: str, target: str) -> Rule | None:
        if "/tags/list" not in target:
            return None
        link = {"Link": '<http://198.51.100.7/v2/paged/app/tags/list?last=v1>; rel="next"'}
        body = json.dumps({"name": "paged/app", "tags": names[:2]}).encode()
        return Rule(Fault.BODY, content_type="application/json", body=body, headers=link)

    with FaultProxy(registry.host, own_answers=elsewhere).start() as proxy:
        ran = run_with_report(capsys, tmp_path / "r", *ONE, "--catalog", f"{proxy.host}/paged")
    assert ran.code == 3
    # The first page's tags are checked; the repository's listing is an error result.
    outcomes = {r["reference"]: r for r in ran.report["results"]}
    assert {f"{proxy.host}/paged/app:v0", f"{proxy.host}/paged/app:v1"} <= set(outcomes)
    failed = outcomes[f"{proxy.host}/paged/app"]
    assert failed["outcome"] == "error"
    assert "linked to another host; not followed" in json.dumps(failed)


def test_a_listing_that_fails_mid_run_loses_nothing(
    audited: list[str],
    registry: RegistryServer,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """A repository whose tag list is refused is an error result of its own (one
    deleted since the catalog listed it has no tags: nothing), the others are
    checked; a catalog page that fails after the first is an error result for the
    catalog, after what it listed."""
    gone = Rule(
        Fault.BODY,
        path_suffix="/audit/team2/app7/tags/list",
        status=403,
        content_type="application/json",
        body=b'{"errors": [{"code": "DENIED", "message": "access denied"}]}',
    )
    with FaultProxy(registry.host, [gone]).start() as proxy:
        ran = run_with_report(capsys, tmp_path / "a", *ONE, "--catalog", f"{proxy.host}/audit")
    assert ran.code == 3
    results = {r["reference"]: r for r in ran.report["results"]}
    assert len(results) == len(audited) - TAGS + 1
    assert results[f"{proxy.host}/audit/team2/app7"]["outcome"] == "error"
    assert "cannot list the tags of" in json.dumps(results[f"{proxy.host}/audit/team2/app7"])
    passed = [r for r in results.values() if r["outcome"] == "pass"]
    assert len(passed) == len(audited) - TAGS

    def second_page_fails(method: str, target: str) -> Rule | None:
        if "/v2/_catalog" in target and "last=" in target:
            return Rule(Fault.BODY, status=503, body=b"down for maintenance")
        return None

    with FaultProxy(registry.host, own_answers=second_page_fails).start() as proxy:
        ran = run_with_report(
            capsys,
            tmp_path / "b",
            *ONE,
            "--catalog",
            f"{proxy.host}/audit",
            "--catalog-page-size",
            "5",
        )
    assert ran.code == 3
    results = ran.report["results"]
    assert results[-1]["reference"] == f"{proxy.host}/audit"
    assert results[-1]["outcome"] == "error"
    assert "the catalog of" in json.dumps(results[-1])
    assert sum(r["outcome"] == "pass" for r in results) == len(results) - 1 > 0
