"""Which kind of file a path is: by name first, then by content."""

from __future__ import annotations

import re
from pathlib import PurePath
from typing import NamedTuple

from manifest_lint.errors import YamlError
from manifest_lint.scan.found import COMPOSE, DOCKERFILE, KUBERNETES, WORKFLOW
from manifest_lint.scan.yaml_files import is_compose, is_kubernetes, read_documents
from manifest_lint.yamlfile import YamlDocument

_COMPOSE_NAME = re.compile(r"(?:docker-)?compose(?:\.[^/\\]+)?\.ya?ml")
#: Read as YAML to tell their kind by content (JSON is YAML: kubectl takes both).
_YAML_SUFFIXES = (".yml", ".yaml", ".json")
_YAML_KEY = r"^[\"']?{}[\"']?[ \t]*:"
_API_VERSION = re.compile(_YAML_KEY.format("apiVersion"), re.MULTILINE)
_KIND = re.compile(_YAML_KEY.format("kind"), re.MULTILINE)
_SERVICES = re.compile(_YAML_KEY.format("services"), re.MULTILINE)
_DOCKERFILE_START = re.compile(r"(?:FROM|ARG)[ \t]+\S")


class Detected(NamedTuple):
    """What :func:`detect` found: the kind (None: none of them), the YAML documents
    when the text was parsed to tell it, and why the text is not YAML when it is not."""

    kind: str | None
    documents: list[YamlDocument] | None = None
    error: YamlError | None = None


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
    (and JSON) files by their documents, however they are written (block or flow
    style): a mapping with ``apiVersion`` and ``kind`` makes a Kubernetes file, else
    one with a ``services`` mapping a Compose file. A YAML file that cannot be parsed
    is told by its keys at the start of a line instead (and scanning it then reports
    why it cannot be read). Any other file is a Dockerfile when its first instruction
    is an upper-case ``FROM`` or ``ARG``.
    """
    return detect(path, text).kind


def detect(path: str | PurePath, text: str) -> Detected:
    """:func:`detect_kind`, with the documents it parsed to tell (so they are parsed once)."""
    pure = PurePath(path)
    name = pure.name
    if name.lower().endswith(".dockerignore"):
        return Detected(None)
    if _is_dockerfile_name(name):
        return Detected(DOCKERFILE)
    suffix = pure.suffix.lower()
    if suffix in (".yml", ".yaml"):
        if pure.parent.name == "workflows" and pure.parent.parent.name == ".github":
            return Detected(WORKFLOW)
        if _COMPOSE_NAME.fullmatch(name.lower()):
            return Detected(COMPOSE)
    if suffix in _YAML_SUFFIXES:
        # The keys that tell a kind are written in the text of any file that has them;
        # without them there is nothing to parse for (nor PyYAML to import: 16 ms).
        # Measured (wheel install, a Dockerfile and 10 other YAML files, as pre-commit
        # passes them): 71 ms against 84 ms parsing each.
        if not (("apiVersion" in text and "kind" in text) or "services" in text):
            return Detected(None)
        try:
            documents = read_documents(text)
        except YamlError as exc:
            return Detected(_kind_by_keys(text), error=exc)
        values = [document.value for document in documents]
        if any(is_kubernetes(value) for value in values):
            return Detected(KUBERNETES, documents)
        if any(is_compose(value) for value in values):
            return Detected(COMPOSE, documents)
        return Detected(None, documents)
    return Detected(DOCKERFILE if _looks_like_dockerfile(text) else None)


def _kind_by_keys(text: str) -> str | None:
    """For a text that is not YAML: the kind its keys at the start of a line suggest."""
    if _API_VERSION.search(text) and _KIND.search(text):
        return KUBERNETES
    if _SERVICES.search(text):
        return COMPOSE
    return None
