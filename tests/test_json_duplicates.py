"""A JSON object that names a key twice is ambiguous (the last one silently won: a get_status body with a second
"operation": "z_report" closed the fiscal day). Every JSON interface refuses it with 400 naming the key."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from inproc import asgi_client
from wsclient import ws_client

from fiscald import jsonfmt
from server import Server, add_simulated_register

JSON = {"Content-Type": "application/json"}


def test_http_interfaces_refuse_a_duplicate_key(tmp_path: Path) -> None:
    dev = add_simulated_register(tmp_path)

    async def go() -> None:
        async with asgi_client(tmp_path) as c:
            body = f'{{"device_id": "{dev}", "operation": "get_status", "operation": "z_report"}}'
            r = await c.post("/devices/operation", content=body, headers=JSON)
            assert r.status_code == 400 and r.json()["status"] == 400
            assert "operation: duplicate key" in r.json()["error"]
            # the register was not touched: no Z report in its journal
            journal = (await c.get(f"/devices/{dev}/journal")).json()
            assert all(e["kind"] != "z_report" for e in journal["entries"])
            nested = (f'{{"device_id": "{dev}", "operation": "print_receipt", "params": {{"lines": [{{"type": '
                      '"item", "description": "a:b", "quantity_thousandths": 1000, "unit_price_cents": 100, '
                      '"unit_price_cents": 1, "vat": "A"}], "payments": [{"type": "cash", "amount_cents": 100}]}}')
            r = await c.post("/devices/operation", content=nested, headers=JSON)
            assert r.status_code == 400 and "unit_price_cents: duplicate key" in r.json()["error"]
            for path, text in [
                ("/manage/save_settings", '{"language": "en", "language": "ro"}'),
                ("/manage/simulate", f'{{"device_id": "{dev}", "device_id": "{dev}"}}'),
                ("/manage/save_fiscal_device", '{"name": "a", "name": "b"}'),
                ("/manage/delete_pos_terminal", '{"id": "x", "id": "y"}'),
            ]:
                r = await c.post(path, content=text, headers=JSON)
                assert r.status_code == 400, path
                key = text.split('"')[1]
                assert r.json()["status"] == 400 and f"{key}: duplicate key" in r.json()["error"], path
            assert (await c.get("/manage/get_settings")).json()["language"] == "ro"

    asyncio.run(go())


def test_websocket_refuses_a_duplicate_key(server: Server, device_id: str) -> None:
    async def go() -> None:
        async with ws_client(server.url) as c:
            reply = await c.raw('{"id": "1", "action": "ping", "action": "hello"}')
            assert reply["action"] == "error" and reply["status"] == 400
            assert "action: duplicate key" in reply["error"]
            payload = f'{{"device_id": "{device_id}", "operation": "get_status", "operation": "z_report"}}'
            reply = await c.raw(f'{{"id": "2", "action": "operation.execute", "payload": {payload}}}')
            assert reply["status"] == 400 and "operation: duplicate key" in reply["error"]
            assert (await c.request("ping"))["action"] == "ping.result"

    asyncio.run(go())


keys = st.text(max_size=4)
# orjson reads integers beyond 64 bits as floats (which the strict models then refuse as non-integers): the
# property is about keys, so integers stay in the range both parsers read alike
values = st.recursive(st.none() | st.integers(-(2**63), 2**64 - 1) | st.text(max_size=6),
                      lambda inner: st.lists(inner, max_size=3) | st.lists(st.tuples(keys, inner), max_size=4),
                      max_leaves=12)


def _text(value: Any) -> str:
    """JSON text of ``value``, where a list of (key, value) pairs is written as an object, duplicates and all."""
    if isinstance(value, list) and value and all(isinstance(p, tuple) for p in value):
        return "{" + ",".join(f"{json.dumps(k)}:{_text(v)}" for k, v in value) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_text(v) for v in value) + "]"
    return json.dumps(value)


def _has_duplicate(value: Any) -> bool:
    if isinstance(value, list) and value and all(isinstance(p, tuple) for p in value):
        names = [k for k, _ in value]
        return len(set(names)) != len(names) or any(_has_duplicate(v) for _, v in value)
    return isinstance(value, list) and any(_has_duplicate(v) for v in value)


@given(values)
def test_loads_unique_refuses_exactly_the_texts_with_a_repeated_key(value: Any) -> None:
    text = _text(value)
    for data in (text, text.encode()):
        if _has_duplicate(value):
            with pytest.raises(jsonfmt.DuplicateKeyError):
                jsonfmt.loads_unique(data)
        else:
            assert jsonfmt.loads_unique(data) == json.loads(text)
