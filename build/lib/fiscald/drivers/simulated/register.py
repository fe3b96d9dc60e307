"""The Simulated fiscal register: fiscal day and counters, VAT groups, cash drawer, a hash-chained
electronic journal and X/Z/periodic reports — every change durable in the store before it is
acknowledged, so the register survives restarts exactly like a real one.

Each document is written in one transaction (journal entry + register state); the in-memory state is
replaced only after that transaction committed, so a failed write leaves the register unchanged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, fields, replace
from typing import Any

from fiscald.drivers.base import DriverContext, FiscalDriver
from fiscald.drivers.simulated import printout
from fiscald.drivers.simulated.faults import FaultSpec, Simulator
from fiscald.errors import Code, FiscalError
from fiscald.models.config import FiscalDeviceConfig
from fiscald.models.simulate import SimulateRequest
from fiscald.models.status import DeviceStatus, StatusInfo
from fiscald.operations import OPERATIONS, Operation
from fiscald.operations import models as m
from fiscald.operations.totals import compute_receipt, vat_of
from fiscald.store import devices as device_repo
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
        return {f.name: getattr(self, f.name) for f in fields(self)}


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


class SimulatedRegister(FiscalDriver):
    config: FiscalDeviceConfig
    journal_authoritative = True
    effects_in_store = True

    def __init__(self, config: FiscalDeviceConfig, ctx: DriverContext) -> None:
        super().__init__(config, ctx)
        self.state = RegisterState(serial=serial_for(config.id),
                                   vat_rates=dict(config.vat_rates or DEFAULT_VAT_RATES))
        self.simulation = Simulator(config.id, "fiscal", ctx.db, FAULTS, FAIL_CODES, self.set_status)

    # -- lifecycle --------------------------------------------------------------------------------
    async def start(self) -> None:
        device_id = self.config.id
        stored = await self.ctx.db.read(lambda c: device_repo.load_state(c, device_id))
        if stored is not None:
            self.state = RegisterState(**stored)
        # like a real register, new VAT rates are taken only while no fiscal day is open (else at the next Z)
        if stored is None or (self.state.day_opened_at is None and self._configured_rates() != self.state.vat_rates):
            new = self.state.copy()
            new.vat_rates = self._configured_rates()
            await self._commit(new)
        self.connected_device_id = self.state.serial
        await self.simulation.load()
        self.set_status(self.simulation.status())

    async def stop(self) -> None:
        self.set_status(StatusInfo(DeviceStatus.DISCONNECTED))

    def _configured_rates(self) -> dict[str, int]:
        return dict(self.config.vat_rates or self.state.vat_rates)

    @property
    def vat_rates(self) -> dict[str, int]:
        return dict(self.state.vat_rates)

    # -- clock ------------------------------------------------------------------------------------
    def now(self) -> dt.datetime:
        return (dt.datetime.now().astimezone() + dt.timedelta(seconds=self.state.clock_offset_s)).replace(
            microsecond=0)

    # -- persistence ------------------------------------------------------------------------------
    async def _commit(self, new: RegisterState, entry: dict[str, Any] | None = None) -> journal.JournalEntry | None:
        """Durably write the new state (and a journal entry) in one transaction, then adopt it."""
        device_id = self.config.id

        def write(conn: sqlite3.Connection) -> journal.JournalEntry | None:
            written = journal.append(conn, device_id, **entry) if entry is not None else None
            if written is not None and entry is not None and entry["kind"] in ("receipt", "void"):
                new.last_receipt_entry_id = written.id
            device_repo.save_state(conn, device_id, new.to_json())
            return written

        written = await self.ctx.db.write(write)
        self.state = new
        if written is not None:
            self.ctx.on_journal(written)
        return written

    # -- operations -------------------------------------------------------------------------------
    async def execute(self, op: Operation) -> dict[str, Any]:
        handler = getattr(self, f"_op_{op.name}", None)
        if handler is None:
            raise FiscalError(Code.NOT_SUPPORTED, f"{op.name} is not a fiscal register operation")
        return await self._perform(op.name, lambda: handler(op.params))

    async def print_card_receipt(self, op: Operation, pos_transactions: list[dict[str, Any]]) -> dict[str, Any]:
        params = op.params
        assert isinstance(params, m.PrintReceiptParams)
        return await self._perform(op.name, lambda: self._print_receipt(params, pos_transactions))

    async def _perform(self, name: str, run: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
        await self.simulation.before(name)
        result = await run()
        await self.simulation.after(name)
        return result

    async def simulate(self, request: SimulateRequest) -> dict[str, Any]:
        return await self.simulation.update(request)

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
    def _shop(self) -> str:
        return self.config.name

    async def _op_print_receipt(self, params: m.PrintReceiptParams) -> dict[str, Any]:
        return await self._print_receipt(params, [])

    async def _print_receipt(self, params: m.PrintReceiptParams,
                             pos_transactions: list[dict[str, Any]]) -> dict[str, Any]:
        now = self.now()
        self._guard_fiscal(now)
        totals = compute_receipt(params, self.state.vat_rates)
        when = now.isoformat()
        voided = params.close_action == "void"
        non_fiscal = params.flags.non_fiscal
        new = self.state.copy()
        new.document_number += 1
        if non_fiscal:
            number = new.document_number
            kind = "non_fiscal"
        else:
            new.receipt_number += 1
            number = new.receipt_number
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
        text = printout.receipt(params, totals, shop=self._shop, serial=new.serial, number=number,
                                fiscal_day=new.fiscal_day, when=when, voided=voided, non_fiscal=non_fiscal,
                                pos_transactions=pos_transactions)
        result: dict[str, Any] = {
            "receipt_number": number,
            "fiscal_day": new.fiscal_day,
            "datetime": when,
            "total_cents": totals.total_cents,
            "paid_cents": 0 if voided else totals.paid_cents,
            "change_cents": 0 if voided else totals.change_cents,
            "vat_totals": totals.vat_totals_json(),
            "device_serial": new.serial,
            "journal_id": 0,
            "voided": voided,
            "pos_transactions": pos_transactions,
        }
        data = {"request": params.model_dump(mode="json", by_alias=True), "result": result,
                "payments": totals.payments_by_type, "open_drawer": params.flags.open_drawer}
        entry = await self._commit(new, {"kind": kind, "number": number, "fiscal_day": new.fiscal_day,
                                         "datetime": when, "total_cents": totals.total_cents, "text": text,
                                         "data": data})
        assert entry is not None
        result["journal_id"] = entry.id
        return result

    async def _op_print_non_fiscal(self, params: m.PrintNonFiscalParams) -> dict[str, Any]:
        now = self.now()
        if self.state.open_receipt is not None:
            raise FiscalError(Code.RECEIPT_OPEN, "cancel the open receipt first")
        new = self.state.copy()
        new.document_number += 1
        when = now.isoformat()
        text = printout.simple_document("DOCUMENT NEFISCAL", [line.text for line in params.lines], shop=self._shop,
                                        serial=new.serial, number=new.document_number, fiscal_day=new.fiscal_day,
                                        when=when)
        await self._commit(new, {"kind": "non_fiscal", "number": new.document_number, "fiscal_day": new.fiscal_day,
                                 "datetime": when, "total_cents": None, "text": text,
                                 "data": {"lines": [line.text for line in params.lines]}})
        return {"document_number": new.document_number}

    async def _cash(self, params: m.CashParams, direction: int) -> dict[str, Any]:
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
                                        serial=new.serial, number=new.document_number, fiscal_day=new.fiscal_day,
                                        when=when)
        await self._commit(new, {"kind": "cash_in" if direction > 0 else "cash_out", "number": new.document_number,
                                 "fiscal_day": new.fiscal_day, "datetime": when, "total_cents": params.amount_cents,
                                 "text": text, "data": {"amount_cents": params.amount_cents,
                                                        "cash_in_drawer_cents": new.cash_in_drawer_cents}})
        return {"cash_in_drawer_cents": new.cash_in_drawer_cents}

    async def _op_cash_in(self, params: m.CashParams) -> dict[str, Any]:
        return await self._cash(params, +1)

    async def _op_cash_out(self, params: m.CashParams) -> dict[str, Any]:
        return await self._cash(params, -1)

    def _day_totals(self, state: RegisterState, when: str) -> dict[str, Any]:
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

    async def _op_x_report(self, params: m.NoParams) -> dict[str, Any]:
        if self.state.open_receipt is not None:
            raise FiscalError(Code.RECEIPT_OPEN, "cancel the open receipt first")
        when = self.now().isoformat()
        new = self.state.copy()
        new.document_number += 1
        totals = self._day_totals(new, when)
        text = printout.report("RAPORT X", totals, shop=self._shop, serial=new.serial, number=new.document_number,
                               fiscal_day=new.fiscal_day, when=when)
        await self._commit(new, {"kind": "x_report", "number": new.document_number, "fiscal_day": new.fiscal_day,
                                 "datetime": when, "total_cents": totals["total_cents"], "text": text,
                                 "data": totals})
        return totals

    async def _op_z_report(self, params: m.NoParams) -> dict[str, Any]:
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
        text = printout.report("RAPORT Z", totals, shop=self._shop, serial=new.serial, number=new.z_number,
                               fiscal_day=new.fiscal_day, when=when)
        entry = {"kind": "z_report", "number": new.z_number, "fiscal_day": new.fiscal_day, "datetime": when,
                 "total_cents": totals["total_cents"], "text": text, "data": totals}
        new.fiscal_day += 1
        new.day = _empty_day()
        new.day_opened_at = None
        new.last_z_datetime = when
        new.vat_rates = self._configured_rates()
        await self._commit(new, entry)
        return totals

    async def _op_periodic_report(self, params: m.PeriodicReportParams) -> dict[str, Any]:
        device_id = self.config.id
        from_dt = params.from_date.isoformat() if params.from_date else None
        to_dt = (params.to_date + dt.timedelta(days=1)).isoformat() if params.to_date else None
        entries = await self.ctx.db.read(lambda c: journal.query(
            c, device_id, kinds=("z_report",), from_datetime=from_dt, to_datetime=to_dt,
            from_number=params.from_z, to_number=params.to_z, limit=100_000))
        reports = [e.data for e in entries]
        summary = {
            "reports_count": len(reports),
            "receipts_count": sum(r["receipts_count"] for r in reports),
            "total_cents": sum(r["total_cents"] for r in reports),
        }
        when = self.now().isoformat()
        new = self.state.copy()
        new.document_number += 1
        body = [f"Z {r['z_number']}: {printout.money(r['total_cents'])}" for r in reports] if params.detailed else []
        body.append(f"RAPOARTE Z: {summary['reports_count']}")
        body.append(f"TOTAL: {printout.money(summary['total_cents'])}")
        text = printout.simple_document("RAPORT PERIODIC", body, shop=self._shop, serial=new.serial,
                                        number=new.document_number, fiscal_day=new.fiscal_day, when=when)
        result = {**summary, "reports": reports}
        await self._commit(new, {"kind": "periodic_report", "number": new.document_number,
                                 "fiscal_day": new.fiscal_day, "datetime": when,
                                 "total_cents": summary["total_cents"], "text": text,
                                 "data": {"params": params.model_dump(mode="json", by_alias=True), **summary}})
        return result

    async def _op_print_duplicate(self, params: m.NoParams) -> dict[str, Any]:
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
        await self._commit(new, {"kind": "duplicate", "number": new.document_number, "fiscal_day": new.fiscal_day,
                                 "datetime": when, "total_cents": original.total_cents, "text": text,
                                 "data": {"original_journal_id": original.id, "receipt_number": original.number}})
        return {"receipt_number": original.number, "document_number": new.document_number,
                "original_journal_id": original.id, "text": text}

    async def _op_cancel_receipt(self, params: m.NoParams) -> dict[str, Any]:
        if self.state.open_receipt is None:
            return {"cancelled": False}
        new = self.state.copy()
        new.open_receipt = None
        await self._commit(new)
        return {"cancelled": True}

    async def _op_open_drawer(self, params: m.NoParams) -> dict[str, Any]:
        return {}

    async def _op_get_status(self, params: m.NoParams) -> dict[str, Any]:
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

    async def _op_get_datetime(self, params: m.NoParams) -> dict[str, Any]:
        return {"datetime": self.now().isoformat()}

    async def _op_set_datetime(self, params: m.SetDatetimeParams) -> dict[str, Any]:
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
        await self._commit(new)
        return {"datetime": self.now().isoformat()}

    async def _op_get_vat_rates(self, params: m.NoParams) -> dict[str, Any]:
        return dict(sorted(self.state.vat_rates.items()))

    async def _op_read_journal(self, params: m.ReadJournalParams) -> dict[str, Any]:
        device_id = self.config.id
        by_receipt = params.from_receipt is not None or params.to_receipt is not None
        entries = await self.ctx.db.read(lambda c: journal.query(
            c, device_id,
            kinds=("receipt", "void") if by_receipt else None,
            from_datetime=params.from_datetime.isoformat() if params.from_datetime else None,
            to_datetime=params.to_datetime.isoformat() if params.to_datetime else None,
            from_number=params.from_receipt, to_number=params.to_receipt, limit=params.limit))
        if params.format == "text":
            return {"count": len(entries), "text": "\n".join(e.text for e in entries)}
        return {"count": len(entries), "entries": [e.to_json() for e in entries]}
