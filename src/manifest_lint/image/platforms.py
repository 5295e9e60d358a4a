"""Platforms (os/architecture/variant): parsing, normalisation and matching, as containerd does it.

Normalisation: ``aarch64`` -> ``arm64``; ``arm64/v8`` == ``arm64``; ``x86_64`` and
``x86-64`` -> ``amd64``; ``i386`` -> ``386``; ``arm`` without a variant means
``arm/v7``; ``armhf`` -> ``arm/v7``, ``armel`` -> ``arm/v6``; variants ``7`` -> ``v7``.
Windows' ``os.version`` and ``os.features`` are kept but are not part of the
string form (``windows/amd64``).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, order=True)
class Platform:
    os: str
    architecture: str
    variant: str = ""
    os_version: str = field(default="", compare=False)
    os_features: tuple[str, ...] = field(default=(), compare=False)

    def __str__(self) -> str:
        parts = [self.os, self.architecture] + ([self.variant] if self.variant else [])
        return "/".join(parts)

    @property
    def is_unknown(self) -> bool:
        return self.os == "unknown" and self.architecture == "unknown"

    def normalized(self) -> Platform:
        os_ = _normalize_os(self.os)
        arch, variant = normalize_arch(self.architecture, self.variant)
        return Platform(os_, arch, variant, self.os_version, self.os_features)

    def matches(self, other: Platform) -> bool:
        """True when both name the same normalised os/architecture/variant."""
        a, b = self.normalized(), other.normalized()
        return (a.os, a.architecture, a.variant) == (b.os, b.architecture, b.variant)


class PlatformFormatError(ValueError):
    """A platform string that is not ``os/arch[/variant]``."""


def parse_platform(text: str) -> Platform:
    """Parse ``os/arch[/variant]`` (``linux/arm64/v8``) and normalise it."""
    parts = text.strip().lower().split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise PlatformFormatError(
            f"invalid platform {text!r}: expected os/architecture[/variant], e.g. linux/arm64"
        )
    variant = parts[2] if len(parts) == 3 else ""
    return Platform(parts[0], parts[1], variant).normalized()


def _normalize_os(os_: str) -> str:
    os_ = os_.lower()
    return "darwin" if os_ == "macos" else os_


def normalize_arch(arch: str, variant: str) -> tuple[str, str]:
    """containerd's ``normalizeArch``."""
    arch, variant = arch.lower(), variant.lower()
    if arch in ("i386",):
        return "386", ""
    if arch in ("x86_64", "x86-64", "amd64"):
        return "amd64", "" if variant in ("v1", "") else variant
    if arch in ("aarch64", "arm64"):
        return "arm64", "" if variant in ("8", "v8", "v8.0", "") else variant
    if arch == "armhf":
        return "arm", "v7"
    if arch == "armel":
        return "arm", "v6"
    if arch == "arm":
        if variant in ("", "7"):
            return "arm", "v7"
        if variant in ("5", "6", "8"):
            return "arm", "v" + variant
        return "arm", variant
    return arch, variant
