"""End to end: ``fiscald serve`` and ``fiscald emulate tremol`` as real processes; a Tremol register added through
/manage and receipts printed over HTTP (its keyed retry answered from the first print), an INP file and the
WebSocket API — over TCP, and over a pseudo-terminal opened as a serial port."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from tremol_env import TremolProcess
from wsclient import ws_client

from inpfiles import inp, run, wait_state
from server import Server


def _receipt_over_http(tmp_path: Path, pty: bool) -> None:
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
            # the file interface (INP) and the WebSocket API print on it as on any register
            folder = tmp_path / "inp"
            saved = c.post("/manage/save_fiscal_device", json={"id": dev, "scan_folder": str(folder),
                                                               "create_scan_folder": True})
            assert saved.status_code == 200, saved.text
            wait_state(srv.url, dev, "watching")
            answer = run(folder, "bon.inp", inp("S,1,______,_,__;Ciocolata;4.50;2.000;1;1;1;0;0;buc",
                                                "T,1,______,_,__;0;9.00;;;;"))
            assert answer["status"] == "OK" and answer["total"] == "9.00", answer
        replies = asyncio.run(_over_websocket(srv.url, dev))
        assert [r["status"] for r in replies] == [200, 200] and replies[1]["replayed"] is True
        assert replies[0]["payload"]["result"]["receipt_number"] == 3
        assert emu.simulate()["device"]["receipt_number"] == 3
    finally:
        srv.stop()
        emu.stop()


async def _over_websocket(url: str, device: str) -> list[dict[str, Any]]:
    request = {"device_id": device, "operation": "print_receipt", "idempotency_key": "tremol-ws", "params": {
        "lines": [{"type": "item", "description": "Pâine", "quantity_thousandths": 1000, "unit_price_cents": 300,
                   "vat": "A"}], "payments": [{"type": "cash", "amount_cents": 500}]}}
    async with ws_client(url) as client:
        return [await client.request("operation.execute", request, timeout=30) for _ in range(2)]


def test_a_receipt_over_http_to_a_register_on_tcp(tmp_path: Path) -> None:
    _receipt_over_http(tmp_path, pty=False)


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_a_receipt_over_http_to_a_register_on_a_pty(tmp_path: Path) -> None:
    _receipt_over_http(tmp_path, pty=True)
