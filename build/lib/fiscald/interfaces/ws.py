"""The WebSocket API (docs/websocket.md): envelopes with action codes, concurrent requests on one connection,
asynchronous operations and pushed events.

Only translation lives here: envelope -> :class:`Operation` -> ``DeviceManager.execute`` -> reply and event
envelopes. Every error is a :class:`FiscalError` from the one table, in the same ``{"status", "error"}`` shape.

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
import hmac
import ipaddress
import json
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlsplit
from uuid import UUID

from fastapi import APIRouter, WebSocket
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError

from fiscald import __version__
from fiscald.config import Settings
from fiscald.core.events import Event
from fiscald.core.manager import DeviceManager, Outcome
from fiscald.errors import Code, FiscalError
from fiscald.interfaces.views import device_view
from fiscald.operations import Operation, parse_operation
from fiscald.operations.registry import config_error_from
from fiscald.store import operations as op_repo
from fiscald.store.operations import OperationRecord

log = logging.getLogger("fiscald.ws")

PROTOCOL = 1
MAX_MESSAGE_BYTES = 1024 * 1024  # enforced by the server (uvicorn ws_max_size): larger messages close with 1009
PING_INTERVAL_S = 20.0
PING_TIMEOUT_S = 40.0  # a client that does not answer a ping within this is dropped (1011)
SEND_QUEUE = 1000  # undelivered messages (replies and events) per connection; one more closes it with 1013
MAX_IN_FLIGHT = 250  # requests per connection being handled or waiting for their reply to be written
MAX_MALFORMED = 100  # malformed messages in a row tolerated; one more closes with 1008
RECENT_OUTCOMES = 1000  # finished submitted operations whose outcome is kept in memory too
CLOSE_TIMEOUT_S = 5.0
# what the server does for us: message size (1009 beyond it), keep-alive pings; no permessage-deflate
# (small JSON on a local link: compressing costs more CPU and ~40 KiB of zlib state per connection)
UVICORN_OPTIONS: dict[str, Any] = {"ws_max_size": MAX_MESSAGE_BYTES, "ws_ping_interval": PING_INTERVAL_S,
                                   "ws_ping_timeout": PING_TIMEOUT_S, "ws_per_message_deflate": False}
MAX_ID = 64
MAX_ACTION = 64

CLOSE_POLICY = 1008
CLOSE_TRY_LATER = 1013

Category = Literal["device_status", "operation", "journal"]
EVENT_NAMES: dict[str, tuple[str, ...]] = {
    "device_status": ("device_status",),
    "operation": ("operation_started", "operation_completed"),
    "journal": ("journal",),
}
CATEGORY_OF = {name: category for category, names in EVENT_NAMES.items() for name in names}
_OWN_COMPLETED = "ws.own_completed"  # completion of an operation this connection submitted (never on the bus)
_REPLY = "ws.reply"  # a reply in the send queue (never on the bus)


# -- payloads ---------------------------------------------------------------------------------------------
class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HelloPayload(_Payload):
    client: Annotated[StrictStr, Field(max_length=200)] | None = None


class NoPayload(_Payload):
    pass


class DevicesListPayload(_Payload):
    kind: Literal["fiscal", "pos"] | None = None


class OperationGetPayload(_Payload):
    operation_id: Annotated[StrictStr, Field(min_length=1, max_length=64)]


class SubscribePayload(_Payload):
    events: Annotated[list[Category], Field(min_length=1)]
    device_ids: list[UUID] | None = None


P = TypeVar("P", bound=_Payload)


def _parse(model: type[P], payload: dict[str, Any]) -> P:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise config_error_from(exc, "payload") from None


def _operation(payload: dict[str, Any]) -> tuple[Operation, str | None]:
    op = parse_operation(payload, extra_fields=frozenset({"idempotency_key"}))
    key = payload.get("idempotency_key")
    if key is not None and not isinstance(key, str):
        raise FiscalError(Code.CONFIG, "idempotency_key: must be a string")
    return op, key


# -- envelopes --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Reply:
    """A request's answer: ``body`` is the reply payload (ok) or the error body ``{"status", "error", ...}``."""

    ok: bool
    body: dict[str, Any]
    replayed: bool = False


def _outcome_reply(outcome: Outcome) -> Reply:
    return Reply(outcome.ok, outcome.body, outcome.replayed)


class _BadEnvelope(Exception):
    def __init__(self, req_id: str | None, error: FiscalError) -> None:
        super().__init__(error.detail)
        self.req_id = req_id
        self.error = error


def _bad(req_id: str | None, detail: str) -> _BadEnvelope:
    return _BadEnvelope(req_id, FiscalError(Code.CONFIG, detail))


def _utf8(text: str) -> bool:
    """False for strings with lone surrogates (valid JSON escapes, but no reply could carry them back)."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def parse_envelope(text: str) -> tuple[str, str, Any]:
    """``(id, action, payload)`` of a client message; raises :class:`_BadEnvelope` naming what is wrong."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:  # RecursionError: nesting deeper than the parser goes
        raise _bad(None, f"message: malformed JSON ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise _bad(None, "message: expected a JSON object {id, action, payload}")
    req_id = data.get("id")
    if not isinstance(req_id, str) or not 1 <= len(req_id) <= MAX_ID or not _utf8(req_id):
        raise _bad(None, f"id: required, a string of 1 to {MAX_ID} characters")
    unknown = sorted(set(data) - {"id", "action", "payload"})
    if unknown:
        raise _bad(req_id, f"{unknown[0]}: unknown field")
    action = data.get("action")
    if not isinstance(action, str) or not 1 <= len(action) <= MAX_ACTION or not _utf8(action):
        raise _bad(req_id, f"action: required, an action code of 1 to {MAX_ACTION} characters")
    return req_id, action, data.get("payload")


def _dumps(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


def _reply_message(req_id: str | None, action: str, reply: Reply) -> dict[str, Any]:
    if reply.ok:
        message: dict[str, Any] = {"id": req_id, "action": f"{action}.result", "status": 200, "payload": reply.body}
    else:
        message = {"id": req_id, "action": f"{action}.error" if action else "error", **reply.body}
    if reply.replayed:
        message["replayed"] = True
    return message


def _completed_payload(op_id: str, op: Operation, outcome: Outcome) -> dict[str, Any]:
    payload: dict[str, Any] = {"operation_id": op_id, "device_id": op.device_id, "operation": op.name}
    if outcome.ok:
        payload["result"] = outcome.body["result"]
    else:
        payload["error"] = outcome.body
    if outcome.replayed:
        payload["replayed"] = True
    return payload


# -- handshake --------------------------------------------------------------------------------------------
def origin_allowed(origin: str, allowed: list[str]) -> bool:
    """Loopback pages (http(s)://127.x, localhost, [::1], any port) or an origin listed in ``allowed_origins``."""
    if origin.rstrip("/").lower() in {o.rstrip("/").lower() for o in allowed}:
        return True
    parts = urlsplit(origin)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bearer(header: str | None) -> str | None:
    if header is None:
        return None
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def handshake_error(websocket: WebSocket, settings: Settings) -> tuple[int, FiscalError] | None:
    """``(HTTP status, error)`` when the handshake must be refused, else None."""
    origin = websocket.headers.get("origin")
    if origin is not None and not origin_allowed(origin, settings.allowed_origins):
        return 403, FiscalError(Code.UNAUTHORIZED, f"Origin: {origin!r} is not loopback nor in allowed_origins")
    if settings.api_token:
        # the header first, as the HTTP middleware does: both checks must agree on which token counts
        given = _bearer(websocket.headers.get("authorization")) or websocket.query_params.get("token")
        if not given:
            return 401, FiscalError(Code.UNAUTHORIZED, "token: required (?token= or Authorization: Bearer)")
        if not hmac.compare_digest(given.encode(), settings.api_token.encode()):
            return 401, FiscalError(Code.UNAUTHORIZED, "token: invalid")
    return None


# -- submitted operations ---------------------------------------------------------------------------------
class OperationTracker:
    """Where a submitted operation is: queued/running (memory), done (the durable operation log; outcomes that
    are not stored — the request's own errors, 1013 not started — are kept in memory for the latest few)."""

    def __init__(self) -> None:
        self._pending: dict[str, tuple[str, str]] = {}  # operation_id -> (device_id, operation)
        self._recent: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def queued(self, op_id: str, op: Operation) -> None:
        self._pending[op_id] = (op.device_id, op.name)

    def finished(self, op_id: str, op: Operation, outcome: Outcome) -> None:
        view = {**_completed_payload(op_id, op, outcome), "state": "done"}
        view.pop("replayed", None)
        self._recent[op_id] = view
        self._recent.move_to_end(op_id)
        while len(self._recent) > RECENT_OUTCOMES:
            self._recent.popitem(last=False)
        self._pending.pop(op_id, None)

    async def lookup(self, manager: DeviceManager, op_id: str) -> dict[str, Any]:
        pending = self._pending.get(op_id)
        if pending is not None and _on_device(manager, pending[0], op_id):
            return _view(op_id, pending, "running")
        record = await manager.db.read(lambda c: op_repo.get(c, op_id))
        if record is not None:
            return _record_view(record)
        recent = self._recent.get(op_id)
        if recent is not None:
            return recent
        pending = self._pending.get(op_id)
        if pending is not None:
            return _view(op_id, pending, "queued")
        raise FiscalError(Code.CONFIG, f"operation_id: no operation {op_id!r} (unknown or expired)")


def _on_device(manager: DeviceManager, device_id: str, op_id: str) -> bool:
    return any(h.id == device_id and h.running is not None and h.running.operation_id == op_id
               for h in manager.handles())


def _view(op_id: str, pending: tuple[str, str], state: str) -> dict[str, Any]:
    return {"operation_id": op_id, "device_id": pending[0], "operation": pending[1], "state": state}


def _record_view(record: OperationRecord) -> dict[str, Any]:
    view: dict[str, Any] = {"operation_id": record.id, "device_id": record.device_id,
                            "operation": record.operation}
    body = record.response
    if record.state == "running" or body is None:
        view["state"] = "running"
    elif body.get("status") == 200 and "result" in body:
        view.update(state="done", result=body["result"])
    else:
        view.update(state="done", error=body)
    return view


# -- one connection ---------------------------------------------------------------------------------------
Handler = Callable[["Connection", str, dict[str, Any]], Awaitable[Reply | None]]


class Connection:
    def __init__(self, websocket: WebSocket, manager: DeviceManager, tracker: OperationTracker) -> None:
        self.ws = websocket
        self.manager = manager
        self.tracker = tracker
        # The send queue: replies and events in the order they are sent. It is this connection's subscription to
        # the manager's events, which deliver nothing until the client subscribes or submits (names: replies only).
        self.outbox = manager.events.subscribe(SEND_QUEUE, {_REPLY})
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
                if event.name == _REPLY:
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
                    raise _bad(None, "message: binary frames are not supported; send JSON text")
                req_id, action, payload = parse_envelope(text)
            except _BadEnvelope as bad:
                malformed += 1
                if malformed > MAX_MALFORMED:
                    self.fail(CLOSE_POLICY)
                    return
                self.reply(bad.req_id, "", Reply(False, bad.error.body(self.language)))
                continue
            malformed = 0
            task = asyncio.create_task(self._run(req_id, action, payload))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _run(self, req_id: str, action: str, payload: Any) -> None:
        try:
            handler = ACTIONS.get(action)
            if handler is None:
                raise FiscalError(Code.CONFIG, f"action: unknown action {action!r}")
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
        self._put(Event(_REPLY, "", {"text": _dumps(_reply_message(req_id, action, reply))}))

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
        if name == _OWN_COMPLETED:
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
    text = _dumps(event.payload)
    _payload_cache[id(event)] = (event, text)
    if len(_payload_cache) > 256:
        _payload_cache.popitem(last=False)
    return text


# -- actions ----------------------------------------------------------------------------------------------
async def _hello(conn: Connection, req_id: str, payload: dict[str, Any]) -> Reply:
    hello = _parse(HelloPayload, payload)
    if hello.client:
        log.info("ws client %s", hello.client)
    return Reply(True, {"server": "fiscald", "version": __version__, "protocol": PROTOCOL})


async def _ping(conn: Connection, req_id: str, payload: dict[str, Any]) -> Reply:
    _parse(NoPayload, payload)
    return Reply(True, {})


async def _devices_list(conn: Connection, req_id: str, payload: dict[str, Any]) -> Reply:
    kind = _parse(DevicesListPayload, payload).kind
    lang = conn.language
    body: dict[str, Any] = {}
    if kind in (None, "fiscal"):
        body["fiscal_devices"] = [device_view(h, lang) for h in conn.manager.handles("fiscal")]
    if kind in (None, "pos"):
        body["pos_terminals"] = [device_view(h, lang) for h in conn.manager.handles("pos")]
    return Reply(True, body)


async def _execute(conn: Connection, req_id: str, payload: dict[str, Any]) -> Reply:
    op, key = _operation(payload)
    return _outcome_reply(await conn.manager.execute(op, key, source="ws", record=True))


async def _submit(conn: Connection, req_id: str, payload: dict[str, Any]) -> Reply | None:
    op, key = _operation(payload)
    conn.listen()  # subscribed before the job can start, so its events are not missed
    queued_id: str | None = None

    async def on_queued(op_id: str) -> None:
        nonlocal queued_id
        queued_id = op_id
        conn.tracker.queued(op_id, op)
        conn.own[op_id] = False
        conn.reply(req_id, "operation.submit", Reply(True, {"operation_id": op_id}))

    outcome = await conn.manager.execute(op, key, source="ws", record=True, on_queued=on_queued)
    op_id = queued_id or outcome.operation_id
    if op_id is None:  # refused before it was queued (bad request, unknown device, queue full, ...)
        return _outcome_reply(outcome)
    conn.tracker.finished(op_id, op, outcome)
    if queued_id is None:  # joined an identical request already running: its id is known only now
        conn.reply(req_id, "operation.submit", Reply(True, {"operation_id": op_id}, outcome.replayed))
    conn.inject(Event(_OWN_COMPLETED, op.device_id, _completed_payload(op_id, op, outcome)))
    return None


async def _get(conn: Connection, req_id: str, payload: dict[str, Any]) -> Reply:
    op_id = _parse(OperationGetPayload, payload).operation_id
    return Reply(True, await conn.tracker.lookup(conn.manager, op_id))


async def _subscribe(conn: Connection, req_id: str, payload: dict[str, Any]) -> Reply:
    request = _parse(SubscribePayload, payload)
    ids = None if request.device_ids is None else {str(u) for u in request.device_ids}
    conn.listen()
    for category in request.events:
        current = conn.subscriptions.get(category, set())
        conn.subscriptions[category] = None if ids is None or current is None else current | ids
    if "device_status" in request.events:
        lang = conn.language
        for handle in conn.manager.handles():
            if ids is None or handle.id in ids:
                status = handle.status
                conn.inject(Event("device_status", handle.id, {
                    "device_id": handle.id, "kind": handle.kind, "status": status.status.value,
                    "status_text": status.text(lang), "previous_status": None}))
    return Reply(True, conn.subscription_view())


async def _unsubscribe(conn: Connection, req_id: str, payload: dict[str, Any]) -> Reply:
    request = _parse(SubscribePayload, payload)
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


# -- endpoint ---------------------------------------------------------------------------------------------
def build_ws_router() -> APIRouter:
    router = APIRouter()
    tracker = OperationTracker()

    @router.websocket("/ws")
    async def ws_endpoint(websocket: WebSocket) -> None:
        manager: DeviceManager = websocket.app.state.manager
        refused = handshake_error(websocket, manager.settings)
        if refused is not None:
            status, err = refused
            if "websocket.http.response" in websocket.scope.get("extensions", {}):
                await websocket.send_denial_response(JSONResponse(err.body(manager.settings.language), status))
            else:
                await websocket.close(CLOSE_POLICY)
            return
        await websocket.accept()
        await Connection(websocket, manager, tracker).serve()

    return router
