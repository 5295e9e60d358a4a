"""Custom CEL functions manifest-lint provides to every policy expression.

``normalizePlatform(string) -> string``
    ``os/arch[/variant]`` normalised as containerd does (``manifest_lint.image.platforms``):
    ``"linux/arm64/v8"`` -> ``"linux/arm64"``, ``"linux/aarch64"`` -> ``"linux/arm64"``,
    ``"linux/arm"`` -> ``"linux/arm/v7"``. A string that is not a platform is an
    evaluation error.

``joinStrings(list(string), string) -> string``
    Deprecated, kept for existing policies: ``['a', 'b'].join(', ')`` (the strings
    extension, on every backend since the celpy backend gained it) does the same.
"""

from __future__ import annotations

from manifest_lint.cel.base import STRING, CelFunction, list_of


def normalize_platform(text: str) -> str:
    """``normalizePlatform``: raises ``PlatformFormatError`` (a ValueError) for a non-platform."""
    from manifest_lint.image.platforms import parse_platform  # (only when a policy calls it)

    return str(parse_platform(text))


def join_strings(items: list[str], separator: str) -> str:
    """``joinStrings``."""
    return separator.join(items)


BUILTIN_FUNCTIONS: tuple[CelFunction, ...] = (
    CelFunction(
        "normalizePlatform",
        (STRING,),
        STRING,
        normalize_platform,
        doc="Normalise an os/arch[/variant] string: 'linux/aarch64' -> 'linux/arm64'.",
    ),
    CelFunction(
        "joinStrings",
        (list_of(STRING), STRING),
        STRING,
        join_strings,
        doc="Deprecated: write ['a', 'b'].join(', '), the strings extension's join.",
    ),
)
