"""The example clients in examples/ work against a real server, and the Python one survives a server restart."""

from __future__ import annotations

import asyncio
import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from wsclient import ws_url

from server import Server

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def check_demo_output(out: str) -> None:
    lines = out.splitlines()
    assert re.fullmatch(r"device [0-9a-f-]{36}: Connected \(Conectat\)", lines[0]), out
    assert re.fullmatch(r"receipt \d+ total 2100 change 2900", lines[1]), out
    assert re.fullmatch(r"x report: \d+ receipts today", lines[2]), out
    assert re.fullmatch(r"operation [0-9a-f]{32}: done", lines[3]), out
    assert lines[4].startswith("error 2012: "), out


def test_python_example(server: Server, device_id: str) -> None:
    run = subprocess.run([sys.executable, str(EXAMPLES / "ws_client.py"), "--url", ws_url(server.url),
                          "--device", device_id], capture_output=True, text=True, timeout=60, encoding="utf-8")
    assert run.returncode == 0, run.stderr
    check_demo_output(run.stdout)


def test_javascript_example(server: Server, device_id: str) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    major = int(subprocess.run([node, "--version"], capture_output=True, text=True, encoding="utf-8").stdout.strip()
                .lstrip("v").split(".")[0])
    if major < 20:
        pytest.skip("the example needs Node.js 20+ (global WebSocket)")
    flags = ["--experimental-websocket"] if major < 22 else []
    if flags:  # without the flag, the demo says what to do instead of a ReferenceError
        bare = subprocess.run([node, str(EXAMPLES / "ws_client.js"), ws_url(server.url), device_id],
                              capture_output=True, text=True, timeout=60, encoding="utf-8")
        assert bare.returncode == 2 and "node --experimental-websocket ws_client.js" in bare.stderr
    run = subprocess.run([node, *flags, str(EXAMPLES / "ws_client.js"), ws_url(server.url), device_id],
                         capture_output=True, text=True, timeout=60, encoding="utf-8")
    assert run.returncode == 0, run.stderr
    check_demo_output(run.stdout)


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ws_client_example", EXAMPLES / "ws_client.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_python_example_reconnects_after_restart(make_server: Any, tmp_path: Path) -> None:
    example = load_example()
    data = tmp_path / "d"
    srv: Server = make_server(data)
    port = srv.port
    dev = srv.fiscal_ids()[0]
    operation = {"device_id": dev, "operation": "print_receipt", "params": {"lines": [
        {"type": "item", "description": "Paine", "quantity_thousandths": 1000, "unit_price_cents": 650, "vat": "B"}]}}

    async def go() -> None:
        statuses: list[str] = []
        client = example.FiscaldClient(ws_url(srv.url), on_event=lambda n, p: statuses.append(p["status"]))
        await client.start()
        try:
            await client.subscribe(["device_status"], [dev])
            first = await client.execute(operation, idempotency_key="bon-1001")
            await asyncio.to_thread(srv.stop)
            while client._connected.is_set():
                await asyncio.sleep(0.05)
            pending = asyncio.create_task(client.execute(operation, idempotency_key="bon-1001"))
            await asyncio.to_thread(srv.start, 20.0, port)  # same data, same address
            again = await asyncio.wait_for(pending, 30)
            assert again == first  # replayed from the store: still one receipt
            status = await client.execute({"device_id": dev, "operation": "get_status"})
            assert status["last_receipt_number"] == first["receipt_number"]
            assert statuses == ["Connected", "Connected"]  # subscribed again after reconnecting
        finally:
            await client.stop()

    asyncio.run(go())
