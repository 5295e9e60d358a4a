"""Supply-chain facts against the real registry: referrers (the fallback tag here, the
API through ``helpers.referrers``), cosign's tags, notation signatures, BuildKit's
attestations in both forms with bare and DSSE layers; the three built-in policies'
verdicts per image and platform; ``inspect``'s facts; warm runs; bad statements."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from manifest_lint.cli.main import main
from tests.helpers import supply_chain as sc
from tests.helpers.cli import inspect_json, run, run_with_report
from tests.helpers.fault_proxy import FaultProxy
from tests.helpers.images import Blob, Built, build_index, build_manifest, push
from tests.helpers.referrers import ReferrersAPI, referrers_proxy
from tests.helpers.registry_server import RegistryServer

pytestmark = pytest.mark.registry

DOCS = Path(__file__).resolve().parents[1] / "docs"
ALL = ("require-signature", "require-sbom", "require-provenance")
#: The configuration that turns the three on, with the builder and source of the tests.
CONFIG = f"""\
policies:
  require-signature: {{enabled: true}}
  require-sbom: {{enabled: true}}
  require-provenance:
    enabled: true
    params:
      builderIds: ['^{sc.BUILDER.replace(".", "[.]")}$']
      source: '^{sc.REPO.replace(".", "[.]")}$'
"""


@dataclass(frozen=True)
class Image:
    reference: str
    built: Built
    #: Platform name -> manifest digest.
    platforms: dict[str, str]


def _platforms(seed: str, count: int = 2) -> list[Built]:
    names = ["linux/amd64", "linux/arm64"][:count]
    return [build_manifest(p, layers=1, seed=seed) for p in names]


def _statements(image: Built, *, v1: bool, cyclonedx: bool) -> list[dict[str, Any]]:
    provenance = sc.provenance_v1() if v1 else sc.provenance_v02()
    sbom = sc.cyclonedx(2) if cyclonedx else sc.spdx(3)
    subjects = [sc.subject(image.digest, "tag-1"), sc.subject(image.digest, "tag-2")]
    return [
        sc.statement(sc.SLSA_V1 if v1 else sc.SLSA_V02, provenance, subjects),
        sc.statement(sc.CYCLONEDX if cyclonedx else sc.SPDX, sbom, subjects),
    ]


def _push_all(registry: RegistryServer, repo: str, items: list[tuple[Built, str | None]]) -> None:
    for built, tag in items:
        push(registry.url, repo, built, tag)


def _buildkit_legacy(registry: RegistryServer) -> Image:
    children = _platforms("legacy")
    attestations = [
        sc.legacy_attestation(
            c, [sc.bare_layer(s) for s in _statements(c, v1=False, cyclonedx=False)]
        )
        for c in children
    ]
    index = sc.with_attestations(children, attestations)
    push(registry.url, "chain/buildkit-legacy", index, "1.0")
    return _image(registry, "chain/buildkit-legacy", index)


def _buildkit_artifact(registry: RegistryServer) -> Image:
    children = _platforms("artifact")
    attestations = [
        sc.artifact_attestation(
            c,
            [sc.dsse_layer(s, buildkit=True) for s in _statements(c, v1=True, cyclonedx=True)],
        )
        for c in children
    ]
    index = sc.with_attestations(children, attestations)
    push(registry.url, "chain/buildkit-artifact", index, "1.0")
    return _image(registry, "chain/buildkit-artifact", index)


def _cosign(registry: RegistryServer) -> Image:
    """cosign's tags: the index signed, each platform attested (DSSE provenance and
    SPDX), and the index attested with a vulnerability report."""
    children = _platforms("cosign")
    index = build_index(children)
    repo = "chain/cosign"
    push(registry.url, repo, index, "1.0")
    items: list[tuple[Built, str | None]] = [
        (sc.cosign_signature(index.digest), sc.fallback_tag(index.digest) + ".sig")
    ]
    for child in children:
        layers = [sc.dsse_layer(s) for s in _statements(child, v1=False, cyclonedx=False)]
        items.append((sc.cosign_attestations(layers), sc.fallback_tag(child.digest) + ".att"))
    vuln = sc.statement(
        "https://cosign.sigstore.dev/attestation/vuln/v1", {}, [sc.subject(index.digest)]
    )
    items.append(
        (sc.cosign_attestations([sc.dsse_layer(vuln)]), sc.fallback_tag(index.digest) + ".att")
    )
    _push_all(registry, repo, items)
    return _image(registry, repo, index)


def _notation(registry: RegistryServer, api: ReferrersAPI | None = None) -> Image:
    """A single manifest with a notation signature and an SPDX SBOM, attached through
    the fallback tag (or, with ``api``, served by the referrers API)."""
    image = build_manifest("linux/amd64", layers=1, seed="notation" if api is None else "api")
    repo = "chain/notation" if api is None else "chain/api"
    push(registry.url, repo, image, "1.0")
    signature, sbom = sc.notation_signature(image), sc.sbom_artifact(image, packages=4)
    _push_all(registry, repo, [(signature, None), (sbom, None)])
    if api is None:
        push(
            registry.url, repo, sc.referrers_index([signature, sbom]), sc.fallback_tag(image.digest)
        )
    else:
        api.add(repo, image.digest, signature)
        api.add(repo, image.digest, sbom)
        extra = sc.sbom_artifact(image, packages=1)
        push(registry.url, repo, extra, None)
        api.add(repo, image.digest, extra)
    return _image(registry, repo, image)


def _mismatch(registry: RegistryServer) -> Image:
    [child] = _platforms("mismatch", 1)
    other = build_manifest("linux/amd64", layers=1, seed="someone-else")
    statements = _statements(other, v1=True, cyclonedx=False)  # they name another image
    attestation = sc.legacy_attestation(child, [sc.bare_layer(s) for s in statements])
    index = sc.with_attestations([child], [attestation])
    push(registry.url, "chain/mismatch", index, "1.0")
    return _image(registry, "chain/mismatch", index)


def _none(registry: RegistryServer) -> Image:
    index = build_index(_platforms("plain"))
    push(registry.url, "chain/none", index, "1.0")
    return _image(registry, "chain/none", index)


def _image(registry: RegistryServer, repo: str, built: Built) -> Image:
    if built.is_index:
        platforms = {str(c.platform): c.digest for c in built.images}
    else:
        platforms = {str(built.platform): built.digest}
    return Image(f"{registry.host}/{repo}:1.0", built, platforms)


@pytest.fixture(scope="module")
def images(registry: RegistryServer) -> dict[str, Image]:
    return {
        "buildkit-legacy": _buildkit_legacy(registry),
        "buildkit-artifact": _buildkit_artifact(registry),
        "cosign": _cosign(registry),
        "notation": _notation(registry),
        "mismatch": _mismatch(registry),
        "none": _none(registry),
    }


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / ".manifest-lint.yaml"
    path.write_text(CONFIG)
    return path


def _verdicts(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, config: Path, reference: str, *extra: str
) -> dict[str, str]:
    ran = run_with_report(
        capsys,
        tmp_path / "report",
        reference,
        "--config",
        str(config),
        "--select",
        ",".join(ALL),
        *extra,
    )
    [result] = ran.results
    return {f["name"]: f["outcome"] for f in result["findings"]}


#: image -> (require-signature, {platform: (require-sbom, require-provenance)})
EXPECTED = {
    "buildkit-legacy": ("fail", {"linux/amd64": ("pass", "pass"), "linux/arm64": ("pass", "pass")}),
    "buildkit-artifact": (
        "fail",
        {"linux/amd64": ("pass", "pass"), "linux/arm64": ("pass", "pass")},
    ),
    "cosign": ("pass", {"linux/amd64": ("pass", "pass"), "linux/arm64": ("pass", "pass")}),
    "notation": ("pass", {"linux/amd64": ("pass", "fail")}),
    "mismatch": ("fail", {"linux/amd64": ("fail", "fail")}),
    "none": ("fail", {"linux/amd64": ("fail", "fail"), "linux/arm64": ("fail", "fail")}),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_builtins_judge_each_image_and_platform(
    name: str,
    images: dict[str, Image],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    config: Path,
) -> None:
    signature, platforms = EXPECTED[name]
    expected = {"require-signature": signature}
    for platform, (sbom, provenance) in platforms.items():
        expected[f"require-sbom[{platform}]"] = sbom
        expected[f"require-provenance[{platform}]"] = provenance
    assert _verdicts(capsys, tmp_path, config, images[name].reference) == expected


def test_require_signature_passes_for_a_cosign_signature(
    images: dict[str, Image], capsys: pytest.CaptureFixture[str], tmp_path: Path, config: Path
) -> None:
    found = _verdicts(capsys, tmp_path, config, images["cosign"].reference)
    assert found["require-signature"] == "pass"
    assert (
        _verdicts(capsys, tmp_path, config, images["notation"].reference)["require-signature"]
        == "pass"
    )


def test_require_signature_fails_without_one(
    images: dict[str, Image], capsys: pytest.CaptureFixture[str], tmp_path: Path, config: Path
) -> None:
    image = images["buildkit-legacy"]
    ran = run(capsys, image.reference, "--config", str(config), "--select", "require-signature")
    assert ran.code == 1
    assert f"no cosign or notation signature of {image.built.digest}" in ran.out
    # Only notation asked for: cosign's signature does not count.
    ran = run(
        capsys,
        images["cosign"].reference,
        "--select",
        "require-signature",
        "--param",
        "require-signature.formats=[notation]",
    )
    assert ran.code == 1
    assert "no notation signature" in ran.out
    assert "(signatures found: cosign of " in ran.out


def test_require_sbom_passes_for_attestations_and_referrers(
    images: dict[str, Image], capsys: pytest.CaptureFixture[str], tmp_path: Path, config: Path
) -> None:
    for name in ("buildkit-legacy", "buildkit-artifact", "cosign", "notation"):
        found = _verdicts(capsys, tmp_path, config, images[name].reference)
        assert {o for n, o in found.items() if n.startswith("require-sbom")} == {"pass"}, name


def test_require_sbom_fails_per_platform(
    images: dict[str, Image], capsys: pytest.CaptureFixture[str]
) -> None:
    mismatch = images["mismatch"]
    ran = run(capsys, mismatch.reference, "--select", "require-sbom")
    assert ran.code == 1
    digest = mismatch.platforms["linux/amd64"]
    assert f"SBOM statements found, but none names {digest} as its subject" in ran.out
    # CycloneDX only: the SPDX statements of the legacy image do not count.
    ran = run(
        capsys,
        images["buildkit-legacy"].reference,
        "--select",
        "require-sbom",
        "--param",
        "require-sbom.formats=[cyclonedx]",
    )
    assert ran.code == 1
    assert ran.out.count("FAIL  require-sbom[") == 2
    assert "no cyclonedx SBOM attestation or referrer for" in ran.out


def test_require_provenance_passes_for_the_allowed_builder(
    images: dict[str, Image], capsys: pytest.CaptureFixture[str], tmp_path: Path, config: Path
) -> None:
    for name in ("buildkit-legacy", "buildkit-artifact", "cosign"):
        found = _verdicts(capsys, tmp_path, config, images[name].reference)
        assert {o for n, o in found.items() if n.startswith("require-provenance")} == {"pass"}


def test_require_provenance_fails_for_mismatch_builder_and_none(
    images: dict[str, Image], capsys: pytest.CaptureFixture[str]
) -> None:
    legacy = images["buildkit-legacy"]
    ran = run(
        capsys,
        legacy.reference,
        "--select",
        "require-provenance",
        "--param",
        "require-provenance.builderIds=['^https://ci[.]example[.]org/']",
    )
    assert ran.code == 1
    assert f"SLSA provenance by builder '{sc.BUILDER}' from source '{sc.REPO}'" in ran.out
    assert "does not match builderIds ^https://ci[.]example[.]org/ and source (any)" in ran.out
    ran = run(capsys, images["mismatch"].reference, "--select", "require-provenance")
    assert ran.code == 1
    assert "SLSA provenance found, but its subjects" in ran.out
    ran = run(capsys, images["none"].reference, "--select", "require-provenance")
    assert "no SLSA provenance attestation for" in ran.out


def test_the_three_are_off_until_enabled(
    images: dict[str, Image], capsys: pytest.CaptureFixture[str], tmp_path: Path, config: Path
) -> None:
    image = images["none"].reference
    ran = run_with_report(capsys, tmp_path / "default", image)
    assert not {p["name"] for p in ran.report["policies"]} & set(ALL)
    ran = run_with_report(capsys, tmp_path / "enabled", image, "--config", str(config))
    assert set(ALL) <= {p["name"] for p in ran.report["policies"]}


# ---------------------------------------------------------------------------- inspect


def test_inspect_shows_the_facts_of_buildkit_attestations(
    images: dict[str, Image], capsys: pytest.CaptureFixture[str]
) -> None:
    legacy = images["buildkit-legacy"]
    doc = inspect_json(capsys, legacy.reference)["image"]
    assert doc["referrers"] == []
    assert doc["signatures"] == []
    amd64 = next(m for m in doc["manifests"] if m["platform"]["name"] == "linux/amd64")
    provenance, sbom = amd64["attestations"]
    assert provenance["predicateType"] == sc.SLSA_V02
    assert (provenance["kind"], provenance["subjectMatches"], provenance["signed"]) == (
        "provenance",
        True,
        False,
    )
    assert provenance["subjects"] == [legacy.platforms["linux/amd64"]]  # two subjects, one digest
    assert provenance["provenance"] == {
        "builderId": sc.BUILDER,
        "buildType": sc.BUILDKIT_BUILD_TYPE,
        "source": sc.REPO,
        "entryPoint": "Dockerfile",
        "materials": [
            {"uri": "pkg:docker/debian@bookworm", "digest": "sha256:" + "ab" * 32},
            {"uri": sc.REPO, "digest": ""},
        ],
    }
    assert sbom["sbom"] == {"format": "spdx", "specVersion": "2.3", "packages": 3}
    assert {a["source"] for a in doc["attestations"]} == {"index"}

    artifact = images["buildkit-artifact"]
    doc = inspect_json(capsys, artifact.reference)["image"]
    arm64 = next(m for m in doc["manifests"] if m["platform"]["name"] == "linux/arm64")
    provenance, sbom = arm64["attestations"]
    assert (provenance["signed"], sbom["signed"]) == (True, True)
    assert provenance["provenance"]["source"] == sc.REPO
    assert provenance["provenance"]["entryPoint"] == ".github/workflows/build.yml"
    assert sbom["sbom"] == {"format": "cyclonedx", "specVersion": "1.5", "packages": 2}
    assert {a["platform"] for a in doc["attestations"]} == {"linux/amd64", "linux/arm64"}


def test_inspect_shows_cosign_tags_and_index_attestations(
    images: dict[str, Image], capsys: pytest.CaptureFixture[str]
) -> None:
    cosign = images["cosign"]
    doc = inspect_json(capsys, cosign.reference)["image"]
    [signature] = doc["signatures"]
    assert (signature["format"], signature["source"], signature["signs"]) == (
        "cosign",
        "cosign-tag",
        cosign.built.digest,
    )
    assert "dev.cosignproject.cosign/signature" in signature["annotations"]
    assert "dev.sigstore.cosign/bundle" in signature["annotations"]
    assert signature["verified"] is False
    kinds = sorted(r["artifactType"].split(".")[-2] for r in doc["referrers"])
    assert kinds == ["att", "sig"]
    on_index = [a for a in doc["attestations"] if a["describes"] == cosign.built.digest]
    [vuln] = on_index[0]["statements"]
    assert (vuln["kind"], vuln["subjectMatches"], vuln["signed"]) == ("other", True, True)
    for manifest in doc["manifests"]:
        assert [s["kind"] for s in manifest["attestations"]] == ["provenance", "sbom"]
        assert {s["source"] for s in manifest["attestations"]} == {"cosign-tag"}


def test_inspect_shows_notation_and_sbom_referrers_of_the_fallback_tag(
    images: dict[str, Image], capsys: pytest.CaptureFixture[str]
) -> None:
    notation = images["notation"]
    doc = inspect_json(capsys, notation.reference)["image"]
    assert [(r["artifactType"], r["source"]) for r in doc["referrers"]] == [
        (sc.NOTATION, "tag"),
        (sc.SPDX_JSON, "tag"),
    ]
    [signature] = doc["signatures"]
    assert signature["format"] == "notation"
    assert signature["annotations"]["org.opencontainers.image.created"] == "2024-05-01T12:00:00Z"
    [manifest] = doc["manifests"]
    assert manifest["referrers"] == doc["referrers"]  # one manifest: the image's own digest


def test_inspect_text_summarises_the_supply_chain(
    images: dict[str, Image], capsys: pytest.CaptureFixture[str]
) -> None:
    ran = run(capsys, "inspect", images["cosign"].reference)
    assert ran.code == 0, ran.err
    assert "signatures" in ran.out
    assert "cosign (cosign-tag)" in ran.out
    assert "provenance https://slsa.dev/provenance/v0.2" in ran.out
    assert f"builder {sc.BUILDER}" in ran.out
    ran = run(capsys, "inspect", images["mismatch"].reference)
    assert "subject does not match" in ran.out


def test_the_document_validates_against_the_schema(
    images: dict[str, Image], capsys: pytest.CaptureFixture[str]
) -> None:
    import jsonschema

    schema = json.loads((DOCS.parent / "schemas" / "document.schema.json").read_text())
    for image in images.values():
        jsonschema.Draft202012Validator(schema).validate(inspect_json(capsys, image.reference))


# ---------------------------------------------------------------------------- the API path


@pytest.fixture(scope="module")
def api_proxy(registry: RegistryServer) -> Iterator[tuple[FaultProxy, ReferrersAPI, Image]]:
    api = ReferrersAPI(page_size=2)
    image = _notation(registry, api)
    proxy = referrers_proxy(registry.host, api)
    try:
        yield (
            proxy,
            api,
            Image(image.reference.replace(registry.host, proxy.host), image.built, image.platforms),
        )
    finally:
        proxy.stop()


def test_the_referrers_api_is_used_when_the_registry_has_it(
    api_proxy: tuple[FaultProxy, ReferrersAPI, Image], capsys: pytest.CaptureFixture[str]
) -> None:
    """Three referrers in pages of two: both pages read, the fallback tag never asked."""
    proxy, api, image = api_proxy
    before = len(proxy.events)
    doc = inspect_json(capsys, image.reference)["image"]
    assert [(r["artifactType"], r["source"]) for r in doc["referrers"]] == [
        (sc.NOTATION, "api"),
        (sc.SPDX_JSON, "api"),
        (sc.SPDX_JSON, "api"),
    ]
    paths = [e.path for e in proxy.events[before:]]
    assert sum("/referrers/" in p for p in paths) == 2  # two pages
    assert not any(p.endswith("/manifests/" + sc.fallback_tag(image.built.digest)) for p in paths)
    assert api.requests >= 2


def test_a_referrers_link_to_another_host_is_not_followed(
    registry: RegistryServer, capsys: pytest.CaptureFixture[str]
) -> None:
    image = build_manifest("linux/amd64", layers=1, seed="evil-link")
    push(registry.url, "chain/evil", image, "1.0")

    def answer(method: str, target: str) -> Any:
        if "/referrers/" not in target:
            return None
        from tests.helpers.fault_proxy import Fault, Rule

        body = json.dumps({"schemaVersion": 2, "mediaType": sc.OCI_INDEX, "manifests": []}).encode()
        link = '<http://198.51.100.7/v2/chain/evil/referrers/x?page=2>; rel="next"'
        return Rule(Fault.BODY, content_type=sc.OCI_INDEX, body=body, headers={"Link": link})

    with FaultProxy(registry.host, own_answers=answer).start() as proxy:
        ran = run(capsys, f"{proxy.host}/chain/evil:1.0", "--select", "require-signature")
    assert ran.code == 3
    assert "linked the next referrers page" in ran.out
    assert "not followed" in ran.out


# ---------------------------------------------------------------------------- warm runs


def test_warm_runs_fetch_no_referrer_or_statement_again(
    registry: RegistryServer,
    images: dict[str, Image],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    config: Path,
) -> None:
    cache = tmp_path / "cache"
    with FaultProxy(registry.host).start() as proxy:
        references = [
            images[name].reference.replace(registry.host, proxy.host)
            for name in ("buildkit-legacy", "cosign", "notation")
        ]
        argv = [*references, "--config", str(config), "--cache-dir", str(cache)]
        cold = run(capsys, *argv)
        cold_events = list(proxy.events)
        proxy.events.clear()
        warm = run(capsys, *argv)
        warm_events = list(proxy.events)
    assert cold.code == warm.code == 1  # (buildkit-legacy is not signed)
    # The same results; only the request summary (its last line) differs.
    assert cold.out.splitlines()[:-1] == warm.out.splitlines()[:-1]
    statement_digests = {
        layer["digest"]
        for image in (images["buildkit-legacy"], images["cosign"])
        for blob in image.built.manifests
        for layer in json.loads(blob.data).get("layers", [])
        if "in-toto" in layer["mediaType"] or "dsse" in layer["mediaType"]
    }
    cold_blobs = {e.path.rsplit("/", 1)[1] for e in cold_events if "/blobs/" in e.path}
    assert statement_digests
    assert statement_digests <= cold_blobs
    # Warm: no blob and no manifest by digest; only tags (HEAD) and referrer lists.
    assert not [e for e in warm_events if "/blobs/" in e.path]
    assert not [e for e in warm_events if e.method == "GET" and "/manifests/sha256:" in e.path]
    assert {e.method for e in warm_events} <= {"GET", "HEAD"}
    gets = [e.path for e in warm_events if e.method == "GET"]
    assert all("/referrers/" in p for p in gets), gets


# ---------------------------------------------------------------------------- bad statements


def _broken(registry: RegistryServer, repo: str, layer: Blob) -> str:
    [child] = _platforms(repo, 1)
    good = sc.bare_layer(sc.statement(sc.SPDX, sc.spdx(1), [sc.subject(child.digest)]))
    index = sc.with_attestations([child], [sc.legacy_attestation(child, [good, layer])])
    push(registry.url, f"chain/{repo}", index, "1.0")
    return f"{registry.host}/chain/{repo}:1.0"


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("not-json", b"this is not json", "is not valid JSON"),
        ("not-a-statement", b'{"hello": "world"}', "is not an in-toto statement"),
        ("deep", b"[" * 50000 + b"]" * 50000, "nested too deeply"),
    ],
)
def test_a_malformed_statement_is_an_error_never_a_pass(
    registry: RegistryServer,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    name: str,
    data: bytes,
    message: str,
) -> None:
    layer = Blob(sc.IN_TOTO, data, annotations={"in-toto.io/predicate-type": sc.SPDX})
    reference = _broken(registry, name, layer)
    ran = run_with_report(capsys, tmp_path, reference, "--select", "require-sbom")
    assert ran.code == 3
    assert message in ran.fetch_error()
    # inspect shows it, on the attestation, and the statements it could read are not shown.
    doc = inspect_json(capsys, reference)
    [attestation] = doc["image"]["attestations"]
    assert message in attestation["error"]
    # A run that reads no supply chain does not need it.
    assert run(capsys, reference, "--select", "max-layers").code == 0


def test_an_oversized_statement_is_refused_unread(
    registry: RegistryServer, capsys: pytest.CaptureFixture[str]
) -> None:
    [child] = _platforms("big", 1)
    big = sc.statement(sc.SPDX, sc.spdx(3000), [sc.subject(child.digest)])
    layer = sc.bare_layer(big)
    index = sc.with_attestations([child], [sc.legacy_attestation(child, [layer])])
    push(registry.url, "chain/big", index, "1.0")
    reference = f"{registry.host}/chain/big:1.0"
    assert run(capsys, reference, "--select", "require-sbom").code == 0
    ran = run(capsys, reference, "--select", "require-sbom", "--max-statement-size", "64KiB")
    assert ran.code == 3
    assert f"is {layer.size} bytes, above the 65536-byte statement limit" in ran.out


def test_a_hostile_statement_keeps_every_output_valid(
    registry: RegistryServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    [child] = _platforms("hostile", 1)
    evil = "\x1b]52;c;ZXZpbA==\x07\x1b[2J\u202e<script>&\"'" + "A" * 200_000
    predicate = sc.provenance_v02(builder=evil, source=evil)
    stmt = sc.statement(sc.SLSA_V02, predicate, [sc.subject(child.digest, evil)])
    index = sc.with_attestations([child], [sc.legacy_attestation(child, [sc.bare_layer(stmt)])])
    push(registry.url, "chain/hostile", index, "1.0")
    reference = f"{registry.host}/chain/hostile:1.0"
    sarif = tmp_path / "report.sarif"
    ran = run_with_report(
        capsys,
        tmp_path,
        reference,
        "--select",
        "require-provenance",
        "--param",
        "require-provenance.builderIds=['^https://ci[.]example[.]org/']",
        "--sarif",
        str(sarif),
        junit=True,
    )
    assert ran.code == 1
    assert "\x1b" not in ran.out  # escaped for the terminal
    [message] = ran.messages
    assert evil[:40] in message  # kept exactly in the machine formats
    json.loads(sarif.read_text())
    assert ran.junit is not None
    ET.parse(ran.junit)
    text = run(capsys, "inspect", reference)
    assert text.code == 0
    assert "\x1b" not in text.out


# ---------------------------------------------------------------------------- verifiers

#: A verifier plugin of the tests: it trusts every signed statement as the builder's.
STATEMENT_VERIFIER = """
from manifest_lint.api import Verification, hookimpl


class Signed:
    def verify_signature(self, signature, fetch):
        return None

    def verify_statement(self, statement, envelope, attestation):
        if not statement.signed or b"payloadType" not in envelope:
            return None
        return Verification(True, identity="builder@example.com", issuer="https://issuer.test")


@hookimpl
def manifest_lint_register_verifiers(register):
    register(Signed())
"""


def _docs_verifier() -> str:
    docs = (DOCS / "plugins.md").read_text(encoding="utf-8")
    section = docs.split("### `manifest_lint_register_verifiers(register)`", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_docs_toy_verifier_verifies_signatures(
    images: dict[str, Image],
    registry: RegistryServer,
    capsys: pytest.CaptureFixture[str],
    installed_plugin: Callable[[str, str], str],
) -> None:
    """The toy of docs/plugins.md, installed as a plugin: a signature whose manifest
    names a signer is verified; require-signature with params.verified needs one."""
    image = build_manifest("linux/amd64", layers=1, seed="toy-verifier")
    push(registry.url, "chain/toy", image, "1.0")
    signed = sc.cosign_signature(image.digest)
    doc = signed.json
    doc["annotations"] = {"example.com/signer": "release@example.com"}
    marked = sc.manifest_of(doc, list(signed.blobs.values()))
    push(registry.url, "chain/toy", marked, sc.fallback_tag(image.digest) + ".sig")
    reference = f"{registry.host}/chain/toy:1.0"
    argv = [
        reference,
        "--select",
        "require-signature",
        "--param",
        "require-signature.verified=true",
    ]
    assert run(capsys, *argv).code == 1  # found, not verified: no verifier yet
    installed_plugin("toy", _docs_verifier())
    assert run(capsys, *argv).code == 0
    [signature] = inspect_json(capsys, reference)["image"]["signatures"]
    assert (signature["verified"], signature["identity"], signature["issuer"]) == (
        True,
        "release@example.com",
        "https://example.com/toy",
    )
    # The cosign image's signature names no signer: the toy says nothing of it.
    assert run(capsys, images["cosign"].reference, *argv[1:]).code == 1


def test_a_verifier_marks_statements(
    images: dict[str, Image],
    capsys: pytest.CaptureFixture[str],
    installed_plugin: Callable[[str, str], str],
) -> None:
    installed_plugin("signed", STATEMENT_VERIFIER)
    doc = inspect_json(capsys, images["buildkit-artifact"].reference)["image"]
    for manifest in doc["manifests"]:
        assert {(s["verified"], s["identity"]) for s in manifest["attestations"]} == {
            (True, "builder@example.com")
        }
    doc = inspect_json(capsys, images["buildkit-legacy"].reference)["image"]
    for manifest in doc["manifests"]:
        assert {s["verified"] for s in manifest["attestations"]} == {False}  # bare: unsigned


def test_main_exits_3_for_an_unreadable_attestation_only_when_needed(
    registry: RegistryServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """An attestation whose statement blob is missing from the registry."""
    [child] = _platforms("missing", 1)
    layer = sc.bare_layer(sc.statement(sc.SPDX, sc.spdx(1), [sc.subject(child.digest)]))
    attestation = sc.legacy_attestation(child, [layer])
    index = sc.with_attestations([child], [attestation])
    # Push everything but the statement blob: the registry must still accept the manifest,
    # so the blob is pushed, then the repository is read through a proxy that hides it.
    push(registry.url, "chain/missing", index, "1.0")
    from tests.helpers.fault_proxy import Fault, Rule

    hide = Rule(Fault.BODY, path_suffix=f"/blobs/{layer.digest}", status=404, body=b"{}")
    with FaultProxy(registry.host, [hide]).start() as proxy:
        reference = f"{proxy.host}/chain/missing:1.0"
        assert main([reference, "--select", "max-layers"]) == 0
        assert main([reference, "--select", "require-sbom"]) == 3
    capsys.readouterr()


# ---------------------------------------------------------------------------- record


@pytest.mark.parametrize("name", ["cosign", "notation", "buildkit-artifact"])
def test_a_recording_keeps_the_supply_chain(
    name: str,
    images: dict[str, Image],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    config: Path,
) -> None:
    """record keeps referrers (fallback tag, cosign tags) and statements: the same
    document and the same verdicts from the layout, offline."""
    image = images[name]
    out = tmp_path / "layout"
    assert run(capsys, "record", image.reference, "--out", str(out)).code == 0
    recorded = f"oci:{out}:1.0"
    from_registry = inspect_json(capsys, image.reference)["image"]
    from_layout = inspect_json(capsys, recorded)["image"]
    # Where they were found may differ (the API's referrers are kept as a fallback tag).
    for doc in (from_registry, from_layout):
        for part in (doc, *doc["manifests"]):
            for item in (*part["referrers"], *part["signatures"]):
                item["source"] = item["source"].replace("api", "tag")
    assert from_layout == from_registry
    online = _verdicts(capsys, tmp_path, config, image.reference)
    offline = _verdicts(capsys, tmp_path, config, recorded, "--offline")
    assert offline == online
    # The layout's one image is still found without a tag.
    assert run(capsys, "inspect", f"oci:{out}").code == 0


def test_too_many_referrers_are_refused(
    registry: RegistryServer, capsys: pytest.CaptureFixture[str]
) -> None:
    from manifest_lint.image.limits import MAX_REFERRERS

    api = ReferrersAPI(page_size=MAX_REFERRERS + 1)
    image = build_manifest("linux/amd64", layers=1, seed="crowded")
    push(registry.url, "chain/crowded", image, "1.0")
    sbom = sc.sbom_artifact(image)
    push(registry.url, "chain/crowded", sbom, None)
    for _ in range(MAX_REFERRERS + 1):
        api.add("chain/crowded", image.digest, sbom)
    with referrers_proxy(registry.host, api) as proxy:
        ran = run(capsys, f"{proxy.host}/chain/crowded:1.0", "--select", "require-sbom")
    assert ran.code == 3
    assert f"{MAX_REFERRERS + 1} manifests refer to {image.digest}" in ran.out
