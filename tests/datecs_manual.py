"""A Datecs register written from the manuals, not from our driver or emulator, for the driver's tests: it
answers each request over the in-memory transport as the manual's syntax says, records every frame the driver
sends, and can misbehave as real lines and registers do (lost or unreadable replies, a reply carrying another
command number, paper running out, endless SYN).

Only what the tests need is modelled: 90, 50/97, 64, 74, 76, 113, 48, 49, 51, 53, 56, 60, 70, 69, 255, 38/42/39.
The rules, with their sources ([X] v2.02, [X8] v2.08, [P], [C], [DUDE]: see src/fiscald/drivers/datecs/models.py):
- X replies start with an error code, TAB-separated [X p.3-4]; old replies are comma-separated [P p.16].
- Old amounts in replies carry no decimal point: bani [P p.25] [C p.20] [EN BgIslFiscalPrinter.Commands.cs].
- Old 48/56 answer AllReceipt,FiscReceipt counted since the last Z; 113 is the global document number
  [P p.16-17, 20, 35] [C p.10, 15, 27]. X 48/56/76 carry the receipt's own (global) number [X p.9, 14, 21].
- Romanian X: 48 OpCode,OpPwd,TillNmb,Invoice,ClientTAXN; 76 IsOpen,Number,FMNumberRep,FMNumber,Items,Amount,
  Payed; 90 without FMNumber; 50 with 7 groups; 69 nRep,TotA..F,TotEXEPTAT,TotSInv,VatSInv [DUDE].
- 60 is refused once a payment was made [P p.22] [C p.16]; X: −111018 "payment is initiated" [X8 p.62].
- A wrong operator password is refused: X −102002 [X8 p.56]; old: the command fails [P p.17] [C p.10].
- A command refused for paper out did not change the device [EN C driver, status bit 2.0].
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from fiscald.drivers.datecs import status as bits
from fiscald.drivers.isl import framing
from fiscald.drivers.isl.framing import OLD, Decoder, Frame, X
from fiscald.drivers.transport import MemoryTransport, memory_pair
from fiscald.errors import ConnectionLost

RATES = ("21.00", "11.00", "0.00", "0.00")  # A..D; the rest disabled


@dataclass
class Receipt:
    items: int = 0
    amount: int = 0  # cents
    paid: int = 0
    texts: list[str] = field(default_factory=list)
    cif: str = ""


@dataclass
class Faults:
    drop_reply_to: dict[int, int] = field(default_factory=dict)  # command -> replies to drop (executed)
    wrong_cmd_reply_to: set[int] = field(default_factory=set)  # executed, answered as command 0x4A, once
    empty_reply_to: set[int] = field(default_factory=set)  # executed, answered with no data, once
    paper_out_after: dict[int, int] = field(default_factory=dict)  # command -> executions after which paper ends
    refuse_for_paper: bool = False  # paper out: printing commands are refused (not executed)
    syn_forever: bool = False


class ManualRegister:
    """``dialect``: "ro-x", "bg-x", "c" or "p"; ``name``: what 90 reports."""

    def __init__(self, dialect: str, name: str, password: str = "1") -> None:
        self.dialect = dialect
        self.name = name
        self.x = dialect in ("ro-x", "bg-x")
        self.variant = X if self.x else OLD
        self.password = password
        self.frames: list[tuple[int, str]] = []  # every request executed or not: (command, data)
        self.executed: list[tuple[int, str]] = []
        self.faults = Faults()
        self.receipt: Receipt | None = None
        self.last = Receipt()
        self.number = 100  # X: last receipt number (global)
        self.document = 500  # old: last document number (113, global)
        self.fiscal_since_z = 0
        self.all_since_z = 0
        self.z_number = 3
        self.cash = 0
        self.day_totals = [0] * 8
        self.last_z_totals = [0] * 8
        self.paper = True
        self.non_fiscal = False
        self.printed: list[Receipt] = []  # receipts closed (printed)
        self.cancelled: list[Receipt] = []
        self._last_seq: int | None = None
        self._last_reply = b""
        self._count: dict[int, int] = {}
        self._device: MemoryTransport | None = None
        self._tasks: list[asyncio.Task[None]] = []

    # -- the line ---------------------------------------------------------------------------------
    def transport(self) -> MemoryTransport:
        """A new line to the register (the driver's end, to be opened by it): each connect gets its own."""
        host, device = memory_pair()
        device.closed = False  # the register's end is listening from now on
        self._device = device
        self._tasks.append(asyncio.get_running_loop().create_task(self._serve(device)))
        return host

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _serve(self, device: MemoryTransport) -> None:
        decoder = Decoder(self.variant, replies=False)
        while True:
            try:
                chunk = await device.read(3600)
            except (ConnectionLost, TimeoutError):
                return
            for event in decoder.feed(chunk):
                if isinstance(event, Frame):
                    await self._answer(event)

    async def _send(self, data: bytes) -> None:
        if self._device is not None:
            with contextlib.suppress(ConnectionLost):
                await self._device.write(data)

    async def _answer(self, frame: Frame) -> None:
        data = frame.data.decode("cp1250")
        self.frames.append((frame.cmd, data))
        if self.faults.syn_forever:
            for _ in range(1000):
                await self._send(bytes((framing.SYN,)))
                await asyncio.sleep(0.01)
            return
        if frame.seq == self._last_seq:  # the same SEQ as the last frame: not executed, last reply again [X p.3]
            if not self._dropped(frame.cmd):
                await self._send(self._last_reply)
            return
        self.executed.append((frame.cmd, data))
        self._count[frame.cmd] = self._count.get(frame.cmd, 0) + 1
        fields = self._execute(frame.cmd, data)
        status = self._status()
        after = self.faults.paper_out_after.get(frame.cmd)
        if after is not None and self._count[frame.cmd] == after:
            self.paper = False  # ran out while printing this command's output
            status = self._status()
        text = self._layout(fields)
        cmd = frame.cmd
        if cmd in self.faults.wrong_cmd_reply_to:
            self.faults.wrong_cmd_reply_to.discard(cmd)
            cmd = 0x4A
        if frame.cmd in self.faults.empty_reply_to:
            self.faults.empty_reply_to.discard(frame.cmd)
            text = ""
        reply = framing.reply(self.variant, frame.seq, cmd, text.encode("cp1250"), status)
        self._last_seq, self._last_reply = frame.seq, reply
        if not self._dropped(frame.cmd):
            await self._send(reply)

    def _dropped(self, cmd: int) -> bool:
        """Lose this reply (the line ate it)."""
        left = self.faults.drop_reply_to.get(cmd, 0)
        if left:
            self.faults.drop_reply_to[cmd] = left - 1
        return bool(left)

    # -- replies ----------------------------------------------------------------------------------
    def _status(self) -> bytes:
        flags = []
        if not self.paper:
            flags.append(bits.PAPER_OUT)
        if self.receipt is not None:
            flags.append(bits.FISCAL_RECEIPT_OPEN)
        if self.non_fiscal:
            flags.append(bits.NON_FISCAL_OPEN)
        if self._refused:
            flags.append(bits.NOT_PERMITTED if not self.x else bits.SYNTAX_ERROR)
        return bits.encode(self.variant.status_len, flags)

    _refused = False
    _error = 0

    def _layout(self, fields: list[str] | None) -> str:
        if self.x:
            if fields is None:
                return f"{self._error}\t"
            return "".join(f"{f}\t" for f in ["0", *fields])
        return "" if fields is None else ",".join(fields)

    def _money(self, cents: int) -> str:
        """X: with the decimal point; old: bani without it [P p.25]."""
        if self.x:
            return f"{cents // 100}.{cents % 100:02d}"
        return f"{'+' if cents >= 0 else '-'}{abs(cents):08d}"

    def _refuse(self, error: int) -> None:
        self._refused, self._error = True, error

    def _args(self, data: str) -> list[str]:
        if self.x:
            parts = data.split("\t")
            return parts[:-1] if parts and parts[-1] == "" else parts
        return data.split(",")

    def _execute(self, cmd: int, data: str) -> list[str] | None:
        self._refused, self._error = False, 0
        printing = cmd in (0x30, 0x31, 0x35, 0x36, 0x38, 0x3C, 0x45, 0x46, 0x26, 0x2A, 0x27)
        if printing and not self.paper and not (cmd == 0x46 and data in ("0", "0\t0.00\t")):
            self._refuse(-112006)  # no paper [X8 p.67]; old: the paper-out bit refuses it
            return None
        handler = {0x5A: self._diagnostic, 0x32: self._rates_x, 0x61: self._rates_old, 0x40: self._last_z,
                   0x4A: self._read_status, 0x4C: self._transaction, 0x71: self._last_document,
                   0x30: self._open, 0x31: self._sale, 0x33: self._subtotal, 0x35: self._pay,
                   0x38: self._close, 0x3C: self._cancel, 0x46: self._cash, 0x45: self._report,
                   0xFF: self._program, 0x26: self._open_nf, 0x2A: self._text_nf, 0x27: self._close_nf,
                   0x36: self._text}.get(cmd)
        if handler is None:
            self._refuse(-112000)
            return None
        return handler(self._args(data))

    def _diagnostic(self, a: list[str]) -> list[str] | None:
        if self.dialect == "ro-x":  # no FMNumber [DUDE]
            return [self.name, "1.00RO", "01Jan25", "1200", "ABCD", "00000000", "DA123456"]
        if self.x:  # Syntax 1 [X p.24]
            return [self.name, "1.00BG", "01Jan25", "1200", "ABCD", "00000000", "DT123456", "02123456"]
        if self.dialect == "c":  # ...,Sw,FM,Ser [C p.22]
            return [f"{self.name}2.04 01Jan25 1200", "FFFF", "00000000", "02123456", "DT654321"]
        return [self.name, "1.00BG 01Jan25 1200", "FFFF", "00000000", "DT111111", "02111111"]  # [P p.29]

    def _rates_x(self, a: list[str]) -> list[str] | None:
        groups = 7 if self.dialect == "ro-x" else 8
        taxes = [*RATES, *(["100.00"] * 4)][:groups]
        return [str(self.z_number), *taxes, "01-01-25 00:00:00" if self.dialect == "ro-x" else "01-01-25"]

    def _rates_old(self, a: list[str]) -> list[str] | None:
        return [*RATES, "DT", "DT", "DT", "DT"]

    def _last_z(self, a: list[str]) -> list[str] | None:
        """64: the last fiscal memory record, turnover by group [X p.17] [P p.22] [C p.17]."""
        sums = [self._money(t) for t in self.last_z_totals]
        if self.x:
            return [str(self.z_number), *sums, "01-01-25"]
        return ["P", str(self.z_number), *sums, "010125"]

    def _read_status(self, a: list[str]) -> list[str] | None:
        return []

    def _transaction(self, a: list[str]) -> list[str] | None:
        r = self.receipt or self.last
        is_open = "1" if self.receipt is not None or self.non_fiscal else "0"
        if self.dialect == "ro-x":
            return [is_open, str(self.number), str(self.z_number + 1), "02123456", str(r.items),
                    self._money(r.amount), self._money(r.paid)]
        if self.x:
            return [is_open, str(self.number), str(r.items), self._money(r.amount), self._money(r.paid)]
        return [is_open, f"{r.items:04d}", self._money(r.amount), self._money(r.paid)]

    def _last_document(self, a: list[str]) -> list[str] | None:
        return [f"{self.document:07d}"]

    def _open(self, a: list[str]) -> list[str] | None:
        if self.receipt is not None or self.non_fiscal:
            self._refuse(-111015)
            return None
        if len(a) < 3 or a[1] != self.password:
            self._refuse(-102002)
            return None
        expected = 5 if self.dialect == "ro-x" else 4 if self.x else 3
        if len(a) != expected:
            self._refuse(-112001)
            return None
        self.receipt = Receipt(cif=a[4] if self.dialect == "ro-x" else "")
        if self.x:
            self.number += 1
            return [str(self.number)]
        self.document += 1
        self.all_since_z += 1
        self.fiscal_since_z += 1
        return [str(self.all_since_z), str(self.fiscal_since_z)]

    def _sale(self, a: list[str]) -> list[str] | None:
        if self.receipt is None or self.receipt.paid:
            self._refuse(-111016)
            return None
        if self.x:
            price, qty = a[2], a[3] or "1.000"
        else:
            tail = ",".join(a).split("\t")[1][1:]  # <TaxCd><Price>[*Qty]
            price, _, qty = tail.partition("*")
            qty = qty.partition("#")[0] or "1.000"
        cents = round(float(price) * float(qty) * 100)
        self.receipt.items += 1
        self.receipt.amount += cents
        return [str(self.number)] if self.x else []

    def _subtotal(self, a: list[str]) -> list[str] | None:
        if self.receipt is None:
            self._refuse(-111016)
            return None
        sub = self._money(self.receipt.amount) if self.x else str(self.receipt.amount)
        return [str(self.number), sub] if self.x else [sub]

    def _pay(self, a: list[str]) -> list[str] | None:
        r = self.receipt
        if r is None:
            self._refuse(-111016)
            return None
        amount = round(float(a[1]) * 100) if self.x else round(float(",".join(a).lstrip("\t")[1:]) * 100)
        r.paid += amount
        rest = r.amount - r.paid
        if self.x:
            return ["D", self._money(rest)] if rest > 0 else ["R", self._money(-rest)]
        return [f"D{rest}" if rest > 0 else f"R{-rest}"]

    def _close(self, a: list[str]) -> list[str] | None:
        r = self.receipt
        if r is None or r.paid < r.amount or r.items == 0:
            self._refuse(-111016 if r is None else -111064)
            return None
        self.printed.append(r)
        self.last, self.receipt = r, None
        self.cash += r.amount
        if self.x:
            return [str(self.number)]
        return [str(self.all_since_z), str(self.fiscal_since_z)]

    def _cancel(self, a: list[str]) -> list[str] | None:
        r = self.receipt
        if r is None:
            self._refuse(-111016)
            return None
        if r.paid:
            self._refuse(-111018)  # payment is initiated [X8 p.62]; [P p.22] [C p.16]
            return None
        self.cancelled.append(r)
        self.receipt = None
        if r.items == 0:  # an empty receipt leaves no document: its number is used again
            if self.x:
                self.number -= 1
            else:
                self.document -= 1
        else:
            self.last = r
        return []

    def _cash(self, a: list[str]) -> list[str] | None:
        amount = round(float(a[1]) * 100) * (1 if a[0] == "0" else -1) if self.x else round(float(a[0]) * 100)
        self.cash += amount
        if self.x:
            return [self._money(self.cash), "0.00", "0.00"]
        return ["P", str(self.cash), "0", "0"]

    def _report(self, a: list[str]) -> list[str] | None:
        totals = [self._money(t) for t in self.day_totals]
        if a[0] in ("Z", "0"):
            self.z_number += 1
            self.last_z_totals, self.day_totals = self.day_totals, [0] * 8
            self.fiscal_since_z = self.all_since_z = 0
        if self.dialect == "ro-x":
            return [str(self.z_number), *totals[:6], "0.00", "0.00", "0.00"]
        if self.x:
            return [str(self.z_number), *totals, *(["0.00"] * 8)]
        return [str(self.z_number), "+0", *totals]

    def _program(self, a: list[str]) -> list[str] | None:
        if a[0] == "PrintColumns":
            return ["48"]
        self._refuse(-112001)
        return None

    def _open_nf(self, a: list[str]) -> list[str] | None:
        self.non_fiscal = True
        return [str(self.number)] if self.x else []

    def _text_nf(self, a: list[str]) -> list[str] | None:
        return []

    def _close_nf(self, a: list[str]) -> list[str] | None:
        self.non_fiscal = False
        self.document += 1
        return [str(self.number)] if self.x else [str(self.document)]

    def _text(self, a: list[str]) -> list[str] | None:
        if self.receipt is not None:
            self.receipt.texts.append(a[0])
        return []
