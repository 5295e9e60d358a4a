"""``schemas/document.schema.json`` against docs/document.md and against the documents
the builder makes of every image the registry tests read."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from manifest_lint.errors import ManifestLintError
from manifest_lint.image.config import ImageConfig
from manifest_lint.image.reference import parse_reference
from manifest_lint.policy.document import config_document, offline_document
from tests.helpers.cli import inspect_json
from tests.helpers.images import PushedCase
from tests.test_model import history_entries, json_values

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "schemas" / "document.schema.json").read_text(encoding="utf-8"))
DOC = (ROOT / "docs" / "document.md").read_text(encoding="utf-8")


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref:
        node = SCHEMA["$defs"][ref.rsplit("/", 1)[1]]
    return node


def _doc_type(node: dict[str, Any]) -> str:
    """The type as docs/document.md writes it."""
    node = _resolve(node)
    kind = node.get("type")
    if kind == "string":
        return "timestamp" if node.get("format") == "date-time" else "string"
    if kind == "array":
        item = _doc_type(node["items"])
        return f"list({item})"
    if kind == "object":
        if "properties" in node:
            return "map"
        extra = node.get("additionalProperties")
        return f"map(string, {_doc_type(extra) if isinstance(extra, dict) else 'dyn'})"
    return {"integer": "int", "boolean": "bool"}[kind]


def _schema_fields(root: dict[str, Any]) -> dict[str, dict[str, str]]:
    """``{path: {field: type}}`` of every object in the schema. A definition reached by
    several paths (a statement is in ``image.attestations[].statements[]`` and in each
    manifest's ``attestations[]``) is documented once: under its shortest path, then
    the first alphabetically, and named at the others."""
    out: dict[str, dict[str, str]] = {}
    walked: set[str] = set()
    queue: list[tuple[dict[str, Any], str]] = [(root, "")]
    while queue:
        queue.sort(key=lambda item: (item[1].count(".") + item[1].count("[]"), item[1]))
        node, path = queue.pop(0)
        ref = node.get("$ref")
        if ref:
            if ref in walked:
                continue
            walked.add(ref)
        node = _resolve(node)
        if node.get("type") == "array":
            queue.append((node["items"], f"{path}[]"))
            continue
        if node.get("type") != "object" or "properties" not in node:
            continue
        out[path] = {name: _doc_type(child) for name, child in node["properties"].items()}
        for name, child in node["properties"].items():
            if name == "platform" and path == "":
                continue  # (the same manifest as image.manifests[])
            queue.append((child, f"{path}.{name}" if path else name))
    return out


def _doc_fields() -> dict[str, dict[str, str]]:
    """``{section: {field: type}}`` of the tables under ``## `PATH` `` headings."""
    out: dict[str, dict[str, str]] = {}
    section = None
    for line in DOC.splitlines():
        heading = re.match(r"^#+ (?:`([^`]+)`|Top level)$", line)
        if heading:
            section = heading.group(1) or ""
            continue
        if line.startswith("#"):
            section = None
            continue
        row = re.match(r"^\| `([A-Za-z]+)` \| ([^|]+) \|", line)
        if section is not None and row:
            out.setdefault(section, {})[row.group(1)] = row.group(2).strip()
    return out


def test_docs_and_schema_name_the_same_fields_with_the_same_types() -> None:
    assert _doc_fields() == _schema_fields(SCHEMA)


def test_the_schema_is_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def _validate(document: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator(SCHEMA).validate(document)


@pytest.mark.parametrize(
    "raw", ["alpine", "ghcr.io/o/r@sha256:" + "a" * 64, "localhost:5000/a/b:1.0"]
)
def test_offline_documents_follow_the_schema(raw: str) -> None:
    _validate(offline_document(parse_reference(raw)))


def test_the_schema_refuses_a_field_it_does_not_name() -> None:
    document = offline_document(parse_reference("alpine"))
    document["image"]["nosuchfield"] = 1
    with pytest.raises(jsonschema.ValidationError):
        _validate(document)


def test_every_pushed_case_gives_a_document_the_schema_accepts(
    pushed: dict[str, PushedCase], capsys: pytest.CaptureFixture[str]
) -> None:
    """``inspect --format json`` prints the document policies see (docs/document.md)."""
    for name, case in pushed.items():
        document = inspect_json(capsys, case.reference)
        try:
            _validate(document)
        except jsonschema.ValidationError as exc:  # pragma: no cover  (the failure's message)
            pytest.fail(f"{name}: {exc.message} at {list(exc.absolute_path)}")


_config_values = st.none() | st.booleans() | st.integers() | st.text(max_size=4)
_string_maps = st.dictionaries(st.text(max_size=4), st.text(max_size=4) | st.none(), max_size=3)
_config_fields = st.fixed_dictionaries(
    {},
    optional={
        "Labels": _string_maps | _config_values,
        "User": st.text(max_size=4) | _config_values,
        "Env": st.lists(st.text(max_size=6), max_size=3) | _config_values,
        "Entrypoint": st.lists(st.text(max_size=4), max_size=2) | _config_values,
        "Cmd": st.lists(st.text(max_size=4), max_size=2) | st.none(),
        "ExposedPorts": st.dictionaries(st.text(max_size=6), st.just({}), max_size=2),
        "Volumes": st.dictionaries(st.text(max_size=6), st.just({}), max_size=2),
        "WorkingDir": st.text(max_size=4),
        "StopSignal": st.text(max_size=4) | st.none(),
    },
)
_configs = st.fixed_dictionaries(
    {},
    optional={
        "created": st.text(max_size=8) | st.none(),
        "author": st.text(max_size=4),
        "config": _config_fields | _config_values,
        "history": st.lists(history_entries, max_size=3),
        "rootfs": st.fixed_dictionaries(
            {"type": st.just("layers"), "diff_ids": st.lists(st.text(max_size=6), max_size=2)}
        ),
    },
)


@given(_configs | json_values)
def test_every_config_read_gives_a_config_document_the_schema_accepts(value: object) -> None:
    """Hypothesis-made configs (and any JSON): what reads is documented by the schema."""
    try:
        config = ImageConfig.from_json(
            json.dumps(value).encode(), digest="sha256:" + "0" * 64, media_type="", what="c"
        )
    except ManifestLintError:
        return
    validator = jsonschema.Draft202012Validator(
        {"$defs": SCHEMA["$defs"], "$ref": "#/$defs/config"}
    )
    validator.validate(config_document(config))
    validator.validate(config_document(None))


_platforms = st.sampled_from(
    ["linux/amd64", "linux/arm64/v8", "linux/arm/v7", "linux/s390x", "windows/amd64", "linux/386"]
)
_labels = st.dictionaries(
    st.text(st.characters(codec="utf-8"), min_size=1, max_size=6),
    st.text(st.characters(codec="utf-8"), max_size=6),
    max_size=2,
)


@st.composite
def _images(draw: st.DrawFn) -> Any:
    """Single manifests, Docker lists and OCI indexes (with attestations or not), of
    random platforms, layer counts, users, labels and annotations."""
    from tests.helpers.images import build_index, build_manifest

    media = draw(st.sampled_from(["oci", "docker"]))
    children = [
        build_manifest(
            platform,
            layers=draw(st.integers(0, 3)),
            media=media,
            user=draw(st.none() | st.sampled_from(["", "root", "65532:65532"])),
            config_labels=draw(_labels),
            annotations=draw(_labels) if media == "oci" else None,
            created=draw(st.sampled_from(["2024-01-02T03:04:05Z", ""])),
            seed=f"hyp-{n}",
        )
        for n, platform in enumerate(draw(st.lists(_platforms, min_size=1, max_size=3)))
    ]
    if len(children) == 1 and draw(st.booleans()):
        return children[0]
    oci = media == "oci"
    return build_index(
        children,
        media=media,
        annotations=draw(_labels) if oci else None,
        attestations=oci and draw(st.booleans()),
    )


@given(_images())
def test_hypothesis_made_images_give_documents_the_schema_accepts(image: Any) -> None:
    """Whole images (not only configs), read from an OCI layout and built into the
    document policies see: every one is described by the schema."""
    import tempfile

    from manifest_lint.policy.document import build_document
    from manifest_lint.sources.layout import LayoutSource
    from manifest_lint.sources.load import load_image
    from tests.helpers.images import write_layout

    with tempfile.TemporaryDirectory() as directory:
        write_layout(directory, image, "v1")
        reference = parse_reference(f"oci:{directory}:v1")
        source = LayoutSource(reference)
        try:
            document = build_document(load_image(reference, source))
        finally:
            source.close()
    _validate(document)
