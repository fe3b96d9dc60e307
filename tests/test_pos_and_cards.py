"""The Simulated POS terminal and card payments through a linked terminal, including crash recovery."""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sim_client import Sim, pay

from server import Server, add_simulated_pos, add_simulated_register


@dataclass
class Shop:
    s: Sim
    pos: str
    register: str  # auto_send_card_to_pos, linked to pos
    unlinked: str  # auto_send_card_to_pos, no terminal linked
    wrong_link: str  # auto_send_card_to_pos, "linked" to a register
    manual: str  # linked, but auto_send_card_to_pos off

    def batch(self) -> int:
        count: int = self.s.ok(self.pos, "pos_status")["batch_open_count"]
        return count

    def journal(self, device_id: str, **query: Any) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = self.s.http.get(f"/devices/{device_id}/journal", params=query).json()[
            "entries"]
        return entries


def make_shop(data: Path) -> tuple[str, str, str, str, str]:
    pos = add_simulated_pos(data)
    register = add_simulated_register(data, "Card", auto_send_card_to_pos=True, linked_pos_device_id=pos)
    unlinked = add_simulated_register(data, "Unlinked", auto_send_card_to_pos=True)
    wrong = add_simulated_register(data, "Wrong", auto_send_card_to_pos=True, linked_pos_device_id=register)
    manual = add_simulated_register(data, "Manual", linked_pos_device_id=pos)
    return pos, register, unlinked, wrong, manual


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    data = tmp_path_factory.mktemp("shop")
    ids = make_shop(data)
    srv = Server(data, demo=False).start()
    s = Sim(srv)
    yield Shop(s, *ids)
    s.close()
    srv.stop()


def test_pos_terminal_is_listed_with_its_terminal_id(shop: Shop) -> None:
    view = shop.s.device(shop.pos)
    assert view["status"] == "Connected" and view["connected_device_id"].startswith("SP")
    assert set(view["config"]) == {"id", "name", "manufacturer", "model", "bank", "connection_details", "enabled"}
    status = shop.s.ok(shop.pos, "pos_status")
    assert set(status) == {"status", "status_text", "terminal_id", "batch_open_count"}
    assert status["terminal_id"] == view["connected_device_id"]


def test_sale_refund_void_settlement(shop: Shop) -> None:
    s, pos = shop.s, shop.pos
    s.ok(pos, "pos_settlement")  # start from an empty batch
    sale = s.ok(pos, "pos_sale", {"amount_cents": 5000, "reference": "order-7"})
    assert set(sale) == {"approved", "transaction_id", "auth_code", "rrn", "card_masked", "card_brand",
                         "amount_cents", "terminal_id", "datetime"}
    assert sale["approved"] is True and sale["amount_cents"] == 5000
    assert sale["card_masked"].startswith("**** **** **** ") and len(sale["auth_code"]) == 6
    other = s.ok(pos, "pos_sale", {"amount_cents": 700})
    refund = s.ok(pos, "pos_refund", {"amount_cents": 2000, "original_transaction_id": sale["transaction_id"]})
    assert refund["card_masked"] == sale["card_masked"] and refund["transaction_id"] != sale["transaction_id"]
    s.ok(pos, "pos_void", {"transaction_id": other["transaction_id"]})
    assert shop.batch() == 2  # the sale and the refund; the voided sale no longer counts
    # validation by the terminal: 400 naming the field
    bad = [
        ("pos_void", {"transaction_id": other["transaction_id"]}, "params.transaction_id"),
        ("pos_refund", {"amount_cents": 1, "original_transaction_id": other["transaction_id"]},
         "params.original_transaction_id"),
        ("pos_refund", {"amount_cents": 5001, "original_transaction_id": sale["transaction_id"]},
         "params.amount_cents"),
        ("pos_refund", {"amount_cents": 1, "original_transaction_id": "XX-1"}, "params.original_transaction_id"),
        ("pos_sale", {"amount_cents": 0}, "params.amount_cents"),
    ]
    for name, params, field in bad:
        r = s.op(pos, name, params)
        assert r.status_code == 400 and field in r.json()["error"], (name, r.text)
    settled = s.ok(pos, "pos_settlement")
    assert settled["count"] == 2 and settled["total_cents"] == 3000
    assert shop.batch() == 0
    r = s.op(pos, "pos_void", {"transaction_id": sale["transaction_id"]})
    assert r.status_code == 400  # settled: only a refund can reverse it now
    kinds = [e["kind"] for e in shop.journal(pos)]
    assert kinds[-5:] == ["pos_sale", "pos_sale", "pos_refund", "pos_void", "pos_settlement"]


def test_operations_of_the_wrong_kind_are_config_errors(shop: Shop) -> None:
    r = shop.s.op(shop.register, "pos_sale", {"amount_cents": 100})
    assert r.status_code == 400 and r.json()["status"] == 400
    r = shop.s.op(shop.pos, "x_report")
    assert r.status_code == 400 and r.json()["status"] == 400


POS_CONTRACT: dict[str, tuple[int, set[str], str]] = {
    "decline": (3001, {"pos_sale", "pos_refund"}, "Connected"),
    "cancel": (3002, {"pos_sale", "pos_refund"}, "Connected"),
    "timeout": (3003, {"pos_sale", "pos_refund", "pos_void", "pos_settlement"}, "Connected"),
    "disconnected": (1004, {"pos_sale", "pos_refund", "pos_void", "pos_settlement", "pos_status"}, "Disconnected"),
}


def test_every_pos_fault_against_every_pos_operation(shop: Shop) -> None:
    s, pos = shop.s, shop.pos
    for fault, (code, failing, status) in POS_CONTRACT.items():
        sale = s.ok(pos, "pos_sale", {"amount_cents": 100})
        batch = shop.batch()
        assert s.simulate(pos, fault=fault)["status"] == status
        assert s.device(pos)["status"] == status
        calls: dict[str, dict[str, Any] | None] = {
            "pos_sale": {"amount_cents": 100},
            "pos_refund": {"amount_cents": 50, "original_transaction_id": sale["transaction_id"]},
            "pos_void": {"transaction_id": sale["transaction_id"]},
            "pos_settlement": None, "pos_status": None,
        }
        for name, params in calls.items():
            if name not in failing:
                continue
            r = s.op(pos, name, params)
            assert r.json()["status"] == code, (fault, name, r.text)
        s.simulate(pos, fault="none")
        assert shop.batch() == batch, fault  # nothing reached the batch
    r = s.http.post("/manage/simulate", json={"device_id": pos, "fault": "paper_out"})
    assert r.status_code == 400 and "fault" in r.json()["error"]


def test_pos_fail_next_after_print_records_the_transaction(shop: Shop) -> None:
    s, pos = shop.s, shop.pos
    batch = shop.batch()
    s.simulate(pos, fail_next={"operation": "pos_sale", "code": 3003, "at": "after_print"})
    assert s.fails(pos, "pos_sale", {"amount_cents": 100}) == 3003
    assert shop.batch() == batch + 1  # approved by the host, answer lost: clients must check the batch


def test_card_payment_approved(shop: Shop) -> None:
    s = shop.s
    batch = shop.batch()
    r = s.receipt(shop.register, pay("card", 1500), pay("cash", 1000), price=2000, key=f"ok-{uuid.uuid4()}")
    assert r.status_code == 200, r.text
    result = r.json()["result"]
    [tx] = result["pos_transactions"]
    assert tx["approved"] is True and tx["amount_cents"] == 1500
    assert result["change_cents"] == 500 and result["voided"] is False
    assert shop.batch() == batch + 1
    [sale] = shop.journal(shop.pos, kind="pos_sale", from_number=int(tx["transaction_id"].split("-")[1]))
    assert sale["data"]["reference"].startswith("rcpt-") and sale["total_cents"] == 1500
    [entry] = shop.journal(shop.register, kind="receipt", from_number=result["receipt_number"],
                           to_number=result["receipt_number"])
    assert entry["data"]["result"]["pos_transactions"] == [tx]
    assert f"AUTH {tx['auth_code']}" in entry["text"]


def test_card_declined_voids_the_receipt(shop: Shop) -> None:
    s = shop.s
    x = s.ok(shop.register, "x_report")
    batch = shop.batch()
    for fault, code in (("decline", 3001), ("timeout", 3003), ("cancel", 3002), ("disconnected", 1004)):
        s.simulate(shop.pos, fault=fault)
        r = s.receipt(shop.register, pay("card", 800), price=800, key=f"{fault}-{uuid.uuid4()}")
        s.simulate(shop.pos, fault="none")
        body = r.json()
        assert body["status"] == code, r.text
        details = body["details"]
        assert details["pos_error"]["status"] == code and details["pos_device_id"] == shop.pos
        assert details["pos_transactions"] == [{"approved": False, "amount_cents": 800, "error": details["pos_error"]}]
        voided = details["voided_receipt"]
        [entry] = shop.journal(shop.register, kind="void", from_number=voided["receipt_number"],
                               to_number=voided["receipt_number"])
        assert entry["id"] == voided["journal_id"] and "BON ANULAT" in entry["text"]
        assert entry["data"]["result"]["pos_transactions"][0]["error"]["status"] == code
    after = s.ok(shop.register, "x_report")
    assert after["receipts_count"] == x["receipts_count"] and after["total_cents"] == x["total_cents"]
    assert after["voided_count"] == x["voided_count"] + 4
    assert shop.batch() == batch  # nobody was charged
    assert s.ok(shop.register, "get_status")["receipt_open"] is False


def test_register_failure_after_approval_reverses_the_card(shop: Shop) -> None:
    s = shop.s
    batch, x = shop.batch(), s.ok(shop.register, "x_report")
    s.simulate(shop.register, fail_next={"operation": "print_receipt", "code": 2001})
    body = s.receipt(shop.register, pay("card", 900), price=900).json()
    assert body["status"] == 2001
    [tx] = body["details"]["pos_transactions"]
    [reversal] = body["details"]["pos_reversals"]
    assert reversal["transaction_id"] == tx["transaction_id"] and reversal["status"] == 200
    assert shop.batch() == batch  # the approval was voided on the terminal
    assert s.ok(shop.register, "x_report")["total_cents"] == x["total_cents"]
    # outcome unknown (the receipt printed, the answer was lost): the approval stays
    s.simulate(shop.register, fail_next={"operation": "print_receipt", "code": 2003, "at": "after_print"})
    body = s.receipt(shop.register, pay("card", 900), price=900).json()
    assert body["status"] == 2003 and "pos_reversals" not in body["details"]
    assert len(body["details"]["pos_transactions"]) == 1
    assert shop.batch() == batch + 1
    assert s.ok(shop.register, "x_report")["payments"]["card"] == x["payments"].get("card", 0) + 900


def test_a_card_receipt_refused_with_nothing_charged_retries_with_its_key(shop: Shop) -> None:
    """Declined, cancelled or terminal not connected, with no approval before: nothing was charged, the key is
    free, and the retry once the card goes through prints once. A terminal timeout (maybe charged) binds it."""
    s = shop.s
    for fault in ("decline", "cancel", "disconnected"):
        batch, x = shop.batch(), s.ok(shop.register, "x_report")
        key = f"retry-{fault}-{uuid.uuid4()}"
        s.simulate(shop.pos, fault=fault)
        refused = s.receipt(shop.register, pay("card", 700), price=700, key=key)
        s.simulate(shop.pos, fault="none")
        assert refused.json()["status"] in (3001, 3002, 1004) and "Idempotent-Replayed" not in refused.headers
        printed = s.receipt(shop.register, pay("card", 700), price=700, key=key)
        assert printed.status_code == 200 and "Idempotent-Replayed" not in printed.headers, printed.text
        replay = s.receipt(shop.register, pay("card", 700), price=700, key=key)
        assert replay.headers["Idempotent-Replayed"] == "true" and replay.json() == printed.json()
        assert shop.batch() == batch + 1  # charged once
        assert s.ok(shop.register, "x_report")["receipts_count"] == x["receipts_count"] + 1
    key = f"retry-timeout-{uuid.uuid4()}"
    s.simulate(shop.pos, fault="timeout")
    unknown = s.receipt(shop.register, pay("card", 700), price=700, key=key)
    s.simulate(shop.pos, fault="none")
    assert unknown.json()["status"] == 3003
    again = s.receipt(shop.register, pay("card", 700), price=700, key=key)
    assert again.headers["Idempotent-Replayed"] == "true" and again.json() == unknown.json()


def test_card_payment_needs_a_linked_terminal(shop: Shop) -> None:
    s = shop.s
    for register in (shop.unlinked, shop.wrong_link):
        r = s.receipt(register, pay("card", 500), price=500)
        assert r.status_code == 500 and r.json()["status"] == 3004, r.text
        assert s.ok(register, "get_status")["last_receipt_number"] == 0  # nothing printed
    # the receipt is validated before any card is charged
    batch = shop.batch()
    r = s.receipt(shop.register, pay("card", 500), price=500, vat="Q")
    assert r.status_code == 400
    r = s.receipt(shop.register, pay("card", 400), price=500)
    assert r.json()["status"] == 2009
    assert shop.batch() == batch
    # without auto_send_card_to_pos a card payment is only recorded (an external terminal)
    result = s.receipt(shop.manual, pay("card", 500), price=500).json()["result"]
    assert result["pos_transactions"] == [] and shop.batch() == batch


def test_idempotent_retry_does_not_charge_twice(shop: Shop) -> None:
    s = shop.s
    batch = shop.batch()
    key = f"twice-{uuid.uuid4()}"
    first = s.receipt(shop.register, pay("card", 1200), price=1200, key=key)
    again = s.receipt(shop.register, pay("card", 1200), price=1200, key=key)
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json() == first.json()
    assert shop.batch() == batch + 1


def _card_shop(make_server: Callable[..., Server], data: Path) -> tuple[Server, Shop]:
    ids = make_shop(data)
    srv = make_server(data, demo=False)
    return srv, Shop(Sim(srv), *ids)


def test_crash_between_pos_approval_and_receipt_close(make_server: Callable[..., Server], tmp_path: Path) -> None:
    data = tmp_path / "crash"
    srv, shop = _card_shop(make_server, data)
    shop.s.simulate(shop.register, latency_ms=60_000)  # the register hangs after the card was approved
    key = f"crash-{uuid.uuid4()}"
    answers: list[Any] = []

    def send() -> None:
        try:
            answers.append(shop.s.receipt(shop.register, pay("card", 2500), price=2500, key=key))
        except httpx.HTTPError as exc:
            answers.append(exc)

    sender = threading.Thread(target=send)
    sender.start()
    deadline = time.monotonic() + 20
    while shop.batch() == 0:
        assert time.monotonic() < deadline, "the card was never charged"
        time.sleep(0.02)
    srv.kill()  # approval durable on the terminal, receipt not closed
    sender.join(10)
    assert answers and isinstance(answers[0], httpx.HTTPError)
    shop.s.close()
    srv = make_server(data, demo=False)
    s = Sim(srv)
    try:
        [approval] = [e for e in s.http.get(f"/devices/{shop.pos}/journal").json()["entries"]]
        assert approval["kind"] == "pos_sale"
        assert s.simulate(shop.register)["simulation"]["latency_ms"] == 60_000  # durable: still hanging
        s.simulate(shop.register, latency_ms=0)
        assert s.ok(shop.register, "get_status")["last_receipt_number"] == 0
        retry = s.receipt(shop.register, pay("card", 2500), price=2500, key=key)
        assert retry.status_code == 200, retry.text
        result = retry.json()["result"]
        [tx] = result["pos_transactions"]
        assert tx["transaction_id"] == approval["data"]["transaction_id"]  # the same approval, reused
        assert s.ok(shop.pos, "pos_status")["batch_open_count"] == 1  # charged once
        assert result["receipt_number"] == 1
        replay = s.receipt(shop.register, pay("card", 2500), price=2500, key=key)
        assert replay.headers.get("Idempotent-Replayed") == "true" and replay.json() == retry.json()
        assert s.ok(shop.register, "get_status")["last_receipt_number"] == 1
    finally:
        s.close()


def test_crash_before_the_answer_is_resolved_from_the_journal(make_server: Callable[..., Server],
                                                             tmp_path: Path) -> None:
    data = tmp_path / "printed"
    srv, shop = _card_shop(make_server, data)
    printed, reversed_ = f"printed-{uuid.uuid4()}", f"reversed-{uuid.uuid4()}"
    first = shop.s.receipt(shop.register, pay("card", 3100), price=3100, key=printed).json()
    shop.s.simulate(shop.register, fail_next={"operation": "print_receipt", "code": 2001})
    assert shop.s.receipt(shop.register, pay("card", 500), price=500, key=reversed_).json()["status"] == 2001
    srv.kill()
    shop.s.close()
    # the window between the last device/journal write and "operation finished": put the records back to running
    with sqlite3.connect(data / "fiscald.db") as conn:
        changed = conn.execute("UPDATE operations SET state = 'running', response = NULL, http_status = NULL "
                               "WHERE idem_key IN (?, ?) AND device_id = ?",
                               (printed, reversed_, shop.register)).rowcount
    assert changed == 2
    s = Sim(make_server(data, demo=False))
    try:
        retry = s.receipt(shop.register, pay("card", 3100), price=3100, key=printed)
        assert retry.headers.get("Idempotent-Replayed") == "true"
        assert retry.json() == first  # the answer comes from the journal; nothing printed or charged again
        # approved, then voided on the terminal because the register failed: never completed by a retry
        unknown = s.receipt(shop.register, pay("card", 500), price=500, key=reversed_).json()
        assert unknown["status"] == 1010 and unknown["details"]["pos_transactions"][0]["amount_cents"] == 500
        assert s.ok(shop.register, "get_status")["last_receipt_number"] == 1
        assert s.ok(shop.pos, "pos_status")["batch_open_count"] == 1
    finally:
        s.close()


def test_pos_batch_survives_a_restart(make_server: Callable[..., Server], tmp_path: Path) -> None:
    data = tmp_path / "batch"
    pos = add_simulated_pos(data)
    srv = make_server(data, demo=False)
    s = Sim(srv)
    first = s.ok(pos, "pos_sale", {"amount_cents": 1000})
    s.ok(pos, "pos_sale", {"amount_cents": 250})
    srv.kill()
    s.close()
    s = Sim(make_server(data, demo=False))
    try:
        assert s.ok(pos, "pos_status")["batch_open_count"] == 2
        nxt = s.ok(pos, "pos_sale", {"amount_cents": 5})
        assert int(nxt["transaction_id"].split("-")[1]) == int(first["transaction_id"].split("-")[1]) + 2
        assert s.ok(pos, "pos_settlement") == {"batch_number": 1, "count": 3, "total_cents": 1255,
                                               "currencies": {"RON": {"count": 3, "total_cents": 1255}}}
        assert s.ok(pos, "pos_settlement") == {"batch_number": 2, "count": 0, "total_cents": 0, "currencies": {}}
    finally:
        s.close()
