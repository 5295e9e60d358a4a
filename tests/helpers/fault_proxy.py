"""A fault-injecting HTTP proxy between manifest-lint and a real registry, for tests.

:class:`FaultProxy` listens on 127.0.0.1 (plain http, a thread per connection)
and forwards ``GET`` and ``HEAD`` to the upstream registry, unless a fault is due.
Faults are injected by :class:`Rule` (matched by method and path suffix, at
most ``count`` times) or at random by :class:`RandomFaults` (probability ``p``
per request, from a seed). The random choice for a request is derived from the
seed, the method, the path and how many times that method and path were asked
before, so it does not depend on how threads happen to be scheduled.

=========================  =============================================================
:attr:`Fault.RATE_LIMIT`   ``429`` with ``Retry-After`` (seconds, or an HTTP-date)
:attr:`Fault.UNAVAILABLE`  ``503``, with or without ``Retry-After``
:attr:`Fault.RESET`        the connection is closed (with a TCP reset) without an answer
:attr:`Fault.TRUNCATE`     ``Content-Length`` says the whole body, half is sent, then close
:attr:`Fault.SLOW`         the answer comes after ``delay`` seconds (at most ``MAX_DELAY``)
:attr:`Fault.CONTENT_TYPE` the upstream answer with another ``Content-Type``
:attr:`Fault.DIGEST`       the upstream answer with a wrong ``Docker-Content-Digest``
:attr:`Fault.TAMPER`       the upstream answer with one bit of the body flipped
:attr:`Fault.BODY`         an answer of the rule's own (status, headers, body)
=========================  =============================================================

Everything is bounded: delays are capped, bodies are streamed in chunks, and
:meth:`FaultProxy.stop` wakes sleeping handlers. The proxy counts requests,
faults injected (by kind) and answers the client stopped reading early.
"""

from __future__ import annotations

import contextlib
import email.utils
import enum
import hashlib
import http.client
import json
import random
import socket
import struct
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.helpers.service import Service

#: Longest a SLOW fault may hold an answer back (seconds).
MAX_DELAY = 10.0
#: Bytes written to the client at a time.
CHUNK = 64 * 1024
#: A digest no content has: what Fault.DIGEST announces.
FAKE_DIGEST = "sha256:" + hashlib.sha256(b"manifest-lint fault proxy: not the content").hexdigest()
#: Hop-by-hop and length headers, never copied from the upstream answer.
_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length"})


class Fault(enum.StrEnum):
    RATE_LIMIT = "429"
    UNAVAILABLE = "503"
    RESET = "reset"
    TRUNCATE = "truncate"
    SLOW = "slow"
    CONTENT_TYPE = "content-type"
    DIGEST = "digest"
    TAMPER = "tamper"
    BODY = "body"


#: What a client should retry and then get right.
TRANSIENT: tuple[Fault, ...] = (Fault.RATE_LIMIT, Fault.UNAVAILABLE, Fault.RESET, Fault.TRUNCATE)

#: A ``Retry-After`` value: sent as is, or computed when the answer is sent.
RetryAfter = str | Callable[[], str] | None


def http_date_in(seconds: float) -> Callable[[], str]:
    """A ``Retry-After`` HTTP-date ``seconds`` from when the answer is sent."""

    def value() -> str:
        return email.utils.format_datetime(
            datetime.now(UTC) + timedelta(seconds=seconds), usegmt=True
        )

    return value


def flip_a_bit(data: bytes) -> bytes:
    """The same length, one bit different (in the middle, where JSON stays ASCII)."""
    if not data:
        return data
    changed = bytearray(data)
    changed[len(changed) // 2] ^= 0x01
    return bytes(changed)


@dataclass(frozen=True)
class LargeBody:
    """``prefix``, then ``fill`` repeated, then ``suffix``: ``size`` bytes in all, made as
    they are sent (a body far larger than socket buffers, never held in memory)."""

    prefix: bytes
    size: int
    suffix: bytes = b""
    fill: bytes = b"x"

    def chunks(self) -> Iterator[bytes]:
        yield self.prefix
        remaining = self.size - len(self.prefix) - len(self.suffix)
        block = self.fill * (CHUNK // len(self.fill))
        while remaining > 0:
            piece = block[:remaining]
            remaining -= len(piece)
            yield piece
        yield self.suffix


@dataclass
class Rule:
    """Inject ``fault`` into requests whose path ends with ``path_suffix`` (any path when
    empty) and whose method is ``method`` (any when empty), at most ``count`` times
    (always when None). The other fields parameterise the fault."""

    fault: Fault
    path_suffix: str = ""
    method: str = ""
    count: int | None = None
    #: RATE_LIMIT, UNAVAILABLE: the ``Retry-After`` header (None: no header).
    retry_after: RetryAfter = None
    #: SLOW: seconds before the answer.
    delay: float = 0.0
    #: CONTENT_TYPE, BODY: the ``Content-Type`` sent.
    content_type: str = "text/plain; charset=utf-8"
    #: BODY: the status and what is sent; chunked (no ``Content-Length``) when ``chunked``.
    status: int = 200
    body: bytes | LargeBody = b""
    chunked: bool = False
    #: BODY: more headers (``Docker-Content-Digest``...).
    headers: dict[str, str] = field(default_factory=dict)
    #: How many times this rule fired.
    injected: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method != method:
            return False
        if self.path_suffix and not path.endswith(self.path_suffix):
            return False
        return self.count is None or self.injected < self.count


@dataclass(frozen=True)
class RandomFaults:
    """Each request gets a fault with ``probability``, chosen among ``faults``.

    ``max_consecutive`` bounds how many times in a row the same method and path get
    a fault (None: no bound), so that a client with a fixed number of attempts can
    be expected to get through.
    """

    seed: int
    probability: float
    faults: Sequence[Fault] = TRANSIENT
    rate_limit_retry_after: Sequence[RetryAfter] = ("0", "1", http_date_in(1))
    unavailable_retry_after: Sequence[RetryAfter] = (None, "0", "1")
    max_consecutive: int | None = None

    def choose(self, method: str, path: str, occurrence: int, streak: int) -> Rule | None:
        if self.max_consecutive is not None and streak >= self.max_consecutive:
            return None
        rng = random.Random(f"{self.seed}\0{method}\0{path}\0{occurrence}")
        if rng.random() >= self.probability:
            return None
        # A HEAD has no body to cut short.
        choices = [f for f in self.faults if not (method == "HEAD" and f is Fault.TRUNCATE)]
        fault = rng.choice(choices)
        retry_after: RetryAfter = None
        if fault is Fault.RATE_LIMIT:
            retry_after = rng.choice(list(self.rate_limit_retry_after))
        elif fault is Fault.UNAVAILABLE:
            retry_after = rng.choice(list(self.unavailable_retry_after))
        return Rule(fault, retry_after=retry_after, delay=rng.uniform(0, 0.5))


@dataclass(frozen=True)
class Event:
    """One request the proxy answered (or did not)."""

    method: str
    path: str
    fault: Fault | None


@dataclass(frozen=True)
class Abort:
    """An answer the client stopped reading before its end."""

    path: str
    sent: int
    size: int | None


class FaultProxy(Service):
    """The proxy; a context manager. ``host`` is ``127.0.0.1:PORT`` to put in references."""

    def __init__(
        self,
        upstream: str,
        rules: Sequence[Rule] = (),
        *,
        random_faults: RandomFaults | None = None,
        upstream_timeout: float = 30.0,
        own_answers: Callable[[str, str], Rule | None] | None = None,
    ) -> None:
        """``own_answers(method, target)`` (the request target, query included) may
        answer a request itself with a :attr:`Fault.BODY` rule, before any rule: an
        endpoint the upstream registry does not have (``helpers.referrers``)."""
        self.own_answers = own_answers
        self.upstream = upstream
        self.rules = list(rules)
        self.random_faults = random_faults
        self.upstream_timeout = upstream_timeout
        self.events: list[Event] = []
        self.faults: Counter[Fault] = Counter()
        self.aborts: list[Abort] = []
        self._occurrences: Counter[tuple[str, str]] = Counter()
        self._streaks: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------- lifecycle

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def requests(self) -> int:
        """Requests answered (or deliberately not answered) so far."""
        with self._lock:
            return len(self.events)

    @property
    def injected(self) -> int:
        with self._lock:
            return sum(self.faults.values())

    def start(self) -> FaultProxy:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="fault-proxy",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, wake handlers that are sleeping, close the socket."""
        self._stopping.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def reset_counters(self) -> None:
        with self._lock:
            self.events.clear()
            self.faults.clear()
            self.aborts.clear()
            self._occurrences.clear()
            self._streaks.clear()

    def seen(self, path_suffix: str, method: str = "") -> int:
        """How many requests for a path ending with ``path_suffix`` came in."""
        with self._lock:
            return sum(
                1
                for e in self.events
                if e.path.endswith(path_suffix) and (not method or e.method == method)
            )

    # ---------------------------------------------------------------- decisions

    def _decide(self, method: str, path: str) -> Rule | None:
        with self._lock:
            key = (method, path)
            occurrence = self._occurrences[key]
            self._occurrences[key] += 1
            chosen: Rule | None = None
            for rule in self.rules:
                if rule.matches(method, path):
                    rule.injected += 1
                    chosen = rule
                    break
            if chosen is None and self.random_faults is not None:
                chosen = self.random_faults.choose(method, path, occurrence, self._streaks[key])
            if chosen is None:
                self._streaks[key] = 0
            else:
                self._streaks[key] += 1
                self.faults[chosen.fault] += 1
            self.events.append(Event(method, path, chosen.fault if chosen else None))
            return chosen

    def _sleep(self, seconds: float) -> None:
        self._stopping.wait(max(0.0, min(seconds, MAX_DELAY)))

    def _aborted(self, path: str, sent: int, size: int | None) -> None:
        with self._lock:
            self.aborts.append(Abort(path, sent, size))


def _retry_after(value: RetryAfter) -> str | None:
    return value() if callable(value) else value


def _handler(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "fault-proxy/1"
        upstream: http.client.HTTPConnection | None = None

        def log_message(self, format: str, *args: Any) -> None:
            return  # a client's TLS probe (https first on loopback) lands here too

        def finish(self) -> None:
            with contextlib.suppress(OSError):
                super().finish()
            if self.upstream is not None:
                self.upstream.close()

        def do_GET(self) -> None:
            self._serve()

        def do_HEAD(self) -> None:
            self._serve()

        # ------------------------------------------------------------ the answer

        def _serve(self) -> None:
            path = self.path.split("?", 1)[0]
            own = proxy.own_answers(self.command, self.path) if proxy.own_answers else None
            if own is not None:
                with proxy._lock:
                    proxy.events.append(Event(self.command, path, None))
                headers = [("Content-Type", own.content_type), *own.headers.items()]
                self._answer(own.status, headers, own.body, path=path)
                return
            rule = proxy._decide(self.command, path)
            fault = rule.fault if rule else None
            if rule is None or fault in (Fault.CONTENT_TYPE, Fault.DIGEST, Fault.TAMPER):
                self._forward(path, rule)
                return
            if fault is Fault.RESET:
                self._reset()
            elif fault is Fault.RATE_LIMIT or fault is Fault.UNAVAILABLE:
                status = 429 if fault is Fault.RATE_LIMIT else 503
                code = "TOOMANYREQUESTS" if status == 429 else "UNAVAILABLE"
                error = {"code": code, "message": "injected by the fault proxy"}
                body = json.dumps({"errors": [error]}).encode()
                headers = {"Content-Type": "application/json"}
                retry_after = _retry_after(rule.retry_after)
                if retry_after is not None:
                    headers["Retry-After"] = retry_after
                self._answer(status, list(headers.items()), body)
            elif fault is Fault.SLOW:
                proxy._sleep(rule.delay)
                self._forward(path, None)
            elif fault is Fault.TRUNCATE:
                self._forward(path, rule)
            elif fault is Fault.BODY:
                own = [("Content-Type", rule.content_type), *rule.headers.items()]
                self._answer(rule.status, own, rule.body, chunked=rule.chunked, path=path)

        def _reset(self) -> None:
            """Close without answering; SO_LINGER 0 makes the close a TCP reset."""
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )

        def _upstream(self) -> http.client.HTTPResponse:
            headers = {
                k: v for k, v in self.headers.items() if k.lower() in ("accept", "authorization")
            }
            for attempt in range(2):
                if self.upstream is None:
                    self.upstream = http.client.HTTPConnection(
                        proxy.upstream, timeout=proxy.upstream_timeout
                    )
                try:
                    self.upstream.request(self.command, self.path, headers=headers)
                    return self.upstream.getresponse()
                except (OSError, http.client.HTTPException):
                    # A kept-alive upstream connection the registry closed: one new one.
                    self.upstream.close()
                    self.upstream = None
                    if attempt == 1:
                        raise
            raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

        def _forward(self, path: str, rule: Rule | None) -> None:
            try:
                response = self._upstream()
            except (OSError, http.client.HTTPException):
                self._answer(502, [("Content-Type", "text/plain")], b"upstream failed")
                return
            headers = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP]
            fault = rule.fault if rule else None
            if fault is None:
                length = response.getheader("Content-Length")
                self._answer(
                    response.status,
                    headers,
                    _stream(response),
                    length=int(length) if length and length.isdigit() else None,
                    path=path,
                )
                return
            assert rule is not None
            body = response.read()
            if fault is Fault.CONTENT_TYPE:
                headers = [(k, v) for k, v in headers if k.lower() != "content-type"]
                headers.append(("Content-Type", rule.content_type))
            elif fault is Fault.DIGEST:
                headers = [(k, v) for k, v in headers if k.lower() != "docker-content-digest"]
                headers.append(("Docker-Content-Digest", FAKE_DIGEST))
            elif fault is Fault.TAMPER:
                body = flip_a_bit(body)
            elif fault is Fault.TRUNCATE:
                self.send_response(response.status)
                for key, value in headers:
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                if self.command != "HEAD":
                    with contextlib.suppress(OSError):
                        self.wfile.write(body[: len(body) // 2])
                return
            self._answer(response.status, headers, body, path=path)

        def _answer(
            self,
            status: int,
            headers: Sequence[tuple[str, str]],
            body: bytes | LargeBody | Iterator[bytes],
            *,
            chunked: bool = False,
            length: int | None = None,
            path: str = "",
        ) -> None:
            if isinstance(body, bytes):
                length, chunks = len(body), iter([body])
            elif isinstance(body, LargeBody):
                length, chunks = body.size, body.chunks()
            else:
                chunks = body
            self.send_response(status)
            for key, value in headers:
                self.send_header(key, value)
            if chunked or length is None:
                self.send_header("Transfer-Encoding", "chunked")
                chunked = True
            else:
                self.send_header("Content-Length", str(length))
            self.end_headers()
            if self.command == "HEAD":
                return
            sent = 0
            try:
                for chunk in chunks:
                    if not chunk:
                        continue
                    if chunked:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    else:
                        self.wfile.write(chunk)
                    sent += len(chunk)
                if chunked:
                    self.wfile.write(b"0\r\n\r\n")
            except OSError:  # BrokenPipeError, ConnectionResetError: the client hung up
                self.close_connection = True
                proxy._aborted(path, sent, length)

    return Handler


def _stream(response: http.client.HTTPResponse) -> Iterator[bytes]:
    while chunk := response.read(CHUNK):
        yield chunk


__all__ = [
    "CHUNK",
    "FAKE_DIGEST",
    "MAX_DELAY",
    "TRANSIENT",
    "Abort",
    "Event",
    "Fault",
    "FaultProxy",
    "LargeBody",
    "RandomFaults",
    "Rule",
    "flip_a_bit",
    "http_date_in",
]
