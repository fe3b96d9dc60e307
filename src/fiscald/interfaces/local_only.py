"""Who may talk to a local service: refuses DNS rebinding and foreign web pages, on HTTP and WebSocket alike.

A page on ``http://evil.example`` whose name is re-pointed at 127.0.0.1 reaches the service with ``Host:
evil.example``, and any page can make a browser send a request with its own ``Origin``. So, before anything
else (the API token included):

- ``Host`` must name this service: ``localhost``, a loopback address, the address the request arrived on, or
  a name in the ``allowed_hosts`` setting (any port). No ``Host`` (HTTP/1.0 programs) is accepted.
- ``Origin``, when a browser sends one, must be a loopback page (``http(s)://localhost``, ``127.x.x.x``,
  ``[::1]``, any port), the service's own origin (the page was served by this service under the ``Host`` it
  asks, e.g. the dashboard at ``/ui``), or listed in ``allowed_origins``. ``Origin: null`` passes only when
  ``"null"`` is listed. Programs that send no ``Origin`` are not affected.

Refusals are 403 with error 1015 Forbidden (a WebSocket handshake is refused the same way, before it opens).
"""

from __future__ import annotations

import functools
import ipaddress
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from fiscald.config import Settings
from fiscald.errors import Code, FiscalError
from fiscald.interfaces.auth import refuse


def _ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _loopback_name(host: str) -> bool:
    if host == "localhost":
        return True
    address = _ip_literal(host)
    return address is not None and address.is_loopback


def split_host(value: str) -> tuple[str, int | None] | None:
    """``(host, port)`` of a ``Host`` header (``name``, ``name:port``, ``[v6]:port``), host lower-case without a
    trailing dot; None when it is not of that form."""
    try:
        parts = urlsplit("//" + value)
        port = parts.port
    except ValueError:  # a bad port or unbalanced brackets
        return None
    host = parts.hostname
    if not host or parts.netloc != value or "@" in value or parts.path or parts.query or parts.fragment:
        return None
    return host.rstrip("."), port


def parse_origin(origin: str) -> tuple[str, str, int | None] | None:
    """``(scheme, host, port)`` of a web origin ``http(s)://host[:port]``; None for anything else (user-info,
    a path, another scheme, ``null``)."""
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or parts.path not in ("", "/") or parts.query or parts.fragment:
        return None
    hostport = split_host(parts.netloc)
    if hostport is None:
        return None
    return parts.scheme, hostport[0], hostport[1]


def host_allowed(host_header: str | None, arrived_on: str | None, settings: Settings) -> bool:
    return host_header is None or _host_allowed(host_header, arrived_on, tuple(settings.allowed_hosts))


@functools.lru_cache(maxsize=256)  # a few distinct Host headers answer almost every request
def _host_allowed(host_header: str, arrived_on: str | None, allowed_hosts: tuple[str, ...]) -> bool:
    hostport = split_host(host_header)
    if hostport is None:
        return False
    host = hostport[0]
    if _loopback_name(host) or host in allowed_hosts:
        return True
    address = _ip_literal(host)
    return address is not None and arrived_on is not None and address == _ip_literal(arrived_on)


def origin_allowed(origin: str, host_header: str | None, settings: Settings) -> bool:
    return _origin_allowed(origin, host_header, tuple(settings.allowed_origins))


@functools.lru_cache(maxsize=256)
def _origin_allowed(origin: str, host_header: str | None, allowed_origins: tuple[str, ...]) -> bool:
    if origin.rstrip("/").lower() in allowed_origins:
        return True
    parsed = parse_origin(origin)
    if parsed is None:
        return False
    scheme, host, port = parsed
    if _loopback_name(host):
        return True
    own = split_host(host_header) if host_header is not None else None
    default = 443 if scheme == "https" else 80
    return own is not None and own[0] == host and (own[1] or default) == (port or default)


def refusal(scope: Scope, settings: Settings) -> FiscalError | None:
    """Why this request must be refused, or None."""
    headers = Headers(scope=scope)
    host = headers.get("host")
    server = scope.get("server")
    if not host_allowed(host, server[0] if server else None, settings):
        return FiscalError(Code.FORBIDDEN, f"Host: {host!r} is not this service (loopback or allowed_hosts); "
                                           "a DNS name pointing at it must be listed in allowed_hosts")
    origin = headers.get("origin")
    if origin is not None and not origin_allowed(origin, host, settings):
        return FiscalError(Code.FORBIDDEN, f"Origin: {origin!r} is not loopback, this service, nor in "
                                           "allowed_origins")
    return None


class LocalOnly:
    """Pure ASGI middleware (``http`` and ``websocket`` scopes); reads the live settings on every request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        manager = getattr(scope["app"].state, "manager", None) if scope["type"] in ("http", "websocket") else None
        settings: Settings | None = getattr(manager, "settings", None)
        err = refusal(scope, settings) if settings is not None else None
        if err is None:
            await self.app(scope, receive, send)
            return
        assert settings is not None
        await refuse(scope, receive, send, err, settings.language)
