"""fiscald's own CPU time per 10-item Datecs receipt, against `fiscald emulate datecs` on TCP (issue 23).

    .venv/bin/python bench/datecs_cpu.py [--receipts 40] [--protocol x|old|both] [--runs 1] [--floor]

One server with one Datecs register on the wire-level emulator over TCP (no pty, no pacing: the emulator
answers at once), a keep-alive client sending a 10-item print_receipt after the one before was answered. The
number is the server process's CPU time (user + system, /proc) over the receipts divided by their count: the
client's and the emulator's CPU are not in it, and the machine's load inflates it least. Target: <= 2.5 ms.
Results go to docs/benchmarks.md.

``--floor`` also runs bench/datecs_wire_floor.py in each run: a minimal client sending the very frames fiscald
sent for one receipt (recorded once, through a relay between fiscald and the emulator) to a fresh emulator. Its
CPU per receipt is what the 14 round trips cost on this machine whoever sends them; fiscald's CPU minus it is
what fiscald adds (HTTP, validation, the store, the driver's Python). It also runs the same frames through
fiscald's own link layer alone (``--client link``), and a Simulated receipt through a server of its own (the same
request: HTTP, validation, totals, the operation's record and the journal, no frames): the link layer plus the
Simulated receipt is what a Datecs receipt costs before any of the Datecs driver's own work.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))
from datecs_bench import receipt  # noqa: E402
from datecs_env import Emulator, add_datecs_register, datecs_rig, wait_connected  # noqa: E402
from proc_cpu import cpu_times  # noqa: E402

from fiscald.drivers.isl import framing  # noqa: E402
from fiscald.models.config import ConnectionDetails  # noqa: E402
from server import Server, add_simulated_register, free_port  # noqa: E402

WARM_UP = 5


def measure(srv: Server, device: str, receipts: int) -> tuple[float, float, float]:
    """The server's user and system CPU ms per 10-item receipt on ``device`` over ``receipts`` (after WARM_UP
    ones), and the median round trip in ms."""
    assert srv.proc is not None
    body = receipt(device)
    trips: list[float] = []
    with httpx.Client(base_url=srv.url, timeout=60) as client:
        for i in range(WARM_UP + receipts):
            if i == WARM_UP:
                user0, sys0 = cpu_times(srv.proc.pid)
            started = time.perf_counter()
            answer = client.post("/devices/operation", json=body)
            trips.append(time.perf_counter() - started)
            if answer.status_code != 200:
                raise RuntimeError(answer.text)
    user1, sys1 = cpu_times(srv.proc.pid)
    trips = sorted(trips[WARM_UP:])
    return (user1 - user0) * 1000 / receipts, (sys1 - sys0) * 1000 / receipts, trips[len(trips) // 2] * 1000


def run(protocol: str, receipts: int) -> tuple[float, float, float]:
    """fiscald's user and system CPU ms per receipt, and the median round trip in ms."""
    with tempfile.TemporaryDirectory() as tmp:
        emu, device, srv = datecs_rig(Path(tmp), protocol)
        try:
            return measure(srv, device, receipts)
        finally:
            srv.stop()
            emu.stop()


class Relay:
    """A TCP relay between fiscald and the emulator, in a thread of its own, keeping what fiscald sent."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.port = free_port()
        self.sent = bytearray()
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()
        threading.Thread(target=self._run, args=(ready,), daemon=True).start()
        ready.wait(10)

    def _run(self, ready: threading.Event) -> None:
        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, keep: bool) -> None:
            while data := await reader.read(4096):
                if keep:
                    self.sent += data
                writer.write(data)
                await writer.drain()
            writer.close()

        async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            device_reader, device_writer = await asyncio.open_connection("127.0.0.1", self.target)
            await asyncio.gather(pipe(reader, device_writer, True), pipe(device_reader, writer, False),
                                 return_exceptions=True)

        async def serve() -> None:
            await asyncio.start_server(connection, "127.0.0.1", self.port)
            ready.set()
            await asyncio.Event().wait()

        self._loop.run_until_complete(serve())


def record_frames(base: Path, protocol: str) -> list[tuple[int, bytes]]:
    """One receipt's requests as fiscald sends them (through a :class:`Relay`)."""
    emu = Emulator(base / "emu", protocol, port=free_port()).start()
    relay = Relay(emu.port)
    device = add_datecs_register(base / "srv", emu, connection=ConnectionDetails(
        type="Network", details={"ip_address": "127.0.0.1", "port": relay.port}))
    srv = Server(base / "srv", demo=False).start()
    try:
        wait_connected(srv)
        with httpx.Client(base_url=srv.url, timeout=60) as client:
            before = len(relay.sent)
            answer = client.post("/devices/operation", json=receipt(device))
            if answer.status_code != 200:
                raise RuntimeError(answer.text)
            sent = bytes(relay.sent[before:])
    finally:
        srv.stop()
        emu.stop()
    events = framing.Decoder(framing.VARIANTS[protocol], replies=False).feed(sent)
    return [(e.cmd, e.data) for e in events if isinstance(e, framing.Frame)]


def floor(base: Path, protocol: str, frames: list[tuple[int, bytes]], receipts: int, client: str = "minimal") -> float:
    """bench/datecs_wire_floor.py's CPU ms per receipt against a fresh emulator (``client``: its --client)."""
    emu = Emulator(base / "floor-emu", protocol, port=free_port()).start()
    try:
        path = base / "frames.json"
        path.write_text(json.dumps([[cmd, data.hex()] for cmd, data in frames]), encoding="utf-8")
        run = subprocess.run([sys.executable, str(HERE / "datecs_wire_floor.py"), "--port", str(emu.port),
                              "--frames", str(path), "--receipts", str(receipts), "--warm-up", str(WARM_UP),
                              "--client", client],
                             capture_output=True, text=True, encoding="utf-8", timeout=600, check=True)
        return float(run.stdout)
    finally:
        emu.stop()


def simulated(receipts: int) -> float:
    """fiscald's CPU ms per receipt for the same request on a Simulated register (no frames). At least 300
    receipts: /proc counts CPU in 10 ms ticks."""
    with tempfile.TemporaryDirectory() as tmp:
        device = add_simulated_register(Path(tmp), "Bench")
        srv = Server(Path(tmp), demo=False).start()
        try:
            user, system, _ = measure(srv, device, max(receipts, 300))
            return user + system
        finally:
            srv.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--receipts", type=int, default=40)
    parser.add_argument("--protocol", choices=["x", "old", "both"], default="x")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--floor", action="store_true", help="also the wire floor (X protocol only)")
    args = parser.parse_args()
    frames: list[tuple[int, bytes]] = []
    if args.floor:
        with tempfile.TemporaryDirectory() as tmp:
            frames = record_frames(Path(tmp), "x")
        print(f"recorded one receipt: {len(frames)} frames ({', '.join(f'{cmd:#x}' for cmd, _ in frames)})")
    for _ in range(args.runs):
        for protocol in (["x", "old"] if args.protocol == "both" else [args.protocol]):
            user, system, trip = run(protocol, args.receipts)
            print(f"{protocol:>3} protocol, TCP, 10-item receipt x {args.receipts}: fiscald CPU "
                  f"{user + system:.2f} ms/receipt (user {user:.2f}, system {system:.2f}; target <= 2.5), "
                  f"round trip p50 {trip:.1f} ms, load average {os.getloadavg()[0]:.1f}", flush=True)
            if frames and protocol == "x":
                with tempfile.TemporaryDirectory() as tmp:
                    wire = floor(Path(tmp), protocol, frames, args.receipts)
                    link = floor(Path(tmp), protocol, frames, args.receipts, "link")
                sim = simulated(args.receipts)
                print(f"    wire floor (the same {len(frames)} frames from a minimal client): {wire:.2f} ms/receipt; "
                      f"fiscald adds {user + system - wire:.2f} ms", flush=True)
                print(f"    the same frames through fiscald's link layer alone: {link:.2f} ms; a Simulated receipt: "
                      f"{sim:.2f} ms; together {link + sim:.2f} ms, the Datecs driver's own part "
                      f"{user + system - link - sim:.2f} ms", flush=True)


if __name__ == "__main__":
    main()
