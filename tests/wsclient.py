"""A small test client over the `websockets` package: correlates replies by id and collects events."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import AsyncIterator
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed


def ws_url(http_url: str) -> str:
    return http_url.replace("http://", "ws://", 1) + "/ws"


class WsClient:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self._ids = itertools.count(1)
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.unmatched: asyncio.Queue[dict[str, Any]] = asyncio.Queue()  # replies nobody waits for (id null, ...)
        self.received: list[dict[str, Any]] = []  # every message, in arrival order
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            await self._dispatch()
        finally:
            for future in self._waiting.values():
                if not future.done():
                    future.set_exception(ConnectionError(f"connection closed ({self.ws.close_code})"))

    async def _dispatch(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for raw in self.ws:
                message = json.loads(raw)
                self.received.append(message)
                future = self._waiting.pop(message.get("id") or "", None)
                if future is not None:
                    future.set_result(message)
                elif message["action"].startswith("event."):
                    self.events.put_nowait(message)
                else:
                    self.unmatched.put_nowait(message)

    async def send(self, action: str, payload: Any = None, req_id: str | None = None) -> asyncio.Future[dict[str, Any]]:
        """Send a request; returns a future of its reply."""
        req_id = req_id or f"r{next(self._ids)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        if self._reader.done():
            raise ConnectionError(f"connection closed ({self.ws.close_code})")
        self._waiting[req_id] = future
        message: dict[str, Any] = {"id": req_id, "action": action}
        if payload is not None:
            message["payload"] = payload
        await self.ws.send(json.dumps(message))
        return future

    async def request(self, action: str, payload: Any = None, timeout: float = 10) -> dict[str, Any]:
        return await asyncio.wait_for(await self.send(action, payload), timeout)

    async def event(self, name: str | None = None, timeout: float = 10) -> dict[str, Any]:
        """The next event (skipping others when ``name`` is given)."""
        while True:
            message = await asyncio.wait_for(self.events.get(), timeout)
            if name is None or message["action"] == f"event.{name}":
                return message

    async def raw(self, text: str | bytes, timeout: float = 10) -> dict[str, Any]:
        """Send a raw frame; returns the next reply that matches no pending request."""
        await self.ws.send(text)
        return await asyncio.wait_for(self.unmatched.get(), timeout)

    async def closed(self, timeout: float = 10) -> int | None:
        """Wait until the server closes the connection; returns the close code."""
        await asyncio.wait_for(asyncio.shield(self._reader), timeout)
        return self.ws.close_code


@contextlib.asynccontextmanager
async def ws_client(http_url: str, **kwargs: Any) -> AsyncIterator[WsClient]:
    async with connect(ws_url(http_url), **kwargs) as ws:
        client = WsClient(ws)
        try:
            yield client
        finally:
            client._reader.cancel()
