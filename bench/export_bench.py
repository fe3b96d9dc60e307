"""Journal export benchmark: a journal of ``--entries`` receipts streamed as JSON and as CSV from a real server.
Prints the sizes, times and how much the server's peak memory grew while streaming (it should stay flat: the
export never loads the journal).

    .venv/bin/python bench/export_bench.py [--entries 100000]
"""

from __future__ import annotations

import argparse
import csv
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from fiscald.app import open_database
from fiscald.store import journal
from server import Server, add_simulated_register


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM (Linux only)")


def fill(data: Path, device_id: str, entries: int) -> None:
    """``entries`` receipt-sized journal entries, hash-chained as journal.append writes them, in one executemany."""
    text = "".join(f"{f'LINIE {i:02d}':<42}\n" for i in range(16))
    receipt = {"payments": {"cash": 150}, "result": {"vat_totals": {"A": {"rate_basis_points": 2100,
                                                                          "base_cents": 124, "vat_cents": 26}}}}

    def write(conn: sqlite3.Connection) -> None:
        rows, prev = [], journal.GENESIS
        payload = json.dumps(receipt, separators=(",", ":"))
        for n in range(1, entries + 1):
            when = f"2026-11-27T10:{n % 60:02d}:00+02:00"
            digest = journal.entry_hash(prev, n, "receipt", n, 1, when, 150, text, receipt)
            rows.append((device_id, n, "receipt", n, 1, when, 150, text, payload, prev, digest))
            prev = digest
        conn.executemany("INSERT INTO journal (device_id, seq, kind, number, fiscal_day, datetime, total_cents, "
                         "text, data, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

    db = open_database(data)
    try:
        db.write_sync(write)
    finally:
        db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "big"
        dev = add_simulated_register(data, "Big")
        fill(data, dev, args.entries)
        srv = Server(data, demo=False).start()
        try:
            assert srv.proc is not None
            baseline = peak_rss_kib(srv.proc.pid)
            started = time.perf_counter()
            size = 0
            with httpx.stream("GET", f"{srv.url}/devices/{dev}/journal", timeout=600) as r:
                r.raise_for_status()
                for chunk in r.iter_bytes():
                    size += len(chunk)
            json_s = time.perf_counter() - started
            started = time.perf_counter()
            count = total = 0
            with httpx.stream("GET", f"{srv.url}/devices/{dev}/journal", params={"format": "csv"}, timeout=600) as r:
                for row in csv.DictReader(r.iter_lines()):
                    count += 1
                    total += int(row["total_cents"])
            csv_s = time.perf_counter() - started
            growth_mib = (peak_rss_kib(srv.proc.pid) - baseline) / 1024
        finally:
            srv.stop()
    if (count, total) != (args.entries, 150 * args.entries):
        raise SystemExit(f"CSV export incomplete: {count} rows, {total} cents")
    print(f"{args.entries} entries: JSON {size / 2**20:.0f} MiB in {json_s:.1f} s, CSV in {csv_s:.1f} s, "
          f"server peak RSS +{growth_mib:.1f} MiB while streaming")


if __name__ == "__main__":
    main()
