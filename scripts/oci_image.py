"""Write a root filesystem as an OCI image layout, the same bytes every time.

Used by ``scripts/build-image`` (docs/install.md, "Container image"); not part of the
package. Two layers: the operating system (everything but ``--app-dir``) and the
application (``--app-dir``), so a new version of manifest-lint on the same Debian
packages changes one layer only.

Written here rather than with ``buildah commit``: Debian 12's buildah (1.28) can set
every file's time (``--timestamp``) but not clamp it, and setting the time of Debian's
``.py`` files makes their byte-compiled ``.pyc`` stale (Python checks the source's
time), so a non-root user would recompile the standard library at every start. What
makes two builds identical:

* entries sorted by path; owners numeric, no user or group names;
* modification times clamped to ``--created`` (``SOURCE_DATE_EPOCH``): files from
  Debian's packages keep theirs, files made during the build get that time;
* no access or change times, no extended attributes, gzip without a name or time,
  at a fixed level;
* JSON with sorted keys.

Device files, sockets and the contents of ``dev/``, ``proc/``, ``sys/``, ``run/`` and
``tmp/`` are left out (a container runtime provides them).

Usage::

    python3 scripts/oci_image.py ROOTFS OUTPUT --tag 0.1.0 --created EPOCH \\
        --architecture amd64 --app-dir opt/manifest-lint --config config.json \\
        [--annotation KEY=VALUE ...] [--history TEXT --history TEXT]

``--config`` names a JSON file holding the image config's ``config`` object (User,
Env, Entrypoint, WorkingDir...); the labels are the annotations.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import stat
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, cast

#: Directories whose contents a container runtime provides: kept empty.
RUNTIME_DIRECTORIES = ("dev", "proc", "sys", "run", "tmp")
GZIP_LEVEL = 6
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
CONFIG = "application/vnd.oci.image.config.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"


class _Hashing:
    """A write-only stream that hashes and counts what goes through it."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        self.size += len(data)
        return self.out.write(data)

    def flush(self) -> None:
        self.out.flush()


def _walk(root: Path, top: Path) -> Iterator[Path]:
    """``top`` and everything under it, sorted by path, without descending into the
    runtime directories or symbolic links."""
    yield top
    if top.is_symlink() or not top.is_dir():
        return
    relative = top.relative_to(root).as_posix()
    if relative in RUNTIME_DIRECTORIES:
        return
    for child in sorted(top.iterdir(), key=lambda p: p.name.encode()):
        yield from _walk(root, child)


def _entries(root: Path, app_dir: str, *, app: bool) -> Iterator[Path]:
    """The paths of one layer: the application's directory, or everything else."""
    for path in _walk(root, root):
        if path == root:
            continue
        relative = path.relative_to(root).as_posix()
        inside = relative == app_dir or relative.startswith(app_dir + "/")
        if inside == app:
            yield path


def write_layer(root: Path, paths: Iterator[Path], blobs: Path, created: int) -> dict[str, Any]:
    """One gzip-compressed layer in ``blobs``: its descriptor, with its diff ID."""
    partial = blobs / "layer.partial"
    with partial.open("wb") as raw:
        compressed = _Hashing(raw)
        with gzip.GzipFile(
            filename="",
            mode="wb",
            fileobj=cast(IO[bytes], compressed),
            compresslevel=GZIP_LEVEL,
            mtime=0,
        ) as zipped:
            uncompressed = _Hashing(cast(IO[bytes], zipped))
            stream = cast(IO[bytes], uncompressed)
            with tarfile.open(fileobj=stream, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                for path in paths:
                    _add(tar, root, path, created)
    digest = compressed.sha256.hexdigest()
    partial.rename(blobs / digest)
    return {
        "mediaType": LAYER,
        "digest": f"sha256:{digest}",
        "size": compressed.size,
        "diffId": f"sha256:{uncompressed.sha256.hexdigest()}",
    }


def _add(tar: tarfile.TarFile, root: Path, path: Path, created: int) -> None:
    mode = path.lstat().st_mode
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
        return  # device files, sockets, fifos: the runtime's business
    info = tar.gettarinfo(str(path), arcname=path.relative_to(root).as_posix())
    info.mtime = min(int(info.mtime), created)
    info.uname = info.gname = ""
    info.pax_headers = {}
    if info.isreg():
        with path.open("rb") as handle:
            tar.addfile(info, handle)
    else:
        tar.addfile(info)


def _blob(blobs: Path, document: dict[str, Any], media_type: str) -> dict[str, Any]:
    data = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    digest = hashlib.sha256(data).hexdigest()
    (blobs / digest).write_bytes(data)
    return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(data)}


def rfc3339(epoch: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def build(arguments: argparse.Namespace) -> str:
    """Write the layout; returns the manifest's digest."""
    root: Path = arguments.rootfs
    output: Path = arguments.output
    blobs = output / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    created = arguments.created
    app_dir = arguments.app_dir.strip("/")
    layers = [
        write_layer(root, _entries(root, app_dir, app=False), blobs, created),
        write_layer(root, _entries(root, app_dir, app=True), blobs, created),
    ]
    annotations = dict(a.split("=", 1) for a in arguments.annotation)
    image_config = json.loads(Path(arguments.config).read_text(encoding="utf-8"))
    image_config["Labels"] = annotations
    history = [{"created": rfc3339(created), "created_by": text} for text in arguments.history] or [
        {"created": rfc3339(created)}
    ] * len(layers)
    config = _blob(
        blobs,
        {
            "created": rfc3339(created),
            "architecture": arguments.architecture,
            "os": "linux",
            "config": image_config,
            "rootfs": {"type": "layers", "diff_ids": [layer.pop("diffId") for layer in layers]},
            "history": history,
        },
        CONFIG,
    )
    manifest = _blob(
        blobs,
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST,
            "config": config,
            "layers": layers,
            "annotations": annotations,
        },
        MANIFEST,
    )
    manifest["platform"] = {"architecture": arguments.architecture, "os": "linux"}
    manifest["annotations"] = {"org.opencontainers.image.ref.name": arguments.tag}
    index = {"schemaVersion": 2, "mediaType": INDEX, "manifests": [manifest]}
    (output / "index.json").write_text(json.dumps(index, sort_keys=True, indent=2) + "\n")
    (output / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}\n')
    return str(manifest["digest"])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rootfs", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--tag", required=True)
    parser.add_argument("--created", type=int, required=True, help="SOURCE_DATE_EPOCH")
    parser.add_argument("--architecture", required=True)
    parser.add_argument("--app-dir", required=True)
    parser.add_argument("--config", required=True, help="JSON file: the config object")
    parser.add_argument("--annotation", action="append", default=[])
    parser.add_argument("--history", action="append", default=[])
    arguments = parser.parse_args(argv)
    if not arguments.rootfs.is_dir():
        parser.error(f"{arguments.rootfs}: not a directory")
    if arguments.output.exists() and any(arguments.output.iterdir()):
        parser.error(f"{arguments.output}: exists and is not empty")
    if any("=" not in a for a in arguments.annotation):
        parser.error("--annotation takes KEY=VALUE")
    os.umask(0o022)
    print(build(arguments))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
