"""How registries are reached: the options set from the command line.

Light on purpose (no HTTP stack): the command line builds these before it knows
whether any registry will be asked.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

    from manifest_lint.sources.registry.credential import Credential


def is_loopback(host: str) -> bool:
    """``localhost``, 127.0.0.0/8 and ::1 (with or without a port), as docker treats them."""
    name = host
    if name.startswith("["):
        name = name[1 : name.find("]")]
    elif name.count(":") == 1:
        name = name.split(":", 1)[0]
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class RegistryOptions:
    """How to reach registries: set from the command line."""

    insecure_registries: frozenset[str] = frozenset()
    ca_file: str | None = None
    #: Deadline for reading one reference, retries included (``--timeout``).
    timeout: float = 60.0
    #: Time-out of each single request.
    request_timeout: float = 30.0
    env: Mapping[str, str] | None = None
    credential_lookup: Callable[[str], Credential | None] | None = None
    transport: httpx.BaseTransport | None = field(default=None, compare=False)

    def is_insecure(self, host: str) -> bool:
        """Plain http (and no TLS verification) is allowed for this host."""
        return is_loopback(host) or host.lower() in self.insecure_registries
