"""Central shipping benchmarks on a throwaway PostgreSQL (tests/pg.py). Prints numbers; results go to
docs/benchmarks.md.

    .venv/bin/python bench/central_bench.py [--entries 20000] [--receipts 150] [--rounds 12] [--pin]

Measures: (1) entries shipped per second when a backlog drains (shipper alone, in process); (2) the latency of a
10-item print_receipt on a real server with shipping off, with shipping on (each receipt shipped within half a
second), and while a large backlog drains to a fresh database. The modes alternate on the same server in short
segments (the central_url setting applies live), and each round compares its modes with its own "off", so drift
on a busy machine hits them alike.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from http_bench import latency, pct
from proc_cpu import cpu_seconds

from central_check import fill
from fiscald.central.schema import migrate
from fiscald.central.shipper import Shipper
from fiscald.config import Settings
from fiscald.store import Database
from pg import PgCluster, binaries
from server import Server, add_simulated_register


def fresh(pg: PgCluster, name: str) -> str:
    import psycopg

    url = pg.create_database(name)
    with psycopg.connect(url, autocommit=True) as conn:
        migrate(conn)
    return url


def drain_rate(pg: PgCluster, root: Path, entries: int) -> tuple[float, float]:
    """Entries (each with its operation outcome) per second through one shipper, and the batch count."""
    db = Database(root / "drain.db")
    try:
        fill(db, [str(uuid.uuid4()) for _ in range(4)], entries // 4)
        shipper = Shipper(db, Settings(central_url=fresh(pg, "drain"), store_id="bench"), poll_s=0.05)
        t0 = time.perf_counter()
        shipper.start()
        while shipper.status.shipped["journal"] < entries:
            time.sleep(0.01)
        elapsed = time.perf_counter() - t0
        shipper.stop()
    finally:
        db.close()
    return entries / elapsed, elapsed


def set_central(client: httpx.Client, url: str | None) -> None:
    answer = client.post("/manage/save_settings", json={"central_url": url, "store_id": "bench-store"})
    assert answer.status_code == 200, answer.text


def wait_state(client: httpx.Client, states: set[str]) -> dict[str, object]:
    while True:
        central: dict[str, object] = client.get("/health").json()["central"]
        if central["state"] in states:
            return central
        time.sleep(0.05)


def measure(srv: Server, device_id: str, count: int) -> tuple[list[float], list[float], float]:
    assert srv.proc is not None
    before = cpu_seconds(srv.proc.pid)
    client_ms, server_ms = latency(srv, device_id, count)
    return client_ms, server_ms, cpu_seconds(srv.proc.pid) - before


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--receipts", type=int, default=150, help="sequential receipts per measurement")
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--pin", action="store_true",
                        help="fiscald on CPU 0; PostgreSQL and the load generator on CPU 1 (like a remote database)")
    args = parser.parse_args()
    bin_dir = binaries()
    if bin_dir is None:
        sys.exit("PostgreSQL is not installed (apt-get install postgresql)")
    if args.pin:
        os.sched_setaffinity(0, {1})
    pg = PgCluster(bin_dir, cpus="1" if args.pin else None)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            rate, elapsed = drain_rate(pg, root, args.entries)
            print(f"drain: {args.entries} journal entries + {args.entries} outcomes in {elapsed:.2f} s = "
                  f"{rate:.0f} entries/s")

            data = root / "server"
            devices = [add_simulated_register(data, f"Bench {i}") for i in range(4)]
            srv = Server(data, demo=False).start()
            if args.pin:
                assert srv.proc is not None
                subprocess.run(["taskset", "-a", "-p", "-c", "0", str(srv.proc.pid)], check=True,
                               stdout=subprocess.DEVNULL)
            modes: dict[str, list[float]] = {"off": [], "on": [], "draining": []}
            round_trip: dict[str, list[float]] = {"off": [], "on": [], "draining": []}
            cpu: dict[str, float] = {"off": 0.0, "on": 0.0, "draining": 0.0}
            ratios: dict[str, list[float]] = {"on": [], "draining": []}  # per round, against that round's "off"
            try:
                with httpx.Client(base_url=srv.url, timeout=30) as client:
                    latency(srv, devices[0], 300)  # warm-up
                    steady = fresh(pg, "steady")
                    for n in range(args.rounds):
                        p50s: dict[str, float] = {}
                        order = list(modes)[n % 3:] + list(modes)[:n % 3]  # rotated: no mode always runs first
                        for mode in order:
                            if mode == "off":
                                set_central(client, None)
                                wait_state(client, {"disabled"})
                            elif mode == "on":
                                set_central(client, steady)
                                wait_state(client, {"idle"})
                            else:  # a fresh database: the whole journal so far is a backlog to drain meanwhile
                                set_central(client, fresh(pg, f"backlog{n}"))
                                wait_state(client, {"shipping"})
                            c_ms, s_ms, used = measure(srv, devices[n % 4], args.receipts)
                            modes[mode] += s_ms
                            round_trip[mode] += c_ms
                            cpu[mode] += used
                            p50s[mode] = pct(s_ms, 50)
                        for mode in ratios:
                            ratios[mode].append(p50s[mode] / p50s["off"])
                    shipped = client.get("/health").json()["central"]
            finally:
                srv.stop()
            print(f"10-item print_receipt, sequential, {args.rounds} rounds x {args.receipts} per mode, modes "
                  "interleaved (server time from Server-Timing; client round trip; server process CPU):")
            for mode in modes:
                change = "" if mode == "off" else f" (per-round median {pct(ratios[mode], 50) * 100 - 100:+.1f} %)"
                per_receipt = cpu[mode] / len(modes[mode]) * 1000
                print(f"  shipping {mode:<9} server p50 {pct(modes[mode], 50):.2f} ms{change}  "
                      f"p99 {pct(modes[mode], 99):.2f} ms   round trip p50 {pct(round_trip[mode], 50):.2f} ms  "
                      f"p99 {pct(round_trip[mode], 99):.2f} ms   CPU {per_receipt:.2f} ms/receipt")
            print(f"last status: {shipped}")
    finally:
        pg.close()


if __name__ == "__main__":
    main()
