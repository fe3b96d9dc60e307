"""Shipping the journal, Z reports and operation outcomes to a real PostgreSQL (tests/pg.py), exactly once."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from central_check import assert_same
from fiscald.central.schema import migrate
from fiscald.central.shipper import Shipper
from fiscald.central.verify import verify
from fiscald.config import Settings
from fiscald.store import Database
from fiscald.store import journal as journal_repo
from fiscald.store import operations as op_repo
from pg import PgCluster, wait_until


def fresh_database(pg: PgCluster, name: str) -> str:
    url = pg.create_database(name)
    with psycopg.connect(url, autocommit=True) as conn:
        migrate(conn)
    return url


def fill(db: Database, devices: list[str], per_device: int, start_day: str = "2026-11-30") -> None:
    """Journal entries (receipts, a Z report per 100) and finished operations, as the registers write them."""

    def write(conn: sqlite3.Connection, device_id: str, first: int, count: int) -> None:
        for n in range(first, first + count):
            op_id = uuid.uuid4().hex
            op_repo.insert_running(conn, op_id, device_id, "print_receipt", "http", None, "h", {"n": n})
            if n % 100 == 99:
                data = {"z_number": n // 100 + 1, "receipts_count": 99, "total_cents": 99 * 1000,
                        "vat_totals": {"A": {"rate_basis_points": 2100, "base_cents": 1, "vat_cents": 2}}}
                journal_repo.append(conn, device_id, "z_report", n // 100 + 1, n // 100 + 1,
                                    f"{start_day}T20:00:00+02:00", 99 * 1000, "RAPORT Z", data)
            else:
                data = {"result": {"vat_totals": {"A": {"rate_basis_points": 2100, "base_cents": 826,
                                                        "vat_cents": 174}}},
                        "payments": {"cash": 600, "card": 400}}
                journal_repo.append(conn, device_id, "receipt", n + 1, n // 100 + 1,
                                    f"{start_day}T10:{n % 60:02d}:00+02:00", 1000, f"BON {n}\nCafea 10,00", data)
            op_repo.finish(conn, op_id, 200, {"status": 200, "result": {"n": n}})

    for device_id in devices:
        for first in range(0, per_device, 500):
            db.write_sync(lambda c, d=device_id, f=first: write(c, d, f, min(500, per_device - f)))


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[Database]:
    db = Database(tmp_path / "store.db")
    yield db
    db.close()


def shipper_for(db: Database, url: str, store_id: str, **kwargs: Any) -> Shipper:
    shipper = Shipper(db, Settings(central_url=url, store_id=store_id), poll_s=0.05, **kwargs)
    shipper.start()
    return shipper


def drained(shipper: Shipper) -> bool:
    status = shipper.status
    return status.state == "idle" and status.backlog_journal == 0 and status.backlog_outcomes == 0


def test_ten_thousand_entries_from_four_registers(pg: PgCluster, store: Database) -> None:
    url = fresh_database(pg, "ten_thousand")
    devices = [str(uuid.uuid4()) for _ in range(4)]
    fill(store, devices, 2500)
    shipper = shipper_for(store, url, "store-0001")
    try:
        wait_until(lambda: drained(shipper), 90, "the backlog to drain")
    finally:
        shipper.stop()
    assert assert_same(store.path, url, "store-0001") == 10_000
    with psycopg.connect(url) as conn:
        checks = verify(conn)
        assert [(c.checked, c.ok) for c in checks] == [(2500, True)] * 4
        assert conn.execute("SELECT count(*) FROM fiscald.chain_breaks").fetchone() == (0,)
        sales = conn.execute("SELECT store_id, day, receipts, total_cents FROM fiscald.sales_per_store_day").fetchall()
        assert [(s, str(d), n, t) for s, d, n, t in sales] == [("store-0001", "2026-11-30", 9900, 9_900_000)]
        assert conn.execute("SELECT rate_basis_points, base_cents, vat_cents FROM fiscald.vat_per_rate").fetchall() \
            == [(2100, 826 * 9900, 174 * 9900)]
        assert sorted(conn.execute("SELECT payment_type, receipts, cents FROM fiscald.payment_mix").fetchall()) \
            == [("card", 9900, 400 * 9900), ("cash", 9900, 600 * 9900)]
        assert conn.execute("SELECT count(*), min(z_number), max(z_number) FROM fiscald.last_z").fetchone() \
            == (4, 25, 25)
        assert conn.execute("SELECT position FROM fiscald.positions WHERE stream = 'journal'").fetchone() == (10_000,)
    status = shipper.status.snapshot()
    assert status["shipped"] == {"journal": 10_000, "outcomes": 10_000}
    assert status["last_entry"]["id"] == 10_000 and status["last_error"] is None
