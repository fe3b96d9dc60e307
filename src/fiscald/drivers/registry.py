"""Supported manufacturers and models: the driver class behind each, its connection types, and per-model
facts as tables (the operations a model lacks), not code paths."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from fiscald.drivers.base import Driver, DriverContext
from fiscald.drivers.datecs.driver import DatecsDriver
from fiscald.drivers.datecs.models import MODELS as DATECS_MODELS
from fiscald.drivers.simulated.pos import SimulatedPos
from fiscald.drivers.simulated.register import SimulatedRegister
from fiscald.drivers.viva.driver import MODELS as VIVA_MODELS
from fiscald.drivers.viva.driver import VivaDriver
from fiscald.errors import Code, FiscalError
from fiscald.models.config import DeviceConfig, kind_of
from fiscald.operations import OPERATIONS
from fiscald.operations.registry import DeviceKind


@dataclass(frozen=True)
class Supported:
    manufacturer: str
    models: tuple[str, ...]
    connection_types: tuple[str, ...]
    driver: type[Driver]
    simulated: bool = False
    lacking: Mapping[str, frozenset[str]] = field(default_factory=dict)  # model -> operations it does not offer
    # model -> the payment codes it takes (code -> the device's name for it); none: payment_codes is refused
    payment_codes: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # model -> the code each of our payment types is sent as when payment_codes leaves it out
    payment_defaults: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @property
    def kind(self) -> DeviceKind:
        return self.driver.kind

    def operations(self, model: str) -> frozenset[str]:
        """The operations ``model`` offers: every operation of its kind but those it lacks."""
        return frozenset(name for name, spec in OPERATIONS.items()
                         if spec.kind == self.kind and name not in self.lacking.get(model, ()))


SUPPORTED: tuple[Supported, ...] = (
    Supported("Simulated", ("Simulated",), ("Virtual",), SimulatedRegister, simulated=True),
    Supported("Simulated", ("Simulated",), ("Virtual",), SimulatedPos, simulated=True),
    Supported("Datecs", tuple(DATECS_MODELS), ("Serial", "Network"), DatecsDriver,
              lacking={name: spec.lacking for name, spec in DATECS_MODELS.items() if spec.lacking},
              payment_codes={name: spec.codes for name, spec in DATECS_MODELS.items()},
              payment_defaults={name: spec.payments for name, spec in DATECS_MODELS.items()}),
    # Network: the Local Terminal API at the terminal's LAN address; Cloud: the Cloud Terminal API (docs/devices.md)
    Supported("VivaWallet", VIVA_MODELS, ("Network", "Cloud"), VivaDriver),
)


def name_key(name: str) -> str:
    """How a manufacturer or model name is matched: any case, dashes, spaces and dots ignored. FisCool's own
    documentation writes ``"DATECS"``/``"FP-2000"`` on one page and ``"Datecs"``/``"DP25"`` on another."""
    return "".join(ch for ch in name.casefold() if ch.isalnum())


def canonical_names(kind: str, manufacturer: str, model: str) -> tuple[str, str]:
    """Our spelling of ``manufacturer`` and ``model`` (``"datecs"``, ``"dp 25"`` -> ``"Datecs"``, ``"DP-25"``), from
    ``SUPPORTED`` (what get_supported_devices lists); a name not found there is returned as given, for validation to
    refuse with the supported names."""
    for entry in SUPPORTED:
        if entry.kind != kind or name_key(entry.manufacturer) != name_key(manufacturer):
            continue
        manufacturer = entry.manufacturer
        for known in entry.models:
            if name_key(known) == name_key(model):
                return manufacturer, known
    return manufacturer, model


def find(kind: str, manufacturer: str, model: str) -> Supported:
    for entry in SUPPORTED:
        if entry.kind == kind and entry.manufacturer == manufacturer and model in entry.models:
            return entry
    raise FiscalError(Code.CONFIG, f"manufacturer/model: {manufacturer!r}/{model!r} is not a supported {kind} device")


def create_driver(config: DeviceConfig, ctx: DriverContext) -> Driver:
    return find(kind_of(config), config.manufacturer, config.model).driver(config, ctx)
