"""fiscald's receipt path against the floor (bench/floor.py), in one run, as ratios. Results: docs/benchmarks.md.

    .venv/bin/python bench/receipt_ratio.py [--receipts 1000] [--seconds 8] [--rounds 2] [--floor-commits group|alone]
                                            [--slices 10] [--pin]

Both servers run at once on free loopback ports, each with its own data dir; fiscald has 8 Simulated
registers (zero latency). One raw keep-alive HTTP/1.1 client (so the client costs little and the same for both)
measures a 10-item print_receipt:
- sequential latency (p50, p99) over one connection;
- throughput with 8 devices x 2 connections;
- each server's own CPU time (user + system, from /proc) per receipt over the sequential run.
Within a round the two servers take turns in short slices (``--slices`` of each measurement: a block of
sequential receipts, then a share of the load's seconds), and each round's figures pool its slices: this machine's
speed moves 10-25 % within a minute, and a round that measured one server for half a minute and then the other
compared two machine periods as much as two servers. The goals of issue 23 are p50 <= 1.5x, p99 <= 2x and
throughput >= 0.9x the floor.
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
from dataclasses import dataclass, field
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
    try:
        return await timed(client, RawClient.request(body), count)
    finally:
        client.close()


async def timed(client: RawClient, request: bytes, count: int) -> list[float]:
    times: list[float] = []
    for _ in range(count):
        t0 = time.perf_counter()
        await client.send(request)
        times.append((time.perf_counter() - t0) * 1000)
    return times


async def load(clients: list[tuple[RawClient, bytes]], seconds: float) -> tuple[int, float]:
    """Every client sending its request back to back for ``seconds``: (answers, seconds it took)."""
    done = 0
    stop_at = time.perf_counter() + seconds

    async def run(client: RawClient, request: bytes) -> None:
        nonlocal done
        while time.perf_counter() < stop_at:
            await client.send(request)
            done += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(run(client, request) for client, request in clients))
    return done, time.perf_counter() - t0


async def throughput(port: int, devices: list[str], seconds: float, per_device: int) -> float:
    clients = await open_load(port, devices, per_device)
    try:
        done, took = await load(clients, seconds)
    finally:
        for client, _ in clients:
            client.close()
    return done / took


async def open_load(port: int, devices: list[str], per_device: int) -> list[tuple[RawClient, bytes]]:
    return [(await RawClient.open(port), RawClient.request(json.dumps(receipt(d, 0)).encode()))
            for d in devices for _ in range(per_device)]


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


@dataclass
class Tally:
    """One server's pooled slices of a round."""
    times: list[float] = field(default_factory=list)  # sequential round trips, ms
    cpu_s: float = 0.0  # the server's CPU over the sequential blocks
    loaded: int = 0  # answers under load
    loaded_s: float = 0.0  # ... and the seconds they took

    def row(self) -> tuple[float, float, float, float]:
        """p50 and p99 ms, CPU ms per sequential receipt, receipts/s under load."""
        return (pct(self.times, 50), pct(self.times, 99), self.cpu_s * 1000 / len(self.times),
                self.loaded / self.loaded_s)


@dataclass
class Target:
    """A server under test, with its connections for the round (opened once, kept alive between slices)."""
    port: int
    pid: int
    tally: Tally = field(default_factory=Tally)
    one: RawClient | None = None
    many: list[tuple[RawClient, bytes]] = field(default_factory=list)


async def interleaved(targets: list[Target], devices: list[str], receipts: int, seconds: float, per_device: int,
                      slices: int) -> None:
    """One round: ``slices`` turns of each target for the sequential receipts, then for the load, in turn."""
    request = RawClient.request(json.dumps(receipt(devices[0], 0)).encode())
    try:
        for target in targets:  # warm-up, not counted
            target.one = await RawClient.open(target.port)
            await timed(target.one, request, 100)
        for _ in range(slices):
            for target in targets:
                assert target.one is not None
                cpu0 = cpu_seconds(target.pid)
                target.tally.times += await timed(target.one, request, receipts // slices)
                target.tally.cpu_s += cpu_seconds(target.pid) - cpu0
        for target in targets:  # opened now (an idle keep-alive connection is closed after a few seconds) and
            target.many = await open_load(target.port, devices, per_device)  # warmed up: every device's first
            await load(target.many, seconds / slices)  # receipts, not counted
        for _ in range(slices):
            for target in targets:
                done, took = await load(target.many, seconds / slices)
                target.tally.loaded += done
                target.tally.loaded_s += took
    finally:
        for target in targets:
            for client in [target.one, *(c for c, _ in target.many)]:
                if client is not None:
                    client.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--receipts", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--per-device", type=int, default=2)
    parser.add_argument("--floor-commits", choices=["group", "alone"], default="group",
                        help="the floor commits as fiscald does (group) or each alone (bench/floor.py)")
    parser.add_argument("--slices", type=int, default=10,
                        help="turns each server takes per measurement and round (1: one block each, as before)")
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
                ours, base = Target(fiscald.port, fiscald.proc.pid), Target(floor_port, floor.pid)
                # who goes first alternates by round (the first slice of a round runs on a calmer machine)
                order = [ours, base] if n % 2 == 0 else [base, ours]
                asyncio.run(interleaved(order, devices, args.receipts, args.seconds, args.per_device, args.slices))
                f50, f99, fcpu, frate = ours.tally.row()
                b50, b99, bcpu, brate = base.tally.row()
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
