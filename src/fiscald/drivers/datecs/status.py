"""Datecs status bytes: the named bits (both protocols share bytes 0, 1, 2, 4 and 5 for these flags) and what
they mean for our error table. Byte 3 differs between brands of the family (Datecs old: switches, X: unused),
so no flag here reads it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from fiscald.errors import Code


@dataclass(frozen=True)
class Bit:
    name: str
    byte: int
    bit: int
    error: Code | None  # the failure it reports (None: a condition, not a failure)


SYNTAX_ERROR = Bit("syntax_error", 0, 0, Code.DEVICE)
INVALID_COMMAND = Bit("invalid_command", 0, 1, Code.DEVICE)
CLOCK_NOT_SET = Bit("clock_not_set", 0, 2, None)
MECHANISM_FAULT = Bit("printing_mechanism_fault", 0, 4, Code.DEVICE)
GENERAL_ERROR = Bit("general_error", 0, 5, None)
COVER_OPEN = Bit("cover_open", 0, 6, Code.COVER_OPEN)
OVERFLOW = Bit("overflow", 1, 0, Code.INVALID_AMOUNT)
NOT_PERMITTED = Bit("command_not_permitted", 1, 1, Code.DEVICE)
PAPER_OUT = Bit("paper_out", 2, 0, Code.PAPER_OUT)
PAPER_LOW = Bit("paper_low", 2, 1, None)
EJ_FULL = Bit("ej_full", 2, 2, None)
FISCAL_RECEIPT_OPEN = Bit("fiscal_receipt_open", 2, 3, None)
EJ_NEARLY_FULL = Bit("ej_nearly_full", 2, 4, None)
NON_FISCAL_OPEN = Bit("non_fiscal_receipt_open", 2, 5, None)
FM_ACCESS_ERROR = Bit("fiscal_memory_error", 4, 0, Code.DEVICE)
TAX_NUMBER_SET = Bit("tax_number_set", 4, 1, None)
SERIAL_SET = Bit("serial_number_set", 4, 2, None)
FM_NEARLY_FULL = Bit("fiscal_memory_nearly_full", 4, 3, None)
FM_FULL = Bit("fiscal_memory_full", 4, 4, Code.FISCAL_MEMORY_FULL)
FM_ANY_ERROR = Bit("fiscal_memory_any_error", 4, 5, None)
VAT_SET = Bit("vat_rates_set", 5, 4, None)
FISCALIZED = Bit("fiscalized", 5, 3, None)
FM_FORMATTED = Bit("fiscal_memory_formatted", 5, 1, None)

BITS = (SYNTAX_ERROR, INVALID_COMMAND, CLOCK_NOT_SET, MECHANISM_FAULT, GENERAL_ERROR, COVER_OPEN, OVERFLOW,
        NOT_PERMITTED, PAPER_OUT, PAPER_LOW, EJ_FULL, FISCAL_RECEIPT_OPEN, EJ_NEARLY_FULL, NON_FISCAL_OPEN,
        FM_ACCESS_ERROR, TAX_NUMBER_SET, SERIAL_SET, FM_NEARLY_FULL, FM_FULL, FM_ANY_ERROR, VAT_SET, FISCALIZED,
        FM_FORMATTED)
# the order in which failures are reported when several bits are set: the one a cashier can fix first
_PRIORITY = (PAPER_OUT, COVER_OPEN, FM_FULL, MECHANISM_FAULT, FM_ACCESS_ERROR, OVERFLOW, SYNTAX_ERROR,
             INVALID_COMMAND, NOT_PERMITTED)
_COMMAND = (SYNTAX_ERROR, INVALID_COMMAND, NOT_PERMITTED)
# flags that stop printing while they last: the device is in Error until they clear
STANDING = (PAPER_OUT, COVER_OPEN, FM_FULL, MECHANISM_FAULT, FM_ACCESS_ERROR)
# the general-error bits (0.5 = OR of the '#' bits of bytes 0..2, 4.5 = OR of the '*' bits of bytes 4..5)
_GENERAL = {SYNTAX_ERROR, INVALID_COMMAND, MECHANISM_FAULT, OVERFLOW, NOT_PERMITTED, PAPER_OUT}
_FM_GENERAL = {FM_FULL, FM_ACCESS_ERROR}


@dataclass(frozen=True)
class Status:
    raw: bytes

    def has(self, bit: Bit) -> bool:
        return len(self.raw) > bit.byte and bool(self.raw[bit.byte] & (1 << bit.bit))

    @property
    def flags(self) -> list[str]:
        return [b.name for b in BITS if self.has(b)]

    def failure(self) -> Bit | None:
        """The failure bit to report, if any."""
        return next((b for b in _PRIORITY if self.has(b)), None)

    def command_failure(self) -> Bit | None:
        """The failure of the command itself, ignoring standing conditions (paper out, cover open...)."""
        return next((b for b in _COMMAND if self.has(b)), None)

    def standing(self) -> Bit | None:
        return next((b for b in STANDING if self.has(b)), None)


def encode(length: int, bits: Iterable[Bit]) -> bytes:
    """Status bytes with ``bits`` set (bit 7 of every byte is always 1; the OR bits follow their members)."""
    chosen = set(bits)
    if chosen & _GENERAL:
        chosen.add(GENERAL_ERROR)
    if chosen & _FM_GENERAL:
        chosen.add(FM_ANY_ERROR)
    raw = bytearray([0x80] * length)
    for bit in chosen:
        raw[bit.byte] |= 1 << bit.bit
    return bytes(raw)


# X protocol error codes (a reply's first field) that mean one of our errors; any other is 2000 with the raw code
# in ``details``. Datecs' list: [X8] UcsFiscalPrinters doc/Datecs/PM_FMP350X_FMP55X_FP700X-BUL_ FPprotocol_eng.txt
# v2.08, "Error codes", p.55-67 (also datecs-evidence.md §4).
WRONG_PASSWORD = -102002  # ERR_OPER_WRONG_PASSWORD [X8 p.56]
X_ERRORS: dict[int, Code] = {
    -100114: Code.FISCAL_MEMORY_FULL,  # ERR_FM_FULL [X8 p.55]
    -111005: Code.INVALID_VAT_GROUP,  # ERR_R_PLU_VAT_DISABLE: forbidden VAT [X8 p.62]
    -111015: Code.RECEIPT_OPEN,  # ERR_R_OPEN_BON [X8 p.62]
    -111017: Code.CASH_OUT_EXCEEDS_DRAWER,  # ERR_R_PAY_NOCASH: no cash in the ECR [X8 p.62]
    -111024: Code.Z_REPORT_REQUIRED,  # ERR_R_END_OF_24_HOUR_PERIOD [X8 p.62]
    -111046: Code.RECEIPT_OPEN,  # ERR_R_OPEN_NONFISCALBON [X8 p.63]
    -111047: Code.RECEIPT_OPEN,  # ERR_R_OPEN_FISCALBON [X8 p.63]
    -112003: Code.INVALID_AMOUNT,  # ERR_FP_OVERFLOW [X8 p.67]
    -112006: Code.PAPER_OUT,  # ERR_FP_NO_PAPER [X8 p.67]
    -112007: Code.COVER_OPEN,  # ERR_FP_COVER_IS_OPEN [X8 p.67]
}
