"""The query plan of the one statement a store function runs: for tests that a lookup stays an index search as the
journal grows (a plan that scans grows with every entry the device ever made)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from fiscald.app import open_database


def plan_of(data_dir: Path, run: Callable[[sqlite3.Connection], object]) -> list[str]:
    """EXPLAIN QUERY PLAN's steps for the single statement ``run`` executes, on a fresh store in ``data_dir``."""
    db = open_database(data_dir)
    try:
        statements: list[str] = []

        def plan(conn: sqlite3.Connection) -> list[str]:
            conn.set_trace_callback(statements.append)  # the statement as run, its values in place
            try:
                run(conn)
            finally:
                conn.set_trace_callback(None)
            (sql,) = statements
            return [str(row[3]) for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}")]

        return db.read_sync(plan)
    finally:
        db.close()
