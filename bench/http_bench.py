"""HTTP benchmarks on the zero-latency Simulated register. Prints numbers; results go to docs/benchmarks.md.

    .venv/bin/python bench/http_bench.py [--receipts 2000] [--seconds 10]

Measures: cold start (process start -> GET / answers), idle RSS, latency of a 10-item print_receipt
(client round trip and the server's own time from the Server-Timing header), and receipts/s over 8 registers
in parallel with a raw-socket keep-alive load generator (so the client costs little CPU).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from server import Server, add_simulated_register


def receipt(device_id: str, n: int) -> dict[str, object]:
    lines = [{"type": "item", "description": f"Articol {i}", "quantity_thousandths": 1000 + i,
              "unit_price_cents": 199 + 10 * i, "vat": "A" if i % 2 else "B"} for i in range(10)]
    return {"device_id": device_id, "operation": "print_receipt",
            "params": {"lines": lines, "payments": [{"type": "cash", "amount_cents": 100_000}]}}


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cold_start(root: Path, runs: int = 5) -> tuple[float, float]:
    times = []
    rss = 0.0
    for i in range(runs):
        srv = Server(root / f"cold{i}")
        t0 = time.perf_counter()
        srv.start()
        times.append(time.perf_counter() - t0)
        time.sleep(1.0)
        assert srv.proc is not None
        rss = rss_mb(srv.proc.pid)
        srv.stop()
    return statistics.median(times), rss


def latency(srv: Server, device_id: str, count: int) -> tuple[list[float], list[float]]:
    client_ms: list[float] = []
    server_ms: list[float] = []
    with httpx.Client(base_url=srv.url) as c:
        for n in range(count):
            t0 = time.perf_counter()
            r = c.post("/devices/operation", json=receipt(device_id, n))
            client_ms.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200, r.text
            server_ms.append(float(r.headers["server-timing"].split("dur=")[1]))
    return client_ms, server_ms


async def throughput(port: int, devices: list[str], seconds: float, per_device: int) -> tuple[int, float]:
    bodies = [json.dumps(receipt(d, 0)).encode() for d in devices]
    done = 0
    stop_at = time.perf_counter() + seconds

    async def conn(body: bytes) -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        request = (b"POST /devices/operation HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                   b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        while time.perf_counter() < stop_at:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            payload = await reader.readexactly(length)
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(payload.decode())
            done += 1
        writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(conn(bodies[i % len(bodies)]) for i in range(len(bodies) * per_device)))
    return done, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--receipts", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--per-device", type=int, default=4, help="concurrent connections per register")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        start_s, idle_rss = cold_start(root)
        print(f"cold start (spawn -> GET / answers), median of 5: {start_s * 1000:.0f} ms")
        print(f"idle RSS after start: {idle_rss:.1f} MB")

        data = root / "bench"
        devices = [add_simulated_register(data, f"Bench {i}") for i in range(8)]
        srv = Server(data, demo=False).start()
        try:
            latency(srv, devices[0], 200)  # warm-up
            client_ms, server_ms = latency(srv, devices[0], args.receipts)
            print(f"10-item print_receipt, sequential, n={args.receipts}:")
            print(f"  server time  p50 {pct(server_ms, 50):.2f} ms  p99 {pct(server_ms, 99):.2f} ms")
            print(f"  round trip   p50 {pct(client_ms, 50):.2f} ms  p99 {pct(client_ms, 99):.2f} ms")
            count, elapsed = asyncio.run(throughput(srv.port, devices, args.seconds, args.per_device))
            print(f"throughput, 8 registers x {args.per_device} connections, {elapsed:.1f} s: "
                  f"{count / elapsed:.0f} receipts/s ({count} receipts)")
            assert srv.proc is not None
            print(f"RSS after load: {rss_mb(srv.proc.pid):.1f} MB")
        finally:
            srv.stop()


if __name__ == "__main__":
    main()
