"""What a scan finds: the kinds of file read, and one reference found in one."""

from __future__ import annotations

from typing import NamedTuple

from manifest_lint.results import Location, Waiver

DOCKERFILE = "dockerfile"
COMPOSE = "compose"
KUBERNETES = "kubernetes"
WORKFLOW = "workflow"
KINDS = (DOCKERFILE, COMPOSE, KUBERNETES, WORKFLOW)


class Found(NamedTuple):
    """One image reference found in a file.

    ``reference`` is the text after substitution, or ``""`` when it cannot be
    resolved; ``problem`` then says why (e.g. ``"`${BASE}` has no default value"``).
    ``platform`` is a ``FROM --platform`` value known without building.
    """

    reference: str
    location: Location
    kind: str
    platform: str = ""
    problem: str = ""
    #: The reference as written in the file, before substitution (what reports show
    #: for a reference that cannot be resolved).
    text: str = ""
    #: Inline exceptions that name this occurrence (:mod:`.ignores`).
    waivers: tuple[Waiver, ...] = ()
