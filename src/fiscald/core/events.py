"""In-process publish/subscribe for device status, operation and journal events, and the one place their
payloads are built (the WebSocket API and the INP interface read them as they are).

Publishing never blocks: each subscriber has a bounded queue; a subscriber that falls behind has
its queue marked overflowed and is expected to close (the WebSocket layer closes with 1013).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fiscald.errors import Language
from fiscald.models.status import StatusInfo
from fiscald.store.journal import JournalEntry


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


def device_status(device_id: str, kind: str, previous: StatusInfo | None, current: StatusInfo,
                  language: Language) -> Event:
    """A status change; ``previous`` None for a snapshot of the current status (e.g. on subscribe)."""
    return Event("device_status", device_id, {
        "device_id": device_id, "kind": kind, "status": current.status.value, "status_text": current.text(language),
        "previous_status": None if previous is None else previous.status.value})


def operation_started(device_id: str, operation_id: str, operation: str) -> Event:
    return Event("operation_started", device_id,
                 {"operation_id": operation_id, "device_id": device_id, "operation": operation})


def operation_completed(device_id: str, operation_id: str, operation: str, body: dict[str, Any]) -> Event:
    """``body`` is the answer: its ``result`` on success, else the whole error body under ``error``."""
    payload: dict[str, Any] = {"operation_id": operation_id, "device_id": device_id, "operation": operation}
    if body.get("status") == 200:
        payload["result"] = body["result"]
    else:
        payload["error"] = body
    return Event("operation_completed", device_id, payload)


def journal(device_id: str, entry: JournalEntry) -> Event:
    return Event("journal", device_id, {"device_id": device_id, "entry": entry.to_json()})
