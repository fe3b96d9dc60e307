"""A request body larger than the limit is refused before it is read: by its Content-Length at once, and a
chunked one as soon as it passes the limit, on every path. Measured on a real server process: its memory
stays where it was while clients send hundreds of megabytes."""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from fiscald.interfaces.http import MAX_BODY
from server import Server

PATHS = ("/devices/operation", "/manage/save_settings", "/manage/check_update")


def rss_kib(srv: Server) -> int:
    assert srv.proc is not None
    status = Path(f"/proc/{srv.proc.pid}/status").read_text(encoding="utf-8")
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1])


def head(path: str, extra: str) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{extra}\r\n").encode()


def answer_of(sock: socket.socket, limit_s: float) -> bytes:
    got = b""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        readable, _, _ = select.select([sock], [], [], 0.1)
        if readable:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            got += chunk
    return got


def test_a_declared_300_mb_body_is_refused_at_once_without_reading_it(make_server: Any) -> None:
    srv: Server = make_server()
    for path in PATHS:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as sock:
            sock.sendall(head(path, f"Content-Length: {300 * 1024 * 1024}\r\n"))
            started = time.monotonic()
            answer = answer_of(sock, 5)
            took = time.monotonic() - started
        top, _, body = answer.partition(b"\r\n\r\n")
        assert top.startswith(b"HTTP/1.1 400 ") and b"connection: close" in top.lower(), answer[:300]
        error = json.loads(body)
        assert error["status"] == 400 and f"larger than {MAX_BODY} bytes" in error["error"], error
        assert took < 2, took  # answered and closed at once: the server did not wait for the body
    assert httpx.get(srv.url + "/health").json()["status"] == "ok"


def send_chunked(port: int, path: str, total: int) -> int:
    """Send a chunked body of ``total`` bytes in 1 MiB chunks; the bytes sent before the server closed."""
    chunk = b" " * (1024 * 1024)
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head(path, "Transfer-Encoding: chunked\r\n"))
        try:
            while sent < total:
                sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass
    return sent


def test_a_chunked_body_is_cut_off_past_the_limit_and_memory_stays_bounded(make_server: Any) -> None:
    srv: Server = make_server()
    httpx.get(srv.url + "/health")
    before = rss_kib(srv)
    sent: list[int] = []
    peak = [before]
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss_kib(srv))
            time.sleep(0.05)

    def declared_then_sent(path: str) -> None:
        """A 300 MB Content-Length whose client sends the body anyway."""
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as sock:
            sock.sendall(head(path, f"Content-Length: {300 * 1024 * 1024}\r\n"))
            try:
                for _ in range(300):
                    sock.sendall(b" " * (1024 * 1024))
            except (BrokenPipeError, ConnectionResetError, TimeoutError):
                return

    watcher = threading.Thread(target=watch)
    watcher.start()
    workers = [threading.Thread(target=lambda p=path: sent.append(send_chunked(srv.port, p, 200 * 1024 * 1024)))
               for path in PATHS]
    workers += [threading.Thread(target=declared_then_sent, args=(path,)) for path in PATHS]
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(120)
    finally:
        done.set()
        watcher.join()
    assert len(sent) == len(PATHS)
    slack = 16 * 1024 * 1024  # what the two sockets' buffers hold once the server stops reading
    assert all(n <= MAX_BODY + slack for n in sent), sent  # cut off: far short of the 200 MiB each
    grew_mib = (peak[0] - before) / 1024
    assert grew_mib < 50, f"RSS grew by {grew_mib:.0f} MiB"
    assert httpx.get(srv.url + "/health").json()["status"] == "ok"
    assert "Traceback" not in srv.log()


def test_a_body_within_the_limit_is_still_read(make_server: Any) -> None:
    srv: Server = make_server()
    padded = json.dumps({"language": "en"}) + " " * (MAX_BODY - 100)
    answer = httpx.post(srv.url + "/manage/save_settings", content=padded.encode(),
                        headers={"content-type": "application/json"}, timeout=60)
    assert answer.status_code == 200, answer.text

    def chunks() -> Any:
        yield b'{"language": "ro"}'
        yield b" " * (2 * 1024 * 1024)

    chunked = httpx.post(srv.url + "/manage/save_settings", content=chunks(),
                         headers={"content-type": "application/json"}, timeout=60)
    assert chunked.status_code == 200, chunked.text
