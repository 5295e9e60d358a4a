"""Every built-in policy passes and fails on real images pushed to a real registry.

Each test drives ``main([REF, "--select", NAME, "--json", FILE])`` against the CNCF
distribution registry of the ``registry`` fixture and reads the JSON report; the
images are built here with ``helpers.images`` and pushed once per module.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from manifest_lint.cli.main import main
from tests.helpers.images import (
    ANNOTATIONS,
    CREATED_ANNOTATION,
    REVISION,
    SOURCE,
    Built,
    Pushed,
    build_index,
    build_manifest,
    push,
)
from tests.helpers.registry_server import RegistryServer

pytestmark = pytest.mark.registry

ALL_KEYS = f"{SOURCE}, {REVISION}, {CREATED_ANNOTATION}"
#: The built-in policies, by file.
BUILTINS = sorted(
    yaml.safe_load(f.read_text())["metadata"]["name"]
    for f in (Path(__file__).resolve().parents[1] / "policies").glob("*.yaml")
)
#: Those that run unless the configuration says otherwise (``spec.enabled`` not false).
ON = sorted(
    doc["metadata"]["name"]
    for doc in (
        yaml.safe_load(f.read_text())
        for f in (Path(__file__).resolve().parents[1] / "policies").glob("*.yaml")
    )
    if doc["spec"].get("enabled", True)
)


def _images() -> dict[str, Built]:
    amd = build_manifest("linux/amd64", layers=2, seed="builtin")
    arm = build_manifest("linux/arm64/v8", layers=2, seed="builtin")
    s390x = build_manifest("linux/s390x", layers=2, seed="builtin")
    labelled = [
        build_manifest(p, layers=1, config_labels=ANNOTATIONS, seed="labelled")
        for p in ("linux/amd64", "linux/arm64")
    ]
    return {
        "amd64-arm64": build_index([amd, arm], annotations=ANNOTATIONS),
        "amd64-s390x": build_index([amd, s390x], annotations=ANNOTATIONS),
        "docker-list": build_index(
            [
                build_manifest("linux/amd64", layers=1, media="docker", seed="list"),
                build_manifest("linux/arm64", layers=1, media="docker", seed="list"),
            ],
            media="docker",
        ),
        "layers-41": build_manifest("linux/amd64", layers=41, seed="many"),
        "layers-3": build_manifest("linux/amd64", layers=3, seed="few"),
        "plain-index": build_index([amd, arm]),
        "annotated-manifests": build_index(
            [
                build_manifest(p, layers=1, annotations=ANNOTATIONS, seed="annotated")
                for p in ("linux/amd64", "linux/arm64")
            ]
        ),
        "labels-only": build_index(labelled),
        "labels-on-one": build_index(
            [labelled[0], build_manifest("linux/arm64", layers=1, seed="unlabelled")]
        ),
    }


@pytest.fixture(scope="module")
def images(registry: RegistryServer) -> dict[str, Pushed]:
    pushed = {
        name: push(registry.url, f"builtin/{name}", built, "1.0")
        for name, built in _images().items()
    }
    latest = build_manifest("linux/amd64", layers=1, seed="latest")
    pushed["latest"] = push(registry.url, "builtin/latest", latest, "latest")
    return pushed


@dataclass(frozen=True)
class Lint:
    code: int
    report: dict[str, Any]
    stderr: str

    @property
    def findings(self) -> dict[str, dict[str, Any]]:
        [result] = self.report["results"]
        return {f["name"]: f for f in result["findings"]}


@pytest.fixture
def lint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Any:
    def run(reference: str, policy: str, *extra: str, config: str = "") -> Lint:
        out = tmp_path / "report.json"
        argv = [reference, "--select", policy, "--json", str(out), *extra]
        if config:
            path = tmp_path / "config.yaml"
            path.write_text(config)
            argv += ["--config", str(path)]
        code = main(argv)
        captured = capsys.readouterr()
        return Lint(code, json.loads(out.read_text()), captured.err)

    return run


def only(result: Lint, name: str) -> dict[str, Any]:
    assert list(result.findings) == [name]
    return result.findings[name]


# --------------------------------------------------------------------------- required-platforms


def test_required_platforms_passes_with_amd64_and_arm64(
    lint: Any, images: dict[str, Pushed]
) -> None:
    result = lint(images["amd64-arm64"].reference, "required-platforms")
    assert result.code == 0
    finding = only(result, "required-platforms")
    assert (finding["outcome"], finding["severity"], finding["message"]) == ("pass", "error", "")
    # arm64/v8 in the index is linux/arm64 in the document.
    assert result.report["results"][0]["platforms"] == ["linux/amd64", "linux/arm64"]


def test_required_platforms_fails_naming_what_is_missing(
    lint: Any, images: dict[str, Pushed]
) -> None:
    result = lint(images["amd64-s390x"].reference, "required-platforms")
    assert result.code == 1
    finding = only(result, "required-platforms")
    assert finding["outcome"] == "fail"
    assert (
        finding["message"] == "missing platforms: linux/arm64 (image has: linux/amd64, linux/s390x)"
    )
    assert result.report["summary"]["blockingFailures"] == 1


def test_required_platforms_compares_normalised_names(lint: Any, images: dict[str, Pushed]) -> None:
    # A Docker list entry arm64 without variant, required as linux/arm64/v8 and aarch64.
    config = (
        "policies:\n  required-platforms:\n"
        "    params: {platforms: [linux/arm64/v8, linux/aarch64, linux/x86_64]}\n"
    )
    result = lint(images["docker-list"].reference, "required-platforms", config=config)
    assert result.code == 0
    assert only(result, "required-platforms")["outcome"] == "pass"
    config = "policies:\n  required-platforms:\n    params: {platforms: [linux/arm, linux/amd64]}\n"
    result = lint(images["docker-list"].reference, "required-platforms", config=config)
    assert result.code == 1
    assert only(result, "required-platforms")["message"] == (
        "missing platforms: linux/arm/v7 (image has: linux/amd64, linux/arm64)"
    )


def test_required_platforms_on_a_single_manifest_reads_its_platform_from_the_config(
    lint: Any, images: dict[str, Pushed]
) -> None:
    # No selected policy reads a config, but a single manifest's platform is only there.
    config = "policies:\n  required-platforms:\n    params: {platforms: [linux/amd64]}\n"
    result = lint(images["layers-3"].reference, "required-platforms", config=config)
    assert result.code == 0, result.findings
    assert result.report["results"][0]["platforms"] == ["linux/amd64"]


# --------------------------------------------------------------------------- max-layers


def test_max_layers_passes_with_3_layers(lint: Any, images: dict[str, Pushed]) -> None:
    result = lint(images["layers-3"].reference, "max-layers")
    assert result.code == 0
    assert only(result, "max-layers[linux/amd64]")["outcome"] == "pass"


def test_max_layers_fails_with_41_layers(lint: Any, images: dict[str, Pushed]) -> None:
    result = lint(images["layers-41"].reference, "max-layers")
    assert result.code == 1
    finding = only(result, "max-layers[linux/amd64]")
    assert (finding["outcome"], finding["platform"], finding["message"]) == (
        "fail",
        "linux/amd64",
        "41 layers, the maximum is 40",
    )


def test_max_layers_params_from_the_config_file(lint: Any, images: dict[str, Pushed]) -> None:
    lower = "policies:\n  max-layers:\n    params: {max: 2}\n"
    result = lint(images["layers-3"].reference, "max-layers", config=lower)
    assert result.code == 1
    assert only(result, "max-layers[linux/amd64]")["message"] == "3 layers, the maximum is 2"
    higher = "policies:\n  max-layers:\n    params: {max: 41}\n"
    result = lint(images["layers-41"].reference, "max-layers", config=higher)
    assert result.code == 0
    assert only(result, "max-layers[linux/amd64]")["outcome"] == "pass"


def test_max_layers_judges_each_platform(lint: Any, images: dict[str, Pushed]) -> None:
    config = "policies:\n  max-layers:\n    params: {max: 1}\n"
    result = lint(images["amd64-arm64"].reference, "max-layers", config=config)
    assert result.code == 1
    assert {n: f["outcome"] for n, f in result.findings.items()} == {
        "max-layers[linux/amd64]": "fail",
        "max-layers[linux/arm64]": "fail",
    }


# --------------------------------------------------------------------------- pinned-digest


def test_pinned_digest_passes_for_a_digest_reference(lint: Any, images: dict[str, Pushed]) -> None:
    pushed = images["layers-3"]
    for reference in (pushed.digest_reference, f"{pushed.reference}@{pushed.digest}"):
        result = lint(reference, "pinned-digest")
        assert result.code == 0
        assert only(result, "pinned-digest")["outcome"] == "pass"


def test_pinned_digest_warns_for_a_tag_with_the_pinned_form(
    lint: Any, images: dict[str, Pushed]
) -> None:
    pushed = images["layers-3"]
    result = lint(pushed.reference, "pinned-digest")
    assert result.code == 0  # a warning is below the default --fail-on error
    finding = only(result, "pinned-digest")
    assert (finding["outcome"], finding["severity"]) == ("fail", "warning")
    assert finding["message"] == f"not pinned to a digest: use {pushed.reference}@{pushed.digest}"
    assert result.report["summary"]["blockingFailures"] == 0
    # The pinned form it suggests passes.
    assert (
        only(lint(f"{pushed.reference}@{pushed.digest}", "pinned-digest"), "pinned-digest")[
            "outcome"
        ]
        == "pass"
    )


# --------------------------------------------------------------------------- required-annotations


def test_required_annotations_pass_on_the_index(lint: Any, images: dict[str, Pushed]) -> None:
    result = lint(images["amd64-arm64"].reference, "required-annotations")
    assert result.code == 0
    assert only(result, "required-annotations")["outcome"] == "pass"


def test_required_annotations_pass_on_every_platform_manifest(
    lint: Any, images: dict[str, Pushed]
) -> None:
    result = lint(images["annotated-manifests"].reference, "required-annotations")
    assert result.code == 0
    assert only(result, "required-annotations")["outcome"] == "pass"


def test_required_annotations_fail_when_missing(lint: Any, images: dict[str, Pushed]) -> None:
    result = lint(images["plain-index"].reference, "required-annotations")
    assert result.code == 1
    finding = only(result, "required-annotations")
    assert (finding["outcome"], finding["message"]) == ("fail", f"missing annotations: {ALL_KEYS}")


def test_required_annotations_keys_from_the_config(lint: Any, images: dict[str, Pushed]) -> None:
    config = (
        "policies:\n  required-annotations:\n"
        "    params: {keys: [org.opencontainers.image.source, org.example.team]}\n"
    )
    result = lint(images["amd64-arm64"].reference, "required-annotations", config=config)
    assert result.code == 1
    assert (
        only(result, "required-annotations")["message"] == "missing annotations: org.example.team"
    )


def test_labels_count_only_with_allow_labels(lint: Any, images: dict[str, Pushed]) -> None:
    reference = images["labels-only"].reference
    refused = lint(reference, "required-annotations")
    assert refused.code == 1
    assert only(refused, "required-annotations")["message"] == f"missing annotations: {ALL_KEYS}"
    explicit_false = "policies:\n  required-annotations:\n    params: {allowLabels: false}\n"
    refused = lint(reference, "required-annotations", config=explicit_false)
    assert only(refused, "required-annotations")["outcome"] == "fail"
    allowed = "policies:\n  required-annotations:\n    params: {allowLabels: true}\n"
    accepted = lint(reference, "required-annotations", config=allowed)
    assert accepted.code == 0
    assert only(accepted, "required-annotations")["outcome"] == "pass"


def test_labels_must_be_on_every_platform(lint: Any, images: dict[str, Pushed]) -> None:
    allowed = "policies:\n  required-annotations:\n    params: {allowLabels: true}\n"
    result = lint(images["labels-on-one"].reference, "required-annotations", config=allowed)
    assert result.code == 1
    assert only(result, "required-annotations")["message"] == f"missing annotations: {ALL_KEYS}"


# --------------------------------------------------------------------------- no-latest


def test_no_latest_passes_for_a_version_tag(lint: Any, images: dict[str, Pushed]) -> None:
    pushed = images["layers-3"]
    for reference in (pushed.reference, pushed.digest_reference):
        result = lint(reference, "no-latest")
        assert result.code == 0
        assert only(result, "no-latest")["outcome"] == "pass"


def test_no_latest_warns_for_latest(lint: Any, images: dict[str, Pushed]) -> None:
    latest = images["latest"]
    result = lint(latest.reference, "no-latest")
    assert result.code == 0  # a warning
    finding = only(result, "no-latest")
    assert (finding["outcome"], finding["severity"], finding["message"]) == (
        "fail",
        "warning",
        "tag latest changes under you: name a version tag or a digest",
    )
    untagged = lint(latest.reference.removesuffix(":latest"), "no-latest", "--fail-on", "warning")
    assert untagged.code == 1
    assert only(untagged, "no-latest")["message"] == (
        'no tag given, so "latest" is used: name a version tag or a digest'
    )


# --------------------------------------------------------------------------- allowed-registries


def registries_config(*allowed: str) -> str:
    return json.dumps({"policies": {"allowed-registries": {"params": {"registries": allowed}}}})


def test_allowed_registries_is_skipped_until_configured(
    lint: Any, images: dict[str, Pushed]
) -> None:
    result = lint(images["layers-3"].reference, "allowed-registries")
    assert result.code == 0
    finding = only(result, "allowed-registries")
    assert (finding["outcome"], finding["message"]) == (
        "skip",
        "match condition 'registries-configured' is false",
    )


def test_allowed_registries_passes_for_an_allowed_registry(
    lint: Any, images: dict[str, Pushed]
) -> None:
    pushed = images["layers-3"]
    for allowed in (pushed.host, f"{pushed.host}/builtin/"):
        config = registries_config("ghcr.io", allowed)
        result = lint(pushed.reference, "allowed-registries", config=config)
        assert result.code == 0, result.report
        assert only(result, "allowed-registries")["outcome"] == "pass"


def test_allowed_registries_fails_for_another_registry(
    lint: Any, images: dict[str, Pushed]
) -> None:
    pushed = images["layers-3"]
    for allowed in ("ghcr.io", f"{pushed.host}/other/"):
        config = registries_config(allowed)
        result = lint(pushed.reference, "allowed-registries", config=config)
        assert result.code == 1
        assert only(result, "allowed-registries")["message"] == (
            f"registry {pushed.host} is not allowed (allowed: {allowed})"
        )


# --------------------------------------------------------------------------- all at once


def test_a_compliant_image_passes_every_builtin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], images: dict[str, Pushed]
) -> None:
    pushed = images["amd64-arm64"]
    out = tmp_path / "all.json"
    code = main([f"{pushed.reference}@{pushed.digest}", "--json", str(out)])
    capsys.readouterr()
    report = json.loads(out.read_text())
    assert code == 0
    assert [p["name"] for p in report["policies"]] == ON
    [result] = report["results"]
    outcomes = {f["name"]: f["outcome"] for f in result["findings"]}
    # Passed, or (allowed-registries without registries configured) skipped.
    assert set(outcomes.values()) <= {"pass", "skip"}, outcomes
    assert {n: o for n, o in outcomes.items() if n in COVERED or n.startswith("max-layers[")} == {
        "max-layers[linux/amd64]": "pass",
        "max-layers[linux/arm64]": "pass",
        **{
            name: "pass"
            for name in COVERED
            if name in ON and name not in ("max-layers", "allowed-registries")
        },
        **({"allowed-registries": "skip"} if "allowed-registries" in COVERED else {}),
    }


#: Each built-in policy: its passing and its failing test, in this file (or, written
#: ``FILE::NAME``, in another test file of this folder).
COVERED = {
    "allowed-registries": (
        "test_allowed_registries_passes_for_an_allowed_registry",
        "test_allowed_registries_fails_for_another_registry",
    ),
    "max-layers": ("test_max_layers_passes_with_3_layers", "test_max_layers_fails_with_41_layers"),
    "no-latest": ("test_no_latest_passes_for_a_version_tag", "test_no_latest_warns_for_latest"),
    "pinned-digest": (
        "test_pinned_digest_passes_for_a_digest_reference",
        "test_pinned_digest_warns_for_a_tag_with_the_pinned_form",
    ),
    "required-annotations": (
        "test_required_annotations_pass_on_the_index",
        "test_required_annotations_fail_when_missing",
    ),
    "required-platforms": (
        "test_required_platforms_passes_with_amd64_and_arm64",
        "test_required_platforms_fails_naming_what_is_missing",
    ),
    "require-signature": (
        "test_supply_chain.py::test_require_signature_passes_for_a_cosign_signature",
        "test_supply_chain.py::test_require_signature_fails_without_one",
    ),
    "require-sbom": (
        "test_supply_chain.py::test_require_sbom_passes_for_attestations_and_referrers",
        "test_supply_chain.py::test_require_sbom_fails_per_platform",
    ),
    "require-provenance": (
        "test_supply_chain.py::test_require_provenance_passes_for_the_allowed_builder",
        "test_supply_chain.py::test_require_provenance_fails_for_mismatch_builder_and_none",
    ),
}


def _test_function(name: str) -> object:
    file, _, function = name.rpartition("::")
    if not file:
        return globals().get(function)
    module = importlib.import_module(f"tests.{file.removesuffix('.py')}")
    return getattr(module, function, None)


def test_every_builtin_policy_has_a_passing_and_a_failing_case() -> None:
    assert sorted(COVERED) == BUILTINS, "add a passing and a failing test for each built-in"
    for passing, failing in COVERED.values():
        assert callable(_test_function(passing)), passing
        assert callable(_test_function(failing)), failing
