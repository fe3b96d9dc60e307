"""How the HTTP server runs: uvicorn with the WebSocket options, plus the limits that keep slow or numerous
clients from starving the others (docs/http.md, "Limits").

- **Request read deadline**: a request must arrive whole — headers and body — within
  ``REQUEST_READ_TIMEOUT_S`` of its first byte (or of the connection opening); otherwise the connection is
  closed. uvicorn times out only idle keep-alive connections, so a client sending its headers a byte at a
  time, or a body shorter than its ``Content-Length``, was held open for ever. The time an operation takes
  once its request has arrived is not limited by this.
- **Connection cap, complete requests first**: at most ``max_connections`` open connections (HTTP and
  WebSocket). When one more arrives, the connection that has waited longest without a complete request
  (still sending its headers or body, or idle between keep-alive requests) is closed to make room: a flood of
  slow or silent connections cannot hold the slots a till needs, as every new connection outranks the oldest
  incomplete one. Only when every slot holds a request being answered or a WebSocket is the new connection
  answered at once with 429 and error 1014 Busy, and closed, before anything is read. What was closed or
  refused is logged once per ``WARN_INTERVAL_S`` with counts, not once per connection.
- **Body size**: a request declaring a ``Content-Length`` above ``MAX_BODY`` is answered 400 at once and
  the connection closed, without reading the body; a chunked body is counted as it arrives and cut off (400,
  closed) once it passes the limit. Nothing is buffered beyond it, whichever path the request is for.
- **Open-file limit**: raised from the soft to the hard limit where the platform allows, and the connection
  cap kept below it (database, journal and watched folders need descriptors too).
- **One server per data dir**: the server runs holding its data dir's lock and records where it listens once it
  does (fiscald.instance); the record goes when it stops cleanly, the lock when the process ends.
"""

from __future__ import annotations

import asyncio
import logging
import math
import socket
import sys
import time
from dataclasses import dataclass
from typing import Any, ClassVar

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from fiscald import jsonfmt
from fiscald.errors import Code, FiscalError, Language
from fiscald.instance import Claim
from fiscald.interfaces.http import MAX_BODY
from fiscald.interfaces.ws import UVICORN_OPTIONS

log = logging.getLogger("fiscald.http")

REQUEST_READ_TIMEOUT_S = 15.0
DEFAULT_MAX_CONNECTIONS = 2000
RESERVED_FILES = 100  # descriptors kept for everything but client connections
KEEP_ALIVE_S = 5  # idle time between requests on a keep-alive connection (uvicorn's timeout_keep_alive)
WARN_INTERVAL_S = 10.0  # at most one "connection limit reached" line per interval, with counts


def raise_open_file_limit() -> int | None:
    """Raise the soft open-file limit to the hard one; the limit now in force (None where unknown)."""
    if sys.platform == "win32":  # no such limit to raise
        return None
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return None if soft == resource.RLIM_INFINITY else soft


@dataclass(frozen=True)
class Limits:
    request_timeout_s: float = REQUEST_READ_TIMEOUT_S
    max_connections: int = DEFAULT_MAX_CONNECTIONS


def connection_cap(wanted: int, open_files: int | None) -> int:
    """``wanted``, kept below the open-file limit."""
    if open_files is None:
        return wanted
    return max(1, min(wanted, open_files - RESERVED_FILES))


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline for reading each request and a cap on connections."""

    max_connections: ClassVar[int] = DEFAULT_MAX_CONNECTIONS
    read_timeout_s: ClassVar[float] = REQUEST_READ_TIMEOUT_S
    language: ClassVar[Language] = "ro"
    # connections without a complete request, oldest first (dicts keep insertion order): who makes room
    waiting: ClassVar[dict[GuardedHttpProtocol, None]] = {}
    _counts: ClassVar[dict[str, int]] = {"closed": 0, "refused": 0}
    _last_warning: ClassVar[float] = -math.inf
    _warning: ClassVar[asyncio.TimerHandle | None] = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_deadline: asyncio.TimerHandle | None = None
        self._body_bytes = 0
        self._refused = False  # answered "too large": the rest of what the client sends is dropped unread

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            if not self.waiting:  # every slot holds a request being answered, or a WebSocket
                self._note("refused")
                transport.write(_busy_response(self.max_connections, self.language))
                transport.close()
                return
            oldest = next(iter(self.waiting))
            self.waiting.pop(oldest)
            oldest._read_timed_out()
            self._note("closed")
        self.waiting[self] = None
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self.waiting.pop(self, None)
        self._disarm()
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and not self.pipeline:  # idle until its next request is complete
            self.waiting.pop(self, None)
            self.waiting[self] = None

    def _note(self, what: str) -> None:
        """Count a closed or refused connection; the counts are logged once per ``WARN_INTERVAL_S``."""
        cls = GuardedHttpProtocol
        cls._counts[what] += 1
        if cls._warning is None:
            delay = max(0.0, cls._last_warning + WARN_INTERVAL_S - time.monotonic())
            cls._warning = self.loop.call_later(delay, cls._warn)

    @classmethod
    def _warn(cls) -> None:
        closed, refused = cls._counts["closed"], cls._counts["refused"]
        since = time.monotonic() - cls._last_warning
        cls._counts.update(closed=0, refused=0)
        cls._last_warning, cls._warning = time.monotonic(), None
        log.warning("connection limit (%d) reached: %d connection(s) without a complete request closed to make "
                    "room, %d refused with 429 as every slot was busy%s", cls.max_connections, closed, refused,
                    f" (in the last {since:.0f} s)" if since < 3600 else "")

    def data_received(self, data: bytes) -> None:
        if not self._refused:
            super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._body_bytes = 0
        self._arm()

    def on_headers_complete(self) -> None:
        declared = _content_length(self.headers)
        if declared is not None and declared > MAX_BODY:
            self._refuse_body(f"Content-Length {declared}")
            return
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if self._refused:
            return
        self._body_bytes += len(body)
        if self._body_bytes > MAX_BODY:
            cycle = self.cycle
            if cycle is not None and not cycle.response_complete:
                cycle.disconnected = True  # the app reading the body is told the client went away; it answers nobody
                cycle.message_event.set()
            self._refuse_body(f"more than {MAX_BODY} bytes sent", answer=cycle is None or not cycle.response_started)
            return
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._disarm()
        self.waiting.pop(self, None)  # a complete request: being answered, not to be closed for room
        if not self._refused:
            super().on_message_complete()

    def _refuse_body(self, what: str, answer: bool = True) -> None:
        """Answer 400 (unless an answer has begun), close, and read nothing more from this connection."""
        self._refused = True
        self._disarm()
        if answer:
            self.transport.write(_too_large_response(what, self.language))
        self.transport.close()

    def handle_websocket_upgrade(self) -> None:
        self._disarm()
        self.waiting.pop(self, None)
        super().handle_websocket_upgrade()

    def _arm(self) -> None:
        if self._read_deadline is None:
            self._read_deadline = self.loop.call_later(self.read_timeout_s, self._read_timed_out)

    def _disarm(self) -> None:
        if self._read_deadline is not None:
            self._read_deadline.cancel()
            self._read_deadline = None

    def _read_timed_out(self) -> None:
        self._read_deadline = None
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            cycle.disconnected = True  # the app waiting for the rest of the body is told the client went away
            cycle.message_event.set()
        if not self.transport.is_closing():
            self.transport.close()


def _busy_response(limit: int, language: Language) -> bytes:
    err = FiscalError(Code.BUSY, f"server: {limit} connections are open, the most it takes; retry shortly")
    body = jsonfmt.dumps(err.body(language)).encode()
    return (f"HTTP/1.1 {err.http_status} Too Many Requests\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nretry-after: 1\r\nconnection: close\r\n\r\n").encode() + body


def _content_length(headers: list[tuple[bytes, bytes]] | None) -> int | None:
    for name, value in headers or ():
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the parser refuses it
    return None


def _too_large_response(what: str, language: Language) -> bytes:
    err = FiscalError(Code.CONFIG, f"body: larger than {MAX_BODY} bytes, the most a request may carry ({what}); "
                                   "not read")
    body = jsonfmt.dumps(err.body(language)).encode()
    return (f"HTTP/1.1 {err.http_status} Bad Request\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n").encode() + body


def server_config(app: Any, host: str, port: int, language: Language, limits: Limits, *,
                  log_level: str = "warning", graceful_timeout_s: int | None = None) -> uvicorn.Config:
    """How fiscald is served (``fiscald serve`` and the Windows service): the request deadline, the connection
    cap below the open-file limit, and no proxy in front of a local driver (X-Forwarded-* headers are not
    trusted, and their middleware is skipped)."""
    GuardedHttpProtocol.max_connections = connection_cap(limits.max_connections, raise_open_file_limit())
    GuardedHttpProtocol.read_timeout_s = limits.request_timeout_s
    GuardedHttpProtocol.language = language
    return uvicorn.Config(app, host=host, port=port, log_level=log_level, access_log=False, log_config=None,
                          lifespan="on", proxy_headers=False, server_header=False, http=GuardedHttpProtocol,
                          timeout_keep_alive=KEEP_ALIVE_S, timeout_graceful_shutdown=graceful_timeout_s,
                          **UVICORN_OPTIONS)


class ClaimedServer(uvicorn.Server):
    """uvicorn's server on a data dir this process holds (``claim``), listening on ``sock``, bound before the start
    (fiscald.deploy.ports.bind): once it listens it records where, and it removes the record when it stops."""

    def __init__(self, config: uvicorn.Config, claim: Claim, sock: socket.socket) -> None:
        super().__init__(config)
        self.claim = claim
        self.sock = sock

    def run(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            super().run([self.sock] if sockets is None else sockets)
        finally:
            self.sock.close()  # a start that failed before listening leaves the port free at once

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            bound = self.servers[0].sockets[0].getsockname()  # the port really bound
            try:
                self.claim.record(self.config.host, int(bound[1]))
            except OSError as exc:  # serving matters more; commands then say the server has not said where it is
                log.warning("could not record where this server listens in %s: %s", self.claim.folder, exc)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().shutdown(sockets)
        finally:
            self.claim.unrecord()


def run(config: uvicorn.Config, claim: Claim, sock: socket.socket) -> None:
    """Serve on ``sock`` until stopped, then give up the data dir."""
    try:
        ClaimedServer(config, claim, sock).run()
    finally:
        claim.release()
