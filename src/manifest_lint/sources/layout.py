"""OCI image layouts: directories and tar archives of them (``oci:`` and ``oci-archive:``).

Every blob is read from ``blobs/<algorithm>/<hex>``, size-capped and (by the
caller, :mod:`manifest_lint.sources.load`) digest-checked. Nothing outside the layout is
ever read: blob paths are built from parsed digests only, symlinks that leave
the directory are refused, and an archive with an absolute or ``..`` member
path, or a link where a blob should be, is refused whole.
"""

from __future__ import annotations

import os
import re
import stat
import tarfile
import threading
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from manifest_lint.errors import LayoutError, TooLargeError
from manifest_lint.image import media_types as mt
from manifest_lint.image.digest import Digest, DigestFormatError
from manifest_lint.image.json_fields import decode_json
from manifest_lint.image.limits import MAX_DOCUMENT_SIZE
from manifest_lint.image.model import Descriptor, Index
from manifest_lint.image.reference import Reference
from manifest_lint.sources.base import Fetched
from manifest_lint.sources.load import check_size, verify

if TYPE_CHECKING:
    from manifest_lint.image.supply_chain import Referrer

SUPPORTED_LAYOUT_MAJOR = "1"


class _Files:
    """Read access to the files of a layout, by path relative to its root."""

    def read(self, relpath: str, limit: int) -> bytes:
        raise NotImplementedError

    def close(self) -> None:
        """Release what the reader holds."""


class _Directory(_Files):
    def __init__(self, root: str) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            what = "does not exist" if not self.root.exists() else "is not a directory"
            raise LayoutError(f"OCI layout {root} {what}", path=root)
        self._real_root = self.root.resolve()

    def read(self, relpath: str, limit: int) -> bytes:
        path = self.root / relpath
        real = path.resolve()
        if not real.is_relative_to(self._real_root):
            raise LayoutError(
                f"OCI layout {self.root}: {relpath} is a link that leads outside the layout",
                path=str(self.root),
            )
        try:
            fd = os.open(real, os.O_RDONLY)
        except FileNotFoundError:
            raise LayoutError(
                f"OCI layout {self.root}: {relpath} is missing", path=str(self.root)
            ) from None
        except OSError as exc:
            raise LayoutError(
                f"OCI layout {self.root}: cannot read {relpath}: {exc.strerror}",
                path=str(self.root),
            ) from exc
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise LayoutError(
                    f"OCI layout {self.root}: {relpath} is not a regular file", path=str(self.root)
                )
            if info.st_size > limit:
                raise TooLargeError(
                    f"OCI layout {self.root}: {relpath} is {info.st_size} bytes, above the "
                    f"{limit}-byte limit; refused without reading it",
                    limit=limit,
                    reference=relpath,
                )
            return handle.read(limit + 1)


def _require_end(tar: tarfile.TarFile) -> None:
    """A tar archive ends with zero blocks after its last member. Python 3.11 raises on an
    archive cut inside a header; 3.13 stops there as if at the end. Checked here, so a
    truncated archive is told apart from one that lacks a file, on every Python."""
    tar.fileobj.seek(tar.offset)  # (a TarFile opened from a path always has its fileobj)
    if len(tar.fileobj.read(tarfile.BLOCKSIZE)) < tarfile.BLOCKSIZE:
        raise tarfile.ReadError("unexpected end of data")


class _Archive(_Files):
    def __init__(self, path: str) -> None:
        self.path = path
        tar: tarfile.TarFile | None = None
        try:
            tar = tarfile.open(path, "r:*")  # noqa: SIM115 (kept open; closed in close())
            members = tar.getmembers()
            _require_end(tar)
        except FileNotFoundError:
            raise LayoutError(f"OCI archive {path} does not exist", path=path) from None
        except (tarfile.TarError, OSError, EOFError) as exc:
            if tar is not None:  # opened, but broken further on (e.g. truncated)
                tar.close()
            # tarfile's "r:*" failure lists every method it tried, one per line:
            # errors are printed on one line.
            lines = str(exc).splitlines() or [type(exc).__name__]
            detail = f": {lines[0]}" if len(lines) == 1 else " (tried plain, gzip, bzip2 and xz)"
            raise LayoutError(
                f"OCI archive {path} is not a readable tar archive{detail}", path=path
            ) from exc
        self._tar = tar
        self._lock = threading.Lock()
        self._members: dict[str, tarfile.TarInfo] = {}
        for member in members:
            name = PurePosixPath(member.name)
            if name.is_absolute() or ".." in name.parts:
                self._tar.close()
                raise LayoutError(
                    f"OCI archive {path} is refused: member {member.name!r} would leave the layout",
                    path=path,
                )
            key = "/".join(part for part in name.parts if part not in ("", "."))
            self._members[key] = member

    def read(self, relpath: str, limit: int) -> bytes:
        member = self._members.get(relpath)
        if member is None:
            raise LayoutError(f"OCI archive {self.path}: {relpath} is missing", path=self.path)
        if not member.isreg():
            raise LayoutError(
                f"OCI archive {self.path}: {relpath} is a link or special file, not a blob",
                path=self.path,
            )
        if member.size > limit:
            raise TooLargeError(
                f"OCI archive {self.path}: {relpath} is {member.size} bytes, above the "
                f"{limit}-byte limit; refused without reading it",
                limit=limit,
                reference=relpath,
            )
        # One file object under every member: reads from several threads must not interleave.
        with self._lock:
            handle = self._tar.extractfile(member)
            if handle is None:  # pragma: no cover - isreg() members always have data
                raise LayoutError(f"OCI archive {self.path}: {relpath} has no data", path=self.path)
            with handle:
                return handle.read(limit + 1)

    def close(self) -> None:
        self._tar.close()


def _only_whole_exists(reference: Reference) -> bool:
    """Whether ``PATH:TAG`` exists as a file or directory and ``PATH`` does not."""
    return not os.path.exists(reference.path) and os.path.exists(
        f"{reference.path}:{reference.tag}"
    )


_REFERRER_TAG = re.compile(r"[a-z0-9]+-[a-f0-9]{32,}(\.(sig|att|sbom))?")


_COSIGN_KINDS = ("sig", "att", "sbom")


def is_referrer_tag(name: str) -> bool:
    """``sha256-<hex>`` (the referrers fallback tag) or cosign's ``.sig``/``.att``/``.sbom``."""
    return _REFERRER_TAG.fullmatch(name) is not None


def blob_path(digest: str) -> str:
    parsed = Digest.parse(digest)
    return f"blobs/{parsed.algorithm}/{parsed.encoded}"


class LayoutSource:
    """A :class:`~manifest_lint.sources.base.Source` for one reference into an OCI layout."""

    #: Files on a local disk: read one after another
    #: (:class:`~manifest_lint.sources.base.Locality`).
    local = True

    def __init__(self, reference: Reference) -> None:
        if reference.tag and reference.digest and _only_whole_exists(reference):
            # ``oci:a:b@DIGEST`` read the directory ``a:b`` before ``TAG@DIGEST`` was
            # accepted: where only that exists, it still does.
            reference = replace(reference, path=f"{reference.path}:{reference.tag}", tag="")
        self.reference = reference
        self.path = reference.path
        kind = "archive" if reference.transport == "oci-archive" else "layout"
        self._files: _Files = (
            _Archive(self.path) if reference.transport == "oci-archive" else _Directory(self.path)
        )
        self.what = f"OCI {kind} {self.path}"

    def close(self) -> None:
        self._files.close()

    def _json(self, relpath: str) -> dict[str, object]:
        return decode_json(self._files.read(relpath, MAX_DOCUMENT_SIZE), f"{self.what}: {relpath}")

    def index(self) -> Index:
        layout = self._json("oci-layout")
        version = layout.get("imageLayoutVersion")
        if not isinstance(version, str) or version.split(".")[0] != SUPPORTED_LAYOUT_MAJOR:
            raise LayoutError(
                f"{self.what}: unsupported imageLayoutVersion {version!r} (expected 1.x)",
                path=self.path,
            )
        data = self._files.read("index.json", MAX_DOCUMENT_SIZE)
        return Index.from_json(
            data,
            digest=str(Digest.of(data)),
            media_type=mt.OCI_INDEX,
            what=f"{self.what}: index.json",
        )

    def select(self, index: Index) -> Descriptor:
        """The ``index.json`` entry the reference names."""
        ref = self.reference
        entries = index.manifests
        if ref.digest and ref.tag:
            tagged = self._tagged(entries, ref.tag)
            if all(e.digest != ref.digest for e in tagged):
                raise LayoutError(
                    f"{self.what}: tag {ref.tag!r} names "
                    f"{', '.join(sorted({e.digest for e in tagged}))}, not {ref.digest}; "
                    f"write the tag or the digest alone, or both as the layout has them",
                    path=self.path,
                )
            return next(e for e in tagged if e.digest == ref.digest)
        if ref.digest:
            for entry in entries:
                if entry.digest == ref.digest:
                    return entry
            # Not listed in index.json: a manifest stored as a blob can still be named.
            data = self._files.read(blob_path(ref.digest), MAX_DOCUMENT_SIZE)
            found = decode_json(data, f"{self.what}: {ref.digest}").get("mediaType")
            return Descriptor(found if isinstance(found, str) else "", ref.digest, len(data))
        names = [e.annotations.get(mt.REF_NAME_ANNOTATION, "") for e in entries]
        if ref.tag:
            chosen = self._tagged(entries, ref.tag)
        else:
            # (The referrers fallback tag and cosign's tags are not images of their own.)
            chosen = [e for e, n in zip(entries, names, strict=True) if not is_referrer_tag(n)]
            if len(chosen) > 1:
                available = ", ".join(sorted({n for n in names if n})) or "none"
                raise LayoutError(
                    f"{self.what} holds {len(chosen)} images; name one with :TAG or @DIGEST "
                    f"(tags: {available})",
                    path=self.path,
                )
            if not chosen:
                raise LayoutError(f"{self.what} holds no images", path=self.path)
        if len({e.digest for e in chosen}) > 1:
            raise LayoutError(
                f"{self.what}: tag {ref.tag!r} names {len(chosen)} different images",
                path=self.path,
            )
        return chosen[0]

    def _tagged(self, entries: tuple[Descriptor, ...], tag: str) -> list[Descriptor]:
        """The entries whose ``org.opencontainers.image.ref.name`` is ``tag``, or (when
        none is) ends in ``:tag``; at least one, or a :class:`LayoutError` listing the tags."""
        names = [e.annotations.get(mt.REF_NAME_ANNOTATION, "") for e in entries]
        chosen = [e for e, n in zip(entries, names, strict=True) if n == tag]
        if not chosen:
            chosen = [
                e
                for e, n in zip(entries, names, strict=True)
                if n.rpartition(":")[2] == tag and ":" in n
            ]
        if not chosen:
            available = ", ".join(sorted({n for n in names if n})) or "none"
            raise LayoutError(
                f"{self.what} has no image tagged {tag!r} (tags: {available})", path=self.path
            )
        return chosen

    def resolve(self) -> Fetched:
        entry = self.select(self.index())
        what = f"{self.what} {entry.digest}"
        check_size(entry, what)
        data = self._files.read(blob_path(entry.digest), MAX_DOCUMENT_SIZE)
        verify(data, entry, what)
        return Fetched(data, mt.base(entry.media_type), entry.digest)

    def fetch(self, descriptor: Descriptor, *, manifest: bool) -> bytes:
        try:
            relpath = blob_path(descriptor.digest)
        except DigestFormatError as exc:  # pragma: no cover - descriptors are validated
            raise LayoutError(f"{self.what}: {exc}", path=self.path) from exc
        return self._files.read(relpath, MAX_DOCUMENT_SIZE)

    # -- what refers to the image (sources.base.Referrers) ------------------------------
    def referrers(self, digest: str) -> tuple[Referrer, ...]:
        """What ``index.json`` tags for ``digest``: the referrers fallback index
        (``sha256-<hex>``) and cosign's tags (``.sig``, ``.att``, ``.sbom``), as
        ``record`` writes them and ``oras``/``cosign`` keep them in a layout."""
        from manifest_lint.image.supply_chain import COSIGN_KIND, COSIGN_TAG, TAG, Referrer

        tag = digest.replace(":", "-", 1)
        found: list[Referrer] = []
        cosign: list[Referrer] = []
        for entry in self.index().manifests:
            name = entry.annotations.get(mt.REF_NAME_ANNOTATION, "")
            if name == tag:
                what = f"{self.what} referrers of {digest} (tag {tag})"
                check_size(entry, what)
                data = self._files.read(blob_path(entry.digest), MAX_DOCUMENT_SIZE)
                verify(data, entry, what)
                index = Index.from_json(
                    data, digest=entry.digest, media_type=mt.OCI_INDEX, what=what
                )
                found.extend(Referrer(d, TAG, digest) for d in index.manifests)
            elif name.startswith(f"{tag}.") and name[len(tag) + 1 :] in _COSIGN_KINDS:
                kind = name[len(tag) + 1 :]
                plain = entry._replace(annotations={COSIGN_KIND: kind})
                cosign.append(Referrer(plain, COSIGN_TAG, digest))
        # (In the order a registry source finds them: the listed ones, then .sig, .att, .sbom.)
        cosign.sort(key=lambda r: _COSIGN_KINDS.index(r.kind))
        return (*found, *cosign)

    def fetch_blob(self, descriptor: Descriptor, *, limit: int) -> bytes:
        return self._files.read(blob_path(descriptor.digest), limit)
