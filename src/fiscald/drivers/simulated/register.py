"""The Simulated fiscal register: fiscal day and counters, VAT groups, cash drawer, a hash-chained
electronic journal and X/Z/periodic reports — every change durable in the store before it is
acknowledged, so the register survives restarts exactly like a real one.

Each document is written in one transaction (journal entry + register state); the in-memory state is
replaced only after that transaction committed, so a failed write leaves the register unchanged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field, fields, replace
from typing import Any, cast

from fiscald.drivers import journal_reads
from fiscald.drivers.base import CURRENT_OPERATION, DriverContext, FiscalDriver, Handlers, fiscal_handlers
from fiscald.drivers.simulated import printout
from fiscald.drivers.simulated.base import SimulatedDevice
from fiscald.drivers.simulated.faults import FaultSpec
from fiscald.errors import Code, FiscalError
from fiscald.models.config import FiscalDeviceConfig
from fiscald.models.status import DeviceStatus
from fiscald.operations import OPERATIONS, Operation
from fiscald.operations import models as m
from fiscald.operations import results as r
from fiscald.operations.totals import compute_receipt, vat_of
from fiscald.store import journal

DEFAULT_VAT_RATES = {"A": 2100, "B": 1100, "C": 0, "D": 0}
DAY_LIMIT = dt.timedelta(hours=24)
DEFAULT_FM_CAPACITY = 1825


def _empty_day() -> dict[str, Any]:
    return {"receipts_count": 0, "voided_count": 0, "total_cents": 0, "vat_gross": {}, "payments": {},
            "cash_in_cents": 0, "cash_out_cents": 0}


@dataclass
class RegisterState:
    serial: str
    vat_rates: dict[str, int]
    fiscal_day: int = 1  # the day being recorded now (= Z reports so far + 1)
    day_opened_at: str | None = None  # first fiscal document after the last Z
    receipt_number: int = 0  # last fiscal receipt number (continuous, never reset)
    document_number: int = 0  # last document number of any kind
    z_number: int = 0
    last_z_datetime: str | None = None
    cash_in_drawer_cents: int = 0
    grand_total_cents: int = 0
    day: dict[str, Any] = field(default_factory=_empty_day)
    last_receipt_entry_id: int | None = None
    clock_offset_s: float = 0.0
    fm_capacity: int = DEFAULT_FM_CAPACITY
    open_receipt: dict[str, Any] | None = None

    def copy(self) -> RegisterState:
        """A copy whose nested containers can be changed without touching this one (cheaper than deepcopy)."""
        day = {k: dict(v) if isinstance(v, dict) else v for k, v in self.day.items()}
        return replace(self, vat_rates=dict(self.vat_rates), day=day,
                       open_receipt=None if self.open_receipt is None else dict(self.open_receipt))

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _STATE_FIELDS}


_STATE_FIELDS = tuple(f.name for f in fields(RegisterState))  # looked up once, not per receipt


_PRINTING = frozenset({"print_receipt", "print_non_fiscal", "cash_in", "cash_out", "x_report", "z_report",
                       "periodic_report", "print_duplicate"})
_ALL = frozenset(name for name, spec in OPERATIONS.items() if spec.kind == "fiscal")
FAULTS = {
    "paper_out": FaultSpec(Code.PAPER_OUT, _PRINTING, DeviceStatus.ERROR),
    "cover_open": FaultSpec(Code.COVER_OPEN, _PRINTING, DeviceStatus.ERROR),
    "disconnected": FaultSpec(Code.CONNECTION, _ALL, DeviceStatus.DISCONNECTED),
    "fiscal_memory_full": FaultSpec(Code.FISCAL_MEMORY_FULL, frozenset({"print_receipt", "cash_in", "cash_out",
                                                                         "z_report"}), DeviceStatus.ERROR),
    "busy": FaultSpec(Code.DEVICE_BUSY, _ALL - {"get_status"}, DeviceStatus.CONNECTED),
}
FAIL_CODES = frozenset({Code.CONNECTION, *(c for c in Code if 2000 <= c < 3000)})


def serial_for(device_id: str) -> str:
    digits = int(hashlib.sha256(device_id.encode()).hexdigest(), 16) % 10_000_000
    return f"SIM{digits:07d}"


class SimulatedRegister(SimulatedDevice[RegisterState], FiscalDriver):
    config: FiscalDeviceConfig
    faults = FAULTS
    fail_codes = FAIL_CODES
    receipts_in_journal = True  # _print_receipt: data.result and data.operation_id

    def __init__(self, config: FiscalDeviceConfig, ctx: DriverContext) -> None:
        super().__init__(config, ctx)
        self.state = RegisterState(serial=serial_for(config.id),
                                   vat_rates=dict(config.vat_rates or DEFAULT_VAT_RATES))

    def build_handlers(self) -> Handlers:
        return fiscal_handlers(self)

    # -- lifecycle --------------------------------------------------------------------------------
    async def load(self, stored: dict[str, Any] | None) -> None:
        if stored is not None:
            self.state = RegisterState(**stored)
        # like a real register, new VAT rates are taken only while no fiscal day is open (else at the next Z)
        if stored is None or (self.state.day_opened_at is None and self._configured_rates() != self.state.vat_rates):
            new = self.state.copy()
            new.vat_rates = self._configured_rates()
            await self.commit(new)
        self.connected_device_id = self.state.serial

    def state_json(self, state: RegisterState, written: journal.JournalEntry | None) -> dict[str, Any]:
        if written is not None and written.kind in ("receipt", "void"):
            state.last_receipt_entry_id = written.id
        return state.to_json()

    def _configured_rates(self) -> dict[str, int]:
        return dict(self.config.vat_rates or self.state.vat_rates)

    @property
    def vat_rates(self) -> dict[str, int]:
        return dict(self.state.vat_rates)

    # -- clock ------------------------------------------------------------------------------------
    def now(self) -> dt.datetime:
        return (dt.datetime.now().astimezone() + dt.timedelta(seconds=self.state.clock_offset_s)).replace(
            microsecond=0)

    # -- operations -------------------------------------------------------------------------------
    async def print_card_receipt(self, op: Operation, pos_transactions: list[dict[str, Any]]) -> r.ReceiptResult:
        params = op.params
        assert isinstance(params, m.PrintReceiptParams)
        return cast(r.ReceiptResult, await self.perform(op.name, lambda: self._print_receipt(params, pos_transactions)))

    def _guard_fiscal(self, now: dt.datetime) -> None:
        """What a real register checks before any fiscal document."""
        if self.state.open_receipt is not None:
            raise FiscalError(Code.RECEIPT_OPEN, "cancel the open receipt first")
        opened = self.state.day_opened_at
        if opened is not None and now - dt.datetime.fromisoformat(opened) >= DAY_LIMIT:
            raise FiscalError(Code.Z_REPORT_REQUIRED, f"fiscal day {self.state.fiscal_day} opened at {opened}")
        if self.state.z_number >= self.state.fm_capacity:
            raise FiscalError(Code.FISCAL_MEMORY_FULL, f"{self.state.z_number} Z reports stored")

    @property
    def _shop(self) -> printout.Shop:
        c = self.config
        return printout.Shop(c.name, self.state.serial, tuple(c.header_lines), tuple(c.footer_lines), c.operator,
                             frozenset(c.exempt_vat_groups))

    async def print_receipt(self, params: m.PrintReceiptParams) -> r.ReceiptResult:
        return await self._print_receipt(params, [])

    async def _print_receipt(self, params: m.PrintReceiptParams,
                             pos_transactions: list[dict[str, Any]]) -> r.ReceiptResult:
        now = self.now()
        self._guard_fiscal(now)
        totals = compute_receipt(params, self.state.vat_rates)
        when = now.isoformat()
        voided = params.close_action == "void"
        non_fiscal = params.flags.non_fiscal
        operator = params.operator or self.config.operator
        new = self.state.copy()
        new.document_number += 1
        receipt_number: int | None = None
        day_number: int | None = None
        if non_fiscal:  # a document, not a fiscal receipt: it uses no receipt number
            kind = "non_fiscal"
        else:
            new.receipt_number += 1
            receipt_number = new.receipt_number
            kind = "void" if voided else "receipt"
            if new.day_opened_at is None:
                new.day_opened_at = when
            if voided:
                new.day["voided_count"] += 1
            else:
                day = new.day
                day["receipts_count"] += 1
                day["total_cents"] += totals.total_cents
                for letter, vat in totals.vat_totals.items():
                    day["vat_gross"][letter] = day["vat_gross"].get(letter, 0) + vat.gross_cents
                for kind_name, cents in totals.payments_by_type.items():
                    day["payments"][kind_name] = day["payments"].get(kind_name, 0) + cents
                new.cash_in_drawer_cents += totals.payments_by_type.get("cash", 0)
                new.grand_total_cents += totals.total_cents
            day_number = new.day["receipts_count"] + new.day["voided_count"]  # this day's receipts, voided too
        number = new.document_number if receipt_number is None else receipt_number
        text = printout.receipt(params, totals, shop=self._shop, number=number, day_number=day_number,
                                fiscal_day=new.fiscal_day, when=when, voided=voided, non_fiscal=non_fiscal,
                                operator=operator, pos_transactions=pos_transactions)
        result: r.ReceiptResult = {
            "receipt_number": receipt_number,
            "fiscal_day": new.fiscal_day,
            "datetime": when,
            "total_cents": totals.total_cents,
            "paid_cents": 0 if voided else totals.paid_cents,
            "change_cents": 0 if voided else totals.change_cents,
            "vat_totals": totals.vat_totals_json(),
            "device_serial": new.serial,
            "journal_id": 0,  # the entry's id, known in the transaction that writes it (below)
            "voided": voided,
            "pos_transactions": pos_transactions,
            "day_receipt_number": day_number,  # new fields go last: INP answer files keep their order
            "document_number": new.document_number,
        }
        request = params.model_dump(mode="json", by_alias=True)
        operation_id = CURRENT_OPERATION.get()

        def data(entry_id: int, _seq: int) -> dict[str, Any]:
            result["journal_id"] = entry_id
            return {"request": request, "result": dict(result), "payments": totals.payments_by_type,
                    "open_drawer": params.flags.open_drawer, "operator": operator, "operation_id": operation_id}

        await self.commit(new, {"kind": kind, "number": number, "fiscal_day": new.fiscal_day, "datetime": when,
                                "total_cents": totals.total_cents, "text": text, "data": data})
        return result

    async def print_non_fiscal(self, params: m.PrintNonFiscalParams) -> r.DocumentResult:
        now = self.now()
        if self.state.open_receipt is not None:
            raise FiscalError(Code.RECEIPT_OPEN, "cancel the open receipt first")
        new = self.state.copy()
        new.document_number += 1
        when = now.isoformat()
        text = printout.simple_document("DOCUMENT NEFISCAL", [line.text for line in params.lines], shop=self._shop,
                                        number=new.document_number, fiscal_day=new.fiscal_day,
                                        when=when)
        await self.commit(new, {"kind": "non_fiscal", "number": new.document_number, "fiscal_day": new.fiscal_day,
                                 "datetime": when, "total_cents": None, "text": text,
                                 "data": {"lines": [line.text for line in params.lines]}})
        return {"document_number": new.document_number}

    async def _cash(self, params: m.CashParams, direction: int) -> r.DrawerResult:
        now = self.now()
        self._guard_fiscal(now)
        if direction < 0 and params.amount_cents > self.state.cash_in_drawer_cents:
            raise FiscalError(Code.CASH_OUT_EXCEEDS_DRAWER,
                              f"{params.amount_cents} requested, {self.state.cash_in_drawer_cents} in the drawer",
                              {"cash_in_drawer_cents": self.state.cash_in_drawer_cents})
        new = self.state.copy()
        new.document_number += 1
        new.cash_in_drawer_cents += direction * params.amount_cents
        key = "cash_in_cents" if direction > 0 else "cash_out_cents"
        new.day[key] += params.amount_cents
        when = now.isoformat()
        if new.day_opened_at is None:
            new.day_opened_at = when
        title = "INTRODUCERE NUMERAR" if direction > 0 else "EXTRAGERE NUMERAR"
        text = printout.simple_document(title, [f"SUMA: {printout.money(params.amount_cents)}"], shop=self._shop,
                                        number=new.document_number, fiscal_day=new.fiscal_day,
                                        when=when)
        await self.commit(new, {"kind": "cash_in" if direction > 0 else "cash_out", "number": new.document_number,
                                 "fiscal_day": new.fiscal_day, "datetime": when, "total_cents": params.amount_cents,
                                 "text": text, "data": {"amount_cents": params.amount_cents,
                                                        "cash_in_drawer_cents": new.cash_in_drawer_cents}})
        return {"cash_in_drawer_cents": new.cash_in_drawer_cents}

    async def cash_in(self, params: m.CashParams) -> r.DrawerResult:
        return await self._cash(params, +1)

    async def cash_out(self, params: m.CashParams) -> r.DrawerResult:
        return await self._cash(params, -1)

    def _day_totals(self, state: RegisterState, when: str) -> r.ReportResult:
        day = state.day
        return {
            "fiscal_day": state.fiscal_day,
            "receipts_count": day["receipts_count"],
            "voided_count": day["voided_count"],
            "total_cents": day["total_cents"],
            "vat_totals": {
                letter: {"rate_basis_points": state.vat_rates[letter],
                         "base_cents": gross - vat_of(gross, state.vat_rates[letter]),
                         "vat_cents": vat_of(gross, state.vat_rates[letter])}
                for letter, gross in sorted(day["vat_gross"].items())
            },
            "payments": dict(sorted(day["payments"].items())),
            "cash_in_cents": day["cash_in_cents"],
            "cash_out_cents": day["cash_out_cents"],
            "datetime": when,
        }

    async def x_report(self, params: m.NoParams) -> r.ReportResult:
        if self.state.open_receipt is not None:
            raise FiscalError(Code.RECEIPT_OPEN, "cancel the open receipt first")
        when = self.now().isoformat()
        new = self.state.copy()
        new.document_number += 1
        totals = self._day_totals(new, when)
        text = printout.report("RAPORT X", totals, shop=self._shop, number=new.document_number,
                               fiscal_day=new.fiscal_day, when=when)
        await self.commit(new, {"kind": "x_report", "number": new.document_number, "fiscal_day": new.fiscal_day,
                                 "datetime": when, "total_cents": totals["total_cents"], "text": text,
                                 "data": totals})
        return totals

    async def z_report(self, params: m.NoParams) -> r.ReportResult:
        if self.state.open_receipt is not None:
            raise FiscalError(Code.RECEIPT_OPEN, "cancel the open receipt first")
        if self.state.z_number >= self.state.fm_capacity:
            raise FiscalError(Code.FISCAL_MEMORY_FULL, f"{self.state.z_number} Z reports stored")
        when = self.now().isoformat()
        new = self.state.copy()
        new.document_number += 1
        new.z_number += 1
        totals = self._day_totals(new, when)
        totals["z_number"] = new.z_number
        text = printout.report("RAPORT Z", totals, shop=self._shop, number=new.z_number,
                               fiscal_day=new.fiscal_day, when=when)
        entry = {"kind": "z_report", "number": new.z_number, "fiscal_day": new.fiscal_day, "datetime": when,
                 "total_cents": totals["total_cents"], "text": text, "data": totals}
        new.fiscal_day += 1
        new.day = _empty_day()
        new.day_opened_at = None
        new.last_z_datetime = when
        new.vat_rates = self._configured_rates()
        await self.commit(new, entry)
        return totals

    async def periodic_report(self, params: m.PeriodicReportParams) -> r.PeriodicReportResult:
        entries = await journal_reads.z_reports(self.ctx.db, self.config.id, params)
        reports = [e.data for e in entries]
        result: r.PeriodicReportResult = {
            "reports_count": len(reports),
            "receipts_count": sum(z["receipts_count"] for z in reports),
            "total_cents": sum(z["total_cents"] for z in reports),
            "reports": reports,
        }
        when = self.now().isoformat()
        new = self.state.copy()
        new.document_number += 1
        body = [f"Z {z['z_number']}: {printout.money(z['total_cents'])}" for z in reports] if params.detailed else []
        body.append(f"RAPOARTE Z: {result['reports_count']}")
        body.append(f"TOTAL: {printout.money(result['total_cents'])}")
        text = printout.simple_document("RAPORT PERIODIC", body, shop=self._shop, number=new.document_number,
                                        fiscal_day=new.fiscal_day, when=when)
        summary = {k: result[k] for k in ("reports_count", "receipts_count", "total_cents")}
        await self.commit(new, {"kind": "periodic_report", "number": new.document_number,
                                "fiscal_day": new.fiscal_day, "datetime": when,
                                "total_cents": result["total_cents"], "text": text,
                                "data": {"params": params.model_dump(mode="json", by_alias=True), **summary}})
        return result

    async def print_duplicate(self, params: m.NoParams) -> r.DuplicateResult:
        entry_id = self.state.last_receipt_entry_id
        if entry_id is None:
            raise FiscalError(Code.NO_RECEIPT_TO_DUPLICATE)
        original = await self.ctx.db.read(lambda c: journal.get(c, entry_id))
        if original is None:
            raise FiscalError(Code.NO_RECEIPT_TO_DUPLICATE, "the last receipt is missing from the journal")
        when = self.now().isoformat()
        new = self.state.copy()
        new.document_number += 1
        text = "DUPLICAT\n" + original.text
        await self.commit(new, {"kind": "duplicate", "number": new.document_number, "fiscal_day": new.fiscal_day,
                                 "datetime": when, "total_cents": original.total_cents, "text": text,
                                 "data": {"original_journal_id": original.id, "receipt_number": original.number}})
        return {"receipt_number": original.number, "document_number": new.document_number,
                "original_journal_id": original.id, "text": text}

    async def cancel_receipt(self, params: m.NoParams) -> r.CancelResult:
        if self.state.open_receipt is None:
            return {"cancelled": False}
        new = self.state.copy()
        new.open_receipt = None
        await self.commit(new)
        return {"cancelled": True}

    async def open_drawer(self, params: m.NoParams) -> r.EmptyResult:
        return {}

    async def get_status(self, params: m.NoParams) -> r.StatusResult:
        s = self.state
        return {
            "status": self.status.status.value,
            "status_text": self.status.text(self.ctx.language()),
            "paper": "out" if self.simulation.fault == "paper_out" else "ok",
            "cover_open": self.simulation.fault == "cover_open",
            "receipt_open": s.open_receipt is not None,
            "fiscal_day_open": s.day_opened_at is not None,
            "fiscal_day": s.fiscal_day,
            "last_receipt_number": s.receipt_number,
            "last_z_datetime": s.last_z_datetime,
            "datetime": self.now().isoformat(),
            "cash_in_drawer_cents": s.cash_in_drawer_cents,
            "serial": s.serial,
        }

    async def get_datetime(self, params: m.NoParams) -> r.DatetimeResult:
        return {"datetime": self.now().isoformat()}

    async def set_datetime(self, params: m.SetDatetimeParams) -> r.DatetimeResult:
        target = params.datetime
        if target.tzinfo is None:
            target = target.astimezone()
        device_id = self.config.id
        latest = await self.ctx.db.read(lambda c: journal.latest_datetime(c, device_id))
        if latest is not None and target < dt.datetime.fromisoformat(latest):
            raise FiscalError(Code.CONFIG, f"params.datetime: earlier than the last fiscal record ({latest})")
        if self.state.open_receipt is not None:
            raise FiscalError(Code.RECEIPT_OPEN, "cancel the open receipt first")
        new = self.state.copy()
        new.clock_offset_s = (target - dt.datetime.now().astimezone()).total_seconds()
        await self.commit(new)
        return {"datetime": self.now().isoformat()}

    async def get_vat_rates(self, params: m.NoParams) -> dict[str, int]:
        return dict(sorted(self.state.vat_rates.items()))

    async def read_journal(self, params: m.ReadJournalParams) -> r.JournalResult:
        return await journal_reads.read_journal(self.ctx.db, self.config.id, params)
