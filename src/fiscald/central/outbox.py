"""The local side of shipping: what is not shipped yet, read from the store in order, and the durable outbox
positions (``central_outbox``: the last journal id and the last outcome number the central database holds).

Journal ids and outcome numbers are assigned inside write transactions, which SQLite runs one at a time, so a
reader never sees a higher one committed before a lower one: "everything above the position" is exact.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from dataclasses import dataclass

STREAMS = ("journal", "outcomes")


@dataclass(frozen=True)
class Batch:
    """Rows above a position, as one JSON array built by SQLite (no per-row work in Python)."""

    count: int
    last: int  # the position after this batch: the last journal id or outcome number in it
    rows: str  # JSON array of objects, one per row, keyed by the central column names


_JOURNAL_BATCH = """
SELECT count(*), max(id), json_group_array(json_object(
    'device_id', device_id, 'seq', seq, 'kind', kind, 'number', number, 'fiscal_day', fiscal_day,
    'datetime', datetime, 'total_cents', total_cents, 'text', text, 'data', json(data), 'prev_hash', prev_hash,
    'hash', hash))
FROM (SELECT * FROM journal WHERE id > ? ORDER BY id LIMIT ?)"""

_OUTCOMES_BATCH = """
SELECT count(*), max(outcome_seq), json_group_array(json_object(
    'operation_id', id, 'device_id', device_id, 'operation', operation, 'source', source, 'idem_key', idem_key,
    'state', state, 'http_status', http_status, 'request', json(request), 'response', json(response),
    'created_at', printf('%.6f', created_at), 'finished_at', printf('%.6f', finished_at)))
FROM (SELECT * FROM operations WHERE outcome_seq > ? ORDER BY outcome_seq LIMIT ?)"""


def _batch(conn: sqlite3.Connection, sql: str, position: int, limit: int) -> Batch:
    count, last, rows = conn.execute(sql, (position, limit)).fetchone()
    return Batch(int(count), position if last is None else int(last), rows)


def journal_batch(conn: sqlite3.Connection, position: int, limit: int) -> Batch:
    return _batch(conn, _JOURNAL_BATCH, position, limit)


def outcomes_batch(conn: sqlite3.Connection, position: int, limit: int) -> Batch:
    return _batch(conn, _OUTCOMES_BATCH, position, limit)


def journal_entry(conn: sqlite3.Connection, entry_id: int) -> dict[str, object] | None:
    row = conn.execute("SELECT id, device_id, seq, kind, number, datetime FROM journal WHERE id = ?",
                       (entry_id,)).fetchone()
    return None if row is None else dict(zip(("id", "device_id", "seq", "kind", "number", "datetime"), row,
                                              strict=True))


@dataclass(frozen=True)
class Backlog:
    journal: int
    outcomes: int
    oldest: float | None  # unix time of the oldest entry not shipped (the register's clock for the journal)

    @property
    def total(self) -> int:
        return self.journal + self.outcomes


def instance_id(conn: sqlite3.Connection) -> str:
    """This store database's own id: two data dirs shipping under one store_id keep their positions apart."""
    return str(conn.execute("SELECT id FROM central_instance").fetchone()[0])


def positions(conn: sqlite3.Connection) -> dict[str, int]:
    return {row["stream"]: int(row["position"]) for row in conn.execute("SELECT stream, position FROM central_outbox")}


def set_positions(conn: sqlite3.Connection, new: dict[str, int]) -> None:
    """Called only after the central transaction holding everything up to ``new`` committed."""
    for stream, position in new.items():
        conn.execute("UPDATE central_outbox SET position = ?, shipped_at = ? WHERE stream = ?",
                     (position, time.time(), stream))


def heads(conn: sqlite3.Connection) -> dict[str, int]:
    """The newest journal id and outcome number in the store."""
    journal = conn.execute("SELECT COALESCE(MAX(id), 0) FROM journal").fetchone()[0]
    outcomes = conn.execute("SELECT last FROM central_outcome_counter").fetchone()[0]
    return {"journal": int(journal), "outcomes": int(outcomes)}


def _unix(stamp: str) -> float | None:
    try:
        return dt.datetime.fromisoformat(stamp).timestamp()
    except ValueError:
        return None


def backlog(conn: sqlite3.Connection, at: dict[str, int]) -> Backlog:
    journal = conn.execute("SELECT COUNT(*), MIN(id) FROM journal WHERE id > ?", (at["journal"],)).fetchone()
    outcomes = conn.execute("SELECT COUNT(*), MIN(created_at) FROM operations WHERE outcome_seq > ?",
                            (at["outcomes"],)).fetchone()
    oldest: list[float] = []
    if journal[1] is not None:
        first = conn.execute("SELECT datetime FROM journal WHERE id = ?", (journal[1],)).fetchone()
        stamp = _unix(first[0]) if first is not None else None
        if stamp is not None:
            oldest.append(stamp)
    if outcomes[1] is not None:
        oldest.append(float(outcomes[1]))
    return Backlog(int(journal[0]), int(outcomes[0]), min(oldest) if oldest else None)
