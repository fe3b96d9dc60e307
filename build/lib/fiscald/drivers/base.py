"""The driver protocol: what a fiscal register or POS terminal driver provides to the DeviceManager.

Drivers know nothing about HTTP, WebSocket or files. They receive typed operations and return
JSON-able results, raise :class:`~fiscald.errors.FiscalError` for every failure, and report status
changes and new journal entries through the callbacks in :class:`DriverContext`.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from fiscald.errors import Code, FiscalError, Language
from fiscald.models.config import DeviceConfig
from fiscald.models.simulate import SimulateRequest
from fiscald.models.status import DeviceStatus, StatusInfo
from fiscald.operations import Operation
from fiscald.store import Database
from fiscald.store.journal import JournalEntry


@dataclass(frozen=True)
class DriverContext:
    db: Database
    on_status: Callable[[StatusInfo, StatusInfo], None]  # (previous, current)
    on_journal: Callable[[JournalEntry], None]
    language: Callable[[], Language]  # the current `language` setting, for texts a device reports


class Driver(abc.ABC):
    """Base of every driver. Subclasses implement ``start``, ``stop`` and ``execute``."""

    kind: str
    # True when everything the device does is a write to this process's store (the simulators): the manager
    # may then queue the operation's *started* record without waiting for it, because the single FIFO writer
    # commits it before (or with) the device's own records. Real devices are touched only after it is durable.
    effects_in_store: bool = False

    def __init__(self, config: DeviceConfig, ctx: DriverContext) -> None:
        self.config = config
        self.ctx = ctx
        self._status = StatusInfo(DeviceStatus.CONNECTING)
        self.connected_device_id: str | None = None

    @property
    def status(self) -> StatusInfo:
        return self._status

    def replaces(self, previous: StatusInfo) -> None:
        """This driver takes over from a stopped one: subscribers see ``previous`` -> Connecting."""
        self._status = previous
        self.set_status(StatusInfo(DeviceStatus.CONNECTING))

    def set_status(self, status: StatusInfo) -> None:
        previous = self._status
        self._status = status
        if previous != status:
            self.ctx.on_status(previous, status)

    @abc.abstractmethod
    async def start(self) -> None:
        """Connect and load state; set status to Connected (or Error/Disconnected)."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """Release the connection. Called after the last operation finished."""

    @abc.abstractmethod
    async def execute(self, op: Operation) -> dict[str, Any]:
        """Run one operation on the device; the manager guarantees one at a time per device."""

    async def simulate(self, request: SimulateRequest) -> dict[str, Any]:
        """Change the injected faults of a simulated device; returns the simulation state. Applies at once."""
        raise FiscalError(Code.NOT_SUPPORTED, f"device_id: {self.config.manufacturer} {self.config.model} "
                                              "is not a simulated device")


class UnavailableDriver(Driver):
    """Stands in for a configured device whose driver cannot be created (e.g. a model no longer supported):
    the device is listed with status Error and every operation answers the reason."""

    def __init__(self, config: DeviceConfig, ctx: DriverContext, reason: FiscalError) -> None:
        super().__init__(config, ctx)
        self.reason = reason
        self._status = StatusInfo(DeviceStatus.ERROR, reason)

    async def start(self) -> None:
        self.set_status(StatusInfo(DeviceStatus.ERROR, self.reason))

    async def stop(self) -> None:
        return None

    async def execute(self, op: Operation) -> dict[str, Any]:
        raise self.reason


class FiscalDriver(Driver):
    kind = "fiscal"
    #: True when every document is written to the store journal in the same transaction that makes it exist
    #: (the Simulated register): then the journal proves whether an interrupted receipt was printed.
    journal_authoritative: ClassVar[bool] = False

    async def print_card_receipt(self, op: Operation, pos_transactions: list[dict[str, Any]]) -> dict[str, Any]:
        """Print a receipt whose card payments the linked POS terminal already answered (``pos_transactions``).
        Drivers that journal in the store override this to journal the POS results with the receipt."""
        result = await self.execute(op)
        result["pos_transactions"] = pos_transactions
        return result

    @property
    @abc.abstractmethod
    def vat_rates(self) -> dict[str, int]:
        """VAT letter -> rate in basis points, as programmed in the device."""
