"""The HTTP API (FisCool-compatible): ``/``, ``/devices/*``, ``/health``.

Only translation lives here: HTTP request -> :class:`Operation` -> ``DeviceManager.execute`` -> HTTP answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from fiscald import __version__, jsonfmt
from fiscald.central.shipper import Shipper
from fiscald.central.status import render_metrics
from fiscald.core.manager import DeviceManager
from fiscald.errors import Code, FiscalError
from fiscald.instance import INSTANCE_HEADER
from fiscald.interfaces.views import device_view
from fiscald.jsonfmt import FastJSONResponse
from fiscald.models.status import DeviceStatus
from fiscald.operations import OPERATIONS, parse_operation

ROOT_TEXT = "FisCool API Server running."
MAX_BODY = 10 * 1024 * 1024  # bytes of a request body (docs/http.md, "Limits")


class OperationEnvelope(BaseModel):
    """The operation envelope (see docs/http.md for every operation's params)."""

    device_id: UUID
    operation: Literal[tuple(OPERATIONS)]  # type: ignore[valid-type]
    params: dict[str, Any] | None = None
    timeout_ms: int | None = Field(default=None, ge=1, le=3_600_000)


def routing_error(method: str, path: str, exc: StarletteHTTPException) -> tuple[FiscalError, dict[str, str]]:
    """The error the router meant (no such path 404, method not allowed 405, else 400), with its own code, and
    the headers to send: a 405's ``Allow`` lists ``HEAD`` wherever ``GET`` is (see interfaces/head.py)."""
    if exc.status_code == 404:
        return FiscalError(Code.DEVICE_NOT_FOUND, f"{method} {path}: no such path (see /docs)"), {}
    if exc.status_code == 405:
        allow = [m.strip() for m in (exc.headers or {}).get("Allow", "").split(",") if m.strip()]
        if "GET" in allow and "HEAD" not in allow:
            allow.append("HEAD")
        listed = ", ".join(allow)
        return FiscalError(Code.METHOD_NOT_ALLOWED, f"{method} {path}: allowed {listed}"), {"Allow": listed}
    return FiscalError(Code.CONFIG, f"{method} {path}: {exc.detail}"), {}


def manager_of(request: Request) -> DeviceManager:
    manager: DeviceManager = request.app.state.manager
    return manager


def instance_of(request: Request) -> str:
    """This server's instance id (fiscald.instance: the data dir's record names it)."""
    instance_id: str = request.app.state.instance_id
    return instance_id


def shipper_of(request: Request) -> Shipper:
    shipper: Shipper = request.app.state.shipper
    return shipper


async def read_json(request: Request) -> Any:
    """The request body as JSON, or 400 Config naming what is wrong with it."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise FiscalError(Code.CONFIG, f"Content-Type: expected application/json, got {content_type or 'none'!r}")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise FiscalError(Code.CONFIG, f"body: larger than {MAX_BODY} bytes, the most a request may carry")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():  # counted as it arrives: a chunked body stops at the limit
            size += len(chunk)
            if size > MAX_BODY:
                raise FiscalError(Code.CONFIG, f"body: larger than {MAX_BODY} bytes, the most a request may carry")
            chunks.append(chunk)
    except ClientDisconnect:  # gone, or timed out sending the body (interfaces/serving.py): nobody to answer
        raise FiscalError(Code.CONFIG, "body: the client went away before sending all of it") from None
    body = b"".join(chunks)
    try:
        return jsonfmt.loads_unique(body)
    except jsonfmt.DuplicateKeyError as exc:
        raise FiscalError(Code.CONFIG, f"{exc.key}: duplicate key in the JSON body (ambiguous; send each key "
                                       "once)") from None
    except jsonfmt.JSONDecodeError as exc:
        raise FiscalError(Code.CONFIG, f"body: malformed JSON ({exc})") from None


async def operation(request: Request) -> Response:
    """POST /devices/operation: one operation, whichever device. A plain Starlette route (see
    :func:`operation_route`)."""
    manager = manager_of(request)
    op = parse_operation(await read_json(request))
    outcome = await manager.execute(op, request.headers.get("idempotency-key"), source="http")
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
    return FastJSONResponse(outcome.body, status_code=outcome.http_status, headers=headers)


def operation_route() -> Route:
    """The route of ``/devices/operation``: a plain Starlette route, matched before all others (FastAPI's
    per-request machinery cost about 7 % of a receipt's CPU). :class:`OperationFastPath` answers its POSTs
    before they reach the router; the route stays for the other methods (405) and the docs
    (:data:`OPERATION_OPENAPI`)."""
    return Route("/devices/operation", operation, methods=["POST"])


class OperationFastPath:
    """The innermost middleware: ``POST /devices/operation`` (every receipt) goes straight to :func:`operation`,
    past the exception middleware, the exit-stack middleware, the router and the route's request/response
    wrappers, which together cost about 5 % of a receipt's CPU. Every middleware of ours (host check, token,
    Server-Timing) still runs around it; a FiscalError is answered here as the app's handler would, anything
    else still reaches the server-error middleware (500)."""

    def __init__(self, app: ASGIApp, on_error: Callable[[Request, FiscalError], Response]) -> None:
        self.app = app
        self.on_error = on_error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/devices/operation" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            response = await operation(request)
        except FiscalError as err:
            response = self.on_error(request, err)
        await response(scope, receive, send)


OPERATION_OPENAPI: dict[str, Any] = {"post": {
    "summary": "Execute one device operation",
    "operationId": "execute_operation",
    "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False,
                    "schema": {"type": "string", "pattern": "^[!-~]{1,255}$"},
                    "description": "1 to 255 printable ASCII characters without spaces (docs/http.md)"}],
    "requestBody": {"required": True,
                    "content": {"application/json": {"schema": OperationEnvelope.model_json_schema()}}},
    "responses": {
        "200": {"description": '`{"status": 200, "result": {...}}`'},
        "default": {"description": 'an error `{"status": <code>, "error": "<message>"}` (docs/errors.md)'},
    },
}}


def build_router() -> APIRouter:
    router = APIRouter()

    @router.get("/", response_class=PlainTextResponse, summary="Liveness text (FisCool-compatible)",
                description=f"The `{INSTANCE_HEADER}` header names this server's instance (the data dir's record).")
    async def root(request: Request) -> PlainTextResponse:
        return PlainTextResponse(ROOT_TEXT, headers={INSTANCE_HEADER: instance_of(request)})

    @router.get("/devices/fiscal", summary="Configured fiscal devices with status")
    async def fiscal_devices(request: Request) -> dict[str, Any]:
        manager = manager_of(request)
        lang = manager.settings.language
        return {"fiscal_devices": [device_view(h, lang) for h in manager.handles("fiscal")]}

    @router.get("/devices/pos", summary="Configured POS terminals with status")
    async def pos_devices(request: Request) -> dict[str, Any]:
        manager = manager_of(request)
        lang = manager.settings.language
        return {"pos_terminals": [device_view(h, lang) for h in manager.handles("pos")]}

    @router.get("/health", summary="Service health")
    async def health(request: Request) -> dict[str, Any]:
        manager = manager_of(request)
        handles = manager.handles()
        return {
            "status": "ok",
            "version": __version__,
            "instance_id": instance_of(request),
            "uptime_s": round(time.monotonic() - manager.started_at, 3),
            "devices": {"total": len(handles),
                        "connected": sum(h.status.status == DeviceStatus.CONNECTED for h in handles)},
            "inp": {h.id: h.extras["inp"]["state"] for h in handles if "inp" in h.extras},
            "central": shipper_of(request).status.snapshot(),
        }

    @router.get("/metrics", response_class=PlainTextResponse, summary="Prometheus metrics")
    async def metrics(request: Request) -> str:
        manager = manager_of(request)
        return manager.metrics.render(manager.queue_depths()) + render_metrics(shipper_of(request).status)

    return router
