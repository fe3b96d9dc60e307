"""The shipper: copies the store's journal, operation outcomes and device status to the central database.

It runs in a thread of its own with a synchronous psycopg connection and its own SQLite reader, so an
operation never waits for it: it only reads committed rows and, after each central commit, queues one small
write (the outbox positions) to the store's group-committing writer.

Exactly once: each batch (journal rows above the journal position, outcomes above the outcome position, the
store's heartbeat and the new positions) is one PostgreSQL transaction of idempotent upserts keyed by
(store_id, device_id, seq) and (store_id, operation_id). The central copy of the positions commits with the
rows, and the shipper resumes from it after any reconnect or restart; the local positions only follow the
central commit, so a crash between the two re-sends a batch the upserts absorb.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any, TypeVar

import psycopg

from fiscald import __version__
from fiscald.central import outbox, url
from fiscald.central.schema import VERSION, current_version
from fiscald.central.status import ShipperStatus
from fiscald.config import Settings
from fiscald.store import Database

log = logging.getLogger("fiscald.central")

T = TypeVar("T")
BATCH = 500
POLL_S = 0.5
HEARTBEAT_S = 10.0
DRAIN_PAUSE = 1.0  # pause after a full batch, relative to the time the batch took
# the local position is a mirror of the central one (which commits with the rows and is what the shipper resumes
# from), kept for the backlog while offline: written at most this often, and when shipping stops or fails
POSITION_WRITE_S = 5.0
RETRY_FIRST_S = 1.0
RETRY_MAX_S = 30.0
CONNECT_TIMEOUT_S = 5
STATEMENT_TIMEOUT = "60s"
# a dead network is noticed in about 25 s instead of the kernel's two hours
KEEPALIVES: dict[str, Any] = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3,
              "tcp_user_timeout": 30_000}


@dataclass(frozen=True)
class DeviceRow:
    """A device's configuration and live status, as head office sees it."""

    device_id: str
    kind: str
    name: str
    manufacturer: str
    model: str
    serial: str | None
    enabled: bool
    status: str
    status_text: str


class CentralError(Exception):
    """A reason to stop shipping until something changes (schema missing, a conflicting row)."""


_JOURNAL_SQL = """
WITH batch AS (
    SELECT * FROM json_to_recordset(%(rows)s::json) AS b (device_id text, seq bigint, kind text, number bigint,
        fiscal_day integer, datetime text, total_cents bigint, text text, data jsonb, prev_hash text, hash text)
), inserted AS (
    INSERT INTO fiscald.journal (store_id, device_id, seq, kind, number, fiscal_day, datetime, at, day, total_cents,
                                 text, data, prev_hash, hash)
    SELECT %(store_id)s, device_id, seq, kind, number, fiscal_day, datetime, datetime::timestamptz,
           left(datetime, 10)::date, total_cents, text, data, prev_hash, hash FROM batch
    ON CONFLICT (store_id, device_id, seq) DO NOTHING
)
SELECT b.device_id, b.seq FROM batch b
JOIN fiscald.journal j ON j.store_id = %(store_id)s AND j.device_id = b.device_id AND j.seq = b.seq
WHERE j.hash <> b.hash LIMIT 1
"""

_OUTCOMES_SQL = """
INSERT INTO fiscald.operations (store_id, operation_id, device_id, operation, source, idem_key, state, http_status,
                                request, response, created_at, finished_at)
SELECT %(store_id)s, operation_id, device_id, operation, source, idem_key, state, http_status, request, response,
       to_timestamp(created_at::float8), to_timestamp(finished_at::float8)
FROM json_to_recordset(%(rows)s::json) AS b (operation_id text, device_id text, operation text, source text,
    idem_key text, state text, http_status integer, request jsonb, response jsonb, created_at text, finished_at text)
ON CONFLICT (store_id, operation_id) DO UPDATE SET state = excluded.state, http_status = excluded.http_status,
    response = excluded.response, finished_at = excluded.finished_at, shipped_at = now()
"""

_STORE_SQL = """
INSERT INTO fiscald.stores (store_id, fiscald_version, backlog_entries, backlog_oldest)
VALUES (%s, %s, %s, to_timestamp(%s))
ON CONFLICT (store_id) DO UPDATE SET last_contact = now(), fiscald_version = excluded.fiscald_version,
    backlog_entries = excluded.backlog_entries, backlog_oldest = excluded.backlog_oldest
"""

_DEVICE_SQL = """
INSERT INTO fiscald.devices (store_id, device_id, kind, name, manufacturer, model, serial, enabled, status,
                             status_text)
VALUES (%(store_id)s, %(device_id)s, %(kind)s, %(name)s, %(manufacturer)s, %(model)s, %(serial)s, %(enabled)s,
        %(status)s, %(status_text)s)
ON CONFLICT (store_id, device_id) DO UPDATE SET kind = excluded.kind, name = excluded.name,
    manufacturer = excluded.manufacturer, model = excluded.model, serial = coalesce(excluded.serial, devices.serial),
    enabled = excluded.enabled, status = excluded.status, status_text = excluded.status_text, last_contact = now()
"""

_POSITION_SQL = """
INSERT INTO fiscald.positions (store_id, instance_id, stream, position) VALUES (%s, %s, %s, %s)
ON CONFLICT (store_id, instance_id, stream) DO UPDATE SET position = excluded.position, updated_at = now()
"""


def _first_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def explain(exc: BaseException, target: url.Target) -> str:
    """One clear sentence for the status and the log; never the password."""
    where = url.describe(target.url) if target.url else "central database"
    message = _first_line(exc)
    if isinstance(exc, CentralError):
        text = f"central {where}: {message}"
    elif isinstance(exc, psycopg.OperationalError) and (exc.sqlstate in ("28P01", "28000") or any(
            sign in message for sign in ("password authentication failed", "no pg_hba.conf entry", "role \"",
                                         "password is required", "no password supplied"))):
        text = (f"central {where}: the database refused the login ({message}); check the user and password in "
                "central_url")
    elif isinstance(exc, psycopg.OperationalError) and (exc.sqlstate == "3D000" or "database \"" in message):
        text = f"central {where}: {message}; create it and run `fiscald central migrate --url ...`"
    elif isinstance(exc, psycopg.OperationalError):
        text = (f"central {where}: cannot reach the database ({message}); the backlog is kept and shipped when it "
                "answers")
    elif isinstance(exc, psycopg.Error):
        text = f"central {where}: the database refused a batch ({type(exc).__name__}: {message})"
    else:
        text = f"central {where}: {type(exc).__name__}: {message}"
    return url.scrub(text, target.url)


class Shipper:
    def __init__(self, db: Database, settings: Settings, devices: Callable[[], list[DeviceRow]] | None = None, *,
                 batch: int = BATCH, poll_s: float = POLL_S, heartbeat_s: float = HEARTBEAT_S) -> None:
        self.db = db
        self.settings = settings  # the live settings: a changed central_url or store_id applies at once
        self.devices = devices
        self.batch = batch
        self.poll_s = poll_s
        self.heartbeat_s = heartbeat_s
        self.status = ShipperStatus()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._conn: psycopg.Connection[tuple[Any, ...]] | None = None
        self._connected_to: tuple[str, str] | None = None
        self._positions: dict[str, int] = {}
        self._written: dict[str, int] = {}  # the positions last written to the local store
        self._next_position_write = 0.0
        self._shipped_devices: list[DeviceRow] | None = None
        self._next_heartbeat = 0.0
        self._instance = ""
        self._logged_error: str | None = None

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> None:
        """Start shipping (from the event loop whose devices :attr:`devices` describes, if any)."""
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None
        self._instance = self.db.read_sync(outbox.instance_id)
        self._thread = threading.Thread(target=self._run, name="fiscald-central", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the batch in flight (it commits or rolls back whole) and stop."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    async def aclose(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.stop)

    # -- the loop ---------------------------------------------------------------------------------
    def _run(self) -> None:
        delay = RETRY_FIRST_S
        try:
            while not self._stop.is_set():
                target = url.target(self.settings)
                self._show(target)
                if target.url is None or target.store_id is None or target.problem is not None:
                    self._close()
                    if target.problem is not None:
                        self._fail(target.problem)
                        self._refresh_backlog()
                    else:  # nothing to ship to: no backlog worth counting
                        self.status.state = "disabled"
                    self._pause(1.0, target, count=target.problem is not None)
                    continue
                started = time.monotonic()
                try:
                    more = self._step(target)
                except Exception as exc:
                    self._fail(explain(exc, target))
                    self._close()
                    self._refresh_backlog()
                    self._pause(delay, target)
                    delay = min(delay * 2, RETRY_MAX_S)
                    continue
                delay = RETRY_FIRST_S
                # a backlog drains at half duty: after each full batch, as long a pause as the batch took, so
                # the registers' own work keeps most of the CPU and the store's writer
                self._stop.wait((time.monotonic() - started) * DRAIN_PAUSE if more else self.poll_s)
        finally:
            self._close()

    def _pause(self, seconds: float, target: url.Target, count: bool = True) -> None:
        """Wait, but come back at once when stopped or when the configuration changes."""
        deadline = time.monotonic() + seconds
        while not self._stop.is_set() and time.monotonic() < deadline:
            self._stop.wait(min(1.0, max(0.0, deadline - time.monotonic())))
            if url.target(self.settings) != target:
                return
            if count:
                self._refresh_backlog()  # the status shows the backlog growing while the database is away

    def _show(self, target: url.Target) -> None:
        self.status.target = url.describe(target.url) if target.url else None
        self.status.store_id = target.store_id
        self.status.source = target.source

    def _fail(self, message: str) -> None:
        self.status.state = "error"
        self.status.errors += 1
        self.status.last_error = message
        self.status.last_error_at = time.time()
        if message != self._logged_error:  # once per distinct error, not once per retry
            log.warning("%s", message)
            self._logged_error = message

    def _save_positions(self) -> None:
        """Write the positions the central database holds to the local store, if they moved."""
        if self._positions and self._positions != self._written:
            self.db.write_sync(partial(outbox.set_positions, new=dict(self._positions)))
            self._written = dict(self._positions)
        self._next_position_write = time.monotonic() + POSITION_WRITE_S

    def _close(self) -> None:
        with contextlib.suppress(Exception):  # the store may be closing: the central copy is the truth anyway
            self._save_positions()
        if self._conn is not None:
            conn, self._conn, self._connected_to = self._conn, None, None
            with contextlib.suppress(psycopg.Error):
                conn.close()

    def _read(self, fn: Callable[..., T], *args: Any) -> T:
        return self.db.read_sync(lambda conn: fn(conn, *args))

    def _refresh_backlog(self) -> None:
        try:
            at = self._positions or self._read(outbox.positions)
            self._set_backlog(self._read(outbox.backlog, at))
        except Exception:  # the store is closing; the status keeps its last values
            pass

    def _set_backlog(self, backlog: outbox.Backlog) -> None:
        self.status.backlog_journal = backlog.journal
        self.status.backlog_outcomes = backlog.outcomes
        self.status.backlog_oldest = backlog.oldest

    # -- connecting -------------------------------------------------------------------------------
    def _connect(self, target: url.Target) -> psycopg.Connection[tuple[Any, ...]]:
        assert target.url is not None and target.store_id is not None
        if self._conn is not None and self._connected_to == (target.url, target.store_id):
            return self._conn
        self._close()
        self.status.state = "connecting"
        conn = psycopg.connect(target.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S,
                               application_name=f"fiscald {target.store_id}"[:63], **KEEPALIVES)
        try:
            conn.execute(f"SET statement_timeout = '{STATEMENT_TIMEOUT}'")
            version = current_version(conn)
            if version < VERSION:
                found = "has no fiscald schema" if version == 0 else f"has schema version {version}, not {VERSION}"
                raise CentralError(f"the database {found}: run `fiscald central migrate --url ...` once for it")
            rows = conn.execute("SELECT stream, position FROM fiscald.positions WHERE store_id = %s "
                                "AND instance_id = %s", (target.store_id, self._instance)).fetchall()
        except BaseException:
            conn.close()
            raise
        central = {str(stream): int(position) for stream, position in rows}
        heads = self._read(outbox.heads)
        # the central copy is the truth (it commits with the rows); a central database that is ahead of this
        # store (restored store, or reused instance) is followed only up to what the store has
        self._positions = {s: min(central.get(s, 0), heads[s]) for s in outbox.STREAMS}
        self._written = self._read(outbox.positions)
        self._save_positions()
        self._conn, self._connected_to = conn, (target.url, target.store_id)
        self._shipped_devices = None
        self._next_heartbeat = 0.0
        return conn

    def _device_rows(self) -> list[DeviceRow] | None:
        loop, devices = self._loop, self.devices
        if loop is None or devices is None:
            return None
        result: Future[list[DeviceRow]] = Future()

        def collect() -> None:
            try:
                result.set_result(devices())
            except Exception as exc:
                result.set_exception(exc)

        try:
            loop.call_soon_threadsafe(collect)
            return result.result(timeout=5)
        except Exception:  # the loop is closing
            return None

    # -- one batch --------------------------------------------------------------------------------
    def _step(self, target: url.Target) -> bool:
        """Ship one batch (or a heartbeat). Returns whether more rows are waiting."""
        conn = self._connect(target)
        store_id = target.store_id
        assert store_id is not None
        at = self._positions
        journal = self._read(outbox.journal_batch, at["journal"], self.batch)
        outcomes = self._read(outbox.outcomes_batch, at["outcomes"], self.batch)
        devices = self._device_rows()
        changed_devices = devices is not None and devices != self._shipped_devices
        due = time.monotonic() >= self._next_heartbeat
        if not journal.count and not outcomes.count and not changed_devices and not due:
            self.status.state = "idle"
            self._set_backlog(self._read(outbox.backlog, at))
            return False
        self.status.state = "shipping"
        new = {"journal": journal.last, "outcomes": outcomes.last}
        backlog = self._read(outbox.backlog, new)
        with conn.transaction():
            conn.execute(_STORE_SQL, (store_id, __version__, backlog.total, backlog.oldest))
            if devices is not None and (changed_devices or due):
                with conn.cursor() as cur:
                    cur.executemany(_DEVICE_SQL, [{"store_id": store_id, **asdict(d)} for d in devices])
            if journal.count:
                self._ship_journal(conn, store_id, journal)
            if outcomes.count:
                conn.execute(_OUTCOMES_SQL, {"store_id": store_id, "rows": outcomes.rows})
            for stream in outbox.STREAMS:
                if new[stream] != at[stream]:
                    conn.execute(_POSITION_SQL, (store_id, self._instance, stream, new[stream]))
        # committed centrally: now (and only now) the local positions may follow
        self._positions = new
        if time.monotonic() >= self._next_position_write:
            self._save_positions()
        self._shipped_devices = devices if devices is not None else self._shipped_devices
        self._next_heartbeat = time.monotonic() + self.heartbeat_s
        self.status.shipped["journal"] += journal.count
        self.status.shipped["outcomes"] += outcomes.count
        if journal.count:
            self.status.last_entry = self._read(outbox.journal_entry, journal.last)
        self.status.last_success_at = time.time()
        if self._logged_error is not None:
            log.warning("central %s: shipping again", url.describe(target.url or ""))
            self._logged_error = None
        self._set_backlog(backlog)
        self.status.state = "shipping" if backlog.total else "idle"
        return journal.count == self.batch or outcomes.count == self.batch

    @staticmethod
    def _ship_journal(conn: psycopg.Connection[tuple[Any, ...]], store_id: str, batch: outbox.Batch) -> None:
        conflict = conn.execute(_JOURNAL_SQL, {"store_id": store_id, "rows": batch.rows}).fetchone()
        if conflict is not None:
            raise CentralError(f"journal entry {conflict[1]} of device {conflict[0]} is already in the database with "
                               f"another hash: is store_id {store_id!r} used by another store? Nothing was shipped")
