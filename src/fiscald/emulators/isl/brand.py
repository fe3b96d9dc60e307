"""What an ISL brand is, as data: the tables one brand file fills in (daisy.py, eltrade.py, incotex.py).

The ISL brands speak Datecs' "old" framing unchanged (1-byte LEN/SEQ/CMD, 6 status bytes, NAK, SYN, the
repeated-SEQ rule: shared/spec/isl-brands.md section 1), so the emulator core (emulator.py) is the Datecs
emulator's line, control and fiscal rules with these tables in place of Datecs' dialects. Everything that
differs between brands is an entry here; a hook is a small enumerated choice (``open_syntax``), never code in a
brand file. Each brand file cites its source beside each entry and marks what no source settles ``UNVERIFIED``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from fiscald.emulators.datecs.dialects import Bit, Status
from fiscald.emulators.rules import Rule

CYRILLIC = "АБВГДЕЖЗ"  # VAT groups А..З, cp1251 C0h..C7h (every ISL manual; E-ISL GetTaxGroupText)
LATIN = "ABCDEFGH"  # the Simulated register's VAT letters, in the same order

# Functions a register answers; a brand's ``commands`` maps its command codes to them.
Function = Literal[
    "open", "sale", "department_sale", "subtotal", "payment", "text", "close", "cancel", "void_receipt",
    "set_datetime", "get_datetime", "report", "cash", "status", "transaction", "diagnostic", "tax_number",
    "last_document", "drawer", "duplicate", "open_non_fiscal", "non_fiscal_text", "close_non_fiscal", "constants",
    "vat_rates", "last_fiscal", "fm_by_date", "fm_by_number",
]


@dataclass(frozen=True)
class Refusals:
    """How a brand shows a refused request: status bits and, where byte 3 carries one, an error number."""
    bits: dict[Rule, tuple[Bit, ...]]
    numbers: dict[Rule, int] = field(default_factory=dict)  # byte 3 (0: none)


@dataclass(frozen=True)
class Brand:
    name: str  # "daisy"
    maker: str  # "Daisy"
    dialect: str  # "bulgarian" (no Romanian protocol manual exists for these brands: isl-brands.md)
    serial_prefix: str  # two letters + 6 digits (ErpNet.FP's auto-detection relies on it)
    fm_prefix: str  # the fiscal memory number: these 2 digits + 6
    commands: dict[int, Function]
    open_syntax: Literal["operator_password_unp", "operator_name_unp", "operator_unp_doc"]
    payments: dict[str, str]  # wire code -> our payment type
    amounts: Literal["decimal", "stotinki"]  # "12.34", or a sign and stotinki "+00001234" where widths apply
    absolute_discount: str  # the mark before an absolute discount in a sale or subtotal ("$" or ";")
    unit_mark: str  # the mark before a unit of measure in a sale ("" none)
    sale_department_form: bool  # 31h also takes ``text TAB dept TAB price`` (a sale by department)
    status_data: bool  # 4Ah answers the status bytes as data too (else no data: they are in the status field)
    duplicate_once: bool  # 6Dh prints the last receipt's duplicate once only
    departments: int  # departments a sale by department may name (1..n)
    item_width: int  # characters per line of item text
    comment_width: int  # free text (36h, 2Ah) is cut to this
    max_sales: int
    factory_password: str | None  # None: operator N's password is N
    lock_after: int | None  # wrong passwords before the register locks
    drawer_ms: tuple[int, int]  # the pulse a drawer command may set (min, max)
    report_options: dict[str, Literal["Z", "X", "periodic"]]  # 45h option -> report ("" = no option)
    layouts: dict[str, tuple[str, ...]]  # reply layouts by name (field names; emulator.py fills them)
    refusals: Refusals
    status: Status
    models: dict[str, int]  # model -> printable columns
    default_model: str
    constants: tuple[str, ...] = ()  # 80h reply (empty: the brand has no 80h)
    country: str = "BG"
    codepage: str = "cp1251"
    tax_letters: str = CYRILLIC
