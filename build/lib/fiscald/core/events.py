"""In-process publish/subscribe for device status, operation and journal events.

Publishing never blocks: each subscriber has a bounded queue; a subscriber that falls behind has
its queue marked overflowed and is expected to close (the WebSocket layer closes with 1013).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    name: str  # "device_status" | "operation_started" | "operation_completed" | "journal"
    device_id: str
    payload: dict[str, Any]


@dataclass(eq=False)
class Subscription:
    queue: asyncio.Queue[Event]
    overflowed: bool = False
    names: set[str] = field(default_factory=set)  # empty = all
    on_overflow: Callable[[], None] | None = None  # called once, when the queue first overflows

    def wants(self, event: Event) -> bool:
        return not self.names or event.name in self.names


class EventBus:
    def __init__(self) -> None:
        self._subscribers: set[Subscription] = set()

    def subscribe(self, maxsize: int = 1000, names: set[str] | None = None) -> Subscription:
        sub = Subscription(asyncio.Queue(maxsize=maxsize), names=set(names or ()))
        self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subscribers.discard(sub)

    def publish(self, event: Event) -> None:
        for sub in list(self._subscribers):
            if sub.overflowed or not sub.wants(event):
                continue
            try:
                sub.queue.put_nowait(event)
            except asyncio.QueueFull:
                sub.overflowed = True
                if sub.on_overflow is not None:
                    sub.on_overflow()

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)
