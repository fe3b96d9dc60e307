"""journal.count_since: the day's documents of some kinds since the last Z, counted in SQL (the Datecs driver
numbers a day's receipts with it inside the appending transaction)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from query_plan import plan_of

from fiscald.app import open_database
from fiscald.store import journal

KINDS = ("receipt", "void", "cash_in", "z_report", "duplicate")


def _append(conn: sqlite3.Connection, device: str, kind: str, day: int) -> None:
    journal.append(conn, device, kind, None, day, "2026-12-01T10:00:00+02:00", None, kind, {})


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(KINDS), st.integers(1, 3), st.sampled_from(["a", "b"])), max_size=30))
def test_count_since_matches_a_walk_of_the_journal(tmp_path_factory: pytest.TempPathFactory,
                                                  entries: list[tuple[str, int, str]]) -> None:
    db = open_database(tmp_path_factory.mktemp("count"))
    try:
        def fill(conn: sqlite3.Connection) -> None:
            for kind, day, device in entries:
                _append(conn, device, kind, day)

        db.write_sync(fill)
        for device in ("a", "b"):
            mine = [(kind, day) for kind, day, d in entries if d == device]
            last_z = max((i for i, (kind, _) in enumerate(mine) if kind == "z_report"), default=-1)
            for day in (1, 2, 3):
                expected = sum(1 for kind, d in mine[last_z + 1:] if d == day and kind in ("receipt", "void"))
                got = db.read_sync(lambda conn, dev=device, dy=day: journal.count_since(
                    conn, dev, ("receipt", "void"), dy, "z_report"))
                assert got == expected
    finally:
        db.close()


def test_count_since_reads_the_index_only_never_every_entry_of_the_device(tmp_path: Path) -> None:
    """Once per Datecs receipt: a plan that scans the device's journal grows with every entry it ever made."""
    steps = plan_of(tmp_path, lambda conn: journal.count_since(conn, "a", ("receipt", "void"), 1, "z_report"))
    assert steps and all("COVERING INDEX journal_kind_seq" in step for step in steps if "journal" in step)
    assert not [step for step in steps if step.startswith("SCAN")]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(("ours", "other device", *KINDS)), st.integers(1, 2)), max_size=40))
def test_a_day_number_counted_on_from_the_last_receipt_equals_the_count(tmp_path_factory: pytest.TempPathFactory,
                                                                      steps: list[tuple[str, int]]) -> None:
    """The register driver's numbering (journal.day_number, counted on from its own last receipt) against
    count_since, whatever was journaled in between: voids and other documents from other paths, Z reports,
    another day, another device's entries."""
    db = open_database(tmp_path_factory.mktemp("day"))
    try:
        known: journal.DayPosition | None = None
        for kind, day in steps:
            if kind == "other device":
                db.write_sync(lambda conn, dy=day: _append(conn, "b", "receipt", dy))
                continue
            if kind != "ours":
                db.write_sync(lambda conn, k=kind, dy=day: _append(conn, "a", k, dy))
                continue

            def ours(conn: sqlite3.Connection, dy: int = day,
                     before: journal.DayPosition | None = known) -> tuple[int, int, int]:
                counted = 1 + journal.count_since(conn, "a", ("receipt", "void"), dy, "z_report")
                numbered: list[int] = []

                def data(_entry_id: int, entry_seq: int) -> dict[str, Any]:  # as the register driver numbers it
                    numbered.append(journal.day_number(conn, "a", dy, entry_seq, before))
                    return {}

                entry = journal.append(conn, "a", "receipt", None, dy, "2026-12-01T10:00:00+02:00", None, "r", data)
                return numbered[0], counted, entry.seq

            number, counted, seq = db.write_sync(ours)
            assert number == counted
            known = journal.DayPosition(day, seq, number)
    finally:
        db.close()


def test_a_day_number_counted_on_runs_no_count(tmp_path: Path) -> None:
    """While the last receipt is the entry just before the new one, its number is counted on from: no statement
    at all, not the COUNT over the day's receipts (which grows with them)."""
    db = open_database(tmp_path)
    try:
        def receipts(conn: sqlite3.Connection) -> journal.DayPosition:
            for _ in range(50):
                _append(conn, "a", "receipt", 1)
            return journal.DayPosition(1, 50, 50)

        known = db.write_sync(receipts)
        statements: list[str] = []

        def number(conn: sqlite3.Connection, seq: int) -> int:
            conn.set_trace_callback(statements.append)
            try:
                return journal.day_number(conn, "a", 1, seq, known)
            finally:
                conn.set_trace_callback(None)

        assert db.read_sync(lambda conn: number(conn, 51)) == 51
        assert statements == []
        db.write_sync(lambda conn: _append(conn, "a", "cash_in", 1))  # another document took seq 51: counted again
        assert db.read_sync(lambda conn: number(conn, 52)) == 51
        assert any("COUNT" in sql for sql in statements)
    finally:
        db.close()
