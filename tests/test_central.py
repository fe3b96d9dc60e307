"""Shipping the journal, Z reports and operation outcomes to a real PostgreSQL (tests/pg.py), exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from polling import wait_for
from typer.testing import CliRunner

from central_check import assert_same, central_counts, fill
from fiscald.app import create_app
from fiscald.central import outbox
from fiscald.central.schema import migrate
from fiscald.central.shipper import Shipper
from fiscald.central.verify import verify
from fiscald.cli import cli
from fiscald.config import Settings
from fiscald.store import Database
from fiscald.store import devices as device_repo
from fiscald.store import operations as op_repo
from pg import PgCluster
from server import Server, add_simulated_register, item, op


def fresh_database(pg: PgCluster, name: str) -> str:
    url = pg.create_database(name)
    with psycopg.connect(url, autocommit=True) as conn:
        migrate(conn)
    return url


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
        wait_for(lambda: drained(shipper), 90, "the backlog to drain")
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


def set_central(data_dir: Path, url: str | None, store_id: str | None) -> None:
    """Point a (stopped) server's data dir at a central database, as `fiscald settings set` would."""
    db = Database(data_dir / "fiscald.db")
    try:
        def save(conn: sqlite3.Connection) -> None:
            settings = device_repo.load_settings(conn)
            settings.central_url, settings.store_id = url, store_id
            device_repo.save_settings(conn, settings)
        db.write_sync(save)
    finally:
        db.close()


@contextlib.asynccontextmanager
async def running_app(data_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The real app in process (its lifespan: store, devices, shipper), reached over ASGI."""
    app = create_app(data_dir)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1", timeout=30) as client:
        yield client


async def sell(client: httpx.AsyncClient, device_id: str, count: int, sold: list[int]) -> None:
    for _ in range(count):
        answer = await client.post("/devices/operation", json=op(device_id, "print_receipt", {
            "lines": [item()], "payments": [{"type": "cash", "amount_cents": 1000}]}))
        assert answer.json()["status"] == 200, answer.text  # sales go on whatever the central database does
        sold[0] += 1


def test_postgres_stopped_under_load(pg: PgCluster, tmp_path: Path) -> None:
    """PostgreSQL goes away (like a crash) in the middle of sales on four registers and comes back: the backlog
    grows on disk meanwhile, then drains; nothing is missing or doubled."""
    url = fresh_database(pg, "outage")
    data = tmp_path / "data"
    registers = [add_simulated_register(data, f"Casa {i}") for i in range(4)]
    set_central(data, url, "store-outage")

    async def go() -> None:
        async with running_app(data) as client:
            sold = [0]
            load = asyncio.gather(*(sell(client, dev, 200, sold) for dev in registers))
            try:
                await outage(client, load, sold)
            finally:
                load.cancel()
                if not pg.up:  # the other tests need it
                    pg.start()

    async def outage(client: httpx.AsyncClient, load: asyncio.Future[Any], sold: list[int]) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while (await loop.run_in_executor(None, central_counts, url, "store-outage"))[0] == 0:
            assert not load.done() and loop.time() < deadline
            await asyncio.sleep(0.02)
        await loop.run_in_executor(None, pg.stop)
        stopped_at = sold[0]
        while (health := (await client.get("/health")).json()["central"])["state"] != "error" \
                or sold[0] < stopped_at + 60 or health["backlog"]["journal"] == 0:
            # the shipper noticed, sales went on meanwhile, and the backlog they leave shows
            assert not load.done() and loop.time() < deadline
            await asyncio.sleep(0.01)
        assert "cannot reach the database" in health["last_error"] and health["backlog"]["age_s"] is not None
        assert dt.datetime.fromisoformat(health["last_error_at"]).tzinfo is not None  # ISO 8601, like all times
        assert "fiscald_central_up 0" in (await client.get("/metrics")).text
        await load
        await loop.run_in_executor(None, pg.start)
        while (await client.get("/health")).json()["central"]["backlog"] != {"journal": 0, "outcomes": 0,
                                                                              "age_s": None}:
            assert loop.time() < deadline + 60, "the backlog did not drain"
            await asyncio.sleep(0.05)
        assert (await client.get("/health")).json()["central"]["state"] == "idle"

    asyncio.run(go())
    assert assert_same(data / "fiscald.db", url, "store-outage") == 800
    with psycopg.connect(url) as conn:
        assert all(c.ok and c.checked == 200 for c in verify(conn, "store-outage"))
        devices = conn.execute("SELECT device_id, status, serial FROM fiscald.devices").fetchall()
    assert sorted(d for d, _, _ in devices) == sorted(registers)
    assert all(status == "Connected" and serial.startswith("SIM") for _, status, serial in devices)


def test_sigkill_in_the_middle_of_a_batch(pg: PgCluster, tmp_path: Path) -> None:
    """fiscald is killed while its batch transaction is open in PostgreSQL (held on a lock): after a restart
    the batch is shipped once."""
    url = fresh_database(pg, "sigkill")
    data = tmp_path / "data"
    registers = [add_simulated_register(data, f"Casa {i}") for i in range(2)]
    set_central(data, url, "store-kill")
    server = Server(data, demo=False).start()
    try:
        with psycopg.connect(url) as blocker:
            wait_for(lambda: central_counts(url, "store-kill") == (0, 0) and _store_seen(url, "store-kill"),
                       30, "the first heartbeat")
            blocker.execute("LOCK TABLE fiscald.journal IN EXCLUSIVE MODE")
            with httpx.Client(base_url=server.url, timeout=30) as client:
                for n in range(50):
                    body = op(registers[n % 2], "print_receipt", {"lines": [item()],
                                                                  "payments": [{"type": "cash", "amount_cents": 1000}]})
                    assert client.post("/devices/operation", json=body).json()["status"] == 200
            wait_for(lambda: _shipper_waits_on_lock(url), 30, "the shipper's batch to wait on the lock")
            server.kill()
            blocker.rollback()
        assert central_counts(url, "store-kill") == (0, 0)  # the open batch died with the process
        server.start()
        wait_for(lambda: central_counts(url, "store-kill") == (50, 50), 30, "the batch to be shipped again")
        with httpx.Client(base_url=server.url) as client:
            wait_for(lambda: client.get("/health").json()["central"]["backlog"]["journal"] == 0, 30, "drained")
    finally:
        server.stop()
    assert assert_same(data / "fiscald.db", url, "store-kill") == 50


def _store_seen(url: str, store_id: str) -> bool:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM fiscald.devices WHERE store_id = %s", (store_id,)).fetchone() \
            == (2,)


def _shipper_waits_on_lock(url: str) -> bool:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'fiscald %%' "
                           "AND wait_event_type = 'Lock'").fetchone()
    return row is not None and row[0] > 0


def test_two_stores_ship_to_one_database_concurrently(pg: PgCluster, tmp_path: Path) -> None:
    url = fresh_database(pg, "two_stores")
    stores = [Database(tmp_path / f"store{i}.db") for i in range(2)]
    try:
        for db in stores:
            fill(db, [str(uuid.uuid4()) for _ in range(2)], 1000)
        shippers = [shipper_for(db, url, f"store-{i}", batch=200) for i, db in enumerate(stores)]
        try:
            wait_for(lambda: all(drained(s) for s in shippers), 60, "both backlogs to drain")
        finally:
            for shipper in shippers:
                shipper.stop()
        for i, db in enumerate(stores):
            assert assert_same(db.path, url, f"store-{i}") == 2000
    finally:
        for db in stores:
            db.close()
    with psycopg.connect(url) as conn:
        assert len(verify(conn)) == 4 and all(c.ok for c in verify(conn))
        assert conn.execute("SELECT store_id, receipts FROM fiscald.sales_per_store_day ORDER BY 1").fetchall() == [
            ("store-0", 1980), ("store-1", 1980)]


def test_a_lost_local_position_resends_nothing_twice(pg: PgCluster, store: Database) -> None:
    """A crash after the central commit but before the local position moved: the central copy of the position
    wins, the store catches up its own, and the re-read rows are absorbed."""
    url = fresh_database(pg, "lost_position")
    fill(store, [str(uuid.uuid4())], 300)
    shipper = shipper_for(store, url, "store-p")
    wait_for(lambda: drained(shipper), 30, "drained")
    shipper.stop()
    store.write_sync(lambda c: outbox.set_positions(c, {"journal": 0, "outcomes": 0}))
    fill(store, [str(uuid.uuid4())], 10)
    shipper = shipper_for(store, url, "store-p")
    wait_for(lambda: drained(shipper), 30, "drained again")
    shipper.stop()
    assert shipper.status.shipped == {"journal": 10, "outcomes": 10}  # only the new rows went out
    assert store.read_sync(outbox.positions) == {"journal": 310, "outcomes": 310}
    assert assert_same(store.path, url, "store-p") == 310


def test_a_new_database_gets_the_whole_history(pg: PgCluster, store: Database) -> None:
    first, second = fresh_database(pg, "first_db"), fresh_database(pg, "second_db")
    fill(store, [str(uuid.uuid4())], 200)
    settings = Settings(central_url=first, store_id="store-m")
    shipper = Shipper(store, settings, poll_s=0.05)
    shipper.start()
    try:
        wait_for(lambda: drained(shipper), 30, "drained to the first database")
        settings.central_url = second  # a live settings change: no restart
        wait_for(lambda: shipper.status.target is not None and "second_db" in shipper.status.target
                   and drained(shipper), 30, "drained to the second database")
    finally:
        shipper.stop()
    assert assert_same(store.path, first, "store-m") == assert_same(store.path, second, "store-m") == 200


def test_a_conflicting_journal_is_refused_not_merged(pg: PgCluster, tmp_path: Path) -> None:
    """Two data dirs shipping one device id under one store_id (a copied store) with different entries: the
    second is refused with a clear error and the central chain stays intact."""
    url = fresh_database(pg, "conflict")
    device = str(uuid.uuid4())
    first, copy = Database(tmp_path / "a.db"), Database(tmp_path / "b.db")
    try:
        fill(first, [device], 20)
        fill(copy, [device], 20, start_day="2026-12-01")
        shipper = shipper_for(first, url, "store-c")
        wait_for(lambda: drained(shipper), 30, "drained")
        shipper.stop()
        shipper = shipper_for(copy, url, "store-c")
        try:
            wait_for(lambda: shipper.status.last_error is not None, 30, "the conflict")
        finally:
            shipper.stop()
        assert shipper.status.state == "error"
        assert "already in the database with another hash" in (shipper.status.last_error or "")
        assert assert_same(first.path, url, "store-c") == 20
    finally:
        first.close()
        copy.close()


def test_wrong_credentials_and_settings(pg: PgCluster, tmp_path: Path) -> None:
    url = fresh_database(pg, "settings")
    data = tmp_path / "data"
    add_simulated_register(data)

    async def go() -> None:
        async with running_app(data) as client:
            assert (await client.get("/health")).json()["central"]["state"] == "disabled"
            bad = await client.post("/manage/save_settings", json={"central_url": "http://x/y", "store_id": "s"})
            assert bad.status_code == 400 and "central_url: expected a URL like postgresql:" in bad.json()["error"]
            bad = await client.post("/manage/save_settings", json={"central_url": url})
            assert bad.status_code == 400 and "store_id: required" in bad.json()["error"]
            bad = await client.post("/manage/save_settings", json={"store_id": "no spaces allowed"})
            assert bad.status_code == 400 and "store_id" in bad.json()["error"]
            wrong = pg.url("settings", password="not-the-password")
            saved = (await client.post("/manage/save_settings", json={"central_url": wrong, "store_id": "s1"})).json()
            assert saved["settings"]["central_url"] == pg.url("settings", password="***")
            deadline = asyncio.get_running_loop().time() + 30
            while (health := (await client.get("/health")).json()["central"])["last_error"] is None:
                assert asyncio.get_running_loop().time() < deadline
                await asyncio.sleep(0.05)
            assert "refused the login" in health["last_error"] and "check the user and password" in \
                health["last_error"]
            assert health["target"] == f"127.0.0.1:{pg.port}/settings" and health["state"] == "error"
            await client.post("/manage/save_settings", json={"central_url": url})
            shown = (await client.get("/manage/get_settings")).json()
            assert shown["central_url"] == pg.url("settings", password="***")
            assert "pg-test-Secret" not in (await client.get("/health")).text + (await client.get("/metrics")).text
            # the masked URL sent back (a UI saving what it was shown) keeps the stored password
            await client.post("/manage/save_settings", json={"central_url": shown["central_url"]})
            while (await client.get("/health")).json()["central"]["state"] != "idle":
                assert asyncio.get_running_loop().time() < deadline + 30
                await asyncio.sleep(0.05)
            assert "fiscald_central_up 1" in (await client.get("/metrics")).text

    asyncio.run(go())
    db = Database(data / "fiscald.db")
    try:
        assert db.read_sync(device_repo.load_settings).central_url == url
    finally:
        db.close()


def test_cli_migrate_and_verify(pg: PgCluster) -> None:
    url = pg.create_database("cli")
    runner = CliRunner()
    first = runner.invoke(cli, ["central", "migrate", "--url", url], env={"COLUMNS": "250"})
    assert first.exit_code == 0 and "migrated from version 0 to" in first.output, first.output
    again = runner.invoke(cli, ["central", "migrate", "--url", url], env={"COLUMNS": "250"})
    assert again.exit_code == 0 and "nothing to do" in again.output
    assert "pg-test-Secret" not in first.output + again.output
    wrong = runner.invoke(cli, ["central", "migrate", "--url", pg.url("cli", "bad")], env={"COLUMNS": "250"})
    assert wrong.exit_code == 1 and "password authentication failed" in wrong.output
    checked = runner.invoke(cli, ["central", "verify", "--url", url], env={"COLUMNS": "250"})
    assert checked.exit_code == 0, checked.output


def test_purge_keeps_outcomes_not_shipped_yet(store: Database) -> None:
    """Idempotency retention purges old outcomes, but never one a shipping store still owes head office."""
    fill(store, [str(uuid.uuid4())], 10)
    store.write_sync(lambda c: c.execute("UPDATE operations SET created_at = 0"))
    store.write_sync(lambda c: outbox.set_positions(c, {"journal": 6, "outcomes": 6}))
    assert store.write_sync(lambda c: op_repo.purge(c, 1.0)) == 6
    assert store.read_sync(lambda c: [r[0] for r in c.execute("SELECT outcome_seq FROM operations")]) == [
        7, 8, 9, 10]
    store.write_sync(lambda c: outbox.set_positions(c, {"journal": 0, "outcomes": 0}))  # a store that never shipped
    assert store.write_sync(lambda c: op_repo.purge(c, 1.0)) == 4


def test_cli_status_reads_the_backlog_from_the_data_dir(tmp_path: Path) -> None:
    db = Database(tmp_path / "fiscald.db")
    try:
        fill(db, [str(uuid.uuid4())], 7)
    finally:
        db.close()
    set_central(tmp_path, "postgresql://store:hidden-pw@db.example.com:5432/chain", "cluj-07")
    result = CliRunner().invoke(cli, ["central", "status", "--data-dir", str(tmp_path)], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "db.example.com:5432/chain (from settings), store_id cluj-07" in result.output
    assert "backlog 7 journal entries, 7 outcomes" in result.output and "hidden-pw" not in result.output
