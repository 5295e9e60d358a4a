"""An httpx transport on the standard library's ``http.client``.

httpx stays the HTTP API (auth flows, redirects, event hooks, requests and
responses); only what sits under it changes. httpx's default transport
(httpcore on h11) costs about 1.3 ms of CPU per request here, ``http.client``
about 0.4 ms, and a lint run is CPU-bound on a machine it shares with the
registry: ``bench/http_clients.py`` measures both, ``docs/performance.md`` has
the numbers.

What this transport does, and no more: HTTP/1.1 over TCP or TLS (the context
given, so verification is the caller's choice), a pool of idle keep-alive
connections per scheme, host and port (connections are used by one request at
a time, so threads share the transport safely), httpx's connect, read and write
time-outs, a stale keep-alive connection replaced once for idempotent requests,
and errors raised as httpx's own exceptions, so callers cannot tell the
transports apart. Proxies are not: :func:`proxy_applies` tells the caller when
to use httpx's own transport instead.
"""

from __future__ import annotations

import http.client
import select
import socket
import ssl
import threading
import urllib.request
from collections.abc import Callable, Iterator

import httpx

__all__ = ["StdlibTransport", "proxy_applies"]

#: Idle connections kept per (scheme, host, port).
MAX_IDLE = 32
_CHUNK = 64 * 1024
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

_Key = tuple[str, str, int]


def proxy_applies(host: str) -> bool:
    """Whether ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``ALL_PROXY`` (minus ``NO_PROXY``)
    would send requests for ``host`` through a proxy, as httpx reads them."""
    proxies = urllib.request.getproxies_environment()
    if not any(proxies.get(k) for k in ("https", "http", "all")):
        return False
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    # Not in typeshed, but part of urllib.request since Python 3.0.
    bypass: Callable[[str, dict[str, str]], bool] = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
    return not bypass(name, proxies)


def _readable(sock: socket.socket | None) -> bool:
    """An idle connection with something to read was closed (or broken) by the server."""
    if sock is None:
        return True
    try:
        if hasattr(select, "poll"):  # no limit on descriptor numbers, unlike select()
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return bool(poller.poll(0))
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


class _Body(httpx.SyncByteStream):
    """A response body, read from the connection as it is iterated; the connection
    goes back to the pool once the body was read to its end."""

    def __init__(
        self,
        transport: StdlibTransport,
        key: _Key,
        conn: http.client.HTTPConnection,
        response: http.client.HTTPResponse,
        request: httpx.Request,
    ) -> None:
        self._transport = transport
        self._key = key
        self._conn: http.client.HTTPConnection | None = conn
        self._response = response
        self._request = request

    def __iter__(self) -> Iterator[bytes]:
        response = self._response
        try:
            while True:
                chunk = response.read1(_CHUNK)
                if not chunk:
                    if response.length:  # read1 ends quietly where Content-Length was not met
                        raise http.client.IncompleteRead(b"", response.length)
                    return
                yield chunk
        except Exception as exc:
            self._discard()
            raise _read_error(exc, self._request) from exc

    def _discard(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        response = self._response
        # Read to its end (a HEAD's, a 204's or a 304's body is empty from the start).
        complete = response.isclosed() or (response.length == 0 and not response.chunked)
        response.close()
        if complete and not response.will_close and conn.sock is not None:
            self._transport._release(self._key, conn)
        else:
            conn.close()


def _read_error(exc: Exception, request: httpx.Request) -> httpx.TransportError:
    if isinstance(exc, TimeoutError):
        return httpx.ReadTimeout(str(exc) or "timed out reading the response", request=request)
    if isinstance(exc, http.client.IncompleteRead):
        return httpx.RemoteProtocolError(
            "peer closed connection without sending complete message body "
            f"({exc.expected} more bytes expected)",
            request=request,
        )
    if isinstance(exc, http.client.RemoteDisconnected):
        return httpx.RemoteProtocolError(
            "Server disconnected without sending a response.", request=request
        )
    if isinstance(exc, http.client.HTTPException):
        return httpx.RemoteProtocolError(f"malformed HTTP response: {exc!r}"[:300], request=request)
    return httpx.ReadError(str(exc) or type(exc).__name__, request=request)


class StdlibTransport(httpx.BaseTransport):
    """HTTP/1.1 for httpx on ``http.client``; thread-safe."""

    def __init__(self, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self._ssl = ssl_context or ssl.create_default_context()
        self._idle: dict[_Key, list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()
        self._closed = False

    # -- the pool --------------------------------------------------------------
    def _take(self, key: _Key) -> http.client.HTTPConnection | None:
        while True:
            with self._lock:
                idle = self._idle.get(key)
                conn = idle.pop() if idle else None
            if conn is None:
                return None
            if not _readable(conn.sock):
                return conn
            conn.close()

    def _release(self, key: _Key, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if not self._closed and len(idle) < MAX_IDLE:
                idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle = [c for conns in self._idle.values() for c in conns]
            self._idle.clear()
        for conn in idle:
            conn.close()

    # -- one request -----------------------------------------------------------
    def _connect(self, key: _Key, request: httpx.Request) -> http.client.HTTPConnection:
        scheme, host, port = key
        timeouts = request.extensions.get("timeout", {})
        conn: http.client.HTTPConnection
        if scheme == "https":
            conn = http.client.HTTPSConnection(
                host, port, timeout=timeouts.get("connect"), context=self._ssl
            )
        elif scheme == "http":
            conn = http.client.HTTPConnection(host, port, timeout=timeouts.get("connect"))
        else:
            raise httpx.UnsupportedProtocol(
                f"Request URL has an unsupported protocol '{scheme}://'.", request=request
            )
        try:
            conn.connect()
        except TimeoutError as exc:
            conn.close()
            raise httpx.ConnectTimeout(str(exc) or "timed out", request=request) from exc
        except OSError as exc:  # ssl.SSLError included: certificate failures stay in __cause__
            conn.close()
            raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from exc
        if conn.sock is not None:
            conn.sock.settimeout(timeouts.get("read"))
        return conn

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scheme = url.scheme
        port = url.port or (443 if scheme == "https" else 80)
        key = (scheme, url.host, port)
        target = url.raw_path.decode("ascii")
        body = request.read() or None
        headers = request.headers.raw
        method = request.method
        while True:
            conn = self._take(key)
            reused = conn is not None
            if conn is None:
                conn = self._connect(key, request)
            try:
                conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
                for name, value in headers:
                    conn.putheader(name, value)
                conn.endheaders(body)
            except Exception as exc:
                conn.close()
                if reused and method in _IDEMPOTENT:
                    continue  # the server closed an idle connection: once more on a new one
                if isinstance(exc, TimeoutError):
                    raise httpx.WriteTimeout(str(exc) or "timed out", request=request) from exc
                raise httpx.WriteError(str(exc) or type(exc).__name__, request=request) from exc
            try:
                response = conn.getresponse()
            except Exception as exc:
                conn.close()
                stale = isinstance(
                    exc, (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)
                )
                if reused and stale and method in _IDEMPOTENT:
                    continue
                raise _read_error(exc, request) from exc
            return httpx.Response(
                response.status,
                headers=response.getheaders(),
                stream=_Body(self, key, conn, response, request),
                extensions={
                    "http_version": b"HTTP/1.1",
                    "reason_phrase": response.reason.encode("latin-1", "replace"),
                },
                request=request,
            )
