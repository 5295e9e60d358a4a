"""One :class:`RegistryClient` per registry host, for a run: created on first use, closed together.

Light on purpose: importing it does not import the HTTP stack, which a run that
asks no registry (``--offline``, OCI layouts) never needs.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from manifest_lint.sources.registry.options import RegistryOptions

if TYPE_CHECKING:
    import ssl

    from manifest_lint.sources.cache import Cache
    from manifest_lint.sources.registry.client import RegistryClient
    from manifest_lint.sources.registry.tls import Pending


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
