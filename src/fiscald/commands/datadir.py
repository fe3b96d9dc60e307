"""The data dir of a command: which one (``--data-dir``, ``FISCALD_DATA_DIR``, the service's, the user's), its
server (the one its record names, checked by instance id before anything is read or written), and read-only
access to it that never creates or changes a file (docs/manage.md, "Command line")."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, NoReturn, TypeVar

import httpx
import typer
from rich.console import Console

from fiscald import instance
from fiscald.config import DATA_DIR_ENV, DB_FILE, DataDir, Settings, resolve_data_dir
from fiscald.exitcodes import ExitCode
from fiscald.instance import INSTANCE_HEADER, ServerRecord
from fiscald.interfaces.http import ROOT_TEXT
from fiscald.store import devices as device_repo

DataDirOption = Annotated[Path | None, typer.Option(
    "--data-dir", help=f"Data dir (default: ${DATA_DIR_ENV}, else the service's data dir if it has a database, "
                       "else the user data dir)")]
HINT = f"choose one with --data-dir DIR or {DATA_DIR_ENV}=DIR"
PROBE_TIMEOUT_S = 5.0  # the lock says a server runs: give a busy one time to answer
err_console = Console(stderr=True)
T = TypeVar("T")


def chosen(data_dir: Path | None) -> DataDir:
    return resolve_data_dir(data_dir)


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except PermissionError:
        return True  # there, but not ours to read: sqlite says so below, with the hint


def _refuse(message: str) -> NoReturn:
    err_console.print(message, soft_wrap=True, highlight=False)
    raise typer.Exit(ExitCode.REFUSED)


def require_database(where: DataDir) -> None:
    """Exit 2 with a plain message when the data dir, or its database, does not exist (nothing is created)."""
    if not _is_file(where.path / DB_FILE):
        if not where.path.exists():
            _refuse(f"Data dir {where} does not exist; {HINT}")
        _refuse(f"No fiscald database in data dir {where}; {HINT}")


def connect_readonly(where: DataDir) -> sqlite3.Connection:
    """The data dir's database, read-only; a plain message and exit code 2 when there is none or it is unreadable."""
    require_database(where)
    path = where.path / DB_FILE
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        conn.row_factory = sqlite3.Row
        conn.execute("SELECT 1 FROM settings LIMIT 1")
    except sqlite3.Error as exc:
        _refuse(f"Cannot read {path} ({where.source}): {exc}. The service's data dir is readable by its user (run "
                f"the command as that user or as an administrator); or {HINT}")
    return conn


class ReadOnlyStore:
    """A read-only connection with the reading half of ``Database``'s interface."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def read_sync(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return fn(self.conn)


def stored_settings(where: DataDir) -> Settings:
    """The data dir's settings, or the defaults when it has no database yet (nothing is created)."""
    if not _is_file(where.path / DB_FILE):
        return Settings()
    conn = connect_readonly(where)
    try:
        return device_repo.load_settings(conn)
    finally:
        conn.close()


class ServerTrouble(Exception):
    """A server holds the data dir but cannot be checked to be its own; the message is for the person."""


@dataclass(frozen=True)
class Live:
    """The data dir's server, running, and answering as the instance its record names."""

    record: ServerRecord


@dataclass(frozen=True)
class Stopped:
    """No server runs on the data dir; ``stale`` is the record one left when it did not stop cleanly."""

    stale: ServerRecord | None

    def describe(self, where: DataDir) -> str:
        text = f"the server of data dir {where} is not running"
        if self.stale is not None:
            text += (f" (the record it left, pid {self.stale.pid} on port {self.stale.port}, is stale: that server "
                     "ended without stopping cleanly)")
        return text


def _answers_as(record: ServerRecord) -> str | None:
    """Why ``record.url`` is not the server the record names, or None when it is."""
    try:
        answer = httpx.get(record.url + "/", timeout=PROBE_TIMEOUT_S, trust_env=False)
    except httpx.HTTPError as exc:
        return f"does not answer at {record.url} ({type(exc).__name__}: {exc})"
    found = answer.headers.get(INSTANCE_HEADER)
    if answer.text != ROOT_TEXT or found != record.instance_id:
        return (f"is not what answers at {record.url}: another server does (instance {found or 'unknown'}, not "
                f"{record.instance_id})")
    return None


def data_dir_server(where: DataDir) -> Live | Stopped:
    """The server of ``where``: Live when it runs and answers as the instance its record names, Stopped when none
    runs. Raises ServerTrouble when one holds the data dir but cannot be checked to be its own: never another."""
    if not where.path.is_dir():
        return Stopped(None)
    held = instance.is_held(where.path)
    record = instance.read_record(where.path)
    if held is False or (held is None and record is None):
        return Stopped(record)
    if record is None:
        raise ServerTrouble(f"a fiscald process holds data dir {where} but no server there has said where it "
                            "listens (one is starting or stopping, or another command is changing the data dir): "
                            "nothing was read or changed; try again in a moment")
    problem = _answers_as(record)
    if problem is not None:
        raise ServerTrouble(f"the server of data dir {where} ({record.describe()}) {problem}: nothing was read or "
                            "changed; wait until it answers, or stop it")
    return Live(record)


def _in_use(where: DataDir) -> NoReturn:
    record = instance.read_record(where.path)
    who = (f"{record.describe()}, {record.url}" if record is not None
           else "it has not said where it listens yet: starting or stopping")
    err_console.print(f"Refusing to start: another fiscald server runs on data dir {where} ({who}). One server per "
                      "data dir: stop that one first, or choose another with --data-dir.", soft_wrap=True,
                      highlight=False)
    raise typer.Exit(ExitCode.DATA_DIR_IN_USE)


def refuse_if_served(where: DataDir) -> None:
    """``serve``: exit 4 naming the server that already runs on ``where`` (looks only; creates nothing). A holder
    that has not said where it listens may be a command changing the data dir: ``claim_for_serve`` waits for it."""
    if where.path.is_dir() and instance.is_held(where.path) and instance.read_record(where.path) is not None:
        _in_use(where)


def unusable(where: DataDir, exc: OSError | sqlite3.Error) -> NoReturn:
    """Exit 2 with one line saying why ``where`` cannot be a data dir (a file, a path that cannot be created, no
    write permission, a database that cannot be opened)."""
    if where.path.exists() and not where.path.is_dir():
        reason = "it is a file, not a folder"
    else:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        reason = f"{getattr(exc, 'filename', None) or where.path}: {why}"
    _refuse(f"Cannot use data dir {where}: {reason}; {HINT}")


def claim_for_serve(where: DataDir) -> instance.Claim:
    """``serve``: hold the data dir for this process (exit 4 naming the server that holds it, 2 when it cannot be
    created or used)."""
    try:
        held = instance.claim(where.path)
    except OSError as exc:
        unusable(where, exc)
    if held is None:
        _in_use(where)
    return held
