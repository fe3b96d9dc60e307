"""The local side of shipping: what is not shipped yet, read from the store in order, and the durable outbox
positions (``central_outbox``: the last journal id and the last outcome number the central database holds).

Journal ids and outcome numbers are assigned by the store's single writer inside its transactions, so a
reader never sees a higher one committed before a lower one: "everything above the position" is exact.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from dataclasses import dataclass

STREAMS = ("journal", "outcomes")


@dataclass(frozen=True)
class JournalRow:
    id: int
    device_id: str
    seq: int
    kind: str
    number: int | None
    fiscal_day: int
    datetime: str
    total_cents: int | None
    text: str
    data: str  # the stored JSON text, passed on as is
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class OutcomeRow:
    outcome_seq: int
    id: str
    device_id: str
    operation: str
    source: str
    idem_key: str | None
    state: str
    http_status: int | None
    request: str
    response: str | None
    created_at: float
    finished_at: float | None


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


def journal_after(conn: sqlite3.Connection, position: int, limit: int) -> list[JournalRow]:
    rows = conn.execute(
        """SELECT id, device_id, seq, kind, number, fiscal_day, datetime, total_cents, text, data, prev_hash, hash
           FROM journal WHERE id > ? ORDER BY id LIMIT ?""", (position, limit))
    return [JournalRow(*row) for row in rows]


def outcomes_after(conn: sqlite3.Connection, position: int, limit: int) -> list[OutcomeRow]:
    rows = conn.execute(
        """SELECT outcome_seq, id, device_id, operation, source, idem_key, state, http_status, request, response,
                  created_at, finished_at
           FROM operations WHERE outcome_seq > ? ORDER BY outcome_seq LIMIT ?""", (position, limit))
    return [OutcomeRow(*row) for row in rows]


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
