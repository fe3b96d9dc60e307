"""INP claims: one row per command file this instance claimed (renamed to ``<name>.processing``).

A row is written *before* the rename (state ``claimed``, with the file's identity ``dev:inode`` from ``os.lstat``
on every platform: ``os.DirEntry.stat()`` has no inode on Windows), gets the
content hash and the file's outcome (state ``done``) before any result file is written, and is marked
``resolved`` once its ``.processing`` file is gone. The row id is the file's idempotency scope: job ``i``
of the file runs with the key ``inp:<id>:<i>``, so after a crash the operation log says, per job, whether
it finished (replayed), was on the device (1010) or never started.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from typing import Any, Literal

State = Literal["claimed", "done", "resolved"]


@dataclass(frozen=True)
class Claim:
    id: str
    device_id: str
    folder: str
    name: str
    file_id: str
    state: State
    sha256: str | None
    outcome: dict[str, Any] | None


def _row(row: sqlite3.Row) -> Claim:
    outcome = None if row["outcome"] is None else json.loads(row["outcome"])
    return Claim(row["id"], row["device_id"], row["folder"], row["name"], row["file_id"], row["state"],
                 row["sha256"], outcome)


def insert(conn: sqlite3.Connection, claim_id: str, device_id: str, folder: str, name: str, file_id: str,
           refused: dict[str, Any] | None = None) -> None:
    """A new claim; ``refused``: the file is answered without being read (its name cannot be used), so its
    outcome is on record from the start (state ``done``, no content hash)."""
    now = time.time()
    if refused is None:
        conn.execute(
            """INSERT INTO inp_claims (id, device_id, folder, name, file_id, state, created_at)
               VALUES (?, ?, ?, ?, ?, 'claimed', ?)""",
            (claim_id, device_id, folder, name, file_id, now),
        )
        return
    conn.execute(
        """INSERT INTO inp_claims
           (id, device_id, folder, name, file_id, state, sha256, outcome, created_at, finished_at)
           VALUES (?, ?, ?, ?, ?, 'done', '', ?, ?, ?)""",
        (claim_id, device_id, folder, name, file_id, _json(refused), now, now),
    )


def _json(outcome: dict[str, Any]) -> str:
    return json.dumps(outcome, separators=(",", ":"), ensure_ascii=False)


def delete(conn: sqlite3.Connection, claim_id: str) -> None:
    """The rename failed (another instance has the file): the claim never happened."""
    conn.execute("DELETE FROM inp_claims WHERE id = ?", (claim_id,))


def finish(conn: sqlite3.Connection, claim_id: str, sha256: str, outcome: dict[str, Any]) -> None:
    conn.execute(
        "UPDATE inp_claims SET state = 'done', sha256 = ?, outcome = ?, finished_at = ? WHERE id = ?",
        (sha256, _json(outcome), time.time(), claim_id),
    )


def open_claim(conn: sqlite3.Connection, device_id: str, folder: str, name: str, file_id: str) -> Claim | None:
    """The newest unresolved claim of ``folder/name`` whose file is ``file_id``, if this device made one."""
    row = conn.execute(
        """SELECT * FROM inp_claims WHERE device_id = ? AND folder = ? AND name = ? AND file_id = ?
           AND state != 'resolved' ORDER BY created_at DESC, rowid DESC LIMIT 1""",
        (device_id, folder, name, file_id),
    ).fetchone()
    return None if row is None else _row(row)


def resolve_others(conn: sqlite3.Connection, device_id: str, folder: str, keep: list[str]) -> int:
    """Mark the device's unresolved claims in ``folder`` resolved except ``keep`` (whose files are still claimed)."""
    marks = ",".join("?" * len(keep))
    return conn.execute(
        f"""UPDATE inp_claims SET state = 'resolved' WHERE device_id = ? AND folder = ? AND state != 'resolved'
            AND id NOT IN ({marks})""",
        (device_id, folder, *keep),
    ).rowcount


def purge(conn: sqlite3.Connection, older_than: float) -> int:
    return conn.execute("DELETE FROM inp_claims WHERE state = 'resolved' AND created_at < ?",
                        (older_than,)).rowcount
