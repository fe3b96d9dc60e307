"""Datecs dialects as data, from shared/spec/datecs-evidence.md and the manuals it cites:

- [X]  Programmer's Manual FMP-350X/FP-700X/WP-500X/DP-25X/DP-150X v2.02 (ErpNet.FP Docs/bg.isl.dt.x.protocol-v2.02-en)
- [P]  FP-800/FP-2000/FP-650/FP-550 programming interface v1.00BG (Docs/bg.isl.dt.p.protocol-v1.00BG-en)
- [C]  DP-05/DP-25/DP-35/WP-50/DP-150 programming interface v2.04BG (Docs/bg.isl.dt.c.protocol-v2.04BG-bg)
- [EN] ErpNet.FP's Datecs drivers, [PY] pypos, [UCS] UcsFiscalPrinters, [DUDE]/[RO] Romanian sources (evidence file)

Four dialects: Romanian X (the MX models sold in Romania since 2018), Bulgarian X, old C (cash registers) and
old P (fiscal printers). Everything that differs between them is a table entry here; the emulator's handlers
read these tables and never test a dialect's name. Entries marked ``UNVERIFIED`` are the evidence file's
section 5 ("still unknown"): one behaviour was picked and docs/devices.md lists it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from fiscald.drivers.isl import framing

# The X error codes a register answers (Datecs' list, [UCS] doc/Datecs/PM_FMP350X...txt p.59-66)
ERR_FM_FULL = -100114
ERR_WRONG_PASSWORD = -102002
ERR_SYNTAX_REG = -111002  # registration mode: syntax error (bad parameter values)
ERR_NOT_POSSIBLE = -111003
ERR_OVERFLOW = -111006
ERR_RECEIPT_OPEN = -111015
ERR_RECEIPT_CLOSED = -111016
ERR_NO_CASH = -111017
ERR_PAYMENT_STARTED = -111018
ERR_TOO_MANY_SALES = -111019
ERR_NO_TRANSACTIONS = -111020
ERR_DAY_OVER = -111024
ERR_NON_FISCAL_OPEN = -111046
ERR_NOT_PAID = -111050
ERR_PAY_BIG_AMOUNT = -111054
ERR_INVALID_COMMAND = -112000
ERR_SYNTAX = -112001
ERR_NOT_PERMITTED = -112002
ERR_WRONG_DATETIME = -112004
ERR_NO_PAPER = -112006
ERR_COVER_OPEN = -112007

Bit = tuple[int, int]  # (status byte, bit)

# rule -> (X error code, status bits) ; the status bits are [X] p.46 / [P] p.8-9 / [C] p.5-6: (byte, bit)
SYNTAX_BIT = (0, 0)
INVALID_COMMAND_BIT = (0, 1)
COVER_OPEN_BIT = (0, 6)
OVERFLOW_BIT = (1, 0)
NOT_PERMITTED_BIT = (1, 1)
PAPER_OUT_BIT = (2, 0)
FISCAL_OPEN_BIT = (2, 3)
NON_FISCAL_OPEN_BIT = (2, 5)
FM_FULL_BIT = (4, 4)
# bits marked '#' in the manuals: any of them also sets 0.5 (general error); '*' ones set 4.5
GENERAL = frozenset({(0, 0), (0, 1), (0, 4), (1, 0), (1, 1), (2, 0)})
FM_GENERAL = frozenset({(4, 0), (4, 4)})
# a fiscalized register: serial+FM number set (4.2), tax number set (4.1), VAT set (5.4), fiscalized (5.3),
# FM formatted (5.1)
STANDING_BITS = ((4, 2), (4, 1), (5, 4), (5, 3), (5, 1))


@dataclass(frozen=True)
class Status:
    """The status bytes of a register of Datecs' framing (Datecs' own, or an ISL brand's table)."""
    standing: tuple[Bit, ...]  # bits a fiscalised register always shows
    general: frozenset[Bit]  # errors whose OR is 0.5
    fm_general: frozenset[Bit]  # errors whose OR is 4.5
    faults: dict[str, Bit]  # /simulate faults -> the bit they raise
    byte3: Literal["error_number", "switches"]  # what byte 3 carries
    fiscal_open: Bit = (2, 3)
    non_fiscal_open: Bit = (2, 5)

PaymentTable = dict[str, str]  # wire code -> our payment type

# [RO SK1-21] [DUDE]: PaidMode 0-9; 7 (card + cash advance) and 9 (foreign currency) are not our types and are
# booked as "other"
RO_X_PAYMENTS: PaymentTable = {"0": "cash", "1": "card", "2": "credit", "3": "meal_voucher", "4": "value_voucher",
                               "5": "voucher", "6": "modern_payment", "7": "other", "8": "other", "9": "other"}
# [X] p.11: 0 cash, 1 credit card, 2 debit card, 3-5 programmed, 6 foreign currency (Syntax 2)
BG_X_PAYMENTS: PaymentTable = {"0": "cash", "1": "card", "2": "card", "3": "other", "4": "other", "5": "other",
                               "6": "other"}
# [C] p.14: only P N C D I J; C = debit card, D = health fund (НЗОК)
C_PAYMENTS: PaymentTable = {"P": "cash", "N": "credit", "C": "card", "D": "other", "I": "voucher",
                            "J": "modern_payment"}
# [P] p.19-20: P N C D I J K L i j k l m n o p q r s
P_PAYMENTS: PaymentTable = {"P": "cash", "N": "credit", "C": "other", "D": "card", "I": "voucher",
                            "J": "modern_payment", "K": "other", "L": "other", "i": "other", "j": "other", "k": "other",
                            "l": "other", "m": "meal_voucher", "n": "value_voucher", "o": "other", "p": "other",
                            "q": "other", "r": "other", "s": "other"}

LATIN = "ABCDEFGH"
CYRILLIC = "АБВГДЕЖЗ"  # [C] p.11, [EN] BgIslFiscalPrinter.cs GetTaxGroupText: old Bulgarian devices use these


@dataclass(frozen=True)
class Dialect:
    name: str
    framing: framing.Variant
    x: bool  # X command syntax (TAB fields, an error code first in every reply)
    payments: PaymentTable
    cash_code: str  # the code a "pay the rest in cash" form books
    factory_password: str | None  # None: operator N's password is N ([C] p.23, command 65h)
    lock_after: int | None  # wrong passwords before the register locks until power-off ([P] p.17)
    max_sales: int  # sales per receipt ([P] p.18: 512; [C] p.11: 120; X: UNVERIFIED, 1000 picked)
    item_lines: int  # lines of item text (old: L1 [Lf L2])
    item_width: int  # characters per line of item text ([X] p.9: 72; [P] p.17: 42; [C] p.11: 22)
    units: bool  # '#UN' (old) / Unit (X Syntax 2) accepted ([C] p.11: no unit on C ECRs)
    tax_letters: str  # VAT group letters accepted on the old protocol, besides 1..8 on X
    counters_since_z: bool  # old 48/56 answer counts since the last Z ([P] p.16-17, [C] p.10, 15)
    amounts_in_cents: bool  # old 70/76 (and 51/69: UNVERIFIED) amounts in stotinki/bani without a point
    client_taxn: bool  # 48 carries ClientTAXN (Romanian [DUDE])
    nsale: bool  # 48 may carry a unique sale number (Bulgarian; a Romanian DP-25MX refuses it: [RO])
    codepage: str
    free_text: int | None  # characters of free text (54/42): None = the model's columns - 2 ([X] p.12);
    # [C] p.15: 36; [P] p.20: what fits the line (longer text is cut, not refused, on every dialect)
    text_map: dict[str, str] = field(default_factory=dict)  # characters the code page lacks -> their stand-in
    layouts: dict[str, tuple[str, ...]] = field(default_factory=dict)  # reply layouts, by name
    fw_rev: str = "1.00"
    country: str = "BG"


_X_LAYOUTS_BG = {
    # [X] p.18: nRep, TotA..TotH, StorA..StorH
    "report": ("nrep", *(f"tot_{x}" for x in LATIN), *(f"stor_{x}" for x in LATIN)),
    # [X] p.21: IsOpen, Number, Items, Amount, Payed
    "transaction": ("is_open", "number", "items", "amount", "paid"),
    # [X] p.24 Answer(1): Name, FwRev, FwDate, FwTime, Checksum, Sw, SerialNumber, FMNumber
    "diagnostic": ("name", "fw_rev", "fw_date", "fw_time", "checksum", "sw", "serial", "fm_number"),
    # [X] p.10: nZreport, TaxA..TaxH, EntDate
    "vat_rates": ("nzrep", *(f"rate_{x}" for x in LATIN), "date"),
    # [X] p.17: nRep, SumA..SumH, Date
    "last_fiscal": ("nrep", *(f"sum_{x}" for x in LATIN), "date"),
}
_X_LAYOUTS_RO = {
    # [DUDE]: nRep, TotA..TotF, TotEXEPTAT, TotSInv, VatSInv (TotEXEPTAT = group G turnover: UNVERIFIED)
    "report": ("nrep", *(f"tot_{x}" for x in "ABCDEF"), "tot_G", "sinv_total", "sinv_vat"),
    # [DUDE]: IsOpen, Number, FMNumberRep, FMNumber, Items, Amount, Payed
    "transaction": ("is_open", "number", "fm_rep", "fm_number", "items", "amount", "paid"),
    # [DUDE]: Name, FwRev, FwDate, FwTime, Checksum, Sw, SerialNumber (no FM number)
    "diagnostic": ("name", "fw_rev", "fw_date", "fw_time", "checksum", "sw", "serial"),
    # [DUDE]: nZReport, TaxA..TaxG, DateTime
    "vat_rates": ("nzrep", *(f"rate_{x}" for x in "ABCDEFG"), "date"),
    # 64 with the simplified-invoice sums of the last Z (field order UNVERIFIED)
    "last_fiscal": ("nrep", *(f"sum_{x}" for x in "ABCDEFG"), "sinv_total", "sinv_vat", "sinv_count", "date"),
}
_OLD_LAYOUTS = {
    # [P] p.23, [C] p.18: Closure, FM_Total, TotA..TotH
    "report": ("nrep", "fm_total", *(f"tot_{x}" for x in LATIN)),
    # [P] p.25, [C] p.19: Open, Items, Amount, Tender
    "transaction": ("is_open", "items", "amount", "paid"),
    # [P] p.30: Name,FwRev+Country Sp FwDate Sp FwTime,Chk,Sw,Ser,FM
    "diagnostic": ("name", "fw", "checksum", "sw", "serial", "fm_number"),
    # [P] p.22: P,N,TaxA..TaxH,Date
    "last_fiscal": ("ok", "nrep", *(f"sum_{x}" for x in LATIN), "date"),
}
_C_LAYOUTS = {**_OLD_LAYOUTS,
              # [C] p.21: Name FwRev Sp FwDate Sp FwTime,Chk,Sw,FM,Ser (the FM number before the serial)
              # (no comma between Name and FwRev in the manual: a space is sent, UNVERIFIED)
              "diagnostic": ("name_fw", "checksum", "sw", "fm_number", "serial")}

RO_X = Dialect("romanian-x", framing.X, x=True, payments=RO_X_PAYMENTS, cash_code="0", factory_password="0000",
               lock_after=None, max_sales=1000, item_lines=1, item_width=72, units=True, tax_letters=LATIN,
               counters_since_z=False, amounts_in_cents=False, client_taxn=True, nsale=False, codepage="cp1250",
               free_text=None, text_map={"ș": "ş", "ț": "ţ", "Ș": "Ş", "Ț": "Ţ"}, layouts=_X_LAYOUTS_RO, country="RO")
BG_X = Dialect("bulgarian-x", framing.X, x=True, payments=BG_X_PAYMENTS, cash_code="0", factory_password="0000",
               lock_after=None, max_sales=1000, item_lines=1, item_width=72, units=True, tax_letters=LATIN,
               counters_since_z=False, amounts_in_cents=False, client_taxn=False, nsale=True, codepage="cp1251",
               free_text=None, layouts=_X_LAYOUTS_BG)
OLD_C = Dialect("old-c", framing.OLD, x=False, payments=C_PAYMENTS, cash_code="P", factory_password=None,
                lock_after=None, max_sales=120, item_lines=2, item_width=22, units=False,
                tax_letters=CYRILLIC + LATIN, counters_since_z=True, amounts_in_cents=True, client_taxn=False,
                nsale=True, codepage="cp1251", free_text=36, layouts=_C_LAYOUTS)
OLD_P = Dialect("old-p", framing.OLD, x=False, payments=P_PAYMENTS, cash_code="P", factory_password="0000",
                lock_after=3, max_sales=512, item_lines=2, item_width=42, units=True,
                tax_letters=CYRILLIC + LATIN, counters_since_z=True, amounts_in_cents=True, client_taxn=False,
                nsale=True, codepage="cp1251", free_text=None, layouts=_OLD_LAYOUTS)


@dataclass(frozen=True)
class Model:
    name: str
    dialect: Dialect
    columns: int  # printable columns ([X] p.41: DP-25X/DP-150X/WP-500X/WP-50X 42; FP-700X 42/48/64 as set)
    column_choices: tuple[int, ...] = ()  # what 255 PrintColumns may be set to (none: fixed)
    # the operators' factory passwords, over the dialect's: the X cash registers (WP-500X, WP-50X, DP-25X,
    # DP-150X) give operator N the password N, the X printers "0000" (manual v2.08, Unicontsoft/UcsFiscalPrinters
    # doc/Datecs/PM_FMP350X_FMP55X_FP700X-BUL_ FPprotocol_eng, command 48 OpPwd note)
    operator_number_passwords: bool = False

    @property
    def factory_password(self) -> str | None:
        """Every operator's password until changed; None: operator N's password is N."""
        return None if self.operator_number_passwords else self.dialect.factory_password


def _models() -> dict[str, Model]:
    rows = [
        # Romanian X: the MX models [DUDE] [RO]
        *((n, RO_X, 42) for n in ("DP-25MX", "DP-150MX", "DP-05MX", "WP-50MX", "WP-500MX", "FP-700MX", "FMP-350MX")),
        # Bulgarian X [X]; FP-700X / FMP-350X default to 42 columns (settable to 48 or 64)
        *((n, BG_X, 42) for n in ("DP-25X", "DP-150X", "WP-500X", "WP-50X", "FP-700X", "FMP-350X")),
        ("FMP-55X", BG_X, 32),
        # old C: cash registers [C]
        *((n, OLD_C, 32) for n in ("DP-05", "DP-25", "DP-35", "WP-50", "DP-150")),
        # old P: fiscal printers [P]
        *((n, OLD_P, 42) for n in ("FP-550", "FP-650", "FP-800", "FP-2000")),
    ]
    settable = {"FP-700X", "FMP-350X", "FP-700MX", "FMP-350MX"}  # [X] p.41: 42, 48 or 64 columns as set
    ecr = {"DP-25X", "DP-150X", "WP-500X", "WP-50X"}  # X cash registers: operator N's password is N (above)
    return {name: Model(name, dialect, columns, (42, 48, 64) if name in settable else (), name in ecr)
            for name, dialect, columns in rows}


MODELS = _models()
DEFAULT_MODEL = {"x": "FP-700X", "old": "DP-25"}
