"""The store's writer: group commit, order, isolation of a failing write, durability across reopen."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from fiscald.errors import Code, FiscalError
from fiscald.store import Database, journal


def test_a_failing_write_in_a_batch_undoes_no_other(tmp_path: Path) -> None:
    async def main() -> None:
        db = Database(tmp_path / "f.db")
        try:
            await db.write(lambda c: c.execute("CREATE TABLE t (x INTEGER PRIMARY KEY)"))

            def good(x: int) -> Callable[[sqlite3.Connection], object]:
                return lambda conn: conn.execute("INSERT INTO t (x) VALUES (?)", (x,))

            def boom(conn: sqlite3.Connection) -> None:
                conn.execute("INSERT INTO t (x) VALUES (999)")
                raise ValueError("refused")

            futures = [db.write_future(good(i)) for i in range(50)]
            futures.insert(25, db.write_future(boom))
            results = await asyncio.gather(*futures, return_exceptions=True)
            assert sum(isinstance(r, ValueError) for r in results) == 1
            rows = await db.read(lambda c: [r[0] for r in c.execute("SELECT x FROM t ORDER BY x")])
            assert rows == list(range(50))  # 999 was rolled back, the others all committed
        finally:
            db.close()

    asyncio.run(main())


def test_writes_commit_in_queue_order_and_survive_reopen(tmp_path: Path) -> None:
    path = tmp_path / "j.db"

    async def main() -> None:
        db = Database(path)
        try:
            entries = await asyncio.gather(*(db.write(
                lambda c, i=i: journal.append(c, "dev", "note", i, 1, f"2026-11-27T10:00:{i:02d}", None, f"n{i}", {}))
                for i in range(40)))
            assert [e.seq for e in entries] == list(range(1, 41))
        finally:
            db.close()

    asyncio.run(main())
    db = Database(path)
    try:
        checked, broken = db.read_sync(lambda c: journal.verify(c, "dev"))
        assert (checked, broken) == (40, None)
    finally:
        db.close()


def test_closed_database_refuses_writes(tmp_path: Path) -> None:
    db = Database(tmp_path / "c.db")
    db.close()
    with pytest.raises(FiscalError) as exc:
        db.write_sync(lambda c: None)
    assert exc.value.code == Code.PERSISTENCE
