"""journal.printed_for: the receipt a driver journaled for an operation (crash recovery at start-up, a keyed retry
after 2004/1010), looked for only among the device's entries after the operation was recorded as started
(operations.journal_seq), so a receipt that was never journaled does not cost a read of every receipt the device
ever printed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from query_plan import plan_of

from fiscald.app import open_database
from fiscald.store import journal
from fiscald.store import operations as op_repo


def _receipt(conn: sqlite3.Connection, device: str, operation_id: str | None) -> journal.JournalEntry:
    return journal.append(conn, device, "receipt", 1, 1, "2026-12-06T10:00:00+02:00", 1200, "BON",
                          {"operation_id": operation_id, "result": {"receipt_number": 1}})


def test_an_operation_records_its_devices_last_journal_seq_and_the_lookup_reads_only_what_follows(
        tmp_path: Path) -> None:
    db = open_database(tmp_path)
    try:
        def before(conn: sqlite3.Connection) -> None:
            for _ in range(3):
                _receipt(conn, "a", None)
            _receipt(conn, "b", None)  # another device's entries do not count
            _receipt(conn, "a", "op-1")  # an entry for the same id journaled before the operation: never its own
            op_repo.insert_running(conn, "op-1", "a", "print_receipt", "http", None, "", {})

        db.write_sync(before)
        record = db.read_sync(lambda conn: op_repo.get(conn, "op-1"))
        assert record is not None and record.journal_seq == 4
        assert db.read_sync(lambda conn: journal.printed_for(conn, "a", "op-1", after_seq=4)) is None

        printed = db.write_sync(lambda conn: _receipt(conn, "a", "op-1"))
        found = db.read_sync(lambda conn: journal.printed_for(conn, "a", "op-1", after_seq=record.journal_seq))
        assert found is not None and found.seq == printed.seq == 5
        # a record from before the column (NULL): every entry of the device is looked at, as before
        assert db.read_sync(lambda conn: journal.printed_for(conn, "a", "op-1")) == found
    finally:
        db.close()


def test_the_lookup_searches_the_index_from_the_operations_seq(tmp_path: Path) -> None:
    steps = plan_of(tmp_path, lambda conn: journal.printed_for(conn, "a", "op-1", after_seq=10))
    assert any("journal_kind_seq" in step and "seq>?" in step.replace(" ", "") for step in steps), steps
    assert not [step for step in steps if step.startswith("SCAN")]
