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
    there, so neither does this). ``RUN --mount=...,from=IMAGE`` is one when
    ``IMAGE`` is neither a stage name nor ``scratch`` (read as BuildKit reads it:
    no variables, no stage numbers; not for a secret mount). ``platform`` is the
    ``--platform`` value when it resolves without the builder's variables
    (``linux/arm64``, or an ``ARG`` default), else ``""``. Not read: ``ONBUILD``
    instructions.

``compose``
    ``services.<name>.image`` of Compose files, with Compose interpolation
    (``$$`` is a literal ``$``). The environment and ``.env`` files are *not*
    read, so results are reproducible: every variable is unset, ``${VAR:-default}``
    gives its default and ``${VAR}`` a ``problem``. An ``image`` next to ``build``
    (the tag a build produces, or pulls) is reported like any other.

``kubernetes``
    Every YAML (or JSON) document with ``apiVersion`` and ``kind``, in block or flow
    style (KYAML): the ``containers``, ``initContainers`` and ``ephemeralContainers``
    images and the image volumes (``volumes[].image.reference``) of Pods, of the pod
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
the file). YAML files are read with :mod:`manifest_lint.yamlfile`: anchors,
aliases and ``<<`` merge keys as YAML defines them (a key written in a mapping wins
over a merged one; an anchor defined again applies from there on), each value
walked once however many aliases name it, and a value several mappings share
found once, where it is written. Mapping keys are read as the text they are
written as, so the ``on:`` of a workflow is the key ``"on"``, not ``True``.

A file of none of these kinds gives one :class:`Found` saying so (see
:data:`NOTHING_TO_CHECK`), so a run reports it as skipped instead of saying nothing.
Files above ``max_size`` (16 MiB by default) are refused.
"""

from __future__ import annotations

from pathlib import Path, PurePath

from manifest_lint.errors import ScanError
from manifest_lint.results import Location
from manifest_lint.scan.detect import detect, detect_kind
from manifest_lint.scan.dockerfile import scan_dockerfile
from manifest_lint.scan.found import COMPOSE, DOCKERFILE, KINDS, KUBERNETES, WORKFLOW, Found
from manifest_lint.scan.ignores import with_inline_waivers
from manifest_lint.scan.instructions import DockerfileError
from manifest_lint.scan.yaml_files import YAML_KINDS, scan_documents, yaml_documents
from manifest_lint.yamlfile import read_text

__all__ = [
    "COMPOSE",
    "DOCKERFILE",
    "KINDS",
    "KUBERNETES",
    "MAX_SCAN_SIZE",
    "NOTHING_TO_CHECK",
    "WORKFLOW",
    "Found",
    "ScanError",
    "detect_kind",
    "scan_file",
    "scan_text",
]

#: Files larger than this are refused by default (``--max-file-size``): release
#: manifests (an operator's ``install.yaml``) are 1-5 MB.
MAX_SCAN_SIZE = 16 * 1024 * 1024

#: The problem of the one :class:`Found` a file of no known kind gives.
NOTHING_TO_CHECK = (
    "nothing to check: not recognised as a Dockerfile, compose file, Kubernetes manifest "
    "or GitHub workflow"
)


def scan_text(path: str, text: str, kind: str | None = None) -> list[Found]:
    """The image references in ``text``, read as a file of ``kind`` (detected from
    ``path`` and ``text`` when None), in file order.

    A text of no known kind gives one :class:`Found` that says so: no reference, no
    kind, the file as its location and :data:`NOTHING_TO_CHECK` as its problem.
    ``path`` is only used to name the file. Raises :class:`ScanError` for an unknown
    kind, invalid YAML, or an invalid ``# escape=`` directive.
    """
    return _scan(path, path, text, kind)


def scan_file(path: Path, kind: str | None = None, *, max_size: int = MAX_SCAN_SIZE) -> list[Found]:
    """:func:`scan_text` on a file read as UTF-8 (at most ``max_size`` bytes); locations
    name ``path`` as given. Raises :class:`ScanError` when it cannot be read."""
    text = read_text(path, ScanError, max_size=max_size, size_option="--max-file-size")
    return _scan(path.absolute(), str(path), text, kind)


def _scan(where: str | PurePath, path: str, text: str, kind: str | None) -> list[Found]:
    """``where`` tells the kind (a workflow is known by its directories), ``path`` is
    the name locations give."""
    documents = None
    if kind is None:
        kind, documents, error = detect(where, text)
        if kind is None:
            problem = NOTHING_TO_CHECK
            if error is not None:
                problem += f" (line {error.line}, column {error.column}: {error.message})"
            return [Found("", Location(path), "", problem=problem)]
        if error is not None:
            raise ScanError(error.message, path=path, line=error.line, column=error.column)
    if kind == DOCKERFILE:
        try:
            found = scan_dockerfile(path, text)
        except DockerfileError as exc:
            raise ScanError(exc.message, path=path, line=exc.line) from None
    elif kind in YAML_KINDS:
        if documents is None:
            documents = yaml_documents(path, text)
        found = scan_documents(documents, kind, path)
    else:
        raise ScanError(f"unknown kind {kind!r} (known: {', '.join(KINDS)})", path=path)
    found = sorted(found, key=lambda f: (f.location.line, f.location.column))
    return with_inline_waivers(found, text, path, kind)
