"""The receipt lifecycle every fiscal register shares, whatever its brand: :class:`RegisterDriver`.

A brand supplies a :class:`~fiscald.drivers.register.protocol.RegisterProtocol` (its wire: Datecs and the ISL
family over ``drivers/isl``, Tremol over ``drivers/zfp``); this driver does everything else, once:

- every document the register printed is journaled in the store with the register's own numbers, in one
  transaction with the driver's state, so ``read_journal``, exports and report counts work as with the Simulated
  register; the register stays authoritative for its fiscal memory and its totals;
- exactly once: before a receipt can close it is durably recorded as pending
  (:class:`~fiscald.drivers.register.pending.PendingReceipt`). After any failure once it may be open — a lost or
  unreadable reply, a dropped link, a refusal, paper out — and whenever the driver starts, the register is asked
  what became of it (its transaction; with ``numbering`` "document" also its last document number): a receipt
  that closed is journaled with its real number and answered as printed; one still open is finished as the
  request says (the rest paid, then closed) once a payment was made — registers refuse to cancel then — or
  cancelled if none was. A closed receipt is never sent again;
- a Z or a cash operation whose reply was a failure is checked on the register (its last Z, its drawer) before
  the failure is believed; a refused operator password is not sent again when the protocol says so;
- the device's status (Connected / Error with the standing condition) follows the condition every reply shows
  (the protocol calls :meth:`RegisterDriver.observe` after each one).

A brand's driver is ``class XDriver(RegisterDriver)`` with a ``brand`` name and a constructor that builds its
protocol with ``self.observe`` as the observer (see ``drivers/datecs/driver.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import partial
from typing import Any, ClassVar, Literal, cast

from fiscald.drivers import journal_reads
from fiscald.drivers.base import (
    CURRENT_OPERATION,
    STARTED_RECORD,
    DriverContext,
    FiscalDriver,
    Handlers,
    Result,
    fiscal_handlers,
)
from fiscald.drivers.register.pending import Payment, PendingReceipt
from fiscald.drivers.register.protocol import Condition, LoginRefused, RegisterProtocol, Transaction
from fiscald.errors import Code, ConnectionLost, FiscalError
from fiscald.models.config import FiscalDeviceConfig
from fiscald.models.status import DeviceStatus, StatusInfo
from fiscald.operations import Operation
from fiscald.operations import models as m
from fiscald.operations import results as r
from fiscald.operations.totals import ReceiptTotals, compute_receipt, vat_of
from fiscald.store import devices as device_repo
from fiscald.store import journal

_DAY_KINDS = ("receipt", "void", "cash_in", "cash_out")
# a failure whose operation the register may have done all the same (paper ran out while it printed, an
# unreadable reply): the register's own record decides
_AMBIGUOUS = (Code.PAPER_OUT, Code.COVER_OPEN, Code.DEVICE)


def money(cents: int) -> str:
    """An amount as the journal shows it (``-12.05``)."""
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def quantity(thousandths: int) -> str:
    return f"{thousandths // 1000}.{thousandths % 1000:03d}"


class RegisterDriver(FiscalDriver):
    config: FiscalDeviceConfig
    poll_interval_s: ClassVar[float | None] = 5.0
    receipts_in_journal: ClassVar[bool] = True  # _journal_receipt: data.result and data.operation_id
    #: the brand's short name: the driver's state is stored under ``<brand>:<device id>`` (keep it: a pending
    #: receipt stored under it by an earlier run is settled at start) and it logs as ``fiscald.<brand>``
    brand: ClassVar[str]

    def __init__(self, config: FiscalDeviceConfig, ctx: DriverContext, protocol: RegisterProtocol) -> None:
        self.protocol = protocol
        super().__init__(config, ctx)
        self._connected = False
        self._rates: dict[str, int] = {}
        self.serial = ""
        self.device_name = ""
        self._fiscal_day = 1
        self._refused_login: LoginRefused | None = None  # a refused operator password: never sent again
        self._maybe_pending = True  # the store may hold a pending receipt (read once, then tracked)
        self._day_position: journal.DayPosition | None = None  # the last receipt journaled: counted on from
        self._log = logging.getLogger(f"fiscald.{self.brand}")

    def build_handlers(self) -> Handlers:
        return fiscal_handlers(self)

    @property
    def vat_rates(self) -> dict[str, int]:
        return dict(self._rates)

    def state_key(self) -> str:
        return f"{self.brand}:{self.config.id}"

    # -- link and status ----------------------------------------------------------------------------------------
    async def _connect(self) -> None:
        await self.protocol.connect()
        self._connected = True

    async def _disconnect(self) -> None:
        self._connected = False
        await self.protocol.disconnect()

    async def start(self) -> None:
        await self._disconnect()
        await self._connect()
        identity = await self.protocol.identify()
        self.device_name = identity.name or self.config.model
        self.serial = identity.serial
        self.connected_device_id = self.serial or None
        self._rates = await self.protocol.vat_rates()
        self._fiscal_day = (await self.protocol.last_z()).number + 1
        try:
            await self._resolve_open()
        except FiscalError as exc:  # e.g. paper out: the receipt is finished once the register is ready (poll)
            if isinstance(exc, ConnectionLost):
                raise
            self._log.warning("%s: a receipt open on the register is not settled yet: %s", self.config.id, exc.detail)
        await self.poll()

    async def stop(self) -> None:
        await self._disconnect()
        self.set_status(StatusInfo(DeviceStatus.DISCONNECTED))

    def records_first(self, op: Operation) -> bool:
        """A fiscal receipt's pending record is durable before the receipt can close (awaited before payment),
        and a receipt found open at start-up without one is cancelled: nothing before it needs a record."""
        params = op.params
        return isinstance(params, m.PrintReceiptParams) and not params.flags.non_fiscal

    async def perform(self, name: str, run: Callable[[], Awaitable[Result]]) -> Result:
        """Not connected before the operation: 1004, before anything is computed or sent (a lost link during it
        is 2004, ConnectionLost)."""
        if not self._connected:
            detail = f"{self.config.model} is not connected"
            raise FiscalError(Code.CONNECTION, detail) from ConnectionLost(detail)
        return await run()

    async def poll(self) -> None:
        condition = await self.protocol.refresh()
        self._show(condition)
        if condition.standing is None:
            stored = await self._stored_pending()
            if stored is not None:  # a receipt left unfinished by a refusal: finish it now the device is ready
                try:
                    await self._settle(stored)
                except FiscalError as exc:
                    if isinstance(exc, ConnectionLost):
                        raise
                    self._log.warning("%s: the unfinished receipt is not settled yet: %s", self.config.id, exc.detail)

    def observe(self, condition: Condition, refused: bool) -> None:
        """The protocol's :data:`~fiscald.drivers.register.protocol.Observer`, after every reply: an Error clears
        once a reply shows no standing condition; a refusal shows the condition that stands (never Connected
        from a refusal while connecting: start() says when the register is ready)."""
        if not refused:
            if self.status.status == DeviceStatus.ERROR and condition.standing is None:
                self._show(condition)
        elif condition.standing is not None or self.status.status == DeviceStatus.ERROR:
            self._show(condition)

    def _show(self, condition: Condition) -> None:
        if condition.standing is not None:
            self.set_status(StatusInfo(DeviceStatus.ERROR, FiscalError(condition.standing, details={
                "device_status": list(condition.flags)})))
        else:
            self.set_status(StatusInfo(DeviceStatus.CONNECTED))

    def _now(self) -> str:
        return dt.datetime.now().astimezone().replace(microsecond=0).isoformat()

    def _known(self, gross: Mapping[str, int]) -> dict[str, int]:
        """A report's turnover by VAT letter, of the groups the register has enabled."""
        return {letter: cents for letter, cents in gross.items() if cents and letter in self._rates}

    # -- the journal --------------------------------------------------------------------------------------------
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
                      data: dict[str, Any] | Callable[[sqlite3.Connection, int, int], dict[str, Any]],
                      settles: bool = False) -> journal.JournalEntry:
        """Journal a printed document; ``settles``: it is the outcome of the pending receipt, whose record is
        cleared in the same transaction. ``data`` may be built inside the writing transaction, from the store
        and the entry's own id and seq."""
        device_id, day, when, key = self.config.id, self._fiscal_day, self._now(), self.state_key()

        def write(conn: sqlite3.Connection) -> journal.JournalEntry:
            content: dict[str, Any] | Callable[[int, int], dict[str, Any]] = (
                partial(data, conn) if callable(data) else data)
            entry = journal.append(conn, device_id, kind, number, day, when, total_cents, text, content)
            if settles:
                device_repo.save_state(conn, key, {"pending": None})
            return entry

        entry = await self.ctx.db.write(write)
        self.ctx.on_journal(entry)
        return entry

    def _pending_write(self, pending: PendingReceipt | None,
                       after: asyncio.Future[None] | None = None) -> asyncio.Future[None]:
        key, snapshot = self.state_key(), None if pending is None else pending.to_json()
        return self.ctx.db.write_future(lambda conn: device_repo.save_state(conn, key, {"pending": snapshot}),
                                        after=after)

    async def _save_pending(self, pending: PendingReceipt | None) -> None:
        await self._pending_write(pending)

    async def _stored_pending(self) -> PendingReceipt | None:
        if not self._maybe_pending:
            return None
        key = self.state_key()
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

    # -- receipts -----------------------------------------------------------------------------------------------
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
            code = self.protocol.payment_codes.get(payment.type)
            if code is None:
                names = ", ".join(f"{k} ({v})" for k, v in self.protocol.code_names.items())
                raise FiscalError(Code.CONFIG, f"params.payments: a {self.protocol.name} has no payment code for "
                                               f"{payment.type!r}; map it in the device's payment_codes (codes: "
                                               f"{names})")
            plan.append(Payment(payment.type, code, payment.amount_cents))
        return plan

    async def _receipt(self, params: m.PrintReceiptParams, pos: list[dict[str, Any]]) -> r.ReceiptResult:
        totals = compute_receipt(params, self._rates)
        if params.flags.non_fiscal:
            return await self._non_fiscal_receipt(params, totals, pos)
        steps = self.protocol.plan_receipt(params, totals)  # every text checked before anything is printed
        voided = params.close_action == "void"
        pending = PendingReceipt(
            request=params.model_dump(mode="json", by_alias=True), total_cents=totals.total_cents, voided=voided,
            payments=dict(totals.payments_by_type), plan=[] if voided else self._plan_payments(totals),
            items=len(totals.items), lines=[step.text for step in steps], pos_transactions=pos,
            operation_id=CURRENT_OPERATION.get())
        operator, password = self._login(params.operator)
        await self._finish_stored()  # a receipt a refusal left open is finished first, never overwritten
        if self.protocol.numbering == "document":
            pending.before = await self.protocol.last_document()
        recorded: asyncio.Future[None] | None = None
        device_total: int | None = None
        try:
            pending.number = await self._open(operator, password, params)
            pending.opened = True
            # durable before the receipt can close (awaited before payment), written while the lines go out; not
            # written if the operation's started record, which it commits with (records_first), failed
            recorded = self._pending_write(pending, after=STARTED_RECORD.get())
            for step in steps:
                await self.protocol.send(step)
            total = await self.protocol.subtotal(params.receipt_discount)
            await recorded
            if total != totals.total_cents:
                await self.protocol.cancel_receipt()
                device_total = total
            elif voided:
                await self.protocol.cancel_receipt()
                return await self._journal_receipt(pending, self._void_number(pending), True, totals)
            else:
                await self._pay(pending.plan)
                number = await self._closed_number(pending, await self.protocol.close_receipt())
        except FiscalError as exc:
            if recorded is not None:
                with contextlib.suppress(FiscalError):  # not stored: the receipt is settled from memory all the same
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
        if params.flags.open_drawer and "open_drawer" not in self.protocol.lacking:
            with contextlib.suppress(FiscalError):  # the receipt is printed: a stuck drawer does not undo that
                await self.protocol.open_drawer()
        return result

    async def _closed_number(self, pending: PendingReceipt, closed: int | None) -> int | None:
        """The printed receipt's number: the close reply's when it carries one; numbering "transaction": the
        number it opened with; "document": the register's last document number (else the one after the number
        read before opening)."""
        if closed is not None:
            return closed
        if self.protocol.numbering == "transaction":
            return pending.number
        with contextlib.suppress(FiscalError):
            return await self.protocol.last_document()
        return (pending.before or 0) + 1

    def _login(self, operator: int | None) -> tuple[int, str]:
        """(operator, password): the receipt's operator or the device's, with the configured password or the
        model's factory default. A password the register refused is never sent again when the protocol says so
        (wrong ones lock some registers) until the device is saved again or a Z report ran."""
        number = operator if operator is not None else self.config.operator
        if number > self.protocol.operators:
            raise FiscalError(Code.CONFIG, f"operator: a {self.protocol.name} has operators "
                                           f"1..{self.protocol.operators}")
        password = self.config.operator_password or self.protocol.default_password(number)
        if self._refused_login is not None:
            raise self._refused_login
        return number, password

    async def _open(self, operator: int, password: str, params: m.PrintReceiptParams) -> int | None:
        """Open the receipt; a receipt found open is resolved first, once."""
        try:
            return await self._open_once(operator, password, params)
        except FiscalError as exc:
            if exc.code != Code.RECEIPT_OPEN or isinstance(exc, LoginRefused):
                raise
        await self._resolve_open()
        return await self._open_once(operator, password, params)

    async def _open_once(self, operator: int, password: str, params: m.PrintReceiptParams) -> int | None:
        try:
            return await self.protocol.open_receipt(operator, password, params)
        except LoginRefused as refused:
            if refused.remember:
                self._refused_login = refused
            raise

    async def _pay(self, payments: Sequence[Payment]) -> None:
        for payment in payments:
            await self.protocol.pay(payment)

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
        text = "\n".join([*pending.lines, f"TOTAL {money(totals.total_cents)}",
                          *(f"{p.type} {money(p.amount_cents)}" for p in totals.payments),
                          "ANULAT" if voided else f"BON FISCAL {number}"])

        counted = 0

        def content(conn: sqlite3.Connection, entry_id: int, seq: int) -> dict[str, Any]:
            # in the appending transaction (one write transaction at a time): exact; counted on from the last
            # receipt while it is the entry just before this one, else counted over the entries since the last Z
            nonlocal counted
            counted = result["day_receipt_number"] = journal.day_number(conn, device_id, day, seq,
                                                                        self._day_position)
            result["journal_id"] = entry_id
            return {"request": pending.request, "result": result, "operation_id": pending.operation_id,
                    "payments": {} if voided else pending.payments}

        entry = await self._record("void" if voided else "receipt", number, totals.total_cents, text, content,
                                   settles=True)
        # what the committed write counted (a write may run twice: the last run is the one committed)
        self._day_position = journal.DayPosition(day, entry.seq, counted)
        return result

    def _void_number(self, pending: PendingReceipt) -> int | None:
        """The register's number of a cancelled receipt: numbering "transaction": the number it opened with;
        "document": the one after the document number read before opening."""
        if self.protocol.numbering == "transaction":
            return pending.number
        return pending.before + 1 if pending.before is not None else None

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
        finished (the rest paid as the request says, then closed) -> its result; open without payment ->
        cancelled (a void with the register's total, none if it had no sale); never opened -> nothing."""
        tx = await self.protocol.transaction()
        if tx.open:
            if tx.non_fiscal:
                await self.protocol.close_non_fiscal()
                await self._save_pending(None)
                return None
            if not pending.voided and tx.paid_cents > 0:  # registers refuse to cancel once paid: finish it
                await self._pay(pending.remaining(tx.paid_cents))
                closed = await self.protocol.close_receipt()
                return await self._journal_receipt(pending, await self._closed_number(pending, closed), False)
            await self.protocol.cancel_receipt()
            if tx.had_sales:  # a receipt without a sale leaves no document on the register: no void
                await self._void_record(pending, tx.amount_cents, "interrupted; cancelled on the device")
            else:
                await self._save_pending(None)
            return None
        if pending.opened and await self._closed_is_ours(pending, tx):
            if pending.voided:
                return await self._journal_receipt(pending, self._void_number(pending), True)
            if tx.paid_cents >= tx.amount_cents == pending.total_cents and tx.items in (None, pending.items):
                number = tx.number if self.protocol.numbering == "transaction" else (
                    await self.protocol.last_document())
                return await self._journal_receipt(pending, number, False)
            if tx.had_sales:
                await self._void_record(pending, tx.amount_cents, "interrupted; cancelled on the device")
                return None
        await self._save_pending(None)  # never opened, or cancelled without a sale: nothing printed
        return None

    async def _closed_is_ours(self, pending: PendingReceipt, tx: Transaction) -> bool:
        """Is the last receipt the register reports the pending one? "transaction": the same number.
        "document": the last document number moved past the one read before opening."""
        if self.protocol.numbering == "transaction":
            return pending.number is not None and tx.number == pending.number
        return pending.before is not None and await self.protocol.last_document() > pending.before

    async def _finish_stored(self) -> None:
        """Settle a pending receipt left by an earlier request before a new one overwrites it."""
        stored = await self._stored_pending()
        if stored is not None:
            await self._settle(stored)
            if await self._stored_pending() is not None:
                raise FiscalError(Code.RECEIPT_OPEN, "the previous receipt is still open on the register and "
                                                     "cannot be finished yet (see the device's status)")

    async def _cancel_found(self, tx: Transaction, text: str, reason: str) -> bool:
        """Cancel the receipt the register has open (not a pending one); journaled as a void with the register's
        number and total if it had a sale (one without leaves no document). True if it had one."""
        before = await self.protocol.last_document() if self.protocol.numbering == "document" else None
        await self.protocol.cancel_receipt()
        if not tx.had_sales:
            return False
        number = tx.number if before is None else before + 1
        await self._record("void", number, tx.amount_cents, text, {"reason": reason, "payments": {}}, settles=True)
        return True

    async def _resolve_open(self) -> None:
        """A receipt found open on the device: ours (pending) is settled; anyone else's is cancelled and, if it
        had a sale, journaled as a void with the register's number and total. One with a payment made cannot
        be cancelled: it is left for the cashier and reported."""
        pending = await self._stored_pending()
        if pending is not None:
            await self._settle(pending)
            return
        tx = await self.protocol.transaction()
        if not tx.open:
            return
        if tx.non_fiscal:
            await self.protocol.close_non_fiscal()
            return
        if tx.paid_cents > 0:  # not fiscald's, and registers refuse to cancel once paid: the cashier must finish it
            raise FiscalError(Code.RECEIPT_OPEN, "a receipt fiscald did not open is open on the register with a "
                                                 "payment made: finish it on the register",
                              {"device_total_cents": tx.amount_cents, "device_paid_cents": tx.paid_cents})
        await self._cancel_found(tx, "ANULAT: bon deschis găsit pe casă", "found open")

    async def _non_fiscal_receipt(self, params: m.PrintReceiptParams, totals: ReceiptTotals,
                                  pos: list[dict[str, Any]]) -> r.ReceiptResult:
        lines: list[str] = []
        for line in params.lines:
            if isinstance(line, m.ItemLine):
                lines.append(f"{line.description} {quantity(line.quantity_thousandths)} x "
                             f"{money(line.unit_price_cents)}")
            elif isinstance(line, m.TextLine):
                lines.append(line.text)
        lines.append(f"TOTAL {money(totals.total_cents)}")
        number = await self.protocol.print_non_fiscal(lines)
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

    async def print_non_fiscal(self, params: m.PrintNonFiscalParams) -> r.DocumentResult:
        texts = [line.text for line in params.lines]
        number = await self.protocol.print_non_fiscal(texts)
        await self._record("non_fiscal", number, None, "\n".join(texts), {"lines": texts})
        return {"document_number": number}

    # -- cash and reports ---------------------------------------------------------------------------------------
    async def _cash(self, params: m.CashParams, direction: Literal[1, -1]) -> r.DrawerResult:
        drawer = await self.protocol.cash_in_drawer()
        if direction < 0 and params.amount_cents > drawer:
            raise FiscalError(Code.CASH_OUT_EXCEEDS_DRAWER, f"{params.amount_cents} requested, {drawer} in the drawer",
                              {"cash_in_drawer_cents": drawer})
        try:
            now = await self.protocol.cash(direction, params.amount_cents)
        except FiscalError as exc:
            if isinstance(exc, ConnectionLost) or exc.code not in _AMBIGUOUS:
                raise
            # paper ran out (or an unreadable reply) on an operation the register may have done: the drawer says
            after = await self.protocol.cash_in_drawer()
            if after != drawer + direction * params.amount_cents:
                raise
            now = after
        kind = "cash_in" if direction > 0 else "cash_out"
        title = "INTRODUCERE NUMERAR" if direction > 0 else "EXTRAGERE NUMERAR"
        await self._record(kind, None, params.amount_cents, f"{title}\nSUMA: {money(params.amount_cents)}",
                           {"amount_cents": params.amount_cents, "cash_in_drawer_cents": now})
        return {"cash_in_drawer_cents": now}

    async def cash_in(self, params: m.CashParams) -> r.DrawerResult:
        return await self._cash(params, 1)

    async def cash_out(self, params: m.CashParams) -> r.DrawerResult:
        return await self._cash(params, -1)

    async def _z_done_anyway(self, exc: FiscalError) -> tuple[int, dict[str, int]]:
        """A Z whose reply was a failure (paper ran out while it printed, an unreadable reply): if the fiscal
        memory has a new record, the Z was done — never run a second one; its number and turnover by group are
        the record's. Else the failure stands."""
        record = await self.protocol.last_z()
        if record.number <= self._fiscal_day - 1:
            raise exc
        return record.number, self._known(record.gross)

    async def _report(self, z: bool) -> r.ReportResult:
        try:
            record = await self.protocol.report(z)
            number, gross = record.number, self._known(record.gross)
        except FiscalError as exc:
            if not z or isinstance(exc, ConnectionLost) or exc.code not in _AMBIGUOUS:
                raise
            number, gross = await self._z_done_anyway(exc)
        if z:
            self._refused_login = None  # a Z may be what the register wanted before opening a receipt
        entries = await self._day_entries()
        payments: dict[str, int] = {}
        for e in entries:
            for kind, cents in (e.data.get("payments") or {}).items():
                payments[kind] = payments.get(kind, 0) + int(cents)
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
            "datetime": self._now(),
        }
        if z:
            result["z_number"] = number
        title = "RAPORT Z" if z else "RAPORT X"
        await self._record("z_report" if z else "x_report", number if z else None, result["total_cents"],
                           f"{title} {number}\nTOTAL {money(result['total_cents'])}", cast(dict[str, Any], result))
        if z:
            self._fiscal_day = number + 1
        return result

    async def x_report(self, params: m.NoParams) -> r.ReportResult:
        return await self._report(False)

    async def z_report(self, params: m.NoParams) -> r.ReportResult:
        return await self._report(True)

    async def periodic_report(self, params: m.PeriodicReportParams) -> r.PeriodicReportResult:
        span = await self.protocol.periodic_report(params, self._fiscal_day - 1)
        reports = [e.data for e in await journal_reads.z_reports(self.ctx.db, self.config.id, params)]
        result: r.PeriodicReportResult = {
            "reports_count": len(reports),
            "receipts_count": sum(int(z.get("receipts_count", 0)) for z in reports),
            "total_cents": sum(int(z.get("total_cents", 0)) for z in reports),
            "reports": reports,
        }
        await self._record("periodic_report", None, result["total_cents"],
                           f"RAPORT PERIODIC {span}\nRAPOARTE Z: {len(reports)}",
                           {"params": params.model_dump(mode="json", by_alias=True),
                            **{k: result[k] for k in ("reports_count", "receipts_count", "total_cents")}})
        return result

    # -- the rest -----------------------------------------------------------------------------------------------
    async def print_duplicate(self, params: m.NoParams) -> r.DuplicateResult:
        await self.protocol.duplicate()
        original = await self._journal_last("receipt")
        text = "DUPLICAT\n" + (original.text if original is not None else "")
        number = original.number if original is not None else None
        entry = await self._record("duplicate", number, original.total_cents if original else None, text,
                                   {"original_journal_id": original.id if original else None,
                                    "receipt_number": number})
        return {"receipt_number": number, "document_number": number or 0,
                "original_journal_id": original.id if original is not None else entry.id, "text": text}

    async def cancel_receipt(self, params: m.NoParams) -> r.CancelResult:
        """Cancel the open receipt (refused by registers once a payment was made). A receipt with a sale is
        journaled as a void with the register's number and total; one without a sale leaves nothing on the
        register, and nothing in the journal."""
        tx = await self.protocol.transaction()
        if not tx.open:
            return {"cancelled": False}
        if tx.non_fiscal:
            await self.protocol.close_non_fiscal()
            return {"cancelled": True}
        if not await self._cancel_found(tx, "ANULAT", "cancel_receipt"):
            await self._save_pending(None)
        return {"cancelled": True}

    async def open_drawer(self, params: m.NoParams) -> r.EmptyResult:
        await self.protocol.open_drawer()
        return {}

    async def get_status(self, params: m.NoParams) -> r.StatusResult:
        tx = await self.protocol.transaction()
        await self.poll()
        condition = self.protocol.condition()
        when = await self._device_datetime()
        drawer = await self.protocol.cash_in_drawer()
        last_z = await self._journal_last("z_report")
        if self.protocol.numbering == "transaction":
            last_receipt = tx.number or 0
        else:
            last = await self._journal_last("receipt")
            last_receipt = (last.number or 0) if last is not None else 0
        return {
            "status": self.status.status.value,
            "status_text": self.status.text(self.ctx.language()),
            "paper": condition.paper,
            "cover_open": condition.cover_open,
            "receipt_open": tx.open,
            "fiscal_day_open": bool(await self._day_entries()),
            "fiscal_day": self._fiscal_day,
            "last_receipt_number": last_receipt,
            "last_z_datetime": last_z.datetime if last_z is not None else None,
            "datetime": when,
            "cash_in_drawer_cents": drawer,
            "serial": self.serial,
        }

    async def _device_datetime(self) -> str:
        return (await self.protocol.get_datetime()).astimezone().isoformat()

    async def get_datetime(self, params: m.NoParams) -> r.DatetimeResult:
        return {"datetime": await self._device_datetime()}

    async def set_datetime(self, params: m.SetDatetimeParams) -> r.DatetimeResult:
        target = params.datetime if params.datetime.tzinfo is None else params.datetime.astimezone().replace(
            tzinfo=None)
        await self.protocol.set_datetime(target)
        return {"datetime": await self._device_datetime()}

    async def get_vat_rates(self, params: m.NoParams) -> dict[str, int]:
        self._rates = await self.protocol.vat_rates()
        return dict(sorted(self._rates.items()))

    async def read_journal(self, params: m.ReadJournalParams) -> r.JournalResult:
        return await journal_reads.read_journal(self.ctx.db, self.config.id, params)
