"""WebSocket API benchmark against a real server process (prints numbers; see docs/websocket.md).

    .venv/bin/python bench/ws_bench.py [--quick]

1. request/reply throughput (ping) on one connection, pipelined, and across 100 connections;
2. 1,000 idle connections: server memory before/after, and every one still answers;
3. fan-out latency: one operation event delivered to 100 subscribers (trigger = an HTTP get_status, whose
   operation_started event is published before the device runs it; the latency includes that HTTP request,
   and each subscriber also receives the operation_completed event right behind it), once with minimal
   raw-socket subscribers (the server's cost) and once with websockets-library subscribers.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import json
import os
import statistics
import struct
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import httpx
from websockets.asyncio.client import ClientConnection, connect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from server import Server


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def pipelined_pings(ws: ClientConnection, count: int, window: int) -> None:
    """Send ``count`` pings keeping ``window`` in flight; checks every reply's id."""
    ids = itertools.count()
    inflight = asyncio.Semaphore(window)
    done = asyncio.Event()
    answered = 0

    async def reader() -> None:
        nonlocal answered
        async for raw in ws:
            message = json.loads(raw)
            assert message["action"] == "ping.result", message
            answered += 1
            inflight.release()
            if answered == count:
                done.set()
                return

    task = asyncio.create_task(reader())
    for _ in range(count):
        await inflight.acquire()
        await ws.send(f'{{"id":"{next(ids)}","action":"ping"}}')
    await done.wait()
    await task


async def throughput(url: str, connections: int, per_connection: int, window: int) -> float:
    sockets = [await connect(url, max_queue=None) for _ in range(connections)]
    try:
        started = time.perf_counter()
        await asyncio.gather(*(pipelined_pings(ws, per_connection, window) for ws in sockets))
        elapsed = time.perf_counter() - started
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets))
    return connections * per_connection / elapsed


async def round_trip_latency(url: str, count: int) -> list[float]:
    async with connect(url) as ws:
        samples = []
        for i in range(count):
            started = time.perf_counter()
            await ws.send(f'{{"id":"{i}","action":"ping"}}')
            await ws.recv()
            samples.append((time.perf_counter() - started) * 1000)
        return samples


async def idle_connections(url: str, pid: int, count: int) -> dict[str, float]:
    before = rss_mib(pid)
    sockets: list[ClientConnection] = []
    for i in range(count):
        ws = await connect(url)
        await ws.send(json.dumps({"id": str(i), "action": "hello", "payload": {"client": "bench"}}))
        await ws.recv()
        sockets.append(ws)
    await asyncio.sleep(1)
    held = rss_mib(pid)

    async def ping(ws: ClientConnection) -> None:
        await ws.send('{"id":"p","action":"ping"}')
        assert json.loads(await ws.recv())["action"] == "ping.result"

    started = time.perf_counter()
    await asyncio.gather(*(ping(ws) for ws in sockets))
    ping_all = time.perf_counter() - started
    await asyncio.gather(*(ws.close() for ws in sockets))
    await asyncio.sleep(1)
    return {"before": before, "held": held, "after_close": rss_mib(pid),
            "kib_per_connection": (held - before) * 1024 / count, "ping_all_s": ping_all}


def masked_text_frame(text: str) -> bytes:
    data = text.encode()
    mask = os.urandom(4)
    size = bytes([0x80 | len(data)]) if len(data) < 126 else bytes([0x80 | 126]) + struct.pack("!H", len(data))
    return b"\x81" + size + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))


class MinimalSubscriber(asyncio.Protocol):
    """A bare WebSocket client: handshake, one subscribe frame, then a timestamp per operation_started event.
    It spends almost no CPU, so on a 2-core machine the numbers are the server's, not the client's parsing."""

    MARK = b'"action":"event.operation_started"'

    def __init__(self, on_event: Callable[[], None]) -> None:
        loop = asyncio.get_running_loop()
        self.on_event = on_event
        self.upgraded: asyncio.Future[None] = loop.create_future()
        self.subscribed: asyncio.Future[None] = loop.create_future()
        self.seen = b""
        self.tail = b""

    def data_received(self, data: bytes) -> None:
        if not self.subscribed.done():
            self.seen += data
            if not self.upgraded.done() and b"\r\n\r\n" in self.seen:
                self.upgraded.set_result(None)
            if b"subscribe.result" in self.seen:
                self.subscribed.set_result(None)
            return
        if self.MARK in self.tail + data:
            self.on_event()
        self.tail = data[-(len(self.MARK) - 1):]


async def minimal_subscriber(port: int, device_id: str, on_event: Callable[[], None]) -> asyncio.BaseTransport:
    created, proto = await asyncio.get_running_loop().create_connection(
        lambda: MinimalSubscriber(on_event), "127.0.0.1", port)
    transport = cast(asyncio.Transport, created)
    key = base64.b64encode(os.urandom(16)).decode()
    transport.write(f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
    await asyncio.wait_for(proto.upgraded, 10)
    transport.write(masked_text_frame(json.dumps({"id": "s", "action": "subscribe", "payload": {
        "events": ["operation"], "device_ids": [device_id]}})))
    await asyncio.wait_for(proto.subscribed, 10)
    return transport


async def fan_out(url: str, http_url: str, device_id: str, subscribers: int, rounds: int,
                  minimal: bool) -> tuple[list[float], list[float]]:
    """Per delivery: trigger -> arrival (ms); per round: first -> last subscriber's arrival (ms)."""
    latencies: list[float] = []
    spreads: list[float] = []
    trigger_at = 0.0
    arrived: asyncio.Queue[None] = asyncio.Queue()

    def on_event() -> None:
        latencies.append((time.perf_counter() - trigger_at) * 1000)
        arrived.put_nowait(None)

    async def listen(ws: ClientConnection) -> None:
        async for raw in ws:
            if '"action":"event.operation_started"' in raw:
                on_event()

    closers: list[Callable[[], Any]] = []
    listeners: list[asyncio.Task[None]] = []
    for _ in range(subscribers):
        if minimal:
            transport = await minimal_subscriber(int(url.rsplit(":", 1)[1].split("/")[0]), device_id, on_event)
            closers.append(transport.close)
        else:
            ws = await connect(url, max_queue=None)
            await ws.send(json.dumps({"id": "s", "action": "subscribe",
                                      "payload": {"events": ["operation"], "device_ids": [device_id]}}))
            await ws.recv()
            listeners.append(asyncio.create_task(listen(ws)))
            closers.append(ws.close)
    body = {"device_id": device_id, "operation": "get_status"}
    async with httpx.AsyncClient(base_url=http_url) as http:
        await http.post("/devices/operation", json=body)  # warm the connection
        for _ in range(subscribers):
            await arrived.get()
        latencies.clear()
        for _ in range(rounds):
            trigger_at = time.perf_counter()
            await http.post("/devices/operation", json=body)
            for _ in range(subscribers):
                await arrived.get()
            spreads.append(max(latencies[-subscribers:]) - min(latencies[-subscribers:]))
            await asyncio.sleep(0.01)
    for task in listeners:
        task.cancel()
    for close in closers:
        result = close()
        if asyncio.iscoroutine(result):
            await result
    return latencies, spreads


async def http_trigger_latency(http_url: str, device_id: str, count: int) -> list[float]:
    samples = []
    async with httpx.AsyncClient(base_url=http_url) as http:
        for _ in range(count):
            started = time.perf_counter()
            await http.post("/devices/operation", json={"device_id": device_id, "operation": "get_status"})
            samples.append((time.perf_counter() - started) * 1000)
    return samples


async def main(quick: bool) -> None:
    scale = 0.2 if quick else 1.0
    with tempfile.TemporaryDirectory() as tmp:
        srv = Server(Path(tmp) / "srv").start()
        assert srv.proc is not None
        pid = srv.proc.pid
        url = f"ws://127.0.0.1:{srv.port}/ws"
        device_id = srv.fiscal_ids()[0]
        try:
            print(f"server pid {pid}, RSS at start {rss_mib(pid):.1f} MiB")
            lat = await round_trip_latency(url, int(2000 * scale))
            print(f"ping round trip, one at a time: p50 {statistics.median(lat):.3f} ms, "
                  f"p99 {pct(lat, 0.99):.3f} ms")
            one = await throughput(url, 1, int(20_000 * scale), 100)
            print(f"1 connection, 100 in flight: {one:,.0f} request/reply pairs/s")
            many = await throughput(url, 100, int(500 * scale), 10)
            print(f"100 connections, 10 in flight each: {many:,.0f} request/reply pairs/s "
                  f"({2 * many:,.0f} messages/s)")
            idle = await idle_connections(url, pid, 1000)
            print(f"1,000 idle connections: RSS {idle['before']:.1f} -> {idle['held']:.1f} MiB "
                  f"({idle['kib_per_connection']:.0f} KiB each), after close {idle['after_close']:.1f} MiB; "
                  f"all 1,000 answered a ping in {idle['ping_all_s'] * 1000:.0f} ms")
            for minimal, label in ((True, "minimal clients"), (False, "websockets-library clients")):
                fan, spread = await fan_out(url, srv.url, device_id, 100, int(300 * scale), minimal)
                print(f"fan-out of one event to 100 subscribers, {label} ({len(fan)} deliveries): trigger -> "
                      f"delivery p50 {pct(fan, 0.5):.2f} ms, p99 {pct(fan, 0.99):.2f} ms, max {max(fan):.2f} ms; "
                      f"first -> last subscriber p50 {pct(spread, 0.5):.2f} ms, p99 {pct(spread, 0.99):.2f} ms")
            trigger = await http_trigger_latency(srv.url, device_id, int(300 * scale))
            print(f"  (the trigger alone, HTTP get_status without subscribers: p50 {pct(trigger, 0.5):.2f} ms, "
                  f"p99 {pct(trigger, 0.99):.2f} ms)")
        finally:
            srv.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer messages (a smoke run)")
    args: Any = parser.parse_args()
    if sys.platform == "win32":  # no uvloop there
        asyncio.run(main(args.quick))
    else:
        import uvloop

        uvloop.run(main(args.quick))
