"""``fiscald central migrate|verify|status``: the central PostgreSQL database (docs/central.md)."""

from __future__ import annotations

import os
import sqlite3
from typing import Annotated, Any

import psycopg
import typer
from rich.console import Console
from rich.table import Table

from fiscald.central import outbox, url
from fiscald.central.schema import VERSION, migrate
from fiscald.central.verify import verify
from fiscald.commands.datadir import DataDirOption, chosen, connect_readonly
from fiscald.store import devices as device_repo

central_app = typer.Typer(help="The central PostgreSQL database a chain's stores ship to.", no_args_is_help=True)
console = Console()

UrlOption = Annotated[str | None, typer.Option(
    "--url", help=f"postgresql://user:password@host:5432/database (default: ${url.ENV_URL})")]


def _url(given: str | None) -> str:
    found = given or os.environ.get(url.ENV_URL)
    if not found:
        console.print(f"[red]--url: give the central database (or set {url.ENV_URL})[/red]")
        raise typer.Exit(2)
    problem = url.problem(found)
    if problem is not None:
        console.print(f"[red]--url: {problem}[/red]")
        raise typer.Exit(2)
    return found


def _connect(raw: str) -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(raw, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        console.print(f"[red]{url.describe(raw)}: {url.scrub(' '.join(str(exc).split()), raw)}[/red]",
                      soft_wrap=True)
        raise typer.Exit(1) from None


@central_app.command("migrate")
def migrate_command(url_: UrlOption = None) -> None:
    """Create or upgrade the fiscald schema (tables and views) in the central database. Safe to repeat."""
    raw = _url(url_)
    with _connect(raw) as conn:
        before, after = migrate(conn)
    where = url.describe(raw)
    if before == after:
        console.print(f"{where}: the fiscald schema is at version {after}, nothing to do", soft_wrap=True)
    else:
        console.print(f"{where}: fiscald schema migrated from version {before} to {after}", soft_wrap=True)


@central_app.command("verify")
def verify_command(url_: UrlOption = None,
                   store_id: Annotated[str | None, typer.Option(help="Only this store")] = None) -> None:
    """Recompute every device's hash chain in the central database; exit 1 if one is broken."""
    with _connect(_url(url_)) as conn:
        checks = verify(conn, store_id)
    table = Table("store", "device", "entries", "chain")
    for check in checks:
        table.add_row(check.store_id, check.device_id, str(check.checked),
                      "ok" if check.ok else f"[red]broken at seq {check.broken_at}[/red]")
    console.print(table)
    if not all(c.ok for c in checks):
        raise typer.Exit(1)


@central_app.command("status")
def status_command(data_dir: DataDirOption = None) -> None:
    """What this store has not shipped yet (read from the data dir; works with the server stopped)."""
    conn = connect_readonly(chosen(data_dir))
    try:
        settings = device_repo.load_settings(conn)
        at = outbox.positions(conn)
        backlog = outbox.backlog(conn, at)
    except sqlite3.OperationalError as exc:
        console.print(f"[red]The data dir's database predates central shipping ({exc}): start fiscald once to "
                      "upgrade it[/red]")
        raise typer.Exit(2) from None
    finally:
        conn.close()
    target = url.target(settings)
    where = url.describe(target.url) if target.url else "not configured"
    console.print(f"central: {where} (from {target.source}), store_id {target.store_id or '-'}", soft_wrap=True)
    if target.problem:
        console.print(f"[red]{target.problem}[/red]")
    console.print(f"shipped up to journal id {at['journal']} and outcome {at['outcomes']}; "
                  f"backlog {backlog.journal} journal entries, {backlog.outcomes} outcomes "
                  f"(schema version {VERSION})", soft_wrap=True)
