"""Viva.com terminals (FisCool's "VivaWallet") as ``get_supported_devices`` lists them."""

from __future__ import annotations

from fiscald.drivers.supported import Supported
from fiscald.drivers.viva.driver import MODELS, VivaDriver

# Network: the Local Terminal API at the terminal's LAN address; Cloud: the Cloud Terminal API (docs/devices.md)
SUPPORTED = (Supported("VivaWallet", MODELS, ("Network", "Cloud"), VivaDriver),)
