"""Subscriptions are bounded (ids per message, per connection, only configured devices) and answered before
the events they let in."""

from __future__ import annotations

import asyncio
import uuid

from wsclient import ws_client

from fiscald.interfaces.ws.protocol import MAX_SUBSCRIBE_IDS
from server import Server


def test_subscribe_reply_comes_before_the_first_status_event(server: Server, device_id: str) -> None:
    async def go() -> None:
        async with ws_client(server.url) as c:
            for _ in range(5):  # the order must hold every time, not by luck
                await c.request("unsubscribe", {"events": ["device_status"]})
                seen = len(c.received)
                await c.request("subscribe", {"events": ["device_status"], "device_ids": [device_id]})
                await c.event("device_status")
                actions = [m["action"] for m in c.received[seen:]]
                assert actions[:2] == ["subscribe.result", "event.device_status"], actions

    asyncio.run(go())


def test_subscriptions_are_bounded_and_replies_small(server: Server, device_id: str) -> None:
    async def go() -> None:
        async with ws_client(server.url) as c:
            many = [str(uuid.uuid4()) for _ in range(MAX_SUBSCRIBE_IDS + 1)]
            r = await c.request("subscribe", {"events": ["journal"], "device_ids": many})
            assert r["status"] == 400 and "payload.device_ids" in r["error"]
            unknown = str(uuid.uuid4())
            r = await c.request("subscribe", {"events": ["journal"], "device_ids": [device_id, unknown]})
            assert r["status"] == 404 and unknown in r["error"] and "payload.device_ids.1" in r["error"]
            r = await c.request("subscribe", {"events": ["journal", "operation"], "device_ids": [device_id] * 200})
            assert r["payload"]["device_ids"] == {"journal": [device_id], "operation": [device_id]}
            r = await c.request("subscribe", {"events": ["journal"] * 20})
            assert r["status"] == 400 and "payload.events" in r["error"]
            assert (await c.request("ping"))["action"] == "ping.result"
            # nothing refused was added
            r = await c.request("unsubscribe", {"events": ["device_status"]})
            assert r["payload"]["device_ids"] == {"journal": [device_id], "operation": [device_id]}

    asyncio.run(go())

