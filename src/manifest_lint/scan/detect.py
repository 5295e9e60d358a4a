"""Which kind of file a path is: by name first, then by content."""

from __future__ import annotations

import re
from pathlib import PurePath

from manifest_lint.scan.found import COMPOSE, DOCKERFILE, KUBERNETES, WORKFLOW

_COMPOSE_NAME = re.compile(r"(?:docker-)?compose(?:\.[^/\\]+)?\.ya?ml")
_YAML_KEY = r"^[\"']?{}[\"']?[ \t]*:"
_API_VERSION = re.compile(_YAML_KEY.format("apiVersion"), re.MULTILINE)
_KIND = re.compile(_YAML_KEY.format("kind"), re.MULTILINE)
_SERVICES = re.compile(_YAML_KEY.format("services"), re.MULTILINE)
_DOCKERFILE_START = re.compile(r"(?:FROM|ARG)[ \t]+\S")


def _is_dockerfile_name(name: str) -> bool:
    name = name.lower()
    return (
        name in ("dockerfile", "containerfile")
        or name.startswith(("dockerfile.", "containerfile."))
        or name.endswith((".dockerfile", ".containerfile"))
    )


def _looks_like_dockerfile(text: str) -> bool:
    """The first line that is neither blank nor a comment is an upper-case FROM or ARG."""
    for line in text.lstrip("\ufeff").splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return _DOCKERFILE_START.match(stripped) is not None
    return False


def detect_kind(path: str | PurePath, text: str) -> str | None:
    """The kind of file ``path`` is (one of :data:`KINDS`), or ``None`` for none of them.

    By name first: Dockerfile/Containerfile names, then ``.github/workflows/*.y(a)ml``,
    then Compose names (``compose.yaml``, ``docker-compose.prod.yml``...). Other YAML
    files by their top-level keys: ``apiVersion`` and ``kind`` for Kubernetes,
    ``services`` for Compose. Any other file is a Dockerfile when its first
    instruction is an upper-case ``FROM`` or ``ARG``.
    """
    pure = PurePath(path)
    name = pure.name
    if name.lower().endswith(".dockerignore"):
        return None
    if _is_dockerfile_name(name):
        return DOCKERFILE
    if pure.suffix.lower() in (".yml", ".yaml"):
        if pure.parent.name == "workflows" and pure.parent.parent.name == ".github":
            return WORKFLOW
        if _COMPOSE_NAME.fullmatch(name.lower()):
            return COMPOSE
        if _API_VERSION.search(text) and _KIND.search(text):
            return KUBERNETES
        if _SERVICES.search(text):
            return COMPOSE
        return None
    return DOCKERFILE if _looks_like_dockerfile(text) else None
