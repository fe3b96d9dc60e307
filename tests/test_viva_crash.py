"""SIGKILL during a Viva card sale, with fiscald and the terminal emulator (`fiscald emulate viva`) as real
processes: the restarted server journals the session the killed process started while idle, the retry with the
same Idempotency-Key answers it (one charge), and a session left in progress can still be aborted by pos_void (no
charge)."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sim_client import item, pay

from fiscald.app import open_database
from fiscald.config import Settings
from fiscald.core import card_payments
from fiscald.core.card_payments import card_key, key_base
from fiscald.core.manager import DeviceManager
from fiscald.drivers.viva.driver import session_id_for
from fiscald.models.config import ConnectionDetails, PosConfig
from fiscald.store import devices as device_repo
from fiscald.store import operations as op_repo
from server import Server, add_simulated_register, free_port


class EmulatorProcess:
    def __init__(self, data_dir: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fiscald", "emulate", "viva", "--listen", "127.0.0.1:0", "--data-dir",
             str(data_dir), "--control", "127.0.0.1:0"], stdout=subprocess.PIPE, text=True, encoding="utf-8")
        assert self.proc.stdout is not None
        lines = [self.proc.stdout.readline().strip() for _ in range(2)]
        self.control = next(line for line in lines if line.startswith("control on ")).rsplit(":", 1)[1]
        self.port = int(next(line for line in lines if line.startswith("listening on ")).rsplit(":", 1)[1])

    def simulate(self, **body: Any) -> None:
        assert httpx.post(f"http://127.0.0.1:{self.control}/simulate", json=body).status_code == 200

    def ledger(self) -> dict[str, Any]:
        answer: dict[str, Any] = httpx.get(f"http://127.0.0.1:{self.control}/charges").json()
        return answer

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


@pytest.fixture()
def terminal(tmp_path: Path) -> Iterator[EmulatorProcess]:
    term = EmulatorProcess(tmp_path / "terminal")
    yield term
    term.stop()


def add_viva(data_dir: Path, port: int) -> str:
    db = open_database(data_dir)
    try:
        config = PosConfig(id=str(uuid.uuid4()), name="Viva", manufacturer="VivaWallet", model="Q30",
                           connection_details=ConnectionDetails(type="Network",
                                                                details={"ip_address": "127.0.0.1", "port": port}))
        db.write_sync(lambda conn: device_repo.save_device(conn, config))
        return config.id
    finally:
        db.close()


def sale(url: str, pos: str, key: str) -> httpx.Response:
    return httpx.post(f"{url}/devices/operation", json={"device_id": pos, "operation": "pos_sale",
                                                        "params": {"amount_cents": 1500}},
                      headers={"Idempotency-Key": key}, timeout=60)


def kill_during_sale(srv: Server, term: EmulatorProcess, pos: str, key: str) -> None:
    """Start a sale, SIGKILL fiscald once the terminal has the session (the card not yet read)."""
    thread = threading.Thread(target=lambda: _swallow(lambda: sale(srv.url, pos, key)), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not any(r["method"] == "POST" and r["body"]["sessionId"] == session_id_for(pos, "pos_sale", key)
                  for r in term.ledger()["requests"]):
        assert time.monotonic() < deadline, "the sale never reached the terminal"
        time.sleep(0.05)
    srv.kill()
    thread.join(10)


def _swallow(call: Any) -> None:
    with contextlib.suppress(httpx.HTTPError):  # the server was killed under the request
        call()


def test_sigkill_during_sale_then_retry_and_abort(tmp_path: Path, terminal: EmulatorProcess) -> None:
    data = tmp_path / "fiscald"
    data.mkdir()
    pos = add_viva(data, terminal.port)
    terminal.simulate(card_delay_ms=4000)
    srv = Server(data, demo=False).start()
    kill_during_sale(srv, terminal, pos, "crash-1")
    srv = Server(data, demo=False).start()
    try:
        # nobody asks: the restarted server resolves the session while idle and journals the approval
        deadline = time.monotonic() + 30
        while not httpx.get(f"{srv.url}/devices/{pos}/journal").json()["entries"]:
            assert time.monotonic() < deadline, "the interrupted sale was never journaled"
            time.sleep(0.2)
        retried = sale(srv.url, pos, "crash-1")
        assert retried.status_code == 200, retried.text
        assert retried.json()["result"]["transaction_id"] == session_id_for(pos, "pos_sale", "crash-1")
        assert [c["amount"] for c in terminal.ledger()["charges"]] == [1500]  # one charge, not two
        # a session still waiting for the card when the process died: pos_void aborts it, nothing is charged
        terminal.simulate(card_delay_ms=30_000)
        kill_during_sale(srv, terminal, pos, "crash-2")
        srv = Server(data, demo=False).start()
        session = session_id_for(pos, "pos_sale", "crash-2")
        void = httpx.post(f"{srv.url}/devices/operation", json={
            "device_id": pos, "operation": "pos_void", "params": {"transaction_id": session}}, timeout=30)
        assert void.status_code == 200, void.text
        assert void.json()["result"]["approved"] is True
        again = sale(srv.url, pos, "crash-2")
        assert again.json()["status"] == 3002 and again.json()["details"]["abort_success"] is True
        assert [c["amount"] for c in terminal.ledger()["charges"]] == [1500]
        kinds = [e["kind"] for e in httpx.get(f"{srv.url}/devices/{pos}/journal").json()["entries"]]
        assert kinds == ["pos_sale", "pos_failed"]  # both outcomes journaled
    finally:
        srv.stop()


def receipt(url: str, register: str, key: str, cents: int) -> httpx.Response:
    return httpx.post(f"{url}/devices/operation", json={
        "device_id": register, "operation": "print_receipt",
        "params": {"lines": [item(price=cents)], "payments": [pay("card", cents)]}},
        headers={"Idempotency-Key": key}, timeout=60)


def kill_during_card_receipt(srv: Server, term: EmulatorProcess, register: str, pos: str, key: str,
                             cents: int) -> str:
    """Send a card receipt, SIGKILL fiscald once the terminal has its sale's session (the card not yet read);
    returns that session's id."""
    sid = session_id_for(pos, "pos_sale", card_key(key_base(register, key), "sale-0"))
    thread = threading.Thread(target=lambda: _swallow(lambda: receipt(srv.url, register, key, cents)), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not any(r["method"] == "POST" and r["body"]["sessionId"] == sid for r in term.ledger()["requests"]):
        assert time.monotonic() < deadline, "the receipt's sale never reached the terminal"
        time.sleep(0.05)
    srv.kill()
    thread.join(10)
    return sid


def test_sigkill_during_the_card_payment_of_a_receipt(tmp_path: Path, terminal: EmulatorProcess) -> None:
    """The card payment and the receipt are settled together after the crash, as with the Simulated POS: the
    retry with the receipt's key polls the sale's session; approved, the receipt prints once with it; declined,
    the receipt is voided (3001) and nothing is charged or sold."""
    data = tmp_path / "fiscald"
    data.mkdir()
    pos = add_viva(data, terminal.port)
    register = add_simulated_register(data, auto_send_card_to_pos=True, linked_pos_device_id=pos)
    terminal.simulate(card_delay_ms=3000)
    srv = Server(data, demo=False).start()
    sid = kill_during_card_receipt(srv, terminal, register, pos, "rcpt-crash-1", 1500)
    srv = Server(data, demo=False).start()
    try:
        retried = receipt(srv.url, register, "rcpt-crash-1", 1500)
        assert retried.status_code == 200, retried.text  # not 1010: the stored session was polled
        [tx] = retried.json()["result"]["pos_transactions"]
        assert tx["transaction_id"] == sid and tx["approved"] is True
        replay = receipt(srv.url, register, "rcpt-crash-1", 1500)
        assert replay.headers.get("Idempotent-Replayed") == "true" and replay.json() == retried.json()
        assert [(c["kind"], c["amount"]) for c in terminal.ledger()["charges"]] == [("sale", 1500)]  # once
        printed = httpx.get(f"{srv.url}/devices/{register}/journal", params={"kind": "receipt"}).json()["entries"]
        assert [e["data"]["result"]["pos_transactions"][0]["transaction_id"] for e in printed] == [sid]
        pos_kinds = [e["kind"] for e in httpx.get(f"{srv.url}/devices/{pos}/journal").json()["entries"]]
        assert pos_kinds == ["pos_sale"]
        # declined while fiscald was dead: the retry answers the decline, voids the receipt, charges nothing
        terminal.simulate(decline_next=True)
        declined_sid = kill_during_card_receipt(srv, terminal, register, pos, "rcpt-crash-2", 800)
        srv = Server(data, demo=False).start()
        declined = receipt(srv.url, register, "rcpt-crash-2", 800)
        assert declined.json()["status"] == 3001, declined.text
        details = declined.json()["details"]
        assert details["pos_error"]["details"]["session_id"] == declined_sid
        assert details["pos_error"]["details"]["event_id"] == 1006 and "voided_receipt" in details
        assert [(c["kind"], c["amount"]) for c in terminal.ledger()["charges"]] == [("sale", 1500)]
        entries = httpx.get(f"{srv.url}/devices/{register}/journal").json()["entries"]
        assert [e["kind"] for e in entries if e["kind"] == "receipt"] == ["receipt"]  # still the one receipt
        failed = httpx.get(f"{srv.url}/devices/{pos}/journal", params={"kind": "pos_failed"}).json()["entries"]
        assert [e["data"]["session_id"] for e in failed] == [declined_sid]
    finally:
        srv.stop()


def test_receipt_recovery_whichever_device_settles_first(tmp_path: Path) -> None:
    """The terminal's start-up may settle the interrupted sale before the register settles the receipt: the sale's
    record is then left to the receipt's recovery, which drops both (so the retry resumes the sale)."""
    data = tmp_path / "fiscald"
    data.mkdir()
    pos = add_viva(data, free_port())
    register = add_simulated_register(data, auto_send_card_to_pos=True, linked_pos_device_id=pos)
    db = open_database(data)
    try:
        sale_key = card_key(key_base(register, "k-order"), "sale-0")

        def interrupted(conn: sqlite3.Connection) -> None:
            op_repo.insert_running(conn, "receipt-op", register, "print_receipt", "http", "k-order", "h", {})
            op_repo.insert_running(conn, "sale-op", pos, "pos_sale", "card", sale_key, "h", {})

        db.write_sync(interrupted)
        records = {r.operation: r for r in db.read_sync(op_repo.interrupted)}
        receipt_rec, sale_rec = records["print_receipt"], records["pos_sale"]
        manager = DeviceManager(db, Settings())

        async def settle() -> tuple[bool, bool, bool]:
            first = await card_payments.recover(manager, sale_rec)  # the terminal settles first
            kept = await db.read(lambda c: op_repo.get(c, "sale-op")) is not None
            return first, kept, await card_payments.recover(manager, receipt_rec)

        assert asyncio.run(settle()) == (True, True, True)
        assert db.read_sync(op_repo.interrupted) == []
        assert db.read_sync(lambda c: op_repo.by_key(c, pos, sale_key)) is None
    finally:
        db.close()
