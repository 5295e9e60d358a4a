"""Writing recorded images into an OCI image layout directory (``manifest-lint record``).

The layout holds ``oci-layout``, ``index.json`` and ``blobs/<algorithm>/<hex>``. Every
file is written beside its final path and renamed into place, and every byte is
deterministic: blobs are the bytes fetched, ``index.json`` lists its entries sorted by
name with sorted keys and no times, so recording the same images twice gives the same
files. Blobs are written before ``index.json`` names them.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from manifest_lint.errors import UsageError
from manifest_lint.image import media_types as mt
from manifest_lint.image.digest import Digest
from manifest_lint.image.supply_chain import COSIGN_TAG
from manifest_lint.sources.layout import SUPPORTED_LAYOUT_MAJOR, blob_path
from manifest_lint.sources.recording import Recording

if TYPE_CHECKING:
    from manifest_lint.image.model import Descriptor
    from manifest_lint.image.supply_chain import Referrer

#: ``index.json`` annotation saying that the layout holds no layer blobs.
LAYERS_ANNOTATION = "dev.manifest-lint.layers"
LAYERS_OMITTED = "omitted"
OCI_LAYOUT = b'{\n  "imageLayoutVersion": "1.0.0"\n}\n'


def _json_bytes(value: object) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _write_atomic(path: Path, data: bytes) -> None:
    """``data`` at ``path``, written beside it and renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class LayoutWriter:
    """An OCI image layout being recorded into: new, or one that exists (whose other
    entries are kept)."""

    def __init__(self, directory: str) -> None:
        self.root = Path(directory)
        self.entries: list[dict[str, Any]] = []
        self.annotations: dict[str, Any] = {}
        try:
            if self.root.exists() and not self.root.is_dir():
                raise UsageError(f"--out {directory}: exists and is not a directory")
            if self.root.is_dir() and any(self.root.iterdir()):
                self._read_existing(directory)
        except OSError as exc:
            raise UsageError(f"--out {directory}: cannot read it: {exc.strerror}") from None

    def _read_existing(self, directory: str) -> None:
        refuse = (
            f"--out {directory} is not empty and is not an OCI image layout "
            "(no readable oci-layout and index.json); refusing to write into it"
        )
        try:
            layout = json.loads((self.root / "oci-layout").read_bytes())
            index = json.loads((self.root / "index.json").read_bytes())
        except (OSError, ValueError):
            raise UsageError(refuse) from None
        version = layout.get("imageLayoutVersion") if isinstance(layout, dict) else None
        manifests = index.get("manifests") if isinstance(index, dict) else None
        if (
            not isinstance(version, str)
            or version.split(".")[0] != SUPPORTED_LAYOUT_MAJOR
            or not isinstance(manifests, list)
            or not all(isinstance(m, dict) for m in manifests)
        ):
            raise UsageError(refuse)
        self.entries = list(manifests)
        annotations = index.get("annotations")
        self.annotations = dict(annotations) if isinstance(annotations, dict) else {}

    def add(self, recording: Recording) -> None:
        """Write ``recording``'s blobs, and name it in the entries (replacing any entry of
        the same name); :meth:`finish` writes ``index.json``."""
        for digest, data in recording.blobs.items():
            Digest.parse(digest).verify(data, what=f"{recording.name} {digest}")
            path = self.root / blob_path(digest)
            if path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data:
                continue
            _write_atomic(path, data)
        self._name(recording.name, recording.media_type, recording.digest, recording.size)
        for digest, found in sorted(recording.referrers.items()):
            self._referrers(digest, found)

    def _name(self, name: str, media_type: str, digest: str, size: int) -> None:
        """Name a manifest in the entries (replacing any entry of the same name)."""
        self.entries = [e for e in self.entries if _name(e) != name]
        self.entries.append(
            {
                "mediaType": media_type,
                "digest": digest,
                "size": size,
                "annotations": {mt.REF_NAME_ANNOTATION: name},
            }
        )

    def _referrers(self, digest: str, found: tuple[Referrer, ...]) -> None:
        """What refers to ``digest``, as a registry without the referrers API keeps it:
        the fallback tag ``sha256-<hex>`` (an index of the referrers) and cosign's
        ``sha256-<hex>.sig``/``.att``/``.sbom`` tags (``LayoutSource.referrers``)."""
        tag = digest.replace(":", "-", 1)
        listed = [r.descriptor for r in found if r.source != COSIGN_TAG]
        if listed:
            index = _json_bytes(
                {
                    "schemaVersion": 2,
                    "mediaType": mt.OCI_INDEX,
                    "manifests": [_descriptor(d) for d in listed],
                }
            )
            index_digest = str(Digest.of(index))
            _write_atomic(self.root / blob_path(index_digest), index)
            self._name(tag, mt.OCI_INDEX, index_digest, len(index))
        for referrer in found:
            if referrer.source == COSIGN_TAG:
                d = referrer.descriptor
                self._name(
                    f"{tag}.{referrer.kind}", d.media_type or mt.OCI_MANIFEST, d.digest, d.size
                )

    def finish(self) -> None:
        """Write ``oci-layout`` and ``index.json`` (entries sorted by name, then digest)."""
        self.annotations[LAYERS_ANNOTATION] = LAYERS_OMITTED
        index = {
            "schemaVersion": 2,
            "mediaType": mt.OCI_INDEX,
            "manifests": sorted(self.entries, key=_sort_key),
            "annotations": dict(sorted(self.annotations.items())),
        }
        self.root.mkdir(parents=True, exist_ok=True)
        if not (self.root / "oci-layout").is_file():
            _write_atomic(self.root / "oci-layout", OCI_LAYOUT)
        _write_atomic(self.root / "index.json", _json_bytes(index))


def _name(entry: dict[str, Any]) -> str:
    annotations = entry.get("annotations")
    name = annotations.get(mt.REF_NAME_ANNOTATION) if isinstance(annotations, dict) else None
    return name if isinstance(name, str) else ""


def _sort_key(entry: dict[str, Any]) -> tuple[str, str]:
    digest = entry.get("digest")
    return _name(entry), digest if isinstance(digest, str) else ""


def _descriptor(d: Descriptor) -> dict[str, Any]:
    out: dict[str, Any] = {"mediaType": d.media_type, "digest": d.digest, "size": d.size}
    if d.artifact_type:
        out["artifactType"] = d.artifact_type
    if d.annotations:
        out["annotations"] = dict(sorted(d.annotations.items()))
    return out
