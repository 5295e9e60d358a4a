"""An on-disk, content-addressed cache of manifests and configs, shared by processes.

Entries live at ``<root>/blobs/<algorithm>/<hex>`` and are named by the digest
of their bytes, so an entry can never be stale, only corrupt: every read is
verified and a corrupt entry is deleted and treated as a miss. Writes go to a
temporary file in the same directory and are renamed into place (atomic on
POSIX), so concurrent processes never see half an entry. The total size is
bounded: when it passes ``max_bytes`` the least recently used entries go.

Only documents of at most :data:`~manifest_lint.model.MAX_DOCUMENT_SIZE` are
cached (manifests, indexes, configs); layers never are.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Mapping
from pathlib import Path

from manifest_lint.digest import Digest, DigestFormatError
from manifest_lint.model import MAX_DOCUMENT_SIZE

#: Default bound on the cache's size.
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
#: An entry's modification time, which orders pruning, is refreshed on a hit at most
#: this often (seconds): one write a day, not one per read.
_TOUCH_EVERY = 24 * 3600
#: Prune down to this fraction of ``max_bytes``, so pruning is not needed on every write.
_PRUNE_TO = 0.8


def default_cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$MANIFEST_LINT_CACHE_DIR``, else ``$XDG_CACHE_HOME/manifest-lint``, else
    ``~/.cache/manifest-lint`` (``~/Library/Caches/manifest-lint`` on macOS)."""
    env = os.environ if env is None else env
    if env.get("MANIFEST_LINT_CACHE_DIR"):
        return Path(env["MANIFEST_LINT_CACHE_DIR"])
    if env.get("XDG_CACHE_HOME"):
        return Path(env["XDG_CACHE_HOME"]) / "manifest-lint"
    home = Path(env.get("HOME") or Path.home())
    if os.uname().sysname == "Darwin":
        return home / "Library" / "Caches" / "manifest-lint"
    return home / ".cache" / "manifest-lint"


class Cache:
    """Verified, atomic, size-bounded storage of documents by digest. Thread-safe."""

    def __init__(self, root: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()
        self._written = 0
        self._directories: set[Path] = set()
        self._blobs = str(root / "blobs")

    def _path(self, digest: str) -> tuple[Path, Digest] | None:
        try:
            parsed = Digest.parse(digest)
        except DigestFormatError:
            return None
        # Plain string joins: pathlib's operators cost more than the read itself here.
        return Path(f"{self._blobs}/{parsed.algorithm}/{parsed.encoded}"), parsed

    def get(self, digest: str) -> bytes | None:
        """The verified bytes of ``digest``, or None."""
        found = self._path(digest)
        data = None
        if found is not None:
            path, parsed = found
            try:
                with open(path, "rb") as handle:
                    data = handle.read(MAX_DOCUMENT_SIZE + 1)
                    touched = os.fstat(handle.fileno()).st_mtime
            except OSError:
                data = None
            if data is not None and Digest.of(data, parsed.algorithm) != parsed:
                # Corrupt (disk error, or someone edited it): drop it, fetch again.
                with contextlib.suppress(OSError):
                    path.unlink()
                data = None
            if data is not None and time.time() - touched > _TOUCH_EVERY:
                with contextlib.suppress(OSError):
                    os.utime(path)  # for least-recently-used pruning; once a day is enough
        with self._lock:
            if data is None:
                self.misses += 1
            else:
                self.hits += 1
        return data

    def put(self, digest: str, data: bytes) -> None:
        """Store ``data`` (which the caller verified) under ``digest``; errors are ignored:
        a cache that cannot be written only costs speed."""
        found = self._path(digest)
        if found is None or len(data) > MAX_DOCUMENT_SIZE:
            return
        path = found[0]
        directory = path.parent
        tmp = directory / f".tmp-{os.getpid()}-{threading.get_ident()}-{path.name}"
        try:
            if directory not in self._directories:
                directory.mkdir(parents=True, exist_ok=True)
                self._directories.add(directory)
            # O_EXCL: two writers of one entry never share a temporary file.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                os.replace(tmp, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError:
            return
        with self._lock:
            self._written += len(data)
            due = self._written > self.max_bytes // 10
            if due:
                self._written = 0
        if due:
            self.prune()

    def prune(self) -> None:
        """Delete least recently used entries until the cache is within its bound."""
        entries = []
        total = 0
        for path in (self.root / "blobs").glob("*/*"):
            try:
                info = path.stat()
            except OSError:
                continue
            entries.append((info.st_mtime, info.st_size, path))
            total += info.st_size
        if total <= self.max_bytes:
            return
        for _mtime, size, path in sorted(entries):
            with contextlib.suppress(OSError):
                path.unlink()
                total -= size
            if total <= self.max_bytes * _PRUNE_TO:
                break
