"""Device configuration as stored and as shown on the wire (FiscalDeviceConfig / PosConfig)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

ConnectionType = Literal["Serial", "Network", "Usb", "Virtual"]
ScanEncoding = Literal["auto", "cp1250", "utf-8"]  # how INP files in the scan folder are read (docs/inp.md)


class ConnectionDetails(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: ConnectionType
    details: dict[str, Any] = {}


VatRates = dict[Annotated[StrictStr, Field(pattern=r"^[A-H]$")], Annotated[StrictInt, Field(ge=0, le=9999)]]


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
