"""fiscald's receipt path under load, thread by thread: where the throughput of bench/receipt_ratio.py stops.

    .venv/bin/python bench/receipt_load.py [--devices 8] [--per-device 2] [--seconds 8] [--rounds 2]
                                           [--pin-server] [SRC ...]

One server per round (``PYTHONPATH`` = each given source tree's ``src`` in turn, alternating round by round; none:
the installed fiscald) with ``--devices`` Simulated registers, loaded by receipt_ratio's raw keep-alive client
(``--per-device`` connections a register) for ``--seconds``. Prints the receipts a second, then each busy thread
of the server (its share of one CPU over the load, and its CPU µs per receipt, from /proc; the busiest thread after the
event loop's is the store's writer) and this client's share.
The sum of the server's shares against the machine's CPUs says whether the server is bound by CPU or by waiting;
``--pin-server`` puts all of the server's threads on one CPU (and this client on another), which shows what the
hand-offs between its threads cost when they cross CPUs. Results: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))
from proc_cpu import thread_cpu  # noqa: E402
from receipt_ratio import pin, sequential, throughput  # noqa: E402

from server import Server, add_simulated_register  # noqa: E402


def run(src: str | None, devices: int, per_device: int, seconds: float, pin_server: bool) -> None:
    if src is not None:
        os.environ["PYTHONPATH"] = src
    affinity = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        ids = [add_simulated_register(data, f"Load {i}") for i in range(devices)]
        srv = Server(data, demo=False).start()
        try:
            assert srv.proc is not None
            pid = srv.proc.pid
            asyncio.run(sequential(srv.port, ids[0], 300))  # warm-up
            if pin_server:
                pin(pid, None)
            before, client_before = thread_cpu(pid), time.process_time()
            started = time.perf_counter()
            rate = asyncio.run(throughput(srv.port, ids, seconds, per_device))
            wall = time.perf_counter() - started
            after, client_after = thread_cpu(pid), time.process_time()
        finally:
            srv.stop()
            if affinity is not None:
                os.sched_setaffinity(0, affinity)
    receipts = rate * wall
    client = client_after - client_before
    print(f"{src or 'installed'}: {rate:.0f} receipts/s ({devices} devices x {per_device} connections, "
          f"{'server on one CPU' if pin_server else 'unpinned'}), load average {os.getloadavg()[0]:.1f}")
    used = sorted(((after[tid] - before.get(tid, 0.0), tid) for tid in after), reverse=True)
    total = 0.0
    for cpu, tid in used:
        if cpu / wall < 0.02:
            continue
        total += cpu
        name = "event-loop thread" if tid == pid else f"thread {tid}"
        print(f"  {name:22s} {cpu / wall * 100:5.1f} % of a CPU  {cpu * 1e6 / receipts:6.0f} µs/receipt")
    print(f"  server in all          {total / wall * 100:5.1f} % of a CPU (the machine has {os.cpu_count()})")
    print(f"  this client            {client / wall * 100:5.1f} % of a CPU")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=8)
    parser.add_argument("--per-device", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--pin-server", action="store_true")
    parser.add_argument("src", nargs="*", help="source trees' src folders to compare (default: the installed one)")
    args = parser.parse_args()
    trees: list[str | None] = list(args.src) or [None]
    for _ in range(args.rounds):
        for src in trees:
            run(src, args.devices, args.per_device, args.seconds, args.pin_server)


if __name__ == "__main__":
    main()
