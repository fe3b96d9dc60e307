"""The embedded SQLite store: WAL, ``synchronous=FULL``, schema migrations and group commit.

Writes arriving while a transaction is being committed are batched into the next transaction, so many devices
share one fsync (group commit) while each caller still waits until its own write is durable. Writes are always
committed in the order they were queued.

- **Writes from the event loop** (the server's, the first loop that writes) run their statements on that loop,
  which holds the GIL anyway, on a connection of their own; only the ``COMMIT`` (the WAL write and the fsync,
  with the GIL released) is handed to the committer thread. A writer thread running the statements instead
  would give the GIL up around every SQLite call and wait to take it back from a busy event loop: under load
  that hand-off, not the work, bounded the rate (docs/benchmarks.md, sixth pass). The loop never waits for
  SQLite's lock: the connection does not wait when another one is writing, and a batch that cannot start, or
  whose write raised, goes to the writer thread instead, which runs it as described below.
- **The writer thread** runs everything else on the other connection: ``write_sync`` (start-up, the CLI, the
  central shipper's thread), writes from any other event loop, writes that may take long (``long=True``: a
  purge), and the event loop's batches that could not run there.
- A write queued with ``urgent=False`` (one nobody waits for now) is held on the event loop and goes with the
  next urgent write from that loop, or ``LINGER_S`` later: the record of one operation's answer and the next
  operation's first write share an fsync.

The WAL is checkpointed by a thread of its own (``PASSIVE``: it never blocks a writer), not by the commit that
happens to cross SQLite's threshold, which would make that one caller wait for the copy and the database file's
fsync. Reads use a small pool of reader connections in threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
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


class _FromLoop:
    """Writes of the home event loop handed to another thread, which tells that loop when they are settled."""

    def __init__(self, batch: list[Queued], results: list[Result] | None = None) -> None:
        self.batch = batch
        self.results = results  # None: the writer thread runs the batch; else: staged, the committer commits it


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
        # the home event loop's connection: it never waits for SQLite's lock (the writer thread takes over)
        self._loop_conn = _connect(path)
        self._loop_conn.execute("PRAGMA busy_timeout=0")
        self._loop_conn.execute(f"PRAGMA wal_autocheckpoint={CHECKPOINT_FALLBACK_PAGES}")
        self._queue: queue.SimpleQueue[list[Queued] | _FromLoop | None] = queue.SimpleQueue()
        self._commit_queue: queue.SimpleQueue[_FromLoop | None] = queue.SimpleQueue()
        # event-loop side (home loop only): urgent=False writes not queued yet and the timer that queues them;
        # writes queued but not started; whether a batch of the loop is with another thread
        self._home: asyncio.AbstractEventLoop | None = None
        self._held: list[Queued] = []
        self._held_timer: asyncio.TimerHandle | None = None
        self._ready: list[Queued] = []
        self._ready_long = False  # a ready write must run in the writer thread
        self._busy = False
        self._checkpoint_due = threading.Event()
        self._commit_numbers = itertools.count(1)
        self._commits = 0  # transactions committed (read by the checkpoint thread)
        self._failed: dict[int, Waiter] = {}  # the latest writes that failed, by id
        self._failed_lock = threading.Lock()
        self._writer = threading.Thread(target=self._write_loop, name="fiscald-db-writer", daemon=True)
        self._writer.start()
        self._committer = threading.Thread(target=self._commit_loop, name="fiscald-db-committer", daemon=True)
        self._committer.start()
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
        taken: list[Queued] | _FromLoop | None = None  # taken from the queue while batching, not run yet
        while True:
            item = taken if taken is not None else self._queue.get()
            taken = None
            if item is None:
                break
            if isinstance(item, _FromLoop):
                self._tell_home(self._run_batch(conn, item.batch))
                continue
            batch, stop = list(item), False
            while len(batch) < _BATCH_MAX:  # what else is queued, up to the home loop's next batch
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                if isinstance(more, _FromLoop):
                    taken = more
                    break
                batch.extend(more)
            _settle(self._run_batch(conn, batch))
            if stop:
                break
        self._checkpoint_due.set()  # and _closed is set: the checkpoint thread ends

    def _commit_loop(self) -> None:
        """Commit what the home event loop staged on its connection (the GIL is released meanwhile)."""
        conn = self._loop_conn
        while (staged := self._commit_queue.get()) is not None:
            assert staged.results is not None
            results = staged.results
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as db_exc:
                results = self._all_failed(conn, [waiter for waiter, _value, _failure in results], db_exc)
            self._committed()
            self._tell_home(results)

    def _committed(self) -> None:
        self._commits = next(self._commit_numbers)
        if self._commits % CHECKPOINT_EVERY == 0:
            self._checkpoint_due.set()

    def _tell_home(self, results: list[Result]) -> None:
        home = self._home
        if home is not None:
            with contextlib.suppress(RuntimeError):  # that loop is closed: nobody is waiting any more
                home.call_soon_threadsafe(self._settled, results)

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

    def _run_batch(self, conn: sqlite3.Connection, batch: list[Queued]) -> list[Result]:
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
            results = self._all_failed(conn, [waiter for _fn, waiter, _after in batch], db_exc)
        self._committed()
        return results

    def _all_failed(self, conn: sqlite3.Connection, waiters: list[Waiter], db_exc: sqlite3.Error) -> list[Result]:
        """The transaction failed in SQLite itself: rolled back, every write of it fails with 1001."""
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        error = FiscalError(Code.PERSISTENCE, f"database write failed: {db_exc}")
        for waiter in waiters:
            self._remember_failed(waiter)
        return [(waiter, None, error) for waiter in waiters]

    def _failed_before(self, after: Waiter | None) -> bool:
        return after is not None and self._failed.get(id(after)) is after

    def _remember_failed(self, waiter: Waiter) -> None:
        with self._failed_lock:  # the writer and the committer threads both remember
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
            self._ready.extend(self._take_held())
            self._start()

    def _start(self) -> None:
        """Run the ready writes of the home loop as one transaction on its connection and hand the commit to
        the committer thread; or give them to the writer thread (a long write among them, a write whose
        dependency failed, another connection writing, a write that raised). One batch at a time, so they
        commit in the order they were queued."""
        if self._busy or not self._ready or self._closed:
            return
        batch, self._ready = self._ready, []
        long, self._ready_long = self._ready_long, False
        self._busy = True
        results = None
        if not long and not any(self._failed_before(after) for _fn, _waiter, after in batch):
            results = self._stage(batch)
        if results is None:
            self._queue.put(_FromLoop(batch))
        else:
            self._commit_queue.put(_FromLoop(batch, results))

    def _stage(self, batch: list[Queued]) -> list[Result] | None:
        conn = self._loop_conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error:  # busy: the writer thread's connection is writing
            return None
        results: list[Result] = []
        try:
            for fn, waiter, _after in batch:
                results.append((waiter, fn(conn), None))
        except Exception:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            return None
        return results

    def _settled(self, results: list[Result]) -> None:
        """On the home loop: a batch of its own was committed (or failed); the next one may start."""
        _settle_on_loop(results)  # type: ignore[arg-type]  # the home loop's writes wait on its futures
        self._busy = False
        self._start()

    def write_future(self, fn: WriteFn[T], urgent: bool = True,
                     after: asyncio.Future[Any] | None = None, long: bool = False) -> asyncio.Future[T]:
        """Queue ``fn(conn)``; the future resolves once its transaction is committed (durable).

        Writes are committed in the order they were queued. ``urgent=False``: nobody waits for this write now
        (what it records can be rebuilt, or a later urgent write commits it before anything depends on it), so
        it is held and committed with the next urgent write of this event loop, at the latest ``linger_s``
        later. ``after``: an earlier write this one depends on; if that one failed, this one is not run (it
        fails with 1001 Persistence). ``long``: it may run for a while (a purge), so the writer thread runs it,
        never the event loop."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[T] = loop.create_future()
        if self._closed:
            raise FiscalError(Code.PERSISTENCE, "the database is closed")
        if self._home is None:
            self._home = loop
        if loop is not self._home:  # another event loop (tests, tools): the writer thread, as it comes
            self._put([(fn, fut, after)])
            return fut
        if urgent or long:
            self._ready.extend(self._take_held())
            self._ready.append((fn, fut, after))
            self._ready_long = self._ready_long or long
            self._start()
        else:
            self._held.append((fn, fut, after))
            if self._held_timer is None:
                self._held_timer = loop.call_later(self.linger_s, self._flush_held)
        return fut

    async def write(self, fn: WriteFn[T], after: asyncio.Future[Any] | None = None, long: bool = False) -> T:
        """Run ``fn(conn)`` inside a committed (durable) transaction; returns its value."""
        return await self.write_future(fn, after=after, long=long)

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
        left = [*self._ready, *self._take_held()]  # a graceful stop commits what is still queued or held
        self._ready = []
        self._closed = True
        self._commit_queue.put(None)  # after a batch being staged or committed: it commits first
        self._committer.join()
        if left:
            self._queue.put(left)
        self._queue.put(None)
        self._writer.join()
        self._checkpointer.join()
        self._readers.shutdown(wait=True)
        with self._reader_lock:
            for conn in self._reader_conns:
                conn.close()
        self._writer_conn.close()
        self._loop_conn.close()
