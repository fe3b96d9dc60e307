"""A 10-item receipt through a Datecs register at 115200 baud: the total time against the pure wire time.

    .venv/bin/python bench/datecs_bench.py [--receipts 30] [--protocol x|old|both] [--baud 115200]

The register is the wire-level emulator on a pseudo-terminal, pacing every byte as a serial line would (10 bits
a byte); fiscald reaches it through its serial transport (pyserial). For each receipt (HTTP request -> answer):

- total: the client's round trip;
- wire: the bytes both ways x 10 / baud (theory), and the time the emulator actually spent pacing them;
- device: the emulator's time executing the commands (its own SQLite commit at the close);
- fiscald: total - line time - device time: everything fiscald adds (HTTP, the operation log's fsyncs, the
  driver), plus every scheduling delay of both processes. The emulator's own frame decoding lands here too, so it
  is an upper bound; on a loaded machine it is mostly waiting for a CPU;
- fiscald CPU: the server process's CPU time per receipt (/proc), which load does not inflate.

Target: fiscald < 5 % of the wire time. Results go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from datecs_env import datecs_rig
from proc_cpu import cpu_seconds


def receipt(device_id: str) -> dict[str, Any]:
    lines = [{"type": "item", "description": f"Articol {i}", "quantity_thousandths": 1000 + i,
              "unit_price_cents": 199 + 10 * i, "vat": "A" if i % 2 else "B"} for i in range(10)]
    return {"device_id": device_id, "operation": "print_receipt",
            "params": {"lines": lines, "payments": [{"type": "cash", "amount_cents": 100_000}]}}


def run(protocol: str, receipts: int, baud: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        emu, device, srv = datecs_rig(Path(tmp), protocol, pty=True, baud=baud)
        try:
            rows: list[dict[str, float]] = []
            assert srv.proc is not None
            with httpx.Client(base_url=srv.url, timeout=60) as client:
                for i in range(receipts + 3):
                    if i == 3:
                        cpu_before = cpu_seconds(srv.proc.pid)
                    before = emu.simulate()["stats"]
                    started = time.perf_counter()
                    r = client.post("/devices/operation", json=receipt(device))
                    total = time.perf_counter() - started
                    assert r.status_code == 200, r.text
                    after = emu.simulate()["stats"]
                    if i < 3:
                        continue  # warm-up
                    count = after["bytes_in"] + after["bytes_out"] - before["bytes_in"] - before["bytes_out"]
                    line = after["line_s"] - before["line_s"]
                    device_s = after["device_s"] - before["device_s"]
                    rows.append({"total": total, "bytes": count, "wire": count * 10 / baud, "line": line,
                                 "device": device_s, "fiscald": total - line - device_s})
            cpu = (cpu_seconds(srv.proc.pid) - cpu_before) / receipts
        finally:
            srv.stop()
            emu.stop()
    med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    med["fiscald_p90"] = sorted(r["fiscald"] for r in rows)[int(0.9 * (len(rows) - 1))]
    med["cpu"] = cpu
    return med


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--receipts", type=int, default=30)
    parser.add_argument("--protocol", choices=["x", "old", "both"], default="both")
    parser.add_argument("--baud", type=int, default=115200)
    args = parser.parse_args()
    for protocol in (["x", "old"] if args.protocol == "both" else [args.protocol]):
        m = run(protocol, args.receipts, args.baud)
        print(f"{protocol:>3} protocol, {args.baud} baud, 10-item receipt (median of {args.receipts}): "
              f"{m['bytes']:.0f} bytes, wire {m['wire'] * 1000:.1f} ms (paced {m['line'] * 1000:.1f} ms), "
              f"device {m['device'] * 1000:.1f} ms, total {m['total'] * 1000:.1f} ms, "
              f"fiscald {m['fiscald'] * 1000:.2f} ms = {100 * m['fiscald'] / m['wire']:.1f} % of the wire time "
              f"(p90 {m['fiscald_p90'] * 1000:.2f} ms); fiscald CPU {m['cpu'] * 1000:.2f} ms = "
              f"{100 * m['cpu'] / m['wire']:.1f} %")


if __name__ == "__main__":
    main()
