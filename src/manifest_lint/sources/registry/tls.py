"""The TLS context registries are verified with, read once per run and early.

Reading a CA bundle is OpenSSL parsing some 150 certificates: 30-55 ms on the
benchmark machine, during which Python's GIL is released. A run that will ask
registries therefore starts reading it in a thread of its own
(:meth:`~manifest_lint.sources.registry.registries.Registries.prepare`) while it goes
on importing the HTTP stack, and every registry client of the run shares the
one context. Light on purpose: it imports neither httpx nor (until a context is
made) :mod:`ssl`.
"""

from __future__ import annotations

import copy
import os
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Generic, TypeVar

from manifest_lint.errors import RegistryError

if TYPE_CHECKING:
    import ssl

T = TypeVar("T")


def verified_context(ca_file: str | None, env: Mapping[str, str] | None = None) -> ssl.SSLContext:
    """The CAs registries are verified with: httpx's default, made the way
    ``httpx.create_ssl_context()`` makes it (``SSL_CERT_FILE``, else ``SSL_CERT_DIR``,
    else certifi's bundle), plus ``ca_file``: a private CA is added, so it does not stop
    public registries from verifying."""
    import ssl

    env = os.environ if env is None else env
    try:
        if env.get("SSL_CERT_FILE"):
            context = ssl.create_default_context(cafile=env["SSL_CERT_FILE"])
        elif env.get("SSL_CERT_DIR"):
            context = ssl.create_default_context(capath=env["SSL_CERT_DIR"])
        else:
            import certifi

            context = ssl.create_default_context(cafile=certifi.where())
    except (OSError, ssl.SSLError) as exc:
        names = ("SSL_CERT_FILE", "SSL_CERT_DIR")
        where = ", ".join(f"{n}={env[n]}" for n in names if env.get(n))
        raise RegistryError(f"cannot use the CA certificates of {where}: {_reason(exc)}") from exc
    if ca_file:
        try:
            context.load_verify_locations(cafile=ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise RegistryError(
                f"cannot use the CA certificates of --ca-file {ca_file}: {_reason(exc)}"
            ) from exc
    return context


def _reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]


class Pending(Generic[T]):
    """A value being made in a thread of its own; :meth:`result` waits for it and
    raises what making it raised."""

    def __init__(self, make: Callable[[], T], name: str) -> None:
        self._make = make
        self._done = threading.Event()
        self._value: T | None = None
        self._error: BaseException | None = None
        threading.Thread(target=self._run, name=name, daemon=True).start()

    def _run(self) -> None:
        try:
            self._value = self._make()
        except BaseException as exc:  # handed to the caller of result()
            self._error = exc
        finally:
            self._done.set()

    def result(self) -> T:
        self._done.wait()
        if self._error is not None:
            # A copy for each caller: raising one exception object from many threads
            # would grow its traceback with every raise.
            raise copy.copy(self._error)
        return self._value  # type: ignore[return-value]  # set when there is no error
