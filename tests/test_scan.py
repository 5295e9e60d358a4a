"""Image references found in files: the fixtures under ``fixtures/scan/`` with the exact
references, lines, columns and problems written out, variable substitution one form
at a time, kind detection, errors that name file:line:column, and property tests
that arbitrary text raises nothing but :class:`ManifestLintError`.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from manifest_lint.errors import ConfigError, ManifestLintError, YamlError
from manifest_lint.results import Location
from manifest_lint.scan import (
    COMPOSE,
    DOCKERFILE,
    KINDS,
    KUBERNETES,
    MAX_SCAN_SIZE,
    WORKFLOW,
    Found,
    ScanError,
    detect_kind,
    scan_file,
    scan_text,
)
from manifest_lint.yamlfile import load_all, plain

FIXTURES = Path(__file__).parent / "fixtures" / "scan"
DIGEST = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

Row = tuple[str, int, int, str, str, str]

NOTHING_TO_CHECK = (
    "nothing to check: not recognised as a Dockerfile, compose file, Kubernetes manifest "
    "or GitHub workflow"
)

#: Per fixture: (reference, line, column, kind, platform, problem), in file order.
EXPECTED: dict[str, list[Row]] = {
    "Dockerfile": [
        # FROM --platform=$BUILDPLATFORM: the platform is the builder's, so "".
        ("golang:1.22-bookworm", 9, 32, DOCKERFILE, "", ""),
        # Global ARG defaults ("alpine" unquoted; ${GO_VERSION:+3.19}); stage ARG ignored.
        ("alpine:3.19", 16, 29, DOCKERFILE, "linux/arm64", ""),
        # COPY --from=build is a stage; this one is an image.
        ("docker.io/library/busybox:1.36", 18, 13, DOCKERFILE, "", ""),
        # `from runtime as final` (line 20) names the earlier stage `AS Runtime`: skipped.
        # A continuation, with a comment line inside; ${DEBIAN_TAG:-bookworm}.
        ("debian:bookworm-slim", 24, 5, DOCKERFILE, "", ""),
        # ARG REGISTRY has no default: never guessed.
        ("", 27, 6, DOCKERFILE, "", "`${REGISTRY}` has no default value"),
        # scratch, COPY --from=final and --from=1 are skipped; quoted, after the quote.
        ("alpine", 32, 7, DOCKERFILE, "", ""),
    ],
    "Containerfile": [
        # `# escape=``: a trailing backslash (line 5) does not continue the line.
        ("mcr.microsoft.com/windows/servercore:ltsc2022", 4, 6, DOCKERFILE, "", ""),
        ("mcr.microsoft.com/powershell:lts-nanoserver-ltsc2022", 7, 5, DOCKERFILE, "", ""),
    ],
    "compose.yaml": [
        ("nginx:1.25-alpine", 5, 13, COMPOSE, "", ""),
        ("", 9, 12, COMPOSE, "", "`${API_TAG}` has no default value"),
        # `worker` has no image.
        ("postgres:16", 14, 13, COMPOSE, "", ""),
        ("", 16, 12, COMPOSE, "", "`${REDIS_TAG}` is required: set REDIS_TAG"),
        ("registry.example.com:5000/proxy:2.0", 18, 12, COMPOSE, "", ""),
    ],
    "manifests.yaml": [
        ("busybox:1.36", 8, 14, KUBERNETES, "", ""),
        (f"ghcr.io/acme/app@{DIGEST}", 11, 15, KUBERNETES, "", ""),
        ("envoyproxy/envoy:v1.30.1", 13, 14, KUBERNETES, "", ""),
        ("nicolaka/netshoot", 16, 14, KUBERNETES, "", ""),
        ("nginx:1.25", 26, 31, KUBERNETES, "", ""),
        ("registry.k8s.io/busybox:1.28", 41, 22, KUBERNETES, "", ""),
        # The Service yields nothing; from the List: the StatefulSet, not the ConfigMap.
        ("postgres:16", 63, 22, KUBERNETES, "", ""),
    ],
    ".github/workflows/ci.yml": [
        ("node:20-bookworm", 8, 16, WORKFLOW, "", ""),
        ("redis:7", 11, 16, WORKFLOW, "", ""),
        ("postgres:16", 13, 17, WORKFLOW, "", ""),
        # image: '' (GitHub starts no container) is left out.
        ("alpine:3.19", 19, 24, WORKFLOW, "", ""),
        ("ghcr.io/acme/tool:1.2", 21, 25, WORKFLOW, "", ""),
        ("ghcr.io/acme/builder:2024.05", 25, 14, WORKFLOW, "", ""),
        ("", 34, 16, WORKFLOW, "", "contains a GitHub expression"),
        ("", 36, 24, WORKFLOW, "", "contains a GitHub expression"),
        ("memcached:1.6", 40, 18, WORKFLOW, "", ""),
    ],
}


def rows(found: list[Found]) -> list[Row]:
    return [
        (f.reference, f.location.line, f.location.column, f.kind, f.platform, f.problem)
        for f in found
    ]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture(name: str) -> None:
    path = FIXTURES / name
    found = scan_file(path)
    assert rows(found) == EXPECTED[name]
    assert {f.location.path for f in found} == {str(path)}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_columns_point_at_the_reference(name: str) -> None:
    """Where nothing was substituted, the reference is written at its line and column."""
    lines = (FIXTURES / name).read_text(encoding="utf-8").splitlines()
    for found in scan_file(FIXTURES / name):
        written = lines[found.location.line - 1][found.location.column - 1 :]
        if found.reference and "$" not in written.split()[0]:
            assert written.startswith(found.reference)


def test_scan_text_takes_the_kind_from_the_path() -> None:
    text = (FIXTURES / "compose.yaml").read_text(encoding="utf-8")
    assert rows(scan_text("compose.yaml", text)) == EXPECTED["compose.yaml"]
    assert [f.problem for f in scan_text("notes.txt", text)] == [NOTHING_TO_CHECK]
    assert rows(scan_text("notes.txt", "services:\n  a:\n    image: x\n", COMPOSE)) == [
        ("x", 3, 12, COMPOSE, "", "")
    ]


def test_found_is_a_value() -> None:
    found = scan_text("Dockerfile", "FROM alpine\n")
    assert found == [Found("alpine", Location("Dockerfile", 1, 6), DOCKERFILE)]
    assert hash(found[0]) == hash(Found("alpine", Location("Dockerfile", 1, 6), DOCKERFILE))


# --- substitution -------------------------------------------------------------------

NOT_DECLARED = "`${{{}}}` is not declared by an ARG before the first FROM"


@pytest.mark.parametrize(
    ("args", "image", "reference", "problem"),
    [
        ("ARG A=alpine", "$A", "alpine", ""),
        ("ARG A=alpine", "${A}:3", "alpine:3", ""),
        ("ARG A=alp B=${A}ine", "$B", "alpine", ""),
        ("ARG A=alpine\nARG A", "$A", "alpine", ""),
        ("ARG A", "$A", "", "`${A}` has no default value"),
        ("ARG A", "x:${A}", "", "`${A}` has no default value"),
        ("ARG A\nARG B=${A}", "$B", "", "`${A}` has no default value"),
        ("", "${A}", "", NOT_DECLARED.format("A")),
        ("ARG A", "${A:-alpine}", "alpine", ""),
        ("ARG A=", "${A:-alpine}", "alpine", ""),
        ("ARG A=", "alpine${A-:3}", "alpine", ""),
        ("", "alpine${A-:3}", "alpine:3", ""),
        ("", "${A:-${B:-alpine}}", "alpine", ""),
        ("ARG A=1", "alpine${A:+:3}", "alpine:3", ""),
        ("ARG A=", "alpine${A:+:3}", "alpine", ""),
        ("ARG A=", "alpine${A+:3}", "alpine:3", ""),
        ("ARG A", "alpine${A+:3}", "alpine", ""),
        ("ARG A=alpine", "${A:?needed}", "alpine", ""),
        ("ARG A", "${A:?needed}", "", "`${A}` is required: needed"),
        ("ARG A=", "${A?}", "", "the image name is empty"),
        ("ARG A=", "${A:?}", "", "`${A}` is required"),
        ('ARG A="al pine"', "'$A'", "$A", ""),
        ("ARG A='alpine'", '"${A}"', "alpine", ""),
        ("ARG A=alpine", r"\$A", "$A", ""),
        ("ARG A=alpine", "a$", "a$", ""),
        ("ARG TARGETARCH=amd64", "x-$TARGETARCH", "x-amd64", ""),
        ("", "x-$TARGETARCH", "", "`${TARGETARCH}` is set by the builder"),
        ("", "${BUILDPLATFORM:-x}", "", "`${BUILDPLATFORM}` is set by the builder"),
        ("ARG TARGETARCH", "x-$TARGETARCH", "", "`${TARGETARCH}` is set by the builder"),
        ("ARG A=x", "${A#x}", "", "`${A#...}` is a pattern substitution, not evaluated"),
        ("ARG A=x", "${A/x/y}", "", "`${A/...}` is a pattern substitution, not evaluated"),
        ("", "${A", "", "invalid substitution in '${A': missing '}'"),
        ("", "${}", "", "invalid substitution in '${}': bad substitution"),
        (
            "",
            "${A:*x}",
            "",
            "invalid substitution in '${A:*x}': unsupported modifier :* in substitution",
        ),
        ("", '"alpine', "", "invalid substitution in '\"alpine': missing closing double quote"),
        ("", "alpine" + "${A:-" * 40 + "}" * 40, "", None),
    ],
)
def test_dockerfile_substitution(
    args: str, image: str, reference: str, problem: str | None
) -> None:
    (found,) = scan_text("Dockerfile", f"{args}\nFROM {image}\n")
    assert found.reference == reference
    if problem is None:
        assert found.problem.endswith("substitutions are nested too deeply")
    else:
        assert found.problem == problem


def test_dockerfile_platform() -> None:
    text = textwrap.dedent(
        """\
        ARG ARCH=arm64
        ARG UNSET
        FROM --platform=linux/${ARCH} a
        FROM --platform="linux/amd64" b
        FROM --platform=${UNSET} c
        FROM --platform=$TARGETPLATFORM d
        """
    )
    assert [(f.reference, f.platform) for f in scan_text("Dockerfile", text)] == [
        ("a", "linux/arm64"),
        ("b", "linux/amd64"),
        ("c", ""),
        ("d", ""),
    ]


def test_dockerfile_stages_and_copy_from() -> None:
    text = textwrap.dedent(
        """\
        FROM later AS first
        FROM alpine AS later
        FROM first
        FROM First
        COPY --from=LATER /a /b
        COPY --from=-1 /a /b
        COPY --from=$IMAGE /a /b
        COPY --from="quay.io/x/y:1" /a /b
        COPY --from= /a /b
        COPY --link --from=z /a /b
        """
    )
    assert rows(scan_text("Dockerfile", text)) == [
        # Only earlier stages are stage names for FROM (as in BuildKit).
        ("later", 1, 6, DOCKERFILE, "", ""),
        ("alpine", 2, 6, DOCKERFILE, "", ""),
        # `First` is not the stage `first` (stage names are lower-cased, FROM is not).
        ("First", 4, 6, DOCKERFILE, "", ""),
        (
            "",
            7,
            13,
            DOCKERFILE,
            "",
            "COPY --from does not expand variables (use a stage: FROM ${IMAGE} AS name)",
        ),
        ("quay.io/x/y:1", 8, 14, DOCKERFILE, "", ""),
        ("z", 10, 20, DOCKERFILE, "", ""),
    ]


def test_dockerfile_syntax() -> None:
    text = (
        "\ufeff# Escape=\\\n"  # BOM; a directive (any case), then a comment
        "\n"
        "   from\talpine:3 \\  \n"  # indented, tab, continuation with trailing blanks
        "\n"  # an empty continuation line
        "  AS base\r\n"
        "RUN echo \\\\\n"  # an escaped escape does not continue the line
        "FROM busybox\n"
        "RUN cat <<-'END' > /x && cat <<EOF2\n"
        "\tFROM in-heredoc\n"
        "\tEND\n"
        "FROM in-second-heredoc\n"
        "EOF2\n"
        'RUN ["sh", "-c", "cat <<EOF"]\n'  # JSON form: no heredoc
        "ONBUILD RUN <<X\n"
        "FROM in-onbuild-heredoc\n"
        "X\n"
        "FROM\n"
        "FROM a b\n"
        "FROM --platform=linux/amd64 -- c\n"
        "FROM last"  # no final newline
    )
    assert rows(scan_text("Dockerfile", text)) == [
        ("alpine:3", 3, 9, DOCKERFILE, "", ""),
        ("busybox", 7, 6, DOCKERFILE, "", ""),
        (
            "",
            17,
            1,
            DOCKERFILE,
            "",
            "FROM needs an image: FROM [--platform=PLATFORM] IMAGE [AS NAME]",
        ),
        (
            "",
            18,
            6,
            DOCKERFILE,
            "",
            "FROM needs an image: FROM [--platform=PLATFORM] IMAGE [AS NAME]",
        ),
        ("c", 19, 32, DOCKERFILE, "linux/amd64", ""),
        ("last", 20, 6, DOCKERFILE, "", ""),
    ]


def test_dockerfile_directives_only_at_the_top() -> None:
    # `# escape=`` after an instruction is a comment: ` does not continue `FROM b ``.
    text = "FROM a\n# escape=`\nFROM b `\n  c\n"
    assert rows(scan_text("Dockerfile", text)) == [
        ("a", 1, 6, DOCKERFILE, "", ""),
        (
            "",
            3,
            6,
            DOCKERFILE,
            "",
            "FROM needs an image: FROM [--platform=PLATFORM] IMAGE [AS NAME]",
        ),
    ]


def test_dockerfile_invalid_escape_directive() -> None:
    with pytest.raises(ScanError) as info:
        scan_text("Dockerfile", "# syntax=x\n# escape=!\nFROM a\n")
    assert str(info.value) == "Dockerfile:2: invalid escape directive '!' (use \\ or `)"
    assert isinstance(info.value, ConfigError)
    assert (info.value.path, info.value.line, info.value.column) == ("Dockerfile", 2, 0)


def compose_image(image: str) -> tuple[str, str]:
    text = f"services:\n  s:\n    image: '{image}'\n"
    (found,) = scan_text("compose.yaml", text)
    assert (found.location.line, found.location.column) == (3, 13)
    return found.reference, found.problem


@pytest.mark.parametrize(
    ("image", "reference", "problem"),
    [
        ("alpine:${TAG}", "", "`${TAG}` has no default value"),
        ("alpine:$TAG", "", "`${TAG}` has no default value"),
        ("alpine:${TAG:-3}", "alpine:3", ""),
        ("alpine:${TAG-3}", "alpine:3", ""),
        ("alpine:${TAG:-${OTHER:-3}}", "alpine:3", ""),
        ("alpine${TAG:+:3}", "alpine", ""),
        ("alpine${TAG+:3}", "alpine", ""),
        ("alpine:${TAG:?give a tag}", "", "`${TAG}` is required: give a tag"),
        ("alpine:${TAG?}", "", "`${TAG}` is required"),
        ("a$$b", "a$b", ""),
        ("a$${TAG}", "a${TAG}", ""),
        ('"alpine"', '"alpine"', ""),
        ("a\\$TAG", "", "`${TAG}` has no default value"),
        ("${TAG:+x}", "", "`image` is empty"),
        (
            "alpine:$-",
            "",
            "invalid substitution in 'alpine:$-': '$' must be followed by a name "
            "or '{name}' (write '$$' for a '$')",
        ),
        ("alpine:${TAG", "", "invalid substitution in 'alpine:${TAG': missing '}'"),
        (
            "alpine:${TAG:x}",
            "",
            "invalid substitution in 'alpine:${TAG:x}': unsupported modifier :x after ${TAG",
        ),
        ("alpine:${TAG:-3}}", "alpine:3}", ""),
    ],
)
def test_compose_interpolation(image: str, reference: str, problem: str) -> None:
    assert compose_image(image) == (reference, problem)


def test_compose_shapes() -> None:
    text = textwrap.dedent(
        """\
        services:
          a: {image: 3}
          b:
          c: [x]
          d: {image: ~}
          e: {image: "", build: .}
        volumes: {data: {}}
        ---
        services: []
        """
    )
    assert rows(scan_text("compose.yaml", text)) == [
        ("", 2, 14, COMPOSE, "", "`image` is not a string"),
        ("", 6, 15, COMPOSE, "", "`image` is empty"),
    ]


def test_kubernetes_shapes() -> None:
    text = textwrap.dedent(
        """\
        apiVersion: v1
        kind: PodList
        items:
          - spec: {containers: [{image: a}]}
          - kind: Pod
            spec: {containers: [{name: x}, {image: 5}, {image: ""}, "b"]}
        ---
        kind: Pod
        spec: {containers: [{image: no-apiversion}]}
        ---
        apiVersion: v1
        kind: List
        items:
          - apiVersion: v1
            kind: List
            items: [{apiVersion: v1, kind: Pod, spec: {containers: [{image: nested}]}}]
          - apiVersion: apps/v1
            kind: DaemonSet
            spec: {template: {spec: {initContainers: [{image: c}]}}}
          - apiVersion: v1
            kind: PodTemplate
            template: {spec: {containers: [{image: d}]}}
        ---
        - not a mapping
        ---
        apiVersion: v1
        kind: Pod
        spec: {containers: {image: not-a-list}}
        """
    )
    assert rows(scan_text("k8s.yaml", text)) == [
        ("a", 4, 33, KUBERNETES, "", ""),
        ("", 6, 44, KUBERNETES, "", "`image` is not a string"),
        ("", 6, 57, KUBERNETES, "", "`image` is empty"),
        # A List inside a List is not read; nor is a document without apiVersion.
        ("c", 19, 55, KUBERNETES, "", ""),
        ("d", 22, 44, KUBERNETES, "", ""),
    ]


def test_workflow_shapes() -> None:
    text = textwrap.dedent(
        """\
        on: push
        jobs:
          a:
            container: {image: 3, options: --cpus 1}
            services: [x]
            steps:
              - run: echo
              - uses: "docker://"
              - uses: 'docker://alpine@${{ env.DIGEST }}'
              - "uses: docker://x"
          b: not-a-job
          c:
            uses: ./.github/workflows/reusable.yml
        """
    )
    assert rows(scan_text("ci.yml", text, WORKFLOW)) == [
        ("", 4, 24, WORKFLOW, "", "`image` is not a string"),
        ("", 9, 25, WORKFLOW, "", "contains a GitHub expression"),
    ]


# --- kind detection -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "text", "kind"),
    [
        ("Dockerfile", "", DOCKERFILE),
        ("dockerfile", "", DOCKERFILE),
        ("Containerfile", "", DOCKERFILE),
        ("docker/api.Dockerfile", "", DOCKERFILE),
        ("api.dockerfile", "", DOCKERFILE),
        ("Dockerfile.dev", "", DOCKERFILE),
        ("Containerfile.fedora", "", DOCKERFILE),
        ("Dockerfile.dockerignore", "FROM a\n", None),
        ("api.Dockerfile.dockerignore", "", None),
        ("build.txt", "# syntax=docker/dockerfile:1\n\nARG X=1\nFROM a\n", DOCKERFILE),
        ("build", "FROM alpine\n", DOCKERFILE),
        ("README", "From here on, things change.\n", None),
        ("run.sh", "#!/bin/sh\nFROM=1\n", None),
        ("empty", "", None),
        (".github/workflows/ci.yml", "", WORKFLOW),
        ("repo/.github/workflows/release.yaml", "apiVersion: v1\nkind: Pod\n", WORKFLOW),
        (".github/workflows/nested/ci.yml", "", None),
        (".github/ci.yml", "", None),
        ("compose.yaml", "", COMPOSE),
        ("compose.yml", "", COMPOSE),
        ("docker-compose.yml", "", COMPOSE),
        ("docker-compose.yaml", "", COMPOSE),
        ("docker-compose.prod.yml", "", COMPOSE),
        ("compose.override.yaml", "", COMPOSE),
        ("Compose.YAML", "", COMPOSE),
        ("my-compose.yaml", "", None),
        ("stack.yml", "version: '3'\nservices:\n  a: {}\n", COMPOSE),
        ("deploy/app.yaml", "---\napiVersion: apps/v1\nkind: Deployment\n", KUBERNETES),
        ("deploy/app.YML", '"apiVersion": v1\n"kind": Pod\n', KUBERNETES),
        ("deploy/app.yaml", "apiVersion: v1\n", None),
        ("deploy/app.yaml", "items:\n  - apiVersion: v1\n    kind: Pod\n", None),
        ("values.yaml", "image: nginx\n", None),
        ("pod.json", '{"apiVersion": "v1", "kind": "Pod"}', KUBERNETES),
        ("package.json", '{"name": "x", "version": "1.0.0"}', None),
        ("deploy/app.yaml", "{apiVersion: v1, kind: Pod}", KUBERNETES),
        ("deploy/app.yaml", "  services:\n    a: {}\n", COMPOSE),
        # Not YAML: by the keys at the start of a line, as a Kubernetes file to report.
        ("deploy/app.yaml", "apiVersion: v1\nkind: Pod\nspec: [\n", KUBERNETES),
        ("deploy/app.yaml", "{apiVersion: v1, kind: Pod\n", None),
    ],
)
def test_detect_kind(path: str, text: str, kind: str | None) -> None:
    assert detect_kind(Path(path), text) == kind
    assert detect_kind(path, text) == kind


# --- errors -------------------------------------------------------------------------


def test_file_errors(tmp_path: Path) -> None:
    binary = tmp_path / "Dockerfile"
    binary.write_bytes(b"FROM alpine\n\xff\n")
    with pytest.raises(ScanError) as info:
        scan_file(binary)
    assert str(info.value) == f"{binary}: not UTF-8 text (invalid start byte at byte 12)"
    assert info.value.path == str(binary)

    big = tmp_path / "compose.yaml"
    big.write_text("#" * (MAX_SCAN_SIZE + 1), encoding="utf-8")
    with pytest.raises(
        ScanError,
        match=r"compose\.yaml: file is 16777217 bytes, above the 16777216-byte limit "
        r"\(--max-file-size\)$",
    ):
        scan_file(big)

    with pytest.raises(ScanError, match="missing: no such file"):
        scan_file(tmp_path / "missing")
    with pytest.raises(ScanError, match="is a directory"):
        scan_file(tmp_path)


def test_file_kind_is_detected_from_where_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "ci.yml").write_text("jobs: {a: {container: alpine}}\n", encoding="utf-8")
    monkeypatch.chdir(workflows)
    assert rows(scan_file(Path("ci.yml"))) == [("alpine", 1, 23, WORKFLOW, "", "")]
    assert scan_file(Path("ci.yml"), KUBERNETES) == []
    (tmp_path / "notes.md").write_text("# Notes\n", encoding="utf-8")
    assert scan_file(tmp_path / "notes.md") == [
        Found("", Location(str(tmp_path / "notes.md")), "", problem=NOTHING_TO_CHECK)
    ]


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        (
            COMPOSE,
            "services:\n  web: [\n",
            # libyaml's wording: scanned files are parsed with it, for speed.
            "x.yaml:3:1: invalid YAML: did not find expected node content",
        ),
        (KUBERNETES, "a: 1\na: 2\n", "x.yaml:2:1: duplicate key 'a'"),
        (WORKFLOW, "? [a]\n: b\n", "x.yaml:1:3: mapping keys must be strings, not ['a']"),
        (WORKFLOW, "a: !!int x\n", "x.yaml:1:4: invalid YAML: cannot read this int value"),
        (WORKFLOW, "a: \x07\n", "x.yaml: invalid YAML: unacceptable character #x0007"),
    ],
)
def test_yaml_errors(kind: str, text: str, message: str) -> None:
    with pytest.raises(ScanError) as info:
        scan_text("x.yaml", text, kind)
    assert str(info.value).startswith(message)


def test_compose_anchors_aliases_and_merge_keys_are_read() -> None:
    """Compose files share settings with anchors; the scanner walks known paths only,
    so shared values cost nothing (no "billion laughs" blow-up)."""
    text = (
        "x-base: &base {image: 'alpine:3.19', restart: always}\n"
        "services:\n"
        "  web: *base\n"
        "  worker:\n"
        "    <<: *base\n"
        "    command: work\n"
    )
    # Written once, found once (both services use it: one place to change).
    assert rows(scan_text("compose.yaml", text, COMPOSE)) == [
        ("alpine:3.19", 1, 24, COMPOSE, "", ""),
    ]


def test_unknown_kind() -> None:
    with pytest.raises(ScanError, match=r"^x: unknown kind 'helm' \(known: dockerfile, compose"):
        scan_text("x", "", "helm")


def test_yaml_keys_are_text() -> None:
    """YAML 1.1 would read `on`, `yes`, `1` and `null` keys as bool, int and None."""
    text = (
        "on: push\njobs:\n  yes:\n    container: a\n  1: {container: b}\n  null: {container: c}\n"
    )
    assert [f.reference for f in scan_text("ci.yml", text, WORKFLOW)] == ["a", "b", "c"]


# --- what real repositories write ----------------------------------------------------


@pytest.mark.parametrize("fast", [True, False], ids=["libyaml", "python"])
def test_merge_keys_explicit_keys_win_and_earlier_maps_win(fast: bool) -> None:
    """https://yaml.org/type/merge.html: a key written in the mapping wins over a merged
    one, wherever the `<<` is; of `<<: [*a, *b]` the earlier mapping wins."""
    text = textwrap.dedent(
        """\
        a: &a {image: a, restart: always, x: 1}
        b: &b {image: b, y: 2, x: 3}
        svc:
          image: c
          <<: [*a, *b]
          z: 0
        one:
          <<: *a
          restart: never
        """
    )
    [document] = load_all(text, allow_aliases=True, fast=fast)
    svc = document.value["svc"]
    assert list(svc.items()) == [
        ("image", "c"),
        ("restart", "always"),
        ("x", 1),
        ("y", 2),
        ("z", 0),
    ]
    # A merged key keeps where it was written.
    assert svc.key_positions["restart"] == (1, 18)
    assert svc.value_position("y") == (2, 21)
    assert svc.value_position("image") == (4, 10)
    assert plain(document.value["one"]) == {"image": "a", "restart": "never", "x": 1}


@pytest.mark.parametrize("fast", [True, False], ids=["libyaml", "python"])
@pytest.mark.parametrize(
    ("text", "message", "line", "column"),
    [
        ("a: 1\n<<: {b: 2}\na: 3\n", "duplicate key 'a'", 3, 1),
        (
            "<<: {a: 1}\n<<: {b: 2}\n",
            "duplicate key '<<' (merge several mappings with <<: [*a, *b])",
            2,
            1,
        ),
        ("a: 1\n<<: 2\n", "a merge key (<<) takes a mapping or a list of mappings", 2, 5),
        ("<<: [{a: 1}, [b]]\n", "a merge key (<<) takes a mapping or a list of mappings", 1, 14),
    ],
)
def test_keys_written_twice_and_bad_merges_are_errors(
    fast: bool, text: str, message: str, line: int, column: int
) -> None:
    with pytest.raises(YamlError) as info:
        load_all(text, allow_aliases=True, fast=fast)
    assert (info.value.message, info.value.line, info.value.column) == (message, line, column)


@pytest.mark.parametrize("fast", [True, False], ids=["libyaml", "python"])
def test_an_anchor_defined_again_applies_from_there_on(fast: bool) -> None:
    text = "a: &x 1\nb: *x\nc: &x {d: &x 2, e: *x}\nf: *x\n---\ng: &x 3\n"
    documents = load_all(text, allow_aliases=True, fast=fast)
    assert [plain(d.value) for d in documents] == [
        {"a": 1, "b": 1, "c": {"d": 2, "e": 2}, "f": 2},
        {"g": 3},
    ]
    # Without aliases allowed (policies, configuration), an anchor alone is still fine.
    assert plain(load_all("a: &x 1\nb: &x 2\n", fast=fast)[0].value) == {"a": 1, "b": 2}


def test_compose_with_merge_overrides_and_an_anchor_reused() -> None:
    """As real compose files are written: a base merged and overridden per service, and
    the same anchor name given to a second block further down."""
    text = textwrap.dedent(
        """\
        x-app: &app
          image: 'ghcr.io/acme/app:1.0'
          restart: always
        x-runner: &runner {image: ghcr.io/acme/runner:1}
        services:
          web:
            <<: *app
            image: ghcr.io/acme/web:2.0
          worker:
            <<: *app
          runner: *runner
        x-runner-next: &runner {image: ghcr.io/acme/runner:2}
        x-more:
          next: *runner
        """
    )
    assert rows(scan_text("compose.yaml", text)) == [
        ("ghcr.io/acme/app:1.0", 2, 11, COMPOSE, "", ""),
        ("ghcr.io/acme/runner:1", 4, 27, COMPOSE, "", ""),
        ("ghcr.io/acme/web:2.0", 8, 12, COMPOSE, "", ""),
    ]
    document = load_all(text, allow_aliases=True)[0].value
    assert document["x-more"]["next"]["image"] == "ghcr.io/acme/runner:2"


def test_aliases_cannot_multiply_what_is_walked() -> None:
    """Each mapping and list is walked once, however many aliases name it, and a
    reference written once is found once: 300 aliased items of 300 aliased containers
    (2.5 kB) gave 90,000 results."""
    n = 300
    text = (
        "apiVersion: v1\nkind: List\n"
        "x-c: &c {name: a, image: 'busybox:1'}\n"
        "x-p: &p\n  apiVersion: v1\n  kind: Pod\n  spec:\n"
        f"    containers: [{', '.join(['*c'] * n)}]\n"
        f"items: [{', '.join(['*p'] * n)}]\n"
        "---\n"
        "services:\n  a: &s {image: 'x:1'}\n  b: *s\n  c: {<<: *s}\n"
    )
    assert rows(scan_text("k8s.yaml", text)) == [("busybox:1", 3, 27, KUBERNETES, "", "")]
    assert rows(scan_text("compose.yaml", text.split("---\n")[1])) == [
        ("x:1", 2, 18, COMPOSE, "", "")
    ]


FLOW_POD = (
    '{ apiVersion: "v1", kind: Pod, metadata: { name: web },\n'
    '  spec: { containers: [ { name: web, image: "nginx:1.25" } ],\n'
    "    volumes: [ { name: v, image: { reference: 'quay.io/acme/data:1' } } ] } }\n"
)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("pod.yaml", FLOW_POD),
        ("pod.yml", "# KYAML\n---\n" + FLOW_POD),
        ("pod.json", json.dumps(yaml.safe_load(FLOW_POD), indent="\t")),
        (
            "app.yaml",
            "  apiVersion: v1\n  kind: Pod\n  spec: {containers: [{image: 'nginx:1.25'}]}",
        ),
    ],
)
def test_kubernetes_documents_are_recognised_by_content(name: str, text: str) -> None:
    """Flow style (KYAML), JSON, an indented document: whatever is written, a mapping
    with apiVersion and kind is a Kubernetes document."""
    assert detect_kind(name, text) == KUBERNETES
    found = scan_text(name, text)
    assert "nginx:1.25" in [f.reference for f in found]
    lines = text.splitlines()
    for f in found:
        assert lines[f.location.line - 1][f.location.column - 1 :].startswith(f.reference)


def test_yaml_without_the_keys_of_a_kind_is_not_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    """No apiVersion and kind, no services: nothing to parse for (a speed trick: see
    scan/detect.py), and the same answer as parsing gives."""
    import importlib

    detect = importlib.import_module("manifest_lint.scan.detect")
    text = "name: x\nsteps: [{run: make}]\n"
    assert detect_kind("x.yaml", text) is None
    assert detect_kind("x.yaml", "kind: Pod\napiversion: v1\n") is None  # parsed: no apiVersion

    def refuse(text: str) -> Any:
        raise AssertionError("parsed")

    monkeypatch.setattr(detect, "read_documents", refuse)
    assert detect_kind("x.yaml", text) is None
    assert [f.problem for f in scan_text("x.yaml", text + "[")] == [NOTHING_TO_CHECK]


def test_pod_image_volumes_are_references() -> None:
    """`volumes[].image.reference` (Kubernetes 1.31+) is pulled like a container's image."""
    text = textwrap.dedent(
        """\
        apiVersion: apps/v1
        kind: Deployment
        spec:
          template:
            spec:
              containers: [{name: a, image: 'app:1'}]
              volumes:
                - name: model
                  image:
                    reference: quay.io/acme/model:v2
                    pullPolicy: IfNotPresent
                - {name: cfg, configMap: {name: cfg}}
                - {name: e, image: {reference: ""}}
                - {name: n, image: {reference: 3}}
                - {name: m, image: {pullPolicy: Always}}
                - {name: s, image: "not-a-mapping"}
        """
    )
    assert rows(scan_text("deploy.yaml", text)) == [
        ("app:1", 6, 38, KUBERNETES, "", ""),
        ("quay.io/acme/model:v2", 10, 24, KUBERNETES, "", ""),
        ("", 13, 41, KUBERNETES, "", "`reference` is empty"),
        ("", 14, 40, KUBERNETES, "", "`reference` is not a string"),
    ]


def test_a_file_of_no_known_kind_says_so(tmp_path: Path) -> None:
    """A file named to scan that holds nothing recognisable gives one result saying so
    (skipped, at the file), instead of nothing."""
    settings_file = tmp_path / "settings.yaml"
    settings_file.write_text("name: x\nimage: nginx\n", encoding="utf-8")
    [found] = scan_file(settings_file)
    assert found == Found(
        "",
        Location(str(settings_file)),
        "",
        problem=NOTHING_TO_CHECK,
    )
    broken = tmp_path / "broken.yaml"
    broken.write_text("{ apiVersion: v1, kind: Pod\n", encoding="utf-8")
    [found] = scan_file(broken)
    assert found.problem == (
        f"{NOTHING_TO_CHECK} (line 2, column 1: invalid YAML: did not find expected ',' or '}}')"
    )
    # Recognised, and nothing in it: no note (a Service has no image).
    service = tmp_path / "service.yaml"
    service.write_text("apiVersion: v1\nkind: Service\n", encoding="utf-8")
    assert scan_file(service) == []


def test_dockerfile_run_mount_from_an_image() -> None:
    """`RUN --mount=...,from=IMAGE` makes BuildKit pull IMAGE; a stage name (any stage,
    any case) is a stage. BuildKit does not expand variables in `from=` and refuses
    secret mounts with one; it does not read a number there as a stage index, and a
    flag without `=` (`--mount type=...`) is an error to it."""
    text = textwrap.dedent(
        """\
        FROM golang:1.22 AS build
        RUN --mount=type=cache,target=/var/cache/apt \\
            --mount=type=bind,from=ghcr.io/acme/tools:1.2,source=/bin/tool,target=/tool \\
            --mount=from=Build,target=/src go build
        RUN --mount=type=bind,FROM="quay.io/x/y:3",target=/y true
        RUN --mount=type=cache,from=$CACHE_IMAGE,target=/c true
        RUN --mount=type=secret,id=npm,from=alpine true
        RUN --mount=type=tmpfs,target=/t --mount=target=/a,from=later,source=/ true
        RUN --mount=type=bind,from=scratch,target=/e true
        RUN --mount=type=bind,from=0,target=/n true
        RUN --mount type=bind,from=busybox,target=/b true
        RUN echo --mount=from=not-a-flag
        FROM alpine AS later
        """
    )
    assert rows(scan_text("Dockerfile", text)) == [
        ("golang:1.22", 1, 6, DOCKERFILE, "", ""),
        ("ghcr.io/acme/tools:1.2", 3, 28, DOCKERFILE, "", ""),
        ("quay.io/x/y:3", 5, 29, DOCKERFILE, "", ""),
        (
            "",
            6,
            29,
            DOCKERFILE,
            "",
            "RUN --mount from= does not expand variables (use a stage: FROM ${IMAGE} AS name)",
        ),
        ("0", 10, 28, DOCKERFILE, "", ""),
        ("alpine", 13, 6, DOCKERFILE, "", ""),
    ]


def test_files_up_to_16_mib_are_read(tmp_path: Path) -> None:
    """Release manifests (an operator's install.yaml) are 1-5 MB: read them whole."""
    pod = "---\napiVersion: v1\nkind: Pod\nspec: {containers: [{image: 'busybox:1'}]}\n"
    filler = "---\napiVersion: v1\nkind: ConfigMap\ndata: {k: '" + "x" * 1000 + "'}\n"
    big = tmp_path / "install.yaml"
    big.write_text(filler * 2200 + pod, encoding="utf-8")
    assert big.stat().st_size > 2 * 1024 * 1024
    [found] = scan_file(big)
    assert found.reference == "busybox:1"
    assert MAX_SCAN_SIZE == 16 * 1024 * 1024
    with pytest.raises(
        ScanError,
        match=r"install\.yaml: file is \d+ bytes, above the 1048576-byte limit \(--max-file-size\)",
    ):
        scan_file(big, max_size=1024 * 1024)


def test_the_size_limit_is_an_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from manifest_lint.cli.main import main
    from manifest_lint.cli.parsers import build_lint_parser

    assert build_lint_parser(scan=True).parse_args([]).max_file_size == MAX_SCAN_SIZE
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(f"FROM alpine@sha256:{'a' * 64}\n" + "#" * 2000 + "\n", encoding="utf-8")
    report = tmp_path / "report.json"
    code = main(
        ["scan", "--offline", "--max-file-size", "1KiB", "--json", str(report), str(dockerfile)]
    )
    [result] = json.loads(report.read_text())["results"]
    assert result["findings"][0]["message"].endswith("above the 1024-byte limit (--max-file-size)")
    assert code == 2
    assert main(["scan", "--offline", "--max-file-size", "1MiB", str(dockerfile)]) == 0
    capsys.readouterr()
    for bad in ("0", "1.5MiB", "x", "-3", "1TB"):
        assert main(["scan", "--offline", "--max-file-size", bad, str(dockerfile)]) == 2
        assert "--max-file-size" in capsys.readouterr().err


def test_scan_says_when_a_named_file_has_nothing_to_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every output carries it, as a skipped result at the file; the exit code does not
    change (a pre-commit hook passes every YAML file of a repository)."""
    import json

    from manifest_lint.cli.main import main

    (tmp_path / "settings.yaml").write_text("name: x\n", encoding="utf-8")
    (tmp_path / "pod.yaml").write_text(
        FLOW_POD.replace("nginx:1.25", f"nginx@sha256:{'a' * 64}").replace(
            "quay.io/acme/data:1", f"quay.io/acme/data@sha256:{'b' * 64}"
        ),
        encoding="utf-8",
    )
    report = tmp_path / "report.json"
    code = main(
        [
            "scan",
            "--offline",
            "--json",
            str(report),
            str(tmp_path / "settings.yaml"),
            str(tmp_path / "pod.yaml"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    note = NOTHING_TO_CHECK
    # Named once: the file is both where and what.
    assert out.splitlines()[:2] == [str(tmp_path / "settings.yaml"), f"  SKIP  reference: {note}"]
    results = json.loads(report.read_text())["results"]
    assert [r["reference"] for r in results] == [
        str(tmp_path / "settings.yaml"),
        f"nginx@sha256:{'a' * 64}",
        f"quay.io/acme/data@sha256:{'b' * 64}",
    ]
    assert results[0]["findings"] == [
        {**results[0]["findings"][0], "outcome": "skip", "message": note}
    ]


# --- property tests -----------------------------------------------------------------

# fmt: off
DOCKERFILE_FRAGMENTS = st.sampled_from(
    [
        "FROM ", "from ", "ARG ", "COPY ", "RUN ", "ONBUILD ", " AS ", " as ", "--platform=",
        "--from=", "--", "$", "${", "}", ":-", ":+", ":?", "-", "+", "?", "#", "%", "/", "=",
        "'", '"', "\\", "`", "\n", "\r\n", " \\\n", "\t", " ", "<<", "<<-", "EOF",
        "# escape=`\n", "# escape=\\\n", "# syntax=x\n", "A", "B", "alpine", "scratch", "0",
        '["x"]', "\ufeff", "RUN ", "--mount=", "type=", "from=", ",", "secret", "cache",
    ]
)
YAML_FRAGMENTS = st.sampled_from(
    [
        "services:", "image:", "jobs:", "container:", "uses:", "docker://", "steps:", "items:",
        "apiVersion: v1", "kind:", " Pod", " List", " CronJob", "spec:", "template:",
        "jobTemplate:", "containers:", "initContainers:", "\n", "\n  ", "\n    ", "- ", "{",
        "}", "[", "]", ",", ":", " ", "'", '"', "${", "${{", "$$", "$", "&a ", "*a", "!!int ",
        "---", "on:", "? ", "~", "1", "x", "<<: ", "<<", "&b ", "*b", "volumes:", "reference:",
    ]
)
KEYS = st.sampled_from(
    [
        "services", "image", "jobs", "container", "steps", "uses", "apiVersion", "kind", "items",
        "spec", "template", "jobTemplate", "containers", "initContainers", "ephemeralContainers",
        "x",
    ]
)
# fmt: on
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from(["Pod", "List", "CronJob", "Deployment", "v1", "docker://a", "${{ x }}", "a"]),
    st.text(max_size=10),
)
DOCUMENTS = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(KEYS, children, max_size=5)
    ),
    max_leaves=30,
)


def scans_or_refuses(text: str, kind: str) -> None:
    try:
        found = scan_text("f", text, kind)
    except ManifestLintError as exc:
        assert str(exc).startswith("f")
        return
    assert all(isinstance(f, Found) and f.kind == kind for f in found)
    assert all(f.location.line >= 1 and f.location.column >= 1 for f in found)
    assert all(bool(f.reference) != bool(f.problem) for f in found)
    assert found == sorted(found, key=lambda f: (f.location.line, f.location.column))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(KINDS),
    st.one_of(
        st.text(max_size=200),
        st.lists(DOCKERFILE_FRAGMENTS, max_size=30).map("".join),
        st.lists(YAML_FRAGMENTS, max_size=30).map("".join),
    ),
)
def test_arbitrary_text_raises_only_scan_errors(kind: str, text: str) -> None:
    scans_or_refuses(text, kind)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([COMPOSE, KUBERNETES, WORKFLOW]), DOCUMENTS)
def test_arbitrary_yaml_documents_raise_nothing(kind: str, document: Any) -> None:
    scans_or_refuses(yaml.safe_dump(document), kind)
    scans_or_refuses(yaml.safe_dump(document, default_flow_style=True), kind)


@given(st.text(max_size=100))
def test_detect_kind_never_raises(text: str) -> None:
    for name in ("Dockerfile", "x.yaml", ".github/workflows/x.yml", "x"):
        assert detect_kind(name, text) in (*KINDS, None)


def test_offline_a_reference_written_again_is_evaluated_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Offline, policies see only the reference: one base image in many Dockerfiles is
    parsed and evaluated once, and every place it is written still gets its own result."""
    import json

    from manifest_lint import runner
    from manifest_lint.cli.main import main

    calls: list[str] = []
    real = runner.evaluate

    def counting(policies: Any, document: Any, now: Any) -> Any:
        calls.append(document["ref"]["raw"])
        return real(policies, document, now)

    monkeypatch.setattr(runner, "evaluate", counting)
    parsed: list[str] = []
    real_parse = runner.parse_reference

    def counting_parse(text: str, *args: Any) -> Any:
        parsed.append(text)
        return real_parse(text, *args)

    monkeypatch.setattr(runner, "parse_reference", counting_parse)
    files = []
    for i in range(3):
        path = tmp_path / f"Dockerfile.{i}"
        path.write_text(f"FROM alpine:3.20\nFROM busybox:1.{i}\n")
        files.append(str(path))
    report = tmp_path / "report.json"
    main(["scan", "--offline", "-q", "--json", str(report), *files])
    capsys.readouterr()
    results = json.loads(report.read_text())["results"]
    assert len(results) == 6
    assert sorted(calls) == ["alpine:3.20", "busybox:1.0", "busybox:1.1", "busybox:1.2"]
    assert sorted(parsed) == sorted(calls)  # and parsed once
    alpine = [r for r in results if r["reference"] == "alpine:3.20"]
    assert [r["location"]["path"] for r in alpine] == files
    assert alpine[0]["findings"] == alpine[1]["findings"] == alpine[2]["findings"]
    assert {r["normalized"] for r in alpine} == {"docker.io/library/alpine:3.20"}


def test_offline_policies_are_compiled_plain_and_give_the_online_findings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Offline, what policies see is the reference alone: the shared forms (dearer to
    compile) are not built, and the findings are those the shared forms give."""
    import json

    from manifest_lint.cli.main import main
    from manifest_lint.policy import compile

    shared: list[str] = []
    real = compile.Shared.__init__

    def counting(self: Any, policy: Any, *args: Any) -> None:
        shared.append(policy.name)
        real(self, policy, *args)

    monkeypatch.setattr(compile.Shared, "__init__", counting)
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(
        f"FROM alpine:3.20\nFROM quay.io/x/y:latest\nFROM busybox@sha256:{'a' * 64}\n"
    )
    report = tmp_path / "report.json"
    main(["scan", "--offline", "-q", "--json", str(report), str(dockerfile)])
    capsys.readouterr()
    assert shared == []
    findings = [r["findings"] for r in json.loads(report.read_text())["results"]]
    assert len(findings) == 3

    failed = {f["policy"] for r in findings for f in r if f["outcome"] == "fail"}
    assert failed == {"pinned-digest", "no-latest"}

    # The shared forms give the same findings on these references.
    from datetime import UTC, datetime

    from manifest_lint.cel import BUILTIN_FUNCTIONS, get_backend
    from manifest_lint.image.reference import parse_reference
    from manifest_lint.plugin.builtin import builtin_policies
    from manifest_lint.policy import evaluate, needs
    from manifest_lint.policy.document import offline_document

    backend = get_backend("cel-expr-python")
    offline = [p for p in builtin_policies() if not needs.needs_registry(p)]
    plain, sharing = (
        compile.compile_policies(offline, backend, BUILTIN_FUNCTIONS, share=share)
        for share in (False, True)
    )
    assert shared == [p.name for p in offline]
    now = datetime.now(UTC)
    for raw in ("alpine:3.20", "quay.io/x/y:latest", f"busybox@sha256:{'a' * 64}"):
        document = offline_document(parse_reference(raw))
        assert evaluate.evaluate(plain, document, now) == evaluate.evaluate(sharing, document, now)
