"""Device configuration as stored and as shown on the wire (FiscalDeviceConfig / PosConfig)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationInfo,
    field_validator,
)

from fiscald.operations.cif import validate_cif

ConnectionType = Literal["Serial", "Network", "Usb", "Virtual", "Cloud"]  # Cloud: a bank terminal's cloud API
ScanEncoding = Literal["auto", "cp1250", "utf-8"]  # how INP files in the scan folder are read (docs/inp.md)


class ConnectionDetails(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: ConnectionType
    details: dict[str, Any] = {}


VatLetter = Annotated[StrictStr, Field(pattern=r"^[A-H]$")]
VatRates = dict[VatLetter, Annotated[StrictInt, Field(ge=0, le=9999)]]

PRINT_WIDTH = 42  # columns of a register's printout (the Simulated register's too)
MAX_HEADER_LINES = 8
MAX_FOOTER_LINES = 4
PrintLine = Annotated[StrictStr, Field(max_length=PRINT_WIDTH, pattern=r"^[^\x00-\x1f\x7f]*$")]
# A header line holding the seller's fiscal code starts with one of these labels (any case), then an optional
# colon: "CIF: RO18547290", "C.I.F. 18547290", "CUI RO18547290", "Cod fiscal: 18547290". "Cifra" is not one.
_CIF_LINE = re.compile(r"^\s*(?:C\.I\.F\.|C\.U\.I\.|(?:CIF|CUI|COD\s+FISCAL)(?![A-Z0-9]))\s*:?\s*(?P<code>.*)$",
                       re.IGNORECASE)


def header_cif(line: str) -> str | None:
    """The fiscal code a header line carries (as written after its label), or None for any other line."""
    match = _CIF_LINE.match(line)
    return None if match is None else match.group("code").strip()


def _checked_cif_line(line: str) -> str:
    code = header_cif(line)
    if code is not None:
        validate_cif(code)
    return line


HeaderLine = Annotated[PrintLine, AfterValidator(_checked_cif_line)]


class FiscalDeviceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    name: Annotated[StrictStr, Field(min_length=1, max_length=100)]
    manufacturer: StrictStr
    model: StrictStr
    connection_details: ConnectionDetails
    notes: StrictStr | None = None
    enabled: StrictBool = True
    scan_folder: StrictStr | None = None
    scan_encoding: ScanEncoding = "auto"
    auto_send_card_to_pos: StrictBool = False
    linked_pos_device_id: StrictStr | None = None
    vat_rates: VatRates | None = None
    header_lines: Annotated[list[HeaderLine], Field(max_length=MAX_HEADER_LINES)] = []
    footer_lines: Annotated[list[PrintLine], Field(max_length=MAX_FOOTER_LINES)] = []
    operator: Annotated[StrictInt, Field(ge=1, le=99)] = 1
    operator_password: Annotated[StrictStr, Field(pattern=r"^[0-9]{1,8}$")] | None = None
    exempt_vat_groups: list[VatLetter] = []
    # our payment type -> the register's payment code, over the model's defaults (Datecs: docs/devices.md)
    payment_codes: dict[StrictStr, StrictStr] | None = None

    @field_validator("exempt_vat_groups")
    @classmethod
    def _exempt_groups(cls, letters: list[str], info: ValidationInfo) -> list[str]:
        if len(set(letters)) != len(letters):
            raise ValueError("a letter is listed twice")
        rates = info.data.get("vat_rates")
        for letter in letters:
            if rates is not None and rates.get(letter) != 0:
                raise ValueError(f"{letter} must be a 0 % group of vat_rates")
        return letters


class PosConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    name: Annotated[StrictStr, Field(min_length=1, max_length=100)]
    manufacturer: StrictStr
    model: StrictStr
    bank: StrictStr | None = None
    connection_details: ConnectionDetails
    enabled: StrictBool = True


DeviceConfig = FiscalDeviceConfig | PosConfig


def kind_of(config: DeviceConfig) -> Literal["fiscal", "pos"]:
    return "fiscal" if isinstance(config, FiscalDeviceConfig) else "pos"
