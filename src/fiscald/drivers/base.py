"""The driver contract: what a fiscal register or POS terminal driver provides to the DeviceManager.

Drivers know nothing about HTTP, WebSocket or files. A driver declares one handler per operation it implements
(:class:`Handlers`, checked by mypy against the operation's params model and result shape), raises
:class:`~fiscald.errors.FiscalError` for every failure, and reports status changes and new journal entries
through the callbacks in :class:`DriverContext`. Which operations a *model* offers is the registry's to say
(``drivers/registry.py``); the manager answers the others 1005 before they reach the driver.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, TypeVar, cast

from pydantic import BaseModel

from fiscald.errors import Code, FiscalError, Language
from fiscald.models.config import DeviceConfig
from fiscald.models.simulate import SimulateRequest
from fiscald.models.status import DeviceStatus, StatusInfo
from fiscald.operations import Operation, OperationSpec
from fiscald.operations import models as m
from fiscald.operations import registry as ops
from fiscald.operations import results as r
from fiscald.operations.registry import DeviceKind
from fiscald.operations.results import ReceiptResult
from fiscald.store import Database
from fiscald.store.journal import JournalEntry

P = TypeVar("P", bound=BaseModel)
R = TypeVar("R", bound=Mapping[str, Any])
Result = Mapping[str, Any]
Handler = Callable[[BaseModel], Awaitable[Result]]


# The id of the operation the manager is running on this task (None outside one). A driver that journals what
# a device did records it, so an answer lost with the link (2004) or a crash (1010) can later be replaced by the
# receipt the device printed, for a retry with the same Idempotency-Key.
CURRENT_OPERATION: ContextVar[str | None] = ContextVar("fiscald_current_operation", default=None)

# The operation's started record when the manager did not wait for it (``Driver.records_first``): it commits with
# the driver's own first write, which a driver queues ``after`` it (``Database.write_future``), so that a started
# record that failed on its own (the store then runs each write of the batch alone) stops the operation there.
STARTED_RECORD: ContextVar[asyncio.Future[None] | None] = ContextVar("fiscald_started_record", default=None)


@dataclass(frozen=True)
class DriverContext:
    db: Database
    on_status: Callable[[StatusInfo, StatusInfo], None]  # (previous, current)
    on_journal: Callable[[JournalEntry], None]
    language: Callable[[], Language]  # the current `language` setting, for texts a device reports


class Handlers:
    """The operations a driver implements, one typed handler each."""

    def __init__(self) -> None:
        self._table: dict[str, Handler] = {}

    def on(self, spec: OperationSpec[P, R], handler: Callable[[P], Awaitable[R]]) -> Handlers:
        """Register ``handler`` for ``spec``: mypy checks it takes the spec's params and returns its result."""
        self._table[spec.name] = cast(Handler, handler)
        return self

    def get(self, name: str) -> Handler | None:
        return self._table.get(name)

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self._table)


class Driver(abc.ABC):
    """Base of every driver. Subclasses implement ``start``, ``stop`` and ``handlers``."""

    kind: ClassVar[DeviceKind]
    #: seconds of idle queue after which the manager calls :meth:`poll` (None: never)
    poll_interval_s: ClassVar[float | None] = None
    #: operations this driver answers without its device (from the store), so also while it is not connected
    offline_operations: ClassVar[frozenset[str]] = frozenset()
    #: the device keys its requests by an id the driver derives from the Idempotency-Key and stores before the
    #: request leaves (a bank terminal's session): an operation a crash interrupted is safe to run again with the
    #: same key, so at start-up its record is dropped instead of answering 1010 (core/resume.py)
    resumes_interrupted: ClassVar[bool] = False
    #: the device's fiscal record is fiscald's own store (a simulated device): what it did is exactly what was
    #: committed there, so an operation needs no durable "started" record before it runs, and an interrupted one
    #: left nothing that the journal does not show
    journal_authoritative: ClassVar[bool] = False
    #: a printed fiscal receipt (print_receipt answered 200, not voided, not non-fiscal) is journaled as a
    #: ``receipt`` entry holding the exact result and the operation's id (``data.result``,
    #: ``data.operation_id``), committed before the driver returns: its stored answer can be rebuilt from the
    #: journal, so the manager answers without waiting for that record (docs/architecture.md)
    receipts_in_journal: ClassVar[bool] = False

    def __init__(self, config: DeviceConfig, ctx: DriverContext) -> None:
        self.config = config
        self.ctx = ctx
        self._status = StatusInfo(DeviceStatus.CONNECTING)
        self.connected_device_id: str | None = None
        #: the Idempotency-Key of the operation running now (None: sent without one), set by the manager
        self.operation_key: str | None = None
        self.handlers = self.build_handlers()

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

    async def poll(self) -> None:
        """Keep-alive: check the device while idle and update the status. Runs under the device's lock, like
        an operation; raises ConnectionLost when the link is gone. Drivers without a keep-alive do nothing."""
        return None

    @abc.abstractmethod
    def build_handlers(self) -> Handlers:
        """The handler of every operation this driver implements."""

    async def execute(self, op: Operation) -> Result:
        """Run one operation on the device; the manager guarantees one at a time per device."""
        handler = self.handlers.get(op.name)
        if handler is None:
            raise FiscalError(Code.NOT_SUPPORTED, f"operation: {op.name} is not supported by "
                                                  f"{self.config.manufacturer} {self.config.model}")
        return await self.perform(op.name, lambda: handler(op.params))

    def records_first(self, op: Operation) -> bool:
        """The driver durably records ``op`` itself (a write to the store, which commits writes in the order they
        were queued: after the manager's *started* record) before the device can do anything that a restart
        would not undo; the manager then queues its started record without waiting for it, and that write
        commits both. Simulated devices: always (everything they do is such a write). A register's fiscal
        receipt: its pending record, durable before the receipt can close, while a receipt left open without one
        is cancelled at start-up."""
        return self.journal_authoritative

    async def perform(self, name: str, run: Callable[[], Awaitable[Result]]) -> Result:
        """Around every handler call (the simulators inject their faults here)."""
        return await run()

    async def simulate(self, request: SimulateRequest) -> dict[str, Any]:
        """Fault injection (``/simulate``): only simulated devices take it; a real one answers 1012."""
        raise FiscalError(Code.NOT_SUPPORTED, f"device_id: {self.config.manufacturer} {self.config.model} is not a "
                                              "simulated device")


class UnavailableDriver(Driver):
    """Stands in for a configured device whose driver cannot be created (e.g. a model no longer supported):
    the device is listed with status Error and every operation answers the reason."""

    def __init__(self, config: DeviceConfig, ctx: DriverContext, reason: FiscalError) -> None:
        super().__init__(config, ctx)
        self.reason = reason
        self._status = StatusInfo(DeviceStatus.ERROR, reason)

    def build_handlers(self) -> Handlers:
        return Handlers()

    async def start(self) -> None:
        self.set_status(StatusInfo(DeviceStatus.ERROR, self.reason))

    async def stop(self) -> None:
        return None

    async def execute(self, op: Operation) -> Result:
        raise self.reason


class FiscalOperations(Protocol):
    """A register that offers every fiscal operation (a model lacking some says so in the registry)."""

    async def print_receipt(self, params: m.PrintReceiptParams) -> r.ReceiptResult: ...
    async def print_non_fiscal(self, params: m.PrintNonFiscalParams) -> r.DocumentResult: ...
    async def cash_in(self, params: m.CashParams) -> r.DrawerResult: ...
    async def cash_out(self, params: m.CashParams) -> r.DrawerResult: ...
    async def x_report(self, params: m.NoParams) -> r.ReportResult: ...
    async def z_report(self, params: m.NoParams) -> r.ReportResult: ...
    async def periodic_report(self, params: m.PeriodicReportParams) -> r.PeriodicReportResult: ...
    async def print_duplicate(self, params: m.NoParams) -> r.DuplicateResult: ...
    async def cancel_receipt(self, params: m.NoParams) -> r.CancelResult: ...
    async def open_drawer(self, params: m.NoParams) -> r.EmptyResult: ...
    async def get_status(self, params: m.NoParams) -> r.StatusResult: ...
    async def get_datetime(self, params: m.NoParams) -> r.DatetimeResult: ...
    async def set_datetime(self, params: m.SetDatetimeParams) -> r.DatetimeResult: ...
    async def get_vat_rates(self, params: m.NoParams) -> dict[str, int]: ...
    async def read_journal(self, params: m.ReadJournalParams) -> r.JournalResult: ...


def fiscal_handlers(register: FiscalOperations) -> Handlers:
    """The handler table of a register that offers every fiscal operation."""
    return (Handlers()
            .on(ops.PRINT_RECEIPT, register.print_receipt)
            .on(ops.PRINT_NON_FISCAL, register.print_non_fiscal)
            .on(ops.CASH_IN, register.cash_in)
            .on(ops.CASH_OUT, register.cash_out)
            .on(ops.X_REPORT, register.x_report)
            .on(ops.Z_REPORT, register.z_report)
            .on(ops.PERIODIC_REPORT, register.periodic_report)
            .on(ops.PRINT_DUPLICATE, register.print_duplicate)
            .on(ops.CANCEL_RECEIPT, register.cancel_receipt)
            .on(ops.OPEN_DRAWER, register.open_drawer)
            .on(ops.GET_STATUS, register.get_status)
            .on(ops.GET_DATETIME, register.get_datetime)
            .on(ops.SET_DATETIME, register.set_datetime)
            .on(ops.GET_VAT_RATES, register.get_vat_rates)
            .on(ops.READ_JOURNAL, register.read_journal))


class PosOperations(Protocol):
    """A bank terminal that offers every POS operation."""

    async def pos_sale(self, params: m.PosSaleParams) -> r.CardResult: ...
    async def pos_refund(self, params: m.PosRefundParams) -> r.CardResult: ...
    async def pos_void(self, params: m.PosVoidParams) -> r.CardResult: ...
    async def pos_settlement(self, params: m.NoParams) -> r.SettlementResult: ...
    async def pos_status(self, params: m.NoParams) -> r.PosStatusResult: ...


def pos_handlers(terminal: PosOperations) -> Handlers:
    """The handler table of a terminal that offers every POS operation."""
    return (Handlers()
            .on(ops.POS_SALE, terminal.pos_sale)
            .on(ops.POS_REFUND, terminal.pos_refund)
            .on(ops.POS_VOID, terminal.pos_void)
            .on(ops.POS_SETTLEMENT, terminal.pos_settlement)
            .on(ops.POS_STATUS, terminal.pos_status))


class FiscalDriver(Driver):
    kind = "fiscal"
    offline_operations = frozenset({"read_journal"})  # every register journals in the store (journal_reads.py)

    async def print_card_receipt(self, op: Operation, pos_transactions: list[dict[str, Any]]) -> ReceiptResult:
        """Print a receipt whose card payments the linked POS terminal already answered (``pos_transactions``).
        Drivers that journal in the store override this to journal the POS results with the receipt."""
        result = cast(ReceiptResult, dict(await self.execute(op)))
        result["pos_transactions"] = pos_transactions
        return result

    @property
    @abc.abstractmethod
    def vat_rates(self) -> dict[str, int]:
        """VAT letter -> rate in basis points, as programmed in the device."""


class PosDriver(Driver):
    kind = "pos"
