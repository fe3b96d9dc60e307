"""The event bus tells a subscriber when its queue overflows (the WebSocket layer then closes with 1013)."""

from __future__ import annotations

import asyncio

from fiscald.core.events import Event, EventBus


def test_overflow_hook_runs_once_and_stops_delivery() -> None:
    async def go() -> None:
        bus = EventBus()
        calls: list[str] = []
        sub = bus.subscribe(maxsize=2, names={"journal"})
        sub.on_overflow = lambda: calls.append("overflow")
        other = bus.subscribe(maxsize=10)
        for n in range(5):
            bus.publish(Event("journal", "dev", {"n": n}))
        bus.publish(Event("device_status", "dev", {}))
        assert calls == ["overflow"] and sub.overflowed
        assert [sub.queue.get_nowait().payload["n"] for _ in range(2)] == [0, 1]
        assert other.queue.qsize() == 6 and not other.overflowed  # one slow subscriber does not affect another

    asyncio.run(go())
