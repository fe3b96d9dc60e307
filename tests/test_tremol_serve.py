"""End to end: ``fiscald serve`` and ``fiscald emulate tremol`` as real processes; a Tremol register added through
/manage and a receipt printed over HTTP — over TCP, and over a pseudo-terminal opened as a serial port."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import httpx
import pytest
from tremol_env import TremolProcess

from server import Server


def _receipt_over_http(tmp_path: Path, pty: bool) -> None:
    started = time.monotonic()
    emu = TremolProcess(tmp_path / "emu", "M20-RO", pty=pty)
    srv = Server(tmp_path / "srv", demo=False).start()
    try:
        with httpx.Client(base_url=srv.url, timeout=30) as c:
            created = c.post("/manage/save_fiscal_device", json={
                "name": "Casa Tremol", "manufacturer": "Tremol", "model": "M20-RO",
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
                    "lines": [{"type": "item", "description": "Brânză de țară", "quantity_thousandths": 1000,
                               "unit_price_cents": 1250, "vat": "B"}],
                    "payments": [{"type": "card", "amount_cents": 1250}]}})
            assert r.status_code == 200, r.text
            result = r.json()["result"]
            assert result["receipt_number"] == 1 and result["total_cents"] == 1250
            again = c.post("/devices/operation", headers={"Idempotency-Key": "tremol-1"}, json={
                "device_id": dev, "operation": "print_receipt", "params": {
                    "lines": [{"type": "item", "description": "Brânză de țară", "quantity_thousandths": 1000,
                               "unit_price_cents": 1250, "vat": "B"}],
                    "payments": [{"type": "card", "amount_cents": 1250}]}})
            assert again.json()["result"]["receipt_number"] == 1
        device = emu.simulate()["device"]
        assert device["receipt_number"] == 1 and device["last_payment_codes"] == ["1"]
    finally:
        srv.stop()
        emu.stop()
    assert time.monotonic() - started < 20


def test_a_receipt_over_http_to_a_register_on_tcp(tmp_path: Path) -> None:
    _receipt_over_http(tmp_path, pty=False)


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_a_receipt_over_http_to_a_register_on_a_pty(tmp_path: Path) -> None:
    _receipt_over_http(tmp_path, pty=True)
