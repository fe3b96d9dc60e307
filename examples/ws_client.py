"""fiscald WebSocket client — an example to copy into a POS program (Python 3.11+, ``pip install websockets``).

What it shows:
- one connection, many requests in flight, replies matched by ``id``;
- pushed events (device status, operations) delivered to a callback;
- automatic reconnection with back-off, re-subscribing after each reconnect;
- safe retries: a receipt carries an idempotency key, so sending it again after a dropped connection
  returns the first result instead of printing a second receipt.

Run the demo against a server started with ``fiscald serve --demo``::

    python ws_client.py --url ws://127.0.0.1:10123/ws [--token TOKEN] [--device DEVICE_ID]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import uuid
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

EventHandler = Callable[[str, dict[str, Any]], None]


class FiscaldError(Exception):
    """An error reply: ``status`` is the fiscald error code (e.g. 2001 paper out), ``body`` the whole reply."""

    def __init__(self, body: dict[str, Any]) -> None:
        super().__init__(f"[{body.get('status')}] {body.get('error')}")
        self.status: int = body.get("status", 0)
        self.body = body


class FiscaldClient:
    def __init__(self, url: str, token: str | None = None, on_event: EventHandler | None = None) -> None:
        self.url = url if token is None else f"{url}?token={token}"
        self.on_event = on_event or (lambda name, payload: None)
        self.subscriptions: list[dict[str, Any]] = []  # replayed after every reconnect
        self._ws: ClientConnection | None = None
        self._connected = asyncio.Event()
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._runner: asyncio.Task[None] | None = None
        self._last_seq = 0

    # -- connection ---------------------------------------------------------------------------------------
    async def start(self) -> None:
        self._runner = asyncio.create_task(self._run())
        await asyncio.wait_for(self._connected.wait(), 30)

    async def stop(self) -> None:
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner

    async def _run(self) -> None:
        delay = 0.5
        while True:
            try:
                async with connect(self.url) as ws:
                    self._ws, self._last_seq, delay = ws, 0, 0.5
                    reader = asyncio.create_task(self._read(ws))
                    await self._send(ws, "hello", {"client": "example-python/1"})
                    for payload in self.subscriptions:
                        await self._send(ws, "subscribe", payload)
                    self._connected.set()
                    await reader
            except InvalidStatus as exc:  # 401 bad token / 403 origin: retrying will not help
                raise SystemExit(f"refused by fiscald: HTTP {exc.response.status_code}") from None
            except OSError:
                pass  # server not reachable (yet)
            finally:
                self._connected.clear()
                self._ws = None
                for future in self._pending.values():
                    if not future.done():
                        future.set_exception(ConnectionError("connection to fiscald lost"))
                self._pending.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    async def _read(self, ws: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for raw in ws:
                message = json.loads(raw)
                action: str = message["action"]
                if action.startswith("event."):
                    if message["seq"] != self._last_seq + 1:
                        print(f"! missed events {self._last_seq + 1}..{message['seq'] - 1}")
                    self._last_seq = message["seq"]
                    self.on_event(action.removeprefix("event."), message["payload"])
                    continue
                future = self._pending.pop(message.get("id") or "", None)
                if future is not None and not future.done():
                    future.set_result(message)

    async def _send(self, ws: ClientConnection, action: str, payload: dict[str, Any]) -> asyncio.Future[Any]:
        req_id = f"c{next(self._ids)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[req_id] = future
        await ws.send(json.dumps({"id": req_id, "action": action, "payload": payload}))
        return future

    # -- requests -----------------------------------------------------------------------------------------
    async def request(self, action: str, payload: dict[str, Any] | None = None, timeout: float = 60) -> Any:
        """Send one request and return its reply payload; raises FiscaldError for an error reply."""
        await asyncio.wait_for(self._connected.wait(), timeout)
        assert self._ws is not None
        reply = await asyncio.wait_for(await self._send(self._ws, action, payload or {}), timeout)
        if not reply["action"].endswith(".result"):
            raise FiscaldError(reply)
        return reply["payload"]

    async def subscribe(self, events: list[str], device_ids: list[str] | None = None) -> Any:
        payload = {"events": events, "device_ids": device_ids}
        self.subscriptions.append(payload)
        return await self.request("subscribe", payload)

    async def execute(self, operation: dict[str, Any], idempotency_key: str | None = None,
                      attempts: int = 5) -> dict[str, Any]:
        """Run an operation and return its result. With a key, a lost connection is retried safely."""
        payload = dict(operation)
        if idempotency_key is not None:
            payload["idempotency_key"] = idempotency_key
        attempt = 1
        while True:
            try:
                reply = await self.request("operation.execute", payload)
                return dict(reply["result"])
            except ConnectionError:
                if idempotency_key is None or attempt >= attempts:
                    raise  # without a key a retry could print twice: let the caller check the journal
                attempt += 1


async def demo(url: str, token: str | None, device_id: str | None) -> None:
    done: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    def on_event(name: str, payload: dict[str, Any]) -> None:
        if name == "device_status":
            print(f"device {payload['device_id']}: {payload['status']} ({payload['status_text']})")
        elif name == "operation_completed":
            done.put_nowait(payload)

    client = FiscaldClient(url, token, on_event)
    await client.start()
    try:
        if device_id is None:
            devices = await client.request("devices.list", {"kind": "fiscal"})
            device_id = devices["fiscal_devices"][0]["config"]["id"]
        await client.subscribe(["device_status"], [device_id])

        lines = [{"type": "item", "description": "Cafea", "quantity_thousandths": 1000, "unit_price_cents": 1200,
                  "vat": "A"},
                 {"type": "item", "description": "Apa plata", "quantity_thousandths": 2000, "unit_price_cents": 450,
                  "vat": "B"}]
        operation = {"device_id": device_id, "operation": "print_receipt",
                     "params": {"lines": lines, "payments": [{"type": "cash", "amount_cents": 5000}]}}
        result = await client.execute(operation, idempotency_key=f"order-{uuid.uuid4()}")
        print(f"receipt {result['receipt_number']} total {result['total_cents']} change {result['change_cents']}")

        submitted = await client.request("operation.submit", {"device_id": device_id, "operation": "x_report"})
        completed = await asyncio.wait_for(done.get(), 60)
        assert completed["operation_id"] == submitted["operation_id"]
        print(f"x report: {completed['result']['receipts_count']} receipts today")
        state = await client.request("operation.get", {"operation_id": submitted["operation_id"]})
        print(f"operation {submitted['operation_id']}: {state['state']}")
        try:
            await client.execute({"device_id": device_id, "operation": "cash_out",
                                  "params": {"amount_cents": 99_999_999}})
        except FiscaldError as err:
            print(f"error {err.status}: {err.body['error']}")
    finally:
        await client.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="ws://127.0.0.1:10123/ws")
    parser.add_argument("--token")
    parser.add_argument("--device")
    args = parser.parse_args()
    asyncio.run(demo(args.url, args.token, args.device))
