"""``fiscald emulate datecs|daisy|eltrade|incotex``: a register on the wire (TCP or a pseudo-terminal) for tests
and demos."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol, get_type_hints

import typer

from fiscald.config import is_loopback
from fiscald.emulators.control import serve_control
from fiscald.emulators.datecs import DEFAULT_MODEL, MODELS, DatecsEmulator
from fiscald.emulators.isl import BRANDS, Brand, IslEmulator
from fiscald.emulators.link import Device, serve_pty, serve_tcp
from fiscald.emulators.tremol import DEFAULT_MODEL as TREMOL_DEFAULT
from fiscald.emulators.tremol import MODELS as TREMOL_MODELS
from fiscald.emulators.tremol import TremolEmulator
from fiscald.emulators.viva import VivaEmulator, run

emulate_app = typer.Typer(help="Emulate a fiscal device on the wire (no hardware needed).", no_args_is_help=True)


def _address(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise typer.BadParameter(f"{value!r}: use HOST:PORT, e.g. 127.0.0.1:4999")
    return host.strip("[]"), int(port)


def _check_pty(pty: bool) -> None:
    if pty and sys.platform == "win32":
        raise typer.BadParameter("pseudo-terminals need a POSIX system: use --listen", param_hint="--pty")


@emulate_app.command()
def datecs(
    model: Annotated[str | None, typer.Option(help="Datecs model, e.g. DP-25MX (Romanian X), FP-700X (Bulgarian X), "
                                                   "DP-25 (old, cash register), FP-2000 (old, fiscal printer); "
                                                   "the protocol follows the model")] = None,
    protocol: Annotated[Literal["old", "x"] | None, typer.Option(
        help="Checked against the model when given (default model: FP-700X for x, DP-25 for old)")] = None,
    listen: Annotated[str, typer.Option(help="TCP HOST:PORT to serve (port 0: any free port)")] = "127.0.0.1:4999",
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="The register's memory (default: a temp dir)")]
    = None,
    baud: Annotated[int | None, typer.Option(help="Pace bytes as a serial line at this baud rate")] = None,
    control: Annotated[str | None, typer.Option(help="HOST:PORT of the POST /simulate control endpoint")] = None,
    pty: Annotated[bool, typer.Option("--pty", help="Serve on a pseudo-terminal instead of TCP (not on Windows)")]
    = False,
) -> None:
    """A Datecs register speaking its model's protocol and dialect."""
    name = model or DEFAULT_MODEL[protocol or "x"]
    spec = MODELS.get(name)
    if spec is None or (protocol is not None and spec.dialect.framing.name != protocol):
        wanted = [n for n, s in MODELS.items() if protocol is None or s.dialect.framing.name == protocol]
        kind = f"a {protocol} model" if protocol else "a Datecs model"
        raise typer.BadParameter(f"{name!r} is not {kind} ({', '.join(wanted)})", param_hint="--model")
    _check_pty(pty)
    folder = data_dir if data_dir is not None else Path(tempfile.mkdtemp(prefix="fiscald-datecs-"))
    asyncio.run(_run(DatecsEmulator(spec, folder, baud), listen, control, pty))


def _isl_command(brand: Brand) -> None:
    """``fiscald emulate <brand>`` for one ISL brand of emulators/isl (its models from the brand's table)."""

    def command(
        model: Annotated[str | None, typer.Option(help=f"{brand.maker} model: {', '.join(brand.models)} "
                                                       f"(default {brand.default_model})")] = None,
        listen: Annotated[str, typer.Option(help="TCP HOST:PORT to serve (port 0: any free port)")]
        = "127.0.0.1:4999",
        data_dir: Annotated[Path | None, typer.Option("--data-dir", help="The register's memory (default: a temp "
                                                                         "dir)")] = None,
        baud: Annotated[int | None, typer.Option(help="Pace bytes as a serial line at this baud rate")] = None,
        control: Annotated[str | None, typer.Option(help="HOST:PORT of the POST /simulate control endpoint")] = None,
        pty: Annotated[bool, typer.Option("--pty", help="Serve on a pseudo-terminal instead of TCP (not on "
                                                        "Windows)")] = False,
    ) -> None:
        name = model or brand.default_model
        if name not in brand.models:
            raise typer.BadParameter(f"{name!r} is not a {brand.maker} model ({', '.join(brand.models)})",
                                     param_hint="--model")
        _check_pty(pty)
        folder = data_dir if data_dir is not None else Path(tempfile.mkdtemp(prefix=f"fiscald-{brand.name}-"))
        asyncio.run(_run(IslEmulator(brand, name, folder, baud), listen, control, pty))

    # the options' help names the brand: resolve the annotations here, where ``brand`` is known
    command.__annotations__ = get_type_hints(command, localns={"brand": brand}, include_extras=True)
    command.__doc__ = f"{brand.maker}: an ISL register ({brand.dialect} firmware) speaking its manual's protocol."
    emulate_app.command(brand.name)(command)


for _brand in BRANDS.values():
    _isl_command(_brand)


class _WireEmulator(Device, Protocol):
    """What ``_run`` starts: a register on the link layer with a ``POST /simulate`` handler."""

    async def start(self) -> None: ...

    def close(self) -> None: ...

    async def control(self, body: Any) -> dict[str, Any]: ...


async def _run(emulator: _WireEmulator, listen: str, control: str | None, pty: bool, *, replace: bool = True) -> None:
    """Serve ``emulator`` until SIGINT/SIGTERM, printing ``control on HOST:PORT`` (when asked) and then
    ``listening on HOST:PORT`` (or the pseudo-terminal's path); ``replace`` as for ``serve_tcp``."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # Windows: Ctrl+C ends asyncio.run instead
            loop.add_signal_handler(sig, stop.set)
    await emulator.start()
    servers: list[asyncio.Server] = []
    try:
        if control is not None:
            server = await serve_control(emulator.control, *_address(control))
            servers.append(server)
            host, port = server.sockets[0].getsockname()[:2]
            print(f"control on {host}:{port}", flush=True)
        if pty:
            print(f"listening on {await serve_pty(emulator)}", flush=True)
        else:
            server = await serve_tcp(emulator, *_address(listen), replace=replace)
            servers.append(server)
            host, port = server.sockets[0].getsockname()[:2]
            print(f"listening on {host}:{port}", flush=True)
        await stop.wait()
    finally:
        for server in servers:
            server.close()
        with contextlib.suppress(Exception):
            emulator.close()


@emulate_app.command()
def viva(
    listen: Annotated[str, typer.Option(help="HOST:PORT of the terminal's APIs (port 0: any free port)")]
    = "127.0.0.1:8080",
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Sessions and charges (default: a temp dir)")]
    = None,
    control: Annotated[str | None, typer.Option(help="Loopback HOST:PORT of POST /simulate and GET /charges")]
    = None,
    card_delay_ms: Annotated[int, typer.Option(help="Time the cardholder takes to present the card")] = 300,
) -> None:
    """A Viva.com card terminal: the Local (/pos/v1) and Cloud (/ecr/v1, /ecr/isv/v1) Terminal APIs (docs/devices.md)"""
    control_at = _address(control) if control is not None else None
    if control_at is not None and not is_loopback(control_at[0]):
        raise typer.BadParameter(f"{control}: the control port binds a loopback address only", param_hint="--control")
    folder = data_dir or Path(tempfile.mkdtemp(prefix="fiscald-viva-"))
    folder.mkdir(parents=True, exist_ok=True)
    asyncio.run(_run_viva(VivaEmulator(folder), _address(listen), control_at, card_delay_ms))


async def _run_viva(emulator: VivaEmulator, listen: tuple[str, int], control: tuple[str, int] | None,
                    card_delay_ms: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # Windows: Ctrl+C still raises KeyboardInterrupt
            loop.add_signal_handler(sig, stop.set)
    await run(emulator, listen, control, stop, card_delay_ms)


@emulate_app.command()
def tremol(
    model: Annotated[str, typer.Option(help="Tremol model: M20, S21, S25 (Bulgarian), M20 V2 (KL version 2), "
                                            "M20-RO, S21-RO, S25-RO (Romanian); the dialect follows the model")]
    = TREMOL_DEFAULT,
    listen: Annotated[str, typer.Option(help="TCP HOST:PORT to serve (port 0: any free port; the manual says "
                                             "8000, others report 4999)")] = "127.0.0.1:8000",
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="The register's memory (default: a temp dir)")]
    = None,
    control: Annotated[str | None, typer.Option(help="HOST:PORT of the POST /simulate control endpoint")] = None,
    password: Annotated[str | None, typer.Option(help="LAN password the host must send (with LF) after "
                                                      "connecting; none by default, as ErpNet.FP sends none")] = None,
    pty: Annotated[bool, typer.Option("--pty", help="Serve on a pseudo-terminal instead of TCP (not on Windows)")]
    = False,
) -> None:
    """A Tremol (ZFP) register speaking its model's dialect."""
    spec = TREMOL_MODELS.get(model)
    if spec is None:
        raise typer.BadParameter(f"{model!r} is not a Tremol model ({', '.join(TREMOL_MODELS)})",
                                 param_hint="--model")
    _check_pty(pty)
    if pty and password is not None:
        raise typer.BadParameter("the password step is for LAN (TCP) connections only", param_hint="--password")
    if password is not None and (not password or "\n" in password or len(password) > 64):
        raise typer.BadParameter("1 to 64 characters, no line feed", param_hint="--password")
    folder = data_dir if data_dir is not None else Path(tempfile.mkdtemp(prefix="fiscald-tremol-"))
    emulator = TremolEmulator(spec, folder, password)
    asyncio.run(_run(emulator, listen, control, pty, replace=False))  # one host; others get 60h
