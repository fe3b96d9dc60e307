"""The store's writer: group commit, order, isolation of a failing write, durability across reopen."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
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


def _visible(path: Path) -> list[int]:
    """The rows another connection sees: only committed ones."""
    conn = sqlite3.connect(path)
    try:
        return [r[0] for r in conn.execute("SELECT x FROM t ORDER BY x")]
    finally:
        conn.close()


def test_a_write_nobody_waits_for_is_committed_with_the_next_urgent_one(tmp_path: Path) -> None:
    path = tmp_path / "l.db"

    async def main() -> None:
        db = Database(path, linger_s=30)
        try:
            await db.write(lambda c: c.execute("CREATE TABLE t (x INTEGER PRIMARY KEY)"))
            later = db.write_future(lambda c: c.execute("INSERT INTO t (x) VALUES (1)"), urgent=False)
            await asyncio.sleep(0.3)
            assert not later.done() and _visible(path) == []  # held open, not committed on its own
            await db.write(lambda c: c.execute("INSERT INTO t (x) VALUES (2)"))
            assert later.done() and _visible(path) == [1, 2]  # one commit for both, in queue order
        finally:
            db.close()

    asyncio.run(main())


def test_a_write_nobody_waits_for_commits_alone_after_its_linger_and_at_close(tmp_path: Path) -> None:
    path = tmp_path / "m.db"

    async def main() -> None:
        db = Database(path, linger_s=0.05)
        try:
            await db.write(lambda c: c.execute("CREATE TABLE t (x INTEGER PRIMARY KEY)"))
            await asyncio.wait_for(db.write_future(lambda c: c.execute("INSERT INTO t (x) VALUES (1)"),
                                                   urgent=False), 30)
            assert _visible(path) == [1]
        finally:
            db.close()
        db = Database(path, linger_s=30)
        db.write_future(lambda c: c.execute("INSERT INTO t (x) VALUES (2)"), urgent=False)
        db.close()  # a graceful stop commits what still lingers
        assert _visible(path) == [1, 2]

    asyncio.run(main())


def test_the_wal_is_copied_back_by_the_checkpoint_thread_not_by_a_commit(tmp_path: Path) -> None:
    """SQLite's own checkpoint runs inside the commit that crosses its threshold (that caller waits for the copy
    and an fsync of the database file); here the writer's threshold is far away and a thread of its own copies
    the WAL into the database file."""
    path = tmp_path / "w.db"

    async def main() -> None:
        db = Database(path, checkpoint_interval_s=0.05)
        try:
            await db.write(lambda c: c.execute("CREATE TABLE t (x INTEGER PRIMARY KEY, pad TEXT)"))
            await asyncio.sleep(0.3)
            before = path.stat().st_size
            for i in range(100):  # ~100 pages of rows, far below the writer's own threshold
                await db.write(lambda c, i=i: c.execute("INSERT INTO t VALUES (?, ?)", (i, "x" * 3000)))
            deadline = time.monotonic() + 30
            while path.stat().st_size < before + 100 * 3000 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert path.stat().st_size >= before + 100 * 3000  # the rows reached the database file itself
        finally:
            db.close()

    asyncio.run(main())


def test_a_write_after_one_that_failed_is_not_run(tmp_path: Path) -> None:
    path = tmp_path / "a.db"

    async def main() -> None:
        db = Database(path)
        try:
            await db.write(lambda c: c.execute("CREATE TABLE t (x INTEGER PRIMARY KEY)"))

            def boom(conn: sqlite3.Connection) -> None:
                raise ValueError("refused")

            first = db.write_future(boom, urgent=False)  # held, then in one batch with the next two
            same_batch = db.write_future(lambda c: c.execute("INSERT INTO t (x) VALUES (1)"), after=first)
            unrelated = db.write_future(lambda c: c.execute("INSERT INTO t (x) VALUES (2)"))
            results = await asyncio.gather(first, same_batch, unrelated, return_exceptions=True)
            assert isinstance(results[0], ValueError)
            assert isinstance(results[1], FiscalError) and results[1].code == Code.PERSISTENCE
            later = db.write_future(lambda c: c.execute("INSERT INTO t (x) VALUES (3)"), after=first)
            with pytest.raises(FiscalError):  # a batch of its own, after the failure: not run either
                await later
            ok = db.write_future(lambda c: c.execute("INSERT INTO t (x) VALUES (4)"), after=unrelated)
            await ok
            assert _visible(path) == [2, 4]
        finally:
            db.close()

    asyncio.run(main())


def test_the_event_loop_runs_its_writes_and_never_waits_for_the_lock(tmp_path: Path) -> None:
    """The home loop's writes run on the loop (no GIL hand-off per SQLite call); when another connection holds
    SQLite's write lock, the write goes to the writer thread, which waits for it, while the loop goes on."""
    async def main() -> None:
        db = Database(tmp_path / "f.db")
        ran_in: list[str] = []

        def insert(x: int) -> Callable[[sqlite3.Connection], object]:
            def write(conn: sqlite3.Connection) -> object:
                ran_in.append(threading.current_thread().name)
                return conn.execute("INSERT INTO t (x) VALUES (?)", (x,))
            return write

        other = sqlite3.connect(tmp_path / "f.db", isolation_level=None)
        try:
            await db.write(lambda c: c.execute("CREATE TABLE t (x INTEGER PRIMARY KEY)"))
            await db.write(insert(1))
            assert ran_in == ["MainThread"]
            other.execute("BEGIN IMMEDIATE")  # another process's write transaction, say
            waiting = [db.write_future(insert(x)) for x in (2, 3)]
            ticks = 0
            for _ in range(5):  # the loop is not blocked meanwhile
                await asyncio.sleep(0.02)
                ticks += 1
            assert ticks == 5 and not any(f.done() for f in waiting)
            other.execute("COMMIT")
            await asyncio.gather(*waiting)
            # the first went to the writer thread; the second, queued behind it, ran on the loop once it was in
            assert ran_in[1:] == ["fiscald-db-writer", "MainThread"]
            await db.write(insert(4))
            assert ran_in[-1] == "MainThread"
            rows = await db.read(lambda c: [r[0] for r in c.execute("SELECT x FROM t ORDER BY x")])
            assert rows == [1, 2, 3, 4]
        finally:
            other.close()
            db.close()

    asyncio.run(main())


def test_a_long_write_runs_in_the_writer_thread_in_its_place(tmp_path: Path) -> None:
    async def main() -> None:
        db = Database(tmp_path / "f.db")
        order: list[tuple[str, str]] = []

        def note(tag: str) -> Callable[[sqlite3.Connection], object]:
            def write(conn: sqlite3.Connection) -> object:
                order.append((tag, threading.current_thread().name))
                return conn.execute("INSERT INTO t (tag) VALUES (?)", (tag,))
            return write

        try:
            await db.write(lambda c: c.execute("CREATE TABLE t (n INTEGER PRIMARY KEY, tag TEXT)"))
            futures = [db.write_future(note("before")), db.write_future(note("purge"), long=True),
                       db.write_future(note("after"))]
            await asyncio.gather(*futures)
            assert dict(order)["purge"] == "fiscald-db-writer"
            rows = await db.read(lambda c: [r[0] for r in c.execute("SELECT tag FROM t ORDER BY n")])
            assert rows == ["before", "purge", "after"]
        finally:
            db.close()

    asyncio.run(main())


def test_a_commit_sqlite_refuses_fails_its_whole_batch_and_the_next_one_commits(tmp_path: Path) -> None:
    """A failure of the COMMIT itself (here a deferred foreign key, checked only then; in life a full or failing
    disk) fails every write of the batch with 1001 and stores none of them; the next batch commits."""
    async def main() -> None:
        db = Database(tmp_path / "f.db")
        try:
            await db.write(lambda c: c.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)"))
            await db.write(lambda c: c.execute("CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER "
                                               "REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)"))
            # held, so that it goes in one transaction with the next urgent write
            innocent = db.write_future(lambda c: c.execute("INSERT INTO parent (id) VALUES (1)"), urgent=False)
            orphan = db.write_future(lambda c: c.execute("INSERT INTO child (id, parent) VALUES (1, 99)"))
            results = await asyncio.gather(innocent, orphan, return_exceptions=True)
            assert all(isinstance(r, FiscalError) and r.code == Code.PERSISTENCE for r in results), results
            await db.write(lambda c: c.execute("INSERT INTO parent (id) VALUES (2)"))
            rows = await db.read(lambda c: [r[0] for r in c.execute("SELECT id FROM parent UNION ALL "
                                                                    "SELECT -id FROM child")])
            assert rows == [2]
        finally:
            db.close()

    asyncio.run(main())
