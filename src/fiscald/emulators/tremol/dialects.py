"""Tremol (ZFP) dialects and models as data, from shared/spec/tremol.md and the sources it cites:

- [D]  Tremol's protocol description (BG, English) protocol_description_BG_1910211454, pages as printed
- [E]  ErpNet.FP Drivers/BgZfpFiscalPrinter*.cs, BgTremol/BgTremolZfp{,V2}FiscalPrinter*.cs
- [L]  Tremol's legacy Java ZFPLib with its Romanian subclass ZFPLib_RO (tremol.md S13)
- [RO] the Romanian generated ZFPLab API enums (tremol.md S9) and the cbs Odoo module (S8)

Three dialects: Bulgarian (cp1251, VAT classes А-З, payments 0-11), Romanian (cp1250, VAT classes A-F with F
"Alte taxe", payments 0-9) and V2, the Bulgarian "KL version 2" firmware (payments 0-4 and the ``_Old``
commands). The emulator reads these tables and never tests a dialect's name. ``UNVERIFIED`` marks a value no
source gives; docs/devices.md ("Tremol emulator") lists them.
"""

from __future__ import annotations

from dataclasses import dataclass

CYRILLIC = "АБВГДЕЖЗ"  # [D p.47]: VAT classes 0..7


@dataclass(frozen=True)
class Dialect:
    name: str
    country: str  # the 1Dh M answer's first field [D p.93]
    codepage: str  # [D p.6] cp1251; [L] ZFPLib_RO cp1250
    encoding_name: str  # as 1Dh M names it: UNVERIFIED (the description gives the field, not its values)
    vat_letters: str  # the wire's VAT class letters, class 0 first
    vat_rates: tuple[int, ...]  # basis points per class: the factory table (UNVERIFIED, see below)
    department_class: int  # the VAT class of the factory departments (47h programs them [D p.18]): UNVERIFIED
    payments: tuple[str, ...]  # index = the wire's payment type; value = our payment type
    operators: int  # [D p.39] 1..20; [L] ZFPLib_RO: 9
    old_commands: bool  # V2: 64h/6Eh answer the "KL" layouts [D p.27, p.60]
    diacritics: tuple[tuple[str, str], ...] = ()  # comma-below letters mapped before encoding
    status_names: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())  # ST5, ST6 bit names, bit 0 first


BG_ST5 = ("Wrong SIM card", "Blocking 3 days without mobile operator", "No task from NRA", "", "",
          "Wrong SD card", "Deregistered")  # [D p.11]
BG_ST6 = ("No SIM card", "No GPRS Modem", "No mobile operator", "No GPRS service", "Near end of paper",
          "Unsent data for 24 hours")  # [D p.11]
# [RO] StatusRes names; their bit positions are not published: UNVERIFIED order
RO_ST5 = ("No Sec.IC", "No certificates", "No SD card response", "Wrong SD card", "SIM is not activated",
          "Blocking after 24 hours")
RO_ST6 = ("Non-printed copy",)

# [E] BgZfpFiscalPrinter.cs GetPaymentTypeMappings: 0 cash, 1 check, 2 coupons, 3 external coupons,
# 4 packaging, 5 internal usage, 6 damage, 7 card, 8 bank, 9 and 10 reserved; [D p.9] 11 = VAT account/currency
BULGARIAN = Dialect(
    name="bulgarian", country="BG", codepage="cp1251", encoding_name="WINDOWS-1251", vat_letters=CYRILLIC,
    # the rates live in the fiscal memory (42h [D p.15]); UNVERIFIED factory table: А 0, Б 20, В 20, Г 9, Д-З 0
    vat_rates=(0, 2000, 2000, 900, 0, 0, 0, 0), department_class=1,
    payments=("cash", "other", "voucher", "value_voucher", "other", "other", "other", "card", "credit", "other",
              "other", "other"),
    operators=20, old_commands=False, status_names=(BG_ST5, BG_ST6))

# [E] BgTremolZfpV2FiscalPrinter.cs: Cash 0, Card 1, Check 2; [D p.16] KL payments 0..4, 4 = currency
V2 = Dialect(
    name="v2", country="BG", codepage="cp1251", encoding_name="WINDOWS-1251", vat_letters=CYRILLIC,
    vat_rates=BULGARIAN.vat_rates, department_class=1,
    payments=("cash", "card", "other", "voucher", "other"), operators=20,
    old_commands=True, status_names=(BG_ST5, BG_ST6))

# [RO] OptionVATClass A..F (F "Alte taxe"); cbs: A 19 %, B 9 % ... E 0 % (C 5 %, D 5 %: UNVERIFIED);
# OptionPaymentType 0..9 named in ro.linic's enum (code corpus id 52869944924): 0 NUMERAR, 1 CARD, 3 TICHETE,
# 4 BONURI, 5 VOUCHER, 6 CREDIT, 7 MODERNE, 8 ALTE (2 and 9 unnamed); [L] cp1250, 9 operators
ROMANIAN = Dialect(
    name="romanian", country="RO", codepage="cp1250", encoding_name="WINDOWS-1250", vat_letters="ABCDEF",
    vat_rates=(1900, 900, 500, 500, 0, 0), department_class=0,
    payments=("cash", "card", "other", "meal_voucher", "value_voucher", "voucher", "credit", "modern_payment",
              "other", "other"),
    operators=9, old_commands=False,
    # cp1250 has no comma-below Ș/ș/Ț/ț: the cedilla forms it has stand in (as Romanian registers print them)
    diacritics=(("Ș", "Ş"), ("ș", "ş"), ("Ț", "Ţ"), ("ț", "ţ")),
    status_names=(RO_ST5, RO_ST6))

DIALECTS = {d.name: d for d in (BULGARIAN, ROMANIAN, V2)}


@dataclass(frozen=True)
class Model:
    name: str  # what --model takes
    dialect: Dialect
    device_type: str  # 21h DeviceType [D p.12]: 1 ECR, 2 FPr
    model_text: str  # 21h Model, e.g. "TREMOL M20" [E] BgTremolZfpFiscalPrinterDriver.cs:55
    version: str  # 21h Version, e.g. "Ver. 1.01 TRA20 C.S. 2541" [E] ibid.
    columns: int  # printable characters per line (1Dh I/M) UNVERIFIED per model
    item_name: int = 36  # [D p.47] NamePLU[36], "34 symbols are printed"
    item_printed: int = 34
    verified: bool = False  # True: a third party names this model with this dialect


MODELS = {m.name: m for m in (
    # [E] BgTremolZfpFiscalPrinterDriver.cs:55: "TREMOL M20; Ver. 1.01 TRA20 C.S. 2541" (an ECR, type 1)
    Model("M20", BULGARIAN, "1", "TREMOL M20", "Ver. 1.01 TRA20 C.S. 2541", 32, verified=True),
    Model("S21", BULGARIAN, "1", "TREMOL S21", "Ver. 1.01 TRS21 C.S. 1234", 32),  # UNVERIFIED version text
    Model("S25", BULGARIAN, "1", "TREMOL S25", "Ver. 1.01 TRS25 C.S. 1234", 32),  # UNVERIFIED version text
    # [E] ErpNet tells KL version 2 firmware by the model name ending in V2
    Model("M20 V2", V2, "1", "TREMOL M20 V2", "Ver. 2.00 TRA20 C.S. 1234", 32, verified=True),
    # Romanian editions: the issue names M20 and S21/S25 in Romanian lists; no RO 21h answer is published
    Model("M20-RO", ROMANIAN, "1", "TREMOL M20", "Ver. 1.00 RO C.S. 1234", 32),
    Model("S21-RO", ROMANIAN, "1", "TREMOL S21", "Ver. 1.00 RO C.S. 1234", 32),
    Model("S25-RO", ROMANIAN, "1", "TREMOL S25", "Ver. 1.00 RO C.S. 1234", 32),
)}
DEFAULT_MODEL = "M20"
