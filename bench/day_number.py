"""What numbering a receipt in its fiscal day costs as the day's receipts grow (the register drivers do it once per
receipt, inside the transaction that journals it). Results: docs/benchmarks.md.

    .venv/bin/python bench/day_number.py [--sizes 100,1000,5000,20000]

For each size, a journal with that many receipts of one device since its last Z; prints the time of
``journal.count_since`` (what every receipt paid before: a COUNT over the day's receipts in the index) and of
``journal.day_number`` counted on from the last receipt (what a receipt pays while nothing else was journaled
since the one before: a comparison with the seq the append gives it, no statement), in µs.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import timeit
from pathlib import Path

from fiscald.app import open_database
from fiscald.store import journal

DEVICE = "bench"


def fill(conn: sqlite3.Connection, count: int) -> journal.DayPosition:
    entry = None
    for n in range(count):
        entry = journal.append(conn, DEVICE, "receipt", n + 1, 1, "2026-12-06T10:00:00+02:00", 1200, "x" * 400,
                               {"request": {"lines": []}})
    assert entry is not None
    return journal.DayPosition(1, entry.seq, count)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100,1000,5000,20000")
    args = parser.parse_args()
    print(f"{'receipts since Z':>17} {'count_since µs':>15} {'day_number µs':>14}")
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            db = open_database(Path(tmp))
            try:
                known = db.write_sync(lambda conn, n=size: fill(conn, n))

                def timed(conn: sqlite3.Connection, known: journal.DayPosition = known) -> tuple[float, float]:
                    def count() -> int:
                        return journal.count_since(conn, DEVICE, ("receipt", "void"), 1, "z_report")

                    def number() -> int:
                        return journal.day_number(conn, DEVICE, 1, known.seq + 1, known)

                    assert count() + 1 == number()
                    runs = 200
                    return (min(timeit.repeat(count, number=runs, repeat=3)) / runs * 1e6,
                            min(timeit.repeat(number, number=runs, repeat=3)) / runs * 1e6)

                counted, numbered = db.read_sync(timed)
            finally:
                db.close()
        print(f"{size:>17} {counted:>15.1f} {numbered:>14.1f}")


if __name__ == "__main__":
    main()
