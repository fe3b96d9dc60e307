"""The Datecs registers' wire as the register core uses it (:class:`DatecsProtocol`, a
:class:`~fiscald.drivers.register.protocol.RegisterProtocol`): each step of a fiscal register done with Datecs
commands (docs/devices.md) over the ISL session, in the Romanian X, Bulgarian X, old C and old P dialects. What
differs between the dialects — payment codes, request texts, reply layouts, units, counters, widths, passwords —
is data (``models.Dialect`` and its ``Layout``); the X and the old argument syntaxes are ``commands.Syntax``.

Sources: see ``models.py`` ([X], [X8], [P], [C], [DUDE], [RO]).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, Literal

from fiscald.drivers.datecs import commands as c
from fiscald.drivers.datecs import status as bits
from fiscald.drivers.datecs.lines import Lines
from fiscald.drivers.datecs.models import VAT_LETTERS, model, payment_codes, reported_model
from fiscald.drivers.isl.session import Session
from fiscald.drivers.register.pending import Payment
from fiscald.drivers.register.protocol import Condition, Identity, LoginRefused, Observer, Step, Transaction, ZRecord
from fiscald.drivers.transport import Transport, open_transport
from fiscald.errors import Code, ConnectionLost, FiscalError
from fiscald.models.config import FiscalDeviceConfig
from fiscald.operations import models as m
from fiscald.operations.totals import ReceiptTotals

TILL = "1"  # TillNmb: the point of sale number [X p.9] [C p.10] [P p.16]
_READS = frozenset({c.STATUS, c.TRANSACTION, c.LAST_DOCUMENT, c.DIAGNOSTIC, c.GET_DATETIME, c.VAT_RATES_X,
                    c.VAT_RATES_OLD, c.CHECK_CONNECTION, c.LAST_FISCAL_RECORD})
# How long a device may answer SYN ("still working") before the call is given up (docs/devices.md): reports
# print for long; a payment may wait for a pinpad [X p.11]; anything else is seconds of printing.
REPORT_BUSY_S = 300.0
PAYMENT_BUSY_S = 120.0
COMMAND_BUSY_S = 30.0
_LONG = {c.REPORT: REPORT_BUSY_S, c.PAYMENT: PAYMENT_BUSY_S,
         **{cmd: REPORT_BUSY_S for table in c.FM_REPORTS.values() for cmd in table.values()}}


def condition_of(status: bits.Status) -> Condition:
    standing = status.standing()
    return Condition(tuple(status.flags),
                     "out" if status.has(bits.PAPER_OUT) else "low" if status.has(bits.PAPER_LOW) else "ok",
                     status.has(bits.COVER_OPEN), standing.error if standing is not None else None)


class DatecsProtocol:
    """One Datecs register of the configured model. ``transport`` makes the link instead of the config's
    ``connection_details`` (an in-memory line in tests); ``observer`` is told the condition after every reply."""

    def __init__(self, config: FiscalDeviceConfig, observer: Observer,
                 transport: Callable[[], Transport] | None = None) -> None:
        self.config = config
        self._observer = observer
        self._make_transport = transport
        self.spec = model(config.model)
        self.dialect = self.spec.dialect
        self.layout = self.dialect.layout
        self.syntax = c.Syntax(self.spec.variant)
        self.lines = Lines(self.syntax, self.spec, self.spec.columns)
        self.name = self.spec.name
        # old protocol: 48/56 count since the last Z, 113 numbers documents globally [P p.35] [C p.27]
        self.numbering: Literal["transaction", "document"] = (
            "document" if self.dialect.counters_since_z else "transaction")
        self.operators = self.dialect.operators
        self.lacking = self.spec.lacking
        self.payment_codes = payment_codes(self.spec, config.payment_codes)
        self.code_names = self.spec.codes
        self.device_name = ""
        self._transport: Transport | None = None
        self.session: Session | None = None
        self._last_status = bits.Status(b"")
        self._last_condition = condition_of(self._last_status)

    def default_password(self, operator: int) -> str:
        return self.spec.default_password(operator)

    # -- link -------------------------------------------------------------------------------------------------
    async def connect(self) -> None:
        try:
            transport = (self._make_transport() if self._make_transport is not None
                         else open_transport(self.config.connection_details))
        except ValueError as exc:
            raise FiscalError(Code.CONFIG, f"connection_details.type: {exc}") from None
        await transport.open()
        self._transport = transport
        self.session = Session(transport, self.spec.variant)

    async def disconnect(self) -> None:
        transport, self._transport, self.session = self._transport, None, None
        if transport is not None:
            await transport.close()

    async def identify(self) -> Identity:
        """90: the device's name and serial; a device of another dialect than the configured model is refused
        with both names. X Syntax 1 (TAB fields) [X p.24]: Name, FwRev, FwDate, FwTime, Checksum, Sw,
        SerialNumber, FMNumber; Romanian firmware has no FMNumber [DUDE]; P: ...,Sw,Ser,FM [P p.29]; C:
        ...,Sw,FM,Ser [C p.22]."""
        try:
            fields = await self.call(c.DIAGNOSTIC, self.syntax.args("1"))
        except ConnectionLost as exc:
            raise ConnectionLost(f"{exc.detail} — no answer to command 90: check that the register is on, "
                                 f"that the port/address and baud rate are right and that it is a "
                                 f"{self.spec.name} ({self.dialect.title}; docs/devices.md)") from None
        ro_layout = self.syntax.x and len(fields) <= 7  # Romanian 90 has no FM number [DUDE]
        if self.syntax.x:
            name = fields[0] if fields else ""
            serial_at = -1 if self.dialect.ro_receipt and ro_layout else -2
        else:
            name = fields[0].split(" ")[0] if fields else ""  # the old Name carries more words after it
            serial_at = -1 if self.dialect.name == "c" else -2
        self.device_name = name or self.config.model
        serial = fields[serial_at].strip() if len(fields) >= -serial_at + 1 else ""
        reported = reported_model(name)
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
                value = int((await self.call(c.PROGRAMMING_X, self.syntax.args("PrintColumns", "", ""),
                                             reading=True))[0])
                if value in (self.spec.columns, *self.spec.wide_columns):
                    self.lines = Lines(self.syntax, self.spec, value)
        return Identity(name, serial)

    def condition(self) -> Condition:
        return self._last_condition

    async def refresh(self) -> Condition:
        await self.call(c.STATUS, self.layout.status)
        return self.condition()

    async def call(self, cmd: int, data: str | bytes = "", refusal: Code = Code.DEVICE,
                   reading: bool = False) -> list[str]:
        """One command; its reply's fields. A device error (X error code or a failure bit) is raised as the
        matching FiscalError with the device's own code and flags in ``details``. X: error code 0 means the
        command was done, whatever standing condition (paper out, cover open) the status also shows. Reading
        commands fail only on their own errors: paper out does not stop a status read."""
        if self.session is None:
            raise ConnectionLost(f"{self.config.model}: not connected")
        raw = data if isinstance(data, bytes) else self._encode(data)
        reads = reading or cmd in _READS
        try:
            reply = await self.session.call(cmd, raw, busy_limit_s=_LONG.get(cmd, COMMAND_BUSY_S), repeatable=reads)
        except (OSError, RuntimeError) as exc:  # never a 1000: whatever broke the link is a lost link
            raise ConnectionLost(f"{self.config.model}: {type(exc).__name__}: {exc}") from exc
        text = reply.data.decode(self.spec.codepage, errors="replace")
        if reply.status != self._last_status.raw:  # nearly every reply repeats the status before it: reuse
            self._last_status = bits.Status(reply.status)  # its reading (23 bits, 12 µs a frame otherwise)
            self._last_condition = condition_of(self._last_status)
        status = self._last_status
        error = self.syntax.error_code(text)
        if self.syntax.x:
            failure = status.command_failure() if error or not text else None
            if not text and failure is None:
                failure = bits.SYNTAX_ERROR  # no data at all: the manual's answer to a syntax error [X p.3]
        else:
            failure = status.command_failure() if reads else status.failure()
        refused = error != 0 or failure is not None
        self._observer(self._last_condition, refused)
        if not refused:
            return self.syntax.fields(text)
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

    def _encode(self, data: str) -> bytes:
        try:
            return data.encode(self.spec.codepage)
        except UnicodeEncodeError as exc:  # every text field is checked first; this is the backstop
            raise FiscalError(Code.CONFIG, f"params: {data[exc.start]!r} cannot be printed by a "
                                           f"{self.spec.name}") from None

    def _reply(self, fields: list[str], index: int, cmd: int) -> str:
        """A field of a reply; a reply too short to have it is unreadable (its command's outcome is unknown)."""
        try:
            return fields[index]
        except IndexError:
            raise _unreadable(cmd, fields) from None

    def _number(self, fields: list[str], index: int, cmd: int) -> int:
        try:
            return int(self._reply(fields, index, cmd).strip().lstrip("+"))
        except ValueError:
            raise _unreadable(cmd, fields) from None

    def _amount(self, fields: list[str], index: int, cmd: int) -> int:
        try:
            return c.parse_amount(self._reply(fields, index, cmd), self.dialect.amounts_in_minor_units)
        except ValueError:
            raise _unreadable(cmd, fields) from None

    def _sums(self, values: Sequence[str]) -> dict[str, int]:
        """Turnover fields by VAT group, in order from A (ValueError: unreadable)."""
        minor = self.dialect.amounts_in_minor_units
        return {letter: c.parse_amount(value, minor) for letter, value in zip(VAT_LETTERS, values, strict=False)}

    # -- reads ------------------------------------------------------------------------------------------------
    async def vat_rates(self) -> dict[str, int]:
        """X 50: nZreport, TaxA..TaxH, EntDate [X p.10]; Romanian: nZReport, TaxA..TaxG, DateTime [DUDE]; old 97:
        TaxA..TaxH [P p.30] [C p.23] ("DT" = disabled group). 100.00 = disabled [X p.10]."""
        first = self.layout.vat_first
        fields = (await self.call(self.layout.vat_command))[first:first + self.layout.groups]
        rates: dict[str, int] = {}
        for letter, value in zip(VAT_LETTERS, fields, strict=False):
            try:
                cents = c.parse_money(value)
            except ValueError:
                continue  # a disabled group ("DT")
            if 0 <= cents < 10_000:
                rates[letter] = cents
        return rates

    async def last_z(self) -> ZRecord:
        """64, the last Z report in the fiscal memory: X nRep, TotA.. [X p.17]; old 'P',N,TotA.. or 'F' before
        the first Z [P p.22] [C p.17]. Unreadable sums: none (the number is what counts)."""
        f = await self.call(c.LAST_FISCAL_RECORD, self.syntax.args("0"))
        at = 0
        if self.layout.z_flag:
            if not f or f[0] != "P":
                return ZRecord(0, {})
            at = 1
        number = self._number(f, at, c.LAST_FISCAL_RECORD)
        try:
            gross = self._sums(f[at + 1:at + 1 + self.layout.groups])
        except ValueError:
            gross = {}
        return ZRecord(number, gross)

    async def transaction(self) -> Transaction:
        """76. X: IsOpen, Number, Items, Amount, Payed [X p.21]; Romanian: IsOpen, Number, FMNumberRep, FMNumber,
        Items, Amount, Payed [DUDE]; old with 'T': Open, Items, Amount, Tender in bani [P p.25] [C p.20]. 76 says
        "open" for a non-fiscal receipt too [P p.25]: the status bits tell which."""
        cmd, layout = c.TRANSACTION, self.layout
        f = await self.call(cmd, layout.transaction)
        at = layout.tx_items
        opened = self._reply(f, 0, cmd)
        status = self._last_status
        return Transaction(
            opened != "0" if layout.tx_number is not None else opened == "1",
            self._number(f, layout.tx_number, cmd) if layout.tx_number is not None else None,
            self._number(f, at, cmd), self._amount(f, at + 1, cmd),
            self._amount(f, at + 2, cmd) if layout.tx_number is not None or len(f) > at + 2 else 0,
            non_fiscal=status.has(bits.NON_FISCAL_OPEN) and not status.has(bits.FISCAL_RECEIPT_OPEN))

    async def last_document(self) -> int:
        """Old protocol 113: the global number of the last document printed [P p.35] [C p.27]."""
        return self._number(await self.call(c.LAST_DOCUMENT), 0, c.LAST_DOCUMENT)

    async def cash_in_drawer(self) -> int:
        """70 with amount 0: X CashSum [X p.19]; old P,CashSum,ServIn,ServOut, in bani [P p.23] [C p.19]."""
        f = await self.call(c.CASH, self.syntax.args(*self.layout.drawer), reading=True)
        return self._amount(f, self.layout.drawer_sum, c.CASH)

    async def get_datetime(self) -> dt.datetime:
        f = await self.call(c.GET_DATETIME)
        try:
            return c.parse_datetime(self._reply(f, 0, c.GET_DATETIME))
        except ValueError:
            raise _unreadable(c.GET_DATETIME, f) from None

    # -- a fiscal receipt -------------------------------------------------------------------------------------
    def plan_receipt(self, params: m.PrintReceiptParams, totals: ReceiptTotals) -> list[Step]:
        limit = self.dialect.item_max
        if limit is not None and len(totals.items) > limit:
            raise FiscalError(Code.CONFIG, f"params.lines: a {self.spec.name} takes at most {limit} sales per "
                                           f"receipt, this one has {len(totals.items)}")
        return [Step(cmd, self._encode(data), text) for cmd, data, text in self.lines.plan(params, totals)]

    async def open_receipt(self, operator: int, password: str, params: m.PrintReceiptParams) -> int | None:
        """48; the receipt's number when the dialect gives one (X SlipNumber [X p.9]; old: counts since the last
        Z only [P p.16] [C p.10]: None). Romanian: OpCode, OpPwd, TillNmb, Invoice, ClientTAXN — the buyer's CIF
        makes the receipt a simplified invoice [DUDE] [RO]; Bulgarian X: OpCode, OpPwd, TillNmb, Invoice [X p.9];
        old: OpCode,OpPwd,TillNmb [P p.16] [C p.10]."""
        cif = params.buyer.cif if params.buyer is not None and params.flags.print_buyer_cif else ""
        data = self.syntax.args(str(operator), password, TILL, *("", cif)[:self.layout.open_fields])
        try:
            fields = await self.call(c.OPEN_RECEIPT, data, Code.RECEIPT_OPEN)
        except FiscalError as exc:
            if exc.code == Code.RECEIPT_OPEN:
                raise
            raise self._login_refused(exc, operator) from None
        return self._number(fields, 0, c.OPEN_RECEIPT) if self.numbering == "transaction" else None

    def _login_refused(self, exc: FiscalError, operator: int) -> FiscalError:
        """A refused 48. X says why (−102002 wrong password [X8 p.56]). The old protocol only sets a status bit,
        and a wrong password is one of its reasons [P p.17] [C p.10]; three wrong ones lock a P printer [P p.17],
        so a P printer is not asked again either (until the device is saved or a Z report ran); a C register is
        answered with what to check."""
        if isinstance(exc, ConnectionLost) or exc.code != Code.DEVICE:
            return exc
        wrong = self.layout.wrong_password
        if wrong is not None and (exc.details or {}).get("device_error") != wrong:
            return exc
        why = (f"refused operator {operator}'s password" if wrong is not None else
               f"refused to open a receipt for operator {operator} (a wrong operator password, or a register that "
               "needs a Z report or service: clock, fiscal memory, header)")
        return LoginRefused(f"{self.device_name or self.spec.name} {why}: check operator and operator_password in "
                            "the device's settings and save it", {**(exc.details or {}), "operator": operator},
                            remember=self.dialect.remember_refused_login)

    async def send(self, step: Step) -> None:
        await self.call(step.command, step.data)

    async def subtotal(self, discount: m.PercentDiscount | m.AmountDiscount | None) -> int:
        sub = await self.call(c.SUBTOTAL, self.lines.subtotal(discount))
        return self._amount(sub, self.layout.subtotal_total, c.SUBTOTAL)

    async def pay(self, payment: Payment) -> None:
        """53 (``Layout.payment``); an old register answers 'F' when it refused [P p.19-20] [C p.13-14]."""
        fields = await self.call(c.PAYMENT, self.layout.payment.format(code=payment.code,
                                                                          amount=c.money(payment.cents)))
        if self._refused(fields):
            raise FiscalError(Code.DEVICE, "the device refused the payment", {"payment": payment.type})

    def _refused(self, fields: list[str]) -> bool:
        mark = self.layout.refused_mark
        return mark is not None and bool(fields) and fields[0].startswith(mark)

    async def close_receipt(self) -> int | None:
        """56. X: SlipNumber [X p.14]. Old 56 answers counts since the last Z [P p.20] [C p.15]: no number (the
        receipt's is the global document number, 113 [P p.35] [C p.27] [EN BgIslFiscalPrinter.cs reads 113
        after closing])."""
        closed = await self.call(c.CLOSE_RECEIPT)
        return self._number(closed, 0, c.CLOSE_RECEIPT) if self.numbering == "transaction" else None

    async def cancel_receipt(self) -> None:
        """60 (refused once a payment was made [P p.22] [C p.16])."""
        await self.call(c.CANCEL_RECEIPT)

    async def close_non_fiscal(self) -> None:
        await self.call(c.CLOSE_NON_FISCAL)

    # -- other documents --------------------------------------------------------------------------------------
    async def print_non_fiscal(self, lines: Sequence[str]) -> int:
        width = self.lines.text_width
        pieces = [p for i, line in enumerate(lines) for p in self.lines.wrap(line, f"params.lines.{i}.text", width)]
        await self.call(c.OPEN_NON_FISCAL, refusal=Code.RECEIPT_OPEN)
        for piece in pieces:
            await self.call(c.NON_FISCAL_TEXT, self.lines.free_text(piece))
        closed = await self.call(c.CLOSE_NON_FISCAL)
        return self._number(closed, 0, c.CLOSE_NON_FISCAL)

    async def cash(self, direction: Literal[1, -1], cents: int) -> int:
        """70 (``Layout.cash``). X answers CashSum, CashIn, CashOut [X p.19]; old P|F, CashSum, ServIn, ServOut in
        bani [P p.23] [C p.19]."""
        template = self.layout.cash[0 if direction > 0 else 1]
        f = await self.call(c.CASH, template.format(amount=c.money(cents)), Code.RECEIPT_OPEN)
        if self._refused(f):
            raise FiscalError(Code.DEVICE, "the device refused the cash operation")
        return self._amount(f, self.layout.drawer_sum, c.CASH)

    async def report(self, z: bool) -> ZRecord:
        """69's turnover by VAT group, net of storno. Bulgarian X: nRep, TotA..H, StorA..H [X p.18]; Romanian:
        nRep, TotA..TotF, TotEXEPTAT, TotSInv, VatSInv [DUDE] (the exempt total is read as group G, the 7th
        group the Romanian 50 reports); old: Closure, FM_Total, TotA..H [P p.23] [C p.18]."""
        layout = self.layout
        f = await self.call(c.REPORT, self.syntax.args(layout.reports[z]), Code.RECEIPT_OPEN)
        number = self._number(f, 0, c.REPORT)
        first, groups = layout.report_sums, layout.groups
        try:
            sums = self._sums(f[first:first + groups])
            storno = self._sums(f[first + groups:first + 2 * groups]) if layout.report_storno else {}
        except ValueError:
            raise _unreadable(c.REPORT, f) from None
        return ZRecord(number, {letter: value - storno.get(letter, 0) for letter, value in sums.items()})

    async def periodic_report(self, params: m.PeriodicReportParams, last_z: int) -> str:
        by_date = params.from_date is not None or params.to_date is not None
        cmd = c.FM_REPORTS[self.spec.variant.name][("date" if by_date else "number", params.detailed)]
        if by_date:
            start = (params.from_date or m.MIN_DATE).strftime(self.layout.report_dates)
            end = (params.to_date or dt.date.today()).strftime(self.layout.report_dates)
        else:
            start, end = str(params.from_z or 1), str(params.to_z or max(last_z, 1))
        data = self.layout.fm_report.format(detail="1" if params.detailed else "0", start=start, end=end)
        await self.call(cmd, data, Code.RECEIPT_OPEN)
        return f"{start} - {end}"

    async def duplicate(self) -> None:
        await self.call(c.DUPLICATE, self.syntax.args(*self.layout.duplicate), Code.NO_RECEIPT_TO_DUPLICATE)

    async def open_drawer(self) -> None:
        await self.call(c.DRAWER)

    async def set_datetime(self, value: dt.datetime) -> None:
        await self.call(c.SET_DATETIME, self.syntax.args(c.format_datetime(value)), Code.RECEIPT_OPEN)


def _unreadable(cmd: int, fields: list[str]) -> FiscalError:
    return FiscalError(Code.DEVICE, f"unreadable answer to command {cmd:#04x}: {fields!r}",
                       {"device_command": f"{cmd:#04x}"})
