from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from manifest_lint.errors import ContentError, ManifestLintError, UnsupportedMediaTypeError
from manifest_lint.image import media_types as mt
from manifest_lint.image.config import ImageConfig
from manifest_lint.image.limits import MAX_INDEX_ENTRIES
from manifest_lint.image.model import Index, Manifest

D = "sha256:" + "0" * 64


LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def desc(media_type: str = mt.OCI_MANIFEST, **extra: object) -> dict[str, object]:
    return {"mediaType": media_type, "digest": D, "size": 10, **extra}


def manifest_bytes(**extra: object) -> bytes:
    body = {
        "schemaVersion": 2,
        "mediaType": mt.OCI_MANIFEST,
        "config": desc(mt.OCI_CONFIG),
        "layers": [desc("application/vnd.oci.image.layer.v1.tar+gzip")],
        **extra,
    }
    return json.dumps(body).encode()


def test_manifest_parses_descriptors_and_annotations() -> None:
    data = manifest_bytes(annotations={"a": "b"})
    m = Manifest.from_json(data, digest=D, media_type=mt.OCI_MANIFEST, what="m")
    assert m.layers[0].media_type == "application/vnd.oci.image.layer.v1.tar+gzip"
    assert m.annotations == {"a": "b"}
    assert m.raw == data


def test_schema1_is_refused_with_a_clear_message() -> None:
    data = json.dumps({"schemaVersion": 1, "name": "x", "fsLayers": []}).encode()
    with pytest.raises(UnsupportedMediaTypeError, match="Docker schema1 manifest"):
        Manifest.from_json(data, digest=D, media_type=mt.DOCKER_SCHEMA1_SIGNED, what="m")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b"{",
            "m is not valid JSON: Expecting property name enclosed in double quotes "
            "(line 1, column 2)",
        ),
        (b"[]", "m must be a JSON object, not list"),
        (b"\xff", "m is not UTF-8: invalid start byte at byte 0"),
        (b"[" * 100_000 + b"]" * 100_000, "m is nested too deeply to be a manifest"),
        (manifest_bytes(config=None), "m: field 'config' is missing"),
        (manifest_bytes(layers="x"), "m: field 'layers' must be a list"),
        (manifest_bytes(schemaVersion=3), "m: schemaVersion must be 2"),
        (
            manifest_bytes(annotations={"a": 1}),
            "m: field 'annotations' must be an object of strings",
        ),
        (
            manifest_bytes(config=desc(mt.OCI_CONFIG, digest="sha256:xyz")),
            "m.config: invalid digest 'sha256:xyz': sha256 digest must be lower-case hex",
        ),
        (
            manifest_bytes(config=desc(mt.OCI_CONFIG, size=-1)),
            "m.config: size must not be negative",
        ),
        (
            manifest_bytes(config=desc(mt.OCI_CONFIG, size=True)),
            "m.config: field 'size' must be an integer",
        ),
        (
            manifest_bytes(config=desc(mt.OCI_CONFIG, size=1.0)),
            "m.config: field 'size' must be an integer",
        ),
        (
            manifest_bytes(config=desc(7)),  # type: ignore[arg-type]
            "m.config: field 'mediaType' must be a string",
        ),
        (
            manifest_bytes(layers=[desc(LAYER, digest=None)]),
            "m.layers[0]: field 'digest' is missing",
        ),
        (
            manifest_bytes(mediaType=mt.DOCKER_MANIFEST),
            f"m: mediaType '{mt.DOCKER_MANIFEST}' in the document does not match "
            f"'{mt.OCI_MANIFEST}' declared by the registry or the descriptor",
        ),
    ],
)
def test_malformed_manifests(data: bytes, message: str) -> None:
    with pytest.raises(ContentError) as info:
        Manifest.from_json(data, digest=D, media_type=mt.OCI_MANIFEST, what="m")
    assert str(info.value) == message


def test_index_with_absurd_entry_count_is_refused() -> None:
    data = json.dumps({"schemaVersion": 2, "manifests": [desc()] * (MAX_INDEX_ENTRIES + 1)})
    with pytest.raises(ContentError, match="10001 manifests in one index, the limit is 10000"):
        Index.from_json(data.encode(), digest=D, media_type=mt.OCI_INDEX, what="i")


def test_index_platforms_and_missing_media_type() -> None:
    body = {
        "schemaVersion": 2,
        "manifests": [
            desc(platform={"os": "windows", "architecture": "amd64", "os.version": "10.0.1"})
        ],
    }
    index = Index.from_json(json.dumps(body).encode(), digest=D, media_type=mt.OCI_INDEX, what="i")
    assert index.media_type == mt.OCI_INDEX
    platform = index.manifests[0].platform
    assert platform is not None
    assert (platform.os, platform.os_version) == ("windows", "10.0.1")


def test_config_fields() -> None:
    body = {
        "architecture": "arm64",
        "os": "linux",
        "variant": "v8",
        "created": "2024-01-01T00:00:00Z",
        "config": {
            "User": "1000",
            "Env": ["A=1"],
            "Entrypoint": ["/bin/app"],
            "Cmd": ["-v"],
            "ExposedPorts": {"8080/tcp": {}, "443/tcp": {}},
            "Volumes": {"/data": {}},
            "WorkingDir": "/srv",
            "Labels": {"k": "v"},
        },
        "history": [{"created_by": "RUN x", "empty_layer": True}],
        "rootfs": {"type": "layers", "diff_ids": [D]},
    }
    c = ImageConfig.from_json(
        json.dumps(body).encode(), digest=D, media_type=mt.OCI_CONFIG, what="c"
    )
    assert c.user == "1000"
    assert c.exposed_ports == ("443/tcp", "8080/tcp")
    assert c.labels == {"k": "v"}
    assert c.history[0].empty_layer is True
    assert c.platform is not None
    assert str(c.platform.normalized()) == "linux/arm64"


@given(st.binary(max_size=500))
def test_arbitrary_bytes_give_a_value_or_a_manifest_lint_error(data: bytes) -> None:
    for parse in (Manifest.from_json, Index.from_json, ImageConfig.from_json):
        with contextlib.suppress(ManifestLintError):
            parse(data, digest=D, media_type="", what="x")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "mediaType",
                    "digest",
                    "size",
                    "config",
                    "layers",
                    "manifests",
                    "schemaVersion",
                    "platform",
                    "os",
                    "architecture",
                    "annotations",
                    "history",
                ]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=20,
)


@given(json_values)
def test_arbitrary_json_gives_a_value_or_a_manifest_lint_error(value: object) -> None:
    data = json.dumps(value).encode()
    for parse in (Manifest.from_json, Index.from_json, ImageConfig.from_json):
        with contextlib.suppress(ManifestLintError):
            parse(data, digest=D, media_type="", what="x")


history_values = st.none() | st.booleans() | st.integers() | st.text(max_size=3)
history_entries = (
    st.dictionaries(
        st.sampled_from(["created", "created_by", "author", "comment", "empty_layer", "extra"]),
        history_values,
        max_size=6,
    )
    | history_values
)


def _expected_history(entry: object) -> tuple[str, str, str, str, bool] | None:
    """What a history entry reads as, by the image spec's types: absent or null gives the
    default, another type is refused (None here); other keys are ignored."""
    if not isinstance(entry, dict):
        return None
    read: list[object] = []
    for key in ("created", "created_by", "author", "comment"):
        value = entry.get(key)
        if value is not None and not isinstance(value, str):
            return None
        read.append(value or "")
    flag = entry.get("empty_layer")
    if flag is not None and not isinstance(flag, bool):
        return None
    return (*read, bool(flag))  # type: ignore[return-value]


@given(st.lists(history_entries, max_size=4))
def test_history_entries_read_as_the_spec_types_them(entries: list[object]) -> None:
    """Both ways an entry is read (directly when every field has its type, else field by
    field) give the same values, and refuse the same entries."""
    data = json.dumps({"history": entries}).encode()
    expected = [_expected_history(e) for e in entries]
    if None in expected:
        with pytest.raises(ContentError, match=r"history\[\d+\]"):
            ImageConfig.from_json(data, digest=D, media_type=mt.OCI_CONFIG, what="c")
        return
    config = ImageConfig.from_json(data, digest=D, media_type=mt.OCI_CONFIG, what="c")
    assert [tuple(h) for h in config.history] == expected
