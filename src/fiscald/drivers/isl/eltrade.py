"""Eltrade (Bulgarian firmware) as the driver's tables. Sources, cited beside each entry by line of the .txt:

[ED]   Eltrade fiscal printer protocol v1.1.1 (document v1.0.9), English
       (erpnet/ErpNet.FP Drivers/BgEltrade/Docs/bg.isl.ed.protocol-v1.1.1-en.txt)
[E-ED] erpnet/ErpNet.FP Drivers/BgEltrade/BgEltradeIslFiscalPrinter{.Commands,,Driver}.cs
[SPEC] shared/spec/isl-brands.md (real answers, e-bon's serial/TCP defaults)

No Eltrade Romanian protocol manual exists (isl-brands.md "Romania"): this is the Bulgarian dialect only.
"""

from __future__ import annotations

from fiscald.drivers.isl.brand import CYRILLIC, Brand, Flag, LastZ
from fiscald.errors import Code

ELTRADE = Brand(
    name="eltrade", maker="Eltrade", dialect="bulgarian",
    models={"A1": 32, "A3": 32, "B1": 48},  # [SPEC] A1 (e-bon), A3 (a real 5Ah answer); columns UNVERIFIED
    default_model="A1",
    serial_prefix="ED",  # [ED] :1270 UNP /EDXXXXXX-YYYY-NNNNNNN/; [SPEC] ED327823
    open_form="name",  # [ED] :1256 90h <OperName>,<UNP>[,Type...]: no password; reply Allreceipt,FiscReceipt
    open_command=0x90,
    cancel_command=0x3C,  # [ED] :738-744 only on an open receipt, before 35h
    vat_letters=CYRILLIC,  # [ED] :510 TaxCd 'А', 'Б', 'В', ...
    # [ED] :606-616 P cash, N check, C coupons, D external coupons, I packaging, J internal service, K damages,
    # L debit/credit card, M bank transfer, Q NZOK, R reserve
    payment_codes={"cash": "P", "card": "L", "voucher": "C", "value_voucher": "D", "other": "N"},
    codes={"P": "cash", "N": "check", "C": "coupons", "D": "external coupons", "I": "packaging",
           "J": "internal service", "K": "damages", "L": "debit/credit card", "M": "bank transfer", "Q": "NZOK",
           "R": "reserve"},
    amounts_in_minor_units=True,  # [ED] :827-828 "12 bytes with a sign", :911-912 "9 bytes with a sign"
    absolute_discount=";",  # [ED] :499-501 [,Perc\;Abs]; subtotal :537 [,Perc|;Abs]
    unit_mark="",  # [ED] :499-501: no unit of measure
    item_width=30,  # [ED] :504-506 L1, L2 "Text of 30 bytes"
    comment_width=46,  # [ED] :654 36h up to 46 bytes; 2Ah :419 up to 46
    max_sales=1500,  # [ED] 3Ah: "the maximum number of sales for one receipt (1500)" (p.14)
    operators=30,  # UNVERIFIED: 90h carries a name, not a number
    password_digits=0,  # [ED] :1256 90h takes no password
    diagnostic_serial_at=5,  # [SPEC] real answers "A3,ONLINE_BG,...,ED327823,44327823": 7 fields, serial 6th
    diagnostic_name=True,  # [ED] :1016 <Name>,<FwRev>... the model first
    report_sums_at=2,  # [ED] :808 Closure,FM_Total,TotA..TotH
    report_storno_at=None,
    report_net=True,  # [ED] :828 "TotX - The nett sums (Total - VAT)"
    last_z=LastZ(0x6E, "", 8, None),  # [ED] :1233-1243 Cash,Credit,Debit,Cheque,Pay1..Pay4,Closure,Receipt (no 40h)
    standing_flags=(
        Flag("printing_mechanism_fault", 0, 4, "standing"),  # [ED] :182
        Flag("nra_terminal_down", 1, 6),  # [ED] :191 (isl-brands.md: receipts fail while it is set, #166)
        Flag("cover_open", 1, 5, "standing", Code.COVER_OPEN),  # [ED] :192 paper cover open
        Flag("low_battery", 1, 3),  # [ED] :194
        Flag("ej_nearly_full", 2, 4), Flag("ej_full", 2, 2),  # [ED] :204, :206
        Flag("paper_low", 2, 1),  # [ED] :207
        Flag("eik_set", 4, 1), Flag("fm_number_set", 4, 2),  # [ED] :228-229
        Flag("fiscal_memory_fault", 5, 5, "standing"),  # [ED] :235 "error in fiscal memory"
    ),
    widths_at=None,  # [ED] describes no 80h
    error_number=False,  # [ED] :212-219 byte 3: switches SW1..SW7
    fm_reports={("date", True): 0x5E, ("date", False): 0x4F, ("number", True): 0x49, ("number", False): 0x5F},
    # [ED] 49h (p.17), 4Fh :920-931, 5Eh :1034-1048, 5Fh :1060-1066
    baud=115200,  # [SPEC] "115200 8N1 (D-ED)"
)
