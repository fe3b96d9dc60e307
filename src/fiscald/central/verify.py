"""Walk the central copy of every device's hash chain, recomputing each entry's hash as the store did."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from fiscald.store.journal import GENESIS, entry_hash

_ROWS = """SELECT seq, kind, number, fiscal_day, datetime, total_cents, text, data, prev_hash, hash
           FROM fiscald.journal WHERE store_id = %s AND device_id = %s ORDER BY seq"""


@dataclass(frozen=True)
class ChainCheck:
    store_id: str
    device_id: str
    checked: int
    broken_at: int | None  # the seq of the first entry that does not chain, or None

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def _chain(conn: psycopg.Connection[Any], store_id: str, device_id: str) -> ChainCheck:
    prev, expected, checked = GENESIS, 1, 0
    with conn.cursor(name="chain") as cur:  # server-side: a long journal is streamed, not loaded whole
        cur.itersize = 2000
        cur.execute(_ROWS, (store_id, device_id))
        for seq, kind, number, fiscal_day, datetime, total_cents, text, data, prev_hash, digest in cur:
            computed = entry_hash(prev, seq, kind, number, fiscal_day, datetime, total_cents, text, data)
            if seq != expected or prev_hash != prev or digest != computed:
                return ChainCheck(store_id, device_id, checked, seq)
            prev, expected, checked = digest, expected + 1, checked + 1
    return ChainCheck(store_id, device_id, checked, None)


def verify(conn: psycopg.Connection[Any], store_id: str | None = None) -> list[ChainCheck]:
    """One result per (store, device) in the central journal, optionally of one store."""
    devices = conn.execute(
        "SELECT DISTINCT store_id, device_id FROM fiscald.journal WHERE %s::text IS NULL OR store_id = %s "
        "ORDER BY 1, 2", (store_id, store_id)).fetchall()
    with conn.transaction():  # a named cursor needs one
        return [_chain(conn, str(s), str(d)) for s, d in devices]
