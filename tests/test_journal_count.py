"""journal.count_since: the day's documents of some kinds since the last Z, counted in SQL (the Datecs driver
numbers a day's receipts with it inside the appending transaction)."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
