"""The data dir of a command: which one (``--data-dir``, ``FISCALD_DATA_DIR``, the service's, the user's), and
read-only access to it that never creates or changes a file."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from fiscald.config import DATA_DIR_ENV, DB_FILE, DataDir, Settings, resolve_data_dir
from fiscald.store import devices as device_repo

DataDirOption = Annotated[Path | None, typer.Option(
    "--data-dir", help=f"Data dir (default: ${DATA_DIR_ENV}, else the service's data dir if it has a database, "
                       "else the user data dir)")]
HINT = f"choose one with --data-dir DIR or {DATA_DIR_ENV}=DIR"
err_console = Console(stderr=True)


def chosen(data_dir: Path | None) -> DataDir:
    return resolve_data_dir(data_dir)


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except PermissionError:
        return True  # there, but not ours to read: sqlite says so below, with the hint


def connect_readonly(where: DataDir) -> sqlite3.Connection:
    """The data dir's database, read-only; a plain message and exit code 2 when there is none or it is unreadable."""
    path = where.path / DB_FILE
    if not _is_file(path):
        err_console.print(f"No fiscald database in data dir {where}; {HINT}", soft_wrap=True, highlight=False)
        raise typer.Exit(2)
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        conn.row_factory = sqlite3.Row
        conn.execute("SELECT 1 FROM settings LIMIT 1")
    except sqlite3.Error as exc:
        err_console.print(f"Cannot read {path} ({where.source}): {exc}. The service's data dir is readable by "
                          f"its user (run the command as that user or as an administrator); or {HINT}",
                          soft_wrap=True, highlight=False)
        raise typer.Exit(2) from None
    return conn


def stored_settings(where: DataDir) -> Settings:
    """The data dir's settings, or the defaults when it has no database yet (nothing is created)."""
    if not _is_file(where.path / DB_FILE):
        return Settings()
    conn = connect_readonly(where)
    try:
        return device_repo.load_settings(conn)
    finally:
        conn.close()
