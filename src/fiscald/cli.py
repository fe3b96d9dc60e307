"""The ``fiscald`` command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from fiscald import __version__
from fiscald.app import create_app, open_database, prepare_demo
from fiscald.commands.central import central_app
from fiscald.commands.manage import devices_app, settings_app
from fiscald.commands.simulator import journal_app, simulate_app
from fiscald.config import default_data_dir, is_loopback
from fiscald.interfaces import serving
from fiscald.logs import setup_logging
from fiscald.store import devices as device_repo

cli = typer.Typer(help="fiscald — open fiscal device driver (FisCool-compatible).", no_args_is_help=True)
console = Console()
cli.add_typer(devices_app, name="devices")
cli.add_typer(settings_app, name="settings")
cli.add_typer(simulate_app, name="simulate")
cli.add_typer(journal_app, name="journal")
cli.add_typer(central_app, name="central")

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Folder for the database (default: user data dir)")]


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default: setting bind_address)")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default: setting api_port)")] = None,
    data_dir: DataDir = None,
    demo: Annotated[bool, typer.Option("--demo", help="Enable simulated devices; create a Simulated register")]
    = False,
    log_level: Annotated[str, typer.Option(help="debug|info|warning|error")] = "warning",
    request_timeout: Annotated[float, typer.Option(
        min=0.1, max=3600, help="Seconds a request may take to arrive whole (headers and body)")]
    = serving.REQUEST_READ_TIMEOUT_S,
    max_connections: Annotated[int, typer.Option(
        min=1, max=1_000_000, help="Open connections (HTTP and WebSocket) beyond which new ones are refused; "
        "kept below the open-file limit")] = serving.DEFAULT_MAX_CONNECTIONS,
) -> None:
    """Run the server (HTTP API on HOST:PORT)."""
    folder = data_dir or default_data_dir()
    db = open_database(folder)
    try:
        settings = db.read_sync(device_repo.load_settings)
        host = host or settings.bind_address
        port = port or settings.api_port
        if not is_loopback(host) and not settings.api_token:
            console.print(f"[red]Refusing to bind to {host}: set an api_token first "
                          "(fiscald settings set api_token ...) or bind to 127.0.0.1.[/red]")
            raise typer.Exit(2)
        device_ids = prepare_demo(db) if demo else []
    finally:
        db.close()
    setup_logging(log_level)
    shown = f"[{host}]" if ":" in host else host
    # one line each, never wrapped: scripts read the URL and the register id from this output
    console.print(f"fiscald {__version__} on [bold]http://{shown}:{port}[/bold]  (data: {folder})", soft_wrap=True)
    for device_id in device_ids:
        console.print(f"Simulated register: [bold]{device_id}[/bold]", soft_wrap=True)
    limits = serving.Limits(request_timeout, max_connections)
    serving.run(create_app(folder), host, port, log_level, settings.language, limits)


@cli.command()
def version() -> None:
    """Print the version."""
    console.print(__version__)


def main() -> None:
    cli()
