"""Bad input gets a 4xx/2xxx answer in the documented shape naming the problem — never a 500 or a
stack trace, and never a receipt left open or half printed."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from fiscald.operations import OPERATIONS
from server import item, op

CASES: list[tuple[str, dict[str, Any], int, int, str]] = [
    # (name, params, http status, app status, text the message must contain)
    ("unknown field", {"lines": [item()], "bogus": 1}, 400, 400, "params.bogus"),
    ("typo in a line", {"lines": [{**item(), "qty": 1}]}, 400, 400, "params.lines.0.qty"),
    ("string price", {"lines": [item(price="10")]}, 400, 400, "params.lines.0.unit_price_cents"),  # type: ignore[arg-type]
    ("float price", {"lines": [item(price=10.5)]}, 400, 400, "params.lines.0.unit_price_cents"),  # type: ignore[arg-type]
    ("negative price", {"lines": [item(price=-1)]}, 400, 400, "params.lines.0.unit_price_cents"),
    ("overflowing price", {"lines": [item(price=10**13)]}, 400, 400, "unit_price_cents"),
    ("zero quantity", {"lines": [item(qty=0)]}, 400, 400, "quantity_thousandths"),
    ("73-char description", {"lines": [item("x" * 73)]}, 400, 400, "params.lines.0.description"),
    ("empty description", {"lines": [item("")]}, 400, 400, "description"),
    ("no items", {"lines": [{"type": "text", "text": "hi"}]}, 400, 400, "at least one item"),
    ("no lines", {"lines": []}, 400, 400, "params.lines"),
    ("unknown line type", {"lines": [{"type": "banana"}]}, 400, 400, "params.lines.0"),
    ("malformed vat", {"lines": [item(vat="nineteen")]}, 400, 400, "params.lines.0.vat"),
    ("unknown vat rate", {"lines": [item(vat="19%")]}, 422, 2008, "19%"),
    ("unknown vat letter", {"lines": [item(vat="H")]}, 422, 2008, "'H'"),
    ("payments short", {"lines": [item(price=1000)], "payments": [{"type": "cash", "amount_cents": 999}]},
     422, 2009, "999"),
    ("non-cash overpay", {"lines": [item(price=1000)], "payments": [{"type": "card", "amount_cents": 1500}]},
     400, 400, "non-cash"),
    ("unknown payment type", {"lines": [item()], "payments": [{"type": "bitcoin", "amount_cents": 1000}]},
     400, 400, "params.payments.0.type"),
    ("zero payment", {"lines": [item()], "payments": [{"type": "cash", "amount_cents": 0}]}, 400, 400,
     "params.payments.0.amount_cents"),
    ("two discounted subtotals", {"lines": [
        item(), {"type": "subtotal", "discount": {"kind": "percent", "basis_points": 100}},
        item(), {"type": "subtotal", "discount": {"kind": "percent", "basis_points": 100}}]}, 400, 400,
     "only one subtotal"),
    ("subtotal discount + receipt discount", {
        "lines": [item(), {"type": "subtotal", "discount": {"kind": "percent", "basis_points": 100}}],
        "receipt_discount": {"kind": "percent", "basis_points": 100}}, 400, 400, "receipt_discount"),
    ("discount over 100%", {"lines": [item(discount={"kind": "percent", "basis_points": 10001})]}, 400, 400,
     "basis_points"),
    ("amount discount above value", {"lines": [item(price=100, discount={"kind": "amount", "amount_cents": 101})]},
     400, 400, "exceeds"),
    ("storno without sale", {"lines": [item(qty=1000), item("Altceva", qty=-1000)]}, 400, 400, "storno"),
    ("invalid cif", {"lines": [item()], "buyer": {"cif": "RO12345678"}}, 400, 400, "params.buyer"),
    ("bad close_action", {"lines": [item()], "close_action": "maybe"}, 400, 400, "close_action"),
]


@pytest.mark.parametrize(("name", "params", "http", "code", "needle"), CASES, ids=[c[0] for c in CASES])
def test_bad_receipt(client: httpx.Client, device_id: str, name: str, params: dict[str, Any], http: int, code: int,
                     needle: str) -> None:
    before = client.post("/devices/operation", json=op(device_id, "get_status")).json()["result"]
    r = client.post("/devices/operation", json=op(device_id, "print_receipt", params))
    assert r.status_code == http, r.text
    body = r.json()
    assert body["status"] == code
    assert needle in body["error"], body["error"]
    assert "Traceback" not in r.text
    after = client.post("/devices/operation", json=op(device_id, "get_status")).json()["result"]
    assert after["last_receipt_number"] == before["last_receipt_number"]
    assert after["receipt_open"] is False


ENVELOPES: list[tuple[str, Any, str]] = [
    ("not an object", [1, 2], "body"),
    ("missing device_id", {"operation": "get_status"}, "device_id"),
    ("device_id not a uuid", {"device_id": "abc", "operation": "get_status"}, "device_id"),
    ("unknown operation", {"device_id": "00000000-0000-4000-8000-000000000000", "operation": "print_money"},
     "operation"),
    ("unknown envelope field", {"device_id": "00000000-0000-4000-8000-000000000000", "operation": "get_status",
                                "extra": 1}, "extra"),
    ("bad timeout", {"device_id": "00000000-0000-4000-8000-000000000000", "operation": "get_status",
                     "timeout_ms": "soon"}, "timeout_ms"),
    ("params not an object", {"device_id": "00000000-0000-4000-8000-000000000000", "operation": "get_status",
                              "params": [1]}, "params"),
]


@pytest.mark.parametrize(("name", "body", "needle"), ENVELOPES, ids=[e[0] for e in ENVELOPES])
def test_bad_envelope(client: httpx.Client, name: str, body: Any, needle: str) -> None:
    r = client.post("/devices/operation", json=body)
    assert r.status_code == 400 and r.json()["status"] == 400
    assert needle in r.json()["error"]


def test_an_unknown_operation_lists_the_operations(client: httpx.Client, device_id: str) -> None:
    r = client.post("/devices/operation", json=op(device_id, "print_reciept"))
    assert r.status_code == 400
    error = r.json()["error"]
    assert "operation: unknown operation 'print_reciept' (did you mean print_receipt? operations: " in error
    assert all(name in error for name in OPERATIONS)
    fail_next = {"operation": "z_raport", "code": 2001}
    r = client.post("/manage/simulate", json={"device_id": device_id, "fail_next": fail_next})
    assert r.status_code == 400 and "did you mean z_report? operations: cancel_receipt," in r.json()["error"]


def test_malformed_json_and_content_type(client: httpx.Client, device_id: str) -> None:
    r = client.post("/devices/operation", content=b'{"device_id": ', headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "malformed JSON" in r.json()["error"]
    r = client.post("/devices/operation", content=b"\xff\xfe", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["status"] == 400
    r = client.post("/devices/operation", content=b'{}', headers={"Content-Type": "text/plain"})
    assert r.status_code == 400 and "Content-Type" in r.json()["error"]
    r = client.post("/devices/operation", content=b'{}')
    assert r.status_code == 400 and "Content-Type" in r.json()["error"]


def test_pos_operation_on_register_is_config(client: httpx.Client, device_id: str) -> None:
    r = client.post("/devices/operation", json=op(device_id, "pos_sale", {"amount_cents": 100}))
    assert r.status_code == 400 and r.json()["status"] == 400 and "pos" in r.json()["error"]


def test_unknown_route_and_method(client: httpx.Client) -> None:
    r = client.get("/no/such/path")
    assert r.status_code == 404 and set(r.json()) >= {"status", "error"}
    r = client.get("/devices/operation")
    assert r.status_code == 405 and r.json()["status"] == 405 and r.headers["allow"] == "POST"


def test_error_language_is_romanian_by_default(client: httpx.Client, device_id: str) -> None:
    r = client.post("/devices/operation", json=op(device_id, "cash_out", {"amount_cents": 10**9}))
    assert r.json()["status"] == 2012
    assert r.json()["error"].startswith("Suma scoasă depășește")


@pytest.mark.parametrize(("operation", "params", "field"), [
    ("set_datetime", {"datetime": "9999-12-31T23:59:59"}, "params.datetime"),
    ("set_datetime", {"datetime": "0001-01-01T00:00:00+14:00"}, "params.datetime"),
    ("periodic_report", {"from": "2026-01-01", "to": "9999-12-31"}, "params.to"),
])
def test_dates_a_register_cannot_hold_are_400(client: httpx.Client, device_id: str, operation: str,
                                               params: dict[str, Any], field: str) -> None:
    r = client.post("/devices/operation", json=op(device_id, operation, params))
    assert r.status_code == 400 and field in r.json()["error"], r.text
    assert client.post("/devices/operation", json=op(device_id, "get_status")).status_code == 200


def test_export_bounds_at_the_calendar_edges(client: httpx.Client, device_id: str) -> None:
    assert client.get(f"/devices/{device_id}/journal", params={"to": "9999-12-31"}).status_code == 200
    assert client.get(f"/devices/{device_id}/reports", params={"to": "9999-12-31"}).status_code == 200
    r = client.get(f"/devices/{device_id}/journal", params={"from": "0001-01-01T00:00:00+14:00"})
    assert r.status_code == 400 and "from" in r.json()["error"]


def test_export_numbers_beyond_sqlite_integers_are_400(client: httpx.Client, device_id: str) -> None:
    for path, name in (("journal", "from_number"), ("journal", "to_number"), ("reports", "from_z")):
        r = client.get(f"/devices/{device_id}/{path}", params={name: "99999999999999999999"})
        assert r.status_code == 400 and name in r.json()["error"], r.text
