"""``fiscald simulate ...`` (fault injection through the running server: ``--url``, else the data dir's own server,
checked by instance id; refused when it is not running) and ``fiscald journal export|verify`` (read the data dir's
SQLite file directly, read-only, so they work with the server stopped or running)."""

from __future__ import annotations

import io
import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console

from fiscald.commands.datadir import (
    HINT,
    DataDirOption,
    ServerTrouble,
    Stopped,
    chosen,
    connect_readonly,
    data_dir_server,
    stored_settings,
)
from fiscald.commands.progress import progress_bar
from fiscald.errors import FiscalError
from fiscald.exitcodes import ExitCode
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

Url = Annotated[str | None, typer.Option(envvar="FISCALD_URL", help="The running server (default: the data dir's)")]
Token = Annotated[str | None, typer.Option("--token", envvar="FISCALD_API_TOKEN",
                                           help="API token (default: from the data dir's settings)")]


def _server(url: str | None, data_dir: Path | None, token: str | None) -> tuple[str, str | None, bool]:
    """The server to simulate on: ``url``, else the data dir's own (its URL, its token, and that it is local)."""
    if url is not None:
        return url.rstrip("/"), token, False
    where = chosen(data_dir)
    try:
        found = data_dir_server(where)
    except ServerTrouble as exc:
        err_console.print(str(exc), soft_wrap=True, highlight=False)
        raise typer.Exit(ExitCode.REFUSED) from None
    if isinstance(found, Stopped):
        said = found.describe(where)
        err_console.print(f"{said[0].upper()}{said[1:]}: simulate changes the devices of a running server. "
                          f"Start it (fiscald serve --data-dir {where.path}), or give --url; {HINT}",
                          soft_wrap=True, highlight=False)
        raise typer.Exit(ExitCode.REFUSED)
    return found.record.url, token or stored_settings(where).api_token, True


def _post_simulate(server: tuple[str, str | None, bool], body: dict[str, Any]) -> None:
    url, token, local = server
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = httpx.post(url + "/manage/simulate", json=body, headers=headers, timeout=30, trust_env=not local)
    except httpx.HTTPError as exc:
        err_console.print(f"Cannot reach fiscald at {url}: {exc}")
        raise typer.Exit(ExitCode.REFUSED) from None
    print(json.dumps(response.json(), indent=2, ensure_ascii=False))
    if response.status_code != 200:
        raise typer.Exit(ExitCode.FAILED)


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
    data_dir: DataDirOption = None,
    url: Url = None,
    token: Token = None,
) -> None:
    """Change the simulation of a device (options not given keep their value)."""
    body: dict[str, Any] = {"device_id": device_id}
    for key, value in (("fault", fault), ("latency_ms", latency_ms), ("latency_jitter_ms", jitter_ms),
                       ("seed", seed)):
        if value is not None:
            body[key] = value
    if fail_next is not None:
        body["fail_next"] = _fail_next(fail_next)
    _post_simulate(_server(url, data_dir, token), body)


@simulate_app.command("show")
def simulate_show(device_id: str, data_dir: DataDirOption = None, url: Url = None, token: Token = None) -> None:
    """Print a device's simulation state and status."""
    _post_simulate(_server(url, data_dir, token), {"device_id": device_id})


@simulate_app.command("clear")
def simulate_clear(device_id: str, data_dir: DataDirOption = None, url: Url = None, token: Token = None) -> None:
    """Remove every fault, latency and pending fail_next: the device works normally again."""
    _post_simulate(_server(url, data_dir, token), {"device_id": device_id, "fault": "none", "latency_ms": 0,
                                                   "latency_jitter_ms": 0, "fail_next": None})


@journal_app.command("export")
def journal_export(
    device_id: str,
    data_dir: DataDirOption = None,
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
    where = chosen(data_dir)
    conn = connect_readonly(where)
    started = time.monotonic()
    try:
        record = archive.device_record(conn, device_id)
        if record is None or (reports and record.kind != "fiscal"):
            err_console.print(f"No {'register' if reports else 'device'} {device_id}, current or deleted, in data "
                              f"dir {where}; {HINT}", soft_wrap=True, highlight=False)
            raise typer.Exit(2)
        unfiltered = flt == JournalFilter() and not reports
        total = journal_repo.count(conn, device_id) if unfiltered else None
        with progress_bar(err_console, "Exporting", total) as done:
            if output is None:
                count = write_sync(conn, device_id, flt, renderer, _utf8_stdout(), done)
            else:
                with output.open("w", encoding="utf-8", newline="") as out:
                    count = write_sync(conn, device_id, flt, renderer, out, done)
    finally:
        conn.close()
    noun = "Z reports" if reports else "entries"
    err_console.print(f"Exported {count} {noun} of {device_id} as {format} to {output or 'stdout'} in "
                      f"{time.monotonic() - started:.1f} s", soft_wrap=True, highlight=False)


def _utf8_stdout() -> io.TextIOWrapper:
    """stdout as UTF-8 without newline translation, the same bytes as ``--output`` (a redirected stdout on Windows
    would otherwise use the ANSI code page, which has no ș/ț, and write CRLF)."""
    sys.stdout.flush()
    stream = sys.stdout
    if not isinstance(stream, io.TextIOWrapper):
        raise typer.BadParameter("stdout is not a file; use --output")
    stream.reconfigure(encoding="utf-8", newline="")
    return stream


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
    data_dir: DataDirOption = None,
) -> None:
    """Check the hash chain of the journal(s); report the first broken entry. Exit code 1 if any is broken."""
    conn = connect_readonly(chosen(data_dir))
    broken_count = checked_total = 0
    started = time.monotonic()
    try:
        devices = [device_id] if device_id else [
            r[0] for r in conn.execute("SELECT DISTINCT device_id FROM journal ORDER BY device_id")]
        for dev in devices:
            with progress_bar(err_console, f"Verifying {dev[:8]}", journal_repo.count(conn, dev)) as done:
                checked, broken = journal_repo.verify(conn, dev, done)
            checked_total += checked
            if broken is None:
                print(f"{dev}: OK, {checked} entries")
                continue
            broken_count += 1
            print(f"{dev}: BROKEN at seq {broken.seq} (journal_id {broken.id}, {broken.kind} {broken.number}, "
                  f"{broken.datetime}): {_reason(broken, checked + 1)}; {checked} entries before it are intact")
    finally:
        conn.close()
    err_console.print(f"Verified {len(devices)} journal(s), {checked_total} intact entries, {broken_count} broken, "
                      f"in {time.monotonic() - started:.1f} s", soft_wrap=True, highlight=False)
    if broken_count:
        raise typer.Exit(1)
