"""What each WebSocket action does: payload -> manager -> :class:`Reply` (``None`` when the handler has
already queued its reply itself)."""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from fiscald import __version__
from fiscald.core import events
from fiscald.core.events import Event
from fiscald.errors import Code, FiscalError
from fiscald.interfaces.views import device_view
from fiscald.interfaces.ws.connection import Connection, Handler
from fiscald.interfaces.ws.protocol import (
    MAX_SUBSCRIBED_IDS,
    OWN_COMPLETED,
    PROTOCOL,
    DevicesListPayload,
    HelloPayload,
    NoPayload,
    OperationGetPayload,
    Reply,
    SubscribePayload,
    completed_payload,
    outcome_reply,
    parse_operation_payload,
    parse_payload,
)

log = logging.getLogger("fiscald.ws")


async def _hello(conn: Connection, req_id: str, payload: dict[str, Any]) -> Reply:
    hello = parse_payload(HelloPayload, payload)
    if hello.client:
        log.info("ws client %s", hello.client)
    return Reply(True, {"server": "fiscald", "version": __version__, "protocol": PROTOCOL})


async def _ping(conn: Connection, req_id: str, payload: dict[str, Any]) -> Reply:
    parse_payload(NoPayload, payload)
    return Reply(True, {})


async def _devices_list(conn: Connection, req_id: str, payload: dict[str, Any]) -> Reply:
    kind = parse_payload(DevicesListPayload, payload).kind
    lang = conn.language
    body: dict[str, Any] = {}
    if kind in (None, "fiscal"):
        body["fiscal_devices"] = [device_view(h, lang) for h in conn.manager.handles("fiscal")]
    if kind in (None, "pos"):
        body["pos_terminals"] = [device_view(h, lang) for h in conn.manager.handles("pos")]
    return Reply(True, body)


async def _execute(conn: Connection, req_id: str, payload: dict[str, Any]) -> Reply:
    op, key = parse_operation_payload(payload)
    return outcome_reply(await conn.manager.execute(op, key, source="ws", record=True))


async def _submit(conn: Connection, req_id: str, payload: dict[str, Any]) -> Reply | None:
    op, key = parse_operation_payload(payload)
    conn.listen()  # subscribed before the job can start, so its events are not missed
    queued_id: str | None = None

    async def on_queued(op_id: str) -> None:
        nonlocal queued_id
        queued_id = op_id
        conn.tracker.queued(op_id, op)
        conn.own[op_id] = False
        conn.reply(req_id, "operation.submit", Reply(True, {"operation_id": op_id}))

    # asynchronous: nobody waits on this answer (the client has the id at once), so it is the real outcome
    outcome = await conn.manager.execute(op, key, source="ws", record=True, on_queued=on_queued, bounded=False)
    op_id = queued_id or outcome.operation_id
    if op_id is None:  # refused before it was queued (bad request, unknown device, queue full, ...)
        return outcome_reply(outcome)
    conn.tracker.finished(op_id, op, outcome)
    if queued_id is None:  # joined an identical request already running: its id is known only now
        conn.reply(req_id, "operation.submit", Reply(True, {"operation_id": op_id}, outcome.replayed))
    conn.inject(Event(OWN_COMPLETED, op.device_id, completed_payload(op_id, op, outcome)))
    return None


async def _get(conn: Connection, req_id: str, payload: dict[str, Any]) -> Reply:
    op_id = parse_payload(OperationGetPayload, payload).operation_id
    return Reply(True, await conn.tracker.lookup(conn.manager, op_id))


async def _subscribe(conn: Connection, req_id: str, payload: dict[str, Any]) -> None:
    request = parse_payload(SubscribePayload, payload)
    ids = None if request.device_ids is None else {str(u) for u in request.device_ids}
    if ids is not None:
        _check_subscribable(conn, request.device_ids or [], ids)
    for category in request.events:
        current = conn.subscriptions.get(category, set())
        conn.subscriptions[category] = None if ids is None or current is None else current | ids
    # no await from here on: the reply is queued before any event the subscription lets in, and the current
    # statuses right behind it
    conn.listen()
    conn.reply(req_id, "subscribe", Reply(True, conn.subscription_view()))
    if "device_status" in request.events:
        for handle in conn.manager.handles():
            if ids is None or handle.id in ids:
                conn.inject(events.device_status(handle.id, handle.kind, None, handle.status, conn.language))


def _check_subscribable(conn: Connection, requested: list[UUID], ids: set[str]) -> None:
    """Only configured devices, and at most ``MAX_SUBSCRIBED_IDS`` distinct ones per connection."""
    known = {h.id for h in conn.manager.handles()}
    for index, device_id in enumerate(requested):
        if str(device_id) not in known:
            raise FiscalError(Code.DEVICE_NOT_FOUND, f"payload.device_ids.{index}: no device {device_id}")
    subscribed = set().union(*(v for v in conn.subscriptions.values() if v is not None))
    if len(subscribed | ids) > MAX_SUBSCRIBED_IDS:
        raise FiscalError(Code.CONFIG, f"payload.device_ids: at most {MAX_SUBSCRIBED_IDS} devices per connection "
                                       "(subscribe with device_ids null for every device)")


async def _unsubscribe(conn: Connection, req_id: str, payload: dict[str, Any]) -> Reply:
    request = parse_payload(SubscribePayload, payload)
    ids = None if request.device_ids is None else {str(u) for u in request.device_ids}
    if ids is not None:
        for category in request.events:
            if category in conn.subscriptions and conn.subscriptions[category] is None:
                raise FiscalError(Code.CONFIG, f"device_ids: {category} is subscribed for every device; "
                                               "unsubscribe it without device_ids")
    for category in request.events:
        current = conn.subscriptions.get(category)
        remaining = set() if ids is None or current is None else current - ids
        if remaining:
            conn.subscriptions[category] = remaining
        else:
            conn.subscriptions.pop(category, None)
    return Reply(True, conn.subscription_view())


ACTIONS: dict[str, Handler] = {
    "hello": _hello,
    "ping": _ping,
    "devices.list": _devices_list,
    "operation.execute": _execute,
    "operation.submit": _submit,
    "operation.get": _get,
    "subscribe": _subscribe,
    "unsubscribe": _unsubscribe,
}
