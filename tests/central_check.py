"""Compare a store's SQLite journal and operation outcomes with the central PostgreSQL copy, row for row."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import psycopg

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
