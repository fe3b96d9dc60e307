"""The ``/ws`` route: one :class:`Connection` per socket. The handshake rules are those of every request:
Host and Origin (interfaces/local_only.py), then the API token (interfaces/auth.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, WebSocket

from fiscald.core.manager import DeviceManager
from fiscald.interfaces.ws.actions import ACTIONS
from fiscald.interfaces.ws.connection import Connection
from fiscald.interfaces.ws.tracking import OperationTracker

MAX_MESSAGE_BYTES = 1024 * 1024  # enforced by the server (uvicorn ws_max_size): larger messages close with 1009
PING_INTERVAL_S = 20.0
PING_TIMEOUT_S = 40.0  # a client that does not answer a ping within this is dropped (1011)
# what the server does for us: message size (1009 beyond it), keep-alive pings; no permessage-deflate
# (small JSON on a local link: compressing costs more CPU and ~40 KiB of zlib state per connection)
UVICORN_OPTIONS: dict[str, Any] = {"ws_max_size": MAX_MESSAGE_BYTES, "ws_ping_interval": PING_INTERVAL_S,
                                   "ws_ping_timeout": PING_TIMEOUT_S, "ws_per_message_deflate": False}


def build_ws_router() -> APIRouter:
    router = APIRouter()
    tracker = OperationTracker()

    @router.websocket("/ws")
    async def ws_endpoint(websocket: WebSocket) -> None:
        manager: DeviceManager = websocket.app.state.manager
        await websocket.accept()
        await Connection(websocket, manager, tracker, ACTIONS).serve()

    return router
