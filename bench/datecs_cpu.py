"""fiscald's own CPU time per 10-item Datecs receipt, against `fiscald emulate datecs` on TCP (issue 23).

    .venv/bin/python bench/datecs_cpu.py [--receipts 40] [--protocol x|old|both] [--runs 1]

One server with one Datecs register on the wire-level emulator over TCP (no pty, no pacing: the emulator
answers at once), a keep-alive client sending a 10-item print_receipt after the one before was answered. The
number is the server process's CPU time (user + system, /proc) over the receipts divided by their count: the
client's and the emulator's CPU are not in it, and the machine's load inflates it least. Target: <= 2.5 ms.
Results go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))
from datecs_bench import receipt  # noqa: E402
from datecs_env import datecs_rig  # noqa: E402
from proc_cpu import cpu_times  # noqa: E402

WARM_UP = 5


def run(protocol: str, receipts: int) -> tuple[float, float, float]:
    """fiscald's user and system CPU ms per receipt, and the median round trip in ms."""
    with tempfile.TemporaryDirectory() as tmp:
        emu, device, srv = datecs_rig(Path(tmp), protocol)
        try:
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
        finally:
            srv.stop()
            emu.stop()
    trips = sorted(trips[WARM_UP:])
    return (user1 - user0) * 1000 / receipts, (sys1 - sys0) * 1000 / receipts, trips[len(trips) // 2] * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--receipts", type=int, default=40)
    parser.add_argument("--protocol", choices=["x", "old", "both"], default="x")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    for _ in range(args.runs):
        for protocol in (["x", "old"] if args.protocol == "both" else [args.protocol]):
            user, system, trip = run(protocol, args.receipts)
            print(f"{protocol:>3} protocol, TCP, 10-item receipt x {args.receipts}: fiscald CPU "
                  f"{user + system:.2f} ms/receipt (user {user:.2f}, system {system:.2f}; target <= 2.5), "
                  f"round trip p50 {trip:.1f} ms, load average {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
