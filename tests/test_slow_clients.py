"""Slow or numerous clients cannot starve the others: an incomplete request is closed after the read deadline,
connections beyond the cap are refused at once, and the server raises its open-file limit."""

from __future__ import annotations

import json
import select
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

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


def test_connections_beyond_the_cap_are_refused_with_a_clear_answer(make_server: Any) -> None:
    srv: Server = make_server(extra=["--max-connections", "4", "--request-timeout", "60"])
    held = [socket.create_connection(("127.0.0.1", srv.port), timeout=10) for _ in range(4)]
    try:
        for sock in held:
            sock.send(b"GET /health HTTP/1.1\r\n")  # requests in progress
        with raw(srv) as extra:
            answer = b""
            while chunk := extra.recv(4096):
                answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 429 ") and b"retry-after: 1" in head.lower()
        error = json.loads(body)
        assert error["status"] == 1014 and "connections" in error["error"] and error["retryable"] is True
    finally:
        for sock in held:
            sock.close()
    # once they are gone, the server answers again
    with httpx.Client(base_url=srv.url) as c:
        for _ in range(100):
            if c.get("/health").status_code == 200:
                break
        assert c.get("/health").status_code == 200


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
