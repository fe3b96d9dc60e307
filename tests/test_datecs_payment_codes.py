"""Payment codes remapped per device (docs/devices.md, "Payment codes"): validated on save against the model's
codes, sent on the wire instead of the model's default, kept across a restart and shown in the device view."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from datecs_env import datecs_rig
from inproc import InProcessServer
from sim_client import Sim, pay

from fiscald.drivers.datecs.models import MODELS
from server import Server, free_port

DATECS: dict[str, Any] = {"manufacturer": "Datecs", "model": "FP-700X", "connection_details": {
    "type": "Network", "details": {"ip_address": "127.0.0.1", "port": 0}}}


def test_every_default_code_is_one_the_model_takes() -> None:
    for spec in MODELS.values():
        assert set(spec.payments.values()) <= set(spec.codes), spec.name


def test_the_payment_tables_of_each_dialect() -> None:
    """datecs-evidence.md §2: Romanian PaidMode [RO SK1-21]; C letters, card = C, D = health fund [C p.13]; P
    letters [P p.19-20]; Bulgarian X 0..5 [X p.11]."""
    ro, bg, ecr, printer = (MODELS[name] for name in ("DP-25MX", "FP-700X", "DP-25", "FP-2000"))
    assert dict(ro.payments) == {"cash": "0", "card": "1", "credit": "2", "meal_voucher": "3", "value_voucher": "4",
                                 "voucher": "5", "modern_payment": "6", "other": "8"}
    assert set(ro.codes) == set("0123456789")
    assert set(ecr.codes) == set("PNCDIJ") and ecr.payments["card"] == "C" and "D" not in ecr.payments.values()
    assert printer.payments["card"] == "D" and printer.payments["meal_voucher"] == "m"
    assert set(bg.codes) == set("012345")


def _datecs(**fields: Any) -> dict[str, Any]:
    details = {"ip_address": "127.0.0.1", "port": free_port()}  # nothing listens: the register stays offline
    return {"name": "Casa", **DATECS, "connection_details": {"type": "Network", "details": details}, **fields}


def _refused(c: httpx.Client, body: dict[str, Any]) -> str:
    r = c.post("/manage/save_fiscal_device", json=body)
    assert r.status_code == 400 and r.json()["status"] == 400, r.text
    error: str = r.json()["error"]
    return error.partition(": ")[2]  # after the code's name


def test_a_save_is_checked_against_the_models_codes(make_app: Any) -> None:
    srv: InProcessServer = make_app(demo=False)
    with srv.client() as c:
        assert _refused(c, _datecs(payment_codes={"debit": "2"})).startswith("payment_codes.debit: not a payment type")
        # "D" is the old protocol's debit card, not an X protocol PaidMode; 6 (foreign currency) is not offered
        assert _refused(c, _datecs(payment_codes={"card": "D"})).startswith("payment_codes.card: 'D' is not a "
                                                                            "payment code of a Datecs FP-700X")
        assert _refused(c, _datecs(payment_codes={"cash": "0", "other": "6"})).startswith("payment_codes.other:")
        assert _refused(c, _datecs(payment_codes={"card": 2})).startswith("payment_codes.card:")
        saved = c.post("/manage/save_fiscal_device", json=_datecs(payment_codes={"card": "2"}))
        assert saved.status_code == 200, saved.text
        dev = saved.json()["id"]
        assert Sim(srv).device(dev)["config"]["payment_codes"] == {"card": "2"}
        # another protocol's model: the stored codes must be stated again for it
        assert _refused(c, {"id": dev, "model": "DP-25"}).startswith("payment_codes.card: '2' is not")
        # C cash registers take only P N C D I J [C p.13]: the P printers' "L" is not one of them
        assert _refused(c, {"id": dev, "model": "DP-25", "payment_codes": {"card": "L"}}).startswith(
            "payment_codes.card: 'L' is not a payment code of a Datecs DP-25")
        assert c.post("/manage/save_fiscal_device", json={"id": dev, "model": "DP-25",
                                                          "payment_codes": {"card": "D"}}).status_code == 200
        assert c.post("/manage/save_fiscal_device", json={"id": dev, "model": "FP-2000",
                                                          "payment_codes": {"card": "L"}}).status_code == 200
        # Romanian firmware: PaidMode 0..9, every one configurable (datecs-evidence.md §2)
        assert c.post("/manage/save_fiscal_device", json={"id": dev, "model": "DP-25MX", "payment_codes": {
            "modern_payment": "6", "other": "8", "card": "7", "voucher": "9"}}).status_code == 200
        assert c.post("/manage/save_fiscal_device", json={"id": dev, "payment_codes": None}).status_code == 200
        assert Sim(srv).device(dev)["config"]["payment_codes"] is None

        assert c.post("/manage/save_settings", json={"enable_simulated_devices": True}).status_code == 200
        simulated = {"name": "Sim", "manufacturer": "Simulated", "model": "Simulated",
                     "connection_details": {"type": "Virtual", "details": {}}}
        error = _refused(c, {**simulated, "payment_codes": {"card": "1"}})
        assert error.startswith("payment_codes: a Simulated Simulated register has no payment codes")
        assert c.post("/manage/save_fiscal_device", json={**simulated, "payment_codes": {}}).status_code == 200


def _connected(srv: Server, device: str) -> None:
    deadline = time.monotonic() + 30
    while Sim(srv).device(device)["status"] != "Connected":
        assert time.monotonic() < deadline, srv.log()
        time.sleep(0.05)


@pytest.mark.parametrize(("protocol", "remapped", "default"), [("x", "2", "1"), ("old", "D", "C")])
def test_a_remapped_card_payment_goes_on_the_wire_and_survives_a_restart(
        tmp_path: Path, protocol: str, remapped: str, default: str) -> None:
    emu, dev, srv = datecs_rig(tmp_path, protocol)
    try:
        s = Sim(srv)
        s.ok(dev, "print_receipt", {"lines": [{"type": "item", "description": "Cafea", "quantity_thousandths": 1000,
                                               "unit_price_cents": 1000, "vat": "A"}],
                                    "payments": [pay("card", 400), pay("cash", 600)]})
        assert emu.simulate()["device"]["last_payment_codes"] == [default, "0" if protocol == "x" else "P"]
        saved = s.http.post("/manage/save_fiscal_device", json={"id": dev, "payment_codes": {"card": remapped}})
        assert saved.status_code == 200, saved.text
        _connected(srv, dev)
        assert s.receipt(dev, pay("card", 1000)).status_code == 200
        assert emu.simulate()["device"]["last_payment_codes"] == [remapped]
        s.close()
        srv.stop()

        srv = Server(tmp_path / "srv", demo=False).start()
        _connected(srv, dev)
        s = Sim(srv)
        assert s.device(dev)["config"]["payment_codes"] == {"card": remapped}
        result = s.receipt(dev, pay("card", 1000)).json()["result"]
        assert emu.simulate()["device"]["last_payment_codes"] == [remapped]
        [entry] = s.ok(dev, "read_journal", {"from_receipt": result["receipt_number"]})["entries"]
        assert entry["data"]["payments"] == {"card": 1000}  # fiscald books our type, whatever the code
        s.close()
    finally:
        srv.stop()
        emu.stop()


def test_settings_a_real_register_cannot_use_are_refused_on_save(make_app: Any) -> None:
    """header_lines/footer_lines are never accepted and then ignored on a Datecs register (it prints its own);
    operator and operator_password are checked against the model's dialect (P: 1..16, 4..8 digits [P p.16])."""
    srv: InProcessServer = make_app(demo=False)
    with srv.client() as c:
        assert _refused(c, _datecs(header_lines=["SC EXEMPLU SRL"])).startswith(
            "header_lines: a Datecs register prints its own header")
        assert _refused(c, _datecs(footer_lines=["MULTUMIM"])).startswith("footer_lines:")
        assert _refused(c, _datecs(model="FP-2000", operator=17)).startswith("operator: a FP-2000 has operators 1..16")
        assert _refused(c, _datecs(model="FP-2000", operator_password="123")).startswith("operator_password:")
        assert _refused(c, _datecs(operator_password="12a4")).startswith("operator_password")
        saved = c.post("/manage/save_fiscal_device", json=_datecs(model="DP-25MX", operator=2,
                                                                  operator_password="0002"))
        assert saved.status_code == 200, saved.text
        assert Sim(srv).device(saved.json()["id"])["config"]["operator_password"] == "0002"
