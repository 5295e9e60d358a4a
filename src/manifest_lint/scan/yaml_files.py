"""The image references of YAML files: Compose services, Kubernetes pod specs and
GitHub Actions workflows, each walked along the paths that hold images.

Every mapping and list is walked once, however many aliases name it (an alias is the
very object its anchor built), so aliases cannot multiply the work: a List of 300
aliases to a Pod of 300 aliases to one container is one container, not 90,000.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from manifest_lint import yamlfile
from manifest_lint.errors import ScanError, YamlError
from manifest_lint.results import Location
from manifest_lint.scan.found import COMPOSE, KUBERNETES, WORKFLOW, Found
from manifest_lint.scan.substitution import Var, substitute
from manifest_lint.yamlfile import LocatedDict, YamlDocument


def yaml_documents(path: str, text: str) -> list[YamlDocument]:
    """The documents of a YAML file written by others: anchors, aliases and merge keys
    are accepted (compose files use them; each value is walked once, so shared values
    cost nothing), and unquoted keys are read as written (``on:``). Raises
    :class:`ScanError` naming ``path``."""
    try:
        return read_documents(text)
    except YamlError as exc:
        raise ScanError(exc.message, path=path, line=exc.line, column=exc.column) from None


def read_documents(text: str) -> list[YamlDocument]:
    """:func:`yaml_documents`, raising :class:`YamlError` (no file named)."""
    return yamlfile.load_all(text, allow_aliases=True, keys_as_text=True, fast=True)


def is_kubernetes(document: Any) -> bool:
    """A Kubernetes object: a mapping with an ``apiVersion`` and a ``kind``."""
    return (
        isinstance(document, LocatedDict)
        and isinstance(document.get("apiVersion"), str)
        and isinstance(document.get("kind"), str)
    )


def is_compose(document: Any) -> bool:
    """A Compose file: a mapping with a ``services`` mapping."""
    return isinstance(document, LocatedDict) and isinstance(document.get("services"), dict)


class _Walk:
    """One file's walk: its path, and the containers (mappings, lists) already walked."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._seen: set[int] = set()

    def first(self, value: Any) -> bool:
        """Whether ``value`` is seen for the first time (ids are stable: the documents
        live as long as the walk)."""
        if id(value) in self._seen:
            return False
        self._seen.add(id(value))
        return True

    def in_list(self, value: Any) -> list[LocatedDict]:
        """The mappings in a list not walked yet ([] for a list walked, or no list)."""
        if not isinstance(value, list) or not self.first(value):
            return []
        return [v for v in value if isinstance(v, LocatedDict) and self.first(v)]

    def in_mapping(self, value: Any) -> list[LocatedDict]:
        """The same for the values of a mapping (compose services, workflow jobs)."""
        if not isinstance(value, LocatedDict) or not self.first(value):
            return []
        return [v for v in value.values() if isinstance(v, LocatedDict) and self.first(v)]


def _dig(value: Any, *keys: str) -> LocatedDict | None:
    for key in keys:
        if not isinstance(value, LocatedDict):
            return None
        value = value.get(key)
    return value if isinstance(value, LocatedDict) else None


def _image_at(
    mapping: LocatedDict, key: str, path: str, scheme: str = ""
) -> tuple[Location, str | None] | None:
    """Where ``mapping[key]`` starts (past a quote and ``scheme``) and its text;
    None when there is no value, a None text when it is not a string."""
    value = mapping.get(key)
    if value is None:
        return None
    line, column = mapping.value_position(key)
    if mapping.value_styles.get(key) in ("'", '"'):
        column += 1
    location = Location(path, line, column + len(scheme))
    return location, (value[len(scheme) :] if isinstance(value, str) else None)


def _not_a_string(location: Location, key: str, kind: str) -> Found:
    return Found("", location, kind, problem=f"`{key}` is not a string")


def _compose(document: Any, walk: _Walk) -> list[Found]:
    found = []
    for service in walk.in_mapping(_dig(document, "services")):
        image = _image_at(service, "image", walk.path)
        if image is None:
            continue
        location, text = image
        if text is None:
            found.append(_not_a_string(location, "image", COMPOSE))
            continue
        value = substitute(
            text,
            lambda name: Var(problem=f"`${{{name}}}` has no default value"),
            escape="",
            compose=True,
        )
        if value.problem:
            found.append(Found("", location, COMPOSE, problem=value.problem, text=text))
        elif not value.value:
            found.append(Found("", location, COMPOSE, problem="`image` is empty"))
        else:
            found.append(Found(value.value, location, COMPOSE))
    return found


_POD_SPEC = {
    "Pod": ("spec",),
    "PodTemplate": ("template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    **dict.fromkeys(
        (
            "Deployment",
            "StatefulSet",
            "DaemonSet",
            "ReplicaSet",
            "ReplicationController",
            "Job",
        ),
        ("spec", "template", "spec"),
    ),
}
_CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


def _kubernetes(document: Any, walk: _Walk, item_kind: str = "") -> list[Found]:
    if not isinstance(document, LocatedDict):
        return []
    kind = document.get("kind", item_kind)
    if not isinstance(kind, str) or not (item_kind or isinstance(document.get("apiVersion"), str)):
        return []
    if kind.endswith("List") and not item_kind:
        default = kind.removesuffix("List") or "-"
        return [
            f
            for item in walk.in_list(document.get("items"))
            for f in _kubernetes(item, walk, default)
        ]
    pod_spec = _dig(document, *_POD_SPEC[kind]) if kind in _POD_SPEC else None
    if pod_spec is None or not walk.first(pod_spec):
        return []
    found: list[Found] = []
    for field in _CONTAINER_LISTS:
        for container in walk.in_list(pod_spec.get(field)):
            found.extend(_kubernetes_image(container, "image", walk.path))
    # Image volumes (Kubernetes 1.31+): an image's content mounted as a volume.
    for volume in walk.in_list(pod_spec.get("volumes")):
        source = volume.get("image")
        if isinstance(source, LocatedDict) and walk.first(source):
            found.extend(_kubernetes_image(source, "reference", walk.path))
    return found


def _kubernetes_image(mapping: LocatedDict, key: str, path: str) -> list[Found]:
    image = _image_at(mapping, key, path)
    if image is None:
        return []
    location, text = image
    if text is None:
        return [_not_a_string(location, key, KUBERNETES)]
    if not text:
        return [Found("", location, KUBERNETES, problem=f"`{key}` is empty")]
    return [Found(text, location, KUBERNETES)]


def _workflow_image(mapping: LocatedDict, key: str, path: str, scheme: str = "") -> Found | None:
    image = _image_at(mapping, key, path, scheme)
    if image is None:
        return None
    location, text = image
    if text is None:
        return _not_a_string(location, key, WORKFLOW)
    if not text:
        return None
    if "${{" in text:
        return Found("", location, WORKFLOW, problem="contains a GitHub expression", text=text)
    return Found(text, location, WORKFLOW)


def _container(parent: LocatedDict, key: str, path: str) -> Found | None:
    """``container:``/``services.<name>:``: an image, or a mapping with ``image``."""
    value = parent.get(key)
    if isinstance(value, LocatedDict):
        return _workflow_image(value, "image", path)
    return _workflow_image(parent, key, path)


def _workflow(document: Any, walk: _Walk) -> list[Found]:
    found: list[Found | None] = []
    for job in walk.in_mapping(_dig(document, "jobs")):
        if "container" in job:
            found.append(_container(job, "container", walk.path))
        services = job.get("services")
        if isinstance(services, LocatedDict) and walk.first(services):
            found.extend(_container(services, name, walk.path) for name in services)
        for step in walk.in_list(job.get("steps")):
            uses = step.get("uses")
            if isinstance(uses, str) and uses.startswith("docker://"):
                found.append(_workflow_image(step, "uses", walk.path, "docker://"))
    return [f for f in found if f is not None]


_SCANNERS: dict[str, Callable[[Any, _Walk], list[Found]]] = {
    COMPOSE: _compose,
    KUBERNETES: _kubernetes,
    WORKFLOW: _workflow,
}
#: The kinds of file read as YAML.
YAML_KINDS = tuple(_SCANNERS)


def scan_documents(documents: list[YamlDocument], kind: str, path: str) -> list[Found]:
    """The references in the documents of one file of ``kind`` (one of :data:`YAML_KINDS`),
    each written place once: a value several mappings share through aliases or merge
    keys is one reference, found where it is written."""
    walk = _Walk(path)
    scanner = _SCANNERS[kind]
    found = (f for document in documents for f in scanner(document.value, walk))
    return list(dict.fromkeys(found))
