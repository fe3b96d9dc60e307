"""The Datecs fiscal register driver (Romanian X, Bulgarian X, old C and old P dialects; serial or TCP).

Every fiscal operation becomes a short sequence of Datecs commands (docs/devices.md); what differs between the
dialects — payment codes, reply layouts, units, counters, widths, passwords — is data (``models.Dialect``).
Each document the device printed is recorded in the store's journal with the device's own numbers, in one
transaction with the driver's state, so ``read_journal``, journal exports and report counts work as with the
Simulated register; the device stays authoritative for its fiscal memory and its totals.

Interrupted receipts: before a receipt can close the driver durably records it as pending
(:class:`~fiscald.drivers.register.pending.PendingReceipt`). After any failure once it is open — a lost or
unreadable reply, a refusal, paper out — and whenever the driver starts, it asks the device (76 transaction
status; old protocol also 113, the last document number): a receipt that closed is journaled with its real
number and reported as printed; one still open is finished as the request says (the rest paid, then 56) once a
payment was made (60 is refused then [P p.22] [C p.16]), or cancelled if none was. A closed receipt is never
sent again and no command is ever re-sent under a new SEQ (``session``).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar, cast

from fiscald.drivers import journal_reads
from fiscald.drivers.base import CURRENT_OPERATION, DriverContext, FiscalDriver, Handlers, Result, fiscal_handlers
from fiscald.drivers.datecs import commands as c
from fiscald.drivers.datecs import status as bits
from fiscald.drivers.datecs.lines import Lines
from fiscald.drivers.datecs.models import VAT_LETTERS, ModelSpec, model, payment_codes, reported_model
from fiscald.drivers.isl.session import Session
from fiscald.drivers.register.pending import Payment, PendingReceipt
from fiscald.drivers.transport import Transport, open_transport
from fiscald.errors import Code, ConnectionLost, FiscalError
from fiscald.models.config import FiscalDeviceConfig
from fiscald.models.status import DeviceStatus, StatusInfo
from fiscald.operations import Operation
from fiscald.operations import models as m
from fiscald.operations import results as r
from fiscald.operations.totals import ReceiptTotals, compute_receipt, vat_of
from fiscald.store import devices as device_repo
from fiscald.store import journal

log = logging.getLogger("fiscald.datecs")
TILL = "1"  # TillNmb: the point of sale number [X p.9] [C p.10] [P p.16]
_DAY_KINDS = ("receipt", "void", "cash_in", "cash_out")
_READS = frozenset({c.STATUS, c.TRANSACTION, c.LAST_DOCUMENT, c.DIAGNOSTIC, c.GET_DATETIME, c.VAT_RATES_X,
                    c.VAT_RATES_OLD, c.CHECK_CONNECTION, c.LAST_FISCAL_RECORD})
# How long a device may answer SYN ("still working") before the call is given up (docs/devices.md): reports
# print for long; a payment may wait for a pinpad [X p.11]; anything else is seconds of printing.
REPORT_BUSY_S = 300.0
PAYMENT_BUSY_S = 120.0
COMMAND_BUSY_S = 30.0
_LONG = {c.REPORT: REPORT_BUSY_S, c.PAYMENT: PAYMENT_BUSY_S,
         **{cmd: REPORT_BUSY_S for table in c.FM_REPORTS.values() for cmd in table.values()}}


def state_key(device_id: str) -> str:
    return f"datecs:{device_id}"


@dataclass(frozen=True)
class Transaction:
    """Command 76: the current or last fiscal receipt [X p.21] [P p.25] [C p.20] [DUDE]."""
    open: bool
    number: int | None  # X: the receipt's number; old: none (76 carries no number: 113 is read instead)
    items: int
    amount_cents: int
    paid_cents: int


class DatecsDriver(FiscalDriver):
    config: FiscalDeviceConfig
    poll_interval_s: ClassVar[float | None] = 5.0

    def __init__(self, config: FiscalDeviceConfig, ctx: DriverContext,
                 transport: Callable[[], Transport] | None = None) -> None:
        """``transport``: makes the link instead of ``connection_details`` (an in-memory line in tests)."""
        self._make_transport = transport
        self.spec: ModelSpec = model(config.model)
        self.dialect = self.spec.dialect
        self.payment_codes = payment_codes(self.spec, config.payment_codes)
        self.syntax = c.Syntax(self.spec.variant)
        self.columns = self.spec.columns
        self.lines = Lines(self.syntax, self.spec, self.columns)
        super().__init__(config, ctx)
        self._transport: Transport | None = None
        self.session: Session | None = None
        self._rates: dict[str, int] = {}
        self.serial = ""
        self.device_name = ""
        self._fiscal_day = 1
        self._last_status = bits.Status(b"")
        self._refused_login: FiscalError | None = None  # a refused operator password: never sent again
        self._maybe_pending = True  # the store may hold a pending receipt (read once, then tracked)

    def build_handlers(self) -> Handlers:
        return fiscal_handlers(self)

    @property
    def vat_rates(self) -> dict[str, int]:
        return dict(self._rates)

    def _minor(self) -> bool:
        return self.dialect.amounts_in_minor_units

    # -- link -------------------------------------------------------------------------------------
    async def _connect(self) -> None:
        try:
            transport = (self._make_transport() if self._make_transport is not None
                         else open_transport(self.config.connection_details))
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
        try:
            await self._identify()
        except ConnectionLost as exc:
            raise ConnectionLost(f"{exc.detail} — no answer to command 90: check that the register is on, "
                                 f"that the port/address and baud rate are right and that it is a "
                                 f"{self.spec.name} ({self.dialect.title}; docs/devices.md)") from None
        self._rates = await self._read_vat_rates()
        self._fiscal_day = await self._last_z_number() + 1
        try:
            await self._resolve_open()
        except FiscalError as exc:  # e.g. paper out: the receipt is finished once the register is ready (poll)
            if isinstance(exc, ConnectionLost):
                raise
            log.warning("%s: a receipt open on the register is not settled yet: %s", self.config.id, exc.detail)
        await self.poll()

    async def _identify(self) -> None:
        """90: the device's name and serial; a device of another dialect than the configured model is refused
        with both names. X Syntax 1 (TAB fields) [X p.24]: Name, FwRev, FwDate, FwTime, Checksum, Sw,
        SerialNumber, FMNumber; Romanian firmware has no FMNumber [DUDE]; P: ...,Sw,Ser,FM [P p.29]; C:
        ...,Sw,FM,Ser [C p.22]."""
        if self.syntax.x:
            fields = await self._call(c.DIAGNOSTIC, self.syntax.args("1"))
            name = fields[0] if fields else ""
            serial_at = -1 if self.dialect.ro_receipt and len(fields) <= 7 else -2
        else:
            fields = await self._call(c.DIAGNOSTIC, "1")
            name = fields[0].split(" ")[0] if fields else ""
            serial_at = -1 if self.dialect.name == "c" else -2
        self.device_name = name or self.config.model
        self.serial = fields[serial_at].strip() if len(fields) >= -serial_at + 1 else ""
        self.connected_device_id = self.serial or None
        reported = reported_model(name)
        ro_layout = self.syntax.x and len(fields) <= 7  # Romanian 90 has no FM number [DUDE]
        # it answered in this framing, so only a model of the same framing can be meant ("DP-25" from an X
        # register is a name, not a C register)
        if (reported is not None and reported.dialect != self.dialect and reported.variant == self.spec.variant
                and not (self.dialect.ro_receipt and ro_layout)):
            raise FiscalError(Code.CONFIG, f"model: configured as a {self.spec.name} ({self.dialect.title}) but "
                                           f"the device reports {name!r}, a {reported.name} "
                                           f"({reported.dialect.title}): choose model {reported.name}",
                              {"configured_model": self.spec.name, "device_name": name})
        if self.spec.wide_columns:
            with contextlib.suppress(FiscalError, ValueError, IndexError):
                # the columns the device is set to: 255 PrintColumns [X p.42]
                value = int((await self._call(c.PROGRAMMING_X, self.syntax.args("PrintColumns", "", ""),
                                              reading=True))[0])
                if value in (self.spec.columns, *self.spec.wide_columns):
                    self.columns = value
                    self.lines = Lines(self.syntax, self.spec, value)

    async def stop(self) -> None:
        await self._disconnect()
        self.set_status(StatusInfo(DeviceStatus.DISCONNECTED))

    async def perform(self, name: str, run: Callable[[], Awaitable[Result]]) -> Result:
        """Not connected before the operation: 1004, before anything is computed or sent (a lost link during it
        is 2004, ConnectionLost)."""
        if self.session is None:
            detail = f"{self.config.model} is not connected"
            raise FiscalError(Code.CONNECTION, detail) from ConnectionLost(detail)
        return await run()

    async def poll(self) -> None:
        await self._call(c.STATUS, self.syntax.args() if self.syntax.x else "X")
        self._show(self._last_status)
        if self._last_status.standing() is None:
            stored = await self._stored_pending()
            if stored is not None:  # a receipt left unfinished by a refusal: finish it now the device is ready
                try:
                    await self._settle(stored)
                except FiscalError as exc:
                    if isinstance(exc, ConnectionLost):
                        raise
                    log.warning("%s: the unfinished receipt is not settled yet: %s", self.config.id, exc.detail)

    def _show(self, status: bits.Status) -> None:
        standing = status.standing()
        if standing is not None and standing.error is not None:
            self.set_status(StatusInfo(DeviceStatus.ERROR, FiscalError(standing.error, details={
                "device_status": status.flags})))
        else:
            self.set_status(StatusInfo(DeviceStatus.CONNECTED))

    async def _call(self, cmd: int, data: str = "", refusal: Code = Code.DEVICE, reading: bool = False) -> list[str]:
        """One command; its reply's fields. A device error (X error code or a failure bit) is raised as the
        matching FiscalError with the device's own code and flags in ``details``. X: error code 0 means the
        command was done, whatever standing condition (paper out, cover open) the status also shows. Reading
        commands fail only on their own errors: paper out does not stop a status read."""
        if self.session is None:
            raise ConnectionLost(f"{self.config.model}: not connected")
        try:
            raw = data.encode(self.spec.codepage)
        except UnicodeEncodeError as exc:  # every text field is checked first; this is the backstop
            raise FiscalError(Code.CONFIG, f"params: {data[exc.start]!r} cannot be printed by a "
                                           f"{self.spec.name}") from None
        reads = reading or cmd in _READS
        try:
            reply = await self.session.call(cmd, raw, busy_limit_s=_LONG.get(cmd, COMMAND_BUSY_S), repeatable=reads)
        except (OSError, RuntimeError) as exc:  # never a 1000: whatever broke the link is a lost link
            raise ConnectionLost(f"{self.config.model}: {type(exc).__name__}: {exc}") from exc
        text = reply.data.decode(self.spec.codepage, errors="replace")
        status = bits.Status(reply.status)
        self._last_status = status
        error = self.syntax.error_code(text)
        if self.syntax.x:
            failure = status.command_failure() if error or not text else None
            if not text and failure is None:
                failure = bits.SYNTAX_ERROR  # no data at all: the manual's answer to a syntax error [X p.3]
        else:
            failure = status.command_failure() if reads else status.failure()
        if error == 0 and failure is None:
            if self.status.status == DeviceStatus.ERROR and status.standing() is None:
                self._show(status)
            return self.syntax.fields(text)
        if status.standing() is not None or self.status.status == DeviceStatus.ERROR:
            self._show(status)  # never Connected from here: while connecting, start() says when it is ready
        details: dict[str, Any] = {"device_command": f"{cmd:#04x}", "device_status": status.flags}
        if error:
            details["device_error"] = error
        code: Code
        mapped = bits.X_ERRORS.get(error) if error else None
        standing = status.failure()
        if mapped is not None:
            code = mapped
        elif error and standing is not None and standing.error not in (None, Code.DEVICE):
            code = standing.error  # another code while paper is out (cover open...): that is why it was refused
        elif error == 0 and failure is not None and failure.error is not None and failure.error != Code.DEVICE:
            code = failure.error
        elif refusal == Code.RECEIPT_OPEN:  # refused while a document is open, or for another reason
            code = refusal if status.has(bits.FISCAL_RECEIPT_OPEN) or status.has(bits.NON_FISCAL_OPEN) else Code.DEVICE
        else:
            code = refusal
        what = failure.name.replace("_", " ") if failure is not None and not error else f"error {error}"
        raise FiscalError(code, f"{self.device_name or self.config.model} refused command {cmd:#04x}: {what}",
                          details)

    def _reply(self, fields: list[str], index: int, cmd: int) -> str:
        """A field of a reply; a reply too short to have it is unreadable (its command's outcome is unknown)."""
        try:
            return fields[index]
        except IndexError:
            raise FiscalError(Code.DEVICE, f"unreadable answer to command {cmd:#04x}: {fields!r}",
                              {"device_command": f"{cmd:#04x}"}) from None

    def _number(self, fields: list[str], index: int, cmd: int) -> int:
        try:
            return int(self._reply(fields, index, cmd).strip().lstrip("+"))
        except ValueError:
            raise FiscalError(Code.DEVICE, f"unreadable answer to command {cmd:#04x}: {fields!r}",
                              {"device_command": f"{cmd:#04x}"}) from None

    def _amount(self, fields: list[str], index: int, cmd: int) -> int:
        try:
            return c.parse_amount(self._reply(fields, index, cmd), self._minor())
        except ValueError:
            raise FiscalError(Code.DEVICE, f"unreadable answer to command {cmd:#04x}: {fields!r}",
                              {"device_command": f"{cmd:#04x}"}) from None

    # -- reading ----------------------------------------------------------------------------------
    async def _read_vat_rates(self) -> dict[str, int]:
        """X 50: nZreport, TaxA..TaxH, EntDate [X p.10]; Romanian: nZReport, TaxA..TaxG, DateTime [DUDE]; old 97:
        TaxA..TaxH [P p.30] [C p.23] ("DT" = disabled group). 100.00 = disabled [X p.10]."""
        if self.syntax.x:
            groups = 7 if self.dialect.ro_receipt else 8
            fields = (await self._call(c.VAT_RATES_X))[1:1 + groups]
        else:
            fields = (await self._call(c.VAT_RATES_OLD))[:8]
        rates: dict[str, int] = {}
        for letter, value in zip(VAT_LETTERS, fields, strict=False):
            try:
                cents = c.parse_money(value)
            except ValueError:
                continue  # a disabled group ("DT")
            if 0 <= cents < 10_000:
                rates[letter] = cents
        return rates

    async def _last_z_number(self) -> int:
        """The register's last Z report number (64), so a Z whose answer was lost still counts: X nRep first
        [X p.17]; old 'P',N,... or 'F' before the first Z [P p.22] [C p.17]."""
        f = await self._call(c.LAST_FISCAL_RECORD, self.syntax.args("0") if self.syntax.x else "0")
        if self.syntax.x:
            return self._number(f, 0, c.LAST_FISCAL_RECORD)
        return self._number(f, 1, c.LAST_FISCAL_RECORD) if f and f[0] == "P" else 0

    async def _transaction(self) -> Transaction:
        """76. X: IsOpen, Number, Items, Amount, Payed [X p.21]; Romanian: IsOpen, Number, FMNumberRep, FMNumber,
        Items, Amount, Payed [DUDE]; old with 'T': Open, Items, Amount, Tender in bani [P p.25] [C p.20]."""
        cmd = c.TRANSACTION
        if self.syntax.x:
            f = await self._call(cmd)
            at = 4 if self.dialect.ro_receipt else 2
            return Transaction(self._reply(f, 0, cmd) != "0", self._number(f, 1, cmd), self._number(f, at, cmd),
                               self._amount(f, at + 1, cmd), self._amount(f, at + 2, cmd))
        f = await self._call(cmd, "T")
        return Transaction(self._reply(f, 0, cmd) == "1", None, self._number(f, 1, cmd), self._amount(f, 2, cmd),
                           self._amount(f, 3, cmd) if len(f) > 3 else 0)

    async def _last_document(self) -> int:
        """Old protocol 113: the global number of the last document printed [P p.35] [C p.27]."""
        return self._number(await self._call(c.LAST_DOCUMENT), 0, c.LAST_DOCUMENT)

    async def _cash_in_drawer(self) -> int:
        """70 with amount 0: X CashSum [X p.19]; old P,CashSum,ServIn,ServOut, in bani [P p.23] [C p.19]."""
        f = await self._call(c.CASH, self.syntax.args("0", "0.00") if self.syntax.x else "0", reading=True)
        return self._amount(f, 0 if self.syntax.x else 1, c.CASH)

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

    def _pending_write(self, pending: PendingReceipt | None) -> asyncio.Future[None]:
        key, snapshot = state_key(self.config.id), None if pending is None else pending.to_json()
        return self.ctx.db.write_future(lambda conn: device_repo.save_state(conn, key, {"pending": snapshot}))

    async def _save_pending(self, pending: PendingReceipt | None) -> None:
        await self._pending_write(pending)

    async def _stored_pending(self) -> PendingReceipt | None:
        if not self._maybe_pending:
            return None
        key = state_key(self.config.id)
        stored = await self.ctx.db.read(lambda conn: device_repo.load_state(conn, key))
        data = (stored or {}).get("pending")
        self._maybe_pending = data is not None
        return None if data is None else PendingReceipt.from_json(data)

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

    def _plan_payments(self, totals: ReceiptTotals) -> list[Payment]:
        """The payments in the order sent (change comes only from cash: it goes last); a type the model has no
        code for is refused before anything is printed."""
        plan: list[Payment] = []
        for payment in sorted(totals.payments, key=lambda p: p.type == "cash"):
            code = self.payment_codes.get(payment.type)
            if code is None:
                raise FiscalError(Code.CONFIG, f"params.payments: a {self.spec.name} has no payment code for "
                                               f"{payment.type!r}; map it in the device's payment_codes (codes: "
                                               f"{', '.join(f'{k} ({v})' for k, v in self.spec.codes.items())})")
            plan.append(Payment(payment.type, code, payment.amount_cents))
        return plan

    def _check_limits(self, params: m.PrintReceiptParams, totals: ReceiptTotals) -> None:
        limit = self.dialect.item_max
        if limit is not None and len(totals.items) > limit:
            raise FiscalError(Code.CONFIG, f"params.lines: a {self.spec.name} takes at most {limit} sales per "
                                           f"receipt, this one has {len(totals.items)}")

    async def _receipt(self, params: m.PrintReceiptParams, pos: list[dict[str, Any]]) -> r.ReceiptResult:
        totals = compute_receipt(params, self._rates)
        if params.flags.non_fiscal:
            return await self._non_fiscal_receipt(params, totals, pos)
        self._check_limits(params, totals)
        plan = self.lines.plan(params, totals)  # every text checked before anything is printed
        voided = params.close_action == "void"
        pending = PendingReceipt(
            request=params.model_dump(mode="json", by_alias=True), total_cents=totals.total_cents, voided=voided,
            payments=dict(totals.payments_by_type), plan=[] if voided else self._plan_payments(totals),
            items=len(totals.items), lines=[text for _, _, text in plan], pos_transactions=pos,
            operation_id=CURRENT_OPERATION.get())
        login = self._login(params.operator)
        await self._finish_stored()  # a receipt a refusal left open is finished first, never overwritten
        if not self.syntax.x:
            pending.before = await self._last_document()
        recorded: asyncio.Future[None] | None = None
        device_total: int | None = None
        try:
            pending.number = await self._open_receipt(login, params)
            pending.opened = True
            # durable before the receipt can close (awaited before payment), written while the lines go out
            recorded = self._pending_write(pending)
            for cmd, data, _ in plan:
                await self._call(cmd, data)
            sub = await self._call(c.SUBTOTAL, self.lines.subtotal(params.receipt_discount))
            total = self._amount(sub, 1 if self.syntax.x else 0, c.SUBTOTAL)
            await recorded
            if total != totals.total_cents:
                await self._call(c.CANCEL_RECEIPT)
                device_total = total
            elif voided:
                await self._call(c.CANCEL_RECEIPT)
                return await self._journal_receipt(pending, self._void_number(pending), True, totals)
            else:
                await self._pay(pending.plan)
                closed = await self._call(c.CLOSE_RECEIPT)
                number = await self._closed_number(pending, closed)
        except FiscalError as exc:
            if recorded is not None:
                await recorded
            if not pending.opened and not isinstance(exc, ConnectionLost):
                raise
            self._maybe_pending = True
            outcome = await self._reconcile(pending, exc)
            if outcome is not None:
                return outcome
            raise
        if device_total is not None:
            await self._void_record(pending, device_total, "the device's total differs")
            raise FiscalError(Code.DEVICE, f"the device computed {device_total} cents, fiscald "
                                           f"{totals.total_cents}: the receipt was cancelled",
                              {"device_total_cents": device_total, "total_cents": totals.total_cents})
        result = await self._journal_receipt(pending, number, False, totals)
        if params.flags.open_drawer and "open_drawer" not in self.spec.lacking:
            with contextlib.suppress(FiscalError):  # the receipt is printed: a stuck drawer does not undo that
                await self._call(c.DRAWER)
        return result

    async def _closed_number(self, pending: PendingReceipt, closed: list[str]) -> int:
        """The printed receipt's number. X 56: SlipNumber [X p.14]. Old 56 answers counts since the last Z [P
        p.20] [C p.15]: the number is the global document number, 113 [P p.35] [C p.27] [EN
        BgIslFiscalPrinter.cs reads 113 after closing]."""
        if self.syntax.x:
            return self._number(closed, 0, c.CLOSE_RECEIPT)
        with contextlib.suppress(FiscalError):
            return await self._last_document()
        return (pending.before or 0) + 1

    def _login(self, operator: int | None) -> tuple[str, str]:
        """(OpCode, OpPwd): the receipt's operator or the device's, with the configured password or the model's
        factory default. A password the register refused is never sent again (three wrong ones lock a P printer
        [P p.17]) until the device is saved again."""
        number = operator if operator is not None else self.config.operator
        if number > self.dialect.operators:
            raise FiscalError(Code.CONFIG, f"operator: a {self.spec.name} has operators 1..{self.dialect.operators}")
        password = self.config.operator_password or self.spec.default_password(number)
        if self._refused_login is not None:
            raise self._refused_login
        return str(number), password

    async def _open_receipt(self, login: tuple[str, str], params: m.PrintReceiptParams) -> int | None:
        """48; the receipt's number when the dialect gives one (X SlipNumber [X p.9]; old: counts since the last
        Z only [P p.16] [C p.10]: None). Romanian: OpCode, OpPwd, TillNmb, Invoice, ClientTAXN — the buyer's CIF
        makes the receipt a simplified invoice [DUDE] [RO]; Bulgarian X: OpCode, OpPwd, TillNmb, Invoice [X p.9];
        old: OpCode,OpPwd,TillNmb [P p.16] [C p.10]. A receipt found open is resolved first, once."""
        op, password = login
        if self.dialect.ro_receipt:
            cif = params.buyer.cif if params.buyer is not None and params.flags.print_buyer_cif else ""
            data = self.syntax.args(op, password, TILL, "", cif)
        elif self.syntax.x:
            data = self.syntax.args(op, password, TILL, "")
        else:
            data = f"{op},{password},{TILL}"
        try:
            fields = await self._call(c.OPEN_RECEIPT, data, Code.RECEIPT_OPEN)
        except FiscalError as exc:
            if exc.code != Code.RECEIPT_OPEN:
                raise self._login_refused(exc, op) from None
            await self._resolve_open()
            fields = await self._call(c.OPEN_RECEIPT, data, Code.RECEIPT_OPEN)
        return self._number(fields, 0, c.OPEN_RECEIPT) if self.syntax.x else None

    def _login_refused(self, exc: FiscalError, op: str) -> FiscalError:
        """A refused 48. X says why (−102002 wrong password [X8 p.56]): that password is not sent again until
        the device is saved. The old protocol only sets a status bit, and a wrong password is one of its
        reasons [P p.17] [C p.10]; three wrong ones lock a P printer [P p.17], so a P printer is not asked again
        either (until the device is saved or a Z report ran); a C register is answered with what to check."""
        if isinstance(exc, ConnectionLost) or exc.code != Code.DEVICE:
            return exc
        error = (exc.details or {}).get("device_error")
        if self.syntax.x and error != bits.WRONG_PASSWORD:
            return exc
        why = (f"refused operator {op}'s password" if self.syntax.x else
               f"refused to open a receipt for operator {op} (a wrong operator password, or a register that "
               "needs a Z report or service: clock, fiscal memory, header)")
        refused = FiscalError(
            Code.DEVICE, f"{self.device_name or self.spec.name} {why}: check operator and operator_password in "
                         f"the device's settings and save it", {**(exc.details or {}), "operator": int(op)})
        if self.syntax.x or self.dialect.name == "p":
            self._refused_login = refused
        return refused

    async def _pay(self, payments: Sequence[Payment]) -> None:
        """53. X: PaidMode, Amount, Type [X p.11]; old: <Tab><PaidMode><Amount>, answered <PaidCode><Amount>,
        'F' = refused [P p.19-20] [C p.13-14]."""
        for payment in payments:
            amount = c.money(payment.cents)
            if self.syntax.x:
                await self._call(c.PAYMENT, self.syntax.args(payment.code, amount, ""))
            else:
                fields = await self._call(c.PAYMENT, f"\t{payment.code}{amount}")
                if fields and fields[0][:1] == "F":
                    raise FiscalError(Code.DEVICE, "the device refused the payment", {"payment": payment.type})

    async def _journal_receipt(self, pending: PendingReceipt, number: int | None, voided: bool,
                               totals: ReceiptTotals | None = None) -> r.ReceiptResult:
        """``totals``: the receipt's, when the caller has them (else recomputed from the stored request)."""
        if totals is None:
            totals = compute_receipt(m.PrintReceiptParams.model_validate(pending.request), self._rates)
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
            "pos_transactions": pending.pos_transactions,
            "day_receipt_number": 0,
            "document_number": number if number is not None else 0,
        }
        text = "\n".join([*pending.lines, f"TOTAL {c.money(totals.total_cents)}",
                          *(f"{p.type} {c.money(p.amount_cents)}" for p in totals.payments),
                          "ANULAT" if voided else f"BON FISCAL {number}"])

        def content(conn: sqlite3.Connection, entry_id: int) -> dict[str, Any]:
            # counted by the store's one writer in the appending transaction: exact, and a COUNT over the
            # entries since the last Z instead of reading (and parsing) the whole day's journal per receipt
            result["day_receipt_number"] = 1 + journal.count_since(conn, device_id, ("receipt", "void"), day,
                                                                   "z_report")
            result["journal_id"] = entry_id
            return {"request": pending.request, "result": result, "operation_id": pending.operation_id,
                    "payments": {} if voided else pending.payments}

        await self._record("void" if voided else "receipt", number, totals.total_cents, text, content,
                           settles=True)
        return result

    def _void_number(self, pending: PendingReceipt) -> int | None:
        """The register's number of a cancelled receipt: X its slip number; old the document number after the
        one read before opening (113 [P p.35] [C p.27])."""
        return pending.number if self.syntax.x else (pending.before + 1 if pending.before is not None else None)

    async def _void_record(self, pending: PendingReceipt, device_total: int, why: str) -> None:
        """A receipt the register cancelled: journaled with the register's number and the register's total."""
        number = self._void_number(pending)
        await self._record("void", number, device_total, "\n".join([*pending.lines, f"ANULAT: {why}"]),
                           {"request": pending.request, "reason": why, "payments": {},
                            "operation_id": pending.operation_id}, settles=True)

    async def _reconcile(self, pending: PendingReceipt, exc: FiscalError) -> r.ReceiptResult | None:
        """After a failure once the receipt may be open: ask the device what became of it. Returns its result if
        it was printed (or finished now); None if it was cancelled or is still open (the failure stands)."""
        try:
            if isinstance(exc, ConnectionLost):
                await self._disconnect()
                await self._connect()
            return await self._settle(pending)
        except FiscalError as again:
            if isinstance(exc, ConnectionLost):
                raise exc from None  # 2004: bound; the pending record is resolved when the link is back
            # the receipt may still be open on the register (its pending record kept): whatever the code frees
            # by default, the key is bound, and a retry with it answers what the receipt became (docs/http.md);
            # a link lost while asking is kept as the cause, so the manager reconnects
            raise FiscalError(exc.code, f"{exc.detail or exc.code.name}: the receipt stays open on the register; "
                                        "fiscald settles it as soon as the register is ready (finished as the "
                                        "request says once a payment was made, else cancelled) and never prints "
                                        "it again: retry with the same Idempotency-Key for its outcome",
                              {**(exc.details or {}), "receipt_pending": True},
                              left_nothing=False) from (again if isinstance(again, ConnectionLost) else None)

    async def _settle(self, pending: PendingReceipt) -> r.ReceiptResult | None:
        """What became of ``pending`` on the device, journaled: printed -> its result; open with a payment made ->
        finished (the rest paid as the request says, then 56) -> its result; open without payment -> cancelled
        (a void with the register's total, none if it had no sale); never opened -> nothing."""
        tx = await self._transaction()
        if tx.open:
            if self._last_status.has(bits.NON_FISCAL_OPEN) and not self._last_status.has(bits.FISCAL_RECEIPT_OPEN):
                await self._call(c.CLOSE_NON_FISCAL)  # 76 says "open" for a non-fiscal receipt too [P p.25]
                await self._save_pending(None)
                return None
            if not pending.voided and tx.paid_cents > 0:  # 60 is refused once paid [P p.22] [C p.16]: finish it
                await self._pay(pending.remaining(tx.paid_cents))
                closed = await self._call(c.CLOSE_RECEIPT)
                return await self._journal_receipt(pending, await self._closed_number(pending, closed), False)
            await self._call(c.CANCEL_RECEIPT)
            if tx.items > 0:  # a receipt without a sale leaves no document on the register: no void
                await self._void_record(pending, tx.amount_cents, "interrupted; cancelled on the device")
            else:
                await self._save_pending(None)
            return None
        if pending.opened and await self._closed_is_ours(pending, tx):
            if pending.voided:
                return await self._journal_receipt(pending, self._void_number(pending), True)
            if tx.paid_cents >= tx.amount_cents == pending.total_cents and tx.items == pending.items:
                number = tx.number if self.syntax.x else await self._last_document()
                return await self._journal_receipt(pending, number, False)
            if tx.items > 0:
                await self._void_record(pending, tx.amount_cents, "interrupted; cancelled on the device")
                return None
        await self._save_pending(None)  # never opened, or cancelled without a sale: nothing printed
        return None

    async def _closed_is_ours(self, pending: PendingReceipt, tx: Transaction) -> bool:
        """Is the last receipt 76 reports the pending one? X: same number. Old: 76 has no number; 113 moved
        past the last document number read before opening [P p.35] [C p.27] (48/56 count since the last Z and
        are never compared with 113)."""
        if self.syntax.x:
            return pending.number is not None and tx.number == pending.number
        return pending.before is not None and await self._last_document() > pending.before

    async def _finish_stored(self) -> None:
        """Settle a pending receipt left by an earlier request before a new one overwrites it."""
        stored = await self._stored_pending()
        if stored is not None:
            await self._settle(stored)
            if await self._stored_pending() is not None:
                raise FiscalError(Code.RECEIPT_OPEN, "the previous receipt is still open on the register and "
                                                     "cannot be finished yet (see the device's status)")

    async def _resolve_open(self) -> None:
        """A receipt found open on the device: ours (pending) is settled; anyone else's is cancelled and, if it
        had a sale, journaled as a void with the register's number and total. One with a payment made cannot
        be cancelled [P p.22] [C p.16]: it is left for the cashier and reported."""
        pending = await self._stored_pending()
        if pending is not None:
            await self._settle(pending)
            return
        tx = await self._transaction()
        if not tx.open:
            return
        if self._last_status.has(bits.NON_FISCAL_OPEN) and not self._last_status.has(bits.FISCAL_RECEIPT_OPEN):
            await self._call(c.CLOSE_NON_FISCAL)
            return
        if tx.paid_cents > 0:  # not fiscald's, and 60 is refused once paid: the cashier must finish it
            raise FiscalError(Code.RECEIPT_OPEN, "a receipt fiscald did not open is open on the register with a "
                                                 "payment made: finish it on the register",
                              {"device_total_cents": tx.amount_cents, "device_paid_cents": tx.paid_cents})
        before = None if self.syntax.x else await self._last_document()
        await self._call(c.CANCEL_RECEIPT)
        if tx.items > 0:
            await self._record("void", tx.number if self.syntax.x else (before or 0) + 1, tx.amount_cents,
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
        width = self.lines.text_width
        pieces = [p for i, line in enumerate(lines) for p in self.lines.wrap(line, f"params.lines.{i}.text", width)]
        await self._call(c.OPEN_NON_FISCAL, refusal=Code.RECEIPT_OPEN)
        for piece in pieces:
            await self._call(c.NON_FISCAL_TEXT, self.lines.free_text(piece))
        closed = await self._call(c.CLOSE_NON_FISCAL)
        return self._number(closed, 0, c.CLOSE_NON_FISCAL)

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
        try:
            if self.syntax.x:  # Type 0 in / 1 out, Amount; CashSum, CashIn, CashOut [X p.19]
                f = await self._call(c.CASH, self.syntax.args("0" if direction > 0 else "1", amount),
                                     Code.RECEIPT_OPEN)
                now = self._amount(f, 0, c.CASH)
            else:  # signed Amount; P|F, CashSum, ServIn, ServOut in bani [P p.23] [C p.19]
                f = await self._call(c.CASH, amount if direction > 0 else f"-{amount}", Code.RECEIPT_OPEN)
                if f and f[0] == "F":
                    raise FiscalError(Code.DEVICE, "the device refused the cash operation")
                now = self._amount(f, 1, c.CASH)
        except FiscalError as exc:
            if isinstance(exc, ConnectionLost) or exc.code not in (Code.PAPER_OUT, Code.COVER_OPEN, Code.DEVICE):
                raise
            # paper ran out (or an unreadable reply) on an operation the register may have done: the drawer says
            after = await self._cash_in_drawer()
            if after != drawer + direction * params.amount_cents:
                raise
            now = after
        kind = "cash_in" if direction > 0 else "cash_out"
        title = "INTRODUCERE NUMERAR" if direction > 0 else "EXTRAGERE NUMERAR"
        await self._record(kind, None, params.amount_cents, f"{title}\nSUMA: {amount}",
                           {"amount_cents": params.amount_cents, "cash_in_drawer_cents": now})
        return {"cash_in_drawer_cents": now}

    async def cash_in(self, params: m.CashParams) -> r.DrawerResult:
        return await self._cash(params, +1)

    async def cash_out(self, params: m.CashParams) -> r.DrawerResult:
        return await self._cash(params, -1)

    def _report_sums(self, f: list[str]) -> dict[str, int]:
        """69's turnover by VAT group, net of storno. Bulgarian X: nRep, TotA..H, StorA..H [X p.18]; Romanian:
        nRep, TotA..TotF, TotEXEPTAT, TotSInv, VatSInv [DUDE] (the exempt total is read as group G, the 7th
        group the Romanian 50 reports); old: Closure, FM_Total, TotA..H [P p.23] [C p.18]."""
        if self.dialect.ro_receipt:
            sums, storno = f[1:8], []
        elif self.syntax.x:
            sums, storno = f[1:9], f[9:17]
        else:
            sums, storno = f[2:10], []
        gross: dict[str, int] = {}
        try:
            for i, letter in enumerate(VAT_LETTERS):
                value = (c.parse_amount(sums[i], self._minor()) if i < len(sums) else 0) - (
                    c.parse_amount(storno[i], self._minor()) if i < len(storno) else 0)
                if value and letter in self._rates:
                    gross[letter] = value
        except ValueError:
            raise FiscalError(Code.DEVICE, f"unreadable answer to command {c.REPORT:#04x}: {f!r}") from None
        return gross

    async def _z_done_anyway(self, exc: FiscalError) -> tuple[int, dict[str, int]]:
        """A Z whose reply was a failure (paper ran out while it printed, an unreadable reply): if the fiscal
        memory has a new record (64 [X p.17] [P p.22] [C p.17]), the Z was done — never run a second one; its
        number and turnover by group are the record's. Else the failure stands."""
        before = self._fiscal_day - 1
        cmd = c.LAST_FISCAL_RECORD
        f = await self._call(cmd, self.syntax.args("0") if self.syntax.x else "0")
        if self.syntax.x:
            number, sums = self._number(f, 0, cmd), f[1:8 if self.dialect.ro_receipt else 9]
        elif f and f[0] == "P":
            number, sums = self._number(f, 1, cmd), f[2:10]
        else:
            raise exc
        if number <= before:
            raise exc
        try:
            gross = {letter: cents for letter, value in zip(VAT_LETTERS, sums, strict=False)
                     if (cents := c.parse_amount(value, self._minor())) and letter in self._rates}
        except ValueError:
            gross = {}
        return number, gross

    async def _report(self, z: bool) -> r.ReportResult:
        option = ("Z" if z else "X") if self.syntax.x else ("0" if z else "2")
        try:
            f = await self._call(c.REPORT, self.syntax.args(option) if self.syntax.x else option, Code.RECEIPT_OPEN)
            number = self._number(f, 0, c.REPORT)
            gross = self._report_sums(f)
        except FiscalError as exc:
            if not z or isinstance(exc, ConnectionLost) or exc.code not in (Code.PAPER_OUT, Code.COVER_OPEN,
                                                                            Code.DEVICE):
                raise
            number, gross = await self._z_done_anyway(exc)
        if z:
            self._refused_login = None  # a Z may be what the register wanted before opening a receipt
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
        """Cancel the open receipt (60, refused once a payment was made [P p.22] [C p.16]). A receipt with a
        sale is journaled as a void with the register's number and total; one without a sale leaves nothing on
        the register, and nothing in the journal."""
        tx = await self._transaction()
        if not tx.open:
            return {"cancelled": False}
        if self._last_status.has(bits.NON_FISCAL_OPEN) and not self._last_status.has(bits.FISCAL_RECEIPT_OPEN):
            await self._call(c.CLOSE_NON_FISCAL)
            return {"cancelled": True}
        before = None if self.syntax.x else await self._last_document()
        await self._call(c.CANCEL_RECEIPT)
        if tx.items > 0:
            await self._record("void", tx.number if self.syntax.x else (before or 0) + 1, tx.amount_cents,
                               "ANULAT", {"reason": "cancel_receipt", "payments": {}}, settles=True)
        else:
            await self._save_pending(None)
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
            "last_receipt_number": (tx.number or 0) if self.syntax.x else (
                (last_receipt.number or 0) if last_receipt is not None else 0),
            "last_z_datetime": last_z.datetime if last_z is not None else None,
            "datetime": when,
            "cash_in_drawer_cents": drawer,
            "serial": self.serial,
        }

    async def _device_datetime(self) -> str:
        f = await self._call(c.GET_DATETIME)
        try:
            return c.parse_datetime(self._reply(f, 0, c.GET_DATETIME)).astimezone().isoformat()
        except ValueError:
            raise FiscalError(Code.DEVICE, f"unreadable answer to command {c.GET_DATETIME:#04x}: {f!r}") from None

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
