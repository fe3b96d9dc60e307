"""Supported manufacturers and models: the rows every brand package declares (``Supported``), and finding the
driver of a configured device by its manufacturer and model."""

from __future__ import annotations

from fiscald.drivers.base import Driver, DriverContext
from fiscald.drivers.datecs.supported import SUPPORTED as DATECS
from fiscald.drivers.isl.supported import SUPPORTED as ISL
from fiscald.drivers.simulated.supported import SUPPORTED as SIMULATED
from fiscald.drivers.supported import Supported
from fiscald.drivers.tremol.supported import SUPPORTED as TREMOL
from fiscald.drivers.viva.supported import SUPPORTED as VIVA
from fiscald.errors import Code, FiscalError
from fiscald.models.config import DeviceConfig, kind_of

# each brand package declares its own rows (drivers/<brand>/supported.py); this is only their list, in the order
# get_supported_devices shows them
SUPPORTED: tuple[Supported, ...] = (*SIMULATED, *DATECS, *ISL, *TREMOL, *VIVA)


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
