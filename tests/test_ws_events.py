"""Pushed events over the WebSocket API: device status (snapshot on subscribe, then changes), operation and
journal events in device order, subscription filters."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from wsclient import ws_client

from fiscald.app import create_app
from fiscald.core.manager import DeviceManager
from fiscald.interfaces import ws
from server import Server, add_simulated_register, free_port


def receipt(device_id: str, price: int) -> dict[str, Any]:
    return {"device_id": device_id, "operation": "print_receipt", "params": {"lines": [
        {"type": "item", "description": "Apa", "quantity_thousandths": 1000, "unit_price_cents": price, "vat": "A"}]}}


def test_status_snapshot_filters_and_unsubscribe(make_server: Any, tmp_path: Path) -> None:
    data = tmp_path / "d"
    on = add_simulated_register(data, "Pornita")
    off = add_simulated_register(data, "Oprita", enabled=False)
    srv: Server = make_server(data)

    async def go() -> None:
        async with ws_client(srv.url) as c:
            r = await c.request("subscribe", {"events": ["device_status"]})
            assert r["action"] == "subscribe.result"
            assert r["payload"] == {"subscribed": ["device_status"], "device_ids": {"device_status": None}}
            snapshot = {e["payload"]["device_id"]: e["payload"] for e in [await c.event(), await c.event()]}
            assert snapshot[on] == {"device_id": on, "kind": "fiscal", "status": "Connected", "status_text": "Conectat",
                                    "previous_status": None}
            assert snapshot[off]["status"] == "Disabled" and snapshot[off]["status_text"] == "Dezactivat"
            r = await c.request("unsubscribe", {"events": ["device_status"], "device_ids": [on]})
            assert r["status"] == 400 and "device_ids" in r["error"]  # it covers every device
            r = await c.request("unsubscribe", {"events": ["device_status", "journal"]})
            assert r["payload"] == {"subscribed": [], "device_ids": {}}

        async with ws_client(srv.url) as c:
            r = await c.request("subscribe", {"events": ["device_status", "operation"], "device_ids": [off.upper()]})
            assert r["payload"]["device_ids"] == {"device_status": [off], "operation": [off]}
            assert (await c.event())["payload"]["device_id"] == off  # only the subscribed device
            await c.request("operation.execute", {"device_id": on, "operation": "get_status"})
            r = await c.request("subscribe", {"events": ["operation"], "device_ids": [on]})
            assert r["payload"]["device_ids"]["operation"] == sorted([on, off])
            async with httpx.AsyncClient(base_url=srv.url) as http:  # events come from every interface
                assert (await http.post("/devices/operation", json={"device_id": on, "operation": "get_status"})
                        ).status_code == 200
            started = await c.event()
            assert started["action"] == "event.operation_started" and started["payload"]["device_id"] == on
            assert (await c.event())["action"] == "event.operation_completed"
            r = await c.request("unsubscribe", {"events": ["operation"], "device_ids": [on, off]})
            assert r["payload"]["subscribed"] == ["device_status"]
            await c.request("operation.execute", {"device_id": on, "operation": "get_status"})
            await c.request("ping")
            assert c.events.empty()
            assert [m["seq"] for m in c.received if "seq" in m] == [1, 2, 3]

    asyncio.run(go())


def test_operation_and_journal_events_in_device_order(make_server: Any, tmp_path: Path) -> None:
    data = tmp_path / "d"
    first = add_simulated_register(data, "Casa 1")
    second = add_simulated_register(data, "Casa 2")
    srv: Server = make_server(data)
    count = 8

    async def go() -> None:
        async with ws_client(srv.url) as everything, ws_client(srv.url) as only_second, ws_client(srv.url) as pos:
            await everything.request("subscribe", {"events": ["operation", "journal"]})
            await only_second.request("subscribe", {"events": ["journal"], "device_ids": [second]})
            futures = []
            for i in range(count):  # interleaved across the two devices
                futures.append(await pos.send("operation.execute", receipt(first, 100 + i)))
                futures.append(await pos.send("operation.execute", receipt(second, 200 + i)))
            replies = [await f for f in futures]
            assert all(r["status"] == 200 for r in replies)
            events = [await everything.event() for _ in range(6 * count)]
            assert [e["seq"] for e in events] == list(range(1, 6 * count + 1))
            for dev, base in ((first, 100), (second, 200)):
                mine = [e for e in events if e["payload"]["device_id"] == dev]
                kinds = [e["action"] for e in mine]
                assert kinds == ["event.operation_started", "event.journal", "event.operation_completed"] * count
                totals = [e["payload"]["result"]["total_cents"] for e in mine
                          if e["action"] == "event.operation_completed"]
                assert totals == [base + i for i in range(count)]
                entries = [e["payload"]["entry"] for e in mine if e["action"] == "event.journal"]
                assert [x["seq"] for x in entries] == sorted(x["seq"] for x in entries)
                assert all(x["kind"] == "receipt" and x["device_id"] == dev for x in entries)
            journal = [await only_second.event() for _ in range(count)]
            assert {e["payload"]["device_id"] for e in journal} == {second}
            assert [e["payload"]["entry"]["total_cents"] for e in journal] == [200 + i for i in range(count)]
            await only_second.request("ping")
            assert only_second.events.empty()

    asyncio.run(go())


@contextlib.asynccontextmanager
async def in_process_server(data_dir: Path) -> AsyncIterator[tuple[str, DeviceManager]]:
    """The real app under uvicorn in this event loop, so a test can drive the DeviceManager as /manage does."""
    app = create_app(data_dir)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="on", log_level="warning",
                                           **ws.UVICORN_OPTIONS))
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "server did not start"
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}", app.state.manager
    finally:
        server.should_exit = True
        await task


def test_status_changes_reach_subscribers(tmp_path: Path) -> None:
    data = tmp_path / "d"
    dev = add_simulated_register(data, "Casa")

    async def go() -> None:
        async with in_process_server(data) as (url, manager), ws_client(url) as a, ws_client(url) as b:
            for c in (a, b):
                await c.request("subscribe", {"events": ["device_status"], "device_ids": [dev]})
                assert (await c.event())["payload"]["status"] == "Connected"
            config = manager.handle(dev).config
            await manager.apply(config.model_copy(update={"enabled": False}))
            await manager.apply(config)
            for c in (a, b):
                seen = [(await c.event("device_status"))["payload"] for _ in range(4)]
                assert all(e["device_id"] == dev for e in seen)
                assert [(e["previous_status"], e["status"]) for e in seen] == [
                    ("Connected", "Disconnected"), ("Disconnected", "Disabled"), ("Disabled", "Connecting"),
                    ("Connecting", "Connected")]
                assert seen[-1]["status_text"] == "Conectat"
            async with httpx.AsyncClient(base_url=url) as http:
                view = (await http.get("/devices/fiscal")).json()["fiscal_devices"]
            assert [d["status"] for d in view if d["config"]["id"] == dev] == ["Connected"]

    asyncio.run(go())
