"""The Datecs fiscal register driver (old and X protocols, serial or TCP).

Every fiscal operation becomes a short sequence of Datecs commands (docs/devices.md). Each document the device
printed is recorded in the store's journal with the device's own numbers, in one transaction with the driver's
state, so ``read_journal``, journal exports and report counts work as with the Simulated register; the device
stays authoritative for its fiscal memory and its totals.

Interrupted receipts: before a receipt is opened the driver durably records it as *pending* (what it is about
to print). After an ambiguous failure (the link dropped, no valid reply) and whenever the driver starts, it
asks the device (76 transaction status, old protocol also 113 last document number): a receipt that closed
is journaled with its real number and reported as printed; one still open is finished (fully paid) or
cancelled, and the outcome journaled. A closed receipt is never sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar, cast

from fiscald.drivers import journal_reads
from fiscald.drivers.base import DriverContext, FiscalDriver, Handlers, fiscal_handlers
from fiscald.drivers.datecs import commands as c
from fiscald.drivers.datecs import status as bits
from fiscald.drivers.datecs.lines import Lines
from fiscald.drivers.datecs.models import VAT_LETTERS, ModelSpec, model, payment_codes
from fiscald.drivers.datecs.session import Session
from fiscald.drivers.transport import ConnectionLost, Transport, open_transport
from fiscald.errors import Code, FiscalError
from fiscald.models.config import FiscalDeviceConfig
from fiscald.models.status import DeviceStatus, StatusInfo
from fiscald.operations import Operation
from fiscald.operations import models as m
from fiscald.operations import results as r
from fiscald.operations.totals import ReceiptTotals, compute_receipt, vat_of
from fiscald.store import devices as device_repo
from fiscald.store import journal

OPERATOR = ("1", "0000", "1")  # operator number, password, till number: the devices' factory settings
_DAY_KINDS = ("receipt", "void", "cash_in", "cash_out")
_READS = frozenset({c.STATUS, c.TRANSACTION, c.LAST_DOCUMENT, c.DIAGNOSTIC, c.GET_DATETIME, c.VAT_RATES_X,
                    c.VAT_RATES_OLD, c.CHECK_CONNECTION, c.LAST_FISCAL_RECORD})


def state_key(device_id: str) -> str:
    return f"datecs:{device_id}"


@dataclass(frozen=True)
class Transaction:
    """Command 76 (and, old protocol, 113): the current or last fiscal receipt."""
    open: bool
    number: int  # X: the receipt's number; old: the last document number (113)
    items: int
    amount_cents: int
    paid_cents: int


class DatecsDriver(FiscalDriver):
    config: FiscalDeviceConfig
    poll_interval_s: ClassVar[float | None] = 5.0

    def __init__(self, config: FiscalDeviceConfig, ctx: DriverContext) -> None:
        self.spec: ModelSpec = model(config.model)
        self.payment_codes = payment_codes(self.spec, config.payment_codes)
        self.syntax = c.Syntax(self.spec.variant)
        self.lines = Lines(self.syntax, self.spec)
        super().__init__(config, ctx)
        self._transport: Transport | None = None
        self.session: Session | None = None
        self._rates: dict[str, int] = {}
        self.serial = ""
        self.device_name = ""
        self._fiscal_day = 1
        self._last_status = bits.Status(b"")

    def build_handlers(self) -> Handlers:
        return fiscal_handlers(self)

    @property
    def vat_rates(self) -> dict[str, int]:
        return dict(self._rates)

    # -- link -------------------------------------------------------------------------------------
    async def _connect(self) -> None:
        try:
            transport = open_transport(self.config.connection_details)
        except ValueError as exc:
            raise FiscalError(Code.CONFIG, f"connection_details.type: {exc}") from None
        await transport.open()
        self._transport = transport
        self.session = Session(transport, self.spec.variant)

    async def _disconnect(self) -> None:
        transport, self._transport, self.session = self._transport, None, None
        if transport is not None:
            await transport.close()

    async def start(self) -> None:
        await self._disconnect()
        await self._connect()
        fields = await self._call(c.DIAGNOSTIC, self.syntax.args("1") if self.syntax.x else "1")
        self.device_name = fields[0] if fields else self.config.model
        self.serial = fields[-2] if len(fields) >= 2 else ""
        self.connected_device_id = self.serial or None
        self._rates = await self._read_vat_rates()
        self._fiscal_day = await self._last_z_number() + 1
        await self._resolve_open()
        await self.poll()

    async def stop(self) -> None:
        await self._disconnect()
        self.set_status(StatusInfo(DeviceStatus.DISCONNECTED))

    async def poll(self) -> None:
        await self._call(c.STATUS, self.syntax.args() if self.syntax.x else "X")
        self._show(self._last_status)

    def _show(self, status: bits.Status) -> None:
        standing = status.standing()
        if standing is not None and standing.error is not None:
            self.set_status(StatusInfo(DeviceStatus.ERROR, FiscalError(standing.error, details={
                "device_status": status.flags})))
        else:
            self.set_status(StatusInfo(DeviceStatus.CONNECTED))

    async def _call(self, cmd: int, data: str = "", refusal: Code = Code.DEVICE, reading: bool = False) -> list[str]:
        """One command; its reply's fields. A device error (X error code or a failure bit) is raised as the
        matching FiscalError with the device's own code and flags in ``details``. Reading commands fail only
        on their own errors: paper out does not stop a status read."""
        if self.session is None:
            raise ConnectionLost(f"{self.config.model}: not connected")
        try:
            raw = data.encode(self.spec.codepage)
        except UnicodeEncodeError as exc:  # every text field is checked first; this is the backstop
            raise FiscalError(Code.CONFIG, f"params: {data[exc.start]!r} cannot be printed by a "
                                           f"{self.spec.name}") from None
        reply = await self.session.call(cmd, raw)
        text = reply.data.decode(self.spec.codepage, errors="replace")
        status = bits.Status(reply.status)
        self._last_status = status
        error = self.syntax.error_code(text)
        failure = status.command_failure() if reading or cmd in _READS else status.failure()
        if error == 0 and failure is None:
            if self.status.status == DeviceStatus.ERROR and status.standing() is None:
                self._show(status)
            return self.syntax.fields(text)
        self._show(status)
        details: dict[str, Any] = {"device_command": f"{cmd:#04x}", "device_status": status.flags}
        if error:
            details["device_error"] = error
        code: Code
        if failure is not None and failure.error is not None and failure.error != Code.DEVICE:
            code = failure.error
        elif refusal == Code.RECEIPT_OPEN:  # refused while a document is open, or for another reason
            code = refusal if status.has(bits.FISCAL_RECEIPT_OPEN) or status.has(bits.NON_FISCAL_OPEN) else Code.DEVICE
        else:
            code = refusal
        what = failure.name.replace("_", " ") if failure is not None else f"error {error}"
        raise FiscalError(code, f"{self.device_name or self.config.model} refused command {cmd:#04x}: {what}",
                          details)

    # -- reading ----------------------------------------------------------------------------------
    async def _read_vat_rates(self) -> dict[str, int]:
        fields = ((await self._call(c.VAT_RATES_X))[1:9] if self.syntax.x
                  else (await self._call(c.VAT_RATES_OLD))[:8])
        rates: dict[str, int] = {}
        for letter, value in zip(VAT_LETTERS, fields, strict=False):
            try:
                cents = c.parse_money(value)
            except ValueError:
                continue  # a disabled group ("DT")
            if 0 <= cents < 10_000:  # 100.00 = disabled
                rates[letter] = cents
        return rates

    async def _last_z_number(self) -> int:
        """The register's last Z report number (64), so a Z whose answer was lost still counts."""
        f = await self._call(c.LAST_FISCAL_RECORD, self.syntax.args("0") if self.syntax.x else "0")
        if self.syntax.x:
            return int(f[0])
        return int(f[1]) if f and f[0] == "P" else 0  # old: 'F' before the first Z

    async def _transaction(self) -> Transaction:
        if self.syntax.x:
            f = await self._call(c.TRANSACTION)
            return Transaction(f[0] != "0", int(f[1]), int(f[2]), c.parse_money(f[3]), c.parse_money(f[4]))
        f = await self._call(c.TRANSACTION, "T")
        last = await self._call(c.LAST_DOCUMENT)
        return Transaction(f[0] == "1", int(last[0]), int(f[1]), c.parse_money(f[2]),
                           c.parse_money(f[3]) if len(f) > 3 else 0)

    async def _cash_in_drawer(self) -> int:
        f = await self._call(c.CASH, self.syntax.args("0", "0.00") if self.syntax.x else "0", reading=True)
        return c.parse_money(f[0] if self.syntax.x else f[1])

    def _now(self) -> str:
        return dt.datetime.now().astimezone().replace(microsecond=0).isoformat()

    # -- the journal ------------------------------------------------------------------------------
    async def _journal_last(self, kind: str) -> journal.JournalEntry | None:
        device_id = self.config.id

        def last(conn: sqlite3.Connection) -> journal.JournalEntry | None:
            row = conn.execute("SELECT seq FROM journal WHERE device_id = ? AND kind = ? ORDER BY seq DESC LIMIT 1",
                               (device_id, kind)).fetchone()
            if row is None:
                return None
            found = journal.query(conn, device_id, after_seq=int(row["seq"]) - 1, limit=1)
            return found[0] if found else None

        return await self.ctx.db.read(last)

    async def _record(self, kind: str, number: int | None, total_cents: int | None, text: str,
                      data: dict[str, Any] | Callable[[sqlite3.Connection, int], dict[str, Any]],
                      settles: bool = False) -> journal.JournalEntry:
        """Journal a printed document; ``settles``: it is the outcome of the pending receipt, whose record is
        cleared in the same transaction. ``data`` may be built inside the writing transaction, from the store
        and the entry's own id."""
        device_id, day, when = self.config.id, self._fiscal_day, self._now()

        def write(conn: sqlite3.Connection) -> journal.JournalEntry:
            content: dict[str, Any] | Callable[[int], dict[str, Any]] = (
                partial(data, conn) if callable(data) else data)
            entry = journal.append(conn, device_id, kind, number, day, when, total_cents, text, content)
            if settles:
                device_repo.save_state(conn, state_key(device_id), {"pending": None})
            return entry

        entry = await self.ctx.db.write(write)
        self.ctx.on_journal(entry)
        return entry

    def _pending_write(self, pending: dict[str, Any] | None) -> asyncio.Future[None]:
        key, snapshot = state_key(self.config.id), None if pending is None else dict(pending)
        return self.ctx.db.write_future(lambda conn: device_repo.save_state(conn, key, {"pending": snapshot}))

    async def _day_entries(self) -> list[journal.JournalEntry]:
        device_id, day = self.config.id, self._fiscal_day
        last_z = await self._journal_last("z_report")
        after = last_z.seq if last_z is not None else 0
        entries = await self.ctx.db.read(lambda conn: journal.query(conn, device_id, kinds=_DAY_KINDS,
                                                                    after_seq=after, limit=1_000_000))
        return [e for e in entries if e.fiscal_day == day]

    # -- receipts ---------------------------------------------------------------------------------
    async def print_receipt(self, params: m.PrintReceiptParams) -> r.ReceiptResult:
        return await self._receipt(params, [])

    async def print_card_receipt(self, op: Operation, pos_transactions: list[dict[str, Any]]) -> r.ReceiptResult:
        params = op.params
        assert isinstance(params, m.PrintReceiptParams)
        return await self._receipt(params, pos_transactions)

    async def _receipt(self, params: m.PrintReceiptParams, pos: list[dict[str, Any]]) -> r.ReceiptResult:
        totals = compute_receipt(params, self._rates)
        if params.flags.non_fiscal:
            return await self._non_fiscal_receipt(params, totals, pos)
        plan = self.lines.plan(params, totals)  # every text checked before anything is printed
        voided = params.close_action == "void"
        request = params.model_dump(mode="json", by_alias=True)
        pending: dict[str, Any] = {"request": request, "total_cents": totals.total_cents, "voided": voided,
                                   "payments": totals.payments_by_type, "pos_transactions": pos,
                                   "items": len(totals.items), "lines": [text for _, _, text in plan]}
        recorded: asyncio.Future[None] | None = None
        try:
            pending["number"], number = await self._open_receipt()
            pending["fiscal_number"] = number
            # durable before the receipt can close (awaited before payment), written while the lines go out;
            # a crash before it commits leaves an open receipt and no record: start() cancels and journals it
            recorded = self._pending_write(pending)
            for cmd, data, _ in plan:
                await self._call(cmd, data)
            sub = await self._call(c.SUBTOTAL, self.lines.subtotal(params.receipt_discount))
            device_total = c.parse_money(sub[1] if self.syntax.x else sub[0])
            if device_total != totals.total_cents:
                await self._call(c.CANCEL_RECEIPT)
                await self._void_record(pending, "the device's total differs")
                raise FiscalError(Code.DEVICE, f"the device computed {device_total} cents, fiscald "
                                               f"{totals.total_cents}: the receipt was cancelled",
                                  {"device_total_cents": device_total, "total_cents": totals.total_cents})
            await recorded
            if voided:
                await self._call(c.CANCEL_RECEIPT)
            else:
                await self._pay(totals)
                closed = await self._call(c.CLOSE_RECEIPT)
                number = int(closed[0]) if self.syntax.x else int(closed[1])
        except ConnectionLost as exc:
            if recorded is not None:
                await recorded
            outcome = await self._reconcile(pending, exc)
            if outcome is not None:
                return outcome
            raise
        except FiscalError:
            if recorded is not None:
                await recorded
            if "number" in pending and not pending.get("settled"):
                # refused mid-receipt (paper ran out...): cancel it; if that fails too, the next start does
                with contextlib.suppress(FiscalError):
                    await self._settle(pending)
            raise
        result = await self._journal_receipt(pending, number, voided, totals)
        if params.flags.open_drawer and "open_drawer" not in self.spec.lacking:
            with contextlib.suppress(FiscalError):  # the receipt is printed: a stuck drawer does not undo that
                await self._call(c.DRAWER)
        return result

    async def _open_receipt(self) -> tuple[int, int]:
        """Open a fiscal receipt; (the number 76/113 report for it, its receipt number). A receipt found open
        (left by a crash or by someone else) is resolved first, once."""
        op, password, till = OPERATOR
        data = self.syntax.args(op, password, till, "") if self.syntax.x else f"{op},{password},{till}"
        try:
            fields = await self._call(c.OPEN_RECEIPT, data, Code.RECEIPT_OPEN)
        except FiscalError as exc:
            if exc.code != Code.RECEIPT_OPEN:
                raise
            await self._resolve_open()
            fields = await self._call(c.OPEN_RECEIPT, data, Code.RECEIPT_OPEN)
        if self.syntax.x:
            return int(fields[0]), int(fields[0])
        return int(fields[0]), int(fields[1])  # old: the document number (113 reports it), the receipt number

    async def _pay(self, totals: ReceiptTotals) -> None:
        ordered = sorted(totals.payments, key=lambda p: p.type == "cash")  # change comes only from cash
        for payment in ordered:
            code = self.payment_codes[payment.type]
            amount = c.money(payment.amount_cents)
            if self.syntax.x:
                await self._call(c.PAYMENT, self.syntax.args(code, amount, ""))
            else:
                fields = await self._call(c.PAYMENT, f"\t{code}{amount}")
                if fields and fields[0][:1] == "F":
                    raise FiscalError(Code.DEVICE, "the device refused the payment", {"payment": payment.type})

    async def _journal_receipt(self, pending: dict[str, Any], number: int, voided: bool,
                               totals: ReceiptTotals | None = None) -> r.ReceiptResult:
        """``totals``: the receipt's, when the caller has them (else recomputed from the stored request)."""
        if totals is None:
            totals = compute_receipt(m.PrintReceiptParams.model_validate(pending["request"]), self._rates)
        device_id, day = self.config.id, self._fiscal_day
        result: r.ReceiptResult = {
            "receipt_number": number,
            "fiscal_day": self._fiscal_day,
            "datetime": self._now(),
            "total_cents": totals.total_cents,
            "paid_cents": 0 if voided else totals.paid_cents,
            "change_cents": 0 if voided else totals.change_cents,
            "vat_totals": totals.vat_totals_json(),
            "device_serial": self.serial,
            "journal_id": 0,  # set in the writing transaction, with the day's number
            "voided": voided,
            "pos_transactions": pending.get("pos_transactions", []),
            "day_receipt_number": 0,
            "document_number": int(pending["number"]),  # the register's number for it at opening (48)
        }
        text = "\n".join([*pending["lines"], f"TOTAL {c.money(totals.total_cents)}",
                          *(f"{p.type} {c.money(p.amount_cents)}" for p in totals.payments),
                          "ANULAT" if voided else f"BON FISCAL {number}"])

        def content(conn: sqlite3.Connection, entry_id: int) -> dict[str, Any]:
            # counted by the store's one writer in the appending transaction: exact, and a COUNT over the
            # entries since the last Z instead of reading (and parsing) the whole day's journal per receipt
            result["day_receipt_number"] = 1 + journal.count_since(conn, device_id, ("receipt", "void"), day,
                                                                   "z_report")
            result["journal_id"] = entry_id
            return {"request": pending["request"], "result": result,
                    "payments": {} if voided else pending["payments"]}

        pending["settled"] = True
        await self._record("void" if voided else "receipt", number, totals.total_cents, text, content,
                           settles=True)
        return result

    async def _void_record(self, pending: dict[str, Any], why: str) -> None:
        pending["settled"] = True
        await self._record("void", pending.get("fiscal_number"), pending["total_cents"], "\n".join(
            [*pending["lines"], f"ANULAT: {why}"]), {"request": pending["request"], "reason": why, "payments": {}},
            settles=True)

    async def _reconcile(self, pending: dict[str, Any], exc: FiscalError) -> r.ReceiptResult | None:
        """After an ambiguous failure: ask the device what became of the receipt. Returns its result if it
        was printed; else the open receipt is cancelled and the failure stands (with what happened)."""
        try:
            if isinstance(exc, ConnectionLost):
                await self._disconnect()
                await self._connect()
            return await self._settle(pending)
        except ConnectionLost:
            raise exc from None  # still unreachable: the pending record is resolved when the link is back

    async def _settle(self, pending: dict[str, Any]) -> r.ReceiptResult | None:
        tx = await self._transaction()
        number = pending.get("number")
        if tx.open:
            if tx.paid_cents >= tx.amount_cents > 0 and not pending["voided"]:
                closed = await self._call(c.CLOSE_RECEIPT)
                return await self._journal_receipt(pending, int(closed[0]) if self.syntax.x else int(closed[1]),
                                                   False)
            await self._call(c.CANCEL_RECEIPT)
            await self._void_record(pending, "interrupted; cancelled on the device")
            return None
        if number is not None and tx.number == number and tx.items == pending["items"]:
            if pending["voided"] or (tx.paid_cents >= tx.amount_cents == pending["total_cents"]):
                return await self._journal_receipt(pending, int(pending["fiscal_number"]), pending["voided"])
            await self._void_record(pending, "interrupted; cancelled on the device")
            return None
        await self._pending_write(None)  # never opened, or cancelled before: nothing printed
        return None

    async def _resolve_open(self) -> None:
        """A receipt found open on the device: ours (pending) is settled; anyone else's is cancelled and that
        journaled."""
        key = state_key(self.config.id)
        stored = await self.ctx.db.read(lambda conn: device_repo.load_state(conn, key))
        pending = (stored or {}).get("pending")
        if pending is not None:
            await self._settle(pending)
            return
        tx = await self._transaction()
        if tx.open:
            await self._call(c.CANCEL_RECEIPT)
            await self._record("void", tx.number if self.syntax.x else None, tx.amount_cents,
                               "ANULAT: bon deschis găsit pe casă", {"reason": "found open", "payments": {}},
                               settles=True)

    async def _non_fiscal_receipt(self, params: m.PrintReceiptParams, totals: ReceiptTotals,
                                  pos: list[dict[str, Any]]) -> r.ReceiptResult:
        lines: list[str] = []
        for index, line in enumerate(params.lines):
            if isinstance(line, m.ItemLine):
                lines.append(f"{line.description} {c.quantity(line.quantity_thousandths)} x "
                             f"{c.money(line.unit_price_cents)}")
            elif isinstance(line, m.TextLine):
                lines.append(line.text)
            del index
        lines.append(f"TOTAL {c.money(totals.total_cents)}")
        number = await self._print_lines(lines)
        result: r.ReceiptResult = {
            "receipt_number": None, "fiscal_day": self._fiscal_day, "datetime": self._now(),
            "total_cents": totals.total_cents, "paid_cents": totals.paid_cents, "change_cents": totals.change_cents,
            "vat_totals": totals.vat_totals_json(), "device_serial": self.serial, "journal_id": 0, "voided": False,
            "pos_transactions": pos, "day_receipt_number": None, "document_number": number,
        }
        entry = await self._record("non_fiscal", number, totals.total_cents, "\n".join(lines),
                                   {"request": params.model_dump(mode="json", by_alias=True), "result": result})
        result["journal_id"] = entry.id
        return result

    async def _print_lines(self, lines: Sequence[str]) -> int:
        """A non-fiscal document; its number."""
        width = self.spec.columns - 2
        pieces = [p for i, line in enumerate(lines) for p in self.lines.wrap(line, f"params.lines.{i}.text", width)]
        await self._call(c.OPEN_NON_FISCAL, refusal=Code.RECEIPT_OPEN)
        for piece in pieces:
            await self._call(c.NON_FISCAL_TEXT, self.lines.free_text(piece))
        closed = await self._call(c.CLOSE_NON_FISCAL)
        return int(closed[0])

    async def print_non_fiscal(self, params: m.PrintNonFiscalParams) -> r.DocumentResult:
        texts = [line.text for line in params.lines]
        number = await self._print_lines(texts)
        await self._record("non_fiscal", number, None, "\n".join(texts), {"lines": texts})
        return {"document_number": number}

    # -- cash and reports -------------------------------------------------------------------------
    async def _cash(self, params: m.CashParams, direction: int) -> r.DrawerResult:
        drawer = await self._cash_in_drawer()
        if direction < 0 and params.amount_cents > drawer:
            raise FiscalError(Code.CASH_OUT_EXCEEDS_DRAWER, f"{params.amount_cents} requested, {drawer} in the drawer",
                              {"cash_in_drawer_cents": drawer})
        amount = c.money(params.amount_cents)
        if self.syntax.x:
            f = await self._call(c.CASH, self.syntax.args("0" if direction > 0 else "1", amount), Code.RECEIPT_OPEN)
            now = c.parse_money(f[0])
        else:
            f = await self._call(c.CASH, amount if direction > 0 else f"-{amount}", Code.RECEIPT_OPEN)
            if f and f[0] == "F":
                raise FiscalError(Code.DEVICE, "the device refused the cash operation")
            now = c.parse_money(f[1])
        kind = "cash_in" if direction > 0 else "cash_out"
        title = "INTRODUCERE NUMERAR" if direction > 0 else "EXTRAGERE NUMERAR"
        await self._record(kind, None, params.amount_cents, f"{title}\nSUMA: {amount}",
                           {"amount_cents": params.amount_cents, "cash_in_drawer_cents": now})
        return {"cash_in_drawer_cents": now}

    async def cash_in(self, params: m.CashParams) -> r.DrawerResult:
        return await self._cash(params, +1)

    async def cash_out(self, params: m.CashParams) -> r.DrawerResult:
        return await self._cash(params, -1)

    async def _report(self, z: bool) -> r.ReportResult:
        option = ("Z" if z else "X") if self.syntax.x else ("0" if z else "2")
        f = await self._call(c.REPORT, self.syntax.args(option) if self.syntax.x else option, Code.RECEIPT_OPEN)
        number = int(f[0])
        sums = f[1:9] if self.syntax.x else f[2:10]
        storno = f[9:17] if self.syntax.x else []
        gross: dict[str, int] = {}
        for i, letter in enumerate(VAT_LETTERS):
            value = (c.parse_money(sums[i]) if i < len(sums) else 0) - (c.parse_money(storno[i]) if i < len(storno)
                                                                          else 0)
            if value and letter in self._rates:
                gross[letter] = value
        entries = await self._day_entries()
        payments: dict[str, int] = {}
        for e in entries:
            for kind, cents in (e.data.get("payments") or {}).items():
                payments[kind] = payments.get(kind, 0) + int(cents)
        when = self._now()
        result: r.ReportResult = {
            "fiscal_day": self._fiscal_day,
            "receipts_count": sum(1 for e in entries if e.kind == "receipt"),
            "voided_count": sum(1 for e in entries if e.kind == "void"),
            "total_cents": sum(gross.values()),
            "vat_totals": {letter: {"rate_basis_points": self._rates[letter],
                                    "base_cents": g - vat_of(g, self._rates[letter]),
                                    "vat_cents": vat_of(g, self._rates[letter])}
                           for letter, g in sorted(gross.items())},
            "payments": dict(sorted(payments.items())),
            "cash_in_cents": sum(e.total_cents or 0 for e in entries if e.kind == "cash_in"),
            "cash_out_cents": sum(e.total_cents or 0 for e in entries if e.kind == "cash_out"),
            "datetime": when,
        }
        if z:
            result["z_number"] = number
        title = "RAPORT Z" if z else "RAPORT X"
        await self._record("z_report" if z else "x_report", number if z else None, result["total_cents"],
                           f"{title} {number}\nTOTAL {c.money(result['total_cents'])}", cast(dict[str, Any], result))
        if z:
            self._fiscal_day = number + 1
        return result

    async def x_report(self, params: m.NoParams) -> r.ReportResult:
        return await self._report(False)

    async def z_report(self, params: m.NoParams) -> r.ReportResult:
        return await self._report(True)

    async def periodic_report(self, params: m.PeriodicReportParams) -> r.PeriodicReportResult:
        by_date = params.from_date is not None or params.to_date is not None
        cmd = c.FM_REPORTS[self.spec.variant.name][("date" if by_date else "number", params.detailed)]
        if by_date:
            start = (params.from_date or m.MIN_DATE).strftime("%d-%m-%y" if self.syntax.x else "%d%m%y")
            end = (params.to_date or dt.date.today()).strftime("%d-%m-%y" if self.syntax.x else "%d%m%y")
        else:
            start, end = str(params.from_z or 1), str(params.to_z or max(self._fiscal_day - 1, 1))
        data = self.syntax.args("1" if params.detailed else "0", start, end) if self.syntax.x else f"{start},{end}"
        await self._call(cmd, data, Code.RECEIPT_OPEN)
        reports = [e.data for e in await journal_reads.z_reports(self.ctx.db, self.config.id, params)]
        result: r.PeriodicReportResult = {
            "reports_count": len(reports),
            "receipts_count": sum(int(z.get("receipts_count", 0)) for z in reports),
            "total_cents": sum(int(z.get("total_cents", 0)) for z in reports),
            "reports": reports,
        }
        await self._record("periodic_report", None, result["total_cents"],
                           f"RAPORT PERIODIC {start} - {end}\nRAPOARTE Z: {len(reports)}",
                           {"params": params.model_dump(mode="json", by_alias=True),
                            **{k: result[k] for k in ("reports_count", "receipts_count", "total_cents")}})
        return result

    # -- the rest ---------------------------------------------------------------------------------
    async def print_duplicate(self, params: m.NoParams) -> r.DuplicateResult:
        await self._call(c.DUPLICATE, self.syntax.args() if self.syntax.x else "1", Code.NO_RECEIPT_TO_DUPLICATE)
        original = await self._journal_last("receipt")
        text = "DUPLICAT\n" + (original.text if original is not None else "")
        number = original.number if original is not None else None
        entry = await self._record("duplicate", number, original.total_cents if original else None, text,
                                   {"original_journal_id": original.id if original else None,
                                    "receipt_number": number})
        return {"receipt_number": number, "document_number": number or 0,
                "original_journal_id": original.id if original is not None else entry.id, "text": text}

    async def cancel_receipt(self, params: m.NoParams) -> r.CancelResult:
        tx = await self._transaction()
        if not tx.open:
            return {"cancelled": False}
        await self._call(c.CANCEL_RECEIPT)
        await self._record("void", tx.number if self.syntax.x else None, tx.amount_cents, "ANULAT",
                           {"reason": "cancel_receipt", "payments": {}}, settles=True)
        return {"cancelled": True}

    async def open_drawer(self, params: m.NoParams) -> r.EmptyResult:
        await self._call(c.DRAWER)
        return {}

    async def get_status(self, params: m.NoParams) -> r.StatusResult:
        tx = await self._transaction()
        await self.poll()
        status = self._last_status
        when = await self._device_datetime()
        drawer = await self._cash_in_drawer()
        last_z = await self._journal_last("z_report")
        last_receipt = await self._journal_last("receipt")
        return {
            "status": self.status.status.value,
            "status_text": self.status.text(self.ctx.language()),
            "paper": "out" if status.has(bits.PAPER_OUT) else "low" if status.has(bits.PAPER_LOW) else "ok",
            "cover_open": status.has(bits.COVER_OPEN),
            "receipt_open": tx.open,
            "fiscal_day_open": bool(await self._day_entries()),
            "fiscal_day": self._fiscal_day,
            "last_receipt_number": (tx.number if self.syntax.x else
                                    (last_receipt.number or 0) if last_receipt is not None else 0),
            "last_z_datetime": last_z.datetime if last_z is not None else None,
            "datetime": when,
            "cash_in_drawer_cents": drawer,
            "serial": self.serial,
        }

    async def _device_datetime(self) -> str:
        f = await self._call(c.GET_DATETIME)
        return c.parse_datetime(f[0]).astimezone().isoformat()

    async def get_datetime(self, params: m.NoParams) -> r.DatetimeResult:
        return {"datetime": await self._device_datetime()}

    async def set_datetime(self, params: m.SetDatetimeParams) -> r.DatetimeResult:
        target = params.datetime if params.datetime.tzinfo is None else params.datetime.astimezone().replace(
            tzinfo=None)
        text = c.format_datetime(target)
        await self._call(c.SET_DATETIME, self.syntax.args(text) if self.syntax.x else text, Code.RECEIPT_OPEN)
        return {"datetime": await self._device_datetime()}

    async def get_vat_rates(self, params: m.NoParams) -> dict[str, int]:
        self._rates = await self._read_vat_rates()
        return dict(sorted(self._rates.items()))

    async def read_journal(self, params: m.ReadJournalParams) -> r.JournalResult:
        return await journal_reads.read_journal(self.ctx.db, self.config.id, params)
