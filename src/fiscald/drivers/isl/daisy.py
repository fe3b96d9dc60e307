"""Daisy (Bulgarian firmware) as the driver's tables. Sources, cited beside each entry by line of the .txt:

[DY]   Daisy Tech "Protocol for communication between fiscal devices and PC" V1.2 2019, English
       (Unicontsoft/UcsFiscalPrinters doc/Daisy/Protocol-for-communication-between-fiscal-device-and-PC_BG_eng_
       02.10.2019.txt)
[E-DY] erpnet/ErpNet.FP Drivers/BgDaisy/BgDaisyIslFiscalPrinter{.Commands,,Driver}.cs
[SPEC] shared/spec/isl-brands.md (real answers, e-bon's serial/TCP defaults)

No Daisy Romanian protocol manual exists (isl-brands.md "Romania"): this is the Bulgarian dialect only.
"""

from __future__ import annotations

from fiscald.drivers.isl.brand import CYRILLIC, Brand, Flag, LastZ

DAISY = Brand(
    name="daisy", maker="Daisy", dialect="bulgarian",
    # models as e-bon and the Romanian integrators list them ([SPEC] "Per brand in Romania"); columns UNVERIFIED
    models={"CompactM": 32, "CompactS": 32, "PerfectM": 32, "ExpertSX": 42, "FX1200": 42},
    default_model="CompactM",
    serial_prefix="DY",  # [DY] :715-716 UNP "Ind. FM number (2 capital letters + 6 digits)"; [SPEC] DY408097
    open_form="password",  # [DY] :699 {ClerkNum},{Password},{UnicSaleNum}; reply Allreceipt,FiscReceipt :702
    open_command=0x30,
    cancel_command=0x82,  # [DY] :1773-1783 voids every sale, pays 0.00 in cash, closes (no 3Ch in the lists)
    vat_letters=CYRILLIC,  # [DY] :768 TaxGr: Cyrillic А..З
    payment_codes={"cash": "P", "card": "C", "other": "N"},  # [E-DY] Commands.cs :88-93 Cash P, Card C, Check N
    # [DY] :861-866 "P" cash, "N" payment 1, "C" payment 2, "D"/"U" payment 3, "B"/"E" payment 4
    codes={"P": "cash", "N": "payment 1", "C": "payment 2", "D": "payment 3", "U": "payment 3",
           "B": "payment 4", "E": "payment 4"},
    amounts_in_minor_units=False,  # UNVERIFIED: [DY] :829 "10 symbols"; ErpNet parses a point when present
    absolute_discount="$",  # [DY] :760-761 [,Percent][$Netto]; subtotal :818 [$Netto]
    unit_mark="",  # [DY] :760-761: no unit of measure in 31h
    item_width=22,  # UNVERIFIED: #COMMENT_LEN# (read from 80h P10 on a real unit); longer text is cut :785
    comment_width=30,  # UNVERIFIED: #COMMENT_LEN#; [DY] :900 longer text is cut
    max_sales=None,  # [DY] :779 "the maximum number of sales for one receipt", no number given
    operators=30,  # UNVERIFIED: [DY] :705 "1 to #OPER_MAX_CNT#"
    password_digits=6,  # [DY] :706 "up to 6 digits"; operator N password N UNVERIFIED ([E-DY] Printer.cs :22-23
    # operator 1 password 1)
    diagnostic_serial_at=4,  # [DY] :1263-1264 Rev Date Time,ChekSum,Sw,Country,SerNum,FM
    diagnostic_name=True,  # [SPEC] the real answer "CompactM ONL01-4.01BG 29-10-2018 11:34,..." has the model first
    report_sums_at=1,  # [DY] :1082 Closure,Tax1..Tax8,StTax1..StTax8 (Tax = session sales total)
    report_storno_at=None,  # [DY] :1107-1114 StTax "total amount of transaction by tax group": not storno
    report_net=False,
    last_z=LastZ(0x40, "T", 0, 1),  # [DY] :1007-1012 [Type] "T" = with VAT: Number,Tax1..Tax8,StTax..,Date
    standing_flags=(
        Flag("printing_mechanism_fault", 0, 4, "standing"),  # [DY] :258
        Flag("wrong_password", 1, 6, "command"),  # [DY] :267
        Flag("cutter_error", 1, 5),  # [DY] :268
        Flag("ej_nearly_full", 2, 4), Flag("ej_full", 2, 2),  # [DY] :289-292
        Flag("paper_low", 2, 1),  # [DY] :293
        Flag("nra_terminal_problem", 4, 1),  # [DY] :311
    ),
    widths_at=(9, 10),  # [DY] 80h (p.32) P10 #COMMENT_LEN#, P11 item names; ErpNet reads them ([E-DY] Driver.cs :85-86)
    error_number=True,  # [DY] :296-298, :339-340 byte 3: the register's error number
    fm_reports={("date", True): 0x5E, ("date", False): 0x4F, ("number", True): 0x49, ("number", False): 0x5F},
    # [DY] 49h :2106, 4Fh :1204-1207, 5Eh :1288, 5Fh :2109
    baud=115200,  # [SPEC] "Serial 115200 (EB, E-T)"
)

