"""The http.client transport under httpx: keep-alive, stale connections, framing, errors.

A small HTTP/1.1 server on 127.0.0.1 plays the server, because these are
behaviours (a server that drops idle connections, a body cut short) the real
registry does not produce on demand; the registry tests run every request of
theirs through this transport too.
"""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from manifest_lint.sources.registry.client import USER_AGENT
from manifest_lint.sources.registry.transport import StdlibTransport, proxy_applies
from tests.helpers.registry_server import RegistryServer


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    ports: ClassVar[list[int]] = []
    seen: ClassVar[list[tuple[str, str, str]]] = []
    cookies: ClassVar[list[str]] = []

    def log_message(self, *args: object) -> None:
        pass

    def _answer(self, body: bytes) -> None:
        Handler.ports.append(self.client_address[1])
        Handler.seen.append((self.command, self.path, self.headers.get("User-Agent", "")))
        path = self.path
        if path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"hello ", b"chunked ", b"world"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Set-Cookie", "session=abc; Path=/")
        Handler.cookies.append(self.headers.get("Cookie", ""))
        if path == "/truncated":
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.write(b"x" * 10)
            self.close_connection = True
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        if path == "/drop-after":
            # Close without saying so (no "Connection: close"): the client keeps the
            # connection, and finds it dead on its next request.
            self.close_connection = True

    def do_GET(self) -> None:
        self._answer(b'{"ok": true}')

    def do_HEAD(self) -> None:
        self._answer(b'{"ok": true}')


@pytest.fixture
def server() -> Iterator[str]:
    Handler.ports.clear()
    Handler.seen.clear()
    Handler.cookies.clear()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(transport=StdlibTransport(), headers={"User-Agent": "t/1"}) as c:
        yield c


def test_requests_share_one_keep_alive_connection(server: str, client: httpx.Client) -> None:
    for _ in range(3):
        assert client.get(server + "/a").json() == {"ok": True}
    head = client.head(server + "/a")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == "12"  # a HEAD's length, with no body read
    assert client.get(server + "/a?x=1").status_code == 200
    assert len(set(Handler.ports)) == 1
    assert Handler.seen[-1] == ("GET", "/a?x=1", "t/1")
    assert [s[0] for s in Handler.seen] == ["GET", "GET", "GET", "HEAD", "GET"]


def test_a_connection_the_server_dropped_is_replaced(server: str, client: httpx.Client) -> None:
    assert client.get(server + "/drop-after").status_code == 200
    assert client.get(server + "/a").json() == {"ok": True}
    assert len(set(Handler.ports)) == 2


def test_a_body_cut_short_is_an_error_not_a_short_body(server: str, client: httpx.Client) -> None:
    with pytest.raises(httpx.RemoteProtocolError, match="90 more bytes expected"):
        client.get(server + "/truncated")
    assert client.get(server + "/a").status_code == 200  # and the next request works


def test_chunked_bodies(server: str, client: httpx.Client) -> None:
    assert client.get(server + "/chunked").content == b"hello chunked world"
    assert client.get(server + "/a").status_code == 200
    assert len(set(Handler.ports)) == 1


def test_a_stream_closed_unread_does_not_poison_the_pool(server: str, client: httpx.Client) -> None:
    with client.stream("GET", server + "/a") as response:
        assert response.status_code == 200  # body not read
    assert client.get(server + "/a").json() == {"ok": True}


def test_connection_refused_is_httpx_connect_error(client: httpx.Client) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, not listening: refused
        with pytest.raises(httpx.ConnectError):
            client.get(f"http://127.0.0.1:{port}/")


def test_read_timeouts_are_httpx_timeouts(client: httpx.Client) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()  # accepts (in the kernel) and never answers
        port = listener.getsockname()[1]
        with pytest.raises(httpx.ReadTimeout):
            client.get(f"http://127.0.0.1:{port}/", timeout=0.2)


def test_unsupported_schemes(client: httpx.Client) -> None:
    with pytest.raises(httpx.UnsupportedProtocol):
        client.get("ftp://127.0.0.1/x")


@pytest.mark.parametrize(
    ("env", "host", "expected"),
    [
        ({}, "registry.example", False),
        ({"HTTPS_PROXY": "http://proxy:3128"}, "registry.example", True),
        ({"https_proxy": "http://proxy:3128"}, "registry.example:5000", True),
        ({"ALL_PROXY": "http://proxy:3128"}, "registry.example", True),
        (
            {"HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": "registry.example"},
            "registry.example",
            False,
        ),
        (
            {"HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": ".example"},
            "registry.example:5000",
            False,
        ),
        ({"HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": "other"}, "registry.example", True),
    ],
)
def test_proxy_applies(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], host: str, expected: bool
) -> None:
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert proxy_applies(host) is expected


def test_a_registry_behind_a_proxy_uses_httpx_own_transport(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """httpx reads the proxy variables only for its own transport."""
    from manifest_lint.sources.registry.client import RegistryClient
    from manifest_lint.sources.registry.options import RegistryOptions

    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "internal.example")
    monkeypatch.delenv("no_proxy", raising=False)
    behind = RegistryClient("registry.example", RegistryOptions())
    direct = RegistryClient("internal.example:5000", RegistryOptions())
    try:
        assert not isinstance(behind._http._transport, StdlibTransport)
        assert isinstance(direct._http._transport, StdlibTransport)
    finally:
        behind.close()
        direct.close()


def test_the_registry_client_keeps_no_cookies(server: str) -> None:
    """Registries do not use cookies and docker ignores them: a Set-Cookie is not sent back."""
    from manifest_lint.image.model import Descriptor
    from manifest_lint.sources.registry.client import RegistryClient
    from manifest_lint.sources.registry.options import RegistryOptions

    host = server.removeprefix("http://")
    client = RegistryClient(host, RegistryOptions())
    try:
        blob = Descriptor("application/json", "sha256:" + "0" * 64, 12)
        for _ in range(2):
            assert client.get_blob("repo", blob, what="a blob") == b'{"ok": true}'
    finally:
        client.close()
    assert Handler.cookies == ["", ""]
    assert [s[2] for s in Handler.seen] == [USER_AGENT, USER_AGENT]


@pytest.mark.registry
def test_a_registry_behind_a_proxy_is_reached_through_it(
    registry: RegistryServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """With HTTPS_PROXY/HTTP_PROXY set, every request to the registry goes through the
    proxy (httpx's own transport reads them), and the result is the same as direct."""
    import json

    from manifest_lint.cli.main import main
    from tests.helpers.forward_proxy import ForwardProxy
    from tests.helpers.images import build_index, build_manifest, push

    children = [build_manifest(p, layers=1, seed="proxy") for p in ("linux/amd64", "linux/arm64")]
    pushed = push(registry.url, "proxy/app", build_index(children), "v1")

    def lint(name: str) -> dict[str, Any]:
        report = tmp_path / f"{name}.json"
        main([pushed.reference, "--no-cache", "--json", str(report), "-q"])
        capsys.readouterr()
        result: dict[str, Any] = json.loads(report.read_text())["results"][0]
        return result

    direct = lint("direct")
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    with ForwardProxy() as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        proxied = lint("proxied")
    assert proxied["findings"] == direct["findings"]
    assert proxied["digest"] == direct["digest"]
    through = [target for method, target in proxy.log if method in ("GET", "HEAD")]
    # The index by tag, 2 manifests and 2 configs, all to the registry, all via the proxy.
    assert len([t for t in through if t.startswith(f"http://{registry.host}/v2/proxy/app/")]) == 5
