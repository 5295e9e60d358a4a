"""Image references written in files, with the file, line and column of each.

Four kinds of file are read (:func:`detect_kind` picks one by name, then by content):

``dockerfile``
    Dockerfiles and Containerfiles, parsed as BuildKit does: ``FROM [--platform=P]
    IMAGE [AS NAME]`` (any case), line continuations, comments, heredocs (skipped),
    and the ``# escape=`` parser directive. The ``ARG`` instructions before the
    first ``FROM`` are the only variables ``FROM`` sees, as in BuildKit: ``$NAME``,
    ``${NAME}``, ``${NAME:-word}``, ``${NAME-word}``, ``${NAME:+word}``,
    ``${NAME+word}``, ``${NAME:?message}`` and quotes are evaluated with the ``ARG`` defaults (no
    ``--build-arg`` is assumed). A variable with no value (``ARG NAME`` without a
    default, or never declared) gives a :class:`Found` with an empty reference and
    a ``problem``; so do BuildKit's own ``TARGETARCH``, ``BUILDPLATFORM``... (set
    by the builder, per platform) and the pattern forms ``${NAME#...}``,
    ``${NAME%...}``, ``${NAME/...}``, which are not evaluated. Earlier stage names
    and ``scratch`` are not references. ``COPY --from=IMAGE`` is one when ``IMAGE``
    is neither a stage name nor a stage number (BuildKit does not expand variables
    there, so neither does this). ``platform`` is the ``--platform`` value when it
    resolves without the builder's variables (``linux/arm64``, or an ``ARG`` default),
    else ``""``. Not read: ``RUN --mount=from=...``, ``ONBUILD`` instructions.

``compose``
    ``services.<name>.image`` of Compose files, with Compose interpolation
    (``$$`` is a literal ``$``). The environment and ``.env`` files are *not*
    read, so results are reproducible: every variable is unset, ``${VAR:-default}``
    gives its default and ``${VAR}`` a ``problem``. An ``image`` next to ``build``
    (the tag a build produces, or pulls) is reported like any other.

``kubernetes``
    Every YAML document with ``apiVersion`` and ``kind``: the ``containers``,
    ``initContainers`` and ``ephemeralContainers`` images of Pods, of the pod
    template of Deployments, StatefulSets, DaemonSets, ReplicaSets,
    ReplicationControllers, Jobs and PodTemplates, and of CronJobs' job template;
    ``List`` (and ``...List``) documents are read item by item. Other kinds give nothing.

``workflow``
    GitHub Actions workflows (``.github/workflows/*.yml``): ``jobs.<id>.container``
    (a string, or a mapping with ``image``), ``jobs.<id>.services.<name>`` (the same
    two forms) and ``jobs.<id>.steps[].uses: docker://IMAGE``. An image holding a
    ``${{ ... }}`` expression gives a ``problem``; an empty one is left out (GitHub
    then runs no container).

Lines and columns are 1-based and count characters; the column is that of the
first character of the reference as written (after an opening quote, after
``docker://``; for a reference built by substitution, its first character in
the file). YAML files are read with :mod:`manifest_lint.yamlfile` (size cap, no
aliases: a Compose file using ``&anchors``/``*aliases``/``<<`` merges is refused
with an error naming file, line and column). Mapping keys are read as the text
they are written as, so the ``on:`` of a workflow is the key ``"on"``, not ``True``.
"""

from __future__ import annotations

from pathlib import Path

from manifest_lint.errors import ScanError
from manifest_lint.scan.detect import detect_kind
from manifest_lint.scan.dockerfile import scan_dockerfile
from manifest_lint.scan.found import COMPOSE, DOCKERFILE, KINDS, KUBERNETES, WORKFLOW, Found
from manifest_lint.scan.instructions import DockerfileError
from manifest_lint.scan.yaml_files import YAML_SCANNERS, yaml_documents
from manifest_lint.yamlfile import read_text

__all__ = [
    "COMPOSE",
    "DOCKERFILE",
    "KINDS",
    "KUBERNETES",
    "WORKFLOW",
    "Found",
    "ScanError",
    "detect_kind",
    "scan_file",
    "scan_text",
]


def scan_text(path: str, text: str, kind: str | None = None) -> list[Found]:
    """The image references in ``text``, read as a file of ``kind`` (detected from
    ``path`` and ``text`` when None; nothing when undetectable), in file order.

    ``path`` is only used to name the file. Raises :class:`ScanError` for an unknown
    kind, invalid YAML, or an invalid ``# escape=`` directive.
    """
    if kind is None:
        kind = detect_kind(path, text)
        if kind is None:
            return []
    if kind == DOCKERFILE:
        try:
            found = scan_dockerfile(path, text)
        except DockerfileError as exc:
            raise ScanError(exc.message, path=path, line=exc.line) from None
    elif kind in YAML_SCANNERS:
        documents = yaml_documents(path, text)
        scanner = YAML_SCANNERS[kind]
        found = [f for document in documents for f in scanner(document.value, path)]
    else:
        raise ScanError(f"unknown kind {kind!r} (known: {', '.join(KINDS)})", path=path)
    return sorted(found, key=lambda f: (f.location.line, f.location.column))


def scan_file(path: Path, kind: str | None = None) -> list[Found]:
    """:func:`scan_text` on a file read as UTF-8 (at most 1 MiB); locations name
    ``path`` as given. Raises :class:`ScanError` when it cannot be read."""
    text = read_text(path, ScanError)
    if kind is None:
        kind = detect_kind(path.absolute(), text)
        if kind is None:
            return []
    return scan_text(str(path), text, kind)
