"""Content digests (``algorithm:encoded``): parsing, computing and verifying.

The grammar is the OCI image spec's; sha256 and sha512 are the registered
algorithms that can be verified.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from manifest_lint.errors import IntegrityError

if TYPE_CHECKING:
    import hashlib

_ALGORITHM = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*$")
_HEX = re.compile(r"^[a-f0-9]+$")
#: Registered algorithms and the length of their hex encoding.
HEX_LENGTHS = {"sha256": 64, "sha512": 128}


#: Exactly the digests :meth:`Digest.parse` accepts, in one match.
_VERIFIABLE = re.compile(r"sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128}")


def is_digest(text: str) -> bool:
    """Whether :meth:`Digest.parse` accepts ``text`` (without making the value)."""
    return _VERIFIABLE.fullmatch(text) is not None


class DigestFormatError(ValueError):
    """Raised by :func:`parse_digest`; callers turn it into their own error with context."""


@dataclass(frozen=True, order=True)
class Digest:
    algorithm: str
    encoded: str

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.encoded}"

    @classmethod
    def parse(cls, text: str) -> Digest:
        return _parse(text)

    @classmethod
    def _parse(cls, text: str) -> Digest:
        algorithm, sep, encoded = text.partition(":")
        if not sep:
            raise DigestFormatError("a digest is written algorithm:hex, e.g. sha256:<64 hex>")
        if not _ALGORITHM.match(algorithm):
            raise DigestFormatError(f"bad digest algorithm {algorithm!r}")
        if algorithm not in HEX_LENGTHS:
            raise DigestFormatError(
                f"unsupported digest algorithm {algorithm!r} (supported: sha256, sha512)"
            )
        want = HEX_LENGTHS[algorithm]
        if not _HEX.match(encoded):
            raise DigestFormatError(f"{algorithm} digest must be lower-case hex")
        if len(encoded) != want:
            raise DigestFormatError(
                f"{algorithm} digest must have {want} hex characters, got {len(encoded)}"
            )
        return cls(algorithm, encoded)

    @classmethod
    def of(cls, data: bytes, algorithm: str = "sha256") -> Digest:
        import hashlib  # (OpenSSL's load is 4 ms of a run that only parses digests)

        if algorithm == "sha256":
            return cls(algorithm, hashlib.sha256(data).hexdigest())
        return cls(algorithm, hashlib.new(algorithm, data).hexdigest())

    def hasher(self) -> hashlib._Hash:
        import hashlib

        return hashlib.new(self.algorithm)

    def verify(self, data: bytes, *, what: str) -> None:
        """Raise :class:`IntegrityError` unless ``data`` hashes to this digest."""
        actual = Digest.of(data, self.algorithm)
        if actual != self:
            raise IntegrityError(
                f"digest mismatch for {what}: expected {self}, got {actual}",
                expected=str(self),
                actual=str(actual),
                reference=what,
            )


@functools.lru_cache(maxsize=65536)
def _parse(text: str) -> Digest:
    """Digests repeat (every descriptor names one, every layer is named by many
    manifests): parsing is memoised; errors are not cached."""
    return Digest._parse(text)
