"""The INP parser: file bytes -> text -> typed operation jobs (shared/spec/inp.md). Pure: no files, no device.

Every line is ``L,1,______,_,__;field;field;...``. Decisions where inp.md leaves room:

- Command letters are accepted in either case (``s`` = ``S``): the header still has to match, so a lower-case
  letter is not ambiguous, and it costs a POS program nothing to be forgiven for it.
- The header is matched leniently (operator any digits, password 6–10 characters, till fields 1–2 characters,
  none holding ``,`` or ``;``); its values are not used. The ``;`` after it may be left out when no field follows.
- Spaces/tabs around a line and around its fields are ignored, except that ``P``/``Q`` text keeps its leading
  spaces (programs centre text with them). Trailing empty fields are always allowed; more non-empty fields than
  a letter takes is an error. An empty field takes its default; an empty required one (``S`` name and price,
  ``C`` type and value, ``I`` type and amount) is an error. Control characters other than tab are an error.
- Numbers: ASCII digits with an optional ``.`` or ``,`` decimal part; prices, amounts and percentages at most
  2 decimals (``5.00`` % = 500 basis points), quantities at most 3. Converted with integers only, never float.
- ``S``: quantity defaults to 1.000 (negative = storno), department and item group to 1 (the item group is
  checked, not used), VAT group 1..8 = A..H (default 1). ``discount_type`` 0 (default) means no discount; any
  other type needs a value, which the operation model then validates like any JSON discount.
- ``C`` applies to the last sale of the open receipt (free-text lines may stand between them).
- ``T``: once a receipt has a payment, only further ``T`` lines may follow until it closes. An empty amount pays
  the rest due in that payment type and closes the receipt; a bare ``T`` pays the rest in cash. A ``T`` whose
  payments cover the total closes the receipt. A receipt without any ``T`` is closed by the end of the file with
  ``payments=None`` (cash for the exact total); one whose payments never cover it is 2009 PaymentInsufficient.
- "The rest due" and "covers the total" come from :func:`~fiscald.operations.totals.compute_receipt`, the one
  totals function. With ``vat_rates`` given, each ``S`` VAT group is checked against them on its line (2008);
  without, every letter A..H is allowed (the device checks at execution): a receipt's total does not depend on
  the rates, only its VAT split does.
- A file may hold several jobs in a row (e.g. a receipt closed by ``T``, then ``Z``). ``H``, ``Y``, ``I``, ``X``,
  ``Z``, ``D`` and ``V`` inside an open receipt or non-fiscal document are errors naming their line.
- Each line is checked as it is read; rules that need the whole receipt (storno matching, totals, payments) are
  checked when it closes, and the error names the line it comes from.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from fiscald.errors import Code, FiscalError
from fiscald.operations.models import (
    MAX_AMOUNT_CENTS,
    MAX_DESCRIPTION,
    MAX_QUANTITY_THOUSANDTHS,
    BuyerInfo,
    CashParams,
    ItemLine,
    NoParams,
    PaymentLine,
    PrintNonFiscalParams,
    PrintReceiptParams,
    TextLine,
)
from fiscald.operations.registry import config_error_from, unknown_name
from fiscald.operations.totals import ReceiptTotals, compute_receipt, discount_amount, resolve_vat, round_half_up

__all__ = ["InpError", "InpJob", "parse_inp"]


@dataclass(frozen=True)
class InpJob:
    """One operation of an INP file: an ``OPERATIONS`` name, its validated params, the 1-based line it starts on
    and, for a receipt, the line each entry of ``params.lines`` comes from (to place a device error's
    ``details.line_index``)."""

    operation: str
    params: BaseModel
    line: int
    line_numbers: tuple[int, ...] = ()


class InpError(Exception):
    """A file that cannot be run: ``line`` is 1-based (0 when not tied to a line), ``error`` the table error."""

    def __init__(self, line: int, error: FiscalError) -> None:
        super().__init__(f"line {line}: {error}")
        self.line = line
        self.error = error


def parse_inp(text: str, vat_rates: dict[str, int] | None = None) -> list[InpJob]:
    """Parse and validate a whole INP file (text as :func:`~.encoding.decode` returns it) into jobs, or raise InpError.

    ``vat_rates`` (letter -> basis points) are the device's programmed rates, when known.
    """
    return _Parser(vat_rates).parse(text)


_HEADER = re.compile(r"[A-Za-z],[0-9]+,[^,;]{6,10},[^,;]{1,2},[^,;]{1,2}(?:;|$)")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
_NUMBER = re.compile(r"(-?)([0-9]*)(?:[.,]([0-9]*))?")
_WHOLE = re.compile(r"[0-9]{1,9}")
_BLANKS = " \t"
_VAT_LETTERS = "ABCDEFGH"
_ANY_RATES = dict.fromkeys(_VAT_LETTERS, 0)
_PAYMENT_TYPES = ("cash", "card", "credit", "meal_voucher", "value_voucher", "voucher", "modern_payment", "other")
# discount codes -> (kind, is_surcharge)
_S_DISCOUNTS = {1: ("percent", True), 2: ("percent", False), 3: ("amount", True), 4: ("amount", False)}
_C_DISCOUNTS = {1: ("percent", False), 0: ("percent", True), 3: ("amount", False), 2: ("amount", True)}
_REPORTS = {"X": "x_report", "Z": "z_report", "D": "print_duplicate", "V": "cancel_receipt"}
_M = TypeVar("_M", bound=BaseModel)


def _config(detail: str) -> FiscalError:
    return FiscalError(Code.CONFIG, detail)


def _show(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:40] + "…")


def _fields(raw: list[str], most: int, letter: str) -> list[str]:
    """Exactly ``most`` fields: trailing empty ones dropped, missing ones empty; more non-empty is an error."""
    while raw and not raw[-1].strip(_BLANKS):
        raw.pop()
    if len(raw) > most:
        takes = f"at most {most} fields" if most else "no fields"
        raise _config(f"{letter}: unexpected field {_show(raw[most].strip(_BLANKS))} ({letter} takes {takes})")
    return raw + [""] * (most - len(raw))


def _stripped(raw: list[str], most: int, letter: str) -> list[str]:
    return [f.strip(_BLANKS) for f in _fields(raw, most, letter)]


def _scaled(text: str, places: int, what: str, limit: int, signed: bool = False) -> int:
    """A decimal field as a whole number of 10^-places units (``"2.50"``, 2 -> 250), never through float."""
    match = _NUMBER.fullmatch(text)
    if match is None or not (match.group(2) or match.group(3)):
        raise _config(f"{what} {text!r} is not a number")
    sign, whole, fraction = match.group(1), match.group(2), match.group(3) or ""
    if len(fraction) > places:
        raise _config(f"{what} {text!r} has more than {places} decimals")
    if sign and not signed:
        raise _config(f"{what} {text!r} must not be negative")
    scale: int = 10**places
    # the length test comes first: int() of thousands of digits is slow, and refused past 4300 of them
    too_long = len(whole.lstrip("0")) > len(str(limit))
    value = 0 if too_long else int(whole or "0") * scale + int(fraction.ljust(places, "0"))
    if too_long or value > limit:
        raise _config(f"{what} {text!r} is out of range (at most {limit // scale}.{limit % scale:0{places}d})")
    return -value if sign else value


def _whole(text: str, what: str, default: int | None) -> int:
    if not text:
        if default is None:
            raise _config(f"{what} is required")
        return default
    if not _WHOLE.fullmatch(text):
        raise _config(f"{what} {text!r} is not a whole number")
    return int(text)


def _choice(text: str, what: str, choices: Collection[int], default: int | None) -> int:
    code = _whole(text, what, default)
    if code not in choices:
        raise _config(f"{what} {text!r} must be one of {', '.join(map(str, sorted(choices)))}")
    return code


def _discount(kind: tuple[str, bool], text: str, what: str) -> dict[str, object]:
    name, is_surcharge = kind
    if not text:
        raise _config(f"{what} is required")
    if name == "percent":
        return {"kind": name, "basis_points": _scaled(text, 2, what, 10_000), "is_surcharge": is_surcharge}
    return {"kind": name, "amount_cents": _scaled(text, 2, what, MAX_AMOUNT_CENTS), "is_surcharge": is_surcharge}


def _model(model: type[_M], data: dict[str, object], where: str) -> _M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise config_error_from(exc, where) from None


def _checked_item(data: dict[str, object], where: str) -> ItemLine:
    """An item through the model, its discount checked against its value by the function compute_receipt uses."""
    item = _model(ItemLine, data, where)
    if item.discount is not None:
        discount_amount(item.discount, round_half_up(item.quantity_thousandths * item.unit_price_cents, 1000),
                        f"{where}: discount")
    return item


@dataclass
class _Receipt:
    line: int
    lines: list[ItemLine | TextLine] = field(default_factory=list)
    line_nos: list[int] = field(default_factory=list)
    buyer: BuyerInfo | None = None
    buyer_line: int = 0
    payments: list[PaymentLine] = field(default_factory=list)
    payment_lines: list[int] = field(default_factory=list)

    def add(self, line: ItemLine | TextLine, number: int) -> None:
        self.lines.append(line)
        self.line_nos.append(number)

    def last_sale(self) -> tuple[int, ItemLine] | None:
        for index in reversed(range(len(self.lines))):
            line = self.lines[index]
            if isinstance(line, ItemLine):
                return index, line
        return None

    def paid(self) -> int:
        return sum(p.amount_cents for p in self.payments)

    def line_of(self, loc: tuple[int | str, ...]) -> int:
        """The file line a model error location (``lines.3.vat``, ``payments``, ``buyer.cif``) comes from."""
        index = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else -1  # no index: the list is too long
        numbers = {"lines": self.line_nos, "payments": self.payment_lines}.get(str(loc[0])) if loc else None
        if numbers:
            return numbers[index] if 0 <= index < len(numbers) else numbers[-1]
        if loc[:1] == ("buyer",) and self.buyer_line:
            return self.buyer_line
        return self.line


@dataclass
class _Document:
    line: int
    lines: list[TextLine] = field(default_factory=list)


class _Parser:
    def __init__(self, vat_rates: dict[str, int] | None) -> None:
        self.vat_rates = vat_rates
        self.jobs: list[InpJob] = []
        self.receipt: _Receipt | None = None
        self.document: _Document | None = None
        self.handlers: dict[str, Callable[[list[str], int], None]] = {
            "H": self.start, "S": self.sale, "C": self.adjust, "K": self.buyer, "P": self.text, "Q": self.comment,
            "T": self.pay, "Y": self.non_fiscal, "I": self.cash,
        }
        for letter, operation in _REPORTS.items():
            self.handlers[letter] = partial(self.report, letter, operation)

    def parse(self, text: str) -> list[InpJob]:
        lines = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
        for number, raw in enumerate(lines, start=1):
            line = raw.strip(_BLANKS)
            if line and not line.startswith("#"):
                try:
                    self.command(line, number)
                except FiscalError as err:
                    raise InpError(number, err) from None
        if self.document is not None:
            raise InpError(self.document.line, _config("Y: the non-fiscal document is not closed by a bare T"))
        if self.receipt is not None:
            self.close_receipt(self.receipt)
        if not self.jobs:
            raise InpError(0, _config("the file holds no commands"))
        return self.jobs

    def command(self, line: str, number: int) -> None:
        control = _CONTROL.search(line)
        if control is not None:
            raise _config(f"control character U+{ord(control.group()):04X} in the line")
        if not (line[0].isascii() and line[0].isalpha()) or line[1:2] not in ("", ",", ";"):
            raise _config(f"not a command line: {_show(line)}")
        letter = line[0].upper()
        handler = self.handlers.get(letter)
        if handler is None:
            raise _config(unknown_name("command letter", line[0], self.handlers))
        header = _HEADER.match(line)
        if header is None:
            raise _config(f"{letter}: malformed header in {_show(line)}, expected '{letter},1,______,_,__;'")
        handler(line[header.end():].split(";"), number)

    # -- where a line may stand ------------------------------------------------------------------------------

    def idle(self, letter: str) -> None:
        """A letter that starts a job of its own needs no receipt or document open."""
        if self.receipt is not None:
            raise _config(f"{letter}: not allowed inside the receipt opened on line {self.receipt.line}; "
                          "close it with T first")
        self.no_document(letter)

    def no_document(self, letter: str) -> None:
        if self.document is not None:
            raise _config(f"{letter}: not allowed inside the non-fiscal document opened on line "
                          f"{self.document.line}")

    def selling(self, letter: str, number: int) -> _Receipt:
        """The open receipt still taking sale lines, a new one when none is open."""
        self.no_document(letter)
        if self.receipt is None:
            self.receipt = _Receipt(number)
        if self.receipt.payments:
            raise _config(f"{letter}: only T may follow the payment on line {self.receipt.payment_lines[-1]}")
        return self.receipt

    # -- command letters -------------------------------------------------------------------------------------

    def start(self, raw: list[str], number: int) -> None:
        _fields(raw, 0, "H")
        self.idle("H")
        self.receipt = _Receipt(number)

    def sale(self, raw: list[str], number: int) -> None:
        name, price, quantity, department, group, vat_group, discount_type, discount_value, um = _stripped(
            raw, 9, "S")
        if not name:
            raise _config("S: name is required")
        if len(name) > MAX_DESCRIPTION:
            raise _config(f"S: name is {len(name)} characters long, at most {MAX_DESCRIPTION}")
        if not price:
            raise _config("S: price is required")
        data: dict[str, object] = {
            "type": "item",
            "description": name,
            "unit_price_cents": _scaled(price, 2, "S: price", MAX_AMOUNT_CENTS),
            "quantity_thousandths": (
                _scaled(quantity, 3, "S: quantity", MAX_QUANTITY_THOUSANDTHS, signed=True) if quantity else 1000
            ),
            "department": _whole(department, "S: department", 1),
        }
        if data["quantity_thousandths"] == 0:
            raise _config(f"S: quantity {quantity!r} must not be 0")
        _whole(group, "S: item_group", 1)
        letter = _VAT_LETTERS[_choice(vat_group, "S: vat_group", range(1, len(_VAT_LETTERS) + 1), 1) - 1]
        if self.vat_rates is not None:
            resolve_vat(letter, self.vat_rates)
        data["vat"] = letter
        code = _choice(discount_type, "S: discount_type", (0, *_S_DISCOUNTS), 0)
        if code:
            data["discount"] = _discount(_S_DISCOUNTS[code], discount_value, "S: discount_value")
        if um:
            data["um"] = um
        item = _checked_item(data, "S")
        self.selling("S", number).add(item, number)

    def adjust(self, raw: list[str], number: int) -> None:
        type_text, value = _stripped(raw, 2, "C")
        self.no_document("C")
        sale = self.receipt.last_sale() if self.receipt is not None else None
        if sale is None:
            raise _config("C: no sale line above to apply the discount to")
        receipt = self.selling("C", number)
        index, item = sale
        if item.discount is not None:
            raise _config(f"C: the sale on line {receipt.line_nos[index]} already has a discount")
        discount = _discount(_C_DISCOUNTS[_choice(type_text, "C: type", _C_DISCOUNTS, None)], value, "C: value")
        receipt.lines[index] = _checked_item({**item.model_dump(), "discount": discount}, "C")

    def buyer(self, raw: list[str], number: int) -> None:
        cif, name, address = _stripped(raw, 3, "K")
        receipt = self.selling("K", number)
        if receipt.last_sale() is not None:
            raise _config("K: the buyer must come before the first sale")
        if receipt.buyer is not None:
            raise _config(f"K: the buyer is already given on line {receipt.buyer_line}")
        if not cif:
            raise _config("K: cif is required")
        data: dict[str, object] = {"cif": cif}
        if name:
            data["name"] = name
        if address:
            data["address"] = address
        receipt.buyer = _model(BuyerInfo, data, "K")
        receipt.buyer_line = number

    def text(self, raw: list[str], number: int) -> None:
        self.add_texts(_fields(raw, 5, "P"), "P", number)

    def comment(self, raw: list[str], number: int) -> None:
        line_no, text = _fields(raw, 2, "Q")
        _whole(line_no.strip(_BLANKS), "Q: line_no", 0)
        self.add_texts([text], "Q", number)

    def add_texts(self, texts: list[str], letter: str, number: int) -> None:
        lines = [_model(TextLine, {"type": "text", "text": t.rstrip(_BLANKS)}, letter)
                 for t in texts if t.strip(_BLANKS)]
        if self.document is not None:
            self.document.lines.extend(lines)
            return
        receipt = self.selling(letter, number)
        for line in lines:
            receipt.add(line, number)

    def pay(self, raw: list[str], number: int) -> None:
        type_text, amount_text = _stripped(raw, 2, "T")
        if self.document is not None:
            if type_text or amount_text:
                raise _config("T: a non-fiscal document is closed by a bare T (no payment)")
            self.close_document(self.document)
            return
        receipt = self.receipt
        if receipt is None:
            raise _config("T: no open receipt to pay")
        kind = _PAYMENT_TYPES[_choice(type_text, "T: payment_type", range(len(_PAYMENT_TYPES)), 0)]
        if amount_text:
            amount = _scaled(amount_text, 2, "T: amount", MAX_AMOUNT_CENTS)
            self.add_payment(receipt, kind, amount, number)
            if receipt.paid() >= self.total(receipt):
                self.close_receipt(receipt)
            return
        rest = self.total(receipt) - receipt.paid()
        if rest > 0:
            self.add_payment(receipt, kind, rest, number)
        self.close_receipt(receipt)

    def non_fiscal(self, raw: list[str], number: int) -> None:
        _fields(raw, 0, "Y")
        self.idle("Y")
        self.document = _Document(number)

    def cash(self, raw: list[str], number: int) -> None:
        type_text, amount_text = _stripped(raw, 2, "I")
        self.idle("I")
        direction = _choice(type_text, "I: type", (0, 1), None)
        if not amount_text:
            raise _config("I: amount is required")
        params = _model(CashParams, {"amount_cents": _scaled(amount_text, 2, "I: amount", MAX_AMOUNT_CENTS)}, "I")
        self.jobs.append(InpJob("cash_out" if direction else "cash_in", params, number))

    def report(self, letter: str, operation: str, raw: list[str], number: int) -> None:
        _fields(raw, 0, letter)
        self.idle(letter)
        self.jobs.append(InpJob(operation, NoParams(), number))

    # -- closing jobs ----------------------------------------------------------------------------------------

    def add_payment(self, receipt: _Receipt, kind: str, amount: int, number: int) -> None:
        receipt.payments.append(_model(PaymentLine, {"type": kind, "amount_cents": amount}, "T"))
        receipt.payment_lines.append(number)

    def close_document(self, document: _Document) -> None:
        if not document.lines:
            raise InpError(document.line, _config("Y: the non-fiscal document has no text"))
        params = _model(PrintNonFiscalParams, {"lines": document.lines}, "Y")
        self.jobs.append(InpJob("print_non_fiscal", params, document.line))
        self.document = None

    def close_receipt(self, receipt: _Receipt) -> None:
        params = self.receipt_params(receipt, with_payments=True)
        self.compute(receipt, params)
        self.jobs.append(InpJob("print_receipt", params, receipt.line, tuple(receipt.line_nos)))
        self.receipt = None

    def total(self, receipt: _Receipt) -> int:
        return self.compute(receipt, self.receipt_params(receipt, with_payments=False)).total_cents

    def receipt_params(self, receipt: _Receipt, with_payments: bool) -> PrintReceiptParams:
        if receipt.last_sale() is None:
            raise InpError(receipt.line, _config("the receipt that starts on this line has no sale (S) line"))
        data: dict[str, object] = {"lines": receipt.lines}
        if receipt.buyer is not None:
            data["buyer"] = receipt.buyer
        if with_payments and receipt.payments:
            data["payments"] = receipt.payments
        try:
            return PrintReceiptParams.model_validate(data)
        except ValidationError as exc:
            loc = tuple(exc.errors()[0]["loc"])
            raise InpError(receipt.line_of(loc), config_error_from(exc, "receipt")) from None

    def compute(self, receipt: _Receipt, params: PrintReceiptParams) -> ReceiptTotals:
        try:
            return compute_receipt(params, self.vat_rates if self.vat_rates is not None else _ANY_RATES)
        except FiscalError as err:
            detail = err.detail or ""
            line_index = (err.details or {}).get("line_index")
            if isinstance(line_index, int):
                loc: tuple[int | str, ...] = ("lines", line_index)
            elif err.code == Code.PAYMENT_INSUFFICIENT or detail.startswith("params.payments"):
                loc = ("payments",)
            else:
                loc = ()
            raise InpError(receipt.line_of(loc), err) from None
