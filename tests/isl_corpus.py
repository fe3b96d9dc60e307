"""Conformance corpus for ``fiscald emulate daisy|eltrade|incotex``: request strings as ErpNet.FP's ISL drivers
send them to real registers, each with the reply the brand's manual gives, in order (a scenario is one
register's session). Where ErpNet.FP sends no such request (drawer, non-fiscal receipts), the manual's syntax.

Our own strings, built from the facts in the cited sources (nothing copied):
[E-ISL]  erpnet/ErpNet.FP Drivers/BgIslFiscalPrinter.Commands.cs (shared ISL requests), by line
[E-ISLM] .../BgIslFiscalPrinter.cs                          [E-DY] .../BgDaisy/BgDaisyIslFiscalPrinter.Commands.cs
[E-ED]   .../BgEltrade/BgEltradeIslFiscalPrinter.Commands.cs [E-IN] .../BgIncotex/BgIncotexIslFiscalPrinter.Commands.cs
[E-DYD] [E-EDD] [E-IND] the brands' ...Driver.cs             [E-DYO] [E-EDO] [E-INO] the brands' ...Printer.cs
[DY]  Daisy protocol V1.2 2019 (UcsFiscalPrinters doc/Daisy/...eng_02.10.2019.txt)  [DY-UM] Daisy Compact M manual
[ED]  Eltrade protocol v1.1.1 (ErpNet.FP BgEltrade/Docs/...-en.txt)  [IN] Incotex protocol 20 Feb 2019 (BgIncotex/Docs)
By page. A reply is the exact data field or a regular expression it must match; ``bits`` are status bits
(byte, bit) that must be set, ``clear`` ones that must not, ``error`` the number byte 3 must carry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

SYNTAX = (0, 0)
INVALID = (0, 1)
NOT_PERMITTED = (1, 1)
PAPER_OUT = (2, 0)
FISCAL_OPEN = (2, 3)
NON_FISCAL_OPEN = (2, 5)
DY_WRONG_PASSWORD = (1, 6)  # [DY] p.6
ED_COVER_OPEN = (1, 5)  # [ED] p.5


@dataclass(frozen=True)
class Case:
    source: str
    cmd: int
    request: str
    reply: str | re.Pattern[str]
    bits: frozenset[tuple[int, int]] = frozenset()
    clear: frozenset[tuple[int, int]] = frozenset()
    error: int | None = None
    control: dict[str, object] = field(default_factory=dict)  # a POST /simulate body applied before the request


def case(source: str, cmd: int, request: str, reply: str | re.Pattern[str], bits: tuple[tuple[int, int], ...] = (),
         clear: tuple[tuple[int, int], ...] = (), error: int | None = None, **control: object) -> Case:
    return Case(source, cmd, request, reply, frozenset(bits), frozenset(clear), error, dict(control))


T = "\t"
ANY6 = re.compile(r".{6}", re.S)

DAISY = ("CompactM", [
    case("[E-ISL] :342 GetRawDeviceInfo '1'; [DY] p.23 + the real answer (model first, 4 space parts [E-DYD] "
         ":49-63), 6 fields, serial DY+6 5th, FM 6th", 0x5A, "1",
         re.compile(r"CompactM ONL01-1\.00BG 01-12-2026 12:00,A1B2,0000,6,DY\d{6},36\d{6}")),
    case("[E-DY] :76 GetRawDeviceConstants; [DY] p.32 P1..P25, 26 fields as ErpNet requires [E-DYD] :74; "
         "P9 columns, P10 comment, P11 names", 0x80, "",
         "384,96,5,8,0,0,А,12,32,30,22,8,8,0,13,99,3000,1,1,10,20,10,0,0,0,0"),
    case("[E-ISL] :136 SetDeviceDateTime 'dd-MM-yy HH:mm:ss'; [DY] p.18", 0x3D, "06-12-26 10:00:00", ""),
    case("[E-ISL] :157 GetDateTime; [DY] p.19 DD-MM-YY HH:MM:SS", 0x3E, "",
         re.compile(r"06-12-26 10:00:\d\d")),
    case("[E-ISLM] :38 Cash() '0'; [DY] p.21 Code,CashSum,ServInput,ServOutput", 0x46, "0", "P,0.00,0.00,0.00"),
    case("[E-ISL] :131 MoneyTransfer F2; [DY] p.21 service input", 0x46, "10.00", "P,10.00,10.00,0.00"),
    case("[DY] p.21 'F': the cash is less than asked", 0x46, "-20.00", "F,10.00,10.00,0.00"),
    case("[DY] p.18: not earlier than the last record (the cash-in) -> [DY-UM] p.51 error 10", 0x3D,
         "05-12-26 10:00:00", "", bits=(NOT_PERMITTED,), error=10),
    case("[E-ISL] :190-202 OpenReceipt op,pwd,UNP ([E-DYO] :22-23 operator 1 password 1); [DY] p.14 "
         "Allreceipt,FiscReceipt (the cash-in's service receipt counts)", 0x30, "1,1,DY000001-0001-0000001", "2,1",
         bits=(FISCAL_OPEN,)),
    case("[DY] p.14 'There is open fiscal receipt' -> [DY-UM] p.52 error 19", 0x30, "1,1,DY000001-0001-0000002", "",
         bits=(NOT_PERMITTED, FISCAL_OPEN), error=19),
    case("[E-ISL] :254-259 AddItem (no department); [DY] p.15, Cyrillic group А", 0x31, "Paine\tА1.50", ""),
    case("[E-ISL] :268-272 AddItem with a quantity", 0x31, "Lapte\tБ2.00*2", ""),
    case("[E-ISL] :274-286 AddItem, a percent discount ',-10.00'; [DY] p.15", 0x31, "Apa\tА1.00,-10.00", ""),
    case("[E-DY] :47-59 an absolute discount '$-0.50'; [DY] p.15 $Netto", 0x31, "Suc\tА2.00$-0.50", ""),
    case("[E-DY] :37-45 sale by department 8Ah 'dep@price*qty'; [DY] p.34", 0x8A, "1@3.00*2", ""),
    case("[E-DY] :47-61 department sale with a discount; [DY] p.34", 0x8A, "2@1.00,-50.00", ""),
    case("[DY] p.15: Percent and Netto at one time are refused", 0x31, "Apa\tА1.00,-5.00$-0.10", "", bits=(SYNTAX,)),
    case("[DY] p.15: TaxGr is Cyrillic А..З; a Latin A is a syntax error", 0x31, "Apa\tA1.00", "", bits=(SYNTAX,)),
    case("[DY] p.34 + [DY-UM] p.51 error 7: department 9 is not programmed here (UNVERIFIED)", 0x8A, "9@1.00", "",
         bits=(NOT_PERMITTED,), error=7),
    case("[E-ISL] :293 AddComment; [DY] p.17", 0x36, "Multumim", ""),
    case("[E-DY] :66 SubtotalChangeAmount '10$amount'; [DY] p.16 SubTotal,Tax1..Tax8", 0x33, "10$-0.40",
         "14.00,9.62,4.38,0.00,0.00,0.00,0.00,0.00,0.00"),
    case("[E-ISL] :75 GetReceiptAmount 'T'; [DY] p.22 Open,Items,Amount,Tender,Remainder", 0x4C, "T",
         "1,6,14.00,0.00,14.00"),
    case("[DY] p.17: close before a payment -> [DY-UM] p.51 error 7", 0x38, "", "", bits=(NOT_PERMITTED,), error=7),
    case("[E-ISL] :316-320 AddPayment card 'C' ([E-DY] :90); [DY] p.16-17 D + the rest", 0x35, "\tC5.00", "D9.00"),
    case("[DY] p.17: no sale once paid -> [DY-UM] p.51 error 6", 0x31, "Paine\tА1.50", "", bits=(NOT_PERMITTED,),
         error=6),
    case("[DY] p.32 82h after a payment: refused like 3Ch (UNVERIFIED) -> error 6", 0x82, "", "",
         bits=(NOT_PERMITTED, FISCAL_OPEN), error=6),
    case("[E-DY] :91 check 'N' = payment 1; [DY] p.16", 0x35, "\tN1.00", "D8.00"),
    case("[E-DY] :92 'D' = payment 3; [DY] p.16", 0x35, "\tD1.00", "D7.00"),
    case("[DY] p.16 'U' = payment 3 too", 0x35, "\tU1.00", "D6.00"),
    case("[DY] p.16 'B' = payment 4", 0x35, "\tB1.00", "D5.00"),
    case("[DY] p.16 'E' = payment 4 too", 0x35, "\tE1.00", "D4.00"),
    case("[DY] p.16: no 'L' payment (Eltrade's card) -> F, syntax", 0x35, "\tL1.00", "F", bits=(SYNTAX,)),
    case("[DY-UM] p.51 error 7: a card above the rest gives no change (UNVERIFIED)", 0x35, "\tC9.00", "F",
         bits=(NOT_PERMITTED,), error=7),
    case("[E-ISL] :311 FullPayment '\\t': the rest in cash; [DY] p.17 D when paid <= total", 0x35, "\t", "D0.00"),
    case("[E-ISL] :301 CloseReceipt; [DY] p.17 Allreceipt,FiscReceipt", 0x38, "", "2,1", clear=(FISCAL_OPEN,)),
    case("[E-ISL] :64 GetLastDocumentNumber; [DY] p.30 (7 digits: UNVERIFIED)", 0x71, "", "0000002"),
    case("[DY] p.22 76 T after close: the last receipt, all paid", 0x4C, "T", "0,6,14.00,14.00,0.00"),
    case("[E-ISLM] :38 Cash(): the cash payment is in the drawer", 0x46, "0", "P,14.00,10.00,0.00"),
    case("[E-ISLM] :350 duplicate '1'; [DY] p.29", 0x6D, "1", ""),
    case("[DY] p.29: no limit on duplicates is stated", 0x6D, "1", ""),
    case("[DY] p.27 6Ah with the last pulse", 0x6A, "", ""),
    case("[DY] p.27 6Ah 100 ms", 0x6A, "100", ""),
    case("[DY] p.27: a pulse of 50 ms or more", 0x6A, "20", "", bits=(SYNTAX,)),
    case("[DY] p.11 38 non-fiscal open: Allreceipt (cash-in, receipt, 2 duplicates, this)", 0x26, "", "5",
         bits=(NON_FISCAL_OPEN,)),
    case("[DY] p.12 42 text", 0x2A, "Text liber", ""),
    case("[DY] p.12 39 non-fiscal close", 0x27, "", "5", clear=(NON_FISCAL_OPEN,)),
    case("[E-ISL] :54 GetStatus; [DY] p.22 {S0}..{S5}", 0x4A, "", ANY6),
    case("[E-DY] :80-84 GetTaxIdentificationNumber; [DY] p.25 IdentNo", 0x63, "", "175074752"),
    case("[DY] no 3Ch (cancel is 82h): empty data, bit 0.1", 0x3C, "", "", bits=(INVALID,)),
    case("[E-ISL] :331 PrintDailyReport(false) '2' = X; [DY] p.20-21 Closure,Tax1..8,StTax1..8", 0x45, "2",
         "1,9.62,4.38" + ",0.00" * 14),
    case("[E-ISL] :327 PrintDailyReport() no data = Z", 0x45, "", "1,9.62,4.38" + ",0.00" * 14),
    case("[DY] p.7 2.0 no paper: nothing prints", 0x30, "1,1,DY000001-0001-0000003", "", bits=(PAPER_OUT,),
         clear=(FISCAL_OPEN,), fault="paper_out"),
    case("[DY] p.6 1.6 wrong password", 0x30, "1,9999,DY000001-0001-0000003", "",
         bits=(DY_WRONG_PASSWORD, NOT_PERMITTED), fault="none"),
    case("[DY] p.14: a missing UNP is refused", 0x30, "1,1,", "", bits=(SYNTAX,)),
    case("[E-ISL] :215-241 OpenReversalReceipt (admin 20/9999 [E-DYO] :25-26): storno is not emulated", 0x30,
         "20,9999,DY000001-0001-0000004\tR0,1,06-12-26 10:00:00\t36000001", "", bits=(NOT_PERMITTED,)),
    case("[DY] p.14", 0x30, "1,1,DY000001-0001-0000005", "1,1"),
    case("[DY] p.15", 0x31, "Paine\tА1.50", ""),
    case("[E-DY] :69-72 AbortReceipt = 82h; [DY] p.32: voided and closed, Allreceipt,FiscReceipt", 0x82, "",
         "1,1", clear=(FISCAL_OPEN,)),
])

ELTRADE = ("A1", [
    case("[E-ISL] :342 GetRawDeviceInfo '1'; the real answer: 7 fields, model 1st, serial ED+6 6th, FM 7th "
         "[E-EDD] :42-56", 0x5A, "1", re.compile(r"A1,ONLINE_BG,1\.00BG 01Dec26 1200,A1B2,0000,ED\d{6},44\d{6}")),
    case("[E-ED] :244-247 OpenReceipt without a UNP 'Operator'; [ED] p.23 <OperName>,<UNP> -> syntax", 0x90,
         "Operator", "", bits=(SYNTAX,)),
    case("[E-ED] :249-256 OpenReceipt 'Operator,UNP' (no password, [E-EDO] :23); [ED] p.23 Allreceipt,FiscReceipt",
         0x90, "Operator,ED000001-0001-0000001", "1,1", bits=(FISCAL_OPEN,)),
    case("[ED] describes no 30h (90h opens): empty data, bit 0.1", 0x30, "1,1,ED000001-0001-0000002", "",
         bits=(INVALID,)),
    case("[E-ISL] :254-259 AddItem; [ED] p.10", 0x31, "Paine\tА1.50", ""),
    case("[E-ISL] :261-266 AddItem by department 'text\\tdep\\tprice'; [ED] p.10", 0x31, "Apa\t2\t1.00", ""),
    case("[E-ISL] :268-286 a quantity and a percent discount; [ED] p.10", 0x31, "Lapte\tА2.00*2,-10.00", ""),
    case("[E-ISL] :281 an absolute discount '$' (ErpNet's Eltrade driver does not override it): [ED] p.10 takes "
         "';' only -> syntax", 0x31, "Suc\tА2.00$-0.50", "", bits=(SYNTAX,)),
    case("[ED] p.10 ';Abs'", 0x31, "Suc\tА2.00;-0.50", ""),
    case("[E-ISL] :68 SubtotalChangeAmount '10;amount'; [ED] p.11 SubTotal,TaxA..TaxH (stotinki: UNVERIFIED)",
         0x33, "10;-0.10", "750,651,99,0,0,0,0,0,0"),
    case("[E-ISL] :293 AddComment; [ED] p.13 (46 characters)", 0x36, "Multumim", ""),
    case("[E-ISL] :75 GetReceiptAmount 'T'; [ED] p.17 Open,Items,Amount,Tender (9 bytes with a sign)", 0x4C, "T",
         "1,4,+00000750,+00000000"),
    case("[E-ED] :226 card 'L'; [ED] p.12 D + the rest", 0x35, "\tL2.00", "D+00000550"),
    case("[ED] p.14 3Ch only before 53 (35h)", 0x3C, "", "", bits=(NOT_PERMITTED, FISCAL_OPEN)),
    case("[E-ED] :221 coupons 'C'", 0x35, "\tC1.00", "D+00000450"),
    case("[E-ED] :220 check 'N'", 0x35, "\tN0.10", "D+00000440"),
    case("[E-ED] :222 external coupons 'D'", 0x35, "\tD0.10", "D+00000430"),
    case("[E-ED] :223 packaging 'I'", 0x35, "\tI0.10", "D+00000420"),
    case("[E-ED] :224 internal usage 'J'", 0x35, "\tJ0.10", "D+00000410"),
    case("[E-ED] :225 damage 'K'", 0x35, "\tK0.10", "D+00000400"),
    case("[E-ED] :227 bank 'M'", 0x35, "\tM0.10", "D+00000390"),
    case("[E-ED] :228 NZOK 'Q'", 0x35, "\tQ0.10", "D+00000380"),
    case("[E-ED] :229 reserve 'R'", 0x35, "\tR0.10", "D+00000370"),
    case("[ED] p.12: no 'U' payment -> F, syntax", 0x35, "\tU0.10", "F", bits=(SYNTAX,)),
    case("[E-ISL] :311 FullPayment '\\t'", 0x35, "\t", "D+00000000"),
    case("[E-ISL] :301 CloseReceipt; [ED] p.13 Allreceipt,FiscReceipt", 0x38, "", "1,1", clear=(FISCAL_OPEN,)),
    case("[E-ISL] :64 GetLastDocumentNumber; [ED] p.23 7 digits", 0x71, "", "0000001"),
    case("[ED] p.17 76 without T: Open,Items,Amount", 0x4C, "", "0,4,+00000750"),
    case("[E-ISLM] :38 Cash() '0'; [ED] p.16 ExitCode,CashSum,ServIn,ServOut (stotinki: UNVERIFIED)", 0x46, "0",
         "P,370,0,0"),
    case("[E-ISL] :131 MoneyTransfer", 0x46, "5.00", "P,870,500,0"),
    case("[ED] p.16: a withdrawal above the cash -> F", 0x46, "-100.00", "F,870,500,0"),
    case("[ED] p.17 4Ah 'X': the status now", 0x4A, "X", ANY6),
    case("[E-ISL] :59 GetTaxIdentificationNumber; [ED] p.20 Text,Name", 0x63, "", "175074752,ЕИК"),
    case("[ED] p.21 6Ah 5..100 ms", 0x6A, "15", ""),
    case("[ED] p.21: 200 ms is out of range", 0x6A, "200", "", bits=(SYNTAX,)),
    case("[E-ISLM] :350 duplicate '1'; [ED] p.23", 0x6D, "1", ""),
    case("[ED] p.8 26h non-fiscal open: Allreceipt", 0x26, "", "4", bits=(NON_FISCAL_OPEN,)),
    case("[ED] p.9 2Ah", 0x2A, "Text liber", ""),
    case("[ED] p.8 27h", 0x27, "", "4", clear=(NON_FISCAL_OPEN,)),
    case("[ED] p.23", 0x90, "Operator,ED000001-0001-0000002", "5,2"),
    case("[ED] p.10", 0x31, "Paine\tА1.00", ""),
    case("[E-ISL] :306 AbortReceipt 3Ch before any payment; [ED] p.14 no data", 0x3C, "", "",
         clear=(FISCAL_OPEN,)),
    case("[E-ED] :270-293 OpenReversalReceipt 'Operator,UNP,S,FM,R,num,time': storno is not emulated", 0x90,
         "Operator,ED000001-0001-0000003,S,44000001,R,1,2026-12-06T10:00:00", "", bits=(NOT_PERMITTED,)),
    case("[E-ISL] :331 '2' = X; [ED] p.15-16 Closure,FM_Total,TotA..H net of VAT, 12 bytes with a sign", 0x45, "2",
         "1,+00000000750,+00000000538,+00000000089" + ",+00000000000" * 6),
    case("[ED] p.15 '0' = Z", 0x45, "0", "1,+00000000750,+00000000538,+00000000089" + ",+00000000000" * 6),
    case("[ED] p.5 1.5 paper cover open: nothing prints", 0x90, "Operator,ED000001-0001-0000004", "",
         bits=(ED_COVER_OPEN, NOT_PERMITTED), clear=(FISCAL_OPEN,), fault="cover_open"),
    case("[ED] p.5 2.0 no paper", 0x26, "", "", bits=(PAPER_OUT,), fault="paper_out"),
])

INCOTEX = ("SuccessM7", [
    case("[E-ISL] :342 / [E-IND] :49 the real answer: FwRev date time,ChSum,Sw,Country,SNum,FM,SIM IMSI; "
         "[IN] p.20", 0x5A, "1", re.compile(r"1\.00 Dec 01 2026 12:00,A1B2,0000,06,IN\d{6},54\d{6},284010000000000")),
    case("[E-IN] :24-27 GetRawDeviceConstants; [IN] p.26 P1..P27", 0x80, "",
         "384,96,5,8,0,0,0,12,32,34,34,8,8,0,13,100,3000,0,0,10,16,0,10,200,0,0,0"),
    case("[E-IN] :70-85 OpenReceipt 'op,UNP,0' (no password); [IN] p.11 Allreceipt,FiscReceipt", 0x30,
         "1,IN000001-0001-0000001,0", "1,1", bits=(FISCAL_OPEN,)),
    case("[IN] p.5-6: a second open -> error 3 (wrong operation: UNVERIFIED)", 0x30, "1,IN000001-0001-0000002,0",
         "", bits=(NOT_PERMITTED,), error=3),
    case("[E-IN] :130-136 AddItem; [IN] p.12", 0x31, "Paine\tА1.50", ""),
    case("[IN] p.12-13 a quantity and a unit '@kg'", 0x31, "Mere\tА2.00*1.5@kg", ""),
    case("[E-IN] :152-164 an absolute discount ';'; [IN] p.13", 0x31, "Suc\tБ2.00;-0.50", ""),
    case("[E-IN] :138-143 AddItem by department 'text\\tdep\\tprice': [IN] p.12 has no such form (8Ah sells by "
         "department) -> syntax (UNVERIFIED)", 0x31, "Apa\t1\t1.00", "", bits=(SYNTAX,)),
    case("[IN] p.27 8Ah 'Dept*QTY@Price'", 0x8A, "2*2@1.00", ""),
    case("[E-ISL] :68 SubtotalChangeAmount '10;amount'; [IN] p.13 SubTotal,TaxA..H, 2 decimals", 0x33, "10;-0.50",
         "7.50,4.22,3.28,0.00,0.00,0.00,0.00,0.00,0.00"),
    case("[E-INO] / [E-IN] :345 GetReceiptAmount 'T'; [IN] p.19 Open,Items,Amount,Paid", 0x4C, "T",
         "1,4,7.50,0.00"),
    case("[E-IN] :183 card 'C' = payment 1 (Daisy's C is payment 2); [IN] p.14-15", 0x35, "\tC2.00", "D5.50"),
    case("[IN] p.26 82h after a payment: refused (UNVERIFIED) -> error 3", 0x82, "", "",
         bits=(NOT_PERMITTED, FISCAL_OPEN), error=3),
    case("[E-IN] :184 check 'N' = payment 2", 0x35, "\tN1.00", "D4.50"),
    case("[E-IN] :185 'D' = payment 3", 0x35, "\tD1.00", "D3.50"),
    case("[IN] p.15 'B' = payment 4", 0x35, "\tB1.00", "D2.50"),
    case("[IN] p.15: no 'L' payment -> F, syntax", 0x35, "\tL1.00", "F", bits=(SYNTAX,)),
    case("[IN] p.6 error 42: a card above the rest gives no change", 0x35, "\tC9.00", "F", bits=(NOT_PERMITTED,),
         error=42),
    case("[E-IN] :169-172 FullPayment '\\t'; [IN] p.15 D when paid <= total", 0x35, "\t", "D0.00"),
    case("[E-ISL] :301 CloseReceipt; [IN] p.15 Allreceipt,FiscReceipt,UNP", 0x38, "",
         "1,1,IN000001-0001-0000001", clear=(FISCAL_OPEN,)),
    case("[E-ISL] :54 GetStatus; [IN] p.19 4Ah answers no data", 0x4A, "", ""),
    case("[E-IN] :29-38 GetTaxIdentificationNumber; [IN] p.21 FD No,Code", 0x63, "",
         re.compile(r"IN\d{6},175074752")),
    case("[E-ISL] :64; [IN] p.25", 0x71, "", "0000001"),
    case("[E-ISLM] :38 Cash() '0'; [IN] p.18 Code,CashSum,ServIn,ServOut", 0x46, "0", "P,2.50,0.00,0.00"),
    case("[IN] p.18 Amount,OpNum", 0x46, "5.00,1", "P,7.50,5.00,0.00"),
    case("[IN] p.18 'F' when the cash is short; [IN] p.6 error 21 not raised: the reply carries F", 0x46, "-10.00",
         "F,7.50,5.00,0.00"),
    case("[IN] p.22 6Ah 5..150 ms", 0x6A, "80", ""),
    case("[IN] p.22: 200 ms is out of range", 0x6A, "200", "", bits=(SYNTAX,)),
    case("[E-ISLM] :350 duplicate '1'; [IN] p.24", 0x6D, "1", ""),
    case("[IN] p.24: the duplicate is printed once only (error 3 here; [IN] p.6 lists 28: UNVERIFIED)", 0x6D, "1", "",
         bits=(NOT_PERMITTED,), error=3),
    case("[IN] p.9 26h", 0x26, "", "4", bits=(NON_FISCAL_OPEN,)),
    case("[IN] p.9 2Ah", 0x2A, "Text liber", ""),
    case("[IN] p.9 27h", 0x27, "", "4", clear=(NON_FISCAL_OPEN,)),
    case("[E-IN] :87-117 OpenReversalReceipt 'op,UNP,doc,SS0,date,FM': storno is not emulated", 0x30,
         "1,IN000001-0001-0000002,1,SS0,06-12-26 10:00:00,54000001", "", bits=(NOT_PERMITTED,)),
    case("[IN] p.11", 0x30, "1,IN000001-0001-0000003,0", "5,2"),
    case("[IN] p.12", 0x31, "Paine\tА1.00", ""),
    case("[E-IN] :19-22 AbortReceipt = 82h; [IN] p.26 voided and closed, reply UNP", 0x82, "",
         "IN000001-0001-0000003", clear=(FISCAL_OPEN,)),
    case("[IN] no 3Ch (cancel is 82h): empty data, bit 0.1", 0x3C, "", "", bits=(INVALID,)),
    case("[E-ISL] :327 PrintDailyReport() = Z; [IN] p.18 Closure,FM_Total1 (0),TotalA..H,FM_Total2,RevA..H", 0x45,
         "", "1,0.00,4.22,3.28" + ",0.00" * 6 + ",0.00" + ",0.00" * 8),
    case("[IN] p.5 2.0 end of paper: nothing prints", 0x30, "1,IN000001-0001-0000004,0", "", bits=(PAPER_OUT,),
         clear=(FISCAL_OPEN,), fault="paper_out"),
])

SCENARIOS = {"daisy": DAISY, "eltrade": ELTRADE, "incotex": INCOTEX}
