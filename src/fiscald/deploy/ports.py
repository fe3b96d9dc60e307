"""Before ``fiscald serve`` changes anything: can it listen on HOST:PORT, and if not, what is in the way."""

from __future__ import annotations

import errno
import socket
import sys

import httpx

from fiscald.interfaces.http import ROOT_TEXT

PROBE_TIMEOUT_S = 1.0


def _url(host: str, port: int) -> str:
    shown = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"http://{f'[{shown}]' if ':' in shown else shown}:{port}/"


def _bind_error(host: str, port: int) -> OSError | None:
    """Bind as uvicorn does (SO_REUSEADDR except on Windows, where it would share a port in use)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        if sys.platform != "win32":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            return exc
    return None


def _is_fiscald(url: str) -> bool:
    try:
        return httpx.get(url, timeout=PROBE_TIMEOUT_S).text == ROOT_TEXT
    except httpx.HTTPError:
        return False


def why_not_listen(host: str, port: int) -> str | None:
    """None when HOST:PORT is free, else a plain sentence: what is using it and how to choose another."""
    error = _bind_error(host, port)
    if error is None:
        return None
    other = "choose another port with --port N (for every start: fiscald settings set api_port N)"
    if error.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", -1)) or \
            getattr(error, "winerror", None) == 10048:
        url = _url(host, port)
        if _is_fiscald(url):
            user = f"a fiscald (or FisCool) server already answers at {url} — stop it (or its service), or {other}"
        else:
            finder = (f"netstat -ano | findstr :{port}" if sys.platform == "win32"
                      else f"ss -ltnp 'sport = :{port}'")
            user = f"another program is listening on it (see which: {finder}); stop it, or {other}"
        return f"Port {port} on {host} is in use: {user}. Nothing was started or changed."
    if error.errno == errno.EACCES:
        return (f"Not allowed to listen on {host}:{port} ({error.strerror}); {other}. "
                "Nothing was started or changed.")
    return f"Cannot listen on {host}:{port}: {error.strerror or error}. Nothing was started or changed."
