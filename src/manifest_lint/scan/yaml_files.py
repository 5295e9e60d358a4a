"""The image references of YAML files: Compose services, Kubernetes pod specs and
GitHub Actions workflows, each walked along the paths that hold images."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from manifest_lint import yamlfile
from manifest_lint.errors import ScanError
from manifest_lint.results import Location
from manifest_lint.scan.found import COMPOSE, KUBERNETES, WORKFLOW, Found
from manifest_lint.scan.substitution import Var, substitute
from manifest_lint.yamlfile import LocatedDict, YamlDocument


def yaml_documents(path: str, text: str) -> list[YamlDocument]:
    """The documents of a YAML file written by others: anchors, aliases and merge keys
    are accepted (compose files use them; only known paths are walked, so shared
    values cost nothing), and unquoted keys are read as written (``on:``)."""
    return yamlfile.load_all(
        text, path=path, error=ScanError, allow_aliases=True, keys_as_text=True, fast=True
    )


def _dig(value: Any, *keys: str) -> LocatedDict | None:
    for key in keys:
        if not isinstance(value, LocatedDict):
            return None
        value = value.get(key)
    return value if isinstance(value, LocatedDict) else None


def _image_at(
    mapping: LocatedDict, key: str, path: str, kind: str, scheme: str = ""
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


def _compose(document: Any, path: str) -> list[Found]:
    found = []
    services = _dig(document, "services")
    for service in (services or {}).values():
        if not isinstance(service, LocatedDict):
            continue
        image = _image_at(service, "image", path, COMPOSE)
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


def _kubernetes(document: Any, path: str, item_kind: str = "") -> list[Found]:
    if not isinstance(document, LocatedDict):
        return []
    kind = document.get("kind", item_kind)
    if not isinstance(kind, str) or not (item_kind or isinstance(document.get("apiVersion"), str)):
        return []
    if kind.endswith("List") and not item_kind:
        items = document.get("items")
        if not isinstance(items, list):
            return []
        default = kind.removesuffix("List") or "-"
        return [f for item in items for f in _kubernetes(item, path, default)]
    pod_spec = _dig(document, *_POD_SPEC[kind]) if kind in _POD_SPEC else None
    found: list[Found] = []
    for field in _CONTAINER_LISTS:
        containers = pod_spec.get(field) if pod_spec is not None else None
        for container in containers if isinstance(containers, list) else ():
            if not isinstance(container, LocatedDict):
                continue
            image = _image_at(container, "image", path, KUBERNETES)
            if image is None:
                continue
            location, text = image
            if text is None:
                found.append(_not_a_string(location, "image", KUBERNETES))
            elif not text:
                found.append(Found("", location, KUBERNETES, problem="`image` is empty"))
            else:
                found.append(Found(text, location, KUBERNETES))
    return found


def _workflow_image(mapping: LocatedDict, key: str, path: str, scheme: str = "") -> Found | None:
    image = _image_at(mapping, key, path, WORKFLOW, scheme)
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


def _workflow(document: Any, path: str) -> list[Found]:
    found: list[Found | None] = []
    jobs = _dig(document, "jobs")
    for job in (jobs or {}).values():
        if not isinstance(job, LocatedDict):
            continue
        if "container" in job:
            found.append(_container(job, "container", path))
        services = job.get("services")
        if isinstance(services, LocatedDict):
            found.extend(_container(services, name, path) for name in services)
        steps = job.get("steps")
        for step in steps if isinstance(steps, list) else ():
            uses = step.get("uses") if isinstance(step, LocatedDict) else None
            if isinstance(uses, str) and uses.startswith("docker://"):
                found.append(_workflow_image(step, "uses", path, "docker://"))
    return [f for f in found if f is not None]


YAML_SCANNERS: dict[str, Callable[[Any, str], list[Found]]] = {
    COMPOSE: _compose,
    KUBERNETES: _kubernetes,
    WORKFLOW: _workflow,
}
