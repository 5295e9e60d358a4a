"""A small forward HTTP proxy on 127.0.0.1, as HTTP(S)_PROXY points at in companies.

It serves absolute-form requests (``GET http://host/path``) by making them itself,
and ``CONNECT host:port`` by relaying bytes both ways, and records what passed
through it. It exists to test that manifest-lint reaches a registry through a
proxy; it is not a general proxy.
"""

from __future__ import annotations

import http.client
import http.server
import select
import socket
import threading
import urllib.parse
from typing import ClassVar

from tests.helpers.service import Service

_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    log: ClassVar[list[tuple[str, str]]]

    def log_message(self, *args: object) -> None:
        pass

    def _forward(self) -> None:
        self.log.append((self.command, self.path))
        url = urllib.parse.urlsplit(self.path)
        if url.scheme != "http" or not url.hostname:
            self.send_error(400, "absolute http:// URLs only")
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        target = url.path + (f"?{url.query}" if url.query else "")
        upstream = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=30)
        try:
            upstream.request(self.command, target, body=body, headers=headers)
            response = upstream.getresponse()
            data = response.read()
            self.send_response(response.status, response.reason)
            for name, value in response.getheaders():
                if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                    self.send_header(name, value)
            announced = response.getheader("Content-Length") or "0"
            self.send_header(
                "Content-Length", announced if self.command == "HEAD" else str(len(data))
            )
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
        finally:
            upstream.close()

    do_GET = do_HEAD = do_POST = _forward

    def do_CONNECT(self) -> None:
        self.log.append(("CONNECT", self.path))
        host, _, port = self.path.rpartition(":")
        try:
            upstream = socket.create_connection((host, int(port)), timeout=30)
        except OSError:
            self.send_error(502)
            return
        self.send_response(200, "Connection established")
        self.end_headers()
        self.close_connection = True
        client = self.connection
        try:
            while True:
                readable, _, _ = select.select([client, upstream], [], [], 30)
                if not readable:
                    return
                for source in readable:
                    data = source.recv(65536)
                    if not data:
                        return
                    (upstream if source is client else client).sendall(data)
        except OSError:
            return
        finally:
            upstream.close()


class ForwardProxy(Service):
    """``with ForwardProxy() as proxy:``; ``proxy.url`` for HTTP(S)_PROXY, ``proxy.log``
    the (method, target) of every request it was sent."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str]] = []
        handler = type("Handler", (_Handler,), {"log": self.log})
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> ForwardProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
