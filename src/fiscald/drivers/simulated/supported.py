"""The Simulated register and POS terminal as ``get_supported_devices`` lists them (offered while the
``simulated_devices`` setting is on)."""

from __future__ import annotations

from fiscald.drivers.simulated.pos import SimulatedPos
from fiscald.drivers.simulated.register import SimulatedRegister
from fiscald.drivers.supported import Supported

SUPPORTED = (
    Supported("Simulated", ("Simulated",), ("Virtual",), SimulatedRegister, simulated=True),
    Supported("Simulated", ("Simulated",), ("Virtual",), SimulatedPos, simulated=True),
)
