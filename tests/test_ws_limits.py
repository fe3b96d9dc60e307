"""WebSocket handshake rules (token, Origin) and flow control: a client that stops reading is closed with 1013
while devices and other clients carry on."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from inproc import configure
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedError, InvalidStatus
from wsclient import ws_client, ws_url

from fiscald.config import Settings
from fiscald.interfaces.local_only import origin_allowed
from server import Server, add_simulated_register

TOKEN = "s3cret-token-for-tests"


@pytest.mark.parametrize(("origin", "allowed"), [
    ("http://127.0.0.1:8080", True), ("http://localhost:5173", True), ("https://localhost", True),
    ("http://[::1]:3000", True), ("http://127.0.0.2", True), ("https://pos.example.com", True),
    ("https://pos.example.com/", True), ("http://evil.example", False), ("http://localhost.evil.example", False),
    ("null", False), ("file://", False), ("ftp://127.0.0.1", False), ("http://10.0.0.5", False),
    # user-info is not an origin: the host after the last @ must not count
    ("http://user@evil.example@127.0.0.1", False), ("http://user@127.0.0.1", False),
    ("http://127.0.0.1:10123/path", False), ("http://127.0.0.1.nip.io", False),
    # the service's own origin (its Host header is 127.0.0.1:10123)
    ("http://127.0.0.1:10123", True), ("https://127.0.0.1:10123", True),
])
def test_origin_rule(origin: str, allowed: bool) -> None:
    settings = Settings(allowed_origins=["https://pos.example.com"])
    assert origin_allowed(origin, "127.0.0.1:10123", settings) is allowed


def test_token_and_origin_on_handshake(make_server: Any, tmp_path: Path) -> None:
    data = tmp_path / "d"
    add_simulated_register(data)
    configure(data, api_token=TOKEN, allowed_origins=["https://pos.example.com"])
    srv: Server = make_server(data)
    url = ws_url(srv.url)

    async def refused(target: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
        with pytest.raises(InvalidStatus) as info:
            async with connect(target, **kwargs):
                pass
        response = info.value.response
        return response.status_code, json.loads(response.body or b"{}")

    async def ping(target: str, **kwargs: Any) -> None:
        async with connect(target, **kwargs) as ws:
            await ws.send(json.dumps({"id": "1", "action": "ping"}))
            assert json.loads(await ws.recv())["action"] == "ping.result"

    async def go() -> None:
        status, body = await refused(url)
        assert status == 401 and body["status"] == 1011 and "token" in body["error"]
        status, body = await refused(url + "?token=wrong-token-0123456789")
        assert status == 401 and body["status"] == 1011 and "invalid" in body["error"]
        status, body = await refused(url + "?token=" + TOKEN, origin="http://evil.example")
        assert status == 403 and body["status"] == 1015 and "Origin" in body["error"]
        # a wrong Origin is told so, also without a token (not asked for the token)
        status, body = await refused(url, origin="http://evil.example")
        assert status == 403 and body["status"] == 1015 and "Origin" in body["error"] and "token" not in body["error"]
        status, body = await refused(url + "?token=" + TOKEN, origin="http://user@evil.example@127.0.0.1")
        assert status == 403 and body["status"] == 1015
        await ping(url + "?token=" + TOKEN)
        await ping(url, additional_headers={"Authorization": f"Bearer {TOKEN}"})
        await ping(url + "?token=" + TOKEN, origin="http://localhost:5173")
        await ping(url + "?token=" + TOKEN, origin="https://pos.example.com")

    asyncio.run(go())


def test_foreign_origin_refused_without_token(server: Server) -> None:
    async def go() -> None:
        with pytest.raises(InvalidStatus) as info:
            async with connect(ws_url(server.url), origin="https://shop.example"):
                pass
        assert info.value.response.status_code == 403
        async with ws_client(server.url, origin=f"http://127.0.0.1:{server.port}") as c:
            assert (await c.request("ping"))["status"] == 200

    asyncio.run(go())


def test_slow_client_is_closed_1013_and_blocks_nobody(make_server: Any, tmp_path: Path) -> None:
    data = tmp_path / "d"
    for i in range(4):
        add_simulated_register(data, f"Casa {i}")
    srv: Server = make_server(data)
    dev = srv.fiscal_ids()[0]
    flood_message = json.dumps({"id": "s", "action": "subscribe", "payload": {"events": ["device_status"]}})

    async def go() -> None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", srv.port))
        # `slow` never reads while it asks for 4 status events per message, 20,000 times
        async with connect(ws_url(srv.url), sock=sock, max_queue=1, compression=None) as slow, \
                ws_client(srv.url) as other, httpx.AsyncClient(base_url=srv.url) as http:
            async def flood() -> None:
                for _ in range(20_000):
                    await asyncio.wait_for(slow.send(flood_message), 5)

            async def meanwhile() -> float:
                worst = 0.0
                for _ in range(10):
                    started = time.monotonic()
                    assert (await other.request("ping"))["status"] == 200
                    r = await http.post("/devices/operation", json={"device_id": dev, "operation": "get_status"})
                    assert r.status_code == 200
                    worst = max(worst, time.monotonic() - started)
                return worst

            _, worst = await asyncio.gather(flood(), meanwhile())
            assert worst < 1.0
            received = 0
            with pytest.raises(ConnectionClosedError):
                while True:
                    await asyncio.wait_for(slow.recv(), 10)
                    received += 1
            assert slow.close_code == 1013
            assert received < 20_000 * 5  # the server dropped what it could not deliver

    asyncio.run(go())
