"""The ``fiscald`` command line."""

from __future__ import annotations

import io
import sqlite3
import sys
from typing import Annotated, Any

import typer
import uvicorn
from rich.console import Console
from typer.core import TyperCommand

from fiscald import __version__
from fiscald.app import create_app, open_database, prepare_demo
from fiscald.commands.central import central_app
from fiscald.commands.datadir import (
    DataDirOption,
    chosen,
    claim_for_serve,
    refuse_if_served,
    stored_settings,
    unusable,
)
from fiscald.commands.emulate import emulate_app
from fiscald.commands.manage import devices_app, settings_app
from fiscald.commands.service import service_app
from fiscald.commands.simulator import journal_app, simulate_app
from fiscald.config import DataDir, is_loopback
from fiscald.deploy import ports
from fiscald.exitcodes import ExitCode
from fiscald.interfaces import serving
from fiscald.logs import setup_logging
from fiscald.store import Database

cli = typer.Typer(help="fiscald — open fiscal device driver (FisCool-compatible).", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)
cli.add_typer(devices_app, name="devices")
cli.add_typer(settings_app, name="settings")
cli.add_typer(simulate_app, name="simulate")
cli.add_typer(journal_app, name="journal")
cli.add_typer(emulate_app, name="emulate")
cli.add_typer(central_app, name="central")
cli.add_typer(service_app, name="service")
YES = frozenset({"true", "yes", "on", "1"})
NO = frozenset({"false", "no", "off", "0"})


def _print_version(wanted: bool) -> None:
    if wanted:
        console.print(f"fiscald {__version__}", highlight=False)
        raise typer.Exit()


@cli.callback()
def _options(version: Annotated[bool, typer.Option(
        "--version", is_eager=True, callback=_print_version, help="Print the version and exit")] = False) -> None:
    pass


class ServeCommand(TyperCommand):
    """``--demo`` alone turns demo mode on; ``--demo true|false`` (or ``--demo=false``) says which, as its
    ``<bool>`` in the help suggests. serve takes no arguments, so a word after ``--demo`` can only be its value."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, demo_flag(args))


def demo_flag(args: list[str]) -> list[str]:
    """``args`` with ``--demo VALUE`` / ``--demo=VALUE`` as the bare flag (true) or nothing (false)."""
    out: list[str] = []
    rest = iter(args)
    for arg in rest:
        if arg == "--":
            out.extend([arg, *rest])
            break
        value: str | None = None
        if arg.startswith("--demo="):
            value = arg.removeprefix("--demo=")
        elif arg == "--demo":
            following = next(rest, None)
            if following is not None and not following.startswith("-"):
                value = following
            else:
                out.append(arg)
                if following is not None:
                    out.append(following)
                continue
        else:
            out.append(arg)
            continue
        if value.lower() not in YES | NO:
            raise typer.BadParameter(f"{value!r} is not true or false (or give --demo alone)", param_hint="--demo")
        if value.lower() in YES:
            out.append("--demo")
    return out


def open_data_dir(folder: DataDir) -> Database:
    """The data dir's database, created if need be; one line and exit code 2 when it cannot be opened."""
    try:
        return open_database(folder.path)
    except (OSError, sqlite3.Error) as exc:
        unusable(folder, exc)


@cli.command(cls=ServeCommand)
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default: setting bind_address)")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default: setting api_port)")] = None,
    data_dir: DataDirOption = None,
    demo: Annotated[bool, typer.Option(
        "--demo", help="Enable simulated devices; create a Simulated register (--demo alone, or --demo true|false)")]
    = False,
    log_level: Annotated[str, typer.Option(help="debug|info|warning|error")] = "warning",
    request_timeout: Annotated[float, typer.Option(
        min=0.1, max=3600, help="Seconds a request may take to arrive whole (headers and body)")]
    = serving.REQUEST_READ_TIMEOUT_S,
    max_connections: Annotated[int, typer.Option(
        min=1, max=1_000_000, help="Open connections (HTTP and WebSocket) beyond which new ones are refused; "
        "kept below the open-file limit")] = serving.DEFAULT_MAX_CONNECTIONS,
    graceful_timeout: Annotated[int | None, typer.Option(
        help="On SIGTERM/Ctrl+C, seconds to let requests in flight finish (default: no limit); the device "
             "operation in progress always finishes")] = None,
) -> None:
    """Run the server (HTTP API on HOST:PORT)."""
    folder = chosen(data_dir)
    settings = stored_settings(folder)  # read-only: a refused start changes nothing
    host = host or settings.bind_address
    port = port or settings.api_port
    if not is_loopback(host) and not settings.api_token:
        err_console.print(f"[red]Refusing to bind to {host}: set an api_token first "
                          "(fiscald settings set api_token ...) or bind to 127.0.0.1.[/red]")
        raise typer.Exit(ExitCode.REFUSED)
    refuse_if_served(folder)  # exit 4 naming the server already on this data dir
    sock = ports.bind(host, port)  # the server listens on this socket: nothing else can take the port meanwhile
    if isinstance(sock, ports.Refusal):
        err_console.print(f"[red]{sock.message}[/red]", soft_wrap=True, highlight=False)
        raise typer.Exit(sock.exit_code)
    claim = claim_for_serve(folder)  # held until this process ends: one server per data dir
    db = open_data_dir(folder)
    try:
        new_register = prepare_demo(db) if demo else None
    finally:
        db.close()
    setup_logging(log_level)
    shown = f"[{host}]" if ":" in host else host
    # one line each, never wrapped: scripts read the URL and the register id from this output
    console.print(f"fiscald {__version__} on [bold]http://{shown}:{port}[/bold]  (data: {folder})", soft_wrap=True)
    if new_register is not None:
        console.print(f"Simulated register: [bold]{new_register}[/bold]", soft_wrap=True)
    limits = serving.Limits(request_timeout, max_connections)
    config = serving.server_config(create_app(folder.path, claim.instance_id), host, port, settings.language, limits,
                                   log_level=log_level, graceful_timeout_s=graceful_timeout)
    try:
        serving.run(config, claim, sock)
    except SystemExit as exc:  # uvicorn's "could not start" is its own 3, which here means "port in use"
        if exc.code == uvicorn.config.STARTUP_FAILURE:
            raise typer.Exit(ExitCode.START_FAILED) from None
        raise


@cli.command()
def version() -> None:
    """Print the version."""
    console.print(__version__)


def utf8_stdio() -> None:
    """Print UTF-8 whatever the console or the locale: a redirected stdout on Windows would use the ANSI code page,
    which cannot write ș/ț."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper) and stream.encoding.lower().replace("-", "") != "utf8":
            stream.reconfigure(encoding="utf-8", errors="backslashreplace" if stream is sys.stderr else "strict")


def main() -> None:
    utf8_stdio()
    cli()
