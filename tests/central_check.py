"""Compare a store's SQLite journal and operation outcomes with the central PostgreSQL copy, row for row."""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import psycopg

from fiscald.store import Database
from fiscald.store import journal as journal_repo
from fiscald.store import operations as op_repo

JOURNAL_COLUMNS = "device_id, seq, kind, number, fiscal_day, datetime, total_cents, text, data, prev_hash, hash"
OUTCOME_COLUMNS = "id, device_id, operation, source, idem_key, state, http_status, request, response"


def local_rows(db_path: Path) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    conn = sqlite3.connect(db_path)
    try:
        journal = [(*r[:8], json.loads(r[8]), *r[9:])
                   for r in conn.execute(f"SELECT {JOURNAL_COLUMNS} FROM journal")]
        outcomes = [(*r[:7], json.loads(r[7]), None if r[8] is None else json.loads(r[8]))
                    for r in conn.execute(f"SELECT {OUTCOME_COLUMNS} FROM operations WHERE state != 'running'")]
    finally:
        conn.close()
    return sorted(journal, key=lambda r: (r[0], r[1])), sorted(outcomes)


def central_rows(url: str, store_id: str) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    with psycopg.connect(url) as conn:
        journal = conn.execute(f"SELECT {JOURNAL_COLUMNS} FROM fiscald.journal WHERE store_id = %s",
                               (store_id,)).fetchall()
        outcomes = conn.execute(f"SELECT {OUTCOME_COLUMNS.replace('id,', 'operation_id,', 1)} FROM fiscald.operations "
                                "WHERE store_id = %s", (store_id,)).fetchall()
    return sorted(journal, key=lambda r: (r[0], r[1])), sorted(outcomes)


def central_counts(url: str, store_id: str) -> tuple[int, int]:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT (SELECT count(*) FROM fiscald.journal WHERE store_id = %s), "
                           "(SELECT count(*) FROM fiscald.operations WHERE store_id = %s)",
                           (store_id, store_id)).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def assert_same(db_path: Path, url: str, store_id: str) -> int:
    """Every local row is in the central database exactly once, with the same content; returns the count."""
    local_journal, local_outcomes = local_rows(db_path)
    central_journal, central_outcomes = central_rows(url, store_id)
    assert len(central_journal) == len(local_journal)
    assert central_journal == local_journal
    assert central_outcomes == local_outcomes
    return len(local_journal)


def fill(db: Database, devices: list[str], per_device: int, start_day: str = "2026-11-30") -> None:
    """Journal entries (receipts, a Z report per 100) and finished operations, as the registers write them."""

    def write(conn: sqlite3.Connection, device_id: str, first: int, count: int) -> None:
        for n in range(first, first + count):
            op_id = uuid.uuid4().hex
            op_repo.insert_running(conn, op_id, device_id, "print_receipt", "http", None, "h", {"n": n})
            if n % 100 == 99:
                data = {"z_number": n // 100 + 1, "receipts_count": 99, "total_cents": 99 * 1000,
                        "vat_totals": {"A": {"rate_basis_points": 2100, "base_cents": 1, "vat_cents": 2}}}
                journal_repo.append(conn, device_id, "z_report", n // 100 + 1, n // 100 + 1,
                                    f"{start_day}T20:00:00+02:00", 99 * 1000, "RAPORT Z", data)
            else:
                data = {"result": {"vat_totals": {"A": {"rate_basis_points": 2100, "base_cents": 826,
                                                        "vat_cents": 174}}},
                        "payments": {"cash": 600, "card": 400}}
                journal_repo.append(conn, device_id, "receipt", n + 1, n // 100 + 1,
                                    f"{start_day}T10:{n % 60:02d}:00+02:00", 1000, f"BON {n}\nCafea 10,00", data)
            op_repo.finish(conn, op_id, 200, {"status": 200, "result": {"n": n}})

    for device_id in devices:
        for first in range(0, per_device, 500):
            db.write_sync(lambda c, d=device_id, f=first: write(c, d, f, min(500, per_device - f)))
