"""fiscald's receipt path against the floor (bench/floor.py), in one run, as ratios. Results: docs/benchmarks.md.

    .venv/bin/python bench/receipt_ratio.py [--receipts 1000] [--seconds 8] [--rounds 2] [--floor-commits group|alone]
                                            [--pin]

Both servers run at once on free loopback ports, each with its own data dir; fiscald has 8 Simulated
registers (zero latency). One raw keep-alive HTTP/1.1 client (so the client costs little and the same for both)
measures a 10-item print_receipt:
- sequential latency (p50, p99) over one connection;
- throughput with 8 devices x 2 connections;
- each server's own CPU time (user + system, from /proc) per receipt over the sequential run.
Rounds alternate fiscald and the floor so that drift in the machine's load falls on both. The goals of issue 23
are p50 <= 1.5x, p99 <= 2x and throughput >= 0.9x the floor.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))
from http_bench import pct, receipt  # noqa: E402
from proc_cpu import cpu_seconds  # noqa: E402

from server import Server, add_simulated_register, free_port  # noqa: E402


class RawClient:
    """One keep-alive connection that sends a prepared request and reads the whole answer."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> RawClient:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    @staticmethod
    def request(body: bytes) -> bytes:
        return (b"POST /devices/operation HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)

    async def send(self, request: bytes) -> None:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        payload = await self.reader.readexactly(length)
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(payload.decode())

    def close(self) -> None:
        self.writer.close()


async def sequential(port: int, device_id: str, count: int) -> list[float]:
    return await round_trips(port, json.dumps(receipt(device_id, 0)).encode(), count)


async def round_trips(port: int, body: bytes, count: int) -> list[float]:
    """Round trips in ms of ``count`` requests with ``body``, one after another on one keep-alive connection."""
    client = await RawClient.open(port)
    request = RawClient.request(body)
    times: list[float] = []
    try:
        for _ in range(count):
            t0 = time.perf_counter()
            await client.send(request)
            times.append((time.perf_counter() - t0) * 1000)
    finally:
        client.close()
    return times


async def throughput(port: int, devices: list[str], seconds: float, per_device: int) -> float:
    done = 0
    stop_at = time.perf_counter() + seconds

    async def run(device_id: str) -> None:
        nonlocal done
        client = await RawClient.open(port)
        request = RawClient.request(json.dumps(receipt(device_id, 0)).encode())
        try:
            while time.perf_counter() < stop_at:
                await client.send(request)
                done += 1
        finally:
            client.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(run(d) for d in devices for _ in range(per_device)))
    return done / (time.perf_counter() - t0)


def start_floor(data_dir: Path, commits: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(HERE / "floor.py"), "--port", str(port), "--data-dir",
                             str(data_dir), "--commits", commits])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/", timeout=1).status_code == 200:
                return proc, port
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the floor did not start")


def pin(pid: int, beside: int | None) -> None:
    """The server's threads on the last CPU, this process (and ``beside``'s threads) on the first (Linux with two
    CPUs or more)."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(cpus) < 2:
        return
    os.sched_setaffinity(0, {cpus[0]})
    for which, cpu in ((pid, cpus[-1]), (beside, cpus[0])):
        if which is not None:
            for task in Path(f"/proc/{which}/task").iterdir():
                os.sched_setaffinity(int(task.name), {cpu})


def measure(port: int, pid: int, devices: list[str], receipts: int, seconds: float,
            per_device: int) -> tuple[float, float, float, float]:
    """p50 and p99 ms, server CPU ms per receipt (both over the sequential run), then receipts/s under load."""
    asyncio.run(sequential(port, devices[0], 100))  # warm-up
    cpu0 = cpu_seconds(pid)
    times = asyncio.run(sequential(port, devices[0], receipts))
    cpu = (cpu_seconds(pid) - cpu0) * 1000 / receipts
    rate = asyncio.run(throughput(port, devices, seconds, per_device))
    return pct(times, 50), pct(times, 99), cpu, rate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--receipts", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--per-device", type=int, default=2)
    parser.add_argument("--floor-commits", choices=["group", "alone"], default="group",
                        help="the floor commits as fiscald does (group) or each alone (bench/floor.py)")
    parser.add_argument("--pin", action="store_true",
                        help="each server on the last CPU, the client on the first (Linux): steadier rounds")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        devices = [add_simulated_register(root / "fiscald", f"Bench {i}") for i in range(8)]
        fiscald = Server(root / "fiscald", demo=False).start()
        floor, floor_port = start_floor(root / "floor", args.floor_commits)
        try:
            assert fiscald.proc is not None
            if args.pin:
                pin(fiscald.proc.pid, None)
                pin(floor.pid, None)
            print(f"{'round':>5} {'server':>8} {'p50 ms':>8} {'p99 ms':>8} {'CPU ms':>7} {'receipts/s':>11}")
            rows: list[tuple[float, float, float, float]] = []
            for n in range(args.rounds):
                f50, f99, fcpu, frate = measure(fiscald.port, fiscald.proc.pid, devices, args.receipts, args.seconds,
                                                args.per_device)
                b50, b99, bcpu, brate = measure(floor_port, floor.pid, devices, args.receipts, args.seconds,
                                                args.per_device)
                print(f"{n + 1:>5} {'fiscald':>8} {f50:8.2f} {f99:8.2f} {fcpu:7.2f} {frate:11.0f}")
                print(f"{n + 1:>5} {'floor':>8} {b50:8.2f} {b99:8.2f} {bcpu:7.2f} {brate:11.0f}")
                rows.append((f50 / b50, f99 / b99, frate / brate, fcpu / bcpu))
            for n, (r50, r99, rrate, rcpu) in enumerate(rows, 1):
                print(f"round {n}: p50 x{r50:.2f} (goal <= 1.5)  p99 x{r99:.2f} (goal <= 2)  "
                      f"throughput x{rrate:.2f} (goal >= 0.9)  CPU/receipt x{rcpu:.2f}")
        finally:
            floor.terminate()
            floor.wait(10)
            fiscald.stop()


if __name__ == "__main__":
    main()
