"""Tremol's registers (ZFP) as the register core uses them (``RegisterProtocol``, drivers/register/protocol.py):
each step one or two ZFP commands, built from the protocol description's syntax, answered in our units.

[D] = Tremol's protocol description, ErpNet.FP ErpNet.FP.Core/Drivers/BgTremol/Docs/protocol_description_BG_1910211454
(pages as printed); [E] = ErpNet.FP ErpNet.FP.Core/Drivers/BgZfpFiscalPrinter.Commands.cs (lines). Every request's
bytes are checked against [D]'s syntax in tests/test_tremol_protocol.py (operation -> exact request, page).

- Receipts open in postponed printing (30h print type 2 [D p.39]): buffered printing (4) makes the register
  unresponsive while a long receipt prints [E 145-148].
- Numbering "transaction": 72h's CurrentReceiptNumber after opening is the receipt's number [D p.72-73]; when no
  receipt is open 71h's TotalReceiptCounter is the last one issued [D p.72]. Reconciliation after an ambiguous
  failure reads these, never the message number (which the description does not promise to de-duplicate on
  [D p.92]).
- An acknowledgement carries two status bytes: STE1 the device's condition, STE2 the command's error [D p.7];
  "00" is success (3Dh "power down in a receipt" is reported once, beside a command that ran). A refusal is the
  matching :class:`~fiscald.errors.FiscalError` with the two bytes in ``details.device_error``.
- 39h cancels an open receipt, but once a payment was made it "finishes payment and closes" [D p.55]: the
  protocol refuses to send it then (the core finishes such a receipt as the request says instead).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Literal

from fiscald.drivers.register.pending import Payment
from fiscald.drivers.register.protocol import Condition, Identity, LoginRefused, Observer, Step, Transaction, ZRecord
from fiscald.drivers.transport import Transport
from fiscald.drivers.tremol import models
from fiscald.drivers.tremol.link import Link
from fiscald.drivers.tremol.models import OUR_LETTERS, Dialect, Model
from fiscald.drivers.zfp import framing as z
from fiscald.drivers.zfp.framing import CommandError as C
from fiscald.drivers.zfp.framing import FdError as F
from fiscald.errors import Code, ConnectionLost, FiscalError
from fiscald.operations import models as m
from fiscald.operations.totals import ReceiptTotals

log = logging.getLogger("fiscald.tremol")

# commands [D index p.1-4]
STATUS, VERSION, DRAWER = 0x20, 0x21, 0x2A
OPEN_NON_FISCAL, CLOSE_NON_FISCAL = 0x2E, 0x2F
OPEN_RECEIPT, SALE, SUBTOTAL, SALE_DEPARTMENT, PAYMENT = 0x30, 0x31, 0x33, 0x34, 0x35
TEXT, CLOSE_RECEIPT, CANCEL_RECEIPT, DUPLICATE, CASH = 0x37, 0x38, 0x39, 0x3A, 0x3B
SET_DATETIME, NUMBERS, VAT_RATES, DAY_BY_VAT, REGISTERS, GET_DATETIME = 0x48, 0x60, 0x62, 0x6D, 0x6E, 0x68
RECEIPT_COUNTER, RECEIPT_INFO, LAST_Z = 0x71, 0x72, 0x73
FM_BY_Z = {True: 0x78, False: 0x79}  # detailed / brief [D p.78-79]
FM_BY_DATE = {True: 0x7A, False: 0x7B}  # [D p.79-80]
DAILY_REPORT = 0x7C

REPORT_BUSY_S = 300.0
RECONNECTS = 3  # a register still serving our previous connection (60h) is connected to again this often
RECONNECT_PAUSE_S = 0.2  # a Z report prints (and the register answers RETRY) for long
PRINT_TYPE_POSTPONED = "2"  # [D p.39]
NON_FISCAL_POSTPONED = "1"  # [D p.38]
DEPARTMENTS = range(1, 20)  # Dep01 = 81h .. Dep19 = 93h [D p.48, p.51]
MAX_NUMBER_TEXT = 10  # "Up to 10 symbols" for prices, amounts and quantities [D p.9, p.47]

# STE1 (the device's condition) that explains a refusal, as our code [D p.7 Table Errors]
FD_CODES: dict[int, Code] = {
    F.PAPER: Code.PAPER_OUT, F.RECEIPT_OPEN: Code.RECEIPT_OPEN, F.PAYMENT_RESIDUE: Code.RECEIPT_OPEN,
    F.NON_FISCAL_OPEN: Code.RECEIPT_OPEN, F.PAID_NOT_CLOSED: Code.RECEIPT_OPEN, F.DAY_BLOCKED: Code.Z_REPORT_REQUIRED,
    F.EJ_OVERFLOW: Code.FISCAL_MEMORY_FULL,
}
# STE2 (the command's own error) as our code [D p.7]
COMMAND_CODES: dict[int, Code] = {
    C.Z_NOT_ZEROED: Code.Z_REPORT_REQUIRED, C.INPUT_OVERFLOW: Code.INVALID_AMOUNT, C.ZERO_INPUT: Code.INVALID_AMOUNT,
    C.NO_CASH: Code.CASH_OUT_EXCEEDS_DRAWER,
}
FD_NAMES: dict[int, str] = {
    F.OK: "OK", F.PAPER: "out of paper, printer failure", F.REGISTERS_OVERFLOW: "registers overflow",
    F.CLOCK: "clock failure or incorrect date and time", F.RECEIPT_OPEN: "opened fiscal receipt",
    F.PAYMENT_RESIDUE: "payment residue account", F.NON_FISCAL_OPEN: "opened non-fiscal receipt",
    F.PAID_NOT_CLOSED: "registered payment but receipt is not closed", F.FM_FAILURE: "fiscal memory failure",
    F.WRONG_PASSWORD: "incorrect password", F.NO_DISPLAY: "missing external display",
    F.DAY_BLOCKED: "24 hours block, missing Z report", F.OVERHEATED: "overheated printer head",
    F.POWER_DOWN_IN_RECEIPT: "power down in a fiscal receipt", F.EJ_OVERFLOW: "EJ overflow",
    F.INSUFFICIENT_CONDITIONS: "insufficient conditions",
}  # [D p.7]
COMMAND_NAMES: dict[int, str] = {
    C.OK: "OK", C.INVALID: "invalid command", C.ILLEGAL: "illegal command",
    C.Z_NOT_ZEROED: "Z daily report is not zero",
    C.SYNTAX: "syntax error", C.INPUT_OVERFLOW: "input registers overflow", C.ZERO_INPUT: "zero input registers",
    C.NO_TRANSACTION: "unavailable transaction for correction", C.NO_CASH: "insufficient amount on hand",
}  # [D p.7]
PASSWORD_COMMANDS = frozenset({OPEN_RECEIPT, OPEN_NON_FISCAL, CASH})
PING_NO_PAPER = 0x02
PING_FLAGS = {PING_NO_PAPER: "FD out of paper", 0x04: "FD printer is overheated",
              0x08: "FD missing external display"}  # the ping answer's bits 1-3 [D p.8]


def money(cents: int) -> str:
    """1234 -> ``12.34``, -5 -> ``-0.05`` [D p.9: a floating point number preceded by + - or space]."""
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def quantity(thousandths: int) -> str:
    """1500 -> ``1.500``: up to three digits after the point [D p.9]."""
    return f"{thousandths // 1000}.{thousandths % 1000:03d}"


AMOUNT = re.compile(r" *[+-]? *[0-9]{1,13}(?:\.[0-9]{1,2})? *")  # [D p.9]; amounts in replies: up to 13 symbols


def parse_money(text: str) -> int:
    """``12.34`` / `` 12.3`` / ``-0.05`` -> cents; ValueError for anything else."""
    if not AMOUNT.fullmatch(text):
        raise ValueError(text)
    return int(Decimal(text.replace(" ", "")) * 100)


def parse_rate(text: str) -> int:
    """``20.00%`` -> 2000 basis points [D p.25]."""
    return parse_money(text.strip().removesuffix("%"))


class TremolProtocol:
    numbering: Literal["transaction", "document"] = "transaction"
    lacking: frozenset[str] = frozenset()

    def __init__(self, model_name: str, transport: Callable[[], Transport], *,
                 payment_codes: Mapping[str, str] | None = None, operator: int = 1, password: str | None = None,
                 lan_password: str | None = None, observer: Observer | None = None) -> None:
        """``transport`` makes a new link for each connect; ``operator``/``password``: who opens non-fiscal
        documents and cash operations (the device's configured operator); ``lan_password``: sent after connecting
        over TCP when the register asks for one [D p.6] (ErpNet.FP sends none)."""
        self.spec: Model = models.model(model_name)
        self.dialect: Dialect = self.spec.dialect
        self.name = self.spec.name
        self.operators = self.dialect.operators
        self.payment_codes: Mapping[str, str] = {**self.dialect.payments, **(payment_codes or {})}
        self.code_names: Mapping[str, str] = self.dialect.codes
        self.operator = operator
        self.password = password
        self.lan_password = lan_password
        self.observer = observer
        self.columns = self.spec.columns
        self.text_width = self.spec.columns - 2  # 37h Text[TextLength-2] [D p.54]
        self.item_name = self.spec.item_name
        self.item_printed = self.spec.item_printed
        self._make_transport = transport
        self._transport: Transport | None = None
        self.link: Link | None = None
        self._status = bytes(7)
        self._fd: int = F.OK  # STE1 of the last acknowledgement
        self._ping: int = z.Ping.READY  # the last answer to a ping: its condition bits [D p.8]
        # sales acknowledged per receipt number: 72h has no sales count for a receipt already closed [D p.72]
        self._sales: dict[int, int] = {}
        self._receipt: int | None = None

    def default_password(self, operator: int) -> str:
        """[E Commands.cs:139-142] Operator.Password "0000" (the description asks for 6 symbols [D p.39]; a
        register ErpNet.FP drives takes the 4)."""
        return "0000"

    # -- link -----------------------------------------------------------------------------------------
    async def connect(self) -> None:
        transport = self._make_transport()
        await transport.open()
        self._transport = transport
        self.link = Link(transport)
        if self.lan_password:
            await self.link.login(self.lan_password)

    async def disconnect(self) -> None:
        transport, self._transport, self.link = self._transport, None, None
        if transport is not None:
            await transport.close()

    def _link(self) -> Link:
        if self.link is None:
            raise ConnectionLost(f"Tremol {self.name}: not connected")
        return self.link

    async def _exchange(self, cmd: int, data: bytes, busy_limit_s: float | None) -> z.Ack | z.Frame:
        """One command; a first command answered 60h "busy with another connection" [D p.8] right after we
        connected is our previous connection the register has not yet seen closed (a reconnect after a lost
        reply): connect again, a few times, before it counts. Nothing was sent: the ping refused."""
        for attempt in range(RECONNECTS + 1):
            link = self._link()
            first = link.stats.commands == 0
            try:
                return await (link.call(cmd, data) if busy_limit_s is None else link.call(cmd, data, busy_limit_s))
            except FiscalError as exc:
                other = (exc.details or {}).get("device_ping") == f"{z.Ping.OTHER_CONNECTION:#04x}"
                if not (other and first and attempt < RECONNECTS):
                    raise
            await self.disconnect()
            await asyncio.sleep(RECONNECT_PAUSE_S)
            await self.connect()
        raise AssertionError("unreachable")

    async def _call(self, cmd: int, data: bytes = b"", busy_limit_s: float | None = None) -> z.Ack | z.Frame:
        try:
            reply = await self._exchange(cmd, data, busy_limit_s)
        except ConnectionLost:
            raise
        except FiscalError:  # the ping refused (LAN): nothing was sent
            self._observe(True)
            raise
        except (OSError, RuntimeError) as exc:
            raise ConnectionLost(f"Tremol {self.name}: {type(exc).__name__}: {exc}") from exc
        if self.link is not None and self.link.last_ping is not None:
            self._ping = self.link.last_ping
        refused = False
        if isinstance(reply, z.Ack):
            self._fd = reply.fd_error
            refused = not (reply.command_error == C.OK and reply.fd_error in (F.OK, F.POWER_DOWN_IN_RECEIPT))
        else:
            self._fd = F.OK
        self._observe(refused)
        if refused:
            assert isinstance(reply, z.Ack)
            raise self._refusal(cmd, reply)
        return reply

    async def _command(self, cmd: int, data: bytes = b"", busy_limit_s: float | None = None) -> None:
        """A command answered with an acknowledgement."""
        await self._call(cmd, data, busy_limit_s)

    async def _ask(self, cmd: int, data: bytes = b"") -> list[str]:
        """A query; its answer's ``;``-separated fields."""
        reply = await self._call(cmd, data)
        if not isinstance(reply, z.Frame):
            raise FiscalError(Code.DEVICE, f"Tremol {self.name} answered command {cmd:#04x} without data",
                              {"device_command": f"{cmd:#04x}"})
        return reply.data.decode(self.dialect.codepage, errors="replace").split(";")

    def _refusal(self, cmd: int, ack: z.Ack) -> FiscalError:
        fd, command = ack.fd_error, ack.command_error
        if fd == F.PAPER:
            code = Code.PAPER_OUT
        elif command in (C.OK, C.ILLEGAL):  # refused because of the device's condition (STE1)
            code = FD_CODES.get(fd, Code.DEVICE)
        else:
            code = COMMAND_CODES.get(command, Code.DEVICE)
        why = "; ".join(text for text in (FD_NAMES.get(fd, f"{fd:#04x}") if fd != F.OK else "",
                                         COMMAND_NAMES.get(command, f"{command:#04x}") if command != C.OK else "")
                        if text)
        details: dict[str, Any] = {"device_command": f"{cmd:#04x}", "device_error": bytes((fd, command)).decode(),
                                   "device_status": list(self.condition().flags)}
        detail = f"Tremol {self.name} refused command {cmd:#04x}: {why} (status {chr(fd)}{chr(command)})"
        if fd == F.WRONG_PASSWORD and cmd in PASSWORD_COMMANDS:
            return LoginRefused(f"{detail}: check operator and operator_password in the device's settings and "
                                "save it", details, remember=True)
        return FiscalError(code, detail, details)

    def _observe(self, refused: bool) -> None:
        if self.observer is not None:
            self.observer(self.condition(), refused)

    async def identify(self) -> Identity:
        """1Dh M: country, encoding and widths [D p.93]; a device of another dialect than the configured model is
        refused naming both (a register without the GS protocol, older firmware, is checked by 21h alone). 21h
        version (ending with ';' in real answers [E BgTremolZfpFiscalPrinterDriver.cs:44]) + 60h serial and FM
        numbers [D p.12, p.25]; V2 firmware by a model name ending in V2 [E BgTremolZfpV2FiscalPrinterDriver.cs:59]."""
        try:
            line = await self._link().gs("M")
        except FiscalError as exc:  # NACK, or no answer at all (ConnectionLost): the next command tells which
            log.warning("Tremol %s: no answer to 1Dh M (%s): the dialect is checked by 21h only", self.name,
                        exc.detail)
            line = ""
        if line:
            self._check_country(line.removeprefix("M").split(";"))
        version = await self._ask(VERSION)
        numbers = await self._ask(NUMBERS)
        device_name = version[3].strip() if len(version) > 3 else ""
        if device_name and device_name.endswith("V2") != self.dialect.v2:
            raise FiscalError(Code.CONFIG, f"model: configured as a Tremol {self.name} ({self.dialect.title}) but "
                                           f"the register is a {device_name!r}: choose "
                                           f"{'a model ending in V2' if not self.dialect.v2 else 'a model without V2'}",
                              {"configured_model": self.name, "device_name": device_name})
        return Identity(device_name or f"Tremol {self.name}", numbers[0].strip())

    def _check_country(self, fields: list[str]) -> None:
        country, encoding = [*fields, "", ""][:2]
        if country != self.dialect.country or not models.same_codec(encoding, self.dialect.codepage):
            raise FiscalError(Code.CONFIG, f"model: configured as a Tremol {self.name} ({self.dialect.title}: "
                                           f"{self.dialect.country}, {self.dialect.codepage}) but the register "
                                           f"answers country {country!r}, encoding {encoding!r}: choose a model "
                                           "of its country (docs/devices.md)",
                              {"configured_model": self.name, "device_country": country,
                               "device_encoding": encoding})
        self._widths(fields)

    def _widths(self, fields: list[str]) -> None:
        """1Dh M: printable characters per line, free-text characters, article name symbols in the command and
        printed (fields 15-18 of the answer) [D p.93]."""
        try:
            columns, text, name, printed = (int(x) for x in fields[14:18])
        except ValueError:
            return  # not given: the model's table stands
        if 16 <= columns <= 80 and 0 < text <= columns and 0 < printed <= name <= 72:
            self.columns, self.text_width, self.item_name, self.item_printed = columns, text, name, printed

    def condition(self) -> Condition:
        flags = [name for byte, names in enumerate(self.dialect.status_names)
                 for bit, name in enumerate(names) if name and byte < len(self._status)
                 and self._status[byte] & (1 << bit)]
        if self._fd not in (F.OK,):
            flags.append(FD_NAMES.get(self._fd, f"STE1 {self._fd:#04x}"))
        flags += [name for bit, name in PING_FLAGS.items() if self._ping & bit]
        out = self._has(models.NO_PAPER) or self._fd == F.PAPER or bool(self._ping & PING_NO_PAPER)
        low = "Near end of paper" in flags
        return Condition(tuple(dict.fromkeys(flags)), "out" if out else "low" if low else "ok", False,
                         Code.PAPER_OUT if out else None)

    def _has(self, flag: tuple[int, int]) -> bool:
        byte, bit = flag
        return len(self._status) > byte and bool(self._status[byte] & (1 << bit))

    async def refresh(self) -> Condition:
        """20h: seven status bytes, bit 7 always 1 [D p.10-11]."""
        reply = await self._call(STATUS)
        if isinstance(reply, z.Frame) and len(reply.data) >= 7:
            self._status = reply.data[:7]
            self._observe(False)
        return self.condition()

    # -- reads ----------------------------------------------------------------------------------------
    def _int(self, fields: list[str], index: int, cmd: int) -> int:
        try:
            return int(fields[index].strip())
        except (IndexError, ValueError):
            raise self._unreadable(fields, cmd) from None

    def _money(self, fields: list[str], index: int, cmd: int) -> int:
        try:
            return parse_money(fields[index])
        except (IndexError, ValueError):
            raise self._unreadable(fields, cmd) from None

    def _unreadable(self, fields: list[str], cmd: int) -> FiscalError:
        return FiscalError(Code.DEVICE, f"unreadable answer to command {cmd:#04x}: {';'.join(fields)!r}",
                           {"device_command": f"{cmd:#04x}"})

    async def vat_rates(self) -> dict[str, int]:
        """62h: ``##.##%`` per VAT class, class 0 first [D p.25]."""
        fields = await self._ask(VAT_RATES)
        rates: dict[str, int] = {}
        for i, text in enumerate(fields[:len(self.dialect.vat_letters)]):
            try:
                rate = parse_rate(text)
            except ValueError:
                continue
            if 0 <= rate < 10_000:
                rates[OUR_LETTERS[i]] = rate
        return rates

    async def _day_gross(self) -> dict[str, int]:
        """6Dh: the day's sales by VAT class, their sum, then storno by class and its sum [D p.59]; net of storno."""
        f = await self._ask(DAY_BY_VAT)
        gross: dict[str, int] = {}
        for i in range(len(self.dialect.vat_letters)):
            value = self._money(f, i, DAY_BY_VAT) - (self._money(f, 9 + i, DAY_BY_VAT) if len(f) > 9 + i else 0)
            if value:
                gross[OUR_LETTERS[i]] = value
        return gross

    async def _last_z_number(self) -> int:
        """73h: LastZDailyReportDate; LastZDailyReportNum; ... [D p.76]."""
        return self._int(await self._ask(LAST_Z), 1, LAST_Z)

    async def last_z(self) -> ZRecord:
        """The last Z's number (73h). The description has no read of a past Z's turnover by class (6Dh is the
        day since it): the gross is left empty, the journal holds it."""
        return ZRecord(await self._last_z_number(), {})

    async def transaction(self) -> Transaction:
        """20h for what is open, then 72h [D p.72-73]: IsReceiptOpened; SalesNumber; VAT0..2 subtotals;
        ForbiddenVoid; VATinReceipt; ReceiptFormat; InitiatedPayment; FinalizedPayment; PowerDown; TypeReceipt;
        ChangeAmount; OptionChangeType; VAT3..7 subtotals; CurrentReceiptNumber. Paid: 72h P's amounts by payment
        type, "valid after receipt closing also" [D p.73]. No receipt open: the last one, numbered by 71h [D p.72]
        with its amount from 72h B ``FM*Number*Date*Time*Amount`` [D p.74] and its sales as acknowledged to this
        protocol; 72h has no count for a closed receipt, so one this process did not print (a restart) has none
        (``items`` None: the core matches it by number and amount)."""
        await self.refresh()
        f = await self._ask(RECEIPT_INFO)
        fiscal = f[0] == "1"
        non_fiscal = self._has(models.NON_FISCAL_OPEN) and not fiscal
        paid = await self._paid()
        if fiscal:
            amount = sum(self._money(f, i, RECEIPT_INFO) for i in (2, 3, 4, 14, 15, 16, 17, 18))
            return Transaction(True, self._int(f, 19, RECEIPT_INFO), self._int(f, 1, RECEIPT_INFO), amount, paid)
        number = await self.last_document()
        qr = (await self._ask(RECEIPT_INFO, b"B"))[0].split("*")
        amount = self._money(qr, 4, RECEIPT_INFO) if len(qr) > 4 else 0
        return Transaction(non_fiscal, number, self._sales.get(number), amount, paid, non_fiscal=non_fiscal)

    async def _paid(self) -> int:
        f = await self._ask(RECEIPT_INFO, b"P")
        return sum(self._money(f, i, RECEIPT_INFO) for i in range(2, len(f)))

    async def last_document(self) -> int:
        """71h: the total receipt counter, the last issued receipt [D p.72]."""
        return self._int(await self._ask(RECEIPT_COUNTER), 0, RECEIPT_COUNTER)

    async def cash_in_drawer(self) -> int:
        """6Eh ``0``: ``0;`` then the amounts on hand by payment type, type 0 = cash [D p.60] (KL: types 0-4)."""
        return self._money(await self._ask(REGISTERS, b"0"), 1, REGISTERS)

    async def get_datetime(self) -> dt.datetime:
        """68h: ``DD-MM-YYYY HH:MM`` [D p.30]."""
        f = await self._ask(GET_DATETIME)
        try:
            return dt.datetime.strptime(f[0].strip(), "%d-%m-%Y %H:%M")
        except ValueError:
            raise self._unreadable(f, GET_DATETIME) from None

    # -- a fiscal receipt -----------------------------------------------------------------------------
    def _text(self, text: str, field: str) -> bytes:
        return models.encode(text, self.dialect, field, self.name)

    def _number(self, text: str, field: str) -> bytes:
        if len(text) > MAX_NUMBER_TEXT:
            raise FiscalError(Code.INVALID_AMOUNT, f"{field}: {text} has more than {MAX_NUMBER_TEXT} symbols, "
                                                   f"beyond a Tremol register's range")
        return text.encode("ascii")

    def _class(self, letter: str, field: str) -> bytes:
        index = OUR_LETTERS.find(letter)
        if not 0 <= index < len(self.dialect.vat_letters):
            groups = OUR_LETTERS[:len(self.dialect.vat_letters)]
            raise FiscalError(Code.INVALID_VAT_GROUP, f"{field}: VAT group {letter} does not exist on a Tremol "
                                                      f"{self.name} (groups {groups})")
        return self.dialect.vat_letters[index].encode(self.dialect.codepage)

    def _discount(self, d: m.PercentDiscount | m.AmountDiscount, field: str) -> bytes:
        """``,±DiscAddP`` or ``:±DiscAddV``, minus for a discount [D p.47, p.50]."""
        sign = "" if d.is_surcharge else "-"
        if isinstance(d, m.AmountDiscount):
            return b":" + self._number(f"{sign}{money(d.amount_cents)}", f"{field}.amount_cents")
        return b"," + self._number(f"{sign}{money(d.basis_points)}", f"{field}.basis_points")

    def _sale(self, item: m.ItemLine, letter: str, field: str) -> Step:
        """31h ``NamePLU[36];OptionVATClass;Price{*Qty}{,DiscAddP}{:DiscAddV}`` [D p.47]; with a department 34h
        ``NamePLU[36];DepNum;Price...{!OptionVATClass}``, DepNum one raw byte dep + 80h [D p.51]
        ([E Commands.cs:210-218]). The name is space-padded to 36 or the register answers a syntax error
        [E Commands.cs:32-35]; 34 symbols are printed [D p.47]: a longer one is refused, never cut."""
        name = self._text(item.description, f"{field}.description")
        if len(name) > self.item_printed:
            raise FiscalError(Code.CONFIG, f"{field}.description: a Tremol {self.name} prints at most "
                                           f"{self.item_printed} characters of an item's name, this one has "
                                           f"{len(name)}")
        if b"|" in name:  # 7Ch is the description's line separator [D p.47]
            raise FiscalError(Code.CONFIG, f"{field}.description: '|' starts a new line on a Tremol register")
        qty = item.quantity_thousandths
        price = item.unit_price_cents if qty > 0 else -item.unit_price_cents  # a correction: minus price [D p.47]
        body = (self._number(money(price), f"{field}.unit_price_cents") + b"*"
                + self._number(quantity(abs(qty)), f"{field}.quantity_thousandths"))
        if item.discount is not None:
            body += self._discount(item.discount, f"{field}.discount")
        vat = self._class(letter, f"{field}.vat")
        padded = name.ljust(self.item_name, b" ")
        text = f"{item.description} {quantity(qty)} x {money(item.unit_price_cents)} {letter}"
        if item.department is None:
            return Step(SALE, padded + b";" + vat + b";" + body, text)
        if item.department not in DEPARTMENTS:
            raise FiscalError(Code.CONFIG, f"{field}.department: a Tremol register has departments 1..19")
        return Step(SALE_DEPARTMENT, padded + b";" + bytes((0x80 + item.department,)) + b";" + body + b"!" + vat,
                    text)

    def _subtotal_data(self, discount: m.PercentDiscount | m.AmountDiscount | None, field: str) -> bytes:
        """33h ``OptionPrinting;OptionDisplay{:DiscAddV}{,DiscAddP}``: printed, not displayed [D p.50]
        (ErpNet.FP's ``1;0:amount`` [E Commands.cs:54-58])."""
        return b"1;0" + (self._discount(discount, field) if discount is not None else b"")

    def _check_value_discount(self, d: m.PercentDiscount | m.AmountDiscount | None, letters: set[str],
                              field: str) -> None:
        """A value discount on a subtotal only when every sale is of one VAT group [D p.50]."""
        if isinstance(d, m.AmountDiscount) and len(letters) > 1:
            raise FiscalError(Code.CONFIG, f"{field}: a Tremol register takes an amount discount on a subtotal only "
                                           f"when every sale above it is of one VAT group (here "
                                           f"{', '.join(sorted(letters))}); use a percent discount")

    def plan_receipt(self, params: m.PrintReceiptParams, totals: ReceiptTotals) -> Sequence[Step]:
        steps: list[Step] = []
        letters = {item.index: item.vat_letter for item in totals.items}
        seen: set[str] = set()
        if params.buyer is not None and params.flags.print_buyer_cif:
            for piece in self.wrap(f"CIF: {params.buyer.cif}", "params.buyer.cif"):
                steps.append(Step(TEXT, piece, piece.decode(self.dialect.codepage)))
        for index, line in enumerate(params.lines):
            field = f"params.lines.{index}"
            if isinstance(line, m.ItemLine):
                seen.add(letters[index])
                steps.append(self._sale(line, letters[index], field))
            elif isinstance(line, m.TextLine):
                for piece in self.wrap(line.text, f"{field}.text"):
                    steps.append(Step(TEXT, piece, piece.decode(self.dialect.codepage)))
            else:
                self._check_value_discount(line.discount, seen, f"{field}.discount")
                steps.append(Step(SUBTOTAL, self._subtotal_data(line.discount, f"{field}.discount"), "SUBTOTAL"))
        self._check_value_discount(params.receipt_discount, seen, "params.receipt_discount")
        if params.receipt_discount is not None:
            self._subtotal_data(params.receipt_discount, "params.receipt_discount")  # its range, checked now
        return steps

    def wrap(self, text: str, field: str) -> list[bytes]:
        """A text line in the code page, in pieces of the free-text width (37h Text[TextLength-2] [D p.54])."""
        raw = self._text(text, field)
        width = self.text_width
        return [raw[i:i + width] for i in range(0, len(raw), width)] or [b""]

    def _login(self, operator: int, password: str) -> bytes:
        return f"{operator};{password}".encode("ascii")

    async def open_receipt(self, operator: int, password: str, params: m.PrintReceiptParams) -> int | None:
        """30h ``OperNum;OperPass;ReceiptFormat;PrintVAT;FiscalRcpPrintType``: detailed, VAT printed, postponed
        [D p.39]; then 72h for its number."""
        await self._command(OPEN_RECEIPT, self._login(operator, password) + b";1;1;" +
                            PRINT_TYPE_POSTPONED.encode())
        f = await self._ask(RECEIPT_INFO)
        self._receipt = self._int(f, 19, RECEIPT_INFO)
        self._sales = {self._receipt: 0}
        return self._receipt

    async def send(self, step: Step) -> None:
        await self._command(step.command, step.data)
        if step.command in (SALE, SALE_DEPARTMENT) and self._receipt is not None:
            self._sales[self._receipt] = self._sales.get(self._receipt, 0) + 1

    async def subtotal(self, discount: m.PercentDiscount | m.AmountDiscount | None) -> int:
        """33h -> SubtotalValue [D p.50]."""
        reply = await self._call(SUBTOTAL, self._subtotal_data(discount, "params.receipt_discount"))
        if not isinstance(reply, z.Frame):
            raise FiscalError(Code.DEVICE, f"Tremol {self.name} answered the subtotal without its value")
        return self._money([reply.data.decode("ascii", errors="replace")], 0, SUBTOTAL)

    async def pay(self, payment: Payment) -> None:
        """35h ``PaymentType;OptionChange;Amount`` [D p.53]: cash with change (0), any other type without (1)."""
        change = "0" if payment.code == self.dialect.payments.get("cash") else "1"
        amount = self._number(money(payment.cents), "params.payments.amount_cents").decode()
        await self._command(PAYMENT, f"{payment.code};{change};{amount}".encode("ascii"))

    async def close_receipt(self) -> int | None:
        """38h [D p.54]: an acknowledgement; the number is the one 72h gave at opening."""
        await self._command(CLOSE_RECEIPT)
        return None

    async def cancel_receipt(self) -> None:
        """39h [D p.55], only while no payment was made: after one, 39h would finish the receipt in cash."""
        f = await self._ask(RECEIPT_INFO)
        if f[0] == "1" and len(f) > 8 and f[8] == "1":  # InitiatedPayment [D p.72]
            raise FiscalError(Code.RECEIPT_OPEN, f"Tremol {self.name}: a payment was made on the open receipt; it "
                                                 "cannot be cancelled, only finished",
                              {"device_command": f"{CANCEL_RECEIPT:#04x}"})
        await self._command(CANCEL_RECEIPT)

    async def close_non_fiscal(self) -> None:
        await self._command(CLOSE_NON_FISCAL)  # 2Fh [D p.38]

    # -- other documents ------------------------------------------------------------------------------
    def _own_login(self) -> bytes:
        return self._login(self.operator, self.password or self.default_password(self.operator))

    async def print_non_fiscal(self, lines: Sequence[str]) -> int:
        """2Eh ``OperNum;OperPass;0;NonFiscalPrintType`` (postponed) [D p.38], 37h per line [D p.54], 2Fh. ZFP
        numbers no non-fiscal document: 0."""
        pieces = [p for i, line in enumerate(lines) for p in self.wrap(line, f"params.lines.{i}.text")]
        await self._command(OPEN_NON_FISCAL, self._own_login() + b";0;" + NON_FISCAL_POSTPONED.encode())
        for piece in pieces:
            await self._command(TEXT, piece)
        await self._command(CLOSE_NON_FISCAL)
        return 0

    async def cash(self, direction: Literal[1, -1], cents: int) -> int:
        """3Bh ``OperNum;OperPass;0;Amount``, minus for paid out [D p.55]; then 6Eh's cash on hand."""
        amount = self._number(money(direction * cents), "params.amount_cents")
        await self._command(CASH, self._own_login() + b";0;" + amount)
        return await self.cash_in_drawer()

    async def report(self, z: bool) -> ZRecord:
        """7Ch ``X``/``Z`` [D p.80]. The day's turnover is read first (6Dh [D p.59]): a Z zeroes it. The number: 73h's
        last Z after a Z; the next one for an X."""
        gross = await self._day_gross()
        await self._command(DAILY_REPORT, b"Z" if z else b"X", busy_limit_s=REPORT_BUSY_S)
        last = await self._last_z_number()
        return ZRecord(last if z else last + 1, gross)

    async def periodic_report(self, params: m.PeriodicReportParams, last_z: int) -> str:
        """By Z numbers: 78h detailed / 79h brief ``StartZNum[4];EndZNum[4]`` [D p.78-79]; by date: 7Ah / 7Bh
        ``DDMMYY;DDMMYY`` [D p.79-80]."""
        if params.from_date is not None or params.to_date is not None:
            start = params.from_date or m.MIN_DATE
            end = params.to_date or dt.date.today()
            data = f"{start:%d%m%y};{end:%d%m%y}"
            await self._command(FM_BY_DATE[params.detailed], data.encode(), busy_limit_s=REPORT_BUSY_S)
            return f"{start:%d-%m-%y} - {end:%d-%m-%y}"
        first, last = params.from_z or 1, params.to_z or max(last_z, 1)
        if last > 9999:
            raise FiscalError(Code.CONFIG, "params.to_z: a Tremol register numbers Z reports up to 9999")
        await self._command(FM_BY_Z[params.detailed], f"{first:04d};{last:04d}".encode(), busy_limit_s=REPORT_BUSY_S)
        return f"{first} - {last}"

    async def duplicate(self) -> None:
        await self._command(DUPLICATE)  # 3Ah [D p.55]

    async def open_drawer(self) -> None:
        await self._command(DRAWER)  # 2Ah [D p.13]

    async def set_datetime(self, value: dt.datetime) -> None:
        """48h ``DD-MM-YY HH:MM:SS`` [D p.18] ([E Commands.cs:105-108]), in local time."""
        if value.tzinfo is not None:
            value = value.astimezone().replace(tzinfo=None)
        await self._command(SET_DATETIME, value.strftime("%d-%m-%y %H:%M:%S").encode("ascii"))
