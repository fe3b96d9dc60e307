"""The VivaWallet POS terminal against the Viva emulator, over the Local and the Cloud Terminal API: the POS
operations, a card-paid receipt, and exactly-once money (declines, timeouts, lost answers, retries), counted on
the emulator's own charge ledger."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from inproc import InProcessServer, configure
from sim_client import Sim, item, pay
from viva_harness import EmulatedTerminal

from fiscald.app import open_database
from fiscald.drivers.viva import driver
from fiscald.drivers.viva.driver import failure_code, session_id_for
from fiscald.errors import Code
from fiscald.models.config import ConnectionDetails, PosConfig
from fiscald.store import devices as device_repo
from server import free_port

SIMULATED_CARD_KEYS = {"approved", "transaction_id", "auth_code", "rrn", "card_masked", "card_brand",
                       "amount_cents", "terminal_id", "datetime"}


@dataclass
class Shop:
    s: Sim
    term: EmulatedTerminal
    pos: str
    register: str
    api: str


@pytest.fixture(params=["local", "cloud"])
def shop(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Shop]:
    api: str = request.param
    term = EmulatedTerminal(tmp_path / "terminal").start()
    data = tmp_path / "fiscald"
    data.mkdir()
    configure(data, enable_simulated_devices=True)
    srv = InProcessServer(data, demo=False).start()
    http = srv.http
    saved = http.post("/manage/save_pos_terminal", json={
        "name": "Viva", "manufacturer": "VivaWallet", "model": "Q30", "connection_details": term.connection(api)})
    assert saved.status_code == 200, saved.text
    pos = saved.json()["id"]
    reg = http.post("/manage/save_fiscal_device", json={
        "name": "Casa", "manufacturer": "Simulated", "model": "Simulated",
        "connection_details": {"type": "Virtual", "details": {}}, "auto_send_card_to_pos": True,
        "linked_pos_device_id": pos})
    assert reg.status_code == 200, reg.text
    s = Sim(srv)
    yield Shop(s, term, pos, reg.json()["id"], api)
    srv.stop()
    term.stop()


def test_listed_under_pos_terminals(shop: Shop) -> None:
    body = shop.s.http.get("/manage/get_supported_devices").json()
    viva = [g for g in body["pos"] if g["manufacturer"] == "VivaWallet"]
    assert viva and "Q30" in viva[0]["models"] and viva[0]["connection_types"] == ["Network", "Cloud"]


def test_sale_refund_void_status_settlement(shop: Shop) -> None:
    s, pos = shop.s, shop.pos
    sale = s.ok(pos, "pos_sale", {"amount_cents": 5000, "reference": "order-7"}, key="sale-1")
    assert set(sale) == SIMULATED_CARD_KEYS  # the Simulated POS's result shape
    assert sale["approved"] is True and sale["amount_cents"] == 5000 and sale["card_brand"] == "VISA"
    assert uuid.UUID(sale["transaction_id"]) and len(sale["auth_code"]) == 6
    refund = s.ok(pos, "pos_refund", {"amount_cents": 2000, "original_transaction_id": sale["transaction_id"]})
    assert refund["amount_cents"] == 2000 and refund["transaction_id"] != sale["transaction_id"]
    other = s.ok(pos, "pos_sale", {"amount_cents": 700})
    void = s.ok(pos, "pos_void", {"transaction_id": other["transaction_id"]})
    assert void["approved"] is True and void["amount_cents"] == 700
    again = s.ok(pos, "pos_void", {"transaction_id": other["transaction_id"]})  # a retried void: same answer
    assert again == void
    assert s.fails(pos, "pos_refund", {"amount_cents": 1, "original_transaction_id": other["transaction_id"]}) == 400
    unreferenced = s.ok(pos, "pos_refund", {"amount_cents": 300, "original_transaction_id": "unreferenced"})
    assert unreferenced["approved"] is True
    charges = shop.term.charges()
    assert [(c["kind"], c["amount"]) for c in charges] == [
        ("sale", 5000), ("refund", 2000), ("sale", 700), ("refund", 700), ("unreferenced-refund", 300)]
    assert charges[1]["parent"] == sale["transaction_id"] and charges[3]["parent"] == other["transaction_id"]
    assert charges[0]["currency_code"] == "946"  # RON as its ISO numeric code
    r = s.op(pos, "pos_settlement")
    assert r.status_code == 422 and r.json()["status"] == 1012 and "closes its own batch" in r.json()["error"]
    status = s.ok(pos, "pos_status")
    assert status["status"] == "Connected" and status["batch_open_count"] == 3  # the 5000 sale and the two refunds
    kinds = [e["kind"] for e in s.http.get(f"/devices/{pos}/journal").json()["entries"]]
    assert kinds == ["pos_sale", "pos_refund", "pos_sale", "pos_void", "pos_refund"]


def test_request_bodies_as_the_documented_clients_send_them(shop: Shop) -> None:
    shop.s.ok(shop.pos, "pos_sale", {"amount_cents": 1234})
    posted = next(r for r in shop.term.ledger()["requests"] if r["method"] == "POST")
    body = posted["body"]
    if shop.api == "cloud":
        # odoo/odoo addons/pos_viva_com/static/src/app/payment_viva_com.js, _viva_com_pay: the sale body's fields
        assert posted["path"] == "/ecr/v1/transactions:sale"
        assert set(body) == {"sessionId", "terminalId", "cashRegisterId", "amount", "currencyCode",
                             "merchantReference", "customerTrns", "preauth", "maxInstalments", "tipAmount"}
        assert body["terminalId"] == "16000010" and body["cashRegisterId"] == "casa-1"
    else:
        # developer.viva.com peer-to-peer-communication [S17] and sdk-php-viva-local-terminal /pos/v1 [S21]
        assert posted["path"] == "/pos/v1/transactions:sale" and "terminalId" not in body
    assert body["amount"] == 1234 and body["currencyCode"] == "946" and uuid.UUID(body["sessionId"])
    assert body["preauth"] is False and body["maxInstalments"] == 0 and body["tipAmount"] == 0


def test_card_paid_receipt_charges_once(shop: Shop) -> None:
    s = shop.s
    params = {"lines": [item(price=2500)], "payments": [pay("card", 2500)]}
    first = s.ok(shop.register, "print_receipt", params, key="rcpt-1")
    [tx] = first["pos_transactions"]
    assert tx["approved"] is True and tx["amount_cents"] == 2500
    assert s.ok(shop.register, "print_receipt", params, key="rcpt-1") == first  # the retry replays
    assert [(c["kind"], c["amount"]) for c in shop.term.charges()] == [("sale", 2500)]


def test_decline_cancel_timeout_map_to_their_codes(shop: Shop) -> None:
    s, pos = shop.s, shop.pos
    for fault, code in (("decline_next", 3001), ("cancel_next", 3002), ("timeout_next", 3003)):
        shop.term.simulate(**{fault: True})
        r = s.op(pos, "pos_sale", {"amount_cents": 900}, key=f"k-{fault}")
        assert r.json()["status"] == code, r.text
        details = r.json()["details"]
        assert details["event_id"] and details["message"]  # the terminal's raw EventId and Message
        again = s.op(pos, "pos_sale", {"amount_cents": 900}, key=f"k-{fault}")
        if code == 3003:  # the outcome is unknown to the caller: the key is bound, the answer replayed
            assert again.json() == r.json()
        else:  # nothing charged frees the key (docs/http.md): the retry is a new attempt, on a new session
            assert again.status_code == 200, again.text
            assert again.json()["result"]["transaction_id"] != details["session_id"]
    assert r.json()["details"]["event_id"] == 1003
    assert [c["amount"] for c in shop.term.charges()] == [900, 900]  # the two retried attempts, once each
    shop.term.simulate(decline_next=True)
    declined = s.op(pos, "pos_sale", {"amount_cents": 900}).json()
    assert declined["details"]["event_id"] == 1006 and declined["details"]["message"] == \
        "Transaction declined by server"
    assert len(shop.term.charges()) == 2
    failed = s.http.get(f"/devices/{pos}/journal", params={"kind": "pos_failed"}).json()["entries"]
    assert len(failed) == 4  # every outcome is journaled
    assert [e["data"]["event_id"] for e in failed] == [1006, 1016, 1003, 1006]


def test_declined_card_in_a_receipt_voids_the_receipt(shop: Shop) -> None:
    shop.term.simulate(decline_next=True)
    params = {"lines": [item()], "payments": [pay("card", 1000)]}
    r = shop.s.op(shop.register, "print_receipt", params, key="r-d")
    assert r.json()["status"] == 3001 and "voided_receipt" in r.json()["details"]
    assert shop.term.charges() == []
    # the key stays free: the cashier's retry asks the terminal again (a new session), and prints the receipt once
    printed = shop.s.ok(shop.register, "print_receipt", params, key="r-d")
    assert printed["pos_transactions"][0]["approved"] is True and printed["voided"] is False
    assert shop.s.ok(shop.register, "print_receipt", params, key="r-d") == printed
    assert [c["amount"] for c in shop.term.charges()] == [1000]


def test_lost_answer_is_polled_not_charged_twice(shop: Shop) -> None:
    shop.term.simulate(lose_next_answer=True)
    sale = shop.s.ok(shop.pos, "pos_sale", {"amount_cents": 4200}, key="lost-1")
    assert sale["approved"] is True
    assert shop.s.ok(shop.pos, "pos_sale", {"amount_cents": 4200}, key="lost-1") == sale
    assert [c["amount"] for c in shop.term.charges()] == [4200]


def test_offline_terminal_refuses_and_charges_nothing(shop: Shop) -> None:
    shop.term.simulate(offline=True)
    r = shop.s.op(shop.pos, "pos_sale", {"amount_cents": 100}, key="off-1")
    assert r.json()["status"] == 1004
    assert shop.s.device(shop.pos)["status"] == "Disconnected"
    shop.term.simulate(offline=False)
    assert shop.s.ok(shop.pos, "pos_sale", {"amount_cents": 100}, key="off-2")["approved"] is True
    assert shop.s.ok(shop.pos, "pos_status")["status"] == "Connected"
    assert [c["amount"] for c in shop.term.charges()] == [100]


def test_busy_terminal_answers_device_busy(shop: Shop) -> None:
    shop.term.simulate(card_delay_ms=3000)
    # another cash register starts a session on the same terminal (Local Terminal API, no credentials)
    other = httpx.post(f"{shop.term.url}/pos/v1/transactions:sale", json={
        "sessionId": str(uuid.uuid4()), "amount": 100, "currencyCode": "946"}, timeout=10)
    assert other.status_code == 200 and other.json()["state"] == "PROCESSING"
    r = shop.s.op(shop.pos, "pos_sale", {"amount_cents": 100})
    assert r.json()["status"] == 2013 and r.json()["details"]["http_status"] == 409


@pytest.mark.parametrize("shop", ["cloud"], indirect=True)  # the Local Terminal API has no credentials
def test_secrets_are_masked_and_kept(shop: Shop) -> None:
    view = shop.s.device(shop.pos)
    assert view["config"]["connection_details"]["details"]["client_secret"] == "***"
    listed = shop.s.http.get("/devices/pos").json()
    assert "emulator-secret" not in str(listed) and "emulator-secret" not in str(view)
    config: dict[str, Any] = view["config"]
    saved = shop.s.http.post("/manage/save_pos_terminal", json={
        "id": shop.pos, "connection_details": config["connection_details"]})  # the masked view sent back
    assert saved.status_code == 200, saved.text
    shop.term.simulate(expire_tokens=True)  # and the token expires: the driver fetches a new one
    assert shop.s.ok(shop.pos, "pos_sale", {"amount_cents": 300})["approved"] is True


def test_register_failure_after_approval_refunds_the_card(shop: Shop) -> None:
    s = shop.s
    s.simulate(shop.register, fail_next={"operation": "print_receipt", "code": 2001})
    body = s.op(shop.register, "print_receipt", {"lines": [item(price=900)], "payments": [pay("card", 900)]},
                key="r-fail").json()
    assert body["status"] == 2001
    [tx] = body["details"]["pos_transactions"]
    [reversal] = body["details"]["pos_reversals"]
    assert reversal["transaction_id"] == tx["transaction_id"] and reversal["status"] == 200
    assert [(c["kind"], c["amount"], c["parent"]) for c in shop.term.charges()] == [
        ("sale", 900, None), ("refund", 900, tx["transaction_id"])]  # the approval was refunded on the terminal


def test_failure_codes_and_session_ids() -> None:
    assert failure_code({"success": False, "eventId": 1006, "message": "Transaction declined by server"}) == \
        Code.CARD_DECLINED
    assert failure_code({"success": False, "eventId": 1003, "abortOperation": True, "abortSuccess": True}) == \
        Code.POS_CANCELLED
    assert failure_code({"success": False, "eventId": 1004, "message": "Transaction timed out"}) == Code.POS_TIMEOUT
    assert failure_code({"success": False, "eventId": 9999, "message": "?"}) == Code.POS
    # without flags or a telling message, the EventId decides (QrCommunication/sdk-php-viva-isv EcrEventId)
    assert failure_code({"success": False, "eventId": 1003, "message": "?"}) == Code.POS_TIMEOUT
    assert failure_code({"success": False, "eventId": 1016, "message": "?"}) == Code.POS_CANCELLED
    assert failure_code({"success": False, "eventId": 1020, "message": "Insufficient funds"}) == Code.CARD_DECLINED
    device = str(uuid.uuid4())
    assert session_id_for(device, "pos_sale", "k") == session_id_for(device, "pos_sale", "k")
    assert len({session_id_for(device, "pos_sale", "k"), session_id_for(device, "pos_sale", "k2"),
                session_id_for(device, "pos_refund", "k"), session_id_for(str(uuid.uuid4()), "pos_sale", "k")}) == 4


def test_a_declined_void_can_be_tried_again_once(shop: Shop) -> None:
    s, pos = shop.s, shop.pos
    sale = s.ok(pos, "pos_sale", {"amount_cents": 640})
    shop.term.simulate(decline_next=True)
    declined = s.op(pos, "pos_void", {"transaction_id": sale["transaction_id"]}).json()
    assert declined["status"] == 3001 and declined["details"]["session_id"] != sale["transaction_id"]
    void = s.ok(pos, "pos_void", {"transaction_id": sale["transaction_id"]})
    assert s.ok(pos, "pos_void", {"transaction_id": sale["transaction_id"]}) == void
    assert [(c["kind"], c["amount"]) for c in shop.term.charges()] == [("sale", 640), ("refund", 640)]


def test_cli_listing_masks_the_secret(tmp_path: Path) -> None:
    """``fiscald devices list`` on a stopped server's data dir reads the store: the secret is masked there too."""
    data = tmp_path / "d"
    data.mkdir()
    configure(data, api_port=free_port())
    db = open_database(data)
    try:
        config = PosConfig(id=str(uuid.uuid4()), name="Viva", manufacturer="VivaWallet", model="Q30",
                           connection_details=ConnectionDetails(type="Cloud", details={
                               "client_id": "cid", "client_secret": "very-secret-value", "terminal_id": "16000010"}))
        db.write_sync(lambda conn: device_repo.save_device(conn, config))
    finally:
        db.close()
    shown = [subprocess.run([sys.executable, "-m", "fiscald", "devices", "list", *args, "--data-dir", str(data)],
                            capture_output=True, text=True, encoding="utf-8", check=True).stdout
             for args in (["--json"], [])]
    assert all("very-secret-value" not in text for text in shown)
    [device] = json.loads(shown[0])["devices"]
    assert device["config"]["connection_details"]["details"]["client_secret"] == "***"


def test_terminal_gone_mid_session_then_void_aborts_it(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(driver, "UNREACHABLE_S", 0.5)
    shop.term.simulate(card_delay_ms=6000)
    answers: list[httpx.Response] = []
    thread = threading.Thread(target=lambda: answers.append(
        shop.s.op(shop.pos, "pos_sale", {"amount_cents": 2200}, key="gone-1")))
    thread.start()
    sid = session_id_for(shop.pos, "pos_sale", "gone-1")
    deadline = time.monotonic() + 10
    while not any(r["body"] and r["body"].get("sessionId") == sid for r in shop.term.ledger()["requests"]):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    shop.term.simulate(offline=True)
    thread.join(20)
    [answer] = answers
    assert answer.json()["status"] == 3003 and answer.json()["details"] == {"session_id": sid, "state": "unknown"}
    shop.term.simulate(offline=False)
    void = shop.s.ok(shop.pos, "pos_void", {"transaction_id": sid})  # aborted before the card was read
    assert void["approved"] is True and void["transaction_id"] == sid
    assert shop.term.charges() == []
    [failed] = shop.s.http.get(f"/devices/{shop.pos}/journal", params={"kind": "pos_failed"}).json()["entries"]
    assert failed["data"]["session_id"] == sid and failed["data"]["abort_success"] is True


@pytest.mark.parametrize("shop", ["cloud"], indirect=True)  # the Local Terminal API has no credentials
def test_wrong_cloud_secret_is_a_configuration_error(shop: Shop) -> None:
    details = {**shop.term.connection("cloud")["details"], "client_secret": "not-the-secret"}
    saved = shop.s.http.post("/manage/save_pos_terminal", json={
        "id": shop.pos, "connection_details": {"type": "Cloud", "details": details}})
    assert saved.status_code == 200, saved.text
    deadline = time.monotonic() + 10
    while shop.s.device(shop.pos)["status"] != "Error":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert "client_secret" in shop.s.device(shop.pos)["status_text"]
    r = shop.s.op(shop.pos, "pos_sale", {"amount_cents": 100})
    assert r.json()["status"] == 400 and "client_secret" in r.json()["error"] and "not-the-secret" not in r.text
    assert shop.term.charges() == []
