"""The embedded SQLite store: WAL, ``synchronous=FULL``, schema migrations and group commit.

All writes go through one writer thread. Writes that arrive while a transaction is being committed
are batched into the next transaction, so many devices share one fsync (group commit) while each
caller still waits until its own write is durable. A write queued with ``urgent=False`` (one nobody waits
for now) is held on its event loop and handed to the writer with the next urgent write from that loop, or
``LINGER_S`` later: the record of one operation's answer and the next operation's first write share an fsync,
and the writer thread is woken once for them. Writes are always committed in the order they were queued.

The WAL is checkpointed by a thread of its own (``PASSIVE``: it never blocks the writer), not by the commit
that happens to cross SQLite's threshold, which would make that one caller wait for the copy and the
database file's fsync. Reads use a small pool of reader connections in threads. Nothing here blocks the event
loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
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

log = logging.getLogger("fiscald.store")

_BATCH_MAX = 256
LINGER_S = 0.05  # the longest a write queued with urgent=False waits for an urgent one to share its commit
CHECKPOINT_INTERVAL_S = 1.0  # the checkpoint thread copies the WAL back this often while there are commits
CHECKPOINT_EVERY = 2048  # ... or after this many commits, whichever comes first
CHECKPOINT_FALLBACK_PAGES = 20_000  # WAL pages (80 MiB) past which a commit checkpoints itself after all


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
Queued = tuple[WriteFn[Any], Waiter, Waiter | None]  # a write, who waits for it, the write it depends on
_FAILED_KEPT = 256  # writes that failed, remembered for the writes queued after them


def _all_or_nothing(conn: sqlite3.Connection, batch: list[Queued]) -> list[Result] | None:
    conn.execute("BEGIN IMMEDIATE")
    results: list[Result] = []
    for fn, waiter, _after in batch:
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

    def __init__(self, path: Path, readers: int = 4, linger_s: float = LINGER_S,
                 checkpoint_interval_s: float = CHECKPOINT_INTERVAL_S) -> None:
        self.path = path
        self.linger_s = linger_s
        self.checkpoint_interval_s = checkpoint_interval_s
        path.parent.mkdir(parents=True, exist_ok=True)
        self._writer_conn = _connect(path)
        migrate(self._writer_conn)
        # the commit that crosses SQLite's own threshold checkpoints only if the checkpoint thread fell behind
        self._writer_conn.execute(f"PRAGMA wal_autocheckpoint={CHECKPOINT_FALLBACK_PAGES}")
        self._queue: queue.SimpleQueue[list[Queued] | None] = queue.SimpleQueue()
        # urgent=False writes not handed to the writer yet, and the timer that hands them over (event loop only)
        self._held: list[Queued] = []
        self._held_timer: asyncio.TimerHandle | None = None
        self._checkpoint_due = threading.Event()
        self._commits = 0  # transactions committed by the writer (read by the checkpoint thread)
        self._failed: dict[int, Waiter] = {}  # the latest writes that failed, by id (writer thread only)
        self._writer = threading.Thread(target=self._write_loop, name="fiscald-db-writer", daemon=True)
        self._writer.start()
        self._checkpointer = threading.Thread(target=self._checkpoint_loop, name="fiscald-db-checkpoint",
                                              daemon=True)
        self._checkpointer.start()
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
                break
            batch, stop = list(first), False
            while len(batch) < _BATCH_MAX:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.extend(more)
            self._run_batch(conn, batch)
            self._commits += 1
            if self._commits % CHECKPOINT_EVERY == 0:
                self._checkpoint_due.set()
            if stop:
                break
        self._checkpoint_due.set()  # and _closed is set: the checkpoint thread ends

    def _checkpoint_loop(self) -> None:
        """Copy the WAL back into the database file now and then, off the writer's path; a PASSIVE checkpoint
        takes no lock the writer needs, and the writer restarts the WAL from its start once all of it is
        copied, so the WAL stays small."""
        conn: sqlite3.Connection | None = None
        copied = 0  # commits up to the last checkpoint
        try:
            while True:
                self._checkpoint_due.wait(self.checkpoint_interval_s)
                self._checkpoint_due.clear()
                if self._closed:
                    return
                if self._commits == copied:
                    continue
                copied = self._commits
                try:
                    if conn is None:
                        conn = _connect(self.path)
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                except sqlite3.Error as exc:  # busy or failing disk: the next one tries again, the fallback stands
                    log.warning("WAL checkpoint failed: %s", exc)
        finally:
            if conn is not None:
                conn.close()

    def _run_batch(self, conn: sqlite3.Connection, batch: list[Queued]) -> None:
        """All writes of the batch in one transaction (one fsync). If one of them raises, the batch is rolled
        back and every write runs again in a transaction of its own, so one failing write undoes no other
        (write functions must therefore be safe to run twice: they only touch the connection) — except a write
        queued ``after`` one that failed, in this batch or an earlier one: it is not run, and fails too."""
        try:
            blocked = any(self._failed_before(after) for _fn, _waiter, after in batch)
            results = None if blocked else _all_or_nothing(conn, batch)
            if results is None:
                results = []
                for fn, waiter, after in batch:
                    if self._failed_before(after):
                        result: Result = (waiter, None, FiscalError(Code.PERSISTENCE, "not written: the write it "
                                                                                      "depends on failed"))
                    else:
                        result = _alone(conn, fn, waiter)
                    if result[2] is not None:
                        self._remember_failed(waiter)
                    results.append(result)
        except sqlite3.Error as db_exc:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            error = FiscalError(Code.PERSISTENCE, f"database write failed: {db_exc}")
            results = [(waiter, None, error) for _fn, waiter, _after in batch]
            for _fn, waiter, _after in batch:
                self._remember_failed(waiter)
        _settle(results)

    def _failed_before(self, after: Waiter | None) -> bool:
        return after is not None and self._failed.get(id(after)) is after

    def _remember_failed(self, waiter: Waiter) -> None:
        self._failed[id(waiter)] = waiter  # kept alive, so its id is not reused while remembered
        if len(self._failed) > _FAILED_KEPT:
            del self._failed[next(iter(self._failed))]

    def _put(self, writes: list[Queued]) -> None:
        if self._closed:
            raise FiscalError(Code.PERSISTENCE, "the database is closed")
        self._queue.put(writes)

    def _take_held(self) -> list[Queued]:
        held, self._held = self._held, []
        if self._held_timer is not None:
            self._held_timer.cancel()
            self._held_timer = None
        return held

    def _flush_held(self) -> None:
        self._held_timer = None
        if self._held and not self._closed:
            self._put(self._take_held())

    def write_future(self, fn: WriteFn[T], urgent: bool = True,
                     after: asyncio.Future[Any] | None = None) -> asyncio.Future[T]:
        """Queue ``fn(conn)``; the future resolves once its transaction is committed (durable).

        Writes are committed in the order they were queued. ``urgent=False``: nobody waits for this write now
        (what it records can be rebuilt, or a later urgent write commits it before anything depends on it), so
        it is held and committed with the next urgent write of this event loop, at the latest ``linger_s``
        later. ``after``: an earlier write this one depends on; if that one failed, this one is not run (it
        fails with 1001 Persistence)."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[T] = loop.create_future()
        if urgent:
            self._put([*self._take_held(), (fn, fut, after)])
        else:
            if self._closed:
                raise FiscalError(Code.PERSISTENCE, "the database is closed")
            self._held.append((fn, fut, after))
            if self._held_timer is None:
                self._held_timer = loop.call_later(self.linger_s, self._flush_held)
        return fut

    async def write(self, fn: WriteFn[T], after: asyncio.Future[Any] | None = None) -> T:
        """Run ``fn(conn)`` inside a committed (durable) transaction; returns its value."""
        return await self.write_future(fn, after=after)

    def write_sync(self, fn: WriteFn[T]) -> T:
        fut: Future[T] = Future()
        self._put([(fn, fut, None)])
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
        held = self._take_held()  # a graceful stop commits what is still held
        if held:
            self._queue.put(held)
        self._closed = True
        self._queue.put(None)
        self._writer.join()
        self._checkpointer.join()
        self._readers.shutdown(wait=True)
        with self._reader_lock:
            for conn in self._reader_conns:
                conn.close()
        self._writer_conn.close()
