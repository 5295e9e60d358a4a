"""An on-disk, content-addressed cache of manifests and configs, shared by processes.

One entry per image: ``<root>/images/<algorithm>/<hex>`` is named by the digest
of the image's top document (its index or manifest) and holds that document and
every child document read for it (platform manifests, configs), each framed by
its digest and size. One file per image, not one per document: a cold run writes
one file per reference and a warm run reads one, and on a machine where the
client shares two cores with a registry the system calls of nine files per image
cost more than the HTTP requests they save (``docs/performance.md``).

An entry can never be stale, only corrupt: every document is verified against
its digest when it is taken from the cache, and an entry that does not parse or
does not verify is deleted and treated as a miss. Writes go to a temporary file
in the same directory and are renamed into place (atomic on POSIX), so
concurrent processes never see half an entry. The total size is bounded: when it
passes ``max_bytes`` the least recently used entries go.

Documents fetched in this process are also kept in memory for a while (bounded),
so that references to one image (two tags, or a tag and its digest) read it
once even when their entries are written later.

Only documents of at most :data:`~manifest_lint.image.limits.MAX_DOCUMENT_SIZE` are
cached (manifests, indexes, configs); layers never are.

Beside the entries, ``<root>/repositories/<hex>`` (an empty file named by the
SHA-256 of ``registry/repository``) says that images of that repository were
stored: only then can a ``HEAD`` of a tag let the cache answer, so a tag of a
repository the cache knows nothing of is fetched with one ``GET`` instead
(``sources/registry/source.py``). A marker only ever costs a request, never a
wrong answer: what it says is checked against the entries themselves.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from manifest_lint.image.digest import Digest, DigestFormatError
from manifest_lint.image.limits import MAX_DOCUMENT_SIZE

#: Default bound on the cache's size.
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
#: Largest entry written or read (an image's documents together).
MAX_ENTRY_SIZE = 8 * MAX_DOCUMENT_SIZE
#: Documents kept in memory for other references of this process (bytes).
RECENT_BYTES = 16 * 1024 * 1024
#: An entry's modification time, which orders pruning, is refreshed on a hit at most
#: this often (seconds): one write a day, not one per read.
_TOUCH_EVERY = 24 * 3600
#: Prune down to this fraction of ``max_bytes``, so pruning is not needed on every write.
_PRUNE_TO = 0.8
#: The first line of every entry: the format's name and version.
MAGIC = b"manifest-lint cache 2\n"
#: Directory of entries under the root (``blobs``, one file per document, was version 1).
ENTRIES = "images"
#: Directory of the markers of repositories whose images were stored.
REPOSITORIES = "repositories"


@dataclass(frozen=True)
class Entry:
    """An image's entry as read: its file and its documents, not yet verified."""

    path: str
    documents: Mapping[str, bytes]


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


def encode(documents: Mapping[str, bytes]) -> bytes:
    """An entry's bytes: :data:`MAGIC`, then per document ``DIGEST SIZE\\n`` and its bytes."""
    parts = [MAGIC]
    for digest, data in documents.items():
        parts.append(f"{digest} {len(data)}\n".encode("ascii"))
        parts.append(data)
    return b"".join(parts)


def decode(raw: bytes) -> dict[str, bytes] | None:
    """The documents of an entry, not yet verified; None when it is not one."""
    if not raw.startswith(MAGIC):
        return None
    documents: dict[str, bytes] = {}
    view = memoryview(raw)
    pos = len(MAGIC)
    end = len(raw)
    while pos < end:
        eol = raw.find(b"\n", pos, pos + 200)
        if eol < 0:
            return None
        try:
            digest, size_text = raw[pos:eol].decode("ascii").split(" ")
            size = int(size_text)
        except ValueError:
            return None
        start = eol + 1
        if size < 0 or start + size > end:
            return None
        documents[digest] = bytes(view[start : start + size])
        pos = start + size
    return documents


class Cache:
    """Verified, atomic, size-bounded storage of images' documents. Thread-safe."""

    def __init__(self, root: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.root = root
        self.max_bytes = max_bytes
        #: Documents taken from the cache (or from memory), and documents not found.
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()
        self._written = 0
        self._directories: set[str] = set()
        self._entries = str(root / ENTRIES)
        self._recent: OrderedDict[str, bytes] = OrderedDict()
        self._recent_bytes = 0
        self._repositories = str(root / REPOSITORIES)
        #: Whether each repository asked about had a marker when first asked in this
        #: process: the answer holds for the whole run, so the references of a
        #: repository first met in this run are all fetched the cold way.
        self._known: dict[str, bool] = {}
        self._marked: set[str] = set()

    def _path(self, digest: str) -> tuple[str, str] | None:
        """(directory, file) of the entry for ``digest``; None for what is not a digest."""
        try:
            parsed = Digest.parse(digest)
        except DigestFormatError:
            return None
        # Plain string joins: pathlib's operators cost more than the read itself here.
        directory = f"{self._entries}/{parsed.algorithm}"
        return directory, f"{directory}/{parsed.encoded}"

    # -- reading -------------------------------------------------------------------
    def read(self, digest: str) -> Entry | None:
        """The entry of the image ``digest`` names (its documents not yet verified:
        :meth:`take` verifies); None when there is no usable entry."""
        found = self._path(digest)
        if found is None:
            return None
        path = found[1]
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return None
        try:
            info = os.fstat(fd)
            raw = os.read(fd, MAX_ENTRY_SIZE + 1) if info.st_size <= MAX_ENTRY_SIZE else b""
        except OSError:
            return None
        finally:
            os.close(fd)
        documents = decode(raw) if len(raw) <= MAX_ENTRY_SIZE else None
        if documents is None:
            self._drop(path)  # not an entry of this format (torn, edited, or too large)
            return None
        if time.time() - info.st_mtime > _TOUCH_EVERY:
            with contextlib.suppress(OSError):
                os.utime(path)  # for least-recently-used pruning; once a day is enough
        return Entry(path, documents)

    def take(self, digest: str, entry: Entry | None = None) -> bytes | None:
        """The verified bytes of ``digest``, from ``entry`` (what :meth:`read` gave) or
        from the documents this process fetched recently; None if neither has it."""
        data = entry.documents.get(digest) if entry is not None else None
        if data is not None and entry is not None:
            try:
                parsed = Digest.parse(digest)
                valid = Digest.of(data, parsed.algorithm) == parsed
            except DigestFormatError:
                valid = False
            if not valid:
                # Corrupt (disk error, or someone edited it): drop the entry, fetch again.
                self._drop(entry.path)
                data = None
        if data is None:
            with self._lock:
                data = self._recent.get(digest)
        with self._lock:
            if data is None:
                self.misses += 1
            else:
                self.hits += 1
        return data

    def remember(self, digest: str, data: bytes) -> None:
        """Keep ``data`` (which the caller verified) in memory for other references."""
        if len(data) > MAX_DOCUMENT_SIZE or self._path(digest) is None:
            return
        with self._lock:
            if digest in self._recent:
                return
            self._recent[digest] = data
            self._recent_bytes += len(data)
            while self._recent_bytes > RECENT_BYTES:
                _, old = self._recent.popitem(last=False)
                self._recent_bytes -= len(old)

    # -- writing -------------------------------------------------------------------
    def write(self, digest: str, documents: Mapping[str, bytes]) -> None:
        """Store ``documents`` (all verified by the caller, the image's own included)
        as the entry of the image ``digest``. Errors are ignored: a cache that cannot
        be written only costs speed."""
        found = self._path(digest)
        if found is None or digest not in documents:
            return
        raw = encode({d: b for d, b in documents.items() if self._path(d) is not None})
        if len(raw) > MAX_ENTRY_SIZE:
            return
        directory, path = found
        tmp = f"{directory}/.tmp-{os.getpid()}-{threading.get_ident()}-{digest[-16:]}"
        try:
            if directory not in self._directories:
                os.makedirs(directory, exist_ok=True)
                self._directories.add(directory)
            # O_EXCL: two writers of one entry never share a temporary file.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                try:
                    view = memoryview(raw)
                    while view:
                        view = view[os.write(fd, view) :]
                finally:
                    os.close(fd)
                os.replace(tmp, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError:
            return
        with self._lock:
            self._written += len(raw)
            due = self._written > self.max_bytes // 10
            if due:
                self._written = 0
        if due:
            self.prune()

    # -- repositories ------------------------------------------------------------------
    def _marker(self, repository: str) -> str:
        return f"{self._repositories}/{Digest.of(repository.encode('utf-8')).encoded}"

    def knows(self, repository: str) -> bool:
        """Whether images of ``repository`` (``registry/name``) were stored in this cache
        before this process first asked (one ``stat`` per repository and run)."""
        with self._lock:
            known = self._known.get(repository)
        if known is not None:
            return known
        path = self._marker(repository)
        try:
            mtime = os.stat(path).st_mtime
            known = True
        except OSError:
            known = False
        if known and time.time() - mtime > _TOUCH_EVERY:
            with contextlib.suppress(OSError):
                os.utime(path)  # pruning drops markers not used for longer than entries
        with self._lock:
            return self._known.setdefault(repository, known)

    def add_repository(self, repository: str) -> None:
        """Images of ``repository`` are stored now: later runs may resolve its tags
        with ``HEAD``. Errors are ignored, as for entries."""
        if self.knows(repository):
            return
        with self._lock:
            if repository in self._marked:
                return  # (once per process: not two system calls per reference)
            self._marked.add(repository)
        with contextlib.suppress(OSError):
            os.makedirs(self._repositories, exist_ok=True)
            os.close(os.open(self._marker(repository), os.O_WRONLY | os.O_CREAT, 0o644))

    # -- one document at a time (an image of one document) --------------------------
    def get(self, digest: str) -> bytes | None:
        """The verified bytes of the document ``digest`` names, stored as its own entry."""
        return self.take(digest, self.read(digest))

    def put(self, digest: str, data: bytes) -> None:
        """Store one document as its own entry (the caller verified it)."""
        self.remember(digest, data)
        self.write(digest, {digest: data})

    # -- housekeeping ----------------------------------------------------------------
    def _drop(self, path: str) -> None:
        with contextlib.suppress(OSError):
            os.unlink(path)

    def prune(self) -> None:
        """Delete least recently used entries until the cache is within its bound
        (and the one-file-per-document entries of cache format 1, which are not read)."""
        old = self.root / "blobs"
        if old.is_dir():
            for path in old.glob("*/*"):
                self._drop(str(path))
        entries = []
        total = 0
        for path in (self.root / ENTRIES).glob("*/*"):
            try:
                info = path.stat()
            except OSError:
                continue
            entries.append((info.st_mtime, info.st_size, path))
            total += info.st_size
        if total <= self.max_bytes:
            return
        entries.sort()
        kept = len(entries)
        for _mtime, size, path in entries:
            with contextlib.suppress(OSError):
                path.unlink()
                total -= size
            kept -= 1
            if total <= self.max_bytes * _PRUNE_TO:
                break
        # A marker not used since before the oldest entry kept was last used names a
        # repository whose images are most likely gone: drop it too (if any are left,
        # its tags cost a GET instead of a HEAD once, and the marker comes back).
        oldest = entries[-kept][0] - _TOUCH_EVERY if kept else float("inf")
        for marker in (self.root / REPOSITORIES).glob("*"):
            with contextlib.suppress(OSError):
                if marker.stat().st_mtime < oldest:
                    marker.unlink()
