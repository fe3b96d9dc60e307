"""Conformance corpus for ``fiscald emulate datecs``: request strings as third-party clients send them to real
Datecs registers, each with the reply the manuals give, in order (each scenario is one register's session).

Our own strings, built from the facts in the cited sources (nothing copied):
[EN-I]  erpnet/ErpNet.FP Drivers/BgIslFiscalPrinter.Commands.cs (shared ISL requests)
[EN-X]  .../BgDatecs/BgDatecsXIslFiscalPrinter.Commands.cs   [EN-C] ...C...Commands.cs   [EN-P] ...P...Commands.cs
[PY]    krkodil/pypos ecr.py                                 [X] [P] [C] the Datecs manuals (Docs/*.txt), by page
[UCS-I] Unicontsoft/UcsFiscalPrinters src/UcsFP20/Protocols/cIslProtocol.cls (legacy Datecs printers)
[UCS]   Unicontsoft/UcsFiscalPrinters doc/Datecs (the X error list)   [RO] [DUDE] shared/spec/datecs-evidence.md

A reply is the exact data field (TABs shown as \\t) or a regular expression (``re.Pattern``) it must match;
``bits`` are status bits (byte, bit) that must be set, ``clear`` ones that must not.
"""

from __future__ import annotations

import re

from emulated import FISCAL_OPEN, INVALID, NON_FISCAL_OPEN, NOT_PERMITTED, PAPER_OUT, SYNTAX, case

T = "\t"
ANY_X_OK = re.compile(r"0\t.*", re.S)
DIAG_SYNTAX2 = re.compile(r"FP-700X,1\.00BG \d\d[A-Z][a-z]{2}\d\d \d{4},[0-9A-F]{4},00000000,DT\d{6},\d{8}")

# Bulgarian X (FP-700X) as ErpNet.FP's X driver and pypos drive it
BULGARIAN_X = ("FP-700X", [
    case("[EN-I] :342 GetRawDeviceInfo; [X] p.24 Syntax 2: comma fields, no error code", 0x5A, "1", DIAG_SYNTAX2),
    case("[PY] ecr.py:96 get_status; [X] p.24 Syntax 1: TAB fields, serial 8th", 0x5A, T,
         re.compile(r"0\tFP-700X\t1\.00BG\t\d\d[A-Z][a-z]{2}\d\d\t\d{4}\tFFFF\t00000000\tDT\d{6}\t\d{8}\t")),
    case("[EN-X] :63 Cash(); [X] p.19: Type 0, amount 0 reads the drawer", 0x46, "0\t0\t", "0\t0.00\t0.00\t0.00\t"),
    case("[PY] ecr.py:180 cash_in_out Type '-1' (pypos' cash out); [X] p.19 Type is 0..3 only -> [UCS] -112001",
         0x46, "-1\t5.00\t", "-112001\t", bits=(SYNTAX,)),
    case("[X] p.19 + [UCS] -111017: cash out of an empty drawer", 0x46, "1\t5.00\t", "-111017\t",
         bits=(NOT_PERMITTED,)),
    case("[X] p.16 Set date and time (the DST suffix is accepted) [PY] ecr.py:132", 0x3D, "06-12-26 10:00:00 DST\t",
         "0\t"),
    case("[EN-X] :313 OpenReceipt without a USN; [X] p.9 Syntax 1 -> SlipNumber", 0x30, "1\t0000\t1\t\t", "0\t1\t",
         bits=(FISCAL_OPEN,)),
    case("[UCS] -111015: a second open while one is open (the open receipt stays usable)", 0x30, "1\t0000\t1\t\t",
         "-111015\t", bits=(FISCAL_OPEN, NOT_PERMITTED)),
    case("[EN-X] :221 AddItem (8 fields, Department 0); [X] p.9", 0x31, "Paine\t1\t1.50\t\t0\t0.00\t0\t",
         "0\t1\t", bits=(FISCAL_OPEN,)),
    case("[PY] ecr.py:209 fiscal_sale with a quantity and a unit; [X] p.9 Syntax 2", 0x31,
         "Lapte\t2\t2.00\t2.000\t\t\t0\tbuc\t", "0\t1\t"),
    case("[X] p.9 TaxCd is '1'..'8': a letter is a syntax error", 0x31, "Apa\tA\t1.00\t\t\t\t0\t", "-112001\t",
         bits=(SYNTAX,)),
    case("[EN-X] :235 AddComment; [X] p.12", 0x36, "Multumim\t", "0\t"),
    case("[EN-X] :48 SubtotalChangeAmount style, no discount; [X] p.10", 0x33, "1\t0\t\t\t",
         re.compile(r"0\t1\t5\.50\t1\.50\t4\.00\t0\.00\t0\.00\t0\.00\t0\.00\t0\.00\t0\.00\t")),
    case("[X] p.21 76 while open: IsOpen 1, Number, Items, Amount, Payed", 0x4C, "", "0\t1\t1\t2\t5.50\t0.00\t"),
    case("[UCS] -111050: close before any payment", 0x38, "", "-111050\t", bits=(NOT_PERMITTED,)),
    case("[EN-X] :253 AddPayment card (PaidMode 1, Type 1); [X] p.11 'D' + the rest", 0x35, "1\t2.00\t1\t",
         "0\tD\t3.50\t"),
    case("[X] p.11 / [P] p.22: no more sales once paid -> [UCS] -111018", 0x31, "Paine\t1\t1.50\t\t0\t0.00\t0\t",
         "-111018\t", bits=(NOT_PERMITTED,)),
    case("[P] p.22 / [C] p.16: 60 refused once a payment was made -> -111018", 0x3C, "", "-111018\t",
         bits=(FISCAL_OPEN, NOT_PERMITTED)),
    case("[X] p.21 76 reports the partly paid receipt", 0x4C, "", "0\t1\t1\t2\t5.50\t2.00\t"),
    case("[EN-X] :243 FullPayment '\\t\\t\\t': the rest in cash; [X] p.11", 0x35, "\t\t\t", "0\tR\t0.00\t"),
    case("[PY] ecr.py:240 close_bon; [X] p.14 SlipNumber", 0x38, "", "0\t1\t", clear=(FISCAL_OPEN,)),
    case("[EN-X] :63 Cash(): the cash payment is in the drawer", 0x46, "0\t0\t", "0\t3.50\t0.00\t0.00\t"),
    case("[X] p.21 76 after close: the last receipt", 0x4C, "", "0\t0\t1\t2\t5.50\t5.50\t"),
    case("[UCS] -111016: close with no receipt open", 0x38, "", "-111016\t", bits=(NOT_PERMITTED,)),
    case("[X] p.20 74: the status bytes as data too", 0x4A, "", re.compile(r"0\t.{8}\t", re.S)),
    case("[X] p.6 38 non-fiscal open -> SlipNumber", 0x26, "", "0\t2\t", bits=(NON_FISCAL_OPEN,)),
    case("[X] p.25 92 separator inside a receipt", 0x5C, "1\t", "0\t"),
    case("[X] p.6 39 non-fiscal close", 0x27, "", "0\t2\t", clear=(NON_FISCAL_OPEN,)),
    case("[X] p.26 99 tax number", 0x63, "", re.compile(r"0\t\w+\t")),
    case("[X] p.22 86 date of the last fiscal record DD-MM-YYYY hh:mm:ss", 0x56, "",
         re.compile(r"0\t\d\d-\d\d-\d{4} \d\d:\d\d:\d\d\t")),
    case("[X] no command 52 (old only): empty data, bit 0.1", 0x34, "Paine\t1\t1.00\t", "", bits=(INVALID,)),
    case("[EN-X] :390 Z report 'Z\\t'; [X] p.18 nRep, TotA..H, StorA..H", 0x45, "Z\t",
         "0\t1\t" + "1.50\t4.00\t" + "0.00\t" * 14),
    case("[X] p.17 64 last fiscal entry: nRep, SumA..SumH, Date", 0x40, "0\t",
         re.compile(r"0\t1\t1\.50\t4\.00\t(0\.00\t){6}\d\d-\d\d-\d\d\t")),
    case("[X] p.6 paper out: nothing prints -> [UCS] -112006", 0x30, "1\t0000\t1\t\t", "-112006\t",
         bits=(PAPER_OUT,), fault="paper_out"),
    case("[X] p.16 62 read date and time", 0x3E, "", re.compile(r"0\t\d\d-\d\d-\d\d \d\d:\d\d:\d\d( DST)?\t"),
         fault="none"),
    case("[UCS] -102002: a wrong operator password is refused", 0x30, "1\t9999\t1\t\t", "-102002\t",
         bits=(NOT_PERMITTED,), clear=(FISCAL_OPEN,)),
    case("[X] p.9 a new receipt after the Z", 0x30, "1\t0000\t1\t\t", "0\t2\t"),
    case("[X] p.9", 0x31, "Paine\t1\t1.50\t\t0\t0.00\t0\t", "0\t2\t"),
    case("[EN-X] :243", 0x35, "\t\t\t", "0\tR\t0.00\t"),
    case("[X] p.14", 0x38, "", "0\t2\t"),
    case("[X] p.16: the clock two days on", 0x3D, "08-12-26 23:00:00\t", "0\t"),
    case("[UCS] -111024: the fiscal day is over 24 hours old, no receipt until a Z", 0x30, "1\t0000\t1\t\t",
         "-111024\t", bits=(NOT_PERMITTED,)),
    case("[X] p.18: the Z is still allowed", 0x45, "Z\t", "0\t2\t1.50\t" + "0.00\t" * 15),
    case("[X] p.9: and then receipts again", 0x30, "1\t0000\t1\t\t", "0\t3\t"),
    case("[X] p.41 255 PrintColumns: 42 until set", 0xFF, "PrintColumns\t\t\t", "0\t42\t"),
    case("[X] p.41: not while a receipt is open", 0xFF, "PrintColumns\t\t48\t", "-111015\t",
         bits=(NOT_PERMITTED,)),
    case("[X] p.15", 0x3C, "", "0\t"),
    case("[X] p.41: an FP-700X takes 42, 48 or 64", 0xFF, "PrintColumns\t\t50\t", "-112001\t", bits=(SYNTAX,)),
    case("[X] p.41: set to 48", 0xFF, "PrintColumns\t\t48\t", "0\t"),
    case("[X] p.39 Answer(2): the value read back", 0xFF, "PrintColumns\t\t\t", "0\t48\t"),
    case("[X] p.41 Header[0] programmed (a host's own header lines)", 0xFF, "Header\t0\tMAGAZIN SRL\t", "0\t"),
    case("[X] p.41 Header[0] read back", 0xFF, "Header\t0\t\t", "0\tMAGAZIN SRL\t"),
    case("[X] p.44 nFBon: the global number of fiscal receipts", 0xFF, "nFBon\t\t\t", "0\t2\t"),
])

# Romanian X (DP-25MX): the Romanian dialect of X [DUDE] [RO]
ROMANIAN_X = ("DP-25MX", [
    case("[DUDE] 90 Syntax 1: Name, FwRev, FwDate, FwTime, Checksum, Sw, SerialNumber (no FM number)", 0x5A, "1\t",
         re.compile(r"0\tDP-25MX\t1\.00RO\t\d\d[A-Z][a-z]{2}\d\d\t\d{4}\t[0-9A-F]{4}\t00000000\tDT\d{6}\t")),
    case("[X] p.41: a DP-25-class register prints 42 columns, not settable", 0xFF, "PrintColumns\t\t48\t",
         "-112001\t", bits=(SYNTAX,)),
    case("[X] p.41", 0xFF, "PrintColumns\t\t\t", "0\t42\t"),
    case("[DUDE] 50: nZReport, TaxA..TaxG, DateTime", 0x32, "",
         re.compile(r"0\t1\t21\.00\t11\.00\t0\.00\t0\.00\t100\.00\t100\.00\t100\.00\t\d\d-\d\d-\d\d\t")),
    case("[RO]: a DP-25MX refuses 48 with a unique sale number -> -112001", 0x30,
         "1\t0000\tDT000600-OP01-0001000\t1\t\t", "-112001\t", bits=(SYNTAX,)),
    case("[DUDE] 48 OpCode, OpPwd, TillNmb, Invoice, ClientTAXN: a CIF makes a simplified invoice", 0x30,
         "1\t0000\t1\t\tRO18547290\t", "0\t1\t", bits=(FISCAL_OPEN,)),
    case("[X] p.9 sale, VAT group A (21 %)", 0x31, "Paine\t1\t10.00\t\t\t\t0\t", "0\t1\t"),
    case("[RO] PaidMode 3 = meal tickets", 0x35, "3\t4.00\t\t", "0\tD\t6.00\t"),
    case("[DUDE] 76: IsOpen, Number, FMNumberRep, FMNumber, Items, Amount, Payed", 0x4C, "",
         re.compile(r"0\t1\t1\t0\t\d{8}\t1\t10\.00\t4\.00\t")),
    case("[RO] '1\\t\\t': the exact rest by card", 0x35, "1\t\t\t", "0\tR\t0.00\t"),
    case("[X] p.14 close", 0x38, "", "0\t1\t"),
    case("[DUDE] 48 without a CIF", 0x30, "1\t0000\t1\t\t\t", "0\t2\t"),
    case("[X] p.9 sale, VAT group B (11 %)", 0x31, "Carte\t2\t5.00\t\t\t\t0\t", "0\t2\t"),
    case("[RO] PaidMode 2 = credit", 0x35, "2\t0.50\t\t", "0\tD\t4.50\t"),
    case("[RO] PaidMode 4 = value tickets", 0x35, "4\t0.50\t\t", "0\tD\t4.00\t"),
    case("[RO] PaidMode 5 = voucher", 0x35, "5\t0.50\t\t", "0\tD\t3.50\t"),
    case("[RO] PaidMode 8 = other methods", 0x35, "8\t0.50\t\t", "0\tD\t3.00\t"),
    case("[RO] no PaidMode 'A': a bad parameter -> -112001", 0x35, "A\t0.50\t\t", "-112001\t", bits=(SYNTAX,)),
    case("[UCS] -111054: a card payment above what is due is refused (UNVERIFIED)", 0x35, "1\t9.00\t\t",
         "-111054\t", bits=(NOT_PERMITTED,)),
    case("[DUDE] 76: 4 payments so far, the receipt still open", 0x4C, "",
         re.compile(r"0\t1\t2\t0\t\d{8}\t1\t5\.00\t2\.00\t")),
    case("[RO] PaidMode 6 = modern payment: codes 0-9 are taken", 0x35, "6\t3.00\t\t", "0\tR\t0.00\t"),
    case("[X] p.14 close", 0x38, "", "0\t2\t"),
    case("[DUDE] 69 Z: nRep, TotA..TotF, TotEXEPTAT, TotSInv, VatSInv", 0x45, "Z\t",
         "0\t1\t10.00\t5.00\t0.00\t0.00\t0.00\t0.00\t0.00\t10.00\t1.74\t"),
    case("[X] p.17 / evidence 3: 64 carries the simplified-invoice sums of the last Z", 0x40, "0\t",
         re.compile(r"0\t1\t10\.00\t5\.00\t(0\.00\t){5}10\.00\t1\.74\t1\t\d\d-\d\d-\d\d\t")),
])

# old C: the DP-25 cash register as ErpNet.FP's C driver drives it
OLD_C = ("DP-25", [
    case("[C] p.21 90: Name FwRev FwDate FwTime,Chk,Sw,FM,Ser", 0x5A, "1",
         re.compile(r"DP-25 1\.00BG \d\d[A-Z][a-z]{2}\d\d \d{4},[0-9A-F]{4},00000000,\d{8},DT\d{6}")),
    case("[EN-C] :34 OpenReceipt with the X/P default password 0000 -> refused ([C] p.10)", 0x30, "1,0000,1", "",
         bits=(NOT_PERMITTED,)),
    case("[EN-C] :34 OpenReceipt '1,1,1' (factory password = operator number, [C] p.23); "
         "[C] p.10 AllReceipt,FiscReceipt since the last Z", 0x30, "1,1,1", "1,1", bits=(FISCAL_OPEN,)),
    case("[EN-C] :128 AddItem, Cyrillic tax group А [EN-I] GetTaxGroupText; [C] p.11", 0x31, "Paine\tА1.50", ""),
    case("[EN-C] :128 AddItem with a quantity; [C] p.11", 0x31, "Lapte\tБ2.00*2", ""),
    case("[C] p.11: item text is up to 22 bytes a line", 0x31, "P" * 23 + "\tА1.00", "", bits=(SYNTAX,)),
    case("[C] p.11: no unit of measure on C registers", 0x31, "Apa\tА1.00*1#kg", "", bits=(SYNTAX,)),
    case("[EN-I] :68 SubtotalChangeAmount '10' form, no discount; [C] p.12 (amounts in stotinki: UNVERIFIED)", 0x33,
         "10", "550,150,400,0,0,0,0,0,0"),
    case("[C] p.14: 'K' is not a C payment", 0x35, "\tK1.00", "F", bits=(SYNTAX,)),
    case("[EN-C] payment 'C' = card; [C] p.14 D + the rest (9 bytes with a sign: UNVERIFIED)", 0x35, "\tC2.00",
         "D+00000350"),
    case("[C] p.16: 60 refused once a payment was made", 0x3C, "", "", bits=(FISCAL_OPEN, NOT_PERMITTED)),
    case("[EN-I] :75 GetReceiptAmount '76 T'; [C] p.19 Open,Items,Amount,Tender in stotinki", 0x4C, "T",
         "1,2,+00000550,+00000200"),
    case("[EN-I] :311 FullPayment '\\t': the rest in cash; [C] p.14", 0x35, "\t", "R+00000000"),
    case("[C] p.15 56: AllReceipt,FiscReceipt since the last Z", 0x38, "", "1,1", clear=(FISCAL_OPEN,)),
    case("[C] p.27 113: the global number of the last document (7 digits)", 0x71, "", "0000001"),
    case("[EN-I] :131 MoneyTransfer; [C] p.18 P,CashSum,ServIn,ServOut in stotinki", 0x46, "10.00", "P,1350,1000,0"),
    case("[C] p.18: a withdrawal above the cash is refused with F", 0x46, "-20.00", "F,1350,1000,0"),
    case("[EN-I] :327 PrintDailyReport (no data: Z); [C] p.18 Closure,FM_Total,TotA..H (signed: UNVERIFIED)", 0x45,
         "", "1,+00000000550,+00000000150,+00000000400" + ",+00000000000" * 6),
    case("[C] p.10 after the Z, the counters since the Z start again", 0x30, "1,1,1", "1,1"),
    case("[C] p.27 while 113 stays global (receipt, cash-in, Z so far)", 0x71, "", "0000003"),
    case("[C] p.19 76 without T: Open,Items,Amount", 0x4C, "", "1,0,+00000000"),
    case("[C] p.16 60 cancels an unpaid receipt", 0x3C, "", "", clear=(FISCAL_OPEN,)),
])

# old P: the FP-2000 fiscal printer as ErpNet.FP's P driver drives it
OLD_P = ("FP-2000", [
    case("[P] p.30 90: Name,FwRev+Country FwDate FwTime,Chk,Sw,Ser,FM", 0x5A, "1",
         re.compile(r"FP-2000,1\.00BG \d\d[A-Z][a-z]{2}\d\d \d{4},[0-9A-F]{4},00000000,DT\d{6},\d{8}")),
    case("[P] p.14 43: HEADER line 0", 0x2B, "0MAGAZIN SRL", ""),
    case("[P] p.14 43: FOOTER line 1 (item 7)", 0x2B, "7Va multumim", ""),
    case("[P] p.14 43: the print options are not emulated (UNVERIFIED)", 0x2B, "D3", "", bits=(SYNTAX,)),
    case("[P] p.17 a wrong password (the count restarts after a right one: UNVERIFIED)", 0x30, "1,1111,1,", "",
         bits=(NOT_PERMITTED,)),
    case("[EN-P] :29 OpenReceipt '1,0000,1,' (empty USN); [P] p.16 AllReceipt,FiscReceipt", 0x30, "1,0000,1,",
         "1,1", bits=(FISCAL_OPEN,)),
    case("[EN-P] :85 AddItem, tax group А; [P] p.17", 0x31, "Paine\tА1.50", ""),
    case("[P] p.17 a unit of measure", 0x31, "Mere\tА1.00*1.500#kg", ""),
    case("[EN-P] payment 'D' = card; [P] p.19", 0x35, "\tD1.00", "D+00000200"),
    case("[P] p.19 'm' = coupons (meal vouchers)", 0x35, "\tm1.00", "D+00000100"),
    case("[X] -111054 analogue: a non-cash payment above the rest is refused (UNVERIFIED on P)", 0x35, "\tD5.00", "F",
         bits=(NOT_PERMITTED,)),
    case("[P] p.20 cash above the rest: R and the change", 0x35, "\tP5.00", "R+00000400"),
    case("[P] p.20 56", 0x38, "", "1,1"),
    case("[P] p.25 76 T after close: the last receipt", 0x4C, "T", "0,2,+00000300,+00000700"),
    case("[P] p.24 74: the six status bytes", 0x4A, "X", re.compile(r".{6}", re.S)),
    case("[P] p.17: wrong password 1 of 3", 0x30, "1,1111,1,", "", bits=(NOT_PERMITTED,)),
    case("[P] p.17: wrong password 2 of 3", 0x30, "1,1111,1,", "", bits=(NOT_PERMITTED,)),
    case("[P] p.17: wrong password 3 of 3", 0x30, "1,1111,1,", "", bits=(NOT_PERMITTED,)),
    case("[P] p.17: after three wrong passwords the printer is locked, even with the right one", 0x30, "1,0000,1,",
         "", bits=(NOT_PERMITTED,), clear=(FISCAL_OPEN,)),
])

# old P as Unicontsoft's UcsFiscalPrinters drives a legacy Datecs printer ([UCS-I] src/UcsFP20/Protocols/
# cIslProtocol.cls, by line)
OLD_P_UCS = ("FP-800", [
    case("[UCS-I] :3003 InfoDiagnostics '0' (no checksum); [P] p.30 Chk 'FFFF' unless '1'", 0x5A, "0",
         re.compile(r"FP-800,1\.00BG \d\d[A-Z][a-z]{2}\d\d \d{4},FFFF,00000000,DT\d{6},\d{8}")),
    case("[UCS-I] :2439 FiscalOpen '%1,%2,%3' (operator, password, till); [P] p.16", 0x30, "1,0000,1", "1,1"),
    case("[UCS-I] :2619 FiscalSell '<L1><Tab><TaxCd><Price>'; [P] p.17", 0x31, "Paine\tА1.50", ""),
    case("[UCS-I] :2805 FiscalPayment '<Tab><type letter><amount>'; [P] p.19", 0x35, "\tP1.00", "D+00000050"),
    case("[UCS-I] :2567 InfoTransaction 'T' (resume after a failure); [P] p.25", 0x4C, "T",
         "1,1,+00000150,+00000100"),
    case("[UCS-I] :2817 FiscalPayment '<Tab>': whatever is left, in cash; [P] p.20", 0x35, "\t", "R+00000000"),
    case("[P] p.20 56", 0x38, "", "1,1"),
    case("[UCS-I] :1639 FiscalServiceDeposit '0': the drawer, nothing moved; [P] p.23 in stotinki", 0x46, "0",
         "P,150,0,0"),
])

SCENARIOS = {"bulgarian-x": BULGARIAN_X, "romanian-x": ROMANIAN_X, "old-c": OLD_C, "old-p": OLD_P,
             "old-p (UcsFiscalPrinters)": OLD_P_UCS}
