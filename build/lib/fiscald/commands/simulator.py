"""``fiscald simulate ...`` (fault injection through the running server) and ``fiscald journal export|verify``
(read the data dir's SQLite file directly, read-only, so they work with the server stopped or running)."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console

from fiscald.app import DB_FILE
from fiscald.config import DEFAULT_HOST, DEFAULT_PORT, default_data_dir
from fiscald.errors import FiscalError
from fiscald.journal_export import (
    ExportFormat,
    JournalFilter,
    journal_renderer,
    parse_kinds,
    report_renderer,
    time_bound,
    write_sync,
)
from fiscald.store import archive
from fiscald.store import journal as journal_repo

simulate_app = typer.Typer(help="Inject faults into Simulated devices of a running server.", no_args_is_help=True)
journal_app = typer.Typer(help="Export or verify electronic journals (reads the data dir).", no_args_is_help=True)
err_console = Console(stderr=True)

Url = Annotated[str, typer.Option(envvar="FISCALD_URL", help="The running server")]
DEFAULT_URL = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"
DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Folder of the database (default: user data dir)")]


def _post_simulate(url: str, body: dict[str, Any]) -> None:
    try:
        response = httpx.post(url.rstrip("/") + "/manage/simulate", json=body, timeout=30)
    except httpx.HTTPError as exc:
        err_console.print(f"Cannot reach fiscald at {url}: {exc}")
        raise typer.Exit(2) from None
    print(json.dumps(response.json(), indent=2, ensure_ascii=False))
    if response.status_code != 200:
        raise typer.Exit(1)


def _fail_next(value: str) -> dict[str, Any] | None:
    if value == "none":
        return None
    parts = value.split(":")
    if len(parts) not in (2, 3) or not parts[1].isdigit():
        raise typer.BadParameter("use OPERATION:CODE[:before|after_print], e.g. print_receipt:2003:after_print, "
                                 "or none")
    return {"operation": parts[0], "code": int(parts[1]), "at": parts[2] if len(parts) == 3 else "before"}


@simulate_app.command("set")
def simulate_set(
    device_id: Annotated[str, typer.Argument(help="Id of a Simulated register or POS terminal")],
    fault: Annotated[str | None, typer.Option(help="none, paper_out, cover_open, disconnected, fiscal_memory_full, "
                                                   "busy (register); none, decline, cancel, timeout, "
                                                   "disconnected (POS)")] = None,
    latency_ms: Annotated[int | None, typer.Option(help="Delay of every device command")] = None,
    jitter_ms: Annotated[int | None, typer.Option(help="Random extra delay 0..N ms (seeded)")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of the jitter generator")] = None,
    fail_next: Annotated[str | None, typer.Option(help="OPERATION:CODE[:before|after_print] or none")] = None,
    url: Url = DEFAULT_URL,
) -> None:
    """Change the simulation of a device (options not given keep their value)."""
    body: dict[str, Any] = {"device_id": device_id}
    for key, value in (("fault", fault), ("latency_ms", latency_ms), ("latency_jitter_ms", jitter_ms),
                       ("seed", seed)):
        if value is not None:
            body[key] = value
    if fail_next is not None:
        body["fail_next"] = _fail_next(fail_next)
    _post_simulate(url, body)


@simulate_app.command("show")
def simulate_show(device_id: str, url: Url = DEFAULT_URL) -> None:
    """Print a device's simulation state and status."""
    _post_simulate(url, {"device_id": device_id})


@simulate_app.command("clear")
def simulate_clear(device_id: str, url: Url = DEFAULT_URL) -> None:
    """Remove every fault, latency and pending fail_next: the device works normally again."""
    _post_simulate(url, {"device_id": device_id, "fault": "none", "latency_ms": 0, "latency_jitter_ms": 0,
                         "fail_next": None})


def _open(data_dir: Path | None) -> sqlite3.Connection:
    path = (data_dir or default_data_dir()) / DB_FILE
    if not path.is_file():
        err_console.print(f"No fiscald database at {path}")
        raise typer.Exit(2)
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    return conn


@journal_app.command("export")
def journal_export(
    device_id: str,
    data_dir: DataDir = None,
    format: Annotated[ExportFormat, typer.Option(help="json, text or csv")] = "json",
    from_: Annotated[str | None, typer.Option("--from", help="Date or ISO datetime (inclusive)")] = None,
    to: Annotated[str | None, typer.Option(help="Date (the whole day) or ISO datetime (inclusive)")] = None,
    kind: Annotated[str | None, typer.Option(help="Document kinds, comma-separated")] = None,
    from_number: Annotated[int | None, typer.Option(help="First document number")] = None,
    to_number: Annotated[int | None, typer.Option(help="Last document number")] = None,
    reports: Annotated[bool, typer.Option("--reports", help="Export the Z reports instead")] = False,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (default: stdout)")] = None,
) -> None:
    """Export a device's journal (or Z reports), like GET /devices/{id}/journal and /reports."""
    try:
        flt = JournalFilter(("z_report",) if reports else parse_kinds(kind, "--kind"),
                            time_bound(from_, "--from", end=False), time_bound(to, "--to", end=True),
                            from_number, to_number)
    except FiscalError as exc:
        err_console.print(exc.message("en"))
        raise typer.Exit(2) from None
    renderer = (report_renderer if reports else journal_renderer)(format, device_id)
    conn = _open(data_dir)
    try:
        record = archive.device_record(conn, device_id)
        if record is None or (reports and record.kind != "fiscal"):
            err_console.print(f"No {'register' if reports else 'device'} {device_id}, current or deleted")
            raise typer.Exit(2)
        if output is None:
            count = write_sync(conn, device_id, flt, renderer, sys.stdout)
        else:
            with output.open("w", encoding="utf-8", newline="") as out:
                count = write_sync(conn, device_id, flt, renderer, out)
    finally:
        conn.close()
    err_console.print(f"{count} entries exported")


def _reason(entry: journal_repo.JournalEntry, expected_seq: int) -> str:
    if entry.seq != expected_seq:
        return f"sequence gap: expected seq {expected_seq} (entries were removed or reordered)"
    content = journal_repo.entry_hash(entry.prev_hash, entry.seq, entry.kind, entry.number, entry.fiscal_day,
                                      entry.datetime, entry.total_cents, entry.text, entry.data)
    if content != entry.hash:
        return "content altered: the entry's hash does not match its content"
    return f"chain broken: prev_hash does not match the hash of entry {entry.seq - 1} (it or this link was altered)"


@journal_app.command("verify")
def journal_verify(
    device_id: Annotated[str | None, typer.Argument(help="One device (default: every device with a journal)")]
    = None,
    data_dir: DataDir = None,
) -> None:
    """Check the hash chain of the journal(s); report the first broken entry. Exit code 1 if any is broken."""
    conn = _open(data_dir)
    broken_any = False
    try:
        devices = [device_id] if device_id else [
            r[0] for r in conn.execute("SELECT DISTINCT device_id FROM journal ORDER BY device_id")]
        for dev in devices:
            checked, broken = journal_repo.verify(conn, dev)
            if broken is None:
                print(f"{dev}: OK, {checked} entries")
                continue
            broken_any = True
            print(f"{dev}: BROKEN at seq {broken.seq} (journal_id {broken.id}, {broken.kind} {broken.number}, "
                  f"{broken.datetime}): {_reason(broken, checked + 1)}; {checked} entries before it are intact")
    finally:
        conn.close()
    if broken_any:
        raise typer.Exit(1)
