"""What a brand package declares about itself for ``get_supported_devices``: its manufacturer name, models,
connection types, driver class and per-model facts as tables (the operations a model lacks, its payment codes),
not code paths. Each brand lists its rows in its own ``supported.py``; ``registry.py`` only collects them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from fiscald.drivers.base import Driver
from fiscald.models.config import FiscalDeviceConfig
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
    # the manufacturer's own checks of a register's settings when they are saved (e.g. operator range)
    check_config: Callable[[FiscalDeviceConfig], None] | None = None
    # its devices may ask a password right after a network connection (connection_details.details.password)
    network_password: bool = False

    @property
    def kind(self) -> DeviceKind:
        return self.driver.kind

    def operations(self, model: str) -> frozenset[str]:
        """The operations ``model`` offers: every operation of its kind but those it lacks."""
        return frozenset(name for name, spec in OPERATIONS.items()
                         if spec.kind == self.kind and name not in self.lacking.get(model, ()))
