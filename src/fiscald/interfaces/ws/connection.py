"""One WebSocket connection: its reader, its writer and their flow control.

Flow control per connection (one writer task, one send queue for replies and events, in order):
- every incoming message takes one of ``MAX_IN_FLIGHT`` slots, given back when its reply has been written to
  the socket; with no slot free the connection is not read (TCP back-pressure on the client);
- the manager's events go straight into the send queue (it is the connection's event-bus subscription); when
  ``SEND_QUEUE`` messages are waiting the connection is closed with 1013, so a client that stops reading
  never slows a device or another client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal

from fastapi import WebSocket

from fiscald.core.events import Event
from fiscald.core.manager import DeviceManager
from fiscald.errors import Code, FiscalError
from fiscald.interfaces.ws.protocol import (
    CATEGORY_OF,
    OWN_COMPLETED,
    REPLY,
    BadEnvelope,
    Reply,
    bad,
    dumps,
    parse_envelope,
    reply_message,
)
from fiscald.interfaces.ws.tracking import OperationTracker
from fiscald.operations.registry import unknown_name

log = logging.getLogger("fiscald.ws")

SEND_QUEUE = 1000  # undelivered messages (replies and events) per connection; one more closes it with 1013
MAX_IN_FLIGHT = 250  # requests per connection being handled or waiting for their reply to be written
MAX_MALFORMED = 100  # malformed messages in a row tolerated; one more closes with 1008
CLOSE_TIMEOUT_S = 5.0

CLOSE_POLICY = 1008
CLOSE_TRY_LATER = 1013

Handler = Callable[["Connection", str, dict[str, Any]], Awaitable[Reply | None]]


class Connection:
    def __init__(self, websocket: WebSocket, manager: DeviceManager, tracker: OperationTracker,
                 actions: Mapping[str, Handler]) -> None:
        self.ws = websocket
        self.manager = manager
        self.tracker = tracker
        self.actions = actions
        # The send queue: replies and events in the order they are sent. It is this connection's subscription to
        # the manager's events, which deliver nothing until the client subscribes or submits (names: replies only).
        self.outbox = manager.events.subscribe(SEND_QUEUE, {REPLY})
        self.outbox.on_overflow = lambda: self.fail(CLOSE_TRY_LATER)
        self.seq = 0
        self.slots = asyncio.Semaphore(MAX_IN_FLIGHT)
        self.subscriptions: dict[str, set[str] | None] = {}  # category -> device ids (None: every device)
        self.own: dict[str, bool] = {}  # submitted here and not completed -> bus completion already sent
        self.tasks: set[asyncio.Task[None]] = set()
        self.stopping = asyncio.Event()
        self.close_code: int | None = None
        self.open = True

    @property
    def language(self) -> Literal["ro", "en"]:
        return self.manager.settings.language

    # -- lifecycle ----------------------------------------------------------------------------------------
    async def serve(self) -> None:
        writer = asyncio.create_task(self._write())
        reader = asyncio.create_task(self._read())
        stopper = asyncio.create_task(self.stopping.wait())
        try:
            await asyncio.wait({writer, reader, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.open = False
            self.manager.events.unsubscribe(self.outbox)
            helpers = (writer, reader, stopper)
            for task in helpers:
                task.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
            if self.close_code is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self.ws.close(self.close_code), CLOSE_TIMEOUT_S)

    def fail(self, code: int) -> None:
        """Close the connection with ``code`` (requests already on a device still run to completion)."""
        if self.close_code is None:
            self.close_code = code
            self.stopping.set()

    async def _write(self) -> None:
        try:
            while True:
                event = await self.outbox.queue.get()
                if event.name == REPLY:
                    await self.ws.send_text(event.payload["text"])
                    self.slots.release()
                    continue
                text = self._event_text(event)
                if text is not None:
                    await self.ws.send_text(text)
        except asyncio.CancelledError:
            raise
        except Exception:  # the client went away
            self.stopping.set()

    async def _read(self) -> None:
        malformed = 0
        while True:
            await self.slots.acquire()
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            try:
                if text is None:
                    raise bad(None, "message: binary frames are not supported; send JSON text")
                req_id, action, payload = parse_envelope(text)
            except BadEnvelope as err:
                malformed += 1
                if malformed > MAX_MALFORMED:
                    self.fail(CLOSE_POLICY)
                    return
                self.reply(err.req_id, "", Reply(False, err.error.body(self.language)))
                continue
            malformed = 0
            task = asyncio.create_task(self._run(req_id, action, payload))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _run(self, req_id: str, action: str, payload: Any) -> None:
        try:
            handler = self.actions.get(action)
            if handler is None:
                raise FiscalError(Code.CONFIG, f"action: {unknown_name('action', action, self.actions)}")
            if payload is None:
                payload = {}
            if not isinstance(payload, dict):
                raise FiscalError(Code.CONFIG, "payload: expected a JSON object")
            reply = await handler(self, req_id, payload)
        except FiscalError as err:
            reply = Reply(False, err.body(self.language))
        except Exception as exc:  # a bug must not take the connection down
            log.exception("ws action %s failed", action)
            reply = Reply(False, FiscalError(Code.INTERNAL, type(exc).__name__).body(self.language))
        if reply is not None:
            self.reply(req_id, action, reply)

    # -- sending ------------------------------------------------------------------------------------------
    def _put(self, event: Event) -> None:
        if not self.open:
            return
        try:
            self.outbox.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.fail(CLOSE_TRY_LATER)

    def reply(self, req_id: str | None, action: str, reply: Reply) -> None:
        """Queue the one reply of a request (its slot is given back once the reply is written)."""
        self._put(Event(REPLY, "", {"text": dumps(reply_message(req_id, action, reply))}))

    def inject(self, event: Event) -> None:
        """Queue an event behind those already queued (keeps per-device order)."""
        self._put(event)

    def listen(self) -> None:
        """Let the manager's events into the send queue (filtered by :meth:`_event_text`)."""
        self.outbox.names.update(CATEGORY_OF)

    def wants(self, category: str, device_id: str) -> bool:
        if category not in self.subscriptions:
            return False
        devices = self.subscriptions[category]
        return devices is None or device_id in devices

    def _event_text(self, event: Event) -> str | None:
        """The event envelope to send, or None when this connection does not want the event."""
        name, payload = event.name, event.payload
        if name == OWN_COMPLETED:
            if self.own.pop(payload["operation_id"], False):
                return None  # already delivered from the bus
            name = "operation_completed"
        elif CATEGORY_OF[name] == "operation" and payload["operation_id"] in self.own:
            if name == "operation_completed":
                self.own[payload["operation_id"]] = True
        elif not self.wants(CATEGORY_OF[name], event.device_id):
            return None
        self.seq += 1
        return f'{{"action":"event.{name}","payload":{_payload_json(event)},"seq":{self.seq}}}'

    def subscription_view(self) -> dict[str, Any]:
        return {"subscribed": sorted(self.subscriptions),
                "device_ids": {c: None if ids is None else sorted(ids) for c, ids in self.subscriptions.items()}}


_payload_cache: OrderedDict[int, tuple[Event, str]] = OrderedDict()


def _payload_json(event: Event) -> str:
    """An event's payload as JSON, serialized once for all the connections it goes to."""
    hit = _payload_cache.get(id(event))
    if hit is not None and hit[0] is event:
        return hit[1]
    text = dumps(event.payload)
    _payload_cache[id(event)] = (event, text)
    if len(_payload_cache) > 256:
        _payload_cache.popitem(last=False)
    return text
