"""A/B of the receipt path between source trees: server CPU per sequential 10-item receipt, pinned.

    git worktree add /tmp/before <rev>
    .venv/bin/python bench/receipt_ab.py --receipts 2000 --rounds 3 /tmp/before/src src
    .venv/bin/python bench/receipt_ab.py --register datecs --receipts 300 --rounds 3 /tmp/before/src src

Each tree's server runs in turn (``PYTHONPATH`` = that tree's ``src``, its own data dir, one Simulated register, or
with ``--register datecs`` one Datecs FP-700X on ``fiscald emulate datecs`` over TCP, the emulator from the same
tree), the trees alternating round by round so that drift in the machine's load falls on all of them. On Linux the
server's threads are pinned to the last CPU and this client (and the emulator) to the first, which takes most of the
scheduler's noise out: identical trees then agree within about 3 %, where bench/receipt_ratio.py's unpinned runs
move by 10-20 %. Per round it prints p50/p99 (ms, one keep-alive connection) and the server's CPU per receipt
(/proc: user + system), split into the event-loop thread and the others (the store's writer, above all); then the
median of each tree's rounds. Use it before and after a change to the receipt path; results go to
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))
from datecs_bench import receipt as datecs_receipt  # noqa: E402
from datecs_env import datecs_rig  # noqa: E402
from http_bench import pct, receipt  # noqa: E402
from proc_cpu import thread_cpu  # noqa: E402
from receipt_ratio import pin, round_trips  # noqa: E402

from server import Server, add_simulated_register  # noqa: E402


def measure(src: Path, register: str, receipts: int) -> tuple[float, float, float, float]:
    """p50 and p99 ms; the server's CPU ms per receipt on its event-loop thread and on its other threads."""
    os.environ["PYTHONPATH"] = str(src)
    with tempfile.TemporaryDirectory() as tmp:
        emulator = None
        if register == "datecs":
            emulator, device, srv = datecs_rig(Path(tmp))
            body = json.dumps(datecs_receipt(device)).encode()
        else:
            data = Path(tmp) / "data"
            device = add_simulated_register(data, "A/B")
            srv = Server(data, demo=False).start()
            body = json.dumps(receipt(device, 0)).encode()
        try:
            assert srv.proc is not None
            pid = srv.proc.pid
            pin(pid, emulator.proc.pid if emulator is not None and emulator.proc is not None else None)
            asyncio.run(round_trips(srv.port, body, min(receipts, 300)))  # warm-up
            before = thread_cpu(pid)
            times = asyncio.run(round_trips(srv.port, body, receipts))
            after = thread_cpu(pid)
        finally:
            srv.stop()
            if emulator is not None:
                emulator.stop()
    loop = (after.get(pid, 0.0) - before.get(pid, 0.0)) * 1000 / receipts
    others = sum(cpu - before.get(tid, 0.0) for tid, cpu in after.items() if tid != pid) * 1000 / receipts
    return pct(times, 50), pct(times, 99), loop, others


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--receipts", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--register", choices=["simulated", "datecs"], default="simulated")
    parser.add_argument("trees", nargs="+", type=Path, help="the src directories to compare, e.g. /tmp/before/src src")
    args = parser.parse_args()
    rows: dict[Path, list[tuple[float, float, float, float]]] = {tree: [] for tree in args.trees}
    print(f"{'tree':<30} {'p50 ms':>7} {'p99 ms':>7} {'CPU ms':>7} {'loop':>6} {'others':>7}")
    for _ in range(args.rounds):
        for tree in args.trees:
            p50, p99, loop, others = measure(tree.resolve(), args.register, args.receipts)
            rows[tree].append((p50, p99, loop, others))
            print(f"{tree!s:<30} {p50:7.3f} {p99:7.3f} {loop + others:7.3f} {loop:6.3f} {others:7.3f}  "
                  f"(load {os.getloadavg()[0]:.1f})", flush=True)
    for tree, measured in rows.items():
        p50 = statistics.median(r[0] for r in measured)
        p99 = statistics.median(r[1] for r in measured)
        cpu = statistics.median(r[2] + r[3] for r in measured)
        print(f"median {tree!s:<23} p50 {p50:.3f} ms  p99 {p99:.3f} ms  CPU {cpu:.3f} ms/receipt")


if __name__ == "__main__":
    main()
