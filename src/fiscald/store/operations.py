"""The operation log: every state-changing operation (and every one with an idempotency key) is
recorded as *running* before the device is touched and as *done* (with its response) before the
caller is answered. Idempotency keys are looked up here; rows outlive a crash."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from typing import Any, Literal

from fiscald import jsonfmt

State = Literal["running", "done", "unknown"]


@dataclass(frozen=True)
class OperationRecord:
    id: str
    device_id: str
    operation: str
    source: str
    idem_key: str | None
    request_hash: str
    state: State
    http_status: int | None
    response: dict[str, Any] | None
    created_at: float
    finished_at: float | None
    journal_seq: int | None = None  # the device's last journal seq when recorded as started (None: not known)


def _row(row: sqlite3.Row) -> OperationRecord:
    return OperationRecord(
        row["id"], row["device_id"], row["operation"], row["source"], row["idem_key"], row["request_hash"],
        row["state"], row["http_status"], None if row["response"] is None else jsonfmt.loads(row["response"]),
        row["created_at"], row["finished_at"], row["journal_seq"],
    )


def insert_running(conn: sqlite3.Connection, op_id: str, device_id: str, operation: str, source: str,
                   idem_key: str | None, request_hash: str, request: dict[str, Any]) -> None:
    """Record the operation as started, with the device's last journal seq at this point: whatever the operation
    journals is appended after this write (in its transaction or a later one), so it has a higher seq."""
    conn.execute(
        """INSERT INTO operations (id, device_id, operation, source, idem_key, request_hash, request, state,
           created_at, journal_seq) VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?,
           (SELECT COALESCE(MAX(seq), 0) FROM journal WHERE device_id = ?))""",
        (op_id, device_id, operation, source, idem_key, request_hash,
         jsonfmt.dumps(request), time.time(), device_id),
    )


def finish(conn: sqlite3.Connection, op_id: str, http_status: int, response: dict[str, Any],
           state: State = "done", release_key: bool = False) -> None:
    """Record the answer. ``release_key``: the operation failed leaving nothing on the device, so it stays in
    the log (and is shipped like any outcome) but no longer holds its Idempotency-Key: a retry executes."""
    conn.execute(
        """UPDATE operations SET state = ?, http_status = ?, response = ?, finished_at = ?,
           idem_key = CASE WHEN ? THEN NULL ELSE idem_key END WHERE id = ?""",
        (state, http_status, jsonfmt.dumps(response), time.time(), release_key, op_id),
    )


def forget(conn: sqlite3.Connection, op_id: str) -> None:
    """Drop a record whose error the request itself caused (such answers are not replayed)."""
    conn.execute("DELETE FROM operations WHERE id = ?", (op_id,))


def by_key(conn: sqlite3.Connection, device_id: str, idem_key: str) -> OperationRecord | None:
    row = conn.execute(
        "SELECT * FROM operations WHERE device_id = ? AND idem_key = ?", (device_id, idem_key)
    ).fetchone()
    return None if row is None else _row(row)


def get(conn: sqlite3.Connection, op_id: str) -> OperationRecord | None:
    row = conn.execute("SELECT * FROM operations WHERE id = ?", (op_id,)).fetchone()
    return None if row is None else _row(row)


def interrupted(conn: sqlite3.Connection) -> list[OperationRecord]:
    """Operations that were on a device when the process stopped."""
    return [_row(r) for r in conn.execute("SELECT * FROM operations WHERE state = 'running' ORDER BY created_at")]


def purge(conn: sqlite3.Connection, older_than: float) -> int:
    """Forget finished operations older than ``older_than``, except outcomes a store that ships to a central
    database (docs/central.md) has not shipped yet."""
    return conn.execute(
        """DELETE FROM operations WHERE created_at < ? AND state != 'running'
           AND (outcome_seq <= (SELECT position FROM central_outbox WHERE stream = 'outcomes')
                OR (SELECT position FROM central_outbox WHERE stream = 'outcomes') = 0)""",
        (older_than,)).rowcount
