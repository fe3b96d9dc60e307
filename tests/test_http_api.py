"""The HTTP API against a real server process."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx
from inproc import InProcessServer

from fiscald.central.status import ShipperStatus
from server import item, op


def test_root_is_fiscool_text(client: httpx.Client) -> None:
    r = client.get("/")
    assert r.status_code == 200
    assert r.text == "FisCool API Server running."
    assert r.headers["content-type"].startswith("text/plain")


def test_fiscal_devices_shape(client: httpx.Client, device_id: str) -> None:
    body = client.get("/devices/fiscal").json()
    [dev] = [d for d in body["fiscal_devices"] if d["config"]["id"] == device_id]
    assert set(dev) == {"config", "status", "status_text", "vat_rates", "connected_device_id", "inp"}
    assert dev["inp"] == {"state": "off", "folder": None, "error": None}  # no scan_folder: INP off (docs/inp.md)
    assert set(dev["config"]) == {"id", "name", "manufacturer", "model", "connection_details", "notes", "enabled",
                                  "scan_folder", "scan_encoding", "auto_send_card_to_pos", "linked_pos_device_id",
                                  "header_lines", "footer_lines", "operator", "operator_password", "exempt_vat_groups",
                                  "payment_codes"}
    assert dev["config"]["name"] == "Simulated 1"
    assert dev["status"] == "Connected" and dev["status_text"] == "Conectat"
    assert dev["vat_rates"] == {"A": 2100, "B": 1100, "C": 0, "D": 0}
    assert dev["connected_device_id"].startswith("SIM") and len(dev["connected_device_id"]) == 10
    assert client.get("/devices/pos").json() == {"pos_terminals": []}


def test_print_receipt_result(client: httpx.Client, device_id: str) -> None:
    params = {"lines": [item("Cafea", 1500, 1500, "21%"), {"type": "text", "text": "Multumim"}],
              "payments": [{"type": "cash", "amount_cents": 3000}]}
    r = client.post("/devices/operation", json=op(device_id, "print_receipt", params))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == 200
    res = body["result"]
    assert res["total_cents"] == 2250 and res["paid_cents"] == 3000 and res["change_cents"] == 750
    assert res["vat_totals"] == {"A": {"rate_basis_points": 2100, "base_cents": 1860, "vat_cents": 390}}
    assert res["voided"] is False and res["pos_transactions"] == []
    assert res["device_serial"].startswith("SIM")
    nxt = client.post("/devices/operation", json=op(device_id, "print_receipt", {"lines": [item()]})).json()
    assert nxt["result"]["receipt_number"] == res["receipt_number"] + 1
    assert nxt["result"]["paid_cents"] == 1000  # no payments: exact cash


def test_journal_has_printout(client: httpx.Client, device_id: str) -> None:
    r = client.post("/devices/operation", json=op(device_id, "print_receipt", {"lines": [item("Ceai verde")]}))
    number = r.json()["result"]["receipt_number"]
    j = client.post("/devices/operation", json=op(device_id, "read_journal",
                                                  {"from_receipt": number, "to_receipt": number})).json()
    [entry] = j["result"]["entries"]
    assert entry["kind"] == "receipt" and entry["number"] == number
    assert "Ceai verde" in entry["text"] and "TOTAL" in entry["text"]
    assert all(len(line) <= 42 for line in entry["text"].splitlines())
    assert len(entry["hash"]) == 64


def test_reports_and_cash(make_app: Any) -> None:
    srv: InProcessServer = make_app()
    dev = srv.fiscal_ids()[0]
    with srv.client() as c:
        def run(name: str, params: dict[str, Any] | None = None) -> httpx.Response:
            return c.post("/devices/operation", json=op(dev, name, params))

        assert run("cash_in", {"amount_cents": 10000}).json()["result"] == {"cash_in_drawer_cents": 10000}
        run("print_receipt", {"lines": [item(price=1234)], "payments": [{"type": "card", "amount_cents": 1234}]})
        run("print_receipt", {"lines": [item(price=500, vat="B")]})
        x = run("x_report").json()["result"]
        assert x["receipts_count"] == 2 and x["total_cents"] == 1734
        assert x["payments"] == {"card": 1234, "cash": 500} and x["cash_in_cents"] == 10000
        too_much = run("cash_out", {"amount_cents": 20000})
        assert too_much.status_code == 500 and too_much.json()["status"] == 2012
        assert run("cash_out", {"amount_cents": 500}).json()["result"] == {"cash_in_drawer_cents": 10000}
        z = run("z_report").json()["result"]
        assert z["z_number"] == 1 and z["fiscal_day"] == 1 and z["total_cents"] == 1734
        status = run("get_status").json()["result"]
        assert status["fiscal_day"] == 2 and status["fiscal_day_open"] is False
        assert status["last_receipt_number"] == 2 and status["cash_in_drawer_cents"] == 10000
        assert run("x_report").json()["result"]["receipts_count"] == 0
        periodic = run("periodic_report", {"from_z": 1, "to_z": 1}).json()["result"]
        assert periodic["reports_count"] == 1 and periodic["total_cents"] == 1734
        dup = run("print_duplicate").json()["result"]
        assert dup["receipt_number"] == 2 and dup["text"].startswith("DUPLICAT")
        assert run("get_vat_rates").json()["result"] == {"A": 2100, "B": 1100, "C": 0, "D": 0}
        assert run("cancel_receipt").json()["result"] == {"cancelled": False}
        assert run("open_drawer").json()["result"] == {}
        assert run("print_non_fiscal", {"lines": [{"type": "text", "text": "Proba"}]}).json()["result"][
            "document_number"] > 0


def test_void_receipt_counts_as_voided(make_app: Any) -> None:
    srv: InProcessServer = make_app()
    dev = srv.fiscal_ids()[0]
    with srv.client() as c:
        r = c.post("/devices/operation", json=op(dev, "print_receipt", {"lines": [item()], "close_action": "void"}))
        assert r.json()["result"]["voided"] is True
        x = c.post("/devices/operation", json=op(dev, "x_report")).json()["result"]
        assert x["voided_count"] == 1 and x["receipts_count"] == 0 and x["total_cents"] == 0


def test_state_survives_restart(make_app: Any, tmp_path: Any) -> None:
    srv: InProcessServer = make_app(tmp_path / "d")
    dev = srv.fiscal_ids()[0]
    srv.http.post("/devices/operation", json=op(dev, "print_receipt", {"lines": [item(price=777)]}))
    srv.stop()
    srv2: InProcessServer = make_app(tmp_path / "d")
    assert srv2.fiscal_ids() == [dev]
    status = srv2.http.post("/devices/operation", json=op(dev, "get_status")).json()["result"]
    assert status["last_receipt_number"] == 1 and status["cash_in_drawer_cents"] == 777
    x = srv2.http.post("/devices/operation", json=op(dev, "x_report")).json()["result"]
    assert x["total_cents"] == 777


def test_health_and_openapi(client: httpx.Client) -> None:
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["devices"]["total"] >= 1 and health["devices"]["connected"] >= 1
    spec = client.get("/openapi.json").json()
    for path in ("/", "/devices/fiscal", "/devices/pos", "/devices/operation", "/health"):
        assert path in spec["paths"]
    assert client.get("/docs").status_code == 200


def test_health_times_are_iso_8601() -> None:
    """Like every time in the API; durations stay numbers of seconds (uptime_s, age_s)."""
    status = ShipperStatus(last_success_at=1764590531.25, last_error_at=None)
    shown = status.snapshot()
    when = dt.datetime.fromisoformat(shown["last_success_at"])
    assert when.tzinfo is not None and when.timestamp() == 1764590531.25 and shown["last_error_at"] is None


def test_unknown_device_is_404(client: httpx.Client) -> None:
    r = client.post("/devices/operation", json=op(str(uuid.uuid4()), "get_status"))
    assert r.status_code == 404 and r.json()["status"] == 404


def test_metrics_count_operations(client: httpx.Client, device_id: str) -> None:
    client.post("/devices/operation", json=op(device_id, "print_receipt", {"lines": [item()]}))
    client.post("/devices/operation", json=op(device_id, "cash_out", {"amount_cents": 10**9}))
    text = client.get("/metrics").text
    assert 'fiscald_operations_total{operation="print_receipt",status="200"}' in text
    assert 'fiscald_operations_total{operation="cash_out",status="2012"}' in text
    assert f'fiscald_queue_depth{{device_id="{device_id}"}} 0' in text
    count = int(next(line for line in text.splitlines() if line.startswith("fiscald_operation_seconds_count"))
                .split()[1])
    assert count >= 2
