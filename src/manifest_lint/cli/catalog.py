"""``--catalog REGISTRY[/PREFIX]``: the references of a registry, listed as the run goes.

Repositories come from ``/v2/_catalog`` (those under ``PREFIX``, kept by
``--include``/``--exclude`` globs), tags from each one's ``/v2/<name>/tags/list``
(kept by ``--tag-pattern``), page by page (``sources/registry/catalog.py``): the first
references are checked while later pages are still to be listed. The first page of
every catalog is asked before the run starts, so a registry that refuses to list is
an error before any result (exit 3). A listing that fails later (a tag list or a
later page refused) is an error result in its place (exit 3), and what was listed
is still checked and reported; a repository deleted since the catalog listed it
has no tags.
docs/scale.md.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator, Sequence
from itertools import chain
from typing import TYPE_CHECKING

from manifest_lint.errors import SourceError, UsageError

if TYPE_CHECKING:
    from manifest_lint.runner import Target
    from manifest_lint.sources.registry.registries import Registries


class Catalogs:
    """The references of the ``--catalog`` registries, with the filters applied."""

    def __init__(
        self,
        specs: Sequence[str],
        *,
        include: Sequence[str] = (),
        exclude: Sequence[str] = (),
        tag_pattern: str | None = None,
        page_size: int = 100,
    ) -> None:
        self.specs = []
        for spec in specs:
            registry, _, prefix = spec.strip().strip("/").partition("/")
            if not registry or "://" in spec or ":" in prefix:
                raise UsageError(f"--catalog {spec!r}: give REGISTRY or REGISTRY/PREFIX")
            self.specs.append((registry, prefix))
        try:
            self.tag_pattern = re.compile(tag_pattern) if tag_pattern else None
        except re.error as exc:
            raise UsageError(f"--tag-pattern {tag_pattern!r}: {exc}") from None
        if page_size < 1:
            raise UsageError("--catalog-page-size must be at least 1")
        self.include = list(include)
        self.exclude = list(exclude)
        self.page_size = page_size
        #: References listed so far (before sharding): none at all is "nothing to check".
        self.listed = 0

    def wanted(self, repository: str, prefix: str) -> bool:
        if prefix and not (repository == prefix or repository.startswith(prefix + "/")):
            return False
        if self.include and not any(fnmatch.fnmatchcase(repository, g) for g in self.include):
            return False
        return not any(fnmatch.fnmatchcase(repository, g) for g in self.exclude)

    def targets(self, registries: Registries) -> Iterator[Target]:
        """Every listed reference, lazily; each catalog's first page asked now."""
        from manifest_lint.sources.registry.catalog import repositories

        listings = []
        for registry, prefix in self.specs:
            names = repositories(registries.client(registry), self.page_size)
            first = next(names, None)  # (a refusal is raised here, before the run)
            listed = iter(()) if first is None else chain([first], names)
            listings.append(self._references(registries, registry, prefix, listed))
        return chain.from_iterable(listings)

    def _references(
        self, registries: Registries, registry: str, prefix: str, names: Iterator[str]
    ) -> Iterator[Target]:
        from manifest_lint.results import FETCH
        from manifest_lint.runner import Target
        from manifest_lint.sources.registry.catalog import tags

        client = registries.client(registry)
        where = f"{registry}/{prefix}" if prefix else registry
        before = self.listed
        try:
            for repository in names:
                if not self.wanted(repository, prefix):
                    continue
                try:
                    for tag in tags(client, repository, self.page_size):
                        if self.tag_pattern is None or self.tag_pattern.search(tag):
                            self.listed += 1
                            yield Target(f"{registry}/{repository}:{tag}")
                except SourceError as exc:
                    # One repository's tags refused (or a page of them): an error
                    # result of its own; the others go on.
                    self.listed += 1
                    problem = f"cannot list the tags of {registry}/{repository}: {exc}"
                    yield Target(f"{registry}/{repository}", error=problem, error_policy=FETCH)
        except SourceError as exc:
            # The catalog itself failed mid-way: what was listed is checked and
            # reported; the rest is one error result, never a silent pass.
            problem = (
                f"the catalog of {where} stopped after {self.listed - before} references: {exc}"
            )
            self.listed += 1
            yield Target(where, error=problem, error_policy=FETCH)
