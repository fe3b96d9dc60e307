"""Supported manufacturers/models and the driver class behind each."""

from __future__ import annotations

from dataclasses import dataclass

from fiscald.drivers.base import Driver, DriverContext
from fiscald.drivers.simulated.pos import SimulatedPos
from fiscald.drivers.simulated.register import SimulatedRegister
from fiscald.errors import Code, FiscalError
from fiscald.models.config import DeviceConfig, FiscalDeviceConfig


@dataclass(frozen=True)
class Supported:
    kind: str  # "fiscal" | "pos"
    manufacturer: str
    models: tuple[str, ...]
    connection_types: tuple[str, ...]
    driver: type[Driver]
    simulated: bool = False


SUPPORTED: tuple[Supported, ...] = (
    Supported("fiscal", "Simulated", ("Simulated",), ("Virtual",), SimulatedRegister, simulated=True),
    Supported("pos", "Simulated", ("Simulated",), ("Virtual",), SimulatedPos, simulated=True),
)


def find(kind: str, manufacturer: str, model: str) -> Supported:
    for entry in SUPPORTED:
        if entry.kind == kind and entry.manufacturer == manufacturer and model in entry.models:
            return entry
    raise FiscalError(Code.CONFIG, f"manufacturer/model: {manufacturer!r}/{model!r} is not a supported {kind} device")


def create_driver(config: DeviceConfig, ctx: DriverContext) -> Driver:
    kind = "fiscal" if isinstance(config, FiscalDeviceConfig) else "pos"
    return find(kind, config.manufacturer, config.model).driver(config, ctx)
