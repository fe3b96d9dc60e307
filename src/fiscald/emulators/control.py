"""An emulator's control endpoint, ``POST /simulate`` (JSON in, JSON out), on a deliberately small HTTP/1.1
server with the API's protections (docs/devices.md, "Emulators"):

- DNS rebinding and foreign pages: ``Host`` must be a loopback name/address or the address the request
  arrived on, and a browser's ``Origin``, when sent, must be a loopback page; else 403 (error 1015). A web page
  elsewhere can no longer set a register to "disconnected".
- A read timeout: a client that does not send its whole request within ``READ_TIMEOUT_S`` is dropped.
- Bounded reads: the head is capped at ``MAX_HEAD`` bytes, and a body larger than ``MAX_BODY`` is refused by its
  ``Content-Length`` before any of it is read (chunked bodies are refused).

The rules mirror interfaces/local_only.py (loopback names, the arrival address, the port ignored), re-stated
here because an emulator must not import the service's interfaces.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from fiscald.errors import Code, FiscalError

READ_TIMEOUT_S = 5.0
MAX_HEAD = 8 * 1024
MAX_BODY = 64 * 1024

Handler = Callable[[Any], Awaitable[dict[str, Any]]]


def _loopback(host: str, arrived_on: str | None = None) -> bool:
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        return True
    if arrived_on is None:
        return False
    try:
        return address == ipaddress.ip_address(arrived_on.split("%")[0])
    except ValueError:
        return False


def _hostname(netloc: str) -> str | None:
    try:
        parts = urlsplit("//" + netloc)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return None
    if not parts.hostname or parts.netloc != netloc or "@" in netloc or parts.path or parts.query:
        return None
    return parts.hostname


def refusal(headers: dict[str, str], arrived_on: str | None) -> str | None:
    """Why a request with these (lower-cased) headers must be refused, or None."""
    host = headers.get("host")
    if host is not None:
        name = _hostname(host)
        if name is None or not _loopback(name, arrived_on):
            return f"Host: {host!r} is not this emulator (use a loopback address)"
    origin = headers.get("origin")
    if origin is not None:
        parts = urlsplit(origin)
        name = _hostname(parts.netloc) if parts.scheme in ("http", "https") and parts.path in ("", "/") else None
        if name is None or not _loopback(name):
            return f"Origin: {origin!r} is not a loopback page"
    return None


async def _request(reader: asyncio.StreamReader, arrived_on: str | None,
                   handler: Handler) -> tuple[int, dict[str, Any]] | None:
    """Read one request and say what to answer; None: drop the connection without an answer."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError:
        return 400, FiscalError(Code.CONFIG, f"request head larger than {MAX_HEAD} bytes").body("en")
    request_line, *lines = head.decode("latin-1").split("\r\n")
    parts = request_line.split(" ")
    if len(parts) != 3:
        return 400, FiscalError(Code.CONFIG, "not an HTTP request").body("en")
    method, path, _ = parts
    headers: dict[str, str] = {}
    for line in lines:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    why = refusal(headers, arrived_on)
    if why is not None:
        return 403, FiscalError(Code.FORBIDDEN, why).body("en")
    if method != "POST" or path != "/simulate":
        return 404, {"status": 404, "error": "POST /simulate only"}
    if "transfer-encoding" in headers:
        return 400, FiscalError(Code.CONFIG, "send the body with a Content-Length").body("en")
    text = headers.get("content-length", "0")
    if not text.isdigit():
        return 400, FiscalError(Code.CONFIG, "Content-Length: not a number").body("en")
    length = int(text)
    if length > MAX_BODY:
        return 400, FiscalError(Code.CONFIG, f"body: larger than {MAX_BODY} bytes").body("en")
    body = await reader.readexactly(length) if length else b""
    try:
        return 200, await handler(json.loads(body or b"{}"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return 400, FiscalError(Code.CONFIG, "body: not JSON").body("en")
    except FiscalError as exc:
        return exc.http_status, exc.body("en")



async def serve_control(handler: Handler, host: str, port: int) -> asyncio.Server:
    """Serve ``POST /simulate`` with ``handler`` (the body parsed as JSON -> the JSON answer)."""
    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("sockname")
        arrived_on = sock[0] if isinstance(sock, tuple) else None
        try:
            answer = await asyncio.wait_for(_request(reader, arrived_on, handler), READ_TIMEOUT_S)
            if answer is not None:
                status, payload = answer
                data = json.dumps(payload).encode()
                writer.write(f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {len(data)}"
                             f"\r\nconnection: close\r\n\r\n".encode() + data)
                await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, ValueError, OSError):
            pass  # too slow, cut short or gone: dropped without an answer
        finally:
            writer.close()

    return await asyncio.start_server(connection, host, port, limit=MAX_HEAD)
