"""The connection details of each connection type, validated (``connection_details.details``).

Each rule is also its JSON schema (a pattern, an enum, a format), so /openapi.json accepts exactly what is
accepted here."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationError,
    WithJsonSchema,
    model_validator,
)

from fiscald.models.config import ConnectionDetails
from fiscald.operations.registry import config_error_from

STANDARD_BAUD_RATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400)
WINDOWS_PORT = re.compile(r"^COM[1-9][0-9]{0,2}$", re.IGNORECASE)
# COM3 (any case), or a device path: printable ASCII without spaces (/dev/ttyUSB0, /dev/serial/by-id/usb-...)
SERIAL_PORT = r"^(?:[Cc][Oo][Mm][1-9][0-9]{0,2}|/[!-~]*)$"
USB_SELECTOR = r"^[0-9A-Fa-f]{4}:[0-9A-Fa-f]{4}$"
DETAILS_FIELD = "connection_details.details"


def _baud_rate(value: int) -> int:
    if value not in STANDARD_BAUD_RATES:
        raise ValueError(f"{value} is not a standard rate ({', '.join(map(str, STANDARD_BAUD_RATES))})")
    return value


def _serial_port(value: str) -> str:
    if not re.fullmatch(SERIAL_PORT, value):
        raise ValueError(f"{value!r} is not a port name like COM3 or a device path like /dev/ttyUSB0")
    return value


def _ip_address(value: str) -> str:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        address = None
    if address is None or (isinstance(address, ipaddress.IPv6Address) and address.scope_id is not None):
        raise ValueError(f"{value!r} is not an IPv4 or IPv6 address (without a %zone)")
    return value


def _usb_selector(value: str) -> str:
    if not re.fullmatch(USB_SELECTOR, value):
        raise ValueError(f"{value!r} is not vid:pid in hexadecimal (e.g. 0403:6001)")
    return value


BaudRate = Annotated[StrictInt, AfterValidator(_baud_rate),
                     WithJsonSchema({"type": "integer", "enum": list(STANDARD_BAUD_RATES)})]


# printable ASCII, no spaces
SecretText = Annotated[StrictStr, Field(min_length=1, max_length=512, pattern=r"^[\x21-\x7e]+$")]


class Details(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SerialDetails(Details):
    port: Annotated[StrictStr, AfterValidator(_serial_port), WithJsonSchema({"type": "string", "pattern": SERIAL_PORT})]
    baud_rate: BaudRate


class NetworkDetails(Details):
    ip_address: Annotated[StrictStr, AfterValidator(_ip_address),
                          WithJsonSchema({"type": "string", "anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]})]
    port: Annotated[StrictInt, Field(ge=1, le=65535)]
    # the password a register on the LAN asks for right after connecting (Tremol: docs/devices.md); a secret, masked
    # in every view; only models that ask for one take it (core/validation.py)
    password: SecretText | None = None


class UsbDetails(Details):
    device_selector: Annotated[StrictStr, AfterValidator(_usb_selector),
                               WithJsonSchema({"type": "string", "pattern": USB_SELECTOR})]
    baud_rate: BaudRate | None = None


class VirtualDetails(Details):
    pass


def _base_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment or "@" in value:
        raise ValueError(f"{value!r} is not an http(s)://host[:port] URL")
    return value.rstrip("/")


BaseUrl = Annotated[StrictStr, AfterValidator(_base_url)]


UUID_PATTERN = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"


class CloudDetails(Details):
    """A terminal reached through its bank's cloud API (Viva.com's Cloud Terminal API, docs/devices.md).

    Two variants: the merchant's own POS API credentials, or (``merchant_id`` set) an ISV partner's credentials
    acting for the merchant ``merchant_id`` that owns the terminal, with ``isv_fee_bp`` of each sale as the ISV's
    fee (drivers/viva/api.py names the sources)."""

    environment: Literal["demo", "live"] = "demo"
    client_id: SecretText
    client_secret: SecretText  # a secret: every view shows it masked (SECRET_FIELDS), never logged
    terminal_id: Annotated[StrictStr, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9-]+$")]
    cash_register_id: Annotated[StrictStr, Field(min_length=1, max_length=64)] = "fiscald"
    accounts_url: BaseUrl | None = None  # None: the environment's accounts service
    api_url: BaseUrl | None = None  # None: the environment's API service
    # the ISV variant: the merchant (a UUID) the terminal belongs to, and the ISV's fee on each sale
    merchant_id: Annotated[StrictStr, Field(pattern=UUID_PATTERN)] | None = None
    isv_fee_bp: Annotated[StrictInt, Field(ge=0, le=10000)] = 0

    @model_validator(mode="after")
    def _fee_needs_isv(self) -> CloudDetails:
        if self.isv_fee_bp and self.merchant_id is None:
            raise ValueError("isv_fee_bp: an ISV fee needs merchant_id (the ISV variant)")
        return self


DETAILS: dict[str, type[Details]] = {
    "Serial": SerialDetails, "Network": NetworkDetails, "Usb": UsbDetails, "Virtual": VirtualDetails,
    "Cloud": CloudDetails,
}
# connection_details.details fields that are secrets: every view shows them as MASK, and a save that sends MASK
# back keeps the stored value (like central_url's password)
SECRET_FIELDS = ("client_secret", "password")
MASK = "***"


def masked(config: dict[str, Any]) -> dict[str, Any]:
    """A device configuration as dumped, its secrets replaced by MASK."""
    details = config.get("connection_details", {}).get("details", {})
    if not any(details.get(name) is not None for name in SECRET_FIELDS):
        return config
    hidden = {k: (MASK if k in SECRET_FIELDS and v is not None else v) for k, v in details.items()}
    return {**config, "connection_details": {**config["connection_details"], "details": hidden}}


def unmasked(fields: dict[str, Any], current: dict[str, Any] | None) -> dict[str, Any]:
    """The fields of a save with each secret sent back as MASK replaced by the stored one; a MASK where nothing is
    stored (a new device, or a secret never set) is left out rather than taken as the secret itself."""
    new = fields.get("connection_details")
    if not isinstance(new, dict) or not isinstance(new.get("details"), dict):
        return fields
    stored = ((current or {}).get("connection_details") or {}).get("details") or {}
    details = {k: (stored[k] if k in SECRET_FIELDS and v == MASK else v) for k, v in new["details"].items()
               if not (k in SECRET_FIELDS and v == MASK and stored.get(k) is None)}
    return {**fields, "connection_details": {**new, "details": details}}


def connection(details: ConnectionDetails) -> Details:
    """The connection details of ``details.type``, validated (field names under connection_details.details)."""
    try:
        return DETAILS[details.type].model_validate(details.details)
    except ValidationError as exc:
        raise config_error_from(exc, DETAILS_FIELD) from None


