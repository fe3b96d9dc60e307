"""Incotex (Bulgarian firmware) as tables. Sources, cited beside each entry:

[IN]    Incotex "Описание на програмния интерфейс" 20 Feb 2019, Bulgarian
        (ErpNet.FP BgIncotex/Docs/Protocol_fpr_20Feb2019.txt), by page
[E-IN]  ErpNet.FP Drivers/BgIncotex/BgIncotexIslFiscalPrinter.Commands.cs, by line; [E-IND] ...Driver.cs;
        [E-INO] ...BgIncotexIslFiscalPrinter.cs

No Incotex Romanian protocol manual exists (isl-brands.md): this is the Bulgarian dialect only.
"""

from __future__ import annotations

from fiscald.emulators.datecs.dialects import Status
from fiscald.emulators.isl.brand import Brand, Refusals
from fiscald.emulators.rules import Rule

INCOTEX = Brand(
    name="incotex", maker="Incotex", dialect="bulgarian",
    serial_prefix="IN",  # [E-IND] :58 auto-detection; :49 real answer IN015013
    fm_prefix="54",  # [E-IND] :49 real answer FM 54015013
    commands={
        # [IN] :887 49h, :916 4Fh, 5Eh, :978 5Fh: fiscal memory reports by number / date
        0x49: "fm_by_number", 0x4F: "fm_by_date", 0x5E: "fm_by_date", 0x5F: "fm_by_number",
        0x26: "open_non_fiscal", 0x27: "close_non_fiscal", 0x2A: "non_fiscal_text",  # [IN] p.9
        0x30: "open", 0x31: "sale", 0x33: "subtotal", 0x35: "payment", 0x36: "text", 0x38: "close",  # [IN] p.11-15
        0x3D: "set_datetime", 0x3E: "get_datetime",  # [IN] p.16-17
        0x45: "report", 0x46: "cash", 0x4A: "status", 0x4C: "transaction",  # [IN] p.18-19
        0x5A: "diagnostic", 0x63: "tax_number", 0x6A: "drawer", 0x6D: "duplicate",  # [IN] p.20-24
        0x71: "last_document", 0x80: "constants",  # [IN] p.25-26
        0x40: "last_fiscal", 0x61: "vat_rates",  # [IN] :771-780 (last fiscal record), :1000-1004 (tax rates)
        0x82: "void_receipt",  # [IN] p.26: voids every sale, pays 0.00 in cash, closes; reply UNP; [E-IN] :16, :21
        0x8A: "department_sale",  # [IN] p.27 [Sign]Dept[*QTY][,Perc|;Abs][@Price]
        # no 3Ch: [IN] p.7-8 command lists have none (cancel is 82h)
    },
    open_syntax="operator_unp_doc",  # [IN] p.11: <OpNum>,<UNP>,<RevDocNo>[,<F1>[<F2>...]], no password
    payments={  # [IN] p.14-15: P cash, C payment 1, N payment 2 (the reverse of Daisy), D payment 3, B payment 4
        "P": "cash", "C": "card", "N": "other", "D": "other", "B": "other",
    },  # types: [E-IN] :181-186 ErpNet maps Cash P, Card C, Check N, Reserved1 D
    amounts="decimal",  # [IN] p.13-14: "with fractional numbers - always 2 digits after the decimal point"
    absolute_discount=";",  # [IN] p.12-13 [,<Percent>|;<Abs>]; [E-IN] :159
    unit_mark="@",  # [IN] p.12-13 [@MUnit]
    sale_department_form=False,  # UNVERIFIED: [IN] p.12 shows no department form in 31h (8Ah is the
    # sale by department), though ErpNet.FP's Incotex driver sends one ([E-IN] :140-143)
    status_data=False,  # [IN] p.19: 4Ah answers no data
    duplicate_once=True,  # [IN] p.24: a second attempt is not executed (refused: error 3 here, 28 in [IN]
    # p.6 "cannot print a duplicate": UNVERIFIED which one a unit sends)
    departments=100,  # [IN] p.27 (1..20 or 1..100 by model; which are programmed: UNVERIFIED, 1..8 -> А..З)
    item_width=34,  # [IN] p.12: up to 34 (300S KL-Q: 52); longer text is cut
    comment_width=34,  # [IN] p.9, 15
    max_sales=200,  # UNVERIFIED: [IN] p.26 P24 "transactions in one receipt" gives no number
    factory_password=None,  # [IN] p.11: 30h takes no password ([E-INO] :23 default password 0 for 65h)
    lock_after=None,  # [IN] p.5 1.5 "three wrong passwords in a row": only 65h takes one (not emulated)
    drawer_ms=(5, 150),  # [IN] p.22, default 80
    report_options={"": "Z", "0": "Z", "1": "Z", "2": "X", "3": "X", "8": "periodic", "9": "periodic"},  # p.18
    layouts={
        "open": ("all", "fiscal"),  # [IN] p.11 Allreceipt, FiscReceipt
        "close": ("all", "fiscal", "unp"),  # [IN] p.15 Allreceipt, FiscReceipt, UNP
        "cancel": ("unp",),  # [IN] p.26
        "cash": ("code", "cash", "cash_in", "cash_out"),  # [IN] p.18 Code,CashSum,ServIn,ServOut
        "last_document": ("document",),  # [IN] p.25 DocNum (7 digits: UNVERIFIED)
        "datetime": ("date_time",),  # [IN] p.17 DD-MM-YY HH:MM:SS
        "transaction": ("is_open", "items", "amount", "paid"),  # [IN] p.19 Open,Items,Amount,Paid
        "transaction_t": ("is_open", "items", "amount", "paid"),  # [IN] p.19 (T: the same fields)
        # [IN] p.18 Closure,FM_Total1,TotalA..H,FM_Total2,RevA..H; FM_Total1 "always 0 for Bulgaria"
        "report": ("nrep", "zero", *(f"tot_{x}" for x in "ABCDEFGH"), "zero", *(f"stor_{x}" for x in "ABCDEFGH")),
        # [IN] p.20 FwRev Sp FwDate Sp FwTime,ChSum,Sw,Country,SNum,FM,SIM IMSI; the real answer [E-IND] :49
        # "2.11 Jan 22 2019 14:00,DB44EEAD,0000,06,IN015013,54015013,284013911622147"
        "diagnostic": ("1.00 Dec 01 2026 12:00", "{checksum}", "0000", "06", "{serial}", "{fm}", "284010000000000"),
        # [IN] :771-780 40h Number,SpaceGr,TaxA..TaxH,Date (SpaceGr "always 0 for Bulgaria")
        "last_fiscal": ("nrep", "zero", *(f"tot_{x}" for x in "ABCDEFGH"), "date"),
        "tax_number": ("{serial}", "{eik}"),  # [IN] p.21 FD No, Code; [E-IN] :32-35 takes the 2nd
    },
    refusals=Refusals(
        bits={  # [IN] p.5-6: 0.0 syntax, 1.1 not allowed, 2.0 end of paper, 4.4 FM full
            Rule.SYNTAX: ((0, 0),), Rule.PAPER_OUT: ((2, 0),), Rule.FM_FULL: ((4, 4),),
        },
        numbers={  # byte 3: [IN] p.5-6 error numbers
            Rule.OVERFLOW: 8, Rule.TOO_MANY_SALES: 12, Rule.NO_SALES: 18, Rule.NO_CASH: 21, Rule.FM_FULL: 24,
            Rule.FORBIDDEN_PAYMENT: 42, Rule.NOT_PERMITTED: 3, Rule.RECEIPT_OPEN: 3, Rule.RECEIPT_CLOSED: 3,
            Rule.NON_FISCAL_OPEN: 3, Rule.PAYMENT_STARTED: 3, Rule.NOT_PAID: 3, Rule.WRONG_PASSWORD: 3,
            Rule.DAY_OVER: 3, Rule.WRONG_DATETIME: 3, Rule.COVER_OPEN: 3,  # 3 "wrong operation": UNVERIFIED
        },
    ),
    status=Status(
        standing=((5, 5), (5, 4), (5, 3)),  # [IN] p.6: numbers set, rates set, fiscalised
        general=frozenset({(0, 1), (0, 0), (1, 4), (1, 3), (1, 2), (1, 1), (2, 2), (2, 0)}),  # '#' [IN] p.5
        fm_general=frozenset({(4, 4), (4, 0), (5, 2), (5, 0)}),  # '*' [IN] p.6
        faults={"paper_out": (2, 0), "fiscal_memory_full": (4, 4)},  # no cover bit in [IN] p.5-6
        byte3="error_number",  # [IN] p.5; [E-IN] :251, :312
    ),
    models={"SuccessM7": 32, "FP300S": 52, "181": 32},  # [SPEC] Success M7; [IN] 300S KL-Q 52; columns UNVERIFIED
    default_model="SuccessM7",
    # [IN] p.26: P1..P27 (ErpNet reads >= 10 and P10, P11 [E-IND] :69-82); values UNVERIFIED except P9-P11
    constants=("384", "96", "5", "8", "0", "0", "0", "12", "columns", "comment", "names", "8", "8", "0", "13",
               "100", "3000", "0", "0", "10", "16", "0", "10", "200", "0", "0", "0"),
)
