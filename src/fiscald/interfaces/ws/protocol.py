"""The wire protocol: limits, payload models, envelope parsing, and the shapes of replies and events."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError

from fiscald import jsonfmt
from fiscald.core import events
from fiscald.core.jobs import Outcome
from fiscald.errors import Code, FiscalError
from fiscald.operations import Operation, parse_operation
from fiscald.operations.registry import config_error_from

PROTOCOL = 1
MAX_ID = 64
MAX_ACTION = 64
MAX_SUBSCRIBE_IDS = 256  # device ids in one subscribe/unsubscribe message
MAX_SUBSCRIBED_IDS = 256  # distinct device ids one connection may have subscribed (all categories together)

Category = Literal["device_status", "operation", "journal"]
EVENT_NAMES: dict[str, tuple[str, ...]] = {
    "device_status": ("device_status",),
    "operation": ("operation_started", "operation_completed"),
    "journal": ("journal",),
}
CATEGORY_OF = {name: category for category, names in EVENT_NAMES.items() for name in names}
OWN_COMPLETED = "ws.own_completed"  # completion of an operation this connection submitted (never on the bus)
REPLY = "ws.reply"  # a reply in the send queue (never on the bus)


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
    events: Annotated[list[Category], Field(min_length=1, max_length=len(EVENT_NAMES) * 4)]
    device_ids: Annotated[list[UUID], Field(max_length=MAX_SUBSCRIBE_IDS)] | None = None


P = TypeVar("P", bound=_Payload)


def parse_payload(model: type[P], payload: dict[str, Any]) -> P:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise config_error_from(exc, "payload") from None


def parse_operation_payload(payload: dict[str, Any]) -> tuple[Operation, str | None]:
    """The operation envelope of ``operation.execute``/``operation.submit`` and its idempotency key."""
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


def outcome_reply(outcome: Outcome) -> Reply:
    return Reply(outcome.ok, outcome.body, outcome.replayed)


class BadEnvelope(Exception):
    """A message that is not a valid envelope; ``req_id`` is the client's id when it could be read."""

    def __init__(self, req_id: str | None, error: FiscalError) -> None:
        super().__init__(error.detail)
        self.req_id = req_id
        self.error = error


def bad(req_id: str | None, detail: str) -> BadEnvelope:
    return BadEnvelope(req_id, FiscalError(Code.CONFIG, detail))


def _utf8(text: str) -> bool:
    """False for strings with lone surrogates (valid JSON escapes, but no reply could carry them back)."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def parse_envelope(text: str) -> tuple[str, str, Any]:
    """``(id, action, payload)`` of a client message; raises :class:`BadEnvelope` naming what is wrong."""
    try:
        data = jsonfmt.loads_unique(text)
    except jsonfmt.DuplicateKeyError as exc:
        raise bad(None, f"{exc.key}: duplicate key in the message (ambiguous; send each key once)") from None
    except jsonfmt.JSONDecodeError as exc:
        raise bad(None, f"message: malformed JSON ({exc})") from None
    if not isinstance(data, dict):
        raise bad(None, "message: expected a JSON object {id, action, payload}")
    req_id = data.get("id")
    if not isinstance(req_id, str) or not 1 <= len(req_id) <= MAX_ID or not _utf8(req_id):
        raise bad(None, f"id: required, a string of 1 to {MAX_ID} characters")
    unknown = sorted(set(data) - {"id", "action", "payload"})
    if unknown:
        raise bad(req_id, f"{unknown[0]}: unknown field")
    action = data.get("action")
    if not isinstance(action, str) or not 1 <= len(action) <= MAX_ACTION or not _utf8(action):
        raise bad(req_id, f"action: required, an action code of 1 to {MAX_ACTION} characters")
    return req_id, action, data.get("payload")


def dumps(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


def reply_message(req_id: str | None, action: str, reply: Reply) -> dict[str, Any]:
    if reply.ok:
        message: dict[str, Any] = {"id": req_id, "action": f"{action}.result", "status": 200, "payload": reply.body}
    else:
        message = {"id": req_id, "action": f"{action}.error" if action else "error", **reply.body}
    if reply.replayed:
        message["replayed"] = True
    return message


def completed_payload(op_id: str, op: Operation, outcome: Outcome) -> dict[str, Any]:
    """The payload of ``event.operation_completed`` for an operation this connection submitted."""
    payload = events.operation_completed(op.device_id, op_id, op.name, outcome.body).payload
    if outcome.replayed:
        payload["replayed"] = True
    return payload
