"""Small contract rules a careful integrator relies on: POS settlement per currency, pos_status in the configured
language, what 1010 OutcomeUnknown carries, what /manage/simulate and save_settings answer."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from inproc import InProcessServer
from sim_client import Sim, item

from fiscald.app import open_database
from fiscald.operations import parse_operation
from fiscald.store import operations as op_repo
from server import Server, add_simulated_pos, add_simulated_register


def test_settlement_totals_per_currency(tmp_path: Path, make_app: Any) -> None:
    data = tmp_path / "pos"
    pos = add_simulated_pos(data)
    s = Sim(make_app(data, demo=False))
    try:
        sale = s.ok(pos, "pos_sale", {"amount_cents": 5000})
        s.ok(pos, "pos_sale", {"amount_cents": 100, "currency": "EUR"})
        s.ok(pos, "pos_refund", {"amount_cents": 1000, "original_transaction_id": sale["transaction_id"]})
        settled = s.ok(pos, "pos_settlement")
        assert settled == {"batch_number": 1, "count": 3, "total_cents": None,  # never 5000 + 100 - 1000
                           "currencies": {"EUR": {"count": 1, "total_cents": 100},
                                          "RON": {"count": 2, "total_cents": 4000}}}
        slip = s.http.get(f"/devices/{pos}/journal", params={"kind": "pos_settlement"}).json()["entries"][0]
        assert slip["data"] == settled and slip["total_cents"] is None
        assert "TOTAL EUR" in slip["text"] and "TOTAL RON" in slip["text"]
        s.ok(pos, "pos_sale", {"amount_cents": 700, "currency": "EUR"})
        assert s.ok(pos, "pos_settlement") == {"batch_number": 2, "count": 1, "total_cents": 700,
                                               "currencies": {"EUR": {"count": 1, "total_cents": 700}}}
    finally:
        s.close()


def test_pos_status_text_follows_the_language(tmp_path: Path, make_app: Any) -> None:
    data = tmp_path / "lang"
    pos = add_simulated_pos(data)
    s = Sim(make_app(data, demo=False))
    try:
        assert s.ok(pos, "pos_status")["status_text"] == "Conectat"
        s.http.post("/manage/save_settings", json={"language": "en"}).raise_for_status()
        assert s.ok(pos, "pos_status")["status_text"] == "Connected"
    finally:
        s.close()


def _interrupted(data: Path, key: str, body: dict[str, Any]) -> str:
    """What a process killed while ``body`` was on the device leaves in the operation log."""
    op = parse_operation(body)
    op_id = str(uuid.uuid4())
    db = open_database(data)
    try:
        db.write_sync(lambda c: op_repo.insert_running(c, op_id, op.device_id, op.name, "http", key,
                                                       op.request_hash(), op.canonical()))
    finally:
        db.close()
    return op_id


def test_outcome_unknown_details(tmp_path: Path, make_app: Any) -> None:
    data = tmp_path / "crash"
    dev = add_simulated_register(data)
    body = {"device_id": dev, "operation": "print_receipt", "params": {"lines": [item()]}}
    srv: InProcessServer = make_app(data, demo=False)
    with srv.client() as c:
        printed = c.post("/devices/operation", json=body, headers={"Idempotency-Key": "k-1"}).json()["result"]
        c.post("/devices/operation", json={"device_id": dev, "operation": "cash_in",
                                           "params": {"amount_cents": 100}}).raise_for_status()
    srv.stop()
    before = time.time()
    op_id = _interrupted(data, "k-2", body)
    srv2: InProcessServer = make_app(data, demo=False)
    with srv2.client() as c:
        r = c.post("/devices/operation", json=body, headers={"Idempotency-Key": "k-2"})
        assert r.status_code == 409 and r.json()["status"] == 1010, r.text
        details = r.json()["details"]
        assert details["operation_id"] == op_id and details["operation"] == "print_receipt"
        started = dt.datetime.fromisoformat(details["started_at"])  # ISO 8601 like every other time
        assert started.tzinfo is not None and abs(started.timestamp() - before) < 60
        assert details["last_receipt_number"] == printed["receipt_number"]
        last = details["last_journal_entry"]
        assert last["kind"] == "cash_in" and last["id"] == printed["journal_id"] + 1


def test_outcome_unknown_on_a_device_without_journal(tmp_path: Path, make_app: Any) -> None:
    data = tmp_path / "empty"
    dev = add_simulated_register(data)
    body = {"device_id": dev, "operation": "x_report"}
    _interrupted(data, "k", body)
    with make_app(data, demo=False).client() as c:
        r = c.post("/devices/operation", json=body, headers={"Idempotency-Key": "k"})
        details = r.json()["details"]
        # printed before the journal had any entry, or not at all: the fields are there, and say so
        assert details["last_journal_entry"] is None and details["last_receipt_number"] is None


def test_simulate_without_changes_reads_the_state(server: Server, device_id: str) -> None:
    with httpx.Client(base_url=server.url) as c:
        read = c.post("/manage/simulate", json={"device_id": device_id}).json()
        assert read["message"] == "Current simulation state" and read["simulation"]["fault"] == "none"
        changed = c.post("/manage/simulate", json={"device_id": device_id, "latency_ms": 0}).json()
        assert changed["message"] == "Simulation updated"


def test_saving_the_port_this_server_uses_needs_no_restart(make_server: Any, tmp_path: Path) -> None:
    srv: Server = make_server(tmp_path / "port")  # started with --port: the stored api_port is still 10123
    with httpx.Client(base_url=srv.url) as c:
        same = c.post("/manage/save_settings", json={"api_port": srv.port}).json()
        assert same["restart_required"] == [] and same["settings"]["api_port"] == srv.port
        assert same["message"] == "Settings saved successfully"
        other = c.post("/manage/save_settings", json={"api_port": 10123}).json()
        assert other["restart_required"] == ["api_port"]
        again = c.post("/manage/save_settings", json={"api_port": 10123, "language": "en"}).json()
        assert again["restart_required"] == []  # unchanged by this save
