"""Image references: parsing and normalisation, as the docker CLI and the
distribution reference grammar do it. Pure: no I/O.

Accepted forms::

    alpine                                  -> docker.io/library/alpine:latest
    ghcr.io/org/app:1.2
    localhost:5000/x/y@sha256:<64 hex>
    host:port/repo:tag@sha256:<64 hex>       (tag and digest both kept)
    docker://REFERENCE                       (explicit registry transport)
    oci:DIR[:tag][@digest]                   (OCI image layout directory)
    oci-archive:FILE[:tag][@digest]          (tar of an OCI image layout)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from manifest_lint.errors import InvalidReferenceError
from manifest_lint.image.digest import Digest, DigestFormatError

#: The built-in transports; plugins may add more (written ``name:PATH[:TAG][@DIGEST]``).
Transport = str
LAYOUT_TRANSPORTS = ("oci-archive", "oci")

DOCKER_HUB = "docker.io"
DOCKER_HUB_HOST = "registry-1.docker.io"
_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
MAX_NAME_LENGTH = 255
MAX_TAG_LENGTH = 128

_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_PATH_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_DOMAIN_COMPONENT = re.compile(r"(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])")
_IPV6 = re.compile(r"\[[0-9A-Fa-f:.]+\]")


@dataclass(frozen=True)
class Reference:
    """A parsed image reference.

    For the ``docker`` transport, ``registry`` is the normalised registry name
    (``docker.io`` for Docker Hub) and ``repository`` the full repository path
    (``library/alpine``). For layouts, ``path`` is the directory or archive and
    ``registry``/``repository`` are empty.
    """

    raw: str
    transport: Transport
    registry: str = ""
    repository: str = ""
    tag: str = ""
    digest: str = ""
    path: str = ""

    @property
    def pinned(self) -> bool:
        """True when the reference names a digest."""
        return bool(self.digest)

    @property
    def host(self) -> str:
        """The host[:port] to send requests to (Docker Hub is served elsewhere)."""
        return DOCKER_HUB_HOST if self.registry == DOCKER_HUB else self.registry

    @property
    def name(self) -> str:
        """``registry/repository`` (or the layout path)."""
        if self.transport != "docker":
            return f"{self.transport}:{self.path}"
        return f"{self.registry}/{self.repository}"

    def __str__(self) -> str:
        """The normalised form: ``docker.io/library/alpine:latest``."""
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text

    def with_digest(self, digest: str) -> Reference:
        return Reference(
            self.raw, self.transport, self.registry, self.repository, self.tag, digest, self.path
        )


def parse_reference(text: str, transports: Iterable[str] = ()) -> Reference:
    """Parse and normalise ``text``; raise :class:`InvalidReferenceError` saying what and where.

    ``transports`` names further path-like transports (registered by plugins) that are
    written ``name:PATH[:TAG][@DIGEST]`` like ``oci:``.
    """
    if not text or not text.strip():
        raise InvalidReferenceError(text, "reference is empty")
    if text != text.strip():
        raise InvalidReferenceError(text, "reference has leading or trailing white space")
    names = sorted(
        {*LAYOUT_TRANSPORTS, *(t for t in transports if t != "docker")}, key=len, reverse=True
    )
    for name in names:
        if text.startswith(f"{name}:"):
            return _parse_layout(text, name, len(name) + 1)
    if text.startswith(("/", "./", "../", "~")):
        raise InvalidReferenceError(
            text,
            "this is a path, not an image reference; write oci:PATH for an OCI layout "
            "directory or oci-archive:FILE for a tar of one",
        )
    if text.startswith("docker://"):
        return _parse_docker(text, len("docker://"))
    return _parse_docker(text, 0)


def _parse_digest(raw: str, text: str, start: int) -> str:
    if not text:
        raise InvalidReferenceError(raw, "digest is empty after '@'", start)
    try:
        return str(Digest.parse(text))
    except DigestFormatError as exc:
        raise InvalidReferenceError(raw, str(exc), start) from None


def _parse_tag(raw: str, tag: str, start: int) -> str:
    if not tag:
        raise InvalidReferenceError(raw, "tag is empty after ':'", start)
    if len(tag) > MAX_TAG_LENGTH:
        raise InvalidReferenceError(
            raw, f"tag is {len(tag)} characters long, the limit is {MAX_TAG_LENGTH}", start
        )
    _require(
        _TAG,
        tag,
        raw,
        start,
        "in tag (allowed: letters, digits, '_', '.', '-'; not '.' or '-' first)",
    )
    return tag


def _require(pattern: re.Pattern[str], text: str, raw: str, start: int, allowed: str) -> None:
    """``text`` (at ``start`` in ``raw``) must match ``pattern`` whole; the error points at
    the first character that does not."""
    match = pattern.match(text)
    if not match or match.end() != len(text):
        bad = match.end() if match else 0
        raise InvalidReferenceError(raw, f"invalid character {text[bad]!r} {allowed}", start + bad)


def _parse_layout(raw: str, transport: Transport, start: int) -> Reference:
    """``PATH[:TAG][@DIGEST]``: the digest follows the last '@', the tag the first ':'
    before it (so a tag may be a full name, ``example.com/app:1.0``, as
    ``org.opencontainers.image.ref.name`` often is). A path that itself holds a ':' is
    read as ``PATH:TAG`` too; the layout source reads it whole when only that exists
    (:class:`~manifest_lint.sources.layout.LayoutSource`)."""
    rest = raw[start:]
    tag = digest = ""
    at = rest.rfind("@")
    if at != -1 and ":" in rest[at:]:
        digest = _parse_digest(raw, rest[at + 1 :], start + at + 1)
        rest = rest[:at]
    colon = rest.find(":")
    if colon != -1:
        tag = rest[colon + 1 :]
        if not tag:
            raise InvalidReferenceError(raw, "tag is empty after ':'", start + colon + 1)
        rest = rest[:colon]
    if not rest:
        raise InvalidReferenceError(raw, f"{transport}: needs a path", start)
    return Reference(raw, transport, tag=tag, digest=digest, path=rest)


def _split_domain(remainder: str) -> tuple[str, str]:
    """Split off the registry as docker does: the first component is a registry when it
    has a '.' or ':', is 'localhost', or has upper-case letters."""
    slash = remainder.find("/")
    if slash == -1:
        return "", remainder
    first = remainder[:slash]
    if "." in first or ":" in first or first == "localhost" or first != first.lower():
        return first, remainder[slash + 1 :]
    return "", remainder


def _check_domain(raw: str, domain: str, start: int) -> None:
    host, port = domain, None
    if domain.startswith("["):
        end = domain.find("]")
        host, rest = domain[: end + 1], domain[end + 1 :]
        if end == -1 or not _IPV6.fullmatch(host):
            raise InvalidReferenceError(raw, "invalid IPv6 registry address", start)
        if rest and not rest.startswith(":"):
            raise InvalidReferenceError(raw, "invalid registry address", start + end + 1)
        port = rest[1:] if rest else None
    elif ":" in domain:
        host, port = domain.split(":", 1)
    if port is not None and not (port.isdigit() and port.isascii()):
        raise InvalidReferenceError(
            raw, f"invalid port {port!r} in registry", start + len(host) + 1
        )
    if host.startswith("["):
        return
    offset = start
    for component in host.split("."):
        if not _DOMAIN_COMPONENT.fullmatch(component):
            raise InvalidReferenceError(
                raw, f"invalid registry host name component {component!r}", offset
            )
        offset += len(component) + 1


def _parse_docker(raw: str, start: int) -> Reference:
    text = raw[start:]
    digest = ""
    at = text.find("@")
    if at != -1:
        digest = _parse_digest(raw, text[at + 1 :], start + at + 1)
        text = text[:at]
    # A tag follows the last ':' that comes after the last '/' (a ':' before it is a port).
    tag = ""
    colon = text.rfind(":")
    if colon > text.rfind("/"):
        tag = _parse_tag(raw, text[colon + 1 :], start + colon + 1)
        text = text[:colon]
    if not text:
        raise InvalidReferenceError(raw, "repository name is empty", start)

    domain, path = _split_domain(text)
    path_start = start + (len(domain) + 1 if domain else 0)
    if domain:
        _check_domain(raw, domain, start)
    if not path:
        raise InvalidReferenceError(raw, "repository name is empty", path_start)
    offset = path_start
    for component in path.split("/"):
        if not component:
            raise InvalidReferenceError(raw, "empty path component ('//' or '/' at an end)", offset)
        if component != component.lower():
            bad = next(i for i, ch in enumerate(component) if ch.isupper())
            raise InvalidReferenceError(raw, "repository name must be lowercase", offset + bad)
        _require(
            _PATH_COMPONENT,
            component,
            raw,
            offset,
            "in repository name (allowed: a-z, 0-9, and '.', '_', '__', '-' between them)",
        )
        offset += len(component) + 1

    registry = domain or DOCKER_HUB
    if registry.lower() in _HUB_ALIASES:
        registry = DOCKER_HUB
    if registry == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    full = f"{registry}/{path}"
    if len(full) > MAX_NAME_LENGTH:
        raise InvalidReferenceError(
            raw, f"repository name is {len(full)} characters long, the limit is {MAX_NAME_LENGTH}"
        )
    if not tag and not digest:
        tag = "latest"
    return Reference(raw, "docker", registry=registry, repository=path, tag=tag, digest=digest)
