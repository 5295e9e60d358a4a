"""How registries are reached (options from the command line), and one client per host.

Light on purpose: importing it does not import the HTTP stack, which a run that
asks no registry (``--offline``, OCI layouts) never needs.
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ssl

    import httpx

    from manifest_lint.sources.cache import Cache
    from manifest_lint.sources.registry.client import RegistryClient
    from manifest_lint.sources.registry.credential import Credential
    from manifest_lint.sources.registry.tls import Pending


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


class Registries:
    """One :class:`RegistryClient` per host, created on first use; closes them all."""

    def __init__(self, options: RegistryOptions | None = None, cache: Cache | None = None) -> None:
        self.options = options or RegistryOptions()
        #: Where manifests and configs are kept between runs (None: ``--no-cache``).
        self.cache = cache
        self._clients: dict[str, RegistryClient] = {}
        self._lock = threading.Lock()
        self._tls: Pending[ssl.SSLContext] | None = None

    def prepare(self) -> None:
        """Start reading the CA certificates in a thread, for a run that will ask a
        registry: OpenSSL parses them without the GIL while the run imports the HTTP
        stack (``registry/tls.py``)."""
        from manifest_lint.sources.registry.tls import Pending, verified_context

        with self._lock:
            if self._tls is None:
                options = self.options
                self._tls = Pending(lambda: verified_context(options.ca_file), "ca-certificates")

    def tls_context(self) -> ssl.SSLContext:
        """The verifying TLS context every client of this run shares."""
        if self._tls is None:
            self.prepare()
        assert self._tls is not None
        return self._tls.result()

    def client(self, host: str) -> RegistryClient:
        # The HTTP stack is imported only when a registry is really asked.
        from manifest_lint.sources.registry.client import RegistryClient

        self.prepare()
        with self._lock:
            client = self._clients.get(host)
            if client is None:
                client = self._clients[host] = RegistryClient(
                    host, self.options, tls=self.tls_context
                )
            return client

    def clients(self) -> dict[str, RegistryClient]:
        return dict(self._clients)

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()

    def __enter__(self) -> Registries:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
