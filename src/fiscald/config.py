"""Settings (stored in the database, edited through /manage) and their defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

DEFAULT_PORT = 10123
DEFAULT_HOST = "127.0.0.1"


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
    central_url: Annotated[StrictStr, Field(min_length=1, max_length=2000)] | None = None  # docs/central.md
    store_id: Annotated[StrictStr, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")] | None = None


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("fiscald", appauthor=False))


def is_loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")
