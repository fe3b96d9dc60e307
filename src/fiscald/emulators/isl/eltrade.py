"""Eltrade (Bulgarian firmware) as tables. Sources, cited beside each entry:

[ED]    Eltrade fiscal printer protocol v1.1.1 (document v1.0.9), English
        (ErpNet.FP BgEltrade/Docs/bg.isl.ed.protocol-v1.1.1-en.txt), by page
[E-ED]  ErpNet.FP Drivers/BgEltrade/BgEltradeIslFiscalPrinter.Commands.cs, by line; [E-EDD] ...Driver.cs;
        [E-EDO] ...BgEltradeIslFiscalPrinter.cs
[SPEC]  shared/spec/isl-brands.md ("real answers": fpgate's recorded Eltrade 5Ah answer)

No Eltrade Romanian protocol manual exists (isl-brands.md): this is the Bulgarian dialect only.
"""

from __future__ import annotations

from fiscald.emulators.datecs.dialects import Status
from fiscald.emulators.isl.brand import Brand, Refusals
from fiscald.emulators.rules import Rule

ELTRADE = Brand(
    name="eltrade", maker="Eltrade", dialect="bulgarian",
    serial_prefix="ED",  # [E-EDD] :50 auto-detection; [SPEC] real answer ED327823
    fm_prefix="44",  # [ED] p.24 FMIN /44XXXXXX/; [SPEC] real answer 44327823
    commands={
        # [ED] p.17 49h, 4Fh; p.19-20 5Eh, 5Fh: fiscal memory reports by number / date
        0x49: "fm_by_number", 0x4F: "fm_by_date", 0x5E: "fm_by_date", 0x5F: "fm_by_number",
        0x26: "open_non_fiscal", 0x27: "close_non_fiscal", 0x2A: "non_fiscal_text",  # [ED] p.8-9
        0x31: "sale", 0x33: "subtotal", 0x35: "payment", 0x36: "text", 0x38: "close",  # [ED] p.10-13
        0x3C: "cancel",  # [ED] p.14: only before 53 (35h)
        0x3D: "set_datetime", 0x3E: "get_datetime",  # [ED] p.14
        0x45: "report", 0x46: "cash", 0x4A: "status", 0x4C: "transaction",  # [ED] p.15-17
        0x5A: "diagnostic", 0x63: "tax_number", 0x6A: "drawer", 0x6D: "duplicate", 0x71: "last_document",
        # [ED] p.19-23
        0x61: "vat_rates", 0x6E: "last_fiscal",  # [ED] p.20 61h; p.23 6Eh ...,Closure,Receipt (no 40h)
        0x90: "open",  # [ED] p.23: <OperName>,<UNP>[,Type...], no password; [E-ED] :13, :56
        # no 30h: [ED] describes none (its 90h replaced it); UNVERIFIED whether older firmware still answers it
    },
    open_syntax="operator_name_unp",
    payments={  # [ED] p.12; [E-ED] :19-29 the same letters
        "P": "cash", "N": "other", "C": "voucher", "D": "voucher", "I": "other", "J": "other", "K": "other",
        "L": "card", "M": "other", "Q": "other", "R": "other",
    },
    amounts="stotinki",  # [ED] p.16-17: "9 bytes with a sign", "12 bytes with a sign" (in stotinki: UNVERIFIED)
    absolute_discount=";",  # [ED] p.10-11 [,Perc|;Abs]
    unit_mark="",  # [ED] p.10: no unit of measure
    sale_department_form=True,  # [ED] p.10 <Tab><Dept><Tab><Price>; [E-ISL] :263-266
    status_data=True,  # [ED] p.17 Response <S0>..<S5>
    duplicate_once=False,  # [ED] p.23: Count 1, no limit stated
    departments=100,  # [ED] p.10 Dept 1..100 (which are programmed: UNVERIFIED, 1..8 -> groups А..З here)
    item_width=30,  # [ED] p.10 L1/L2 30 bytes; [E-EDD] :63
    comment_width=46,  # [ED] p.9, 13; [E-EDD] :62
    max_sales=1500,  # [ED] p.14 (3Ah: "the maximum number of sales for one receipt (1500)")
    factory_password=None,  # 90h takes no password [ED] p.23
    lock_after=None,
    drawer_ms=(5, 100),  # [ED] p.21, default 15
    report_options={"": "Z", "0": "Z", "2": "X"},  # [ED] p.15-16 (a trailing N or a keeps operator data)
    layouts={
        "open": ("all", "fiscal"),  # [ED] p.23-24 Allreceipt, FiscReceipt
        "close": ("all", "fiscal"),  # [ED] p.13
        "cancel": (),  # [ED] p.14: no data
        "cash": ("code", "cash", "cash_in", "cash_out"),  # [ED] p.16 ExitCode,CashSum,ServIn,ServOut
        "last_document": ("document",),  # [ED] p.23 DocNum, 7 digits
        "datetime": ("date_time",),  # [ED] p.14 <DD-MM-YY><Space><HH:MM:SS>
        "transaction": ("is_open", "items", "amount"),  # [ED] p.17 Open,Items,Amount
        "transaction_t": ("is_open", "items", "amount", "paid"),  # [ED] p.17 [,Tender] with T
        "report": ("nrep", "fm_total", *(f"net_{x}" for x in "ABCDEFGH")),  # [ED] p.15-16 (TotX: net of VAT)
        # [ED] p.19 Name,FwRev Sp FwDate Sp FwTime,Chk,Sw,Ser,FM (6 fields); real answers have 7, the model
        # first, serial 6th, FM 7th ([SPEC] "A3,ONLINE_BG,...,ED327823,44327823"; [E-EDD] :43-56): the 2nd and
        # 3rd fields' contents are UNVERIFIED
        "diagnostic": ("{model}", "ONLINE_BG", "1.00BG 01Dec26 1200", "{checksum}", "0000", "{serial}", "{fm}"),
        # [ED] p.23 6Eh Cash,Credit,Debit,Cheque,Pay1..Pay4,Closure,Receipt (the day's payments: UNVERIFIED here)
        "last_fiscal": (*("zero",) * 8, "nrep", "next"),
        "tax_number": ("{eik}", "ЕИК"),  # [ED] p.20 Text,Name
    },
    refusals=Refusals(
        bits={  # [ED] p.5: 0.0 syntax, 1.1 not in this mode, 1.0 overflow (with 1.1), 1.5 cover, 2.0 paper, 4.4
            Rule.SYNTAX: ((0, 0),), Rule.PAPER_OUT: ((2, 0),), Rule.COVER_OPEN: ((1, 5), (1, 1)),
            Rule.FM_FULL: ((4, 4),), Rule.OVERFLOW: ((1, 0), (1, 1)),
        },
    ),  # no error numbers: byte 3 carries the switches
    status=Status(
        standing=((4, 2), (4, 1), (5, 4), (5, 3), (5, 1)),  # [ED] p.5-6: FM number, EIK, rates, fiscal, formatted
        general=frozenset({(0, 4), (0, 1), (0, 0), (1, 4), (1, 3), (1, 2), (1, 1), (1, 0), (2, 0)}),  # '#' p.5
        fm_general=frozenset({(4, 4), (4, 0), (5, 2), (5, 0)}),  # '*' [ED] p.5-6
        faults={"paper_out": (2, 0), "cover_open": (1, 5), "fiscal_memory_full": (4, 4)},  # [ED] p.5
        byte3="switches",  # [ED] p.5: SW1..SW7 (all off here); [E-ED] :166-176
    ),
    models={"A1": 32, "A3": 32, "B1": 48},  # [SPEC] EB lists A1; A3 from the real answer; columns UNVERIFIED
    default_model="A1",
)
