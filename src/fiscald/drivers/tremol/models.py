"""The Tremol (ZFP) registers as tables: each model speaks one dialect — Bulgarian, Romanian or V2 ("KL version 2")
— and a dialect is data: code page, VAT class letters, payment codes, operators, status bit names, the 1Dh
``M`` country and encoding it must answer. The protocol (``protocol.py``) reads these and never tests a dialect's
name.

Sources (pages as printed in the footers; lines of the third-party files):
[D]  Tremol's protocol description, ErpNet.FP ErpNet.FP.Core/Drivers/BgTremol/Docs/protocol_description_BG_1910211454
[E]  ErpNet.FP ErpNet.FP.Core/Drivers/BgZfpFiscalPrinter.cs, BgTremol/BgTremolZfp{,V2}FiscalPrinter{,Driver}.cs
[L]  Tremol's legacy Java ZFPLib with its Romanian subclass ZFPLib_RO (shared/spec/tremol.md S13): cp1250, 9 operators
[RO] the Romanian generated ZFPLab API (shared/spec/tremol.md S9): OptionVATClass A..F (F "Alte taxe"),
     OptionPaymentType 0..9 with the names NUMERAR 0, CARD 1, TICHETE 3, BONURI 4, VOUCHER 5, CREDIT 6, MODERNE 7,
     ALTE 8 (code corpus id 52869944924), StatusRes flag names
"""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from dataclasses import dataclass

from fiscald.errors import Code, FiscalError
from fiscald.models.config import FiscalDeviceConfig

OUR_LETTERS = "ABCDEFGH"  # our VAT letters; the wire's class 0 is our A


@dataclass(frozen=True)
class Dialect:
    name: str
    title: str  # for messages and docs
    country: str  # the first field of the 1Dh M answer [D p.93]
    codepage: str  # [D p.6] cp1251; [L] ZFPLib_RO cp1250
    vat_letters: str  # the wire's OptionVATClass letters, class 0 first
    codes: Mapping[str, str]  # every PaymentType 35h takes -> the device's name for it
    payments: Mapping[str, str]  # our payment type -> its default code
    operators: int  # OperNum 1..operators
    v2: bool  # the model name 21h answers ends in "V2" [E BgTremolZfpV2FiscalPrinterDriver.cs:59]
    status_names: tuple[tuple[str, ...], ...]  # ST0..ST6 bit names, bit 0 first ("" = reserved) [D p.10-11]
    diacritics: Mapping[int, str] | None = None  # str.translate table applied before encoding


_ST0_4 = (
    ("FM read only", "Power down in opened fiscal receipt", "Printer not ready - overheat", "DateTime not set",
     "DateTime wrong", "RAM reset", "Hardware clock error"),
    ("Printer not ready - no paper", "Reports registers overflow", "Customer report is not zeroed",
     "Daily report is not zeroed", "Article report is not zeroed", "Operator report is not zeroed",
     "Duplicate printed"),
    ("Opened non-fiscal receipt", "Opened fiscal receipt", "Opened fiscal detailed receipt",
     "Opened fiscal receipt with VAT", "Opened invoice fiscal receipt", "SD card near full", "SD card full"),
    ("No FM module", "FM error", "FM full", "FM near full", "Decimal point (1=fract, 0=whole)", "FM fiscalized",
     "FM produced"),
    ("Printer: automatic cutting", "External display: transparent display", "Speed is 9600", "",
     "Drawer: automatic opening", "Customer logo included in the receipt", ""),
)  # [D p.10-11]
BG_STATUS = (*_ST0_4,
             ("Wrong SIM card", "Blocking 3 days without mobile operator", "No task from NRA", "", "",
              "Wrong SD card", "Deregistered"),
             ("No SIM card", "No GPRS Modem", "No mobile operator", "No GPRS service", "Near end of paper",
              "Unsent data for 24 hours", ""))  # [D p.11]
# [RO] StatusRes names the Romanian flags; their bit positions in ST5/ST6 are not published: in this order
RO_STATUS = (*_ST0_4,
             ("No Sec.IC", "No certificates", "No SD card response", "Wrong SD card", "SIM is not activated",
              "Blocking after 24 hours", ""),
             ("Non-printed copy", "", "", "", "", "", ""))

# (byte, bit) of the flags the protocol acts on [D p.10-11]
POWER_DOWN = (0, 1)
NO_PAPER = (1, 0)
NON_FISCAL_OPEN = (2, 0)
FISCAL_OPEN = (2, 1)
NEAR_PAPER_END = (6, 4)  # BG only: RO's ST6 differs

BULGARIAN = Dialect(
    name="bulgarian", title="Bulgarian firmware", country="BG", codepage="cp1251",
    vat_letters="АБВГДЕЖЗ",  # [D p.47] VAT classes 0..7
    # [E BgZfpFiscalPrinter.cs:39-49]; 11 = the special currency payment, VAT account [D p.9]
    codes={"0": "Cash", "1": "Check", "2": "Coupons", "3": "External coupons", "4": "Packaging",
           "5": "Internal usage", "6": "Damage", "7": "Card", "8": "Bank", "9": "Reserved 1", "10": "Reserved 2",
           "11": "Currency"},
    payments={"cash": "0", "card": "7", "credit": "8", "voucher": "2", "value_voucher": "3", "other": "1"},
    operators=20,  # OperNum 1..20 [D p.39]
    v2=False, status_names=BG_STATUS)

V2 = Dialect(
    name="v2", title="Bulgarian KL version 2 firmware", country="BG", codepage="cp1251", vat_letters="АБВГДЕЖЗ",
    # 0..4, 4 = currency [D p.16-17, p.27 "Read payment types, KL"]; [E BgTremolZfpV2FiscalPrinter.cs:33-35]
    # Cash 0, Card 1, Check 2
    codes={"0": "Cash", "1": "Card", "2": "Check", "3": "Coupon", "4": "Currency"},
    payments={"cash": "0", "card": "1", "other": "2", "voucher": "3"},
    operators=20, v2=True, status_names=BG_STATUS)

ROMANIAN = Dialect(
    name="romanian", title="Romanian firmware", country="RO", codepage="cp1250",
    vat_letters="ABCDEF",  # [RO] OptionVATClass A..F, F = "Alte taxe"
    codes={"0": "NUMERAR", "1": "CARD", "2": "Payment 2", "3": "TICHETE", "4": "BONURI", "5": "VOUCHER",
           "6": "CREDIT", "7": "MODERNE", "8": "ALTE", "9": "Payment 9"},  # [RO] OptionPaymentType
    payments={"cash": "0", "card": "1", "meal_voucher": "3", "value_voucher": "4", "voucher": "5", "credit": "6",
              "modern_payment": "7", "other": "8"},
    operators=9,  # [L] ZFPLib_RO
    v2=False, status_names=RO_STATUS,
    # cp1250 has no comma-below Ș/ș/Ț/ț: the cedilla forms it has stand in (as Romanian registers print them)
    diacritics=str.maketrans({"ș": "ş", "Ș": "Ş", "ț": "ţ", "Ț": "Ţ"}))


@dataclass(frozen=True)
class Model:
    name: str  # what the device's settings name (get_supported_devices)
    dialect: Dialect
    columns: int = 32  # printable characters per line; the 1Dh M answer's value replaces it at connect
    item_name: int = 36  # NamePLU[36]: the name is space-padded to it [D p.47] [E Commands.cs:32-35]
    item_printed: int = 34  # "34 symbols are printed on paper" [D p.47]


MODELS: dict[str, Model] = {m.name: m for m in (
    # [E BgTremolZfpFiscalPrinterDriver.cs:44]: "TREMOL M20; Ver. 1.01 TRA20 C.S. 2541"
    Model("M20", BULGARIAN), Model("S21", BULGARIAN), Model("S25", BULGARIAN),
    Model("M20 V2", V2),  # [E] a model name ending in V2
    # The Romanian editions of the same devices (issue 22: M20 and S21/S25 in Romanian lists; their Romanian
    # rebrands — Activa Galaxy Plus, Adpos, Valmed, Peco — are not listed: no source says which device each is)
    Model("M20-RO", ROMANIAN), Model("S21-RO", ROMANIAN), Model("S25-RO", ROMANIAN),
)}


def model(name: str) -> Model:
    spec = MODELS.get(name)
    if spec is None:
        raise FiscalError(Code.CONFIG, f"model: {name!r} is not a supported Tremol model "
                                       f"({', '.join(MODELS)})")
    return spec


PASSWORD_MAX = 6  # OperPass[6] [D p.39]


def check_config(config: FiscalDeviceConfig) -> None:
    """A Tremol register's settings, checked when they are saved (never accepted and then ignored); the payment
    codes are checked against ``Dialect.codes`` by the device validation (the ``supported.py`` row)."""
    spec = model(config.model)
    if config.header_lines or config.footer_lines:
        # the register prints the header and footer programmed in it (49h [D p.19]); fiscald does not change them
        field = "header_lines" if config.header_lines else "footer_lines"
        raise FiscalError(Code.CONFIG, f"{field}: a Tremol register prints its own header and footer, as "
                                       "programmed in it; leave header_lines and footer_lines empty")
    if config.operator > spec.dialect.operators:
        raise FiscalError(Code.CONFIG, f"operator: a Tremol {spec.name} has operators 1..{spec.dialect.operators}")
    if config.operator_password is not None and len(config.operator_password) > PASSWORD_MAX:
        raise FiscalError(Code.CONFIG, f"operator_password: a Tremol register takes at most {PASSWORD_MAX} digits")


def same_codec(a: str, b: str) -> bool:
    """Two code page names mean the same encoding (``WINDOWS-1250`` and ``cp1250``); an unknown name never does."""
    try:
        return codecs.lookup(a).name == codecs.lookup(b).name
    except LookupError:
        return False


def encode(text: str, dialect: Dialect, field: str, model_name: str) -> bytes:
    """``text`` in the dialect's code page (Romanian comma-below letters as the cedilla forms cp1250 has); a
    character the code page cannot carry is refused naming the field (never printed as '?')."""
    mapped = text.translate(dialect.diacritics) if dialect.diacritics else text
    try:
        return mapped.encode(dialect.codepage)
    except UnicodeEncodeError as exc:
        raise FiscalError(Code.CONFIG, f"{field}: {mapped[exc.start]!r} cannot be printed by a Tremol {model_name} "
                                       f"({dialect.codepage})") from None
