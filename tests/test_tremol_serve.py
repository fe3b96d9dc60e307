"""End to end: ``fiscald serve`` and ``fiscald emulate tremol`` as real processes; a Tremol register added through
/manage and receipts printed over HTTP (its keyed retry answered from the first print), an INP file and the
WebSocket API — over TCP, and over a pseudo-terminal opened as a serial port."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import httpx
import pytest
from other_interfaces import print_through_inp_and_websocket
from tremol_env import TremolProcess

from fiscald.drivers.registry import find
from server import Server

# one model per dialect, with a description its code page prints (Romanian: cp1250 with ș/ț; Bulgarian: cp1251)
NAMES = {"M20-RO": "Brânză de țară", "M20": "Сирене", "M20 V2": "Cheese"}


def _receipt_over_http(tmp_path: Path, model: str, pty: bool) -> None:
    emu = TremolProcess(tmp_path / "emu", model, pty=pty)
    srv = Server(tmp_path / "srv", demo=False).start()
    try:
        with httpx.Client(base_url=srv.url, timeout=30) as c:
            created = c.post("/manage/save_fiscal_device", json={
                "name": "Casa Tremol", "manufacturer": "Tremol", "model": model,
                "connection_details": emu.connection()})
            assert created.status_code == 200, created.text
            dev = created.json()["id"]
            deadline = time.monotonic() + 10
            while (view := c.get("/devices/fiscal").json()["fiscal_devices"][0])["status"] != "Connected":
                assert time.monotonic() < deadline, f"{view}\n{srv.log()}"
                time.sleep(0.05)
            assert view["connected_device_id"].startswith("ZK")
            r = c.post("/devices/operation", headers={"Idempotency-Key": "tremol-1"}, json={
                "device_id": dev, "operation": "print_receipt", "params": {
                    "lines": [{"type": "item", "description": NAMES[model], "quantity_thousandths": 1000,
                               "unit_price_cents": 1250, "vat": "B"}],
                    "payments": [{"type": "card", "amount_cents": 1250}]}})
            assert r.status_code == 200, r.text
            result = r.json()["result"]
            assert result["receipt_number"] == 1 and result["total_cents"] == 1250
            again = c.post("/devices/operation", headers={"Idempotency-Key": "tremol-1"}, json={
                "device_id": dev, "operation": "print_receipt", "params": {
                    "lines": [{"type": "item", "description": NAMES[model], "quantity_thousandths": 1000,
                               "unit_price_cents": 1250, "vat": "B"}],
                    "payments": [{"type": "card", "amount_cents": 1250}]}})
            assert again.json()["result"]["receipt_number"] == 1
            device = emu.simulate()["device"]
            card = find("fiscal", "Tremol", model).payment_defaults[model]["card"]  # the dialect's card code
            assert device["receipt_number"] == 1 and device["last_payment_codes"] == [card]
            result = print_through_inp_and_websocket(c, dev, tmp_path / "inp", {
                "lines": [{"type": "item", "description": "Paine", "quantity_thousandths": 1000,
                           "unit_price_cents": 300, "vat": "A"}], "payments": [{"type": "cash", "amount_cents": 500}]})
            assert result["receipt_number"] == 3
        assert emu.simulate()["device"]["receipt_number"] == 3
    finally:
        srv.stop()
        emu.stop()


@pytest.mark.parametrize("model", sorted(NAMES))
def test_receipts_to_a_register_on_tcp(tmp_path: Path, model: str) -> None:
    _receipt_over_http(tmp_path, model, pty=False)


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_receipts_to_a_register_on_a_pty(tmp_path: Path) -> None:
    _receipt_over_http(tmp_path, "M20-RO", pty=True)


def test_a_register_asking_a_lan_password(tmp_path: Path) -> None:
    """The password goes to the register after connecting (and nowhere else: masked in every view, never
    logged); a save that sends the mask back keeps it; a brand whose registers ask none refuses one."""
    secret = "Lan-7391"
    emu = TremolProcess(tmp_path / "emu", "M20", password=secret)
    srv = Server(tmp_path / "srv", demo=False).start()
    try:
        with httpx.Client(base_url=srv.url, timeout=30) as c:
            saved = c.post("/manage/save_fiscal_device", json={
                "name": "Casa LAN", "manufacturer": "Tremol", "model": "M20", "connection_details": emu.connection()})
            assert saved.status_code == 200, saved.text
            dev = saved.json()["id"]
            assert "Lan-7391" not in saved.text
            resaved = c.post("/manage/save_fiscal_device", json={
                "id": dev, "name": "Casa LAN 2", "connection_details": {
                    "type": "Network", "details": {"ip_address": "127.0.0.1", "port": emu.port, "password": "***"}}})
            assert resaved.status_code == 200, resaved.text
            deadline = time.monotonic() + 10
            while (view := c.get("/devices/fiscal").json()["fiscal_devices"][0])["status"] != "Connected":
                assert time.monotonic() < deadline, f"{view}\n{srv.log()}"
                time.sleep(0.05)
            assert view["config"]["connection_details"]["details"]["password"] == "***"
            r = c.post("/devices/operation", json={"device_id": dev, "operation": "print_receipt", "params": {
                "lines": [{"type": "item", "description": "Chai", "quantity_thousandths": 1000,
                           "unit_price_cents": 250, "vat": "A"}], "payments": [{"type": "cash", "amount_cents": 250}]}})
            assert r.status_code == 200, r.text
            refused = c.post("/manage/save_fiscal_device", json={
                "name": "Datecs", "manufacturer": "Datecs", "model": "DP-25", "connection_details": {
                    "type": "Network", "details": {"ip_address": "127.0.0.1", "port": 4999, "password": "x1"}}})
            assert refused.status_code == 400 and "details.password" in refused.json()["error"], refused.text
        assert emu.simulate()["device"]["receipt_number"] == 1
        assert secret not in srv.log()
    finally:
        srv.stop()
        emu.stop()
