"""The ``/ws`` route: the handshake rules (Origin, API token), then one :class:`Connection` per socket."""

from __future__ import annotations

import hmac
import ipaddress
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket
from fastapi.responses import JSONResponse

from fiscald.config import Settings
from fiscald.core.manager import DeviceManager
from fiscald.errors import Code, FiscalError
from fiscald.interfaces.auth import presented_token
from fiscald.interfaces.ws.actions import ACTIONS
from fiscald.interfaces.ws.connection import CLOSE_POLICY, Connection
from fiscald.interfaces.ws.tracking import OperationTracker

MAX_MESSAGE_BYTES = 1024 * 1024  # enforced by the server (uvicorn ws_max_size): larger messages close with 1009
PING_INTERVAL_S = 20.0
PING_TIMEOUT_S = 40.0  # a client that does not answer a ping within this is dropped (1011)
# what the server does for us: message size (1009 beyond it), keep-alive pings; no permessage-deflate
# (small JSON on a local link: compressing costs more CPU and ~40 KiB of zlib state per connection)
UVICORN_OPTIONS: dict[str, Any] = {"ws_max_size": MAX_MESSAGE_BYTES, "ws_ping_interval": PING_INTERVAL_S,
                                   "ws_ping_timeout": PING_TIMEOUT_S, "ws_per_message_deflate": False}


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


def handshake_error(websocket: WebSocket, settings: Settings) -> tuple[int, FiscalError] | None:
    """``(HTTP status, error)`` when the handshake must be refused, else None."""
    origin = websocket.headers.get("origin")
    if origin is not None and not origin_allowed(origin, settings.allowed_origins):
        return 403, FiscalError(Code.UNAUTHORIZED, f"Origin: {origin!r} is not loopback nor in allowed_origins")
    if settings.api_token:
        given = presented_token(websocket.scope)
        if not given:
            return 401, FiscalError(Code.UNAUTHORIZED, "token: required (?token= or Authorization: Bearer)")
        if not hmac.compare_digest(given.encode(), settings.api_token.encode()):
            return 401, FiscalError(Code.UNAUTHORIZED, "token: invalid")
    return None


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
        await Connection(websocket, manager, tracker, ACTIONS).serve()

    return router
