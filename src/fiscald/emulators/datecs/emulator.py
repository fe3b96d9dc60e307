"""A Datecs register on the wire, as the manuals and third-party clients describe it (never as our driver
assumes): the dialect tables in dialects.py, the receipt rules in emulators/rules.py.

On the wire ([X] p.3-4, [P] p.5-6): a frame repeating the last SEQ is not executed, the last reply is sent
again; a damaged frame is answered NAK; while a command runs, SYN every 60 ms; every reply carries the status
bytes; an unknown command gets an empty reply with status bit 0.1. X replies start with an error code
(``0`` or Datecs' own -1xxxxx, [UCS] doc/Datecs error list) and end every field with TAB; old replies are comma
separated, a refusal is an empty reply with the status bits set (or ``F`` where the manual has an exit code).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from fiscald.drivers.isl import framing
from fiscald.emulators import rules
from fiscald.emulators.datecs import dialects as d
from fiscald.emulators.link import Read, Write
from fiscald.emulators.rules import Refusal, Rule
from fiscald.emulators.wire import FaultAt, LineStats, WireState, line_controls, money, register_in
from fiscald.errors import Code, FiscalError
from fiscald.models.simulate import parse_simulate

SYN_EVERY_S = 0.060
Reply = list[str] | bytes

# rule -> (X error code, status bit)
RULES: dict[Rule, tuple[int, d.Bit]] = {
    Rule.SYNTAX: (d.ERR_SYNTAX, d.SYNTAX_BIT),
    Rule.NOT_PERMITTED: (d.ERR_NOT_PERMITTED, d.NOT_PERMITTED_BIT),
    Rule.RECEIPT_OPEN: (d.ERR_RECEIPT_OPEN, d.NOT_PERMITTED_BIT),
    Rule.RECEIPT_CLOSED: (d.ERR_RECEIPT_CLOSED, d.NOT_PERMITTED_BIT),
    Rule.NON_FISCAL_OPEN: (d.ERR_NON_FISCAL_OPEN, d.NOT_PERMITTED_BIT),
    Rule.PAYMENT_STARTED: (d.ERR_PAYMENT_STARTED, d.NOT_PERMITTED_BIT),
    Rule.NOT_PAID: (d.ERR_NOT_PAID, d.NOT_PERMITTED_BIT),
    Rule.NO_SALES: (d.ERR_NO_TRANSACTIONS, d.NOT_PERMITTED_BIT),
    Rule.DAY_OVER: (d.ERR_DAY_OVER, d.NOT_PERMITTED_BIT),
    Rule.FM_FULL: (d.ERR_FM_FULL, d.FM_FULL_BIT),
    Rule.PAPER_OUT: (d.ERR_NO_PAPER, d.PAPER_OUT_BIT),
    Rule.COVER_OPEN: (d.ERR_COVER_OPEN, d.COVER_OPEN_BIT),
    Rule.WRONG_PASSWORD: (d.ERR_WRONG_PASSWORD, d.NOT_PERMITTED_BIT),
    Rule.LOCKED: (d.ERR_WRONG_PASSWORD, d.NOT_PERMITTED_BIT),
    Rule.NO_CASH: (d.ERR_NO_CASH, d.NOT_PERMITTED_BIT),
    Rule.TOO_MANY_SALES: (d.ERR_TOO_MANY_SALES, d.NOT_PERMITTED_BIT),
    Rule.OVERFLOW: (d.ERR_OVERFLOW, d.OVERFLOW_BIT),
    Rule.FORBIDDEN_PAYMENT: (d.ERR_PAY_BIG_AMOUNT, d.NOT_PERMITTED_BIT),
    Rule.WRONG_DATETIME: (d.ERR_WRONG_DATETIME, d.NOT_PERMITTED_BIT),
}
# [X] p.46: bit 7 always set; '#' errors also set 0.5, FM errors 4.5; byte 3 carries no error number
STATUS = d.Status(standing=d.STANDING_BITS, general=d.GENERAL, fm_general=d.FM_GENERAL,
                  faults={"paper_out": d.PAPER_OUT_BIT, "cover_open": d.COVER_OPEN_BIT,
                          "fiscal_memory_full": d.FM_FULL_BIT},
                  byte3="switches", fiscal_open=d.FISCAL_OPEN_BIT, non_fiscal_open=d.NON_FISCAL_OPEN_BIT)
NSALE = re.compile(r"[0-9A-Za-z]{8}-[0-9A-Za-z]{4}-[0-9]{7}")  # [X] p.9, [C] p.10


class Syntax(Exception):
    """The request does not parse: X -112001 / old status bit 0.0."""


# -- numbers on the wire ---------------------------------------------------------------------------
def parse_amount(text: str, places: int = 2) -> int:
    """``"12.34"`` -> 1234 (a request's amounts carry a decimal point or are whole units)."""
    text = text.strip()
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise Syntax(f"amount {text!r}") from None
    if not value.is_finite() or value != value.quantize(Decimal(1).scaleb(-places)) or "e" in text.lower():
        raise Syntax(f"amount {text!r}")
    return int(value.scaleb(places))


def signed_cents(cents: int, width: int) -> str:
    """Old protocol: ``+00000500`` (a sign and ``width - 1`` digits, in stotinki/bani) [P] p.25."""
    return f"{'-' if cents < 0 else '+'}{abs(cents):0{width - 1}d}"


class DatecsEmulator:
    def __init__(self, model: d.Model, data_dir: Path, baud: int | None = None, maker: str = "Datecs") -> None:
        self.model = model
        self.dialect = model.dialect
        self.variant = model.dialect.framing
        self.baud = baud
        self.status_table = STATUS
        self.db, self.device_id, self.register = register_in(data_dir, f"{maker} {model.name}")
        dialect = self.dialect
        self.rules = rules.FiscalRules(self.register, data_dir, factory_password=model.factory_password,
                                       lock_after=dialect.lock_after, max_sales=dialect.max_sales)
        digits = int(hashlib.sha256(self.device_id.encode()).hexdigest(), 16)
        self.serial = f"DT{digits % 1_000_000:06d}"  # two letters and six digits [X] p.24
        self.fm_number = f"{digits // 1_000_000 % 100_000_000:08d}"  # eight digits
        self.wire = WireState()
        self.fault_at: FaultAt | None = None
        self.stats = LineStats()
        self.last_seq: int | None = None
        self.last_reply: bytes | None = None
        self.frames = 0  # frames executed (not repeats)
        self.executing: int | None = None
        self._lock = asyncio.Lock()
        self._handlers: dict[int, Callable[[str], Awaitable[Reply]]] = {
            0x26: self._open_non_fiscal, 0x27: self._close_non_fiscal, 0x2A: self._non_fiscal_text,
            0x2D: self._check, 0x30: self._open_receipt, 0x31: self._sale, 0x33: self._subtotal,
            0x35: self._payment, 0x36: self._text, 0x38: self._close, 0x3C: self._cancel,
            0x3D: self._set_datetime, 0x3E: self._get_datetime, 0x40: self._last_fiscal, 0x45: self._report,
            0x46: self._cash, 0x4A: self._status_read, 0x4C: self._transaction, 0x56: self._last_fiscal_date,
            0x5A: self._diagnostic, 0x5C: self._separator, 0x5E: self._fm_by_date, 0x5F: self._fm_by_number,
            0x63: self._tax_number, 0x65: self._set_password, 0x6A: self._drawer, 0x6D: self._duplicate,
        }
        if dialect.x:
            self._handlers[0x32] = self._vat_rates  # [X] p.10; old 50 prints a report of a period instead
            self._handlers[0xFF] = self._programming  # [X] p.39-45
        else:
            self._handlers[0x34] = self._sale  # [P] p.18 / [C] p.12: sale and display
            self._handlers[0x61] = self._vat_rates  # [P] p.30
            self._handlers[0x71] = self._last_document  # [P] p.35 / [C] p.27
            self._handlers[0x2B] = self._header_footer  # [P] p.14 / [C] p.7

    @property
    def commands(self) -> frozenset[int]:
        """The command codes this model answers (any other: an empty reply with status bit 0.1)."""
        return frozenset(self._handlers)

    async def start(self) -> None:
        await self.register.start()
        self.rules.recover()

    def close(self) -> None:
        self.db.close()

    # -- control ----------------------------------------------------------------------------------
    async def control(self, body: Any) -> dict[str, Any]:
        """POST /simulate: /manage/simulate's body without device_id, plus ``"wire"``."""
        if not isinstance(body, dict):
            raise FiscalError(Code.CONFIG, "body: expected a JSON object")
        body = dict(body)
        self.fault_at = line_controls(body, self.wire, self.fault_at)
        simulation = await self.register.simulate(parse_simulate({**body, "device_id": self.device_id}))
        state = self.register.state
        last = self.rules.book.last
        return {"simulation": simulation, "wire": asdict(self.wire), "stats": asdict(self.stats),
                "fault_at": None if self.fault_at is None else self.fault_at.model_dump(),
                "device": {"model": self.model.name, "dialect": self.dialect.name,
                           "receipt_open": self.rules.open is not None, "non_fiscal_open": self.rules.non_fiscal_open,
                           "receipt_number": state.receipt_number, "document_number": state.document_number,
                           "z_number": state.z_number, "frames": self.frames, "executing": self.executing,
                           "last_payment_codes": list(last.codes)}}

    # -- the line ---------------------------------------------------------------------------------
    async def _line(self, count: int) -> None:
        """``count`` bytes' time on a serial line at ``baud`` (10 bits a byte), measured as spent."""
        if self.baud:
            loop = asyncio.get_running_loop()
            started = loop.time()
            await asyncio.sleep(count * 10 / self.baud)
            self.stats.line_s += loop.time() - started

    async def _send(self, write: Write, data: bytes) -> None:
        await self._line(len(data))
        self.stats.bytes_out += len(data)
        await write(data)

    async def serve(self, read: Read, write: Write) -> None:
        """One host connection: frames in, replies out, until the host goes away (``read`` returns b"")."""
        decoder = framing.Decoder(self.variant, replies=False)
        while True:
            try:
                chunk = await asyncio.wait_for(read(), 0.5) if decoder.pending else await read()
            except TimeoutError:
                decoder.reset()  # a frame that never completed (damaged length): forget it
                continue
            if not chunk:
                return
            for event in decoder.feed(chunk):
                if isinstance(event, framing.BadFrame):
                    await self._send(write, bytes((framing.NAK,)))
                elif isinstance(event, framing.Frame):
                    size = len(framing.request(self.variant, event.seq, event.cmd, event.data))
                    self.stats.bytes_in += size
                    await self._line(size)
                    async with self._lock:
                        await self._answer(event, write)

    async def _answer(self, frame: framing.Frame, write: Write) -> None:
        wire = self.wire
        if self.register.simulation.fault == "disconnected":
            return  # the cable is out: nothing answers
        if wire.nak_frames:
            wire.nak_frames -= 1
            await self._send(write, bytes((framing.NAK,)))
            return
        if wire.drop_replies and wire.from_command is not None and frame.cmd == wire.from_command:
            wire.from_command = None  # armed: this frame and the next ones lose their replies
        if frame.seq == self.last_seq and self.last_reply is not None:
            reply = self.last_reply  # the same SEQ again: not executed, the last reply once more [X] p.3
        else:
            await self._fault_at(frame.cmd)
            self.executing = frame.cmd
            loop = asyncio.get_running_loop()
            started = loop.time()
            job = asyncio.create_task(self.execute(frame.seq, frame.cmd, frame.data))
            busy_s = wire.busy_ms / 1000
            wire.busy_ms = 0
            while True:
                done, _ = await asyncio.wait({job}, timeout=SYN_EVERY_S)
                if done and loop.time() - started >= busy_s:
                    break
                await self._send(write, bytes((framing.SYN,)))  # [X] p.3: SYN every 60 ms while busy
            reply = job.result()
            self.stats.device_s += loop.time() - started
            self.executing = None
            self.last_seq, self.last_reply = frame.seq, reply
            self.frames += 1
        if wire.drop_replies and wire.from_command is None:
            wire.drop_replies -= 1
            return
        if wire.corrupt_replies:
            wire.corrupt_replies -= 1
            damaged = bytearray(reply)
            damaged[-7] ^= 0x01  # a byte of the status: the checksum no longer matches
            reply = bytes(damaged)
        await self._send(write, reply)

    async def _fault_at(self, cmd: int) -> None:
        if self.fault_at is None:
            return
        self.fault_at, fault = self.fault_at.arrived(cmd)
        if fault is not None:  # e.g. the paper runs out as this command arrives, before it executes
            await self.register.simulate(parse_simulate({"device_id": self.device_id, "fault": fault}))

    # -- replies ------------------------------------------------------------------------------------
    def status(self, *extra: d.Bit, error: int = 0) -> bytes:
        """The status bytes of ``status_table`` ([X] p.46; an ISL brand's): bit 7 always set; the marked errors
        also set 0.5 (bytes 0-2) and 4.5 (bytes 4-5); byte 3 an error number where the table says so."""
        table = self.status_table
        chosen = set(table.standing) | set(extra)
        fault = table.faults.get(self.register.simulation.fault or "")
        if fault is not None:
            chosen.add(fault)
        if self.rules.open is not None:
            chosen.add(table.fiscal_open)
        if self.rules.non_fiscal_open:
            chosen.add(table.non_fiscal_open)
        if chosen & table.general:
            chosen.add((0, 5))
        if chosen & table.fm_general:
            chosen.add((4, 5))
        out = bytearray([0x80] * self.variant.status_len)
        for byte, bit in chosen:
            out[byte] |= 1 << bit
        if table.byte3 == "error_number":
            out[3] = 0x80 | (error & 0x7F)
        return bytes(out)

    def _encode(self, text: str) -> bytes:
        mapped = text.translate({ord(k): v for k, v in self.dialect.text_map.items()})
        return mapped.encode(self.dialect.codepage, errors="replace")

    def _frame(self, seq: int, cmd: int, data: bytes, *bits: d.Bit) -> bytes:
        return framing.reply(self.variant, seq, cmd, data[:self.variant.max_reply_data], self.status(*bits))

    def _fields(self, values: list[str]) -> bytes:
        if self.dialect.x:  # [X] p.5: every field, the error code first, ends with TAB
            return self._encode("".join(f"{v}\t" for v in ["0", *values]))
        return self._encode(",".join(values))

    def layout(self, name: str, values: dict[str, str]) -> list[str]:
        return [values[field] for field in self.dialect.layouts[name]]

    async def execute(self, seq: int, cmd: int, data: bytes) -> bytes:
        """The reply frame to one request (also the in-process entry point for the conformance corpus)."""
        handler = self._handlers.get(cmd)
        if handler is None:  # [X] p.4: zero-length data and status bit 0.1
            return self._frame(seq, cmd, b"", d.INVALID_COMMAND_BIT)
        text = data.decode(self.dialect.codepage, errors="replace")
        try:
            reply = await handler(text)
        except (Syntax, ValueError, IndexError):  # a request that does not parse, whatever field it trips on
            return self._refused(seq, cmd, Rule.SYNTAX)
        except Refusal as exc:
            return self._refused(seq, cmd, exc.rule)
        if isinstance(reply, bytes):
            return self._frame(seq, cmd, reply)
        return self._frame(seq, cmd, self._fields(reply))

    def _refused(self, seq: int, cmd: int, rule: Rule) -> bytes:
        """The reply to a refused request: X, the error code; old, no data (or ``F``) and the rule's status bit."""
        code, bit = RULES[rule]
        answer = f"{code}\t" if self.dialect.x else self._old_refusal(cmd)
        return self._frame(seq, cmd, self._encode(answer), bit)

    @staticmethod
    def _old_refusal(cmd: int) -> str:
        """Old commands whose reply has an exit code answer ``F`` when refused ([P] p.20, 22, 23)."""
        return "F" if cmd in (0x35, 0x40, 0x46) else ""

    # -- request parsing ----------------------------------------------------------------------------
    def _x_fields(self, text: str, least: int) -> list[str]:
        """X parameters: each one ends with TAB ([X] p.4); at least ``least`` of them."""
        if not text.endswith("\t") and text:
            raise Syntax("a parameter without its TAB")
        fields = text.split("\t")[:-1] if text else []
        if len(fields) < least:
            raise Syntax(f"{least} parameters expected")
        return fields

    def _old_amount(self, text: str) -> int:
        return parse_amount(text.lstrip("+"))

    def _cents(self, cents: int) -> str:
        """An amount in a reply: X ``12.34``; old, in stotinki/bani without a point (evidence 4)."""
        return str(cents) if self.dialect.amounts_in_cents else money(cents)

    def _vat(self, code: str) -> str:
        if self.dialect.x:
            if code not in ("1", "2", "3", "4", "5", "6", "7", "8"):
                raise Syntax(f"TaxCd {code!r}")
            return d.LATIN[int(code) - 1]
        letters = self.dialect.tax_letters
        if len(code) != 1 or code not in letters:
            raise Syntax(f"TaxCd {code!r}")
        return d.LATIN[letters.index(code) % 8]

    def _discount(self, kind: str, value: str) -> dict[str, Any] | None:
        """X DiscountType 1..4 ([X] p.9-10)."""
        if kind in ("", "0"):
            return None
        if kind not in ("1", "2", "3", "4"):
            raise Syntax(f"DiscountType {kind!r}")
        cents = parse_amount(value)
        if cents <= 0:
            raise Syntax("DiscountValue")
        surcharge = kind in ("1", "3")
        if kind in ("1", "2"):
            return {"kind": "percent", "basis_points": cents, "is_surcharge": surcharge}
        return {"kind": "amount", "amount_cents": cents, "is_surcharge": surcharge}

    def _old_discount(self, text: str) -> tuple[str, dict[str, Any] | None]:
        """Old ``,Perc`` / ``;Abs``, negative = discount ([P] p.17, [C] p.11)."""
        for sep, kind in ((",", "percent"), (";", "amount")):
            if sep in text:
                text, _, value = text.partition(sep)
                cents = parse_amount(value.lstrip("+"))
                if cents == 0:
                    raise Syntax("discount 0")
                key = "basis_points" if kind == "percent" else "amount_cents"
                return text, {"kind": kind, key: abs(cents), "is_surcharge": cents > 0}
        return text, None

    def _item_text(self, text: str) -> str:
        lines = text.split("\n")
        if len(lines) > self.dialect.item_lines or any(len(line) > self.dialect.item_width for line in lines):
            raise Syntax(f"item text: {self.dialect.item_lines} x {self.dialect.item_width} characters")
        name = " ".join(line.strip() for line in lines).strip()
        if not name:
            raise Syntax("empty item text")
        return name

    @property
    def columns(self) -> int:
        return int(self.rules.book.settings.get("PrintColumns", self.model.columns))

    def _free_text(self, text: str) -> str:
        width = self.dialect.free_text or self.columns - 2
        return text[:width]

    # -- the fiscal receipt -------------------------------------------------------------------------
    async def _open_receipt(self, text: str) -> Reply:
        dialect = self.dialect
        taxn = None
        if dialect.x:
            f = self._x_fields(text, 3)
            if dialect.nsale and len(f) >= 3 and NSALE.fullmatch(f[2]):
                f = [f[0], f[1], *f[3:]]  # Syntax 2: the unique sale number is not kept
            op, pwd, till = f[0], f[1], f[2]
            invoice = f[3] if len(f) > 3 else ""
            if dialect.client_taxn:
                taxn = f[4].strip() if len(f) > 4 else ""
        else:
            f = text.split(",")
            if len(f) < 3:
                raise Syntax("OpCode, OpPwd and TillNmb are required")
            if NSALE.fullmatch(f[2]):  # C Syntax 1 [C] p.10: OpCode,OpPwd,NSale,TillNmb[,Invoice]
                f = [f[0], f[1], *f[3:]]
            op, pwd, till = f[0], f[1], f[2] if len(f) > 2 else ""
            rest = [x for x in f[3:] if x]
            invoice = rest[0] if rest and rest[0] == "I" else ""
            if [x for x in rest if x != "I" and not NSALE.fullmatch(x)]:
                raise Syntax("48: unknown parameter")
        if not (op.isdigit() and 1 <= int(op) <= 30 and pwd.isdigit() and 1 <= len(pwd) <= 8
                and till.isdigit() and 1 <= int(till) <= 99999):
            raise Syntax("OpCode 1..30, OpPwd 1..8 digits, TillNmb 1..99999")
        if invoice not in ("", "I"):
            raise Syntax(f"Invoice {invoice!r}")
        if invoice:
            raise Refusal(Rule.NOT_PERMITTED, "no invoice range is set")  # [X] p.18, command 66
        receipt = self.rules.open_receipt(int(op), pwd, taxn)
        if dialect.x:
            return [str(receipt.number)]
        return self._since_z(opening=True)

    def _since_z(self, opening: bool = False) -> list[str]:
        """Old 48/56: all documents and fiscal receipts since the last Z ([P] p.16-17, [C] p.10)."""
        extra = 1 if opening else 0
        if self.dialect.counters_since_z:
            return [str(self.rules.documents_since_z + extra), str(self.rules.receipts_since_z + extra)]
        return [str(self.rules.document_number + extra), str(self.register.state.receipt_number + extra)]

    async def _sale(self, text: str) -> Reply:
        if self.dialect.x:
            f = self._x_fields(text, 3)
            name = f[0]
            if not name or len(name) > self.dialect.item_width:
                raise Syntax("PluName: 1..72 characters")
            letter = self._vat(f[1])
            price = parse_amount(f[2])
            qty = parse_amount(f[3], 3) if len(f) > 3 and f[3] else 1000
            discount = self._discount(f[4] if len(f) > 4 else "", f[5] if len(f) > 5 else "")
            department = f[6] if len(f) > 6 else ""
            if department and not (department.isdigit() and 0 <= int(department) <= 99):
                raise Syntax("Department 0..99")
            unit = f[7] if len(f) > 7 else ""
        else:
            name_text, tab, rest = text.partition("\t")
            if not tab:
                raise Syntax("no TAB before the tax group")
            name = self._item_text(name_text)
            if "\t" in rest:
                raise Refusal(Rule.NOT_PERMITTED, "sale by department: no department is programmed")
            rest, discount = self._old_discount(rest)
            if not rest:
                raise Syntax("TaxCd and price")
            letter, rest = self._vat(rest[0]), rest[1:]
            rest, _, unit = rest.partition("#")
            if unit and not self.dialect.units:
                raise Syntax("no unit of measure on this register")  # [C] p.11
            price_text, star, qty_text = rest.partition("*")
            price = parse_amount(price_text)
            qty = parse_amount(qty_text, 3) if star else 1000
        if unit and len(unit) > 8:
            raise Syntax("unit: up to 8 characters")
        if qty <= 0:
            raise Syntax("Quantity")
        line: dict[str, Any] = {"type": "item", "description": name, "quantity_thousandths": -qty if price < 0 else qty,
                                "unit_price_cents": abs(price), "vat": letter}
        if discount is not None:
            line["discount"] = discount
        if unit:
            line["um"] = unit
        receipt = self.rules.sell(line)
        return [str(receipt.number)] if self.dialect.x else []

    async def _subtotal(self, text: str) -> Reply:
        if self.dialect.x:
            f = self._x_fields(text, 0)
            discount = self._discount(f[2] if len(f) > 2 else "", f[3] if len(f) > 3 else "")
        else:
            _, discount = self._old_discount(text)
        total, groups = self.rules.subtotal(discount)
        sums = [self._cents(groups.get(letter, 0)) for letter in d.LATIN]
        receipt = self.rules.open
        assert receipt is not None
        if self.dialect.x:
            return [str(receipt.number), money(total), *sums]
        return [self._cents(total), *sums]

    async def _text(self, text: str) -> Reply:
        if self.dialect.x:
            text = self._x_fields(text, 1)[0]
        elif text.startswith("\t"):  # [P] p.20: <Tab><Font>[<Flags>]<Text>
            text = text[2:].lstrip("BHI")
        self.rules.text(self._free_text(text))
        return []

    async def _payment(self, text: str) -> Reply:
        dialect = self.dialect
        if dialect.x:
            f = self._x_fields(text, 1)
            code, amount_text = f[0], f[1] if len(f) > 1 else ""
            kind_field = f[2] if len(f) > 2 else ""
            if code == "" and amount_text == "":  # "\t\t\t": the rest in cash [EN] FullPayment
                code = dialect.cash_code
            if code not in dialect.payments:  # not a payment this register has: a bad parameter
                raise Syntax(f"PaidMode {code!r}")
            if kind_field not in ("", "0", "1", "12"):
                raise Syntax(f"Type {kind_field!r}")
            amount = parse_amount(amount_text) if amount_text else None  # no amount: the exact rest [RO]
        else:
            _, tab, rest = text.partition("\t")  # [<Line1>][<Lf><Line2>]<Tab>[[<PaidMode>]<[Sign]Amount>]
            if not tab:
                raise Syntax("no TAB")
            rest = rest.partition("*")[0]  # [C] p.14: *<Type> for a pinpad
            code = dialect.cash_code
            if rest and not (rest[0].isdigit() or rest[0] in "+-."):
                code, rest = rest[0], rest[1:]
            if code not in dialect.payments:  # not a payment this register has: a bad parameter
                raise Syntax(f"PaidMode {code!r}")
            amount = self._old_amount(rest) if rest else None  # nothing after the TAB: the rest [P] p.20
        due = self.rules.pay(dialect.payments[code], code, amount)
        flag, value = ("D", due) if due > 0 else ("R", -due)  # [X] p.11, [P] p.20
        if dialect.x:
            return [flag, money(value)]
        return [f"{flag}{signed_cents(value, 9)}"]

    async def _close(self, text: str) -> Reply:
        last = await self.rules.close()
        if self.dialect.x:
            return [str(last.number)]
        return self._since_z()

    async def _cancel(self, text: str) -> Reply:
        await self.rules.cancel()
        return []

    async def _transaction(self, text: str) -> Reply:
        t = self.rules.transaction()
        if self.dialect.x:
            if text not in ("", "\t"):
                raise Syntax("76 has no parameters")
            values = {"is_open": "1" if t.is_open else "0", "number": str(t.number),
                      "fm_rep": str(self.register.state.z_number), "fm_number": self.fm_number,
                      "items": str(t.items), "amount": money(t.amount), "paid": money(t.paid)}
            return self.layout("transaction", values)
        if text not in ("", "T"):
            raise Syntax("76: [T]")
        values = {"is_open": "1" if t.is_open else "0", "items": str(t.items),
                  "amount": signed_cents(t.amount, 9), "paid": signed_cents(t.paid, 9)}
        fields = self.layout("transaction", values)
        return fields if text == "T" else fields[:3]  # Tender only with T ([P] p.25)

    # -- service receipts ---------------------------------------------------------------------------
    async def _open_non_fiscal(self, text: str) -> Reply:
        self.rules.open_non_fiscal()
        return [str(self.rules.document_number + 1)] if self.dialect.x else [str(self.rules.documents_since_z + 1)]

    async def _non_fiscal_text(self, text: str) -> Reply:
        if self.dialect.x:
            text = self._x_fields(text, 1)[0]
        elif text.startswith("\t"):
            text = text[2:].lstrip("BHI")
        self.rules.non_fiscal_text(self._free_text(text))
        return []

    async def _close_non_fiscal(self, text: str) -> Reply:
        await self.rules.close_non_fiscal()
        return [str(self.rules.document_number)] if self.dialect.x else [str(self.rules.documents_since_z)]

    async def _separator(self, text: str) -> Reply:
        kind = self._x_fields(text, 1)[0] if self.dialect.x else text
        if kind not in ("1", "2", "3", "4"):
            raise Syntax("separator type 1..4")
        if self.rules.open is None and not self.rules.non_fiscal_open:
            raise Refusal(Rule.RECEIPT_CLOSED)  # [P] p.30: a receipt must be open
        line = ({"1": "-", "2": "- ", "3": "=", "4": "*"}[kind] * self.columns)[:self.columns - 2]
        if self.rules.open is not None:
            self.rules.text(line)
        else:
            self.rules.non_fiscal_text(line)
        return []

    # -- reports, cash, information -------------------------------------------------------------------
    async def _report(self, text: str) -> Reply:
        if self.dialect.x:
            kind = self._x_fields(text, 1)[0]
            if kind in ("D", "G"):  # departments / item groups: printed, Answer(2) [X] p.18
                self.rules.printable()
                return []
            if kind not in ("X", "Z"):
                raise Syntax("ReportType X, Z, D or G")
            z = kind == "Z"
        else:
            option = text.removesuffix("N")
            if option not in ("", "0", "2"):  # [P] p.23; no option: Z, as ErpNet.FP sends it
                raise Syntax("option 0 or 2")
            z = option != "2"
        report = await self.rules.report(z)
        values: dict[str, str] = {"nrep": str(report.number), "sinv_total": money(report.simplified.total),
                                  "sinv_vat": money(report.simplified.vat),
                                  "fm_total": signed_cents(sum(report.gross.values()), 12)}
        for letter in d.LATIN:
            cents = report.gross.get(letter, 0)
            values[f"tot_{letter}"] = money(cents) if self.dialect.x else signed_cents(cents, 12)
            values[f"stor_{letter}"] = money(0)
        return self.layout("report", values)

    async def _cash(self, text: str) -> Reply:
        if self.dialect.x:
            f = self._x_fields(text, 1)
            kind = f[0]
            if kind not in ("0", "1", "2", "3"):  # [X] p.19
                raise Syntax("Type 0..3")
            amount = parse_amount(f[1]) if len(f) > 1 and f[1] else 0
            if amount < 0:
                raise Syntax("Amount")
            if kind in ("2", "3") and amount:
                raise Refusal(Rule.NOT_PERMITTED, "no foreign currency is programmed")
            cash, cash_in, cash_out = await self.rules.cash(-amount if kind in ("1", "3") else amount)
            return [money(cash), money(cash_in), money(cash_out)]
        signed = self._old_amount(text) if text else 0
        try:
            cash, cash_in, cash_out = await self.rules.cash(signed)
        except Refusal as exc:
            if exc.rule not in (Rule.NO_CASH, Rule.RECEIPT_OPEN, Rule.NON_FISCAL_OPEN):
                raise
            cash, cash_in, cash_out = self.rules.drawer()
            return ["F", str(cash), str(cash_in), str(cash_out)]  # [P] p.23: F, refused
        return ["P", str(cash), str(cash_in), str(cash_out)]  # in stotinki/bani (evidence 4)

    async def _status_read(self, text: str) -> Reply:
        if self.dialect.x:  # [X] p.20: the status bytes as data too
            return self._encode("0\t") + self.status() + b"\t"
        if text not in ("", "W", "X"):
            raise Refusal(Rule.NOT_PERMITTED, "74 options L, P, R are not emulated")
        return self.status()  # [P] p.24: <S0>..<S5>

    async def _check(self, text: str) -> Reply:
        return []

    async def _diagnostic(self, text: str) -> Reply:
        if text.startswith("*"):
            text = text[1:]
        checksum = "A1B2" if text.strip("\t") == "1" else "FFFF"
        values = {"name": f"{self.model.name}", "fw_rev": f"{self.dialect.fw_rev}{self.dialect.country}"[:6],
                  "fw_date": "01Dec26", "fw_time": "1200", "checksum": checksum, "sw": "00000000",
                  "serial": self.serial, "fm_number": self.fm_number,
                  "fw": f"{self.dialect.fw_rev}{self.dialect.country} 01Dec26 1200",
                  "name_fw": f"{self.model.name} {self.dialect.fw_rev}{self.dialect.country} 01Dec26 1200"}
        if self.dialect.x and "\t" not in text:
            # [X] p.24 Syntax 2 (no TAB): comma/space fields and no error code (what ErpNet.FP parses)
            if text not in ("", "1"):
                raise Syntax("90: '' or '1'")
            return self._encode(f"{values['name']},{values['fw_rev']} {values['fw_date']} {values['fw_time']},"
                                f"{checksum},{values['sw']},{self.serial},{self.fm_number}")
        if self.dialect.x and text not in ("\t", "1\t"):
            raise Syntax("90: '' or '1'")
        return self.layout("diagnostic", values)

    async def _vat_rates(self, text: str) -> Reply:
        rates = self.rules.vat_rates
        if self.dialect.x:
            values = {"nzrep": "1", "date": self.rules.now().strftime("%d-%m-%y")}
            for letter in d.LATIN:
                values[f"rate_{letter}"] = money(rates[letter]) if letter in rates else "100.00"  # disabled [X] p.10
            return self.layout("vat_rates", values)
        return [money(rates[letter]) if letter in rates else "DT" for letter in d.LATIN]  # [P] p.30

    async def _last_fiscal(self, text: str) -> Reply:
        book = self.rules.book
        state = self.register.state
        when = dt.datetime.fromisoformat(book.last_z_at) if book.last_z_at else self.rules.now()
        if not self.dialect.x and not state.z_number:
            return ["F"]
        values = {"ok": "P", "nrep": str(state.z_number), "sinv_total": money(book.last_z_sinv.total),
                  "sinv_vat": money(book.last_z_sinv.vat), "sinv_count": str(book.last_z_sinv.count),
                  "date": when.strftime("%d-%m-%y" if self.dialect.x else "%d%m%y")}
        for letter in d.LATIN:
            cents = book.last_z_vat.get(letter, 0)
            values[f"sum_{letter}"] = money(cents) if self.dialect.x else signed_cents(cents, 12)
        return self.layout("last_fiscal", values)

    async def _last_fiscal_date(self, text: str) -> Reply:
        book = self.rules.book
        when = dt.datetime.fromisoformat(book.last_z_at) if book.last_z_at else self.rules.now()  # UNVERIFIED
        if self.dialect.x or text == "T":  # [X] p.22; old with T [P] p.27
            return [when.strftime("%d-%m-%Y %H:%M:%S")]
        return [when.strftime("%d-%m-%Y")]

    async def _last_document(self, text: str) -> Reply:
        return [f"{self.rules.document_number:07d}"]  # [C] p.27: 7 digits, global

    async def _tax_number(self, text: str) -> Reply:
        tax = "RO18547290" if self.dialect.country == "RO" else "BG175074752"
        return [tax] if self.dialect.x else [tax, "ЕИК"]  # [P] p.30: <Text>,<Name>

    def _datetime_text(self) -> str:
        stamp = self.rules.now().timestamp()
        text = dt.datetime.fromtimestamp(stamp).strftime("%d-%m-%y %H:%M:%S")  # the local wall clock then
        if self.dialect.x and time.localtime(stamp).tm_isdst > 0:  # [X] p.5, 16: " DST" in summer
            text += " DST"
        return text

    async def _get_datetime(self, text: str) -> Reply:
        return [self._datetime_text()]

    async def _set_datetime(self, text: str) -> Reply:
        value = self._x_fields(text, 1)[0] if self.dialect.x else text
        value = value.removesuffix(" DST")
        for fmt in ("%d-%m-%y %H:%M:%S", "%d-%m-%y %H:%M"):
            try:
                when = dt.datetime.strptime(value, fmt).astimezone()
                break
            except ValueError:
                continue
        else:
            raise Syntax("DD-MM-YY hh:mm[:ss]")
        await self.rules.set_datetime(when)
        return []

    async def _set_password(self, text: str) -> Reply:
        f = self._x_fields(text, 3) if self.dialect.x else text.split(",")
        if len(f) < 3 or not f[0].isdigit() or not all(p.isdigit() and 1 <= len(p) <= 8 for p in f[1:3]):
            raise Syntax("OpCode, OldPwd, NewPwd")
        op = int(f[0])
        if f[1] != self.rules.password(op):
            raise Refusal(Rule.WRONG_PASSWORD)
        self.rules.book.passwords[str(op)] = f[2]
        self.rules.save()
        return []

    async def _programming(self, text: str) -> Reply:
        """X 255 ``Name⇥Index⇥Value⇥``: a blank Value reads the variable, else programs it ([X] p.39-45). The
        variables a host needs are kept: PrintColumns, Header[0..9], Footer[0..9], OperName[0..29], and the
        read-only counters; any other name is a syntax error here (UNVERIFIED)."""
        f = self._x_fields(text, 1)
        name, index, value = f[0], (f[1] if len(f) > 1 else "") or "0", f[2] if len(f) > 2 else ""
        if not index.isdigit():
            raise Syntax("Index")
        state = self.register.state
        counters = {"nZreport": state.z_number, "nBon": state.document_number, "nFBon": state.receipt_number,
                    "nLastFiscalDoc": state.receipt_number, "nFBonDailyCount": self.rules.receipts_since_z,
                    "DecimalPoint": 2, "Fiscalized": 1, "DFR_needed": int(state.day_opened_at is not None)}
        settings = self.rules.book.settings
        lines = {"Header": 10, "Footer": 10, "OperName": 30}
        if name in counters:
            if value:
                raise Refusal(Rule.NOT_PERMITTED, f"{name} is read-only")
            return [str(counters[name])]
        if name == "PrintColumns":
            if not value:
                return [str(self.columns)]
            if not value.isdigit() or int(value) not in self.model.column_choices:
                raise Syntax(f"PrintColumns {value!r} on {self.model.name}")
            if self.rules.open is not None or self.rules.non_fiscal_open:
                raise Refusal(Rule.RECEIPT_OPEN)
            settings["PrintColumns"] = value
        elif name in lines:
            if int(index) >= lines[name]:
                raise Syntax(f"{name} index 0..{lines[name] - 1}")
            key = f"{name}[{int(index)}]"
            if not value:
                return [settings.get(key, "")]
            if len(value) > (32 if name == "OperName" else self.columns):
                raise Syntax(f"{name}: too long")
            settings[key] = value
        else:
            raise Syntax(f"variable {name!r}")
        self.rules.save()
        return []

    async def _header_footer(self, text: str) -> Reply:
        """Old 43 ``<Item><Text>``: items 0-5 are the HEADER lines, 6-7 the FOOTER ([P] p.14, [C] p.7); the
        print options (other items) are not emulated and refused as a syntax error (UNVERIFIED)."""
        if not text or text[0] not in "01234567":
            raise Syntax("43: only the HEADER/FOOTER lines 0..7 are emulated")
        line = int(text[0])
        key = f"Header[{line}]" if line < 6 else f"Footer[{line - 6}]"
        self.rules.book.settings[key] = text[1:][:self.columns]
        self.rules.save()
        return []

    async def _drawer(self, text: str) -> Reply:
        await self.rules.run("open_drawer")
        return []

    async def _duplicate(self, text: str) -> Reply:
        if not self.dialect.x and text not in ("", "1"):
            raise Syntax("109: only 1 copy")  # [P] p.34
        await self.rules.duplicate()
        return []

    async def _fm_by_date(self, text: str) -> Reply:
        if self.dialect.x:
            f = self._x_fields(text, 2)
            start, end = (f[1], f[2] if len(f) > 2 else f[1])
            fmt = "%d-%m-%y"
        else:
            start, _, end = text.partition(",")
            fmt = "%d%m%y"
        try:
            first, last = dt.datetime.strptime(start, fmt).date(), dt.datetime.strptime(end or start, fmt).date()
        except ValueError:
            raise Syntax("dates") from None
        self.rules.printable()
        await self.rules.run("periodic_report", {"from": first.isoformat(), "to": last.isoformat()})
        return []

    async def _fm_by_number(self, text: str) -> Reply:
        f = self._x_fields(text, 2)[1:] if self.dialect.x else text.split(",")
        if not all(x.isdigit() for x in f[:2]) or not f:
            raise Syntax("Z numbers")
        self.rules.printable()
        await self.rules.run("periodic_report", {"from_z": int(f[0]), "to_z": int(f[1] if len(f) > 1 else f[0])})
        return []
