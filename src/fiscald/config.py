"""Settings (stored in the database, edited through /manage) and their defaults."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

DEFAULT_PORT = 10123
DEFAULT_HOST = "127.0.0.1"
DB_FILE = "fiscald.db"
DATA_DIR_ENV = "FISCALD_DATA_DIR"


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    enable_simulated_devices: StrictBool = False
    language: Literal["ro", "en"] = "ro"
    api_port: Annotated[StrictInt, Field(ge=1, le=65535)] = DEFAULT_PORT
    bind_address: StrictStr = DEFAULT_HOST
    api_token: Annotated[StrictStr, Field(min_length=16, max_length=256)] | None = None
    idempotency_retention_days: Annotated[StrictInt, Field(ge=1, le=365)] = 7
    inp_settle_ms: Annotated[StrictInt, Field(ge=0, le=10_000)] = 100
    allowed_origins: list[StrictStr] = []


def user_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("fiscald", appauthor=False))


def machine_data_dir(platform: str = sys.platform, environ: Mapping[str, str] = os.environ) -> Path:
    """The service's data dir: one per machine, whoever runs the command."""
    if platform == "win32":
        return Path(environ.get("ProgramData") or r"C:\ProgramData") / "fiscald"
    return Path("/var/lib/fiscald")


@dataclass(frozen=True)
class DataDir:
    """A data dir and why it was chosen (named in messages, so a wrong guess is visible)."""

    path: Path
    source: str

    def __str__(self) -> str:
        return f"{self.path} ({self.source})"


def _holds_database(folder: Path) -> bool:
    try:
        (folder / DB_FILE).stat()
    except PermissionError:
        return True  # the service's, readable only by its user: say so when opening it, never pick another silently
    except OSError:
        return False
    return True


def resolve_data_dir(explicit: Path | None, environ: Mapping[str, str] = os.environ,
                     machine: Path | None = None, user: Path | None = None) -> DataDir:
    """The data dir of every command: ``--data-dir``, else ``FISCALD_DATA_DIR``, else the service's machine-wide
    data dir when it holds a database (a service is installed), else the user data dir."""
    if explicit is not None:
        return DataDir(explicit, "--data-dir")
    if environ.get(DATA_DIR_ENV):
        return DataDir(Path(environ[DATA_DIR_ENV]), DATA_DIR_ENV)
    machine = machine or machine_data_dir(environ=environ)
    if _holds_database(machine):
        return DataDir(machine, "the service's data dir")
    return DataDir(user or user_data_dir(), "user data dir")


def is_loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")
