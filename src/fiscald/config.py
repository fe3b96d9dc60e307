"""Settings (stored in the database, edited through /manage) and their defaults."""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import platformdirs
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

DEFAULT_PORT = 10123
DEFAULT_HOST = "127.0.0.1"
DB_FILE = "fiscald.db"
DATA_DIR_ENV = "FISCALD_DATA_DIR"


_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOST_NAME_PATTERN = rf"^({_LABEL}\.)*{_LABEL}\.?$"
_PORT = r"([0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
WEB_ORIGIN_PATTERN = rf"^(null|https?://(({_LABEL}\.)*{_LABEL}|\[[0-9A-Fa-f:.]+\])(:{_PORT})?/?)$"


def _host_name(value: str) -> str:
    """A DNS name or an IP address (IPv6 without brackets), as in a ``Host`` header without its port."""
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        if not re.fullmatch(HOST_NAME_PATTERN, value):
            raise ValueError(f"{value!r} is not a host name or IP address (no scheme, no port)") from None
    return value.lower().rstrip(".")


def _web_origin(value: str) -> str:
    """``scheme://host[:port]`` as browsers send it in ``Origin``, or ``null``."""
    if not re.fullmatch(WEB_ORIGIN_PATTERN, value):
        raise ValueError(f"{value!r} is not a web origin like https://pos.example.com or http://host:8080 (or null)")
    return value.rstrip("/").lower()


HostName = Annotated[StrictStr, Field(max_length=253, json_schema_extra={"anyOf": [
    {"pattern": HOST_NAME_PATTERN}, {"format": "ipv6"}]}), AfterValidator(_host_name)]
WebOrigin = Annotated[StrictStr, Field(max_length=300, pattern=WEB_ORIGIN_PATTERN), AfterValidator(_web_origin)]


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    enable_simulated_devices: StrictBool = False
    language: Literal["ro", "en"] = "ro"
    api_port: Annotated[StrictInt, Field(ge=1, le=65535)] = DEFAULT_PORT
    bind_address: StrictStr = DEFAULT_HOST
    api_token: Annotated[StrictStr, Field(min_length=16, max_length=256)] | None = None
    idempotency_retention_days: Annotated[StrictInt, Field(ge=1, le=365)] = 7
    inp_settle_ms: Annotated[StrictInt, Field(ge=0, le=10_000)] = 100
    allowed_origins: Annotated[list[WebOrigin], Field(max_length=100)] = []
    allowed_hosts: Annotated[list[HostName], Field(max_length=100)] = []
    # docs/central.md; checked by central.url.problem, whose scheme rule the schema states
    central_url: Annotated[StrictStr, Field(min_length=1, max_length=2000, json_schema_extra={
        "pattern": "^postgres(?:ql)?://"})] | None = None
    store_id: Annotated[StrictStr, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")] | None = None


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
    """True when every address ``host`` stands for is a loopback address: an IP literal is judged as it is, a
    name by what it resolves to (``127.0.0.1.nip.io`` is a name, not 127.0.0.1). A name that does not resolve
    is not loopback."""
    try:
        infos = socket.getaddrinfo(host.strip("[]"), None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return False
    addresses = {ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos}
    return bool(addresses) and all(_loopback(a) for a in addresses)


def _loopback(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback
