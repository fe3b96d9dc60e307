"""The Tremol fiscal register driver (Bulgarian, Romanian and V2 dialects; serial or TCP): the register core
(``drivers/register/core.py``: pending receipts, reconciliation, journaling, reports and cash bookkeeping,
status) over :class:`~fiscald.drivers.tremol.protocol.TremolProtocol`, the ZFP commands."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from fiscald.drivers.base import DriverContext
from fiscald.drivers.register.core import RegisterDriver
from fiscald.drivers.transport import Transport, open_transport
from fiscald.drivers.tremol.protocol import TremolProtocol
from fiscald.errors import Code, FiscalError
from fiscald.models.config import FiscalDeviceConfig
from fiscald.models.connection import NetworkDetails, connection


class TremolDriver(RegisterDriver):
    brand: ClassVar[str] = "tremol"
    protocol: TremolProtocol

    def __init__(self, config: FiscalDeviceConfig, ctx: DriverContext,
                 transport: Callable[[], Transport] | None = None) -> None:
        """``transport``: makes the link instead of ``connection_details`` (an in-memory line in tests)."""

        def line() -> Transport:
            try:
                return open_transport(config.connection_details)
            except ValueError as exc:
                raise FiscalError(Code.CONFIG, f"connection_details.type: {exc}") from None

        super().__init__(config, ctx, TremolProtocol(
            config.model, transport or line, payment_codes=config.payment_codes, operator=config.operator,
            password=config.operator_password, lan_password=_lan_password(config), observer=self.observe))


def _lan_password(config: FiscalDeviceConfig) -> str | None:
    """The password the register asks for after a network connection (connection_details.details.password)."""
    if config.connection_details.type != "Network":
        return None
    details = connection(config.connection_details)
    return details.password if isinstance(details, NetworkDetails) else None
