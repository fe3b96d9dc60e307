"""The Datecs fiscal register driver (Romanian X, Bulgarian X, old C and old P dialects; serial or TCP): the
register core (``drivers/register/core.py``: pending receipts, reconciliation, journaling, reports and cash
bookkeeping, status) over :class:`~fiscald.drivers.datecs.protocol.DatecsProtocol`, the Datecs commands."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from fiscald.drivers.base import DriverContext
from fiscald.drivers.datecs.protocol import DatecsProtocol
from fiscald.drivers.register.core import RegisterDriver
from fiscald.drivers.transport import Transport
from fiscald.models.config import FiscalDeviceConfig


class DatecsDriver(RegisterDriver):
    brand: ClassVar[str] = "datecs"
    protocol: DatecsProtocol

    def __init__(self, config: FiscalDeviceConfig, ctx: DriverContext,
                 transport: Callable[[], Transport] | None = None) -> None:
        """``transport``: makes the link instead of ``connection_details`` (an in-memory line in tests)."""
        super().__init__(config, ctx, DatecsProtocol(config, self.observe, transport))
