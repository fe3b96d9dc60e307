"""The embedded SQLite store: WAL, ``synchronous=FULL``, schema migrations and group commit.

All writes go through one writer thread. Writes that arrive while a transaction is being committed
are batched into the next transaction, so many devices share one fsync (group commit) while each
caller still waits until its own write is durable. Reads use a small pool of reader connections in
threads. Nothing here blocks the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from fiscald.errors import Code, FiscalError
from fiscald.store.schema import MIGRATIONS

T = TypeVar("T")
WriteFn = Callable[[sqlite3.Connection], T]

_BATCH_MAX = 256


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema to the newest version; returns it. Each migration runs in its own transaction."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    for number, script in enumerate(MIGRATIONS, start=1):
        if number <= version:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in script:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version={number}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        version = number
    return version


Waiter = Future[Any] | asyncio.Future[Any]  # a caller waiting for its write: a thread or an event loop


def _settle(results: list[tuple[Waiter, Any, BaseException | None]]) -> None:
    """Hand each write its outcome: threads directly, each event loop with one wake-up for the whole batch."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any, BaseException | None]]] = {}
    for waiter, value, failure in results:
        if isinstance(waiter, asyncio.Future):
            by_loop.setdefault(waiter.get_loop(), []).append((waiter, value, failure))
        elif failure is not None:
            waiter.set_exception(failure)
        else:
            waiter.set_result(value)
    for loop, items in by_loop.items():
        with contextlib.suppress(RuntimeError):  # that loop is closed: nobody is waiting any more
            loop.call_soon_threadsafe(_settle_on_loop, items)


def _settle_on_loop(items: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for fut, value, failure in items:
        if fut.done():  # its caller was cancelled
            continue
        if failure is not None:
            fut.set_exception(failure)
        else:
            fut.set_result(value)


Result = tuple[Waiter, Any, BaseException | None]


def _all_or_nothing(conn: sqlite3.Connection, batch: list[tuple[WriteFn[Any], Waiter]]) -> list[Result] | None:
    conn.execute("BEGIN IMMEDIATE")
    results: list[Result] = []
    for fn, waiter in batch:
        try:
            results.append((waiter, fn(conn), None))
        except Exception:
            conn.execute("ROLLBACK")
            return None
    conn.execute("COMMIT")
    return results


def _alone(conn: sqlite3.Connection, fn: WriteFn[Any], waiter: Waiter) -> Result:
    conn.execute("BEGIN IMMEDIATE")
    try:
        value = fn(conn)
    except Exception as exc:
        conn.execute("ROLLBACK")
        return (waiter, None, exc)
    conn.execute("COMMIT")
    return (waiter, value, None)


class Database:
    """One SQLite file. ``write``/``read`` are async; ``write_sync``/``read_sync`` serve the CLI and start-up."""

    def __init__(self, path: Path, readers: int = 4) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._writer_conn = _connect(path)
        migrate(self._writer_conn)
        self._queue: queue.SimpleQueue[tuple[WriteFn[Any], Waiter] | None] = queue.SimpleQueue()
        self._writer = threading.Thread(target=self._write_loop, name="fiscald-db-writer", daemon=True)
        self._writer.start()
        self._local = threading.local()
        self._readers = ThreadPoolExecutor(max_workers=readers, thread_name_prefix="fiscald-db-reader")
        self._reader_conns: list[sqlite3.Connection] = []
        self._reader_lock = threading.Lock()
        self._closed = False

    # -- writes ---------------------------------------------------------------------------------
    def _write_loop(self) -> None:
        conn = self._writer_conn
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < _BATCH_MAX:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._run_batch(conn, batch)
            if stop:
                return

    @staticmethod
    def _run_batch(conn: sqlite3.Connection, batch: list[tuple[WriteFn[Any], Waiter]]) -> None:
        """All writes of the batch in one transaction (one fsync). If one of them raises, the batch is rolled
        back and every write runs again in a transaction of its own, so one failing write undoes no other
        (write functions must therefore be safe to run twice: they only touch the connection)."""
        try:
            results = _all_or_nothing(conn, batch)
            if results is None:
                results = [_alone(conn, fn, waiter) for fn, waiter in batch]
        except sqlite3.Error as db_exc:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            error = FiscalError(Code.PERSISTENCE, f"database write failed: {db_exc}")
            results = [(waiter, None, error) for _fn, waiter in batch]
        _settle(results)

    def _put(self, fn: WriteFn[Any], waiter: Waiter) -> None:
        if self._closed:
            raise FiscalError(Code.PERSISTENCE, "the database is closed")
        self._queue.put((fn, waiter))

    def write_future(self, fn: WriteFn[T]) -> asyncio.Future[T]:
        """Queue ``fn(conn)``; the future resolves once its transaction is committed (durable).

        Writes are committed in the order they were queued."""
        fut: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._put(fn, fut)
        return fut

    async def write(self, fn: WriteFn[T]) -> T:
        """Run ``fn(conn)`` inside a committed (durable) transaction; returns its value."""
        return await self.write_future(fn)

    def write_sync(self, fn: WriteFn[T]) -> T:
        fut: Future[T] = Future()
        self._put(fn, fut)
        return fut.result()

    # -- reads ----------------------------------------------------------------------------------
    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = _connect(self.path)
            conn.execute("PRAGMA query_only=ON")
            self._local.conn = conn
            with self._reader_lock:
                self._reader_conns.append(conn)
        return conn

    def read_sync(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return fn(self._reader())

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, self.read_sync, fn)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._writer.join()
        self._readers.shutdown(wait=True)
        with self._reader_lock:
            for conn in self._reader_conns:
                conn.close()
        self._writer_conn.close()
