"""Daisy (Bulgarian firmware) as tables. Sources, cited beside each entry:

[DY]    Daisy Tech "Protocol for communication between fiscal devices and PC" V1.2 2019, English
        (Unicontsoft/UcsFiscalPrinters doc/Daisy/Protocol-for-communication-...-BG_eng_02.10.2019.txt), by page
[DY-UM] Daisy Compact M user manual (ErpNet.FP BgDaisy/Docs/Пълна-инструкция-за-експлоатация_Compact_M.txt), by page
[E-DY]  ErpNet.FP Drivers/BgDaisy/BgDaisyIslFiscalPrinter.Commands.cs, by line; [E-DYD] ...Driver.cs;
        [E-DYO] ...BgDaisyIslFiscalPrinter.cs
[SPEC]  shared/spec/isl-brands.md ("real answers": fpgate's recorded Daisy 5Ah answer)

No Daisy Romanian protocol manual exists (isl-brands.md): this is the Bulgarian dialect only.
"""

from __future__ import annotations

from fiscald.emulators.datecs.dialects import Status
from fiscald.emulators.isl.brand import Brand, Refusals
from fiscald.emulators.rules import Rule

NOT_PERMITTED = ((1, 1),)

DAISY = Brand(
    name="daisy", maker="Daisy", dialect="bulgarian",
    serial_prefix="DY",  # [E-DYD] :57 auto-detection: "DY" + 6 digits; [SPEC] real answer DY408097
    fm_prefix="36",  # [SPEC] real answer FM 36543869 (8 digits; the prefix UNVERIFIED beyond that one unit)
    commands={
        # [DY] p.22 49h, 4Fh; p.24 5Eh, 5Fh: fiscal memory reports by number / date
        0x49: "fm_by_number", 0x4F: "fm_by_date", 0x5E: "fm_by_date", 0x5F: "fm_by_number",
        0x26: "open_non_fiscal", 0x27: "close_non_fiscal", 0x2A: "non_fiscal_text",  # [DY] p.11-12
        0x30: "open", 0x31: "sale", 0x33: "subtotal", 0x35: "payment", 0x36: "text", 0x38: "close",  # [DY] p.14-17
        0x3D: "set_datetime", 0x3E: "get_datetime",  # [DY] p.18-19
        0x45: "report", 0x46: "cash", 0x4A: "status", 0x4C: "transaction",  # [DY] p.20-22
        0x5A: "diagnostic", 0x63: "tax_number", 0x6A: "drawer", 0x6D: "duplicate",  # [DY] p.23, 25, 27, 29
        0x71: "last_document", 0x80: "constants",  # [DY] p.30, 32
        0x40: "last_fiscal", 0x61: "vat_rates",  # [DY] p.19 FINAL FISCAL RECORD, p.25 CURRENT TAX RATES
        0x82: "void_receipt",  # [DY] p.32: voids every sale, pays 0.00 in cash, closes; [E-DY] :18, :71
        0x8A: "department_sale",  # [DY] p.34 {[Sign]Dept}{@Price}[*QTY][,Percent][$Netto]; [E-DY] :19, :38
        # no 3Ch: [DY] p.8-10 command lists have none (cancel is 82h)
    },
    open_syntax="operator_password_unp",  # [DY] p.14 {ClerkNum},{Password},{UnicSaleNum}[{Tab}I|R...]
    payments={  # [DY] p.16: P cash, N payment 1, C payment 2, D/U payment 3, B/E payment 4
        "P": "cash", "N": "other", "C": "card", "D": "other", "U": "other", "B": "other", "E": "other",
    },  # types: [E-DY] :88-93 ErpNet maps Cash P, Card C, Check N, Reserved1 D
    amounts="decimal",  # UNVERIFIED: [DY] p.16/22 give widths only ("10 digits"); ErpNet parses either form
    absolute_discount="$",  # [DY] p.15 [$Netto]; [E-DY] :54, :66 ("10$amount")
    unit_mark="",  # [DY] p.15: no unit of measure in 31h
    sale_department_form=False,  # [DY] p.15: 31h has no department form (that is 8Ah)
    status_data=True,  # [DY] p.22 Reply {S0}..{S5}
    duplicate_once=False,  # [DY] p.29: Count must be 1, no limit stated
    departments=99,  # [DY] p.34 "up to 2 digits"; which are programmed: UNVERIFIED (1..8 -> groups А..З here)
    item_width=22,  # UNVERIFIED: #COMMENT_LEN# / P11 are read from 80h ([E-DYD] :85-86); text is cut [DY] p.15
    comment_width=30,  # UNVERIFIED value of #COMMENT_LEN#; longer text is cut [DY] p.12, 17
    max_sales=120,  # UNVERIFIED: [DY] p.15 "maximum number of sales" without the number
    factory_password=None,  # UNVERIFIED: operator N, password N ([E-DYO] :22-23 default operator 1 password 1)
    lock_after=None,  # [DY] p.6: 1.6 wrong password, no lock described
    drawer_ms=(50, 1000),  # [DY] p.27: 50 or more, default 100 (upper bound UNVERIFIED)
    report_options={"": "Z", "0": "Z", "1": "Z", "2": "X", "3": "X", "8": "periodic", "9": "periodic"},  # [DY] p.20
    layouts={
        "open": ("all", "fiscal"),  # [DY] p.14 Allreceipt, FiscReceipt
        "close": ("all", "fiscal"),  # [DY] p.17
        "cancel": ("all", "fiscal"),  # [DY] p.32 (82h)
        "cash": ("code", "cash", "cash_in", "cash_out"),  # [DY] p.21 Code,CashSum,ServInput,ServOutput
        "last_document": ("document",),  # [DY] p.30 DocNumber (7 digits: UNVERIFIED)
        "datetime": ("date_time",),  # [DY] p.19 DD-MM-YY HH:MM:SS (real units also send dd.MM.yy: isl-brands.md)
        "transaction": ("is_open", "items", "amount"),  # [DY] p.22 Open,Items,Amount
        "transaction_t": ("is_open", "items", "amount", "paid", "remainder"),  # [DY] p.22 [,Tender,Remainder]
        "report": ("nrep", *(f"tot_{x}" for x in "ABCDEFGH"), *(f"stor_{x}" for x in "ABCDEFGH")),  # [DY] p.20-21
        # [DY] p.23: {FirmwareRev} {Date} {Time},{ChekSum},{Sw},{Country},{SerNum},{FM}; the real answer [SPEC]
        # has the model first: "CompactM ONL01-4.01BG 29-10-2018 11:34,...,DY408097,36543869" (4 space parts,
        # which [E-DYD] :62-63 requires), Country 6 for Bulgaria
        "diagnostic": ("{model} ONL01-1.00BG 01-12-2026 12:00", "{checksum}", "0000", "6", "{serial}", "{fm}"),
        # [DY] p.19 40h [Type] -> Number,Tax1..Tax8,StTax1..StTax8,Date (the totals with VAT when Type is T)
        "last_fiscal": ("nrep", *(f"tot_{x}" for x in "ABCDEFGH"), *("zero",) * 8, "date"),
        "tax_number": ("{eik}",),  # [DY] p.25 IdentNo ([E-DY] :83 trims '-')
    },
    refusals=Refusals(
        bits={  # [DY] p.6-7: 0.0 syntax, 1.1 prohibited in this mode, 1.6 wrong password, 2.0 no paper, 4.4 FM full
            Rule.SYNTAX: ((0, 0),), Rule.WRONG_PASSWORD: ((1, 6), (1, 1)),
            Rule.PAPER_OUT: ((2, 0),), Rule.COVER_OPEN: ((0, 4),), Rule.FM_FULL: ((4, 4),),
            Rule.OVERFLOW: ((1, 0), (1, 1)),
        },
        numbers={  # byte 3: the register's error number [DY] p.7 -> [DY-UM] p.51-53 error table
            Rule.OVERFLOW: 1, Rule.TOO_MANY_SALES: 3, Rule.PAYMENT_STARTED: 6, Rule.NOT_PERMITTED: 7,
            Rule.NOT_PAID: 7, Rule.RECEIPT_CLOSED: 7, Rule.FORBIDDEN_PAYMENT: 7, Rule.NO_CASH: 7,
            Rule.WRONG_DATETIME: 10, Rule.RECEIPT_OPEN: 19, Rule.NON_FISCAL_OPEN: 19, Rule.NO_SALES: 25,
            Rule.FM_FULL: 30, Rule.DAY_OVER: 82,
        },
    ),
    status=Status(
        standing=((5, 6), (5, 5), (5, 4), (5, 3)),  # [DY] p.7: FM ready, ids set, tax rates set, fiscalised
        general=frozenset({(0, 4), (0, 1), (0, 0), (1, 4), (1, 3), (1, 2), (1, 1), (2, 0)}),  # '*' [DY] p.6-7
        fm_general=frozenset({(4, 4), (4, 0), (5, 2), (5, 0)}),  # [DY] p.7
        faults={"paper_out": (2, 0), "fiscal_memory_full": (4, 4),
                "cover_open": (0, 4)},  # UNVERIFIED: no cover bit in [DY]; 0.4 printing mechanism error
        byte3="error_number",  # [DY] p.7; [E-DY] :128, :169
    ),
    models={"CompactM": 32, "CompactS": 32, "PerfectM": 32, "ExpertSX": 42, "FX1200": 42},  # columns UNVERIFIED
    default_model="CompactM",
    # [DY] p.32: P1..P25; ErpNet requires exactly 26 from real registers ([E-DYD] :74), so a 26th (0) is sent
    # (values UNVERIFIED except P9 columns, P10 comment, P11 names, which ErpNet reads)
    constants=("384", "96", "5", "8", "0", "0", "А", "12", "columns", "comment", "names", "8", "8", "0", "13",
               "99", "3000", "1", "1", "10", "20", "10", "0", "0", "0", "0"),
)
