"""Slow or numerous clients cannot starve the others: an incomplete request is closed after the read deadline,
connections beyond the cap are refused at once, and the server raises its open-file limit."""

from __future__ import annotations

import json
import re
import select
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect as ws_connect
from wsclient import ws_url

from fiscald.interfaces.serving import WARN_INTERVAL_S
from server import Server


@contextmanager
def raw(srv: Server) -> Iterator[socket.socket]:
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    try:
        yield sock
    finally:
        sock.close()


def closed_while_dripping(sock: socket.socket, rest: bytes, limit_s: float = 30) -> bool:
    """Send ``rest`` one byte per 0.2 s; True once the server closes the connection (bounded by ``limit_s``)."""
    for i in range(int(limit_s / 0.2)):
        readable, _, _ = select.select([sock], [], [], 0.2)
        if readable:
            try:
                return sock.recv(4096) == b""
            except ConnectionResetError:
                return True
        try:
            sock.send(rest[i % len(rest):i % len(rest) + 1])
        except (BrokenPipeError, ConnectionResetError):
            return True
    return False


def test_incomplete_requests_are_closed_after_the_read_deadline(make_server: Any) -> None:
    srv: Server = make_server(extra=["--request-timeout", "1"])
    with raw(srv) as headers_drip:
        headers_drip.send(b"GET /health HTTP/1.1\r\n")
        assert closed_while_dripping(headers_drip, b"X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n")
    with raw(srv) as short_body:
        short_body.send(b"POST /manage/save_settings HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"lang")
        assert closed_while_dripping(short_body, b" ")
    with raw(srv) as silent:  # connected, never says a word
        silent.settimeout(30)
        assert silent.recv(1) == b""
    # a request that arrives in time, however long it then takes, is answered; the server took no harm
    assert httpx.get(srv.url + "/health").json()["status"] == "ok"
    assert "Traceback" not in srv.log()


def test_connections_beyond_the_cap_are_refused_when_every_slot_is_busy(make_server: Any) -> None:
    srv: Server = make_server(extra=["--max-connections", "4", "--request-timeout", "60"])
    with ExitStack() as stack:
        for _ in range(4):  # WebSockets: busy, never closed to make room
            stack.enter_context(ws_connect(ws_url(srv.url), open_timeout=10))
        with raw(srv) as extra:
            answer = b""
            while chunk := extra.recv(4096):
                answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 429 ") and b"retry-after: 1" in head.lower()
        error = json.loads(body)
        assert error["status"] == 1014 and "connections" in error["error"] and error["retryable"] is True
    # once they are gone, the server answers again
    with httpx.Client(base_url=srv.url) as c:
        for _ in range(100):
            if c.get("/health").status_code == 200:
                break
        assert c.get("/health").status_code == 200


def test_at_the_cap_the_oldest_incomplete_request_makes_room(make_server: Any) -> None:
    srv: Server = make_server(extra=["--max-connections", "4", "--request-timeout", "60"])
    held = [socket.create_connection(("127.0.0.1", srv.port), timeout=10) for _ in range(4)]
    try:
        for sock in held:
            sock.send(b"GET /health HTTP/1.1\r\n")  # requests that never complete
            time.sleep(0.05)
        assert httpx.get(srv.url + "/health", timeout=10).json()["status"] == "ok"
        held[0].settimeout(10)
        assert held[0].recv(1) == b""  # the oldest was closed for it
        held[1].settimeout(0.3)
        with pytest.raises(TimeoutError):
            held[1].recv(1)  # the others wait on
    finally:
        for sock in held:
            sock.close()


def test_a_slow_connection_flood_does_not_lock_out_the_till(make_server: Any) -> None:
    """A bounded flood (loopback, at most 300 sockets open at once, 8 s, stops by itself) of connections that
    never complete a request, at 10 times the cap; a till asking every 0.1 s on new connections meanwhile."""
    srv: Server = make_server(extra=["--max-connections", "30", "--request-timeout", "15"])
    stop = threading.Event()
    opened = [0]

    def flood() -> None:
        sockets: list[socket.socket] = []
        try:
            while not stop.is_set():
                try:
                    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=2)
                    sock.send(b"GET /health HTTP/1.1\r\nX-Slow: ")
                    sockets.append(sock)
                    opened[0] += 1
                except OSError:
                    pass
                while len(sockets) > 300:
                    sockets.pop(0).close()
                time.sleep(0.005)
        finally:
            for sock in sockets:
                sock.close()

    flooders = [threading.Thread(target=flood) for _ in range(2)]
    for thread in flooders:
        thread.start()
    answered, asked = 0, 0
    try:
        time.sleep(1)  # the cap is full of slow connections by now
        deadline = time.monotonic() + 7
        while time.monotonic() < deadline:
            asked += 1
            with suppress(httpx.HTTPError):
                answered += httpx.get(srv.url + "/health", timeout=5).status_code == 200
            time.sleep(0.1)
    finally:
        stop.set()
        for thread in flooders:
            thread.join(30)
    assert opened[0] > 300  # a flood far beyond the cap of 30
    assert answered >= asked * 0.95, f"{answered} of {asked} answered"
    time.sleep(WARN_INTERVAL_S + 1)  # the last interval's counts are logged too
    warnings = [line for line in srv.log().splitlines() if "connection limit (30) reached" in line]
    assert 1 <= len(warnings) <= 3, warnings  # one line per interval, not one per connection
    closed = sum(int(re.search(r"(\d+) connection\(s\) without", line).group(1))  # type: ignore[union-attr]
                 for line in warnings)
    assert closed >= opened[0] - 300 - 30, (closed, opened[0])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the child's limits from /proc (Linux)")
def test_serve_raises_the_open_file_limit(make_server: Any, tmp_path: Path) -> None:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    lowered = 256 if hard == resource.RLIM_INFINITY else min(256, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (lowered, hard))
    try:
        srv: Server = make_server()  # inherits the lowered soft limit
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert srv.proc is not None
    limits = Path(f"/proc/{srv.proc.pid}/limits").read_text(encoding="utf-8")
    line = next(row for row in limits.splitlines() if row.startswith("Max open files"))
    child_soft, child_hard = line.split()[3:5]
    assert child_soft == child_hard
    if hard != resource.RLIM_INFINITY and hard > lowered:
        assert int(child_soft) == hard
