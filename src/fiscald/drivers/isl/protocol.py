"""One protocol class for the ISL brands beyond Datecs (Daisy, Eltrade, Incotex): RegisterProtocol over the
shared ISL session (old framing), with everything a brand differs in read from its table (brand.py and the brand
files). The requests' shapes are the manuals' (each brand file cites the lines); what they share, cited once:

- every field is comma-separated, a sale ``[L1][LF L2] TAB Group [Sign]Price[*Qty][,Percent|<mark>Abs]``, a
  payment ``TAB Code Amount``, a subtotal ``<Print><Display>[,Percent|<mark>Abs]`` ([DY] :758-761, :817-818,
  :851-852; [ED] :499, :537, :598; [IN] :510-512, :571-572, :631-633 — see the brand files for the sources);
- amounts are sent with a decimal point ("1.50"), quantities with three decimals (ErpNet.FP
  BgIslFiscalPrinter.Commands.cs :254-286 sends these to all three brands);
- a refusal is a status bit (byte 0 syntax / invalid command, byte 1 not permitted / overflow, byte 2 paper),
  never an error code in the data (isl-brands.md "Framing": 6 status bytes as Datecs' old protocol);
- receipts are numbered by the global document counter (71h), read before opening: open and close answer only
  counters since the last Z ([DY] :702, :915-919; [ED] :660-666; [IN] :679-686).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Literal

from fiscald.drivers.isl.brand import LATIN, MAKER_PREFIXES, Brand, Flag
from fiscald.drivers.isl.framing import OLD
from fiscald.drivers.isl.session import REPLY_TIMEOUT_S, Session
from fiscald.drivers.register.pending import Payment
from fiscald.drivers.register.protocol import (
    Condition,
    Identity,
    LoginRefused,
    Observer,
    Step,
    Transaction,
    ZRecord,
)
from fiscald.drivers.transport import Transport
from fiscald.errors import Code, ConnectionLost, FiscalError
from fiscald.operations import models as m
from fiscald.operations.totals import ReceiptTotals

# Command numbers every ISL brand shares with Datecs' old protocol (isl-brands.md "Commands": "Datecs-old numbers
# unless shown"); what differs (open, cancel, the last-Z read) is in the brand's table.
OPEN_NON_FISCAL = 0x26
CLOSE_NON_FISCAL = 0x27
NON_FISCAL_TEXT = 0x2A
SALE = 0x31
SUBTOTAL = 0x33
PAYMENT = 0x35
FISCAL_TEXT = 0x36
CLOSE_RECEIPT = 0x38
SET_DATETIME = 0x3D
GET_DATETIME = 0x3E
REPORT = 0x45
CASH = 0x46
STATUS = 0x4A
TRANSACTION = 0x4C
DIAGNOSTIC = 0x5A
VAT_RATES = 0x61
DRAWER = 0x6A
DUPLICATE = 0x6D
LAST_DOCUMENT = 0x71
CONSTANTS = 0x80

# Status bits every ISL brand's manual gives the same meaning ([DY] :254-338, [ED] :172-245, [IN] :145-236)
COMMON_FLAGS: tuple[Flag, ...] = (
    Flag("syntax_error", 0, 0, "command"),
    Flag("invalid_command", 0, 1, "command"),
    Flag("clock_not_set", 0, 2),
    Flag("overflow", 1, 0, "command", Code.INVALID_AMOUNT),
    Flag("command_not_permitted", 1, 1, "command"),
    Flag("paper_out", 2, 0, "standing", Code.PAPER_OUT),
    Flag("fiscal_receipt_open", 2, 3),
    Flag("non_fiscal_receipt_open", 2, 5),
    Flag("fiscal_memory_error", 4, 0, "standing"),
    Flag("fiscal_memory_nearly_full", 4, 3),
    Flag("fiscal_memory_full", 4, 4, "standing", Code.FISCAL_MEMORY_FULL),
    Flag("fiscalized", 5, 3),
    Flag("vat_rates_set", 5, 4),
)
_FISCAL_OPEN = "fiscal_receipt_open"
_NON_FISCAL_OPEN = "non_fiscal_receipt_open"
_WRONG_PASSWORD = "wrong_password"
# the order a refusal names its standing cause: what a cashier can fix first
_STANDING_ORDER = ("paper_out", "cover_open", "fiscal_memory_full")

REPORT_BUSY_S = 300.0  # reports print for long
PAYMENT_BUSY_S = 120.0  # a payment may wait for a pinpad
COMMAND_BUSY_S = 30.0
_READS = frozenset({STATUS, TRANSACTION, LAST_DOCUMENT, DIAGNOSTIC, GET_DATETIME, VAT_RATES, CONSTANTS})
_SERIAL = re.compile(r"[A-Z]{2}[0-9]{6}")  # a maker's two letters and six digits (isl-brands.md "Serial prefix")
_DATETIME = "%d-%m-%y %H:%M:%S"  # 3Dh/3Eh [DY] :978-996, [ED] :746-758, [IN] :751-763


def money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def quantity(thousandths: int) -> str:
    return f"{thousandths // 1000}.{thousandths % 1000:03d}"


def parse_amount(text: str, minor_units: bool) -> int:
    """A reply's amount in cents: with a decimal point in whole units ("12.34"); without one in stotinki where
    the brand answers so ("+00001234"), else in whole units."""
    text = text.strip()
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-")
    if "." not in digits:
        return sign * int(digits or "0") * (1 if minor_units else 100)
    whole, _, frac = digits.partition(".")
    return sign * (int(whole or "0") * 100 + int((frac + "00")[:2]))


def parse_datetime(text: str) -> dt.datetime:
    """3Eh's answer: ``DD-MM-YY HH:MM[:SS]``; real Daisy units also answer ``DD.MM.YY`` (isl-brands.md "Known
    field problems", ErpNet.FP commit 8352f5d)."""
    value = text.strip().replace(".", "-")
    for pattern in (_DATETIME, "%d-%m-%y %H:%M"):
        try:
            return dt.datetime.strptime(value, pattern)
        except ValueError:
            continue
    raise ValueError(f"date and time {text!r}")


class IslProtocol:
    """One ISL register of ``brand`` (``model``) on ``transport()``'s line."""

    numbering: Literal["transaction", "document"] = "document"

    def __init__(self, brand: Brand, model: str, transport: Callable[[], Transport],
                 payment_codes: Mapping[str, str] | None = None, observer: Observer | None = None,
                 reply_timeout_s: float = REPLY_TIMEOUT_S) -> None:
        if model not in brand.models:
            raise FiscalError(Code.CONFIG, f"model: {model!r} is not a supported {brand.maker} model "
                                           f"({', '.join(brand.models)})")
        self.brand = brand
        self.name = model
        self.columns = brand.models[model]
        self.operators = brand.operators
        self.lacking = brand.lacking
        self.payment_codes: Mapping[str, str] = {**brand.payment_codes, **(payment_codes or {})}
        self.code_names: Mapping[str, str] = dict(brand.codes)
        self.item_width = brand.item_width
        self.comment_width = brand.comment_width
        self._make_transport = transport
        self._observer = observer
        self._reply_timeout_s = reply_timeout_s
        self._flags = COMMON_FLAGS + brand.standing_flags
        self._transport: Transport | None = None
        self.session: Session | None = None
        self.serial = ""
        self._status = b""
        self._rates: dict[str, int] = {}
        self._next_sale: int | None = None  # the UNP's sale number: the next document's, read before opening

    def default_password(self, operator: int) -> str:
        return str(operator) if self.brand.password_digits else ""

    # -- link -------------------------------------------------------------------------------------------------
    async def connect(self) -> None:
        try:
            transport = self._make_transport()
        except ValueError as exc:  # connection_details the transport cannot use
            raise FiscalError(Code.CONFIG, f"connection_details.type: {exc}") from None
        await transport.open()
        self._transport = transport
        self.session = Session(transport, OLD, self._reply_timeout_s)

    async def disconnect(self) -> None:
        transport, self._transport, self.session = self._transport, None, None
        if transport is not None:
            await transport.close()

    async def identify(self) -> Identity:
        """5Ah '1': the serial number where the brand puts it, the model's name first where it gives one. A serial
        with another maker's letters is another brand: refused naming both. 80h, where the brand has it: the
        comment and item-name widths the register is set to (P10, P11)."""
        try:
            fields = await self._call(DIAGNOSTIC, "1")
        except ConnectionLost as exc:
            raise ConnectionLost(f"{exc.detail} — no answer to command 5Ah: check that the register is on, that "
                                 f"the port/address and baud rate ({self.brand.baud} by default) are right and "
                                 f"that it is a {self.brand.maker} (docs/devices.md)") from None
        serial = fields[self.brand.diagnostic_serial_at].strip() if len(fields) > self.brand.diagnostic_serial_at \
            else ""
        name = fields[0].split(" ")[0] if self.brand.diagnostic_name and fields else self.name
        # another brand lays 5Ah out differently: its serial is wherever a maker's letters and 6 digits are
        for value in (f.strip() for f in fields):
            maker = MAKER_PREFIXES.get(value[:2]) if _SERIAL.fullmatch(value) else None
            if maker is not None and maker != self.brand.maker:
                raise FiscalError(Code.CONFIG, f"manufacturer: configured as a {self.brand.maker} {self.name} but "
                                               f"the device's serial number {value!r} is a {maker}'s: choose {maker}",
                                  {"configured_model": self.name, "device_name": name, "device_serial": value})
        self.serial = serial
        if self.brand.widths_at is not None:
            comment_at, names_at = self.brand.widths_at
            try:
                constants = await self._call(CONSTANTS)
                comment, names = int(constants[comment_at]), int(constants[names_at])
            except (FiscalError, ValueError, IndexError) as exc:
                if isinstance(exc, ConnectionLost):
                    raise
            else:
                if 10 <= comment <= 80 and 10 <= names <= 80:
                    self.comment_width, self.item_width = comment, names
        return Identity(name or self.name, serial)

    def condition(self) -> Condition:
        names = self._set(self._status)
        standing = next((f for f in self._standing() if f.name in names), None)
        paper: Literal["ok", "low", "out"] = ("out" if "paper_out" in names else
                                              "low" if "paper_low" in names else "ok")
        return Condition(tuple(names), paper, "cover_open" in names, standing.error if standing else None)

    async def refresh(self) -> Condition:
        await self._call(STATUS)  # 4Ah: the status is in every reply's status field
        return self.condition()

    # -- the wire ---------------------------------------------------------------------------------------------
    def _set(self, status: bytes) -> list[str]:
        return [f.name for f in self._flags if len(status) > f.byte and status[f.byte] & (1 << f.bit)]

    def _standing(self) -> list[Flag]:
        standing = [f for f in self._flags if f.kind == "standing"]
        return sorted(standing, key=lambda f: (_STANDING_ORDER.index(f.name) if f.name in _STANDING_ORDER
                                               else len(_STANDING_ORDER)))

    async def _call(self, cmd: int, data: str | bytes = "", refusal: Code = Code.DEVICE, reading: bool = False,
                    login: bool = False) -> list[str]:
        """One command; its reply's comma-separated fields. A refusal (a command bit, or for a command that is not
        a read a standing condition: paper out, cover open) raises the matching FiscalError with the device's
        flags, and where the brand's byte 3 carries one its error number, in ``details``."""
        if self.session is None:
            raise ConnectionLost(f"{self.name}: not connected")
        try:
            raw = data if isinstance(data, bytes) else data.encode(self.brand.codepage)
        except UnicodeEncodeError as exc:  # every text is checked in plan_receipt first; this is the backstop
            raise FiscalError(Code.CONFIG, f"params: {exc.object[exc.start]!r} cannot be printed by a "
                                           f"{self.brand.maker} {self.name}") from None
        reads = reading or cmd in _READS
        busy = (REPORT_BUSY_S if cmd == REPORT or cmd in self.brand.fm_reports.values() else
                PAYMENT_BUSY_S if cmd == PAYMENT else COMMAND_BUSY_S)
        try:
            reply = await self.session.call(cmd, raw, busy_limit_s=busy, repeatable=reads)
        except (OSError, RuntimeError) as exc:  # never a 1000: whatever broke the link is a lost link
            raise ConnectionLost(f"{self.name}: {type(exc).__name__}: {exc}") from exc
        self._status = reply.status
        names = self._set(reply.status)
        by_name = {f.name: f for f in self._flags}
        command = next((by_name[n] for n in names if by_name[n].kind == "command"), None)
        standing = None if reads else next((f for f in self._standing() if f.name in names), None)
        refused = command is not None or standing is not None
        if self._observer is not None:
            self._observer(self.condition(), refused)
        text = reply.data.decode(self.brand.codepage, errors="replace")
        if not refused:
            return text.split(",") if text else []
        details: dict[str, object] = {"device_command": f"{cmd:#04x}", "device_status": names}
        number = reply.status[3] & 0x7F if self.brand.error_number and len(reply.status) > 3 else 0
        if number:
            details["device_error"] = number
        cause = standing or command
        assert cause is not None
        detail = f"{self.brand.maker} {self.name} refused command {cmd:#04x}: {cause.name.replace('_', ' ')}"
        if login and _WRONG_PASSWORD in names:
            raise LoginRefused(detail, details, remember=True)
        code: Code
        if standing is not None and standing.error != Code.DEVICE:
            code = standing.error
        elif command is not None and command.error != Code.DEVICE:
            code = command.error
        elif refusal == Code.RECEIPT_OPEN:
            code = refusal if _FISCAL_OPEN in names or _NON_FISCAL_OPEN in names else Code.DEVICE
        else:
            code = refusal
        raise FiscalError(code, detail, details)

    def _field(self, fields: list[str], index: int, cmd: int) -> str:
        """A reply's field; a reply too short to have it is unreadable (its command's outcome is unknown)."""
        try:
            return fields[index]
        except IndexError:
            raise self._unreadable(cmd, fields) from None

    def _unreadable(self, cmd: int, fields: list[str]) -> FiscalError:
        return FiscalError(Code.DEVICE, f"unreadable answer to command {cmd:#04x}: {fields!r}",
                           {"device_command": f"{cmd:#04x}"})

    def _number(self, fields: list[str], index: int, cmd: int) -> int:
        try:
            return int(self._field(fields, index, cmd).strip().lstrip("+"))
        except ValueError:
            raise self._unreadable(cmd, fields) from None

    def _amount(self, fields: list[str], index: int, cmd: int) -> int:
        try:
            return parse_amount(self._field(fields, index, cmd), self.brand.amounts_in_minor_units)
        except ValueError:
            raise self._unreadable(cmd, fields) from None

    def _sums(self, fields: list[str], at: int | None, storno_at: int | None, net: bool, cmd: int) -> dict[str, int]:
        """Turnover by VAT letter from 8 fields at ``at`` (minus 8 storno fields at ``storno_at``); ``net``: the
        fields are net of VAT, which is added back at the group's rate."""
        if at is None:
            return {}
        gross: dict[str, int] = {}
        try:
            for i, letter in enumerate(LATIN):
                value = parse_amount(fields[at + i], self.brand.amounts_in_minor_units) if at + i < len(fields) else 0
                if storno_at is not None and storno_at + i < len(fields):
                    value -= parse_amount(fields[storno_at + i], self.brand.amounts_in_minor_units)
                if net and letter in self._rates:
                    rate = self._rates[letter]
                    value = (value * (10_000 + rate) + 5_000) // 10_000
                if value and (not self._rates or letter in self._rates):
                    gross[letter] = value
        except ValueError:
            raise self._unreadable(cmd, fields) from None
        return gross

    # -- reads ------------------------------------------------------------------------------------------------
    async def vat_rates(self) -> dict[str, int]:
        """61h: TaxA..TaxH as ``XX.XX`` ([DY] :1338-1348, [ED] :1073-1084, [IN] :1000-1004); a group whose
        value does not read as a rate below 100 % is disabled."""
        rates: dict[str, int] = {}
        for letter, value in zip(LATIN, await self._call(VAT_RATES), strict=False):
            try:
                cents = parse_amount(value.strip().rstrip("%"), False) if "." in value else None
            except ValueError:
                continue
            if cents is not None and 0 <= cents < 10_000:
                rates[letter] = cents
        self._rates = rates
        return dict(rates)

    async def last_z(self) -> ZRecord:
        spec = self.brand.last_z
        fields = await self._call(spec.command, spec.data, reading=True)
        if not fields or fields[0] == "F":  # no Z yet
            return ZRecord(0, {})
        number = self._number(fields, spec.number_at, spec.command)
        return ZRecord(number, self._sums(fields, spec.sums_at, spec.storno_at, False, spec.command))

    async def transaction(self) -> Transaction:
        """4Ch 'T': Open,Items,Amount,Tender/Paid ([DY] :1188-1199, [ED] :901-912, [IN] :902-912)."""
        fields = await self._call(TRANSACTION, "T")
        is_open = self._field(fields, 0, TRANSACTION) == "1"
        names = self._set(self._status)
        return Transaction(is_open, None, self._number(fields, 1, TRANSACTION), self._amount(fields, 2, TRANSACTION),
                           self._amount(fields, 3, TRANSACTION) if len(fields) > 3 else 0,
                           non_fiscal=is_open and _NON_FISCAL_OPEN in names and _FISCAL_OPEN not in names)

    async def last_document(self) -> int:
        """71h: the number of the last document printed ([DY] :1643, [ED] :1246-1250, [IN] :1197)."""
        number = self._number(await self._call(LAST_DOCUMENT), 0, LAST_DOCUMENT)
        self._next_sale = number + 1
        return number

    async def cash_in_drawer(self) -> int:
        """46h with amount 0: Code,CashSum,ServIn,ServOut, nothing printed ([DY] :1128-1150, [ED] :832-847,
        [IN] :833-852)."""
        return self._amount(await self._call(CASH, "0", reading=True), 1, CASH)

    async def get_datetime(self) -> dt.datetime:
        fields = await self._call(GET_DATETIME)
        try:
            return parse_datetime(",".join(fields))
        except ValueError:
            raise self._unreadable(GET_DATETIME, fields) from None

    # -- a fiscal receipt -------------------------------------------------------------------------------------
    def _text(self, text: str, field: str) -> str:
        try:
            text.encode(self.brand.codepage)
        except UnicodeEncodeError as exc:
            raise FiscalError(Code.CONFIG, f"{field}: {text[exc.start]!r} cannot be printed by a "
                                           f"{self.brand.maker} {self.name} ({self.brand.codepage})") from None
        return text

    def _wrap(self, text: str, field: str, width: int) -> list[str]:
        checked = self._text(text, field)
        return [checked[i:i + width] for i in range(0, len(checked), width)] or [""]

    def _discount(self, discount: m.PercentDiscount | m.AmountDiscount) -> str:
        sign = "" if discount.is_surcharge else "-"
        if isinstance(discount, m.AmountDiscount):
            return f"{self.brand.absolute_discount}{sign}{money(discount.amount_cents)}"
        return f",{sign}{money(discount.basis_points)}"

    def sale(self, item: m.ItemLine, letter: str, where: str) -> str:
        """31h's data for one sale: the description over L1 (and L2), the group, price, quantity, discount."""
        name = self._text(item.description, f"{where}.description")
        width = self.item_width
        if len(name) > 2 * width:
            raise FiscalError(Code.CONFIG, f"{where}.description: a {self.brand.maker} {self.name} prints at most "
                                           f"{2 * width} characters of an item's description, this one has "
                                           f"{len(name)}")
        text = name[:width] + (("\n" + name[width:]) if len(name) > width else "")
        qty = item.quantity_thousandths
        price = item.unit_price_cents if qty > 0 else -item.unit_price_cents  # '-': a correction of a sale
        group = self.brand.vat_letters[LATIN.index(letter)]
        data = f"{text}\t{group}{money(price)}*{quantity(abs(qty))}"
        if item.discount is not None:
            data += self._discount(item.discount)
        if item.um and self.brand.unit_mark:
            data += self.brand.unit_mark + self._text(item.um, f"{where}.um")
        return data

    def subtotal_data(self, discount: m.PercentDiscount | m.AmountDiscount | None) -> str:
        return "10" + (self._discount(discount) if discount is not None else "")  # print, no display

    def plan_receipt(self, params: m.PrintReceiptParams, totals: ReceiptTotals) -> Sequence[Step]:
        limit = self.brand.max_sales
        if limit is not None and len(totals.items) > limit:
            raise FiscalError(Code.CONFIG, f"params.lines: a {self.brand.maker} {self.name} takes at most {limit} "
                                           f"sales per receipt, this one has {len(totals.items)}")
        steps: list[Step] = []
        width = self.comment_width
        if params.buyer is not None and params.flags.print_buyer_cif:
            for piece in self._wrap(f"CIF: {params.buyer.cif}", "params.buyer.cif", width):
                steps.append(self._step(FISCAL_TEXT, piece, piece))
        letters = {item.index: item.vat_letter for item in totals.items}
        for index, line in enumerate(params.lines):
            where = f"params.lines.{index}"
            if isinstance(line, m.ItemLine):
                qty = line.quantity_thousandths
                steps.append(self._step(SALE, self.sale(line, letters[index], where),
                                        f"{line.description} {quantity(qty)} x {money(line.unit_price_cents)} "
                                        f"{letters[index]}"))
            elif isinstance(line, m.TextLine):
                for piece in self._wrap(line.text, f"{where}.text", width):
                    steps.append(self._step(FISCAL_TEXT, piece, piece))
            else:
                steps.append(self._step(SUBTOTAL, self.subtotal_data(line.discount), "SUBTOTAL"))
        return steps

    def _step(self, command: int, data: str, text: str) -> Step:
        return Step(command, data.encode(self.brand.codepage), text)

    def unp(self, operator: int, sale: int) -> str:
        """The unique sale number: serial (8) - operator code (4) - sale number (7) ([DY] :707-716, [ED] :1270,
        [IN] :459-467)."""
        return f"{self.serial}-{operator:04d}-{sale % 10_000_000:07d}"

    def open_data(self, operator: int, password: str, sale: int) -> str:
        """The open request in the brand's form (brand.OpenForm)."""
        unp = self.unp(operator, sale)
        form = self.brand.open_form
        if form == "password":
            return f"{operator},{password},{unp}"
        if form == "name":
            return f"{self.brand.operator_name.format(n=operator)},{unp}"
        return f"{operator},{unp},0"  # "document": RevDocNo 0 = a sale

    async def open_receipt(self, operator: int, password: str, params: m.PrintReceiptParams) -> int | None:
        sale = self._next_sale if self._next_sale is not None else await self.last_document() + 1
        self._next_sale = None
        await self._call(self.brand.open_command, self.open_data(operator, password, sale), Code.RECEIPT_OPEN,
                         login=True)
        return None  # the reply counts since the last Z; the receipt is the next document (numbering)

    async def send(self, step: Step) -> None:
        await self._call(step.command, step.data)

    async def subtotal(self, discount: m.PercentDiscount | m.AmountDiscount | None) -> int:
        """33h: SubTotal,TaxA..TaxH ([DY] :817-829, [ED] :535-548, [IN] :571-583)."""
        return self._amount(await self._call(SUBTOTAL, self.subtotal_data(discount)), 0, SUBTOTAL)

    async def pay(self, payment: Payment) -> None:
        """35h ``TAB Code Amount`` -> PaidCode Amount: D (the rest due) or R (change); F, E, I refused."""
        fields = await self._call(PAYMENT, f"\t{payment.code}{money(payment.cents)}")
        code = fields[0][:1] if fields else ""
        if code not in ("D", "R"):
            raise FiscalError(Code.DEVICE, f"{self.brand.maker} {self.name} refused the payment: {fields!r}",
                              {"device_command": f"{PAYMENT:#04x}", "device_status": self._set(self._status)})

    async def close_receipt(self) -> int | None:
        await self._call(CLOSE_RECEIPT)
        return None

    async def cancel_receipt(self) -> None:
        await self._call(self.brand.cancel_command)

    async def close_non_fiscal(self) -> None:
        await self._call(CLOSE_NON_FISCAL)

    # -- other documents --------------------------------------------------------------------------------------
    async def print_non_fiscal(self, lines: Sequence[str]) -> int:
        """26h, 2Ah per line (at most the comment width), 27h -> Allreceipt ([DY] :556-610, [ED] :379-420,
        [IN] :338-365)."""
        pieces = [p for i, line in enumerate(lines)
                  for p in self._wrap(line, f"params.lines.{i}.text", self.comment_width)]
        await self._call(OPEN_NON_FISCAL, refusal=Code.RECEIPT_OPEN)
        for piece in pieces:
            await self._call(NON_FISCAL_TEXT, piece)
        return self._number(await self._call(CLOSE_NON_FISCAL), 0, CLOSE_NON_FISCAL)

    async def cash(self, direction: Literal[1, -1], cents: int) -> int:
        """46h ``[-]Amount`` -> P|F,CashSum,ServIn,ServOut; F: refused (less cash than asked, or a receipt open)."""
        fields = await self._call(CASH, money(direction * cents), Code.RECEIPT_OPEN)
        drawer = self._amount(fields, 1, CASH)
        if self._field(fields, 0, CASH) == "F":
            names = self._set(self._status)
            details: dict[str, object] = {"device_command": f"{CASH:#04x}", "device_status": names}
            if direction < 0 and drawer < cents:
                raise FiscalError(Code.CASH_OUT_EXCEEDS_DRAWER, f"{cents} requested, {drawer} in the drawer",
                                  {**details, "cash_in_drawer_cents": drawer})
            code = Code.RECEIPT_OPEN if _FISCAL_OPEN in names or _NON_FISCAL_OPEN in names else Code.DEVICE
            raise FiscalError(code, f"{self.brand.maker} {self.name} refused the cash operation", details)
        return drawer

    async def report(self, z: bool) -> ZRecord:
        """45h '0' (Z) / '2' (X): Closure and the turnover by group ([DY] :1080-1114, [ED] :805-831,
        [IN] :813-832)."""
        if self.brand.report_net and not self._rates:
            await self.vat_rates()
        fields = await self._call(REPORT, "0" if z else "2", Code.RECEIPT_OPEN)
        return ZRecord(self._number(fields, 0, REPORT),
                       self._sums(fields, self.brand.report_sums_at, self.brand.report_storno_at,
                                  self.brand.report_net, REPORT))

    async def periodic_report(self, params: m.PeriodicReportParams, last_z: int) -> str:
        """A fiscal-memory report by dates (DDMMYY) or Z numbers, detailed or brief (the brand's commands)."""
        by_date = params.from_date is not None or params.to_date is not None
        command = self.brand.fm_reports[("date" if by_date else "number", params.detailed)]
        if by_date:
            start, end = params.from_date or m.MIN_DATE, params.to_date or dt.date.today()
            await self._call(command, f"{start:%d%m%y},{end:%d%m%y}", Code.RECEIPT_OPEN)
            return f"{start:%d-%m-%y} - {end:%d-%m-%y}"
        first, last = params.from_z or 1, params.to_z or max(last_z, 1)
        await self._call(command, f"{first:04d},{last:04d}", Code.RECEIPT_OPEN)
        return f"{first} - {last}"

    async def duplicate(self) -> None:
        await self._call(DUPLICATE, "1", Code.NO_RECEIPT_TO_DUPLICATE)  # 6Dh Count 1

    async def open_drawer(self) -> None:
        await self._call(DRAWER)  # 6Ah without a pulse length: the register's default

    async def set_datetime(self, value: dt.datetime) -> None:
        await self._call(SET_DATETIME, value.strftime(_DATETIME), Code.RECEIPT_OPEN)
