"""The driver of a Daisy, Eltrade or Incotex register (serial or TCP): the register core
(``drivers/register/core.py``: pending receipts, reconciliation, journaling, reports and cash bookkeeping,
status) over :class:`~fiscald.drivers.isl.protocol.IslProtocol` with the configured manufacturer's table."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import ClassVar

from fiscald.drivers.base import DriverContext
from fiscald.drivers.isl.brands import BRANDS
from fiscald.drivers.isl.protocol import IslProtocol
from fiscald.drivers.register.core import RegisterDriver
from fiscald.drivers.transport import Transport, open_transport
from fiscald.models.config import FiscalDeviceConfig


class IslDriver(RegisterDriver):
    brand: ClassVar[str] = "isl"
    protocol: IslProtocol

    def __init__(self, config: FiscalDeviceConfig, ctx: DriverContext,
                 transport: Callable[[], Transport] | None = None) -> None:
        """``transport``: makes the link instead of ``connection_details`` (an in-memory line in tests)."""
        line = transport or partial(open_transport, config.connection_details)
        super().__init__(config, ctx, IslProtocol(BRANDS[config.manufacturer], config.model, line,
                                                  config.payment_codes, self.observe))
