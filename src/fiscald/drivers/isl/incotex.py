"""Incotex (Bulgarian firmware) as the driver's tables. Sources, cited beside each entry by line of the .txt:

[IN]   Incotex "Описание на програмния интерфейс" 20 Feb 2019, Bulgarian
       (erpnet/ErpNet.FP Drivers/BgIncotex/Docs/Protocol_fpr_20Feb2019.txt)
[E-IN] erpnet/ErpNet.FP Drivers/BgIncotex/BgIncotexIslFiscalPrinter{.Commands,,Driver}.cs
[SPEC] shared/spec/isl-brands.md (real answers, e-bon's serial/TCP defaults)

No Incotex Romanian protocol manual exists (isl-brands.md "Romania"): this is the Bulgarian dialect only.
"""

from __future__ import annotations

from fiscald.drivers.isl.brand import CYRILLIC, Brand, Flag, LastZ

INCOTEX = Brand(
    name="incotex", maker="Incotex", dialect="bulgarian",
    # [SPEC] Success M7 (e-bon); [IN] :519 the 300S KL-Q prints 52 characters; columns UNVERIFIED otherwise
    models={"SuccessM7": 32, "FP300S": 52},
    default_model="SuccessM7",
    serial_prefix="IN",  # [IN] :457-460 UNP: the 8-character serial first; [E-IN] Driver.cs :49 IN015013
    open_form="document",  # [IN] :452 <OpNum>,<UNP>,<RevDocNo>[...]: no password; :477 RevDocNo 0 for a sale
    open_command=0x30,
    cancel_command=0x82,  # [IN] :1272-1278 voids every sale, pays 0.00 in cash, closes; reply UNP
    vat_letters=CYRILLIC,  # [IN] :521 TaxGr: Cyrillic А..З
    payment_codes={"cash": "P", "card": "C", "other": "N"},  # [E-IN] Commands.cs :182-185 Cash P, Card C, Check N
    # [IN] :645-650 P cash, C payment 1, N payment 2 (the reverse of Daisy), D payment 3, B payment 4
    codes={"P": "cash", "C": "payment 1", "N": "payment 2", "D": "payment 3", "B": "payment 4"},
    amounts_in_minor_units=False,  # [IN] :589-592 replies "with fractional numbers: always 2 digits after the point"
    absolute_discount=";",  # [IN] :511-512 [,<Percent>|;<Abs>]; subtotal :572
    unit_mark="@",  # [IN] :511 [@MUnit]
    item_width=34,  # [IN] :519 Text1/Text2 up to 34 (300S KL-Q: 52, read from 80h)
    comment_width=34,  # [IN] :672-673 36h up to 34 (300S KL-Q: 52)
    max_sales=None,  # [IN] :557 "the maximum number of operations for one receipt", no number given
    operators=30,  # UNVERIFIED: [IN] :455 OpNum without a range
    password_digits=0,  # [IN] :452 30h takes no password
    diagnostic_serial_at=4,  # [IN] :955-956 FwRev FwDate FwTime,CSum,Sw,Country,SNum,FM,SIM IMSI
    diagnostic_name=False,  # [IN] :955 the first field is the firmware, no model name
    report_sums_at=2,  # [IN] :815-816 Closure,FM_Total1,TotalA..H,FM_Total2,RevA..H
    report_storno_at=11,  # [IN] :829-831 FM_Total2, RevA..RevH: the storno sums by group
    report_net=False,
    last_z=LastZ(0x40, "", 0, 2),  # [IN] :771-780 Number,SpaceGr,TaxA..TaxH,Date
    standing_flags=(
        Flag("three_wrong_passwords", 1, 5),  # [IN] :156
        Flag("invoice_range_not_set", 1, 3),  # [IN] :158
    ),
    widths_at=(9, 10),  # [IN] :1252-1254 80h P10 comment line, P11 names; [E-IN] Driver.cs :69-82 reads them
    error_number=True,  # [IN] :172-173 byte 3: the register's error number
    fm_reports={("date", True): 0x5E, ("date", False): 0x4F, ("number", True): 0x49, ("number", False): 0x5F},
    # [IN] 49h :887-891, 4Fh :916, 5Eh (p.21), 5Fh :978
    baud=9600,  # [SPEC] e-bon: 9600 baud default; [IN] :1405 code 5 = 9600 b/s
)
