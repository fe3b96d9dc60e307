"""Daisy, Eltrade and Incotex end to end: ``fiscald emulate <brand>`` and ``fiscald serve`` as real processes, the
register added through /manage as a Network register (and one as a Serial register on a pseudo-terminal), a
receipt printed through HTTP, one through an INP file and one through the WebSocket API (its retry replayed), and
the emulated register's own memory read back: one receipt each, the total fiscald answered."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from emulated import announced
from other_interfaces import print_through_inp_and_websocket

from fiscald.drivers.isl.brands import BRANDS
from server import Server

RECEIPT = {"lines": [
    {"type": "item", "description": "Paine", "quantity_thousandths": 2000, "unit_price_cents": 150, "vat": "A"},
    {"type": "item", "description": "Apa", "quantity_thousandths": 1000, "unit_price_cents": 100, "vat": "B"},
], "payments": [{"type": "card", "amount_cents": 100}, {"type": "cash", "amount_cents": 1000}]}


def _emulator(brand: str, model: str, data_dir: Path, pty: bool) -> tuple[subprocess.Popen[str], str,
                                                                          dict[str, Any]]:
    """The emulator process, its control URL and the connection_details that reach it."""
    line = ["--pty"] if pty else ["--listen", "127.0.0.1:0"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "fiscald", "emulate", brand, "--model", model, "--data-dir", str(data_dir),
         "--control", "127.0.0.1:0", *line],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, encoding="utf-8",
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert proc.stdout is not None
    control, address = announced(proc.stdout.readline)
    if pty:
        return proc, control, {"type": "Serial", "details": {"port": address, "baud_rate": 115200}}
    return proc, control, {"type": "Network", "details": {"ip_address": "127.0.0.1",
                                                          "port": int(address.rpartition(":")[2])}}


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    if proc.stdout is not None:
        proc.stdout.close()


LINES = [pytest.param(maker, False, id=f"{maker}-tcp") for maker in sorted(BRANDS)]
if sys.platform != "win32":  # pseudo-terminals are POSIX
    LINES.append(pytest.param("Daisy", True, id="Daisy-pty"))


@pytest.mark.parametrize(("maker", "pty"), LINES)
def test_a_receipt_through_fiscald(maker: str, pty: bool, tmp_path: Path) -> None:
    brand = BRANDS[maker]
    proc, control, connection = _emulator(brand.name, brand.default_model, tmp_path / "emu", pty)
    srv = Server(tmp_path / "srv", demo=False).start()
    try:
        with httpx.Client(base_url=srv.url, timeout=30) as http:
            saved = http.post("/manage/save_fiscal_device", json={
                "name": f"Casa {maker}", "manufacturer": maker, "model": brand.default_model,
                "connection_details": connection})
            assert saved.status_code == 200, saved.text
            device = saved.json()["id"]
            deadline = time.monotonic() + 15
            while True:
                [view] = http.get("/devices/fiscal").json()["fiscal_devices"]
                if view["status"] == "Connected":
                    break
                assert time.monotonic() < deadline, f"{view}\n{srv.log()}"
                time.sleep(0.05)
            assert view["connected_device_id"].startswith(brand.serial_prefix)
            answer = http.post("/devices/operation", json={"device_id": device, "operation": "print_receipt",
                                                           "params": RECEIPT})
            assert answer.status_code == 200, answer.text
            result: dict[str, Any] = answer.json()["result"]
            assert (result["total_cents"], result["change_cents"]) == (400, 700)
            assert result["device_serial"] == view["connected_device_id"]
            state = httpx.post(control + "/simulate", json={}, timeout=10).json()["device"]
            assert state["receipt_number"] == 1 and not state["receipt_open"]  # one receipt on the register
            assert sorted(state["last_payment_codes"]) == sorted({brand.payment_codes["card"], "P"})
            result = print_through_inp_and_websocket(http, device, tmp_path / "inp", RECEIPT)
            assert result["total_cents"] == 400
        state = httpx.post(control + "/simulate", json={}, timeout=10).json()["device"]
        assert state["receipt_number"] == 3 and not state["receipt_open"]
    finally:
        srv.stop()
        _stop(proc)
