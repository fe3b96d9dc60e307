"""``fiscald emulate datecs``: a Datecs register on the wire (TCP or a pseudo-terminal) for tests and demos."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Literal

import typer

from fiscald.drivers.datecs.models import MODELS
from fiscald.emulators.datecs import DatecsEmulator, serve_control, serve_pty, serve_tcp

emulate_app = typer.Typer(help="Emulate a fiscal device on the wire (no hardware needed).", no_args_is_help=True)


def _address(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise typer.BadParameter(f"{value!r}: use HOST:PORT, e.g. 127.0.0.1:4999")
    return host.strip("[]"), int(port)


@emulate_app.command()
def datecs(
    protocol: Annotated[Literal["old", "x"], typer.Option(help="Protocol variant: old (1-byte) or x")] = "x",
    model: Annotated[str | None, typer.Option(help="Datecs model (default: DP-25 for old, FP-700X for x)")] = None,
    listen: Annotated[str, typer.Option(help="TCP HOST:PORT to serve (port 0: any free port)")] = "127.0.0.1:4999",
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="The register's memory (default: a temp dir)")]
    = None,
    baud: Annotated[int | None, typer.Option(help="Pace bytes as a serial line at this baud rate")] = None,
    control: Annotated[str | None, typer.Option(help="HOST:PORT of the POST /simulate control endpoint")] = None,
    pty: Annotated[bool, typer.Option("--pty", help="Serve on a pseudo-terminal instead of TCP")] = False,
) -> None:
    """A Datecs register speaking the old or X protocol."""
    if pty and sys.platform == "win32":
        raise typer.BadParameter("a pseudo-terminal needs Linux or macOS; serve on TCP (--listen)", param_hint="--pty")
    name = model or ("FP-700X" if protocol == "x" else "DP-25")
    spec = MODELS.get(name)
    if spec is None or spec.variant.name != protocol:
        known = ", ".join(n for n, s in MODELS.items() if s.variant.name == protocol)
        raise typer.BadParameter(f"{name!r} is not a {protocol} model ({known})", param_hint="--model")
    folder = data_dir
    if folder is None:
        folder = Path(tempfile.mkdtemp(prefix="fiscald-datecs-"))
    asyncio.run(_run(DatecsEmulator(spec, folder, baud), listen, control, pty))


async def _run(emulator: DatecsEmulator, listen: str, control: str | None, pty: bool) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    if sys.platform != "win32":  # Windows' event loop takes no signal handlers: Ctrl+C ends asyncio.run there
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    await emulator.start()
    servers: list[asyncio.Server] = []
    try:
        if control is not None:
            server = await serve_control(emulator, *_address(control))
            servers.append(server)
            host, port = server.sockets[0].getsockname()[:2]
            print(f"control on {host}:{port}", flush=True)
        if pty:
            print(f"listening on {await serve_pty(emulator)}", flush=True)
        else:
            server = await serve_tcp(emulator, *_address(listen))
            servers.append(server)
            host, port = server.sockets[0].getsockname()[:2]
            print(f"listening on {host}:{port}", flush=True)
        await stop.wait()
    finally:
        for server in servers:
            server.close()
        with contextlib.suppress(Exception):
            emulator.close()
