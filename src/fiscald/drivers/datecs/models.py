"""Per-model facts of the Datecs registers as tables: the dialect a model speaks (Romanian X, Bulgarian X, old C,
old P), its printable columns, limits and the operations it lacks. A dialect is data — payment codes, units,
counters, the fields of the replies the driver reads, default operator password, code page — so another dialect
(or another ISL brand) is another table like these, not another code path.

Sources (read them beside each rule; the text files are pdftotext of the manuals, page numbers are the
manuals' own):
[X]   Datecs Programmer's Manual FMP-350X/FMP-55X/FP-700X/WP-500X/WP-50X/DP-25X/DP-150X v2.02
      (erpnet/ErpNet.FP Drivers/BgDatecs/Docs/bg.isl.dt.x.protocol-v2.02-en.txt)
[X8]  the same manual, v2.08 (Unicontsoft/UcsFiscalPrinters doc/Datecs/PM_FMP350X_FMP55X_FP700X-BUL_
      FPprotocol_eng.txt): error codes (p.55-67) and default operator passwords (p.8, p.10)
[P]   FP-800/FP-2000/FP-650/SK1-21F/SK1-31F/FMP-10/FP-550 programming interface v1.00BG (bg.isl.dt.p...-en.txt)
[C]   DP-05/DP-25/DP-35/WP-50/DP-150 programming interface v2.04BG (bg.isl.dt.c.protocol-v2.04BG-bg.txt)
[DUDE] [RO] Datecs Romania's driver and Romanian integrations, as summarised in shared/spec/datecs-evidence.md
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from fiscald.drivers.datecs.status import WRONG_PASSWORD
from fiscald.drivers.isl.framing import OLD, Variant, X
from fiscald.errors import Code, FiscalError
from fiscald.models.config import FiscalDeviceConfig

VAT_LETTERS = "ABCDEFGH"


@dataclass(frozen=True)
class Layout:
    """Where a dialect puts what the driver sends and reads: request texts that differ only in their content,
    and the index of each field the driver reads in a reply (after X's leading error code)."""

    status: str  # 74's data: X none [X p.20]; old "X" [P] [C]
    transaction: str  # 76's data: X none [X p.21]; old "T" (with amounts) [P p.25] [C p.20]
    tx_number: int | None  # 76's receipt number: X Number [X p.21]; old none [P p.25]
    tx_items: int  # 76's Items, then Amount, Payed: X 2 [X p.21]; Romanian 4 (after FMNumberRep, FMNumber)
    # [DUDE]; old 1 [P p.25] [C p.20]
    vat_command: int  # the VAT rates: X 50 (nZreport, TaxA..) [X p.10]; old 97 (TaxA..) [P p.30] [C p.23]
    vat_first: int  # the first rate's field
    groups: int  # VAT groups in 50, 64 and 69: Romanian 7 (A..F and the exempt G) [DUDE]; else 8
    z_flag: bool  # 64 answers 'P'/'F' first (F: no Z yet) [P p.22] [C p.17]; X nRep first [X p.17]
    report_sums: int  # 69's first turnover field: X TotA after nRep [X p.18]; old after Closure, FM_Total
    # [P p.23] [C p.18]
    report_storno: bool  # Bulgarian X 69 has StorA..H after TotA..H [X p.18]
    reports: tuple[str, str]  # 69's option for X, Z: X "X"/"Z" [X p.18]; old "2"/"0" [P p.23] [C p.18]
    drawer: tuple[str, ...]  # 70 reading the drawer: X Type 0, Amount 0.00 [X p.19]; old Amount 0 [P p.23]
    drawer_sum: int  # 70's CashSum: X first [X p.19]; old after P|F [P p.23] [C p.19]
    subtotal_total: int  # 51's total: X after SlipNumber [X p.10-11]; old first [P] [C]
    duplicate: tuple[str, ...]  # 109's data: X none [X p.31]; old "1" [P] [C]
    report_dates: str  # fiscal-memory reports' dates: X DD-MM-YY; old DDMMYY [P] [C]
    open_fields: int  # 48's fields after TillNmb: Romanian Invoice, ClientTAXN [DUDE]; Bulgarian X Invoice
    # [X p.9]; old none [P p.16] [C p.10]
    payment: str  # 53's data: X PaidMode, Amount, Type [X p.11]; old <Tab><PaidMode><Amount> [P p.19-20] [C p.13-14]
    cash: tuple[str, str]  # 70's data for cash in, out: X Type 0/1, Amount [X p.19]; old signed Amount [P p.23]
    # [C p.19]
    fm_report: str  # the fiscal-memory reports' data: X Type (1 detailed), Start, End; old Start,End [P] [C]
    # an answer whose first field starts with this was refused: old 53 and 70 answer 'F' [P p.19-20, 23]
    # [C p.13-14, 19]; X says so by its error code (53 answers 'D'/'R' [X p.12], 70 CashSum [X p.19])
    refused_mark: str | None
    wrong_password: int | None  # the error a wrong operator password gets: X −102002 [X8 p.56]; old none
    # (only a status bit, for a wrong password among other reasons [P p.17] [C p.10])


RO_LAYOUT = Layout(status="", transaction="", tx_number=1, tx_items=4, vat_command=0x32, vat_first=1, groups=7,
                   z_flag=False, report_sums=1, report_storno=False, reports=("X", "Z"), drawer=("0", "0.00"),
                   drawer_sum=0, subtotal_total=1, duplicate=(), report_dates="%d-%m-%y", open_fields=2,
                   payment="{code}\t{amount}\t\t", cash=("0\t{amount}\t", "1\t{amount}\t"),
                   fm_report="{detail}\t{start}\t{end}\t", refused_mark=None, wrong_password=WRONG_PASSWORD)
BG_X_LAYOUT = replace(RO_LAYOUT, tx_items=2, groups=8, report_storno=True, open_fields=1)
OLD_LAYOUT = Layout(status="X", transaction="T", tx_number=None, tx_items=1, vat_command=0x61, vat_first=0,
                    groups=8, z_flag=True, report_sums=2, report_storno=False, reports=("2", "0"), drawer=("0",),
                    drawer_sum=1, subtotal_total=0, duplicate=("1",), report_dates="%d%m%y", open_fields=0,
                    payment="\t{code}{amount}", cash=("{amount}", "-{amount}"), fm_report="{start},{end}",
                    refused_mark="F", wrong_password=None)


@dataclass(frozen=True)
class Dialect:
    """What differs between the firmwares that share one framing."""

    name: str  # "ro-x" | "bg-x" | "c" | "p"
    title: str  # for messages and docs
    variant: Variant
    payments: Mapping[str, str]  # our payment type -> the device's default code for it
    codes: Mapping[str, str]  # every payment code command 53 takes -> the device's name for it
    # old protocol: an amount without a decimal point is in bani/stotinki ("2012" = 20.12) [EN
    # BgIslFiscalPrinter.cs] [UCS mdGlobals.bas ParseSum] [PY ecr.py]; X amounts carry the point [X p.21]
    amounts_in_minor_units: bool
    # old protocol: 48/56 answer receipts counted since the last Z, 113 the global document number
    # [P p.16-17, 20, 35] [C p.10, 15, 27]; X: 48/56/76 carry the receipt's own global number [X p.9, 14, 21]
    counters_since_z: bool
    operators: int  # OpCode 1..operators: X 1..30 [X p.9], C 1..30 [C p.10], P 1..16 [P p.16]
    password_min: int  # OpPwd digits: X 1..8 [X p.9], C 1..8 [C p.10], P 4..8 [P p.16]
    item_max: int | None  # sales per receipt: C 120 [C p.11], P 512 [P p.18]; X states none [X p.9]
    item_units: bool  # a sale may carry a unit: X Syntax 2 `Unit` [X p.9], P `#UN` [P p.17]; C none [C p.11]
    free_text_max: int | None  # 54's text: C 36 bytes [C p.15]; else the printable columns - 2 [X p.12]
    layout: Layout
    # a refused 48 is not repeated with the same password: X says why (a wrong password [X8 p.56]); P printers
    # lock after three refusals [P p.17]; a C register's refusal has other causes too [C p.10]
    remember_refused_login: bool
    codepage: str = "cp1250"
    ro_receipt: bool = False  # 48 with TillNmb, Invoice, ClientTAXN [DUDE]; 69/76/90/50 Romanian layouts


# our payment type -> PaidMode 0..9 on Romanian firmware [RO SK1-21 command reference] (datecs-evidence.md §2)
RO_CODES: Mapping[str, str] = {
    "0": "NUMERAR", "1": "CARD", "2": "CREDIT", "3": "TICHETE MASA", "4": "TICHETE VALORICE", "5": "VOUCHER",
    "6": "PLATA MODERNA", "7": "CARD + AVANS NUMERAR", "8": "ALTE METODE", "9": "VALUTA",
}
RO_PAYMENTS: Mapping[str, str] = {
    "cash": "0", "card": "1", "credit": "2", "meal_voucher": "3", "value_voucher": "4", "voucher": "5",
    "modern_payment": "6", "other": "8",
}
# Bulgarian X: PaidMode 0 cash, 1 credit card, 2 debit card (starts a pinpad), 3..5 programmed [X p.11];
# 6, foreign currency, is another syntax and another currency: not offered. Types the shop did not program
# are refused before printing (no default code).
BG_X_CODES: Mapping[str, str] = {
    "0": "cash", "1": "credit card", "2": "debit card (starts an attached pinpad)", "3": "programmed type 3",
    "4": "programmed type 4", "5": "programmed type 5",
}
BG_X_PAYMENTS: Mapping[str, str] = {"cash": "0", "card": "1"}
# C cash registers: only P N C D I J; C is the debit card, D the health fund (НЗОК) [C p.13] [EN C driver]
C_CODES: Mapping[str, str] = {
    "P": "cash", "N": "credit", "C": "debit card", "D": "health fund (NZOK)", "I": "voucher", "J": "coupon",
}
C_PAYMENTS: Mapping[str, str] = {"cash": "P", "card": "C", "credit": "N", "voucher": "I", "modern_payment": "J"}
# P fiscal printers [P p.19-20]
P_CODES: Mapping[str, str] = {
    "P": "cash", "N": "credit", "C": "check", "D": "debit card", "I": "programmed type 1",
    "J": "programmed type 2", "K": "programmed type 3", "L": "programmed type 4", "i": "programmed type 1",
    "j": "programmed type 2", "k": "programmed type 3", "l": "programmed type 4", "m": "coupons",
    "n": "external coupons", "o": "packing", "p": "internal service", "q": "damages", "r": "bank transfers",
    "s": "check",
}
P_PAYMENTS: Mapping[str, str] = {
    "cash": "P", "card": "D", "credit": "N", "meal_voucher": "m", "value_voucher": "n", "voucher": "I",
    "modern_payment": "J", "other": "K",
}

RO_X = Dialect("ro-x", "Romanian X", X, RO_PAYMENTS, RO_CODES, amounts_in_minor_units=False,
               counters_since_z=False, operators=30, password_min=1, item_max=None, item_units=True,
               free_text_max=None, layout=RO_LAYOUT, remember_refused_login=True, ro_receipt=True)
BG_X = Dialect("bg-x", "Bulgarian X", X, BG_X_PAYMENTS, BG_X_CODES, amounts_in_minor_units=False,
               counters_since_z=False, operators=30, password_min=1, item_max=None, item_units=True,
               free_text_max=None, layout=BG_X_LAYOUT, remember_refused_login=True)
OLD_C = Dialect("c", "old protocol, cash registers (C)", OLD, C_PAYMENTS, C_CODES, amounts_in_minor_units=True,
                counters_since_z=True, operators=30, password_min=1, item_max=120, item_units=False,
                free_text_max=36, layout=OLD_LAYOUT, remember_refused_login=False)
OLD_P = Dialect("p", "old protocol, fiscal printers (P)", OLD, P_PAYMENTS, P_CODES, amounts_in_minor_units=True,
                counters_since_z=True, operators=16, password_min=4, item_max=512, item_units=True,
                free_text_max=None, layout=OLD_LAYOUT, remember_refused_login=True)
DIALECTS = {d.name: d for d in (RO_X, BG_X, OLD_C, OLD_P)}
NO_DRAWER = frozenset({"open_drawer"})


@dataclass(frozen=True)
class ModelSpec:
    name: str
    dialect: Dialect
    columns: int  # printable characters per line (X: PrintColumns [X p.42]; read from the device where it can)
    item_text: int  # characters of a sale's description: X 72 [X p.9]; C 2 x 22 [C p.11]; P 2 x 42 [P p.17]
    ecr: bool  # a cash register (keyboard, operators log in): default password = operator number [X8 p.10]
    lacking: frozenset[str] = frozenset()
    wide_columns: tuple[int, ...] = ()  # other PrintColumns the device can be set to [X p.42]

    @property
    def variant(self) -> Variant:
        return self.dialect.variant

    @property
    def payments(self) -> Mapping[str, str]:
        return self.dialect.payments

    @property
    def codes(self) -> Mapping[str, str]:
        return self.dialect.codes

    @property
    def codepage(self) -> str:
        return self.dialect.codepage

    @property
    def item_lines(self) -> int:
        """Lines an item's description is split over (old protocol: L1, L2)."""
        return 1 if self.dialect.variant.wide else 2

    def default_password(self, operator: int) -> str:
        """Factory default: Bulgarian X ECRs (WP-500X, WP-50X, DP-25X, DP-150X) and C ECRs use the operator's
        number, FP-700X/FMP-350X/FMP-55X "0000" [X8 p.8, p.10]; C: operator 1 -> "1" [C p.23, 65h] [EN C
        driver]; P printers "0000" [EN P driver]. Romanian firmware: no source states a factory default
        (examples show "0001" [RO]); "0000" as for the X family in [EN] — set operator_password when the
        register's differs."""
        return str(operator) if self.ecr and not self.dialect.ro_receipt else "0000"


def _ro(name: str, columns: int, ecr: bool, lacking: frozenset[str] = frozenset(),
        wide: tuple[int, ...] = ()) -> ModelSpec:
    return ModelSpec(name, RO_X, columns, 72, ecr, lacking, wide)


def _bg(name: str, columns: int, ecr: bool, lacking: frozenset[str] = frozenset(),
        wide: tuple[int, ...] = ()) -> ModelSpec:
    return ModelSpec(name, BG_X, columns, 72, ecr, lacking, wide)


def _c(name: str, lacking: frozenset[str] = frozenset()) -> ModelSpec:
    return ModelSpec(name, OLD_C, 38, 22, True, lacking)  # 54: 36 characters between two '#' [C p.15]


def _p(name: str) -> ModelSpec:
    return ModelSpec(name, OLD_P, 42, 42, False)


# Romanian MX models first: they are what is sold in Romania since 2018 [DUDE] [RO]
MODELS: dict[str, ModelSpec] = {m.name: m for m in (
    _ro("DP-25MX", 42, True),
    _ro("DP-150MX", 42, True),
    _ro("FP-700MX", 42, False, wide=(48, 64)),
    _c("DP-05", NO_DRAWER),
    _c("DP-25"),
    _c("DP-35"),
    _c("DP-150"),
    _c("WP-50", NO_DRAWER),
    _p("FP-550"),
    _p("FP-650"),
    _p("FP-800"),
    _p("FP-2000"),
    # PrintColumns: DP-25X, DP-150X, WP-500X, WP-50X 42; FP-700X, FMP-350X 42/48/64; FMP-55X 32 [X p.42]
    _bg("DP-25X", 42, True),
    _bg("DP-150X", 42, True),
    _bg("WP-50X", 42, True, NO_DRAWER),
    _bg("WP-500X", 42, True),
    _bg("FP-700X", 42, False, wide=(48, 64)),
    _bg("FMP-350X", 42, False, wide=(48, 64)),
    _bg("FMP-55X", 32, False),
)}


def model(name: str) -> ModelSpec:
    spec = MODELS.get(name)
    if spec is None:
        raise FiscalError(Code.CONFIG, f"model: {name!r} is not a supported Datecs model")
    return spec


def payment_codes(spec: ModelSpec, remapped: Mapping[str, str] | None) -> Mapping[str, str]:
    """Our payment type -> the code sent in command 53: the device's configured remapping over the model's
    defaults (validated on save against ``spec.codes``). A type in neither has no code: refused before printing."""
    return {**spec.payments, **(remapped or {})}


def check_config(config: FiscalDeviceConfig) -> None:
    """A Datecs register's settings, checked when they are saved (never accepted and then ignored)."""
    spec = model(config.model)
    dialect = spec.dialect
    if config.header_lines or config.footer_lines:
        # The header (shop name, address, CIF) is part of the register's fiscalization and is printed by the
        # register itself (old 43 [P p.14] [C p.9]; X 255 Header/Footer [X p.41]); fiscald does not reprogram it.
        field = "header_lines" if config.header_lines else "footer_lines"
        raise FiscalError(Code.CONFIG, f"{field}: a Datecs register prints its own header and footer, as programmed "
                                       "in it; fiscald does not change them — leave header_lines and footer_lines "
                                       "empty (they are for Simulated registers)")
    if config.operator > dialect.operators:
        raise FiscalError(Code.CONFIG, f"operator: a {spec.name} has operators 1..{dialect.operators}")
    password = config.operator_password
    if password is not None and len(password) < dialect.password_min:
        raise FiscalError(Code.CONFIG, f"operator_password: a {spec.name} takes {dialect.password_min} to 8 digits")


def reported_model(name: str) -> ModelSpec | None:
    """The model a device's 90 Name (e.g. "FP-700X", "DATECS DP-25") designates, if it names one of ours
    (the longest match: "DP-25X" is not "DP-25")."""
    text = name.upper().replace(" ", "")
    found = [spec for key, spec in MODELS.items() if key.replace(" ", "") in text]
    return max(found, key=lambda s: len(s.name), default=None)


def encode_text(text: str, spec: ModelSpec, field: str) -> bytes:
    """Text in the device's code page. Romanian comma-below letters become the cedilla forms cp1250 has
    (datecs-evidence.md §3); a character the code page cannot carry is refused (never printed as '?')."""
    mapped = text.translate(_CEDILLA)
    try:
        return mapped.encode(spec.codepage)
    except UnicodeEncodeError as exc:
        bad = mapped[exc.start]
        raise FiscalError(Code.CONFIG, f"{field}: {bad!r} cannot be printed by a {spec.name} "
                                       f"({spec.codepage})") from None


_CEDILLA = str.maketrans({"ș": "ş", "Ș": "Ş", "ț": "ţ", "Ț": "Ţ"})
