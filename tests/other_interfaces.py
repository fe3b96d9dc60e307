"""A register already driven over HTTP, driven through the two other interfaces as every register must be: an INP
file in its scan folder and the WebSocket API (a keyed request and its retry). Shared by the brands' end-to-end
tests, which then read the emulated register's own counters."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
from wsclient import ws_client

from inpfiles import inp, run, wait_state


def print_through_inp_and_websocket(http: httpx.Client, device: str, folder: Path,
                                    receipt: dict[str, Any]) -> dict[str, Any]:
    """One receipt from an INP file (9.00), then ``receipt`` over the WebSocket API twice with one key: the first
    print's result (the retry checked to be its replay). Two receipts on the register in all."""
    saved = http.post("/manage/save_fiscal_device", json={"id": device, "scan_folder": str(folder),
                                                          "create_scan_folder": True})
    assert saved.status_code == 200, saved.text
    url = str(http.base_url).rstrip("/")
    wait_state(url, device, "watching")
    answer = run(folder, "bon.inp", inp("S,1,______,_,__;Ciocolata;4.50;2.000;1;1;1;0;0;buc",
                                        "T,1,______,_,__;0;9.00;;;;"))
    assert answer["status"] == "OK" and answer["total"] == "9.00", answer

    async def over_websocket() -> list[dict[str, Any]]:
        request = {"device_id": device, "operation": "print_receipt", "params": receipt, "idempotency_key": "ws-1"}
        async with ws_client(url) as client:
            return [await client.request("operation.execute", request, timeout=30) for _ in range(2)]

    first, again = asyncio.run(over_websocket())
    assert (first["status"], again["status"], again["replayed"]) == (200, 200, True), (first, again)
    assert again["payload"]["result"] == first["payload"]["result"]
    result: dict[str, Any] = first["payload"]["result"]
    return result
