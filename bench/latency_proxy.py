"""A reverse proxy in front of a registry that adds a fixed delay to every request.

Not a test, and not run on its own: ``bench/round_trips.py`` imports it. It stands
for a registry some tens of milliseconds away (the way CI jobs meet one), so a
benchmark can count how many round trips a client waits for one after another:
run the same client once through a proxy with no delay and once through one
with ``delay`` seconds, and ``(wall_delayed - wall_direct) / delay`` is the number
of sequential round trips.

Every request is held for ``delay`` seconds, then forwarded to the registry on a
pooled aiohttp connection and answered with the registry's status, headers and
body (``Location`` headers that name the registry are rewritten to name the
proxy). The delay is per request, not per TCP connection: connecting to the proxy
is as fast as connecting to 127.0.0.1, which favours clients that open many
connections over ones that reuse a few (a real network charges a round trip for
each TCP handshake too). Token realms are not rewritten: in token mode the token
service is reached directly, without the delay.

The proxy runs on its own event loop in a thread of the calling process, and counts
the requests it forwarded, by method (``counts``).
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from typing import Any

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

#: Headers that describe one connection, not the message (RFC 9110, section 7.6.1),
#: and the ones aiohttp computes for the body it sends.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "content-encoding",
    }
)


class LatencyProxy:
    """``http://127.0.0.1:PORT`` forwarding to ``upstream`` after ``delay`` seconds.

    Use as a context manager; ``host`` and ``url`` name the proxy once started.
    ``delay`` may be changed between runs (it is read per request).
    """

    def __init__(self, upstream: str, *, delay: float = 0.0) -> None:
        self.upstream = upstream.rstrip("/")
        self.delay = delay
        self.port = 0
        self.counts: Counter[str] = Counter()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._lock = threading.Lock()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def reset(self) -> Counter[str]:
        """The counts so far, and start counting again."""
        with self._lock:
            counts, self.counts = self.counts, Counter()
        return counts

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> LatencyProxy:
        loop = asyncio.new_event_loop()
        self._loop = loop
        started = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._start())
            except BaseException as exc:  # handed to the caller below
                failure.append(exc)
                started.set()
                return
            started.set()
            loop.run_forever()

        self._thread = threading.Thread(target=serve, name="latency-proxy", daemon=True)
        self._thread.start()
        started.wait(30)
        if failure:
            raise failure[0]
        return self

    async def _start(self) -> None:
        # No limit on upstream connections: the proxy must never be what queues requests.
        connector = aiohttp.TCPConnector(limit=0)
        self._session = aiohttp.ClientSession(
            connector=connector, auto_decompress=False, timeout=aiohttp.ClientTimeout(total=120)
        )
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{path:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None  # started above
        sockets: Any = getattr(server, "sockets", ())
        self.port = int(sockets[0].getsockname()[1])

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    def stop(self) -> None:
        loop = self._loop
        if loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(30)
        loop.close()
        self._loop = None

    def __enter__(self) -> LatencyProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---------------------------------------------------------------- one request

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        with self._lock:
            self.counts[request.method] += 1
        if self.delay > 0:
            await asyncio.sleep(self.delay)
        assert self._session is not None
        # Repeated headers stay repeated (docker sends one Accept line per media type).
        headers = CIMultiDict(
            (k, v) for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP
        )
        headers.popall("Host", None)
        body = await request.read() if request.body_exists else None
        async with self._session.request(
            request.method,
            self.upstream + request.rel_url.raw_path_qs,
            headers=headers,
            data=body,
            allow_redirects=False,
        ) as upstream:
            data = await upstream.read()
            out = CIMultiDict(
                (k, v) for k, v in upstream.headers.items() if k.lower() not in _HOP_BY_HOP
            )
            if "Location" in out and out["Location"].startswith(self.upstream):
                out["Location"] = self.url + out["Location"][len(self.upstream) :]
            if request.method == "HEAD":
                # What a GET would send: the length of the body not sent.
                stream = web.StreamResponse(status=upstream.status, headers=out)
                stream.headers["Content-Length"] = upstream.headers.get("Content-Length", "0")
                await stream.prepare(request)
                await stream.write_eof()
                return stream
            return web.Response(status=upstream.status, headers=out, body=data)
