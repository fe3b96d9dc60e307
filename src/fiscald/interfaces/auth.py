"""API token enforcement for every HTTP and WebSocket request (docs/manage.md, "API token").

A no-op while no ``api_token`` is set. With one, a request must carry ``Authorization: Bearer <token>``;
a WebSocket handshake may pass it as ``?token=`` instead (browsers cannot set headers there). Open without it:
``GET /`` (the FisCool liveness text used by health checks) and the dashboard's static files under ``/ui`` (the
same for every installation, no data in them: the pages ask for the token and send it with each API call). The
token is read from the live settings on every request, so saving a new one takes effect at once.
"""

from __future__ import annotations

import hmac
from urllib.parse import parse_qs

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from fiscald.config import Settings
from fiscald.errors import Code, FiscalError, Language

OPEN_PATHS = frozenset({("GET", "/"), ("HEAD", "/")})
OPEN_PREFIX = "/ui"


def _open(scope: Scope) -> bool:
    if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
        return False
    path: str = scope["path"]
    return (scope["method"], path) in OPEN_PATHS or path == OPEN_PREFIX or path.startswith(OPEN_PREFIX + "/")


def _live_settings(scope: Scope) -> Settings | None:
    manager = getattr(scope["app"].state, "manager", None)
    settings: Settings | None = getattr(manager, "settings", None)
    return settings


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (scheme case-insensitive), else None."""
    scheme, _, value = (authorization or "").partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def presented_token(scope: Scope) -> str | None:
    """The token a request presents: the Bearer header first, then (WebSocket handshakes only) ``?token=``.
    The one parser of HTTP and WebSocket, so both agree on which token counts."""
    token = bearer_token(Headers(scope=scope).get("authorization"))
    if token is not None:
        return token
    if scope["type"] == "websocket":
        tokens: list[str] = parse_qs(bytes(scope.get("query_string", b"")).decode("latin-1")).get("token", [])
        if tokens:
            return tokens[-1]
    return None


class TokenAuth:
    """Pure ASGI middleware (covers ``http`` and ``websocket`` scopes alike)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        settings = _live_settings(scope) if scope["type"] in ("http", "websocket") else None
        token = settings.api_token if settings is not None else None
        if token is None or _open(scope):
            await self.app(scope, receive, send)
            return
        presented = presented_token(scope)
        if presented is not None and hmac.compare_digest(presented.encode(), token.encode()):
            await self.app(scope, receive, send)
            return
        assert settings is not None
        detail = "Authorization: send the header 'Authorization: Bearer <api_token>'"
        if scope["type"] == "websocket":
            detail = "token: required, as ?token=<api_token> or the header 'Authorization: Bearer <api_token>'"
        if presented is not None:
            detail = "Authorization: the API token is not valid"
        await refuse(scope, receive, send, FiscalError(Code.UNAUTHORIZED, detail), settings.language,
                     {"WWW-Authenticate": "Bearer"})


async def refuse(scope: Scope, receive: Receive, send: Send, err: FiscalError, language: Language,
                 headers: dict[str, str] | None = None) -> None:
    """Answer ``err`` instead of running the app: a JSON error response, also for a WebSocket handshake (as a
    denial response where the server supports it, else a 1008 close)."""
    response = JSONResponse(err.body(language), status_code=err.http_status, headers=headers)
    if scope["type"] == "websocket":
        await receive()  # websocket.connect
        if "websocket.http.response" not in scope.get("extensions", {}):
            await send({"type": "websocket.close", "code": 1008, "reason": err.spec.name})
            return
    await response(scope, receive, send)
