"""Open the :class:`~manifest_lint.fetch.Source` a reference's transport names."""

from __future__ import annotations

from typing import TYPE_CHECKING

from manifest_lint.fetch import Source
from manifest_lint.reference import Reference

if TYPE_CHECKING:
    from manifest_lint.registry.client import Registries


def open_source(reference: Reference, registries: Registries) -> Source:
    if reference.transport == "docker":
        from manifest_lint.registry.client import RegistrySource

        return RegistrySource(registries.client(reference.host), reference)
    from manifest_lint.layout import LayoutSource

    return LayoutSource(reference)
