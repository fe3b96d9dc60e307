"""The ISV variant of Viva's Cloud Terminal API (an ISV partner's credentials acting for the merchant that owns the
terminal) against the emulator: sale, refund, abort, the bodies as the ISV client sends them, and the partner's
secret masked in every view and absent from every log line."""

from __future__ import annotations

import base64
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from inproc import InProcessServer, configure
from sim_client import Sim, item, pay
from viva_harness import EmulatedTerminal

from fiscald.drivers.viva import driver
from fiscald.drivers.viva.driver import session_id_for
from fiscald.emulators.viva import ISV_CLIENT_ID, ISV_CLIENT_SECRET, MERCHANT_ID, TERMINAL_ID


class IsvShop:
    def __init__(self, tmp_path: Path) -> None:
        self.term = EmulatedTerminal(tmp_path / "terminal").start()
        data = tmp_path / "fiscald"
        data.mkdir()
        configure(data, enable_simulated_devices=True)
        self.srv = InProcessServer(data, demo=False).start()
        self.s = Sim(self.srv)
        saved = self.s.http.post("/manage/save_pos_terminal", json={
            "name": "Viva ISV", "manufacturer": "VivaWallet", "model": "Q30",
            "connection_details": self.term.connection("isv")})
        assert saved.status_code == 200, saved.text
        self.pos: str = saved.json()["id"]
        reg = self.s.http.post("/manage/save_fiscal_device", json={
            "name": "Casa", "manufacturer": "Simulated", "model": "Simulated",
            "connection_details": {"type": "Virtual", "details": {}}, "auto_send_card_to_pos": True,
            "linked_pos_device_id": self.pos})
        assert reg.status_code == 200, reg.text
        self.register: str = reg.json()["id"]

    def posted(self, path: str) -> list[dict[str, Any]]:
        return [r for r in self.term.ledger()["requests"] if r["method"] == "POST" and r["path"] == path]

    def close(self) -> None:
        self.srv.stop()
        self.term.stop()


@pytest.fixture()
def shop(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> Iterator[IsvShop]:
    caplog.set_level(logging.DEBUG)  # every logger, every level: the secret must be in none of it
    shop = IsvShop(tmp_path)
    yield shop
    shop.close()
    basic = base64.b64encode(f"{ISV_CLIENT_ID}:{ISV_CLIENT_SECRET}".encode()).decode()
    assert ISV_CLIENT_SECRET not in caplog.text and basic not in caplog.text


def test_sale_refund_void_over_the_isv_endpoints(shop: IsvShop) -> None:
    s, pos = shop.s, shop.pos
    sale = s.ok(pos, "pos_sale", {"amount_cents": 10_000, "reference": "order-9"}, key="isv-sale-1")
    assert sale["approved"] is True and sale["amount_cents"] == 10_000
    assert s.ok(pos, "pos_sale", {"amount_cents": 10_000, "reference": "order-9"}, key="isv-sale-1") == sale
    refund = s.ok(pos, "pos_refund", {"amount_cents": 4000, "original_transaction_id": sale["transaction_id"]})
    other = s.ok(pos, "pos_sale", {"amount_cents": 333})
    void = s.ok(pos, "pos_void", {"transaction_id": other["transaction_id"]})
    assert refund["approved"] is True and void["amount_cents"] == 333
    charges = shop.term.charges()
    # the emulator charged the merchant owning the terminal, and the ISV's 1.5 % fee on each sale
    assert [(c["kind"], c["amount"], c.get("isv_amount"), c["merchant_id"]) for c in charges] == [
        ("sale", 10_000, 150, MERCHANT_ID), ("refund", 4000, None, MERCHANT_ID), ("sale", 333, 5, MERCHANT_ID),
        ("refund", 333, None, MERCHANT_ID)]
    assert charges[1]["parent"] == sale["transaction_id"]
    # no published source shows an unreferenced refund on the ISV endpoints: refused before anything leaves
    r = s.op(pos, "pos_refund", {"amount_cents": 100, "original_transaction_id": "unreferenced"})
    assert r.json()["status"] == 1012 and "ISV" in r.json()["error"]
    assert not shop.posted("/ecr/isv/v1/transactions:unreferenced-refund")
    assert not [r for r in shop.term.ledger()["requests"] if r["path"].startswith("/ecr/v1/")]
    assert s.ok(pos, "pos_status")["status"] == "Connected"
    kinds = [e["kind"] for e in s.http.get(f"/devices/{pos}/journal").json()["entries"]]
    assert kinds == ["pos_sale", "pos_refund", "pos_sale", "pos_void"]


def test_bodies_as_the_isv_client_sends_them(shop: IsvShop) -> None:
    sale = shop.s.ok(shop.pos, "pos_sale", {"amount_cents": 1999})
    shop.s.ok(shop.pos, "pos_refund", {"amount_cents": 999, "original_transaction_id": sale["transaction_id"]})
    # QrCommunication/sdk-php-viva-isv src/Resources/EcrTerminals.php, sale() and refund(): the field sets and types
    [posted] = [r["body"] for r in shop.posted("/ecr/isv/v1/transactions:sale")]
    assert set(posted) == {"sessionId", "terminalId", "cashRegisterId", "amount", "currencyCode",
                           "merchantReference", "tipAmount", "isvDetails"}
    assert posted["terminalId"] == int(TERMINAL_ID) and posted["currencyCode"] == 946 and posted["amount"] == 1999
    assert posted["isvDetails"] == {"amount": 30, "terminalMerchantId": MERCHANT_ID}  # 1.5 % of 19.99, half up
    [refund] = [r["body"] for r in shop.posted("/ecr/isv/v1/transactions:refund")]
    assert set(refund) == {"sessionId", "parentSessionId", "terminalId", "cashRegisterId", "amount",
                           "currencyCode", "merchantReference", "isvDetails"}
    assert refund["currencyCode"] == "946" and refund["isvDetails"] == {"terminalMerchantId": MERCHANT_ID}
    assert refund["parentSessionId"] == sale["transaction_id"] and uuid.UUID(refund["sessionId"])


def test_abort_while_waiting_for_the_card(shop: IsvShop, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(driver, "MAX_WAIT_S", 0.6)  # the sale answers 3003 while the terminal still waits
    shop.term.simulate(card_delay_ms=8000)
    waited = shop.s.op(shop.pos, "pos_sale", {"amount_cents": 2500}, key="isv-abort").json()
    sid = session_id_for(shop.pos, "pos_sale", "isv-abort")
    assert waited["status"] == 3003 and waited["details"] == {"session_id": sid, "state": "in_progress"}
    void = shop.s.ok(shop.pos, "pos_void", {"transaction_id": sid})
    assert void["approved"] is True and void["transaction_id"] == sid
    aborts = [r for r in shop.term.ledger()["requests"] if r["path"] == f"/ecr/isv/v1/sessions:abort/{sid}"]
    assert [(r["method"], r["query"]) for r in aborts] == [("GET", "cashRegisterId=casa-1")]
    assert shop.term.charges() == []
    [failed] = shop.s.http.get(f"/devices/{shop.pos}/journal", params={"kind": "pos_failed"}).json()["entries"]
    assert failed["data"]["session_id"] == sid and failed["data"]["abort_success"] is True


def test_card_receipt_and_decline_over_isv(shop: IsvShop) -> None:
    params = {"lines": [item(price=1200)], "payments": [pay("card", 1200)]}
    first = shop.s.ok(shop.register, "print_receipt", params, key="isv-rcpt")
    assert first["pos_transactions"][0]["amount_cents"] == 1200
    shop.term.simulate(decline_next=True)
    declined = shop.s.op(shop.register, "print_receipt", params, key="isv-rcpt-2").json()
    assert declined["status"] == 3001 and declined["details"]["pos_error"]["details"]["event_id"] == 1006
    assert [c["amount"] for c in shop.term.charges()] == [1200]


def test_isv_secret_masked_and_merchant_id_shown(shop: IsvShop) -> None:
    view = shop.s.device(shop.pos)
    details = view["config"]["connection_details"]["details"]
    assert details["client_secret"] == "***" and details["merchant_id"] == MERCHANT_ID
    assert details["isv_fee_bp"] == 150
    listed = shop.s.http.get("/devices/pos").json()
    assert ISV_CLIENT_SECRET not in str(listed) and ISV_CLIENT_SECRET not in str(view)
    saved = shop.s.http.post("/manage/save_pos_terminal", json={
        "id": shop.pos, "connection_details": view["config"]["connection_details"]})  # the masked view sent back
    assert saved.status_code == 200, saved.text
    shop.term.simulate(expire_tokens=True)  # the partner's token expires: a new one is fetched
    assert shop.s.ok(shop.pos, "pos_sale", {"amount_cents": 700})["approved"] is True


def test_isv_details_are_checked(shop: IsvShop) -> None:
    cloud = shop.term.connection("isv")
    bad = shop.s.http.post("/manage/save_pos_terminal", json={"id": shop.pos, "connection_details": {
        "type": "Cloud", "details": {**cloud["details"], "merchant_id": "not-a-uuid"}}})
    assert bad.status_code == 400 and "merchant_id" in bad.json()["error"]
    merchant = shop.term.connection("cloud")["details"]
    fee_alone = shop.s.http.post("/manage/save_pos_terminal", json={"id": shop.pos, "connection_details": {
        "type": "Cloud", "details": {**merchant, "isv_fee_bp": 100}}})
    assert fee_alone.status_code == 400 and "isv_fee_bp" in fee_alone.json()["error"]
    # the merchant's own credentials on the ISV endpoints: the cloud refuses them, nothing is charged
    wrong = shop.s.http.post("/manage/save_pos_terminal", json={"id": shop.pos, "connection_details": {
        "type": "Cloud", "details": {**merchant, "merchant_id": MERCHANT_ID}}})
    assert wrong.status_code == 200, wrong.text
    r = shop.s.op(shop.pos, "pos_sale", {"amount_cents": 100})
    assert r.json()["status"] == 3000 and r.json()["details"]["http_status"] == 403
    assert shop.term.charges() == []


def test_a_concurrent_merchant_token_is_refused_on_isv_paths(shop: IsvShop) -> None:
    token = httpx.post(f"{shop.term.url}/connect/token", data={"grant_type": "client_credentials"},
                       auth=("fiscald-emulator", "emulator-secret"), timeout=10).json()["access_token"]
    r = httpx.post(f"{shop.term.url}/ecr/isv/v1/transactions:sale", headers={"Authorization": f"Bearer {token}"},
                   json={"sessionId": str(uuid.uuid4())}, timeout=10)
    assert r.status_code == 403 and shop.term.charges() == []
