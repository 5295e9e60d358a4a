"""The policy document: the versioned input CEL policies see, built from an :class:`Image`.

Pure: values in, plain JSON-able values out. ``docs/document.md`` documents
every field; changing a field's meaning needs a new :data:`DOCUMENT_VERSION`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # (the offline path builds documents without loading the model)
    from manifest_lint.image.config import HistoryEntry, ImageConfig
    from manifest_lint.image.model import Descriptor, Image, PlatformImage
    from manifest_lint.image.platforms import Platform
    from manifest_lint.image.reference import Reference
    from manifest_lint.image.supply_chain import SupplyChain

DOCUMENT_VERSION = 1


def ref_document(reference: Reference) -> dict[str, Any]:
    return {
        "raw": reference.raw,
        "transport": reference.transport,
        "registry": reference.registry,
        "repository": reference.repository,
        "path": reference.path,
        "tag": reference.tag,
        "digest": reference.digest,
        "pinned": reference.pinned,
        "normalized": str(reference),
    }


def platform_document(platform: Platform, name: str = "") -> dict[str, Any]:
    """``name`` is the manifest's name within its image (:func:`platform_names`);
    ``os/arch[/variant]`` when not given."""
    return {
        "os": platform.os,
        "architecture": platform.architecture,
        "variant": platform.variant,
        "osVersion": platform.os_version,
        "osFeatures": list(platform.os_features),
        "name": name or str(platform),
    }


def platform_names(platforms: Sequence[PlatformImage]) -> list[str]:
    """One name per platform manifest, unique within the image, used as
    ``platform.name`` and in result names (``max-layers[NAME]``): ``os/arch[/variant]``;
    where two share that, with the Windows ``os.version`` added (two builds of
    ``windows/amd64``: ``windows/amd64 10.0.20348.5622``); where that is still not
    unique, with the start of the digest instead (``linux/amd64 sha256:0123456789ab``);
    and where one manifest is listed twice, with its position (``#2``). The os.version
    is added only where needed, so an image with one Windows build keeps its name when
    a monthly update changes its os.version."""
    names = [str(p.platform) for p in platforms]
    labels = [
        f"{name} {p.platform.os_version}"
        if names.count(name) > 1 and p.platform.os_version
        else name
        for p, name in zip(platforms, names, strict=True)
    ]
    labels = [
        f"{name} {p.manifest.digest[:19]}" if labels.count(label) > 1 else label
        for p, name, label in zip(platforms, names, labels, strict=True)
    ]
    seen: dict[str, int] = {}
    unique = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        unique.append(f"{label} #{seen[label]}" if labels.count(label) > 1 else label)
    return unique


def _history(entry: HistoryEntry) -> dict[str, Any]:
    return {
        "created": entry.created,
        "createdBy": entry.created_by,
        "author": entry.author,
        "comment": entry.comment,
        "emptyLayer": entry.empty_layer,
    }


def config_document(config: ImageConfig | None) -> dict[str, Any]:
    """The config fields; an absent config (an artifact) gives the same keys, empty."""
    if config is None:
        from manifest_lint.image.config import ImageConfig

        config = ImageConfig(digest="", media_type="")
    c = config
    return {
        "digest": c.digest,
        "mediaType": c.media_type,
        "labels": dict(sorted(c.labels.items())),
        "created": c.created,
        "author": c.author,
        "user": c.user,
        "env": list(c.env),
        "entrypoint": list(c.entrypoint),
        "cmd": list(c.cmd),
        "exposedPorts": list(c.exposed_ports),
        "volumes": list(c.volumes),
        "workdir": c.workdir,
        "stopSignal": c.stop_signal,
        "history": [_history(h) for h in c.history],
        "diffIds": list(c.diff_ids),
    }


def _layer(layer: Descriptor) -> dict[str, Any]:
    return {
        "digest": layer.digest,
        "size": layer.size,
        "mediaType": layer.media_type,
        "urls": list(layer.urls),
        "annotations": dict(sorted(layer.annotations.items())),
    }


def manifest_document(
    item: PlatformImage, name: str = "", chain: SupplyChain | None = None
) -> dict[str, Any]:
    """One platform manifest; ``referrers``, ``signatures`` and ``attestations`` (its
    statements) from ``chain``, empty without one."""
    from manifest_lint.policy.supply_chain import for_digest

    manifest = item.manifest
    return {
        "platform": platform_document(item.platform, name),
        "digest": manifest.digest,
        "mediaType": manifest.media_type,
        "size": item.descriptor.size,
        "annotations": dict(sorted(manifest.annotations.items())),
        "layers": [_layer(layer) for layer in manifest.layers],
        "layerCount": len(manifest.layers),
        "totalSize": sum(layer.size for layer in manifest.layers),
        "config": config_document(item.config),
        **for_digest(chain, manifest.digest, name or str(item.platform)),
    }


def build_document(image: Image) -> dict[str, Any]:
    """The document for one image (see ``docs/document.md``)."""
    from manifest_lint.policy.supply_chain import (
        attestation_document,
        referrer_document,
        signature_document,
    )

    names = platform_names(image.platforms)
    by_digest: dict[str, str] = {}
    for item, name in zip(image.platforms, names, strict=True):
        by_digest.setdefault(item.manifest.digest, name)
    chain = image.supply_chain
    if chain is not None:
        attestations = [
            attestation_document(a, by_digest.get(a.describes, "")) for a in chain.attestations
        ]
    else:
        attestations = [
            {
                "digest": a.descriptor.digest,
                "mediaType": a.descriptor.media_type,
                "size": a.descriptor.size,
                "describes": a.describes,
                "platform": by_digest.get(a.describes, ""),
                "annotations": dict(sorted(a.descriptor.annotations.items())),
                "source": "index",
                "statements": [],
                "error": "",
            }
            for a in image.attestations
        ]
    return {
        "version": DOCUMENT_VERSION,
        "offline": False,
        "ref": ref_document(image.reference),
        "image": {
            "digest": image.digest,
            "mediaType": image.media_type,
            "size": image.size,
            "isIndex": image.is_index,
            "platforms": sorted({str(p.platform) for p in image.platforms}),
            "annotations": dict(sorted(image.annotations.items())),
            "manifests": [
                manifest_document(p, n, chain) for p, n in zip(image.platforms, names, strict=True)
            ],
            "referrers": [referrer_document(r) for r in chain.referrers.get(image.digest, ())]
            if chain
            else [],
            "signatures": [
                signature_document(s, by_digest.get(s.signs, "")) for s in chain.signatures
            ]
            if chain
            else [],
            "attestations": attestations,
            "others": [
                {
                    "digest": d.digest,
                    "mediaType": d.media_type,
                    "artifactType": d.artifact_type,
                    "size": d.size,
                    "platform": str(d.platform) if d.platform else "",
                }
                for d in image.others
            ],
        },
    }


def offline_document(reference: Reference) -> dict[str, Any]:
    """The document of a registry reference under ``--offline``: ``ref`` only, and an
    ``image`` with every key present and empty, so message expressions still work."""
    return {
        "version": DOCUMENT_VERSION,
        "offline": True,
        "ref": ref_document(reference),
        "image": {
            "digest": "",
            "mediaType": "",
            "size": 0,
            "isIndex": False,
            "platforms": [],
            "annotations": {},
            "manifests": [],
            "referrers": [],
            "signatures": [],
            "attestations": [],
            "others": [],
        },
    }
