"""The data the benchmarks read: multi-arch tags pushed into a real registry, quickly.

Not a test, and not run on its own: ``bench/lint.py`` and ``bench/http_clients.py`` import it.

Every tag is an OCI index over four platforms (linux/amd64, linux/arm64,
linux/arm/v7, linux/s390x), each with 5 to 12 layers, plus one BuildKit-style
attestation manifest per platform, as ``docker buildx build --push`` makes
them. Layers come from a small pool shared by every tag (a registry stores and
a pusher uploads each once); configs, and so every manifest and index, are
unique per tag (a label carries the tag number), so nothing a reader fetches
is shared between two tags.

:class:`Pusher` uploads with ``httpx`` and a thread pool: shared layers once
(``HEAD`` first, so a registry that has them is not sent them again), then per
tag its configs and attestation blobs (``POST`` + ``PUT``), its child manifests
by digest and its index by tag, each with its exact ``Content-Type``.

:class:`AccessLog` counts the requests a run sent, by method and kind, from
the registry's access log (the ``"GET /v2/... HTTP/1.1" 200`` lines), between
two offsets taken before and after the run.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from tests.helpers.images import (
    CREATED,
    DEFAULT_PATH,
    OCI_CONFIG,
    OCI_LAYER,
    OCI_MANIFEST,
    Blob,
    Built,
    Layer,
    Platform,
    build_index,
    canonical_json,
    make_layer,
)

PLATFORMS = ("linux/amd64", "linux/arm64", "linux/arm/v7", "linux/s390x")
REPO = "bench/app"
MIN_LAYERS = 5
MAX_LAYERS = 12
SOURCE = "https://github.com/example/bench-app"
#: What manifest-lint and the other readers send as Accept on manifest requests.
MANIFEST_ACCEPT = (
    "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json"
)
ATTESTATION_ANNOTATION = "vnd.docker.reference.type"


# --------------------------------------------------------------------------- content


def layer_pool() -> dict[str, list[Layer]]:
    """:data:`MAX_LAYERS` layers per platform, shared by every tag."""
    pool: dict[str, list[Layer]] = {}
    for platform in PLATFORMS:
        slug = platform.replace("/", "-")
        pool[platform] = [
            make_layer(
                {
                    f"usr/lib/bench/{slug}/layer-{i}.txt": f"{platform} layer {i}\n".encode(),
                    f"usr/lib/bench/{slug}/layer-{i}.bin": bytes(range(256)) * (4 + i),
                },
                media_type=OCI_LAYER,
            )
            for i in range(MAX_LAYERS)
        ]
    return pool


def layer_count(tag_number: int, platform_number: int) -> int:
    """5 to 12 layers, varying with the tag and the platform."""
    span = MAX_LAYERS - MIN_LAYERS + 1
    return MIN_LAYERS + (tag_number * 3 + platform_number * 5) % span


def _platform_image(number: int, platform: str, layers: Sequence[Layer]) -> Built:
    plat = Platform.parse(platform)
    labels = {
        "org.opencontainers.image.source": SOURCE,
        "org.opencontainers.image.version": f"1.0.{number}",
        "bench.tag": str(number),
    }
    history = [
        {"created": CREATED, "created_by": f"RUN /bin/sh -c step-{i} # buildkit"}
        for i in range(len(layers))
    ]
    history.append({"created": CREATED, "created_by": "USER 10001", "empty_layer": True})
    config_obj: dict[str, Any] = {
        "architecture": plat.architecture,
        "os": plat.os,
        **({"variant": plat.variant} if plat.variant else {}),
        "created": CREATED,
        "config": {
            "User": "10001",
            "Env": [DEFAULT_PATH, f"APP_VERSION=1.0.{number}"],
            "Entrypoint": ["/app/server"],
            "WorkingDir": "/app",
            "Labels": labels,
        },
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in layers]},
        "history": history,
    }
    config = Blob(OCI_CONFIG, canonical_json(config_obj))
    doc = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config.descriptor(),
        "layers": [layer.blob.descriptor() for layer in layers],
    }
    data = canonical_json(doc)
    blobs = {config.digest: config}
    blobs.update((layer.digest, layer.blob) for layer in layers)
    return Built(
        media_type=OCI_MANIFEST,
        data=data,
        digest=Blob(OCI_MANIFEST, data).digest,
        manifests=(Blob(OCI_MANIFEST, data),),
        blobs=blobs,
        platform=plat,
        config=config,
        layers=tuple(layers),
    )


def build_tag(number: int, pool: dict[str, list[Layer]]) -> Built:
    """Tag ``number``: an annotated OCI index, 4 platforms + 4 attestation manifests."""
    children = [
        _platform_image(number, platform, pool[platform][: layer_count(number, i)])
        for i, platform in enumerate(PLATFORMS)
    ]
    annotations = {
        "org.opencontainers.image.source": SOURCE,
        "org.opencontainers.image.revision": f"{number:040x}",
        "org.opencontainers.image.created": CREATED,
    }
    return build_index(children, media="oci", annotations=annotations, attestations=True)


def tag_name(number: int) -> str:
    return f"v{number:05d}"


@dataclass(frozen=True)
class Documents:
    """What a reader of one tag fetches: the index, each platform manifest, each config
    (attestation manifests are not platforms, and manifest-lint does not read them)."""

    tag: str
    index: str
    manifests: tuple[str, ...]
    configs: tuple[str, ...]

    @property
    def count(self) -> int:
        return 1 + len(self.manifests) + len(self.configs)


def documents(tag: str, built: Built) -> Documents:
    images = built.images
    return Documents(
        tag,
        built.digest,
        tuple(c.digest for c in images),
        tuple(c.config.digest for c in images if c.config is not None),
    )


def is_platform_entry(entry: dict[str, Any]) -> bool:
    """An index entry that manifest-lint reads as a platform (``fetch.classify``)."""
    if entry.get("annotations", {}).get(ATTESTATION_ANNOTATION) == "attestation-manifest":
        return False
    platform = entry.get("platform") or {}
    if platform.get("os") == "unknown" and platform.get("architecture") == "unknown":
        return False
    return str(entry.get("mediaType", "")).split(";")[0] in (
        OCI_MANIFEST,
        "application/vnd.docker.distribution.manifest.v2+json",
    )


# --------------------------------------------------------------------------- pushing


@dataclass
class PushStats:
    tags: int = 0
    requests: int = 0
    blobs_uploaded: int = 0
    manifests_put: int = 0
    seconds: float = 0.0


class PushFailed(RuntimeError):
    pass


class Pusher:
    """Pushes tags into ``base_url`` (``http://127.0.0.1:PORT``) with a thread pool."""

    def __init__(self, base_url: str, repo: str = REPO, *, concurrency: int = 16) -> None:
        self.base = base_url.rstrip("/")
        self.repo = repo
        self.concurrency = concurrency
        self.stats = PushStats()
        self._lock = threading.Lock()
        self._http = httpx.Client(
            timeout=60.0,
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Pusher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _count(self, requests: int = 1, *, blobs: int = 0, manifests: int = 0) -> None:
        with self._lock:
            self.stats.requests += requests
            self.stats.blobs_uploaded += blobs
            self.stats.manifests_put += manifests

    def _upload(self, blob: Blob, *, check: bool) -> None:
        url = f"{self.base}/v2/{self.repo}/blobs"
        if check:
            self._count()
            if self._http.head(f"{url}/{blob.digest}").status_code == 200:
                return
        started = self._http.post(f"{url}/uploads/")
        if started.status_code != 202 or "location" not in started.headers:
            raise PushFailed(f"POST upload of {blob.digest}: {started.status_code} {started.text}")
        put_url = started.url.join(started.headers["location"]).copy_merge_params(
            {"digest": blob.digest}
        )
        done = self._http.put(
            put_url, content=blob.data, headers={"Content-Type": "application/octet-stream"}
        )
        if done.status_code != 201:
            raise PushFailed(f"PUT upload of {blob.digest}: {done.status_code} {done.text}")
        self._count(2, blobs=1)

    def _put_manifest(self, ref: str, manifest: Blob) -> None:
        response = self._http.put(
            f"{self.base}/v2/{self.repo}/manifests/{ref}",
            content=manifest.data,
            headers={"Content-Type": manifest.media_type},
        )
        if response.status_code != 201:
            raise PushFailed(f"PUT manifest {ref}: {response.status_code} {response.text}")
        if response.headers.get("docker-content-digest") != manifest.digest:
            raise PushFailed(f"registry computed another digest for {ref}")
        self._count(manifests=1)

    def _push_tag(self, tag: str, built: Built, shared: frozenset[str]) -> None:
        for digest, blob in built.blobs.items():
            if digest not in shared:
                self._upload(blob, check=False)  # unique to this tag: the registry lacks it
        for manifest in built.manifests[:-1]:
            self._put_manifest(manifest.digest, manifest)
        self._put_manifest(tag, built.manifests[-1])
        with self._lock:
            self.stats.tags += 1

    def push(self, tags: Iterable[tuple[str, Built]], shared: Iterable[Blob]) -> PushStats:
        """Upload the ``shared`` blobs once, then every tag."""
        started = time.perf_counter()
        shared_blobs = list(shared)
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="push") as pool:
            list(pool.map(lambda b: self._upload(b, check=True), shared_blobs))
            known = frozenset(b.digest for b in shared_blobs)
            list(pool.map(lambda item: self._push_tag(item[0], item[1], known), tags))
        self.stats.seconds += time.perf_counter() - started
        return self.stats


def make_tags(count: int) -> tuple[list[tuple[str, Built]], list[Blob]]:
    """``count`` tags and the shared layer blobs they use."""
    pool = layer_pool()
    tags = [(tag_name(n), build_tag(n, pool)) for n in range(count)]
    shared = [layer.blob for layers in pool.values() for layer in layers]
    return tags, shared


def push_tags(
    base_url: str, count: int, *, concurrency: int = 16
) -> tuple[list[Documents], PushStats]:
    """Build and push ``count`` tags; the documents a reader of each fetches."""
    tags, shared = make_tags(count)
    with Pusher(base_url, concurrency=concurrency) as pusher:
        stats = pusher.push(tags, shared)
    return [documents(tag, built) for tag, built in tags], stats


# --------------------------------------------------------------------------- the access log

_ACCESS_LINE = re.compile(
    rb'^\S+ - \S+ \[[^\]]*\] "(?P<method>[A-Z]+) (?P<uri>\S+) HTTP/[0-9.]+" (?P<status>\d{3}) '
)
#: The registry's own line per response (log level info) names the client's address and port.
_REMOTE_ADDR = re.compile(rb'msg="response completed[^"]*".* http\.request\.remoteaddr="([^"]+)"')


def _kind(uri: str) -> str:
    path = uri.split("?", 1)[0]
    if path in ("/v2/", "/v2"):
        return "ping"
    if "/manifests/" in path:
        return "manifest-by-digest" if ":" in path.rsplit("/", 1)[1] else "manifest-by-tag"
    if "/blobs/uploads" in path:
        return "upload"
    if "/blobs/" in path:
        return "blob"
    return "other"


@dataclass
class Requests:
    """Requests counted in the access log between two offsets."""

    by_method: Counter[str]
    by_kind: Counter[str]
    errors: Counter[str]
    #: Distinct client addresses (host:port), i.e. TCP connections; None when the
    #: registry logs below level info.
    connections: int | None = None

    @property
    def total(self) -> int:
        return sum(self.by_method.values())

    def per(self, references: int) -> dict[str, float]:
        out = {m: n / references for m, n in sorted(self.by_method.items())}
        out["total"] = self.total / references
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "byMethod": dict(sorted(self.by_method.items())),
            "byKind": dict(sorted(self.by_kind.items())),
            "errors": dict(sorted(self.errors.items())),
            "connections": self.connections,
        }


class AccessLog:
    def __init__(self, path: Path) -> None:
        self.path = path

    def mark(self, *, settle: float = 0.15, limit: float = 5.0) -> int:
        """The log's size once it has stopped growing for ``settle`` seconds (the registry
        writes a line after its response, so a client can exit before it is written)."""
        deadline = time.monotonic() + limit
        size = self.path.stat().st_size
        stable_since = time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.03)
            now = self.path.stat().st_size
            if now != size:
                size, stable_since = now, time.monotonic()
            elif time.monotonic() - stable_since >= settle:
                break
        return size

    def count(self, start: int, end: int) -> Requests:
        by_method: Counter[str] = Counter()
        by_kind: Counter[str] = Counter()
        errors: Counter[str] = Counter()
        addresses: set[bytes] = set()
        app_lines = 0
        with open(self.path, "rb") as handle:
            handle.seek(start)
            lines = handle.read(end - start).splitlines()
        for line in lines:
            match = _ACCESS_LINE.match(line)
            if match is None:
                remote = _REMOTE_ADDR.search(line)
                if remote is not None:
                    app_lines += 1
                    addresses.add(remote[1])
                continue
            method = match["method"].decode()
            kind = _kind(match["uri"].decode())
            by_method[method] += 1
            by_kind[f"{method} {kind}"] += 1
            status = int(match["status"])
            if status >= 400:
                errors[f"{method} {kind} {status}"] += 1
        # Error responses are logged at level error, the rest at info: all or nothing.
        connections = len(addresses) if app_lines >= sum(by_method.values()) else None
        return Requests(by_method, by_kind, errors, connections)


def dumps(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True)


def clean_env(work: Path) -> dict[str, str]:
    """The environment a timed manifest-lint runs in: this one without MANIFEST_LINT_*
    settings, no installed plugins, and an empty docker config under ``work`` (no
    credential helpers of this machine's user: nothing but the registry is timed)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MANIFEST_LINT_")}
    env["MANIFEST_LINT_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    (work / "docker-config").mkdir(exist_ok=True)
    env["DOCKER_CONFIG"] = str(work / "docker-config")
    env.pop("REGISTRY_AUTH_FILE", None)
    return env
