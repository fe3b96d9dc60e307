"""Conformance corpus for ``fiscald emulate tremol``: request strings exactly as ErpNet.FP's ZFP driver sends
them (and, for what it never sends, as Tremol's protocol description writes them), each with the reply the
description gives, in order (each scenario is one register's session).

Our own strings, built from the facts in the cited sources (nothing copied):
[EC] erpnet/ErpNet.FP ErpNet.FP.Core/Drivers/BgZfpFiscalPrinter.Commands.cs (line)
[EP] .../BgZfpFiscalPrinter.cs (line)        [EF] .../BgZfpFiscalPrinter.Frame.cs (line)
[EV] .../BgTremol/BgTremolZfpV2FiscalPrinter.cs   [ED] .../BgTremol/BgTremolZfpFiscalPrinterDriver.cs
[D]  .../BgTremol/Docs/protocol_description_BG_1910211454 (page as printed)
[T]  shared/spec/tremol.md (third-party quirks; the Romanian dialect §3.3)

``ste`` is an acknowledgement's two status bytes as they travel (ASCII 30h-3Fh: "00" success, "42" receipt open
and illegal, ";2" the 24-hour block...) [D p.7]; ``reply`` a data frame's payload (exact, raw bytes, or a
regular expression). ErpNet.FP pings (09h) before every command [EF 79-155]: ``ping`` is the answer expected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

CMD_GS = 0x1D  # an unframed GS query [D p.93]


@dataclass(frozen=True)
class Case:
    source: str
    cmd: int
    request: bytes
    ste: str | None = None
    reply: str | bytes | re.Pattern[str] | None = None
    ping: int = 0x40
    control: dict[str, object] = field(default_factory=dict)  # a POST /simulate body applied before the request


def ack(source: str, cmd: int, request: str | bytes, ste: str, codepage: str = "cp1251", ping: int = 0x40,
        **control: object) -> Case:
    data = request.encode(codepage) if isinstance(request, str) else request
    return Case(source, cmd, data, ste=ste, ping=ping, control=dict(control))


def data(source: str, cmd: int, request: str, reply: str | bytes | re.Pattern[str], ping: int = 0x40,
         **control: object) -> Case:
    return Case(source, cmd, request.encode("ascii"), reply=reply, ping=ping, control=dict(control))


def item(name: str, selector: str | int, rest: str, codepage: str = "cp1251") -> bytes:
    """``Name[36];VAT-or-department;price...``: the name padded to 36 [EC 32-35, 202]; a department is one raw
    byte dep + 80h [EC 215-218, D p.52]."""
    sel = bytes((selector,)) if isinstance(selector, int) else selector.encode(codepage)
    return name.ljust(36).encode(codepage) + b";" + sel + b";" + rest.encode("ascii")


DATE = r"\d\d-\d\d-\d{4} \d\d:\d\d"
QR = r"\d{8}\*%s\*\d{4}-\d\d-\d\d\*\d\d:\d\d:\d\d\*%s"  # [D p.74] FM*Number*Date*Time*Amount, [EP 270-271]
FRESH_STATUS = b"\x80\x80\x80\xf0\x80\x80\x80"  # [D p.10-11]: bit 7 set; ST3 decimal point, fiscalised, FM made
BREAD = "Хляб"

BULGARIAN = ("M20", [
    data("[EC 312-313] GetRawDeviceInfo: 21h then 60h; [D p.12]; ends with ';' [T], example [ED 50]", 0x21, "",
         re.compile(r"1;784;04-02-2019 08:00;TREMOL M20; Ver\. 1\.01 TRA20 C\.S\. 2541;")),
    data("[EC 312] 60h; [D p.25] SerialNumber[8];FMNumber[8], serial ZK + 6 digits [ED 57-62]", 0x60, "",
         re.compile(r"ZK\d{6};\d{8}")),
    data("[EC 45] GetTaxIdentificationNumber 61h; [D p.25] UIC[13];type;number;date", 0x61, "",
         re.compile(r"175074752 {4};0;\d{6};" + DATE)),
    data("[EC 39] GetStatus 20h; [D p.10-11] seven status bytes", 0x20, "", FRESH_STATUS),
    data("[EC 83-94] GetDateTime 68h -> dd-MM-yyyy HH:mm; [D p.30]", 0x68, "", re.compile(DATE)),
    data("[D p.25] 62h VAT rates ##.##%", 0x62, "",
         "00.00%;20.00%;20.00%;09.00%;00.00%;00.00%;00.00%;00.00%"),
    data("[EP 332] Cash(): 6Eh '0'; [D p.60] on hand per payment 0..11", 0x6E, "0", ";".join(["0"] + ["0.00"] * 12)),
    ack("[EP PrintReceipt] AbortReceipt() first, nothing open; [D p.55] -> illegal", 0x39, "", "02"),
    ack("[EC 31] a sale without a receipt: illegal [D p.7]", 0x31, item(BREAD, "Б", "1.00"), "02"),
    ack("[EC 134-150] OpenReceipt: Op;Pass(0000, ErpNet's default);Detailed;VAT;2$USN (postponed) [D p.39]; "
        "the 4-symbol password is accepted [T]", 0x30, "1;0000;1;1;2$", "00"),
    ack("[D p.39] a second open while one is open: FD error 34h (receipt open), illegal", 0x30, "1;0000;1;1;2$",
        "42"),
    ack("[EC 201-206, 223-227] AddItem VAT Б, price F2, *quantity [D p.47]", 0x31, item(BREAD, "Б", "1.50*2"),
        "00"),
    ack("[EC 232-235] AddItem with a percent discount ',-10.00' [D p.47]", 0x31, item("Сирене", "Г", "10.00,-10.00"),
        "00"),
    ack("[EC 210-219] AddItem by department: 34h, DepNum raw 81h [D p.52]", 0x34, item("Мляко", 0x81, "2.00"),
        "00"),
    ack("[EC 32-35] the name not padded to 36: syntax error", 0x31, "Хляб;Б;1.00", "04"),
    ack("[D p.47] VAT class '*' is forbidden: illegal", 0x31, item(BREAD, "*", "1.00"), "02"),
    ack("[EC 268] AddComment 37h, at most 30 symbols [ED 66]; [D p.54]", 0x37, "Благодарим Ви!", "00"),
    ack("[EC 57] SubtotalChangeAmount '1;0:-0.50' [D p.50]: a value discount only when every sale is of one VAT "
        "group (here Б and Г): illegal", 0x33, "1;0:-0.50", "02"),
    data("[D p.50] the same with a percent -> the subtotal", 0x33, "1;0,-10.00", "12.60"),
    data("[D p.72-73] 72h current receipt: open, 3 sales, groups А Б В, ..., receipt number", 0x72, "",
         re.compile(r"1;003;0\.00;4\.50;0\.00;0;1;1;0;0;0;2;0\.00;0;8\.10;0\.00;0\.00;0\.00;0\.00;000001")),
    ack("[EC 291-295] AddPayment: type;1;amount* (the trailing '*' [T]) [D p.53]", 0x35, "7;1;5.00*", "00"),
    ack("[D p.53] payment started: no more sales; FD error 35h (payment residue)", 0x31, item(BREAD, "Б", "1.00"),
        "52"),
    ack("[D p.54] close with a residue: 35h", 0x38, "", "52"),
    ack("[EC 291-295] cash pays the rest with change", 0x35, "0;1;20.00*", "00"),
    ack("[D p.53] paid: another payment is illegal, FD error 37h (paid, not closed)", 0x35, "0;1;1.00*", "72"),
    ack("[EC 271-274] CloseReceipt 38h [D p.54]", 0x38, "", "00"),
    data("[EC 60-63] last receipt QR data 72h 'B' [D p.74], as [EP 270-271] parses it", 0x72, "B",
         re.compile(QR % ("000001", r"12\.60"))),
    data("[D p.72] 71h receipt counter ######", 0x71, "", "000001"),
    data("[EP 332] cash on hand after 5.00 card and 20.00 cash with 12.40 change... cash 7.60, card (7) 5.00",
         0x6E, "0", ";".join(["0", "7.60", *(["0.00"] * 6), "5.00", *(["0.00"] * 4)])),
    data("[D p.73] 72h 'P': the last receipt's payments (closed)", 0x72, "P",
         ";".join(["P", "0", "20.00", *(["0.00"] * 6), "5.00", *(["0.00"] * 4)])),
    ack("[EC 112-124] MoneyTransfer (deposit) 3Bh Op;Pass;0;amount [D p.55]", 0x3B, "1;0000;0;50.00", "00"),
    ack("[EP PrintMoneyWithdraw] -amount beyond the drawer: insufficient amount on hand [D p.7]", 0x3B,
        "1;0000;0;-100.00", "08"),
    ack("[EP PrintMoneyWithdraw] a withdrawal within the drawer", 0x3B, "1;0000;0;-10.00", "00"),
    ack("[D p.55] 3Bh with a wrong password: FD error 39h", 0x3B, "1;9999;0;10.00", "92"),
    ack("[EP 369] PrintDuplicate 3Ah [D p.55]", 0x3A, "", "00"),
    ack("[EC 283] FullPaymentAndCloseReceipt 36h with nothing open: illegal [D p.54]", 0x36, "", "02"),
    ack("[EC 166-183] OpenReversalReceipt: print type D (buffered storno) and its related-receipt fields "
        "[D p.40]: storno receipts are not emulated, invalid command", 0x30,
        "1;0000;1;1;D;1;000001;06-12-26 10:00:00;12345678;ZK000001-0001-0000001", "01"),
    ack("[EC 134-150] OpenReceipt with a unique sale number [D p.39]", 0x30,
        "1;0000;1;1;2$ZK000001-0001-0000002", "00"),
    ack("[EC 201-206]", 0x31, item("Кафе", "Б", "2.40"), "00"),
    ack("[D p.56] 3Eh over the transaction sum (type 0): not emulated, illegal", 0x3E, "0;0,-10.00", "02"),
    ack("[D p.56] 3Eh over the subtotal (type 1), -10 %", 0x3E, "1;0,-10.00", "00"),
    ack("[EC 283] FullPaymentAndCloseReceipt 36h: exact cash, closed [D p.54]", 0x36, "", "00"),
    data("[EC 60-63] 72h 'B' of the second receipt", 0x72, "B", re.compile(QR % ("000002", r"2\.16"))),
    ack("[D p.38] 2Eh open non-fiscal Op;Pass", 0x2E, "1;0000", "00"),
    ack("[D p.39] a fiscal receipt while a non-fiscal one is open: FD error 36h", 0x30, "1;0000;1;1;2$", "62"),
    ack("[D p.54] 37h free text in the non-fiscal receipt", 0x37, "Служебен бон", "00"),
    ack("[D p.38] 2Fh close non-fiscal", 0x2F, "", "00"),
    ack("[D p.13] 2Ah drawer", 0x2A, "", "00"),
    ack("[D p.8] paper out: ping 42h (ErpNet: E301 [EF 134-136]); a receipt is refused, FD error 31h", 0x30,
        "1;0000;1;1;2$", "12", ping=0x42, fault="paper_out"),
    data("[D p.10] 20h with no paper: ST1 bit 0 (and bit 3, the day not zeroed)", 0x20, "",
         b"\x80\x89\x80\xf0\x80\x80\x80", ping=0x42),
    ack("[D p.8] paper back: ready again", 0x30, "1;0000;1;1;2$", "00", fault="none"),
    ack("[EC 201-206]", 0x31, item(BREAD, "Б", "1.00"), "00"),
    ack("power lost with the receipt open: reported once as FD error 3Dh [D p.7]", 0x31, item(BREAD, "Б", "1.00"),
        "=0", power_loss=True),
    ack("... and only once", 0x31, item(BREAD, "Б", "1.00"), "00"),
    ack("power lost again", 0x2A, "", "=0", power_loss=True),
    ack("[EP Reset] AbortReceipt 39h voids the unpaid receipt [D p.55]", 0x39, "", "00"),
    ack("[D p.7] an unknown command: invalid", 0x5F, "", "01"),
    ack("[EC 302-307] PrintDailyReport X 7Ch 'X' [D p.80]", 0x7C, "X", "00"),
    ack("[EC 302-307] PrintDailyReport Z 7Ch 'Z' (a RETRY storm while it runs) [D p.80]", 0x7C, "Z", "00"),
    data("[D p.10] 20h after the Z: nothing open, daily report zeroed", 0x20, "", FRESH_STATUS),
    data("[EP 332] the Z zeroes the day's payments; the drawer keeps its cash", 0x6E, "0",
         ";".join(["0", "49.76", *(["0.00"] * 11)])),  # 7.60 + 50 - 10 + 2.16
    ack("[D p.78] 79h brief FM report by Z numbers", 0x79, "0001;0001", "00"),
    ack("[D p.80] 7Bh brief FM report by date DDMMYY", 0x7B, "010126;311226", "00"),
    ack("[D p.80] 7Ch Electronic Journal variants are not emulated: invalid", 0x7C, "J", "01"),
    ack("[EC 107] SetDeviceDateTime dd-MM-yy HH:mm:ss [D p.18]: a day later, no documents since the Z",
        0x48, "31-12-30 10:00:00", "00"),
    ack("[EC 134-150]", 0x30, "1;0000;1;1;2$", "00"),
    ack("[EC 201-206]", 0x31, item(BREAD, "Б", "1.00"), "00"),
    ack("[EC 283]", 0x36, "", "00"),
    ack("[D p.7] the clock back with a receipt since the Z: Z daily report is not zero (33h)", 0x48,
        "30-12-30 10:00:00", "03"),
    ack("[D p.18] forward by a day and more: allowed", 0x48, "02-01-31 10:00:00", "00"),
    ack("[D p.7] 24 hours since the day's first receipt without a Z: FD error 3Bh", 0x30, "1;0000;1;1;2$", ";2"),
    ack("[D p.80] the Z lifts the block", 0x7C, "Z", "00"),
    ack("[D p.39] open again", 0x30, "1;0000;1;1;2$", "00"),
    ack("[EP Reset] 39h", 0x39, "", "00"),
    Case("[D p.93] GS 1Dh 'M': country, encoding, widths", CMD_GS, b"M",
         reply=re.compile(r"MBG;WINDOWS-1251;01;.*;32;30;36;34;.*")),
    Case("[D p.93] GS 1Dh 'I': capacities (8 VAT classes, 12 payments)", CMD_GS, b"I",
         reply=re.compile(r"I32;\d{5};\d\d;20;8;\d\d;12;.*")),
])

RO = "cp1250"
ROMANIAN = ("M20-RO", [
    Case("[T §3.3] 1Dh 'M' selects the Romanian dialect: country RO, cp1250", CMD_GS, b"M",
         reply=re.compile(r"MRO;WINDOWS-1250;.*")),
    data("[T §3.3] VAT classes A-F (F 'Alte taxe') [D p.25 format]", 0x62, "",
         "19.00%;09.00%;05.00%;05.00%;00.00%;00.00%"),
    ack("[D p.39] open; ZFPLib_RO keeps 9 operators [T S13]", 0x30, "1;0000;1;1;2$", "00", codepage=RO),
    ack("[D p.39] operator 10 does not exist on a Romanian register: syntax", 0x30, "10;0000;1;1;2$", "04",
        codepage=RO),
    ack("[T §3.3] a cp1250 name with ş/ţ (comma-below mapped to cedilla by the host)", 0x31,
        item("Pâine şi ţuică", "A", "5.00", RO), "00"),
    ack("[T §3.3] class F 'Alte taxe'", 0x31, item("Garanţie SGR", "F", "0.50", RO), "00"),
    ack("[D p.47] a Cyrillic class is not Romanian: syntax", 0x31, item("Lapte", 0xC1, "1.00", RO), "04"),
    ack("[T §3.3] payment types 0-9: 10 does not exist", 0x35, "10;1;1.00", "04", codepage=RO),
    ack("[T §3.3] payment 9", 0x35, "9;1;1.00*", "00", codepage=RO),
    ack("[D p.54] 35h pay the exact sum: Type;0;\"", 0x35, '1;0;"', "00", codepage=RO),
    ack("[D p.54] close", 0x38, "", "00", codepage=RO),
    data("[D p.74] 72h B", 0x72, "B", re.compile(QR % ("000001", r"5\.50"))),
    data("[D p.60] 6Eh 0: ten payment types", 0x6E, "0",
         ";".join(["0", "0.00", "4.50", *(["0.00"] * 7), "1.00"])),
])

V2 = ("M20 V2", [
    data("[EC 312-313]", 0x21, "", re.compile(r"1;784;04-02-2019 08:00;TREMOL M20 V2; Ver\. .*;")),
    data("[D p.27] 64h KL: five names, the rate, five codes (FFh cash -- 'я' in cp1251 --, 7, 1, 2, FFh)", 0x64,
         "", re.compile(r"(.{10};){5}0000\.00000;я;7;1;2;я", re.S)),
    ack("[EC 134-150]", 0x30, "1;0000;1;1;2$", "00"),
    ack("[EC 201-206]", 0x31, item(BREAD, "А", "10.00"), "00"),
    ack("[EV] payments 0-4 (Cash 0, Card 1, Check 2): 5 does not exist", 0x35, "5;1;1.00*", "04"),
    ack("[EV] Card 1", 0x35, "1;1;4.00*", "00"),
    ack("[EV] Check 2", 0x35, "2;1;6.00*", "00"),
    ack("[EC 271-274]", 0x38, "", "00"),
    data("[D p.60] 6Eh 0, KL: five payment types", 0x6E, "0", "0;0.00;4.00;6.00;0.00;0.00"),
])

SCENARIOS = {"bulgarian": BULGARIAN, "romanian": ROMANIAN, "v2": V2}
