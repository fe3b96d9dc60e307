"""Before ``fiscald serve`` changes anything: bind HOST:PORT for it, and if that fails, say what is in the way."""

from __future__ import annotations

import errno
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx

from fiscald.exitcodes import ExitCode
from fiscald.interfaces.http import ROOT_TEXT

PROBE_TIMEOUT_S = 1.0
LISTEN = "0A"  # TCP state in /proc/net/tcp


def _url(host: str, port: int) -> str:
    shown = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"http://{f'[{shown}]' if ':' in shown else shown}:{port}/"


@dataclass(frozen=True)
class Refusal:
    """Why the server cannot listen, and the exit code that says which kind of reason it is."""

    message: str
    exit_code: int


def _bind(host: str, port: int) -> socket.socket | OSError:
    """Bind as uvicorn (asyncio) does: SO_REUSEADDR except on Windows, where it would share a port in use, and
    an IPv6 socket for IPv6 only, so an IPv4-mapped address (``::ffff:127.0.0.1``) fails here as it would there."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if sys.platform != "win32":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6 and hasattr(socket, "IPPROTO_IPV6"):
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((host, port))
        sock.listen()  # on Linux, another socket with SO_REUSEADDR may share a port bound but not yet listening
    except OSError as exc:
        sock.close()
        return exc
    return sock


def _is_fiscald(url: str) -> bool:
    try:
        return httpx.get(url, timeout=PROBE_TIMEOUT_S).text == ROOT_TEXT
    except httpx.HTTPError:
        return False


def _listening_inodes(port: int) -> set[str]:
    found: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text(encoding="ascii").splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) > 9 and fields[3] == LISTEN and int(fields[1].rsplit(":", 1)[1], 16) == port:
                found.add(f"socket:[{fields[9]}]")
    return found


def listener(port: int) -> str | None:
    """Which process listens on ``port`` (Linux, from /proc; processes of other users only when run as root)."""
    sockets = _listening_inodes(port)
    if not sockets:
        return None
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) in sockets for fd in (proc / "fd").iterdir()):
                argv = (proc / "cmdline").read_bytes().decode("utf-8", "replace").split("\0")
                command = " ".join(" ".join(argv).split())
                return f"pid {proc.name}: {command[:160]}"
        except OSError:
            continue
    return None


def bind(host: str, port: int) -> socket.socket | Refusal:
    """The socket the server listens on, bound and listening now, before the server changes anything (a client
    that connects during the start waits for its answer); else a plain sentence
    (what is using HOST:PORT and how to choose another) and the exit code for it: :data:`ExitCode.PORT_IN_USE`, or
    :data:`ExitCode.CANNOT_LISTEN` for an address this machine does not have or may not use.

    The server answers on this very socket once it has started (uvicorn's ``sockets=``). A check that closed its
    socket would leave the port free for the whole start-up: any outgoing connection on the machine could take it
    as its local port (a port in the kernel's ephemeral range), and the server then failed after all, with
    uvicorn's bare "address already in use"."""
    bound = _bind(host, port)
    if isinstance(bound, socket.socket):
        return bound
    error = bound
    other = "choose another port with --port N (for every start: fiscald settings set api_port N)"
    if error.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", -1)) or \
            getattr(error, "winerror", None) == 10048:
        url = _url(host, port)
        if _is_fiscald(url):
            user = f"a fiscald (or FisCool) server already answers at {url} — stop it (or its service), or {other}"
        else:
            process = listener(port) if sys.platform.startswith("linux") else None
            finder = (f"netstat -ano | findstr :{port}" if sys.platform == "win32"
                      else f"ss -ltnp 'sport = :{port}'")
            user = f"another program is listening on it ({process or f'see which: {finder}'}); stop it, or {other}"
        return Refusal(f"Port {port} on {host} is in use: {user}. Nothing was started or changed.",
                       ExitCode.PORT_IN_USE)
    if error.errno == errno.EACCES:
        return Refusal(f"Not allowed to listen on {host}:{port} ({error.strerror}); {other}. "
                       "Nothing was started or changed.", ExitCode.CANNOT_LISTEN)
    return Refusal(f"Cannot listen on {host}:{port}: {error.strerror or error} (is {host} an address of this "
                   "machine? fiscald settings set bind_address 127.0.0.1). Nothing was started or changed.",
                   ExitCode.CANNOT_LISTEN)
