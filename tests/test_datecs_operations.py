"""Every fiscal operation on a Datecs register, through the real server and the wire-level emulator: both
protocol variants, over TCP and over a serial line (a pseudo-terminal). The device's own totals (its X and Z
reports) must agree with what fiscald computed, numbering must be continuous, nothing printed twice."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from datecs_env import Emulator, datecs_rig
from sim_client import Sim, item, pay

from inpfiles import inp, run, wait_state

VARIANTS = [("x", "tcp"), ("old", "tcp"), ("x", "pty"), ("old", "pty")]
PARAMS = [pytest.param(v, id=f"{v[0]}-{v[1]}") for v in VARIANTS]


@pytest.fixture(scope="module", params=PARAMS)
def datecs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[
        tuple[Sim, str, Emulator]]:
    protocol, link = request.param
    emu, device, srv = datecs_rig(tmp_path_factory.mktemp(f"datecs-{protocol}-{link}"), protocol, pty=link == "pty")
    client = Sim(srv)
    yield client, device, emu
    client.close()
    srv.stop()
    emu.stop()


def test_registered_with_the_devices_serial_and_rates(datecs: tuple[Sim, str, Emulator]) -> None:
    s, dev, emu = datecs
    view = s.device(dev)
    assert view["status"] == "Connected"
    assert view["connected_device_id"].startswith("DT") and len(view["connected_device_id"]) == 8
    assert s.ok(dev, "get_vat_rates") == {"A": 2100, "B": 1100, "C": 0, "D": 0}
    supported = s.http.get("/manage/get_supported_devices").json()
    assert any(g["manufacturer"] == "Datecs" and emu.model in g["models"] for g in supported["fiscal"])


def test_a_day_of_operations(datecs: tuple[Sim, str, Emulator]) -> None:
    s, dev, emu = datecs
    first = s.receipt(dev, pay("cash", 5000), price=1234).json()["result"]
    assert first["total_cents"] == 1234 and first["change_cents"] == 3766
    rich = {"lines": [
        {**item("Pâine albă", qty=2000, price=450, vat="B"), "um": "buc"},
        {**item("Cafea", qty=1500, price=999), "discount": {"kind": "percent", "basis_points": 1000}},
        {"type": "text", "text": "Mulțumim! Vă mai așteptăm"},
        item("Cafea", qty=-500, price=999),
        {"type": "subtotal", "discount": {"kind": "amount", "amount_cents": 50}},
        {**item("Apă", price=300, vat="D"), "discount": {"kind": "amount", "amount_cents": 20, "is_surcharge": True}},
    ], "payments": [pay("card", 1000), pay("cash", 2000)]}
    second = s.ok(dev, "print_receipt", rich, key="rich-1")
    replay = s.op(dev, "print_receipt", rich, key="rich-1")  # a retry with the key: answered, not printed
    assert replay.json()["result"] == second and replay.headers.get("Idempotent-Replayed") == "true"
    assert second["receipt_number"] == first["receipt_number"] + 1
    assert second["day_receipt_number"] == first["day_receipt_number"] + 1
    assert second["document_number"] > first["document_number"]
    voided = s.ok(dev, "print_receipt", {"lines": [item(price=700)], "close_action": "void"})
    assert voided["voided"] is True and voided["paid_cents"] == 0
    assert s.ok(dev, "cancel_receipt") == {"cancelled": False}
    s.ok(dev, "cash_in", {"amount_cents": 10000})
    drawer = s.ok(dev, "cash_out", {"amount_cents": 2500})["cash_in_drawer_cents"]
    assert s.fails(dev, "cash_out", {"amount_cents": drawer + 1}) == 2012
    doc = s.ok(dev, "print_non_fiscal", {"lines": [{"type": "text", "text": "Inventar"}]})
    assert doc["document_number"] > 0
    assert s.fails(dev, "print_receipt", {"lines": [item(vat="G")]}) == 2008  # no group G programmed
    assert s.fails(dev, "print_receipt", {"lines": [item()], "payments": [pay("cash", 1)]}) == 2009
    refused = s.op(dev, "print_receipt", {"lines": [item("Emoji ☕")]}).json()  # cp1250 has no ☕: never '?'
    assert refused["status"] == 400 and "params.lines.0.description" in refused["error"]
    status = s.ok(dev, "get_status")
    assert status["receipt_open"] is False and status["fiscal_day_open"] is True and status["paper"] == "ok"
    assert status["cash_in_drawer_cents"] == drawer
    x = s.ok(dev, "x_report")  # the device's own totals by VAT group
    assert x["total_cents"] == first["total_cents"] + second["total_cents"]
    assert x["receipts_count"] == 2 and x["voided_count"] == 1
    assert x["payments"] == {"cash": first["total_cents"] + second["total_cents"] - 1000, "card": 1000}
    assert x["vat_totals"]["B"]["base_cents"] + x["vat_totals"]["B"]["vat_cents"] == \
        second["vat_totals"]["B"]["base_cents"] + second["vat_totals"]["B"]["vat_cents"]
    assert x["cash_in_cents"] == 10000 and x["cash_out_cents"] == 2500
    dup = s.ok(dev, "print_duplicate")
    assert dup["receipt_number"] == second["receipt_number"]
    s.ok(dev, "open_drawer")
    journal = s.ok(dev, "read_journal", {"from_receipt": first["receipt_number"]})
    assert [e["kind"] for e in journal["entries"]] == ["receipt", "receipt", "void"]
    z = s.ok(dev, "z_report")
    assert z["z_number"] == 1 and z["total_cents"] == x["total_cents"]
    nxt = s.receipt(dev).json()["result"]
    # X: the slip number counts receipts; old: 113 counts every document (cash, non-fiscal, Z) [P p.35]
    assert nxt["fiscal_day"] == 2 and (nxt["receipt_number"] == voided["receipt_number"] + 1 if emu.protocol == "x"
                                       else nxt["receipt_number"] > voided["receipt_number"])
    assert nxt["day_receipt_number"] == 1  # a new day after the Z
    periodic = s.ok(dev, "periodic_report", {"from_z": 1, "to_z": 1})
    assert periodic["reports_count"] == 1 and periodic["total_cents"] == z["total_cents"]
    device = emu.simulate()["device"]  # what the emulated register itself recorded
    assert device["receipt_open"] is False
    if emu.protocol == "x":  # old: 113's global document number moved on with the periodic report since
        assert device["receipt_number"] == nxt["receipt_number"]


def test_clock(datecs: tuple[Sim, str, Emulator]) -> None:
    s, dev, _ = datecs
    now = dt.datetime.fromisoformat(s.ok(dev, "get_datetime")["datetime"])
    later = (now + dt.timedelta(minutes=10)).replace(microsecond=0)
    got = dt.datetime.fromisoformat(s.ok(dev, "set_datetime", {"datetime": later.isoformat()})["datetime"])
    assert abs((got - later).total_seconds()) < 5


def test_paper_out_mid_day(datecs: tuple[Sim, str, Emulator]) -> None:
    """The Simulated register's 'paper out' scenario on the wire: refused with 2001, nothing recorded, the
    device Error until paper is back."""
    s, dev, emu = datecs
    before = s.ok(dev, "get_status")["last_receipt_number"]
    emu.simulate(fault="paper_out")
    assert s.fails(dev, "print_receipt", {"lines": [item(price=999)]}) == 2001
    assert s.device(dev)["status"] == "Error"
    assert s.fails(dev, "x_report") == 2001
    status = s.ok(dev, "get_status")
    assert status["paper"] == "out" and status["receipt_open"] is False
    emu.simulate(fault="none")
    after = s.receipt(dev).json()["result"]["receipt_number"]
    # old: 113 numbers every document, and the refused receipt may have been one (opened, then cancelled)
    assert (after == before + 1 if emu.protocol == "x" else after > before)
    assert s.device(dev)["status"] == "Connected"


def test_an_inp_file_prints_on_the_datecs_register(datecs: tuple[Sim, str, Emulator],
                                                   tmp_path_factory: pytest.TempPathFactory) -> None:
    """The file interface works with a real register as with the Simulated one."""
    s, dev, emu = datecs
    folder = tmp_path_factory.mktemp("inp") / "scan"
    saved = s.http.post("/manage/save_fiscal_device", json={"id": dev, "scan_folder": str(folder),
                                                             "create_scan_folder": True})
    assert saved.status_code == 200, saved.text
    wait_state(s.srv.url, dev, "watching")
    # X: the receipt's slip number; old: 113's global document number [P p.35] [C p.27]
    counter = "receipt_number" if emu.protocol == "x" else "document_number"
    before = emu.simulate()["device"][counter]
    answer = run(folder, "bon.inp", inp("S,1,______,_,__;Ciocolata;4.50;2.000;1;1;1;0;0;buc",
                                        "T,1,______,_,__;0;9.00;;;;"))
    assert answer["status"] == "OK" and answer["total"] == "9.00"
    assert int(answer["receipt_number"]) == before + 1 == emu.simulate()["device"][counter]


def test_z_required_after_24_hours(datecs: tuple[Sim, str, Emulator]) -> None:
    """The Simulated register's 24-hour rule, on the wire: the register refuses to open a receipt (X: −111024,
    our 2006 Z report required, with the raw code in details; old: 2000 with the flags, the old protocol has no
    code for it), reports still work, a Z opens a new day. Last in the module: the register's clock stays a day
    ahead."""
    s, dev, emu = datecs
    status = s.ok(dev, "get_status")
    if not status["fiscal_day_open"]:
        s.receipt(dev)
    later = dt.datetime.fromisoformat(status["datetime"]) + dt.timedelta(hours=24, minutes=1)
    s.ok(dev, "set_datetime", {"datetime": later.isoformat()})
    refused = s.op(dev, "print_receipt", {"lines": [item()]}).json()
    if emu.protocol == "x":
        assert refused["status"] == 2006, refused
        assert refused["details"]["device_error"] == -111024  # Datecs' "end of 24 hour blocking" ([X8] p.62)
    else:
        assert refused["status"] == 2000 and "command_not_permitted" in refused["details"]["device_status"]
    assert emu.simulate()["device"]["receipt_open"] is False
    s.ok(dev, "x_report")
    z = s.ok(dev, "z_report")
    nxt = s.receipt(dev).json()["result"]
    assert nxt["fiscal_day"] == z["z_number"] + 1


def test_a_romanian_dp25mx_through_fiscald(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The Romanian dialect end to end over TCP with `fiscald emulate datecs --model DP-25MX`: the buyer's CIF in
    48, Romanian payment codes, the Romanian 76/69 layouts, the serial of the Romanian 90."""
    emu, dev, srv = datecs_rig(tmp_path_factory.mktemp("datecs-ro"), "x", model="DP-25MX")
    s = Sim(srv)
    try:
        view = s.device(dev)
        assert view["status"] == "Connected" and view["connected_device_id"]
        first = s.ok(dev, "print_receipt", {"lines": [item(price=2000)], "buyer": {"cif": "RO18547290"},
                                            "payments": [pay("meal_voucher", 500), pay("cash", 1500)]})
        second = s.ok(dev, "print_receipt", {"lines": [item(price=1000)], "payments": [pay("modern_payment", 1000)]})
        assert second["receipt_number"] == first["receipt_number"] + 1
        z = s.ok(dev, "z_report")
        assert z["total_cents"] == 3000 and z["receipts_count"] == 2
        assert z["payments"] == {"cash": 1500, "meal_voucher": 500, "modern_payment": 1000}
    finally:
        s.close()
        srv.stop()
        emu.stop()
