"""What an ISL brand is to the driver, as data: the tables one brand file fills in (daisy.py, eltrade.py,
incotex.py), read by the one protocol class (protocol.py).

The ISL brands speak Datecs' "old" framing unchanged (1-byte LEN/SEQ/CMD, 6 status bytes: shared/spec/
isl-brands.md section 1, drivers/isl/session.py). What differs between brands is an entry here: command numbers,
request marks, reply layouts, status bits, payment codes, VAT letters, widths, defaults. Where a brand's request
truly has another shape, a small enumerated hook names it (``open_form``); protocol.py chooses among those
hooks and never tests a brand's name. Each brand file cites its source (manual file and line of the .txt, or a
third-party driver's file and line) beside each entry and marks what no source settles ``UNVERIFIED``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from fiscald.errors import Code

CYRILLIC = "АБВГДЕЖЗ"  # VAT groups А..З on the wire, cp1251 C0h..C7h (isl-brands.md "VAT group")
LATIN = "ABCDEFGH"  # our VAT letters, in the same order

# The serial number's two letters name the maker (ErpNet.FP's auto-detection relies on them: isl-brands.md
# "Serial prefix"); a register answering with another maker's letters is another brand than the one configured.
MAKER_PREFIXES: Mapping[str, str] = {"DT": "Datecs", "DY": "Daisy", "ED": "Eltrade", "IN": "Incotex"}

# How a fiscal receipt is opened (the one request that differs in shape between the brands):
# "password": ``Op,Password,UNP``       (Daisy)
# "name":     ``OperatorName,UNP``      (Eltrade's 90h: a name, no password)
# "document": ``Op,UNP,RevDocNo``       (Incotex: no password; RevDocNo 0 = a sale, not a refund)
OpenForm = Literal["password", "name", "document"]


@dataclass(frozen=True)
class Flag:
    """A status bit as the brand's manual names it. ``kind``: "command" — the command itself was refused (syntax,
    invalid, not permitted, overflow, wrong password); "standing" — a condition that stops printing until someone
    clears it (paper out, cover open, fiscal memory full, mechanism fault); "condition" — a fact (receipt open,
    paper low)."""
    name: str
    byte: int
    bit: int
    kind: Literal["command", "standing", "condition"] = "condition"
    error: Code = Code.DEVICE  # what a refusal for it is (command/standing flags)


@dataclass(frozen=True)
class LastZ:
    """Where the last Z report's number (and, when the command gives them, its totals by group) is read."""
    command: int
    data: str
    number_at: int  # field index of the Z number
    sums_at: int | None  # index of group А's total (8 follow); None: the command has none
    storno_at: int | None = None  # index of group А's storno total, subtracted (8 follow)


@dataclass(frozen=True)
class Brand:
    name: str  # "daisy": the table's key and the emulator's name (``fiscald emulate daisy``)
    maker: str  # the manufacturer as get_supported_devices lists it
    dialect: str  # "bulgarian": no Romanian protocol manual exists for these brands (isl-brands.md)
    models: Mapping[str, int]  # model -> printable columns
    serial_prefix: str  # two letters; + 6 digits
    open_form: OpenForm
    open_command: int
    cancel_command: int  # 3Ch (only before a payment) or 82h (voids every sale, pays 0.00 in cash, closes)
    vat_letters: str  # on the wire, in the order of our A..H
    payment_codes: Mapping[str, str]  # our payment type -> the code sent in 35h (defaults; the device may remap)
    codes: Mapping[str, str]  # every code 35h takes -> the brand's name for it
    amounts_in_minor_units: bool  # a reply's amount without a decimal point is in stotinki (else whole units)
    absolute_discount: str  # the mark before an absolute discount in 31h and 33h (a percent is always ",")
    unit_mark: str  # the mark before a unit of measure in 31h ("": the brand has none)
    item_width: int  # characters per line of an item's text (two lines: L1 LF L2)
    comment_width: int  # characters of a free text line (36h, 2Ah)
    max_sales: int | None  # sales one receipt takes (None: the manual states no number)
    operators: int
    # the most digits an operator's password takes; 0: the brand's open takes none. Operator N's factory password
    # is N where it takes one
    password_digits: int
    diagnostic_serial_at: int  # 5Ah '1': the field with the serial number
    diagnostic_name: bool  # 5Ah's first field starts with the model's name
    report_sums_at: int  # 45h: index of group А's total (8 follow)
    report_storno_at: int | None  # 45h: index of group А's storno total (subtracted)
    report_net: bool  # 45h gives sums net of VAT (the VAT is added back with the rates)
    last_z: LastZ
    standing_flags: tuple[Flag, ...]  # besides the flags every ISL brand shares (protocol.COMMON_FLAGS)
    widths_at: tuple[int, int] | None  # 80h: the fields of the comment and item-name widths (None: no 80h)
    error_number: bool  # status byte 3 carries the register's error number (else: DIP switches)
    fm_reports: Mapping[tuple[Literal["date", "number"], bool], int]  # (by, detailed) -> command
    default_model: str
    baud: int  # the serial default
    tcp_port: int = 9100
    codepage: str = "cp1251"
    operator_name: str = "Operator {n}"  # "name" open form: what is printed for operator n
    lacking: frozenset[str] = field(default_factory=frozenset)
