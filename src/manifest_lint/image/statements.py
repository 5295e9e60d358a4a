"""In-toto statements, as attestation layers carry them: decoded, classified, normalised.

A layer holds either a bare statement (``application/vnd.in-toto+json``) or a DSSE
envelope whose base64 ``payload`` is the statement (cosign's
``application/vnd.dsse.envelope.v1+json``, signed BuildKit attestations'
``application/vnd.in-toto.<predicate>+dsse``). Envelopes are decoded, never verified:
verification is a plugin's job (``manifest_lint_register_verifiers``).

Statements are classified by ``predicateType`` (a v0.1 statement often carries an SLSA
v1 predicate), matched by family: SLSA provenance v0.1, v0.2 and v1 (``v1?draft``
included), SPDX and CycloneDX (with or without a version). Any other predicate is kept
with its type and subjects only. Pure: bytes in, values out; every shape a statement
should not have is a :class:`~manifest_lint.errors.ContentError`.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from manifest_lint.errors import ContentError
from manifest_lint.image.json_fields import decode_json

IN_TOTO = "application/vnd.in-toto+json"
DSSE_ENVELOPE = "application/vnd.dsse.envelope.v1+json"
#: The annotation BuildKit (and oras) put on a statement layer.
PREDICATE_TYPE_ANNOTATION = "in-toto.io/predicate-type"

_PROVENANCE = re.compile(r"https://slsa\.dev/provenance/v(0\.1|0\.2|1)(?:\.0)?(?:[?/#].*)?")
_SPDX = re.compile(r"https://spdx\.dev/Document(/v?[0-9]+(\.[0-9]+)*)?/?")
_CYCLONEDX = re.compile(r"https://cyclonedx\.org/bom(/v?[0-9]+(\.[0-9]+)*)?/?")

#: Build types whose external parameters name the source and entry point, and where.
_BUILDKIT = ("configSource", "uri", "path")
_GITHUB_WORKFLOW = ("workflow", "repository", "path")
_SOURCE_PARAMETERS = {
    "https://mobyproject.org/buildkit@v1": _BUILDKIT,
    "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1": _GITHUB_WORKFLOW,
    "https://actions.github.io/buildtypes/workflow/v1": _GITHUB_WORKFLOW,
}


class Material(NamedTuple):
    uri: str
    #: ``alg:hex`` of the material, or ``""`` when it names no digest.
    digest: str


class Provenance(NamedTuple):
    builder_id: str = ""
    build_type: str = ""
    source: str = ""
    entry_point: str = ""
    materials: tuple[Material, ...] = ()


class Sbom(NamedTuple):
    #: ``spdx`` or ``cyclonedx``.
    format: str
    spec_version: str
    #: The length of SPDX's top-level ``packages`` or CycloneDX's ``components``.
    packages: int


class Statement(NamedTuple):
    predicate_type: str
    #: ``provenance``, ``sbom`` or ``other``.
    kind: str
    #: Every ``alg:hex`` digest of every subject, in order (duplicates kept once).
    subjects: tuple[str, ...]
    #: Whether it came in a DSSE envelope (decoded, not verified).
    signed: bool
    provenance: Provenance | None = None
    sbom: Sbom | None = None

    def subject_matches(self, digest: str) -> bool:
        """Whether any subject names ``digest`` (``alg:hex``). Compared on the algorithm
        they share; subjects with other algorithms or none never match."""
        return digest.lower() in self.subjects


def is_statement_layer(media_type: str, annotations: Mapping[str, str]) -> bool:
    """Whether a layer of an attestation manifest holds an in-toto statement."""
    base = media_type.split(";", 1)[0].strip().lower()
    return (
        base in (IN_TOTO, DSSE_ENVELOPE)
        or (base.startswith("application/vnd.in-toto") and base.endswith("+dsse"))
        or PREDICATE_TYPE_ANNOTATION in annotations
    )


def read_statement(data: bytes, media_type: str, what: str) -> Statement:
    """The statement a layer holds (verified by the caller), classified and normalised."""
    obj = decode_json(data, what)
    signed = False
    if "payload" in obj and "payloadType" in obj:
        signed = True
        obj = _unwrap(obj, what)
    elif "dsse" in media_type.lower():
        raise ContentError(f"{what} is declared a DSSE envelope but has no payload")
    return _statement(obj, signed, what)


def _unwrap(envelope: Mapping[str, Any], what: str) -> dict[str, Any]:
    payload_type = envelope.get("payloadType")
    payload = envelope.get("payload")
    if payload_type != IN_TOTO:
        raise ContentError(
            f"{what}: DSSE payloadType is {payload_type!r}, not an in-toto statement ({IN_TOTO})"
        )
    if not isinstance(payload, str):
        raise ContentError(f"{what}: DSSE payload must be a base64 string")
    try:
        # DSSE payloads are standard base64; some writers use the URL-safe alphabet.
        raw = base64.b64decode(payload.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ContentError(f"{what}: DSSE payload is not base64: {exc}") from None
    return decode_json(raw, f"{what} (DSSE payload)")


def _text(obj: Any, *path: str) -> str:
    """The string at ``path`` inside nested objects, or ``""`` where anything is missing
    or of another type: statements come in many shapes, and what is not there is empty."""
    for key in path:
        if not isinstance(obj, dict):
            return ""
        obj = obj.get(key)
    return obj if isinstance(obj, str) else ""


def _obj(obj: Any, *path: str) -> dict[str, Any]:
    """The object at ``path``, or an empty one where anything is missing or not an object."""
    for key in path:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj if isinstance(obj, dict) else {}


def _digests(value: Any) -> list[str]:
    """``{"sha256": "ab…"}`` as ``["sha256:ab…"]`` (string values only, lower-cased)."""
    if not isinstance(value, dict):
        return []
    return [
        f"{alg.lower()}:{hex_.lower()}"
        for alg, hex_ in value.items()
        if isinstance(alg, str) and isinstance(hex_, str) and alg and hex_
    ]


def _statement(obj: dict[str, Any], signed: bool, what: str) -> Statement:
    predicate_type = obj.get("predicateType")
    if not isinstance(predicate_type, str) or not predicate_type:
        raise ContentError(f"{what} is not an in-toto statement: no predicateType")
    subjects_obj = obj.get("subject")
    subjects: dict[str, None] = {}  # (ordered, each once)
    if isinstance(subjects_obj, list):
        for subject in subjects_obj:
            if isinstance(subject, dict):
                subjects.update(dict.fromkeys(_digests(subject.get("digest"))))
    predicate = _obj(obj, "predicate")
    named = tuple(subjects)
    version = _PROVENANCE.fullmatch(predicate_type)
    if version:
        provenance = _provenance(version.group(1), predicate)
        return Statement(predicate_type, "provenance", named, signed, provenance=provenance)
    if _SPDX.fullmatch(predicate_type):
        spec = _text(predicate, "spdxVersion").removeprefix("SPDX-")
        sbom = Sbom("spdx", spec, _count(predicate.get("packages")))
        return Statement(predicate_type, "sbom", named, signed, sbom=sbom)
    if _CYCLONEDX.fullmatch(predicate_type):
        sbom = Sbom(
            "cyclonedx", _text(predicate, "specVersion"), _count(predicate.get("components"))
        )
        return Statement(predicate_type, "sbom", named, signed, sbom=sbom)
    return Statement(predicate_type, "other", named, signed)


def _count(value: Any) -> int:
    return len(value) if isinstance(value, list) else 0


def _materials(value: Any) -> tuple[Material, ...]:
    if not isinstance(value, list):
        return ()
    found = []
    for item in value:
        if isinstance(item, dict):
            digests = _digests(item.get("digest"))
            sha256 = [d for d in digests if d.startswith("sha256:")]
            found.append(Material(_text(item, "uri"), (sha256 or digests or [""])[0]))
    return tuple(found)


def _provenance(version: str, p: dict[str, Any]) -> Provenance:
    """The fields every SLSA version has, under their v1 names."""
    if version == "1":
        build_type = _text(p, "buildDefinition", "buildType")
        where = _SOURCE_PARAMETERS.get(build_type)
        source = entry_point = ""
        if where is not None:
            parameters = _obj(p, "buildDefinition", "externalParameters")
            source = _text(parameters, where[0], where[1])
            entry_point = _text(parameters, where[0], where[2])
        return Provenance(
            builder_id=_text(p, "runDetails", "builder", "id"),
            build_type=build_type,
            source=source,
            entry_point=entry_point,
            materials=_materials(_obj(p, "buildDefinition").get("resolvedDependencies")),
        )
    materials = _materials(p.get("materials"))
    if version == "0.2":
        return Provenance(
            builder_id=_text(p, "builder", "id"),
            build_type=_text(p, "buildType"),
            source=_text(p, "invocation", "configSource", "uri"),
            entry_point=_text(p, "invocation", "configSource", "entryPoint"),
            materials=materials,
        )
    # v0.1: the recipe names its type, entry point and the material that defined it.
    recipe = _obj(p, "recipe")
    defined_in = recipe.get("definedInMaterial")
    source = ""
    if type(defined_in) is int and 0 <= defined_in < len(materials):
        source = materials[defined_in].uri
    return Provenance(
        builder_id=_text(p, "builder", "id"),
        build_type=_text(recipe, "type"),
        source=source,
        entry_point=_text(recipe, "entryPoint"),
        materials=materials,
    )
