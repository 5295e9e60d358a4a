"""What refers to an image: referrers, signatures and attestations, as pure values.

``sources.supply_chain`` reads them (docs/supply-chain.md says from where); the policy
document shows them. Nothing here is verified cryptographically: a verifier plugin
(``manifest_lint_register_verifiers``) may add a :class:`Verification` to signatures
and statements before policies run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, NamedTuple, Protocol

from manifest_lint.image.json_fields import NO_ENTRIES

if TYPE_CHECKING:
    from manifest_lint.image.model import Descriptor, Manifest
    from manifest_lint.image.statements import Statement

#: Where a referrer was found: the referrers API, its fallback tag (``sha256-<hex>``), a
#: cosign tag (``sha256-<hex>.sig``, ``.att``, ``.sbom``); ``index`` for an attestation
#: manifest listed in the image's own index (BuildKit).
API, TAG, COSIGN_TAG, INDEX = "api", "tag", "cosign-tag", "index"

NOTATION_SIGNATURE = "application/vnd.cncf.notary.signature"
COSIGN_SIGNATURE = "application/vnd.dev.cosign.artifact.sig.v1+json"
COSIGN_SBOM = "application/vnd.dev.cosign.artifact.sbom.v1+json"
#: Artifact types of attestation manifests: in-toto statements (cosign, oras) and
#: BuildKit's OCI-artifact form.
ATTESTATION_TYPES = frozenset(
    {
        "application/vnd.in-toto+json",
        "application/vnd.dsse.envelope.v1+json",
        "application/vnd.dev.cosign.artifact.att.v1+json",
        "application/vnd.docker.attestation.manifest.v1+json",
    }
)
#: Artifact types of SBOM documents attached as referrers (not as statements).
SBOM_TYPES = frozenset(
    {
        "application/spdx+json",
        "text/spdx",
        "application/vnd.cyclonedx+json",
        "application/vnd.cyclonedx+xml",
        COSIGN_SBOM,
    }
)


class Referrer(NamedTuple):
    """A manifest that refers to ``subject`` (a digest of the image), and where it was
    found. ``descriptor.artifact_type`` is the referrer's artifact type (for a cosign
    tag, the tag's kind: ``sig``, ``att`` or ``sbom`` in the annotation
    :data:`COSIGN_KIND`)."""

    descriptor: Descriptor
    source: str
    subject: str

    @property
    def kind(self) -> str:
        """``sig``, ``att`` or ``sbom`` for a cosign tag, else ``""``."""
        return self.descriptor.annotations.get(COSIGN_KIND, "")


#: The annotation manifest-lint puts on a cosign tag's descriptor: which tag it was.
COSIGN_KIND = "dev.manifest-lint.cosign-tag"


class Verification(NamedTuple):
    """What a verifier plugin found: whether the signature or envelope is valid, and
    for whom (``identity``: the signer, such as a workflow URI or an e-mail; ``issuer``:
    who vouched for it, such as an OIDC issuer)."""

    verified: bool
    identity: str = ""
    issuer: str = ""


class Signature(NamedTuple):
    #: ``cosign`` or ``notation``.
    format: str
    #: The signature manifest's digest.
    digest: str
    source: str
    #: The digest it signs.
    signs: str
    annotations: Mapping[str, str] = NO_ENTRIES
    #: The signature manifest, verified against its digest (for verifiers).
    manifest: Manifest | None = None
    verification: Verification | None = None


class Attested(NamedTuple):
    """An attestation manifest and the statements read from its layers."""

    digest: str
    media_type: str
    size: int
    #: The digest it describes: a platform manifest's, or the image's own.
    describes: str
    source: str
    annotations: Mapping[str, str] = NO_ENTRIES
    statements: tuple[Statement, ...] = ()
    #: Set to what went wrong when its statements could not be read (too large, not
    #: JSON, not a statement): never a pass for a policy that needs them.
    error: str = ""
    #: One per statement, where a verifier said something (``None`` where none did).
    verifications: tuple[Verification | None, ...] = ()


class SupplyChain(NamedTuple):
    #: The referrers of each digest asked (the image's and each platform manifest's).
    referrers: Mapping[str, tuple[Referrer, ...]] = NO_ENTRIES  # type: ignore[assignment]
    signatures: tuple[Signature, ...] = ()
    attestations: tuple[Attested, ...] = ()

    @property
    def errors(self) -> list[str]:
        return [a.error for a in self.attestations if a.error]


#: Reads a blob a signature names (for verifiers): descriptor in, verified bytes out.
FetchBlob = Callable[["Descriptor"], bytes]


class Verifier(Protocol):
    """Adds verification results to signatures and statements before policies run.

    Registered by plugins through ``manifest_lint_register_verifiers``; the built-in
    plugin registers none. Return ``None`` for what you do not verify (another
    verifier may); raising is a bug in the verifier, reported as an error of the
    reference. sigstore-python is the intended verifier for cosign (docs/plugins.md).
    """

    def verify_signature(self, signature: Signature, fetch: FetchBlob) -> Verification | None:
        """``signature.manifest`` is the signature manifest; ``fetch`` reads its blobs."""

    def verify_statement(
        self, statement: Statement, envelope: bytes, attestation: Attested
    ) -> Verification | None:
        """``envelope`` is the layer as stored (a DSSE envelope when ``statement.signed``)."""
