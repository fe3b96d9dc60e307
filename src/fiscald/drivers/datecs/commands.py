"""Datecs command numbers and the two argument syntaxes: the old protocol's comma/TAB/LF positional fields and
the X protocol's TAB-terminated fields whose replies start with an error code. The driver builds requests and
reads replies here; the emulator reads requests and builds replies with the same helpers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from fiscald.drivers.isl.framing import Variant

CLEAR_DISPLAY = 0x21
OPEN_NON_FISCAL = 0x26
CLOSE_NON_FISCAL = 0x27
NON_FISCAL_TEXT = 0x2A
CHECK_CONNECTION = 0x2D
OPEN_RECEIPT = 0x30
SALE = 0x31
SUBTOTAL = 0x33
PAYMENT = 0x35
FISCAL_TEXT = 0x36
CLOSE_RECEIPT = 0x38
CANCEL_RECEIPT = 0x3C
SET_DATETIME = 0x3D
GET_DATETIME = 0x3E
LAST_FISCAL_RECORD = 0x40  # the last Z report in the fiscal memory: its number
REPORT = 0x45
CASH = 0x46
STATUS = 0x4A
TRANSACTION = 0x4C
DIAGNOSTIC = 0x5A
DRAWER = 0x6A
DUPLICATE = 0x6D
LAST_DOCUMENT = 0x71  # old protocol
PROGRAMMING_X = 0xFF  # X: Name, Index, Value (Header, Footer, PrintColumns...) [X p.39-42]
VAT_RATES_X = 0x32  # X: the active VAT rates
VAT_RATES_OLD = 0x61  # old: the programmed VAT rates
# fiscal memory (periodic) reports: (by date, by Z number) x (summary, detailed)
FM_REPORTS = {
    "x": {("date", False): 0x5E, ("date", True): 0x5E, ("number", False): 0x5F, ("number", True): 0x5F},
    "old": {("date", False): 0x4F, ("date", True): 0x5E, ("number", False): 0x5F, ("number", True): 0x49},
}
DATETIME_FORMAT = "%d-%m-%y %H:%M:%S"
# X DiscountType by (is_surcharge, is_amount): 1 surcharge %, 2 discount %, 3 surcharge sum, 4 discount sum
DISCOUNT_TYPES = {(True, False): "1", (False, False): "2", (True, True): "3", (False, True): "4"}


def money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def quantity(thousandths: int) -> str:
    return f"{thousandths // 1000}.{thousandths % 1000:03d}"


def parse_money(text: str) -> int:
    """``"12.34"`` / ``"-0.5"`` / ``"1234"`` -> cents (a value without decimals is in whole units)."""
    text = text.strip()
    sign = -1 if text.startswith("-") else 1
    whole, _, frac = text.lstrip("+-").partition(".")
    return sign * (int(whole or "0") * 100 + int((frac + "00")[:2]))


def parse_amount(text: str, minor_units: bool) -> int:
    """An amount in a reply, in cents. ``minor_units`` (old protocol): a value without a decimal point is in
    bani/stotinki — "2012" is 20.12, "+00000500" is 5.00 [EN BgIslFiscalPrinter.Commands.cs GetReceiptAmount]
    [UCS mdGlobals.bas ParseSum] [P p.25, 76 "9 bytes with a sign"] [C p.20]; with a point it is in lei."""
    text = text.strip()
    if minor_units and "." not in text:
        sign = -1 if text.startswith("-") else 1
        return sign * int(text.lstrip("+-") or "0")
    return parse_money(text)


def parse_quantity(text: str) -> int:
    whole, _, frac = text.strip().partition(".")
    return int(whole or "0") * 1000 + int((frac + "000")[:3])


def format_datetime(value: dt.datetime) -> str:
    return value.strftime(DATETIME_FORMAT)


def parse_datetime(text: str) -> dt.datetime:
    return dt.datetime.strptime(text.strip().removesuffix("DST").strip(), DATETIME_FORMAT)


@dataclass(frozen=True)
class Syntax:
    """How one protocol variant lays out arguments."""

    variant: Variant

    @property
    def x(self) -> bool:
        return self.variant.wide

    def args(self, *fields: str) -> str:
        return "".join(f"{f}\t" for f in fields) if self.x else ",".join(fields)

    def fields(self, data: str) -> list[str]:
        """The reply's fields; X: without the error code (see :meth:`error_code`)."""
        if self.x:
            parts = data.split("\t")
            if parts and parts[-1] == "":
                parts.pop()
            return parts[1:]
        return data.split(",") if data else []

    def error_code(self, data: str) -> int:
        """X: the reply's leading error code (0 = done); old: always 0 (errors are status bits)."""
        if not self.x:
            return 0
        head = data.split("\t", 1)[0]
        try:
            return int(head)
        except ValueError:
            return 0 if head == "" else -1

    def reply(self, error: int, *fields: str) -> str:
        """A reply's data as the device lays it out (the emulator's side)."""
        return self.args(str(error), *fields) if self.x else ",".join(fields)
