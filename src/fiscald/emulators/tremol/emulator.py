"""A Tremol (ZFP) register on the wire, as Tremol's protocol description and third-party clients describe it
(never as our driver assumes): the dialect tables in dialects.py, the receipt rules in emulators/rules.py, the
framing in drivers/zfp/framing.py.

[D] = protocol_description_BG_1910211454 (pages as printed), [E] = ErpNet.FP's ZFP driver, [T] =
shared/spec/tremol.md ("Real answers and third-party quirks"). On the wire:

- one host at a time: while one is connected, a second connection's pings are answered 60h [D p.8];
- started with a password (LAN), the host must first send it followed by LF [D p.6]; until then pings are
  answered 50h, after a wrong one 70h [D p.8]. ErpNet.FP sends none [T], so by default there is no step;
- 04h -> 04h; 09h -> 40h ready, or with the busy / no paper bits [D p.8];
- a damaged frame -> NACK; a frame while the previous command runs -> RETRY, and RETRY is repeated every
  ``RETRY_EVERY_S`` while a command runs (a Z report runs ``Z_BUSY_S`` at least) [D p.8];
- a command without an answer gets an ACK whose two status bytes say why it was refused (or "00") [D p.7];
  a query is answered with a data frame of the request's layout and number [D p.8];
- the message number is not used to suppress repeats: the description does not promise it [T §3.2];
- power lost with a receipt open (the emulator restarted, or ``"power_loss": true`` on /simulate) is reported
  once, as STE1 3Dh on the next acknowledgement, and as status bit 0.1 until 20h is read [D p.7, p.10].
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import os
import re
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from fiscald.drivers.zfp import framing as z
from fiscald.drivers.zfp.framing import CommandError as C
from fiscald.drivers.zfp.framing import FdError as F
from fiscald.emulators import rules
from fiscald.emulators.link import Read, Write
from fiscald.emulators.rules import Refusal, Rule
from fiscald.emulators.tremol.dialects import Model
from fiscald.emulators.wire import FaultAt, LineStats, WireState, line_controls, money, register_in
from fiscald.errors import Code, FiscalError
from fiscald.models.simulate import parse_simulate

RETRY_EVERY_S = 0.1  # [ours]: the description says RETRY is sent while busy, not how often
Z_BUSY_S = 0.3  # [ours]: a Z report keeps the register busy at least this long (a RETRY storm)
PREVIOUS_HOST_S = 0.2  # [ours]: how long a new connection waits for the previous one to end before it is a second
FACTORY_PASSWORD = "0000"  # [E] Operator.Password default; the description asks for 6 symbols [D p.39]
LATIN = "ABCDEFGH"  # our VAT letters, class 0 first
USN = re.compile(r"[A-Za-z0-9]{8}-[A-Za-z0-9]{4}-[0-9]{7}")  # [D p.39]
Ste = tuple[int, int]
Reply = bytes | Ste  # a data frame's payload, or an acknowledgement's two status bytes

# rule -> (STE1, STE2). STE1 names the register's condition that made the command illegal [D p.8: "Error 32 -
# Illegal command due to clock failure"]; None: the open receipt's stage (open, payment residue, paid but not
# closed). A refusal caused by the request itself carries STE1 30h.
RULES: dict[Rule, tuple[int | None, int]] = {
    Rule.SYNTAX: (F.OK, C.SYNTAX),
    Rule.NOT_PERMITTED: (None, C.ILLEGAL),
    Rule.RECEIPT_OPEN: (None, C.ILLEGAL),
    Rule.RECEIPT_CLOSED: (F.OK, C.ILLEGAL),
    Rule.NON_FISCAL_OPEN: (F.NON_FISCAL_OPEN, C.ILLEGAL),
    Rule.PAYMENT_STARTED: (None, C.ILLEGAL),
    Rule.NOT_PAID: (F.PAYMENT_RESIDUE, C.ILLEGAL),
    Rule.NO_SALES: (F.OK, C.ZERO_INPUT),
    Rule.DAY_OVER: (F.DAY_BLOCKED, C.ILLEGAL),
    Rule.FM_FULL: (F.FM_FAILURE, C.ILLEGAL),  # UNVERIFIED: the table has no "FM full" FD error
    Rule.PAPER_OUT: (F.PAPER, C.ILLEGAL),
    Rule.COVER_OPEN: (F.PAPER, C.ILLEGAL),  # "out of paper, printer failure"
    Rule.WRONG_PASSWORD: (F.WRONG_PASSWORD, C.ILLEGAL),
    Rule.LOCKED: (F.WRONG_PASSWORD, C.ILLEGAL),
    Rule.NO_CASH: (F.OK, C.NO_CASH),
    Rule.TOO_MANY_SALES: (F.REGISTERS_OVERFLOW, C.ILLEGAL),
    Rule.OVERFLOW: (F.OK, C.INPUT_OVERFLOW),
    Rule.FORBIDDEN_PAYMENT: (F.OK, C.ILLEGAL),
    Rule.WRONG_DATETIME: (F.CLOCK, C.ILLEGAL),
}
FAULT_FD = {"paper_out": F.PAPER, "cover_open": F.PAPER}


class Syntax(Exception):
    """The request does not parse: STE2 34h."""


class Illegal(Exception):
    """STE2 32h for the request itself (STE1 30h)."""


class ZNotZeroed(Exception):
    """STE2 33h, "Z daily report is not zero"."""


@dataclass
class ZfpState:
    """What the emulator keeps beside the rules' book (``tremol-state.json``)."""
    power_down: bool = False  # power lost with a receipt open, not yet reported
    last_at: str | None = None  # when the last fiscal receipt was closed
    day_payments: dict[str, int] = field(default_factory=dict)  # payment type -> cents since the last Z
    receipt: dict[str, str] = field(default_factory=dict)  # the open receipt's format, VAT and print type
    last_payments: dict[str, int] = field(default_factory=dict)  # the last receipt's payments per type (72h P)


def decimal(text: str, places: int) -> int:
    """``"-12.34"`` -> -1234 (places 2); a sign or a space may lead [D p.9]."""
    text = text.strip()
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise Syntax(f"number {text!r}") from None
    if not value.is_finite() or "e" in text.lower() or value != value.quantize(Decimal(1).scaleb(-places)):
        raise Syntax(f"number {text!r}")
    return int(value.scaleb(places))


class TremolEmulator:
    def __init__(self, model: Model, data_dir: Path, password: str | None = None) -> None:
        self.model = model
        self.dialect = model.dialect
        self.password = password
        rates = {LATIN[i]: rate for i, rate in enumerate(self.dialect.vat_rates)}
        self.db, self.device_id, self.register = register_in(data_dir, f"Tremol {model.name}", rates)
        self.rules = rules.FiscalRules(self.register, data_dir, factory_password=FACTORY_PASSWORD, lock_after=None,
                                       max_sales=999)  # 72h SalesNumber[3] [D p.72]
        self.path = data_dir / "tremol-state.json"
        self.state = ZfpState(**json.loads(self.path.read_text("utf-8"))) if self.path.exists() else ZfpState()
        digits = int(hashlib.sha256(self.device_id.encode()).hexdigest(), 16)
        self.serial = f"ZK{digits % 1_000_000:06d}"  # [T]: ZK and six digits
        self.fm_number = f"{digits // 1_000_000 % 100_000_000:08d}"  # [D p.25] FMNumber[8]
        self.wire = WireState()
        self.fault_at: FaultAt | None = None
        self.stats = LineStats()
        self.frames = 0
        self.executing: int | None = None
        self.connected = False
        self._job: asyncio.Task[None] | None = None
        self._handlers: dict[int, Callable[[bytes], Awaitable[Reply]]] = {
            0x20: self._status, 0x21: self._version, 0x29: self._printing, 0x2A: self._drawer,
            0x2B: self._printing, 0x2E: self._open_non_fiscal, 0x2F: self._close_non_fiscal,
            0x30: self._open_receipt, 0x31: self._sale_vat, 0x33: self._subtotal, 0x34: self._sale_department,
            0x35: self._payment, 0x36: self._pay_close, 0x37: self._free_text, 0x38: self._close, 0x39: self._cancel,
            0x3A: self._duplicate, 0x3B: self._cash, 0x3E: self._discount, 0x48: self._set_datetime,
            0x60: self._numbers, 0x61: self._registration, 0x62: self._vat_rates, 0x64: self._payment_names,
            0x68: self._get_datetime, 0x6D: self._day_by_vat, 0x6E: self._registers, 0x71: self._receipt_counter,
            0x72: self._receipt_info, 0x73: self._last_z_info,
            0x78: self._fm_by_z, 0x79: self._fm_by_z, 0x7A: self._fm_by_date, 0x7B: self._fm_by_date,
            0x7C: self._daily_report,
        }

    @property
    def commands(self) -> frozenset[int]:
        return frozenset(self._handlers)

    async def start(self) -> None:
        await self.register.start()
        self.rules.recover()
        if self.rules.open is not None:  # started again with a receipt open: the power went [D p.7]
            self.state.power_down = True
            self.save()

    def close(self) -> None:
        self.db.close()

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self.state)), encoding="utf-8")
        os.replace(tmp, self.path)

    # -- control ----------------------------------------------------------------------------------
    async def control(self, body: Any) -> dict[str, Any]:
        """POST /simulate: /manage/simulate's body without device_id, plus ``"wire"`` and ``"power_loss"``."""
        if not isinstance(body, dict):
            raise FiscalError(Code.CONFIG, "body: expected a JSON object")
        body = dict(body)
        power_loss = body.pop("power_loss", None)
        if power_loss is not None and not isinstance(power_loss, bool):
            raise FiscalError(Code.CONFIG, "power_loss: expected true or false")
        self.fault_at = line_controls(body, self.wire, self.fault_at)
        simulation = await self.register.simulate(parse_simulate({**body, "device_id": self.device_id}))
        if power_loss and self.rules.open is not None:
            self.state.power_down = True
            self.save()
        state = self.register.state
        return {"simulation": simulation, "wire": asdict(self.wire), "stats": asdict(self.stats),
                "fault_at": None if self.fault_at is None else self.fault_at.model_dump(),
                "device": {"model": self.model.name, "dialect": self.dialect.name,
                           "receipt_open": self.rules.open is not None, "non_fiscal_open": self.rules.non_fiscal_open,
                           "receipt_number": state.receipt_number, "document_number": state.document_number,
                           "z_number": state.z_number, "frames": self.frames, "executing": self.executing,
                           "power_down": self.state.power_down, "connected": self.connected,
                           "last_payment_codes": list(self.rules.book.last.codes)}}

    # -- the line ---------------------------------------------------------------------------------
    async def _send(self, write: Write, data: bytes) -> None:
        self.stats.bytes_out += len(data)
        await write(data)

    def _ping(self) -> int:
        fault = self.register.simulation.fault
        busy = (self._job is not None and not self._job.done()) or fault == "busy"
        return z.ping_answer(busy=busy, no_paper=fault == "paper_out")

    async def serve(self, read: Read, write: Write) -> None:
        """One host connection until it goes away (``read`` returns b""). A second one meanwhile is told 60h; a
        host that reconnects right after hanging up finds its old connection ended (as a register sees the close
        arrive before the new connection), not a second host: the previous one has ``PREVIOUS_HOST_S`` to end."""
        loop = asyncio.get_running_loop()
        ends = loop.time() + PREVIOUS_HOST_S
        while self.connected and loop.time() < ends:
            await asyncio.sleep(0.01)
        if self.connected:
            while chunk := await read():
                if z.PING in chunk:
                    await self._send(write, bytes((z.Ping.OTHER_CONNECTION,)))
            return
        self.connected = True
        try:
            await self._session(read, write)
        finally:
            if self._job is not None:
                await self._job  # the register finishes what it started
            self.connected = False

    async def _session(self, read: Read, write: Write) -> None:
        decoder = z.Decoder(replies=False)
        waiting = self.password is not None  # [D p.6]: the password and LF first (LAN)
        wrong = False
        typed = bytearray()
        while True:
            try:
                chunk = await asyncio.wait_for(read(), 0.5) if decoder.pending else await read()
            except TimeoutError:
                decoder.reset()  # a frame that never completed: forget it
                continue
            if not chunk:
                return
            if self.register.simulation.fault == "disconnected":
                continue  # the cable is out: nothing answers
            self.stats.bytes_in += len(chunk)
            while waiting and chunk:
                b, chunk = chunk[0], chunk[1:]
                if b == z.PING:
                    await self._send(write, bytes((z.Ping.WRONG_PASSWORD if wrong else z.Ping.WAITING_FOR_PASSWORD,)))
                elif b == z.ETX:
                    waiting = typed.decode("latin-1") != self.password
                    wrong = waiting
                    typed.clear()
                elif len(typed) < 64:
                    typed.append(b)
            for event in decoder.feed(chunk):
                await self._event(event, write)

    async def _event(self, event: z.Event, write: Write) -> None:
        if isinstance(event, z.Byte):
            if event.value == z.ON:
                await self._send(write, bytes((z.ON,)))  # [D p.8]: "FD is on"
            elif event.value == z.PING:
                await self._send(write, bytes((self._ping(),)))
        elif isinstance(event, z.GsQuery):
            await self._send(write, self._gs(event.option))
        elif isinstance(event, z.BadFrame):
            await self._send(write, bytes((z.NACK,)))
        elif isinstance(event, z.Frame):
            if self._job is not None and not self._job.done():
                await self._send(write, bytes((z.RETRY,)))  # busy with the previous command [D p.8]
            else:
                self._job = asyncio.create_task(self._answer(event, write))

    async def _answer(self, frame: z.Frame, write: Write) -> None:
        wire = self.wire
        if wire.nak_frames:
            wire.nak_frames -= 1
            await self._send(write, bytes((z.NACK,)))
            return
        if wire.drop_replies and wire.from_command is not None and frame.cmd == wire.from_command:
            wire.from_command = None  # armed: this frame and the next ones lose their replies
        if self.fault_at is not None:
            self.fault_at, fault = self.fault_at.arrived(frame.cmd)
            if fault is not None:  # e.g. the paper runs out as this command arrives, before it executes
                await self.register.simulate(parse_simulate({"device_id": self.device_id, "fault": fault}))
        self.executing = frame.cmd
        loop = asyncio.get_running_loop()
        started = loop.time()
        job = asyncio.create_task(self.execute(frame.cmd, frame.data))
        busy_s = wire.busy_ms / 1000 + (Z_BUSY_S if frame.cmd == 0x7C and frame.data[:1] == b"Z" else 0)
        wire.busy_ms = 0
        while True:
            done, _ = await asyncio.wait({job}, timeout=RETRY_EVERY_S)
            if done and loop.time() - started >= busy_s:
                break
            await self._send(write, bytes((z.RETRY,)))
        result = job.result()
        self.stats.device_s += loop.time() - started
        self.executing = None
        self.frames += 1
        reply = z.frame(frame.number, frame.cmd, result) if isinstance(result, bytes) else z.ack(frame.number, *result)
        if wire.drop_replies and wire.from_command is None:
            wire.drop_replies -= 1
            return
        if wire.corrupt_replies:
            wire.corrupt_replies -= 1
            damaged = bytearray(reply)
            damaged[-2] ^= 0x01  # a checksum byte: the host sees a damaged reply
            reply = bytes(damaged)
        await self._send(write, reply)

    # -- executing a command ------------------------------------------------------------------------
    def _condition(self) -> int:
        """STE1 for the register's state: a fault, the open receipt's stage, a non-fiscal receipt, or OK."""
        fault = FAULT_FD.get(self.register.simulation.fault or "")
        if fault is not None:
            return fault
        receipt = self.rules.open
        if receipt is not None:
            if receipt.payments:
                return F.PAYMENT_RESIDUE if receipt.paid < self.rules.totals(receipt)[0] else F.PAID_NOT_CLOSED
            return F.RECEIPT_OPEN
        if self.rules.non_fiscal_open:
            return F.NON_FISCAL_OPEN
        return F.OK

    async def execute(self, cmd: int, data: bytes) -> Reply:
        handler = self._handlers.get(cmd)
        try:
            if handler is None:
                result: Reply = (F.OK, C.INVALID)
            else:
                result = await handler(data)
        except Syntax:
            result = (F.OK, C.SYNTAX)
        except ZNotZeroed:
            result = (F.OK, C.Z_NOT_ZEROED)
        except Illegal:
            result = (F.OK, C.ILLEGAL)
        except FiscalError:  # the books refused in a way no rule names: illegal, nothing booked
            result = (self._condition(), C.ILLEGAL)
        except Refusal as exc:
            fd, command = RULES[exc.rule]
            result = (fd if fd is not None else self._condition(), command)
        if isinstance(result, tuple) and self.state.power_down and cmd != 0x20:
            self.state.power_down = False  # reported once [D p.7]
            self.save()
            result = (F.POWER_DOWN_IN_RECEIPT, result[1])
        return result

    def _text(self, data: bytes) -> str:
        try:
            return data.decode(self.dialect.codepage)
        except UnicodeDecodeError:
            raise Syntax("text") from None

    def _fields(self, data: bytes, least: int, most: int | None = None) -> list[str]:
        fields = self._text(data).split(";")
        if len(fields) < least or (most is not None and len(fields) > most):
            raise Syntax(f"{least}..{most} fields")
        return fields

    def _encode(self, text: str) -> bytes:
        for comma_below, cedilla in self.dialect.diacritics:
            text = text.replace(comma_below, cedilla)
        return text.encode(self.dialect.codepage, errors="replace")

    def _login(self, operator: str, password: str) -> tuple[int, str]:
        """The operator (1..N) and the password to check: 4 symbols as ErpNet.FP sends them or the
        description's 6 are the same password [T]."""
        if not operator.isdigit() or not 1 <= int(operator) <= self.dialect.operators:
            raise Syntax("OperNum")
        if not 1 <= len(password) <= 6:
            raise Syntax("OperPass")
        number = int(operator)
        stored = self.rules.password(number)
        return number, stored if password.zfill(6) == stored.zfill(6) else password

    # -- receipts -------------------------------------------------------------------------------------
    async def _open_receipt(self, data: bytes) -> Reply:
        """30h ``Op;Pass;Format;VAT;PrintType[$USN]`` [D p.39]: print types 0 step, 2 postponed, 4 buffered,
        8 electronic. Storno (@, B, D [D p.40]) and invoices are not emulated: invalid command."""
        f = self._fields(data, 5)
        kind, _, usn = f[4].partition("$")
        if kind in ("@", "B", "D") or len(f) > 5:
            return F.OK, C.INVALID
        if f[2] not in ("0", "1") or f[3] not in ("0", "1") or kind not in ("0", "2", "4", "8"):
            raise Syntax("ReceiptFormat, PrintVAT, FiscalRcpPrintType")
        if usn and not USN.fullmatch(usn):
            raise Syntax("UniqueReceiptNumber")
        operator, password = self._login(f[0], f[1])
        self.rules.open_receipt(operator, password)
        self.state.receipt = {"format": f[2], "vat": f[3], "print": kind}
        self.save()
        return F.OK, C.OK

    def _modifiers(self, text: str) -> tuple[str, int, dict[str, Any] | None]:
        """``Price{*Qty}{,Perc}{:Value}`` -> price text, quantity (thousandths), discount [D p.47]."""
        discount: dict[str, Any] | None = None
        for sep, kind in ((":", "amount"), (",", "percent")):
            if sep in text:
                text, _, value = text.partition(sep)
                cents = decimal(value, 2)
                if cents == 0:
                    raise Syntax("discount 0")
                key = "amount_cents" if kind == "amount" else "basis_points"
                if discount is not None:
                    raise Syntax("one discount")
                discount = {"kind": kind, key: abs(cents), "is_surcharge": cents > 0}
        price, star, qty = text.partition("*")
        quantity = decimal(qty, 3) if star else 1000
        if quantity <= 0:
            raise Syntax("Quantity")
        return price, quantity, discount

    def _vat_letter(self, byte: int) -> str:
        text = bytes((byte,)).decode(self.dialect.codepage, errors="replace")
        if text == "*":
            raise Illegal("VAT class forbidden")
        index = self.dialect.vat_letters.find(text)
        if index < 0:
            raise Syntax(f"OptionVATClass {text!r}")
        return LATIN[index]

    async def _sale_vat(self, data: bytes) -> Reply:
        return self._sale(data, by_department=False)

    async def _sale_department(self, data: bytes) -> Reply:
        return self._sale(data, by_department=True)

    def _sale(self, data: bytes, by_department: bool) -> Reply:
        """31h ``Name[36];VAT;Price...{!Dep}`` [D p.47-49] and 34h ``Name[36];Dep;Price...{!VAT}`` [D p.51-52],
        the department one raw byte dep + 80h. The name must be padded to 36 or it is a syntax error [E]
        BgZfpFiscalPrinter.Commands.cs:32-35."""
        width = self.model.item_name
        if len(data) < width + 4 or data[width] != 0x3B or data[width + 2] != 0x3B:
            raise Syntax("NamePLU[36];")
        name = self._text(data[:width]).rstrip()
        selector, rest = data[width + 1], data[width + 3:]
        rest, bang, tail = rest.partition(b"!")
        if bang and len(tail) != 1:
            raise Syntax("one byte after '!'")
        department: int | None = None
        if by_department:
            department = selector - 0x80
            letter = self._vat_letter(tail[0]) if bang else LATIN[self.dialect.department_class]
        else:
            letter = self._vat_letter(selector) if selector != 0x20 else LATIN[self.dialect.department_class]
            if bang:
                department = tail[0] - 0x80
            elif selector == 0x20:
                raise Syntax("a department after '!'")  # [D p.48]: reserved ' ' goes with !DepNum
        if department is not None and not 1 <= department <= 19:  # Dep01 = 81h .. Dep19 = 93h [D p.48]
            raise Syntax("DepNum")
        price_text, quantity, discount = self._modifiers(self._text(rest))
        price = decimal(price_text, 2)
        if price < 0 and discount is not None:
            raise Syntax("no discount on a correction")  # [D p.51]
        if not name:
            raise Syntax("NamePLU")
        line: dict[str, Any] = {"type": "item", "description": name[:self.model.item_printed],
                                "quantity_thousandths": -quantity if price < 0 else quantity,
                                "unit_price_cents": abs(price), "vat": letter}
        if discount is not None:
            line["discount"] = discount
        if department is not None:
            line["department"] = department
        self.rules.sell(line)
        return F.OK, C.OK

    def _subtotal_discount(self, text: str) -> dict[str, Any] | None:
        discount: dict[str, Any] | None = None
        text, colon, value = text.partition(":")
        percent = ""
        if colon:
            value, _, percent = value.partition(",")
        else:
            text, _, percent = text.partition(",")
        for raw, kind, key in ((value, "amount", "amount_cents"), (percent, "percent", "basis_points")):
            if raw:
                if discount is not None:
                    raise Syntax("one discount")
                cents = decimal(raw, 2)
                if cents == 0:
                    raise Syntax("discount 0")
                discount = {"kind": kind, key: abs(cents), "is_surcharge": cents > 0}
        if text not in ("",):
            raise Syntax("subtotal options")
        if discount is not None and discount["kind"] == "amount":
            receipt = self.rules.open
            if receipt is not None and len(self.rules.totals(receipt)[1]) > 1:
                # [D p.50]: a value discount only when every sale is of one VAT group
                raise Illegal("value discount over several VAT groups")
        return discount

    async def _subtotal(self, data: bytes) -> Reply:
        """33h ``Print;Display{:Value}{,Perc}`` -> SubtotalValue [D p.50]."""
        text = self._text(data)
        if len(text) < 3 or text[0] not in "01" or text[1] != ";" or text[2] not in "01":
            raise Syntax("OptionPrinting;OptionDisplay")
        total, _ = self.rules.subtotal(self._subtotal_discount(text[3:]))
        return money(total).encode()

    async def _discount(self, data: bytes) -> Reply:
        """3Eh ``Type;Subtotal{:Value}{,Perc}`` [D p.56]: type 1 (over the subtotal) is emulated; 0 (over the
        last sale) and 2 (defined by the device) are refused as illegal (UNVERIFIED)."""
        text = self._text(data)
        if len(text) < 3 or text[0] not in "012" or text[1] != ";" or text[2] not in "01":
            raise Syntax("Type;OptionSubtotal")
        if text[0] != "1":
            raise Illegal("discount type not emulated")
        discount = self._subtotal_discount(text[3:])
        if discount is None:
            raise Syntax("a discount value")
        self.rules.subtotal(discount)
        return F.OK, C.OK

    async def _payment(self, data: bytes) -> Reply:
        """35h ``Type;Change;Amount[;ChangeType]`` [D p.53]; ``Type;0;"`` pays the exact sum [D p.54]. ErpNet.FP
        ends the amount with ``*`` [T]: accepted."""
        f = self._fields(data, 3, 4)
        if not f[0].isdigit() or int(f[0]) >= len(self.dialect.payments) or f[0] != str(int(f[0])):
            raise Syntax("PaymentType")
        if f[1] not in ("0", "1") or (len(f) == 4 and f[3] not in ("0", "1", "2")):
            raise Syntax("OptionChange")
        amount: int | None
        if f[2] == '"':
            if f[1] != "0":
                raise Syntax("Option 0 for the exact sum")
            amount = None
        else:
            amount = decimal(f[2].removesuffix("*"), 2)
            if amount <= 0:
                raise Syntax("Amount")
        receipt = self.rules.open
        if receipt is not None and receipt.payments and receipt.paid >= self.rules.totals(receipt)[0]:
            raise Refusal(Rule.NOT_PERMITTED, "the payment is finished")  # [D p.53]: the FD quits the procedure
        self.rules.pay(self.dialect.payments[int(f[0])], f[0], amount)
        return F.OK, C.OK

    async def _close_fiscal(self) -> None:
        receipt = self.rules.open
        assert receipt is not None
        total = self.rules.totals(receipt)[0] if receipt.items else 0
        payments = list(zip(receipt.codes, receipt.payments, strict=True))
        await self.rules.close()
        change = receipt.paid - total
        self.state.last_payments = {}
        for code, payment in payments:
            self.state.last_payments[code] = self.state.last_payments.get(code, 0) + int(payment["amount_cents"])
            self.state.day_payments[code] = self.state.day_payments.get(code, 0) + int(payment["amount_cents"])
        if change > 0:  # the change is given in cash
            self.state.day_payments["0"] = self.state.day_payments.get("0", 0) - change
        self.state.last_at = self.rules.now().isoformat()
        self.state.receipt = {}
        self.save()

    async def _close(self, data: bytes) -> Reply:
        """38h closes the fiscal receipt, or a non-fiscal one [D p.54]."""
        if self.rules.open is None and self.rules.non_fiscal_open:
            await self.rules.close_non_fiscal()
            return F.OK, C.OK
        if self.rules.open is None:
            raise Refusal(Rule.RECEIPT_CLOSED)
        await self._close_fiscal()
        return F.OK, C.OK

    async def _pay_close(self, data: bytes) -> Reply:
        """36h pays the exact sum in cash and closes [D p.54]."""
        receipt = self.rules.open
        if receipt is None:
            raise Refusal(Rule.RECEIPT_CLOSED)
        if not receipt.payments or receipt.paid < self.rules.totals(receipt)[0]:
            self.rules.pay(self.dialect.payments[0], "0", None)
        await self._close_fiscal()
        return F.OK, C.OK

    async def _cancel(self, data: bytes) -> Reply:
        """39h voids the receipt; "if payment is started, then finish payment and close" [D p.55] (the rest in
        cash: UNVERIFIED)."""
        receipt = self.rules.open
        if receipt is None:
            raise Refusal(Rule.RECEIPT_CLOSED)
        if receipt.payments:
            if receipt.paid < self.rules.totals(receipt)[0]:
                self.rules.pay(self.dialect.payments[0], "0", None)
            await self._close_fiscal()
        else:
            await self.rules.cancel()
            self.state.receipt = {}
            self.save()
        return F.OK, C.OK

    async def _free_text(self, data: bytes) -> Reply:
        """37h ``Text[TextLength-2]`` in any open receipt [D p.54]."""
        text = self._text(data)
        if len(text) > self.model.columns - 2:
            raise Syntax("Text longer than TextLength-2")
        if self.rules.open is not None:
            self.rules.text(text)
        elif self.rules.non_fiscal_open:
            self.rules.non_fiscal_text(text)
        else:
            raise Refusal(Rule.RECEIPT_CLOSED)
        return F.OK, C.OK

    async def _open_non_fiscal(self, data: bytes) -> Reply:
        """2Eh ``Op;Pass{;0;PrintType}`` [D p.38]."""
        f = self._fields(data, 2, 4)
        if len(f) == 3 or (len(f) == 4 and (f[2] != "0" or f[3] not in ("0", "1"))):
            raise Syntax("Reserved 0;NonFiscalPrintType")
        operator, password = self._login(f[0], f[1])
        if password != self.rules.password(operator):
            raise Refusal(Rule.WRONG_PASSWORD)
        self.rules.open_non_fiscal()
        return F.OK, C.OK

    async def _close_non_fiscal(self, data: bytes) -> Reply:
        await self.rules.close_non_fiscal()
        return F.OK, C.OK

    async def _duplicate(self, data: bytes) -> Reply:
        await self.rules.duplicate()  # [D p.55]: when the duplicate parameter is enabled (it is, here)
        return F.OK, C.OK

    async def _cash(self, data: bytes) -> Reply:
        """3Bh ``Op;Pass;0;Amount{$Print}{;Text}`` [D p.55]; a minus amount is paid out."""
        f = self._fields(data, 4, 5)
        if f[2] != "0":
            raise Syntax("reserved 0")
        operator, password = self._login(f[0], f[1])
        amount = decimal(f[3].partition("$")[0], 2)
        if amount == 0:
            raise Syntax("Amount")
        if password != self.rules.password(operator):
            raise Refusal(Rule.WRONG_PASSWORD)
        self.rules.printable()
        await self.rules.cash(amount)
        return F.OK, C.OK

    async def _drawer(self, data: bytes) -> Reply:
        await self.rules.run("open_drawer")
        return F.OK, C.OK

    async def _printing(self, data: bytes) -> Reply:
        """29h cut, 2Bh paper feed [D p.13]: nothing to book, but nothing without paper."""
        self.rules.printable()
        return F.OK, C.OK

    # -- reports --------------------------------------------------------------------------------------
    async def _daily_report(self, data: bytes) -> Reply:
        """7Ch ``X`` / ``Z`` [D p.80]; the Electronic Journal variants are not emulated (invalid)."""
        if data not in (b"X", b"Z"):
            return F.OK, C.INVALID
        await self.rules.report(data == b"Z")
        if data == b"Z":
            self.state.day_payments = {}
            self.save()
        return F.OK, C.OK

    async def _fm_by_z(self, data: bytes) -> Reply:
        """78h detailed / 79h brief FM report by Z numbers ``Start[4];End[4]{;P}`` [D p.78-79]."""
        f = self._fields(data, 2, 3)
        if not all(x.isdigit() and len(x) <= 4 for x in f[:2]) or f[2:] not in ([], ["P"]):
            raise Syntax("StartZNum;EndZNum")
        self.rules.printable()
        await self.rules.run("periodic_report", {"from_z": int(f[0]), "to_z": int(f[1])})
        return F.OK, C.OK

    async def _fm_by_date(self, data: bytes) -> Reply:
        """7Ah detailed / 7Bh brief FM report by date ``DDMMYY;DDMMYY{;P}`` [D p.79-80]."""
        f = self._fields(data, 2, 3)
        try:
            first, last = (dt.datetime.strptime(x, "%d%m%y").date() for x in f[:2])
        except ValueError:
            raise Syntax("DDMMYY") from None
        if f[2:] not in ([], ["P"]):
            raise Syntax("Option P")
        self.rules.printable()
        await self.rules.run("periodic_report", {"from": first.isoformat(), "to": last.isoformat()})
        return F.OK, C.OK

    # -- information ------------------------------------------------------------------------------------
    async def _status(self, data: bytes) -> Reply:
        """20h -> 7 status bytes, bit 7 always 1 [D p.10-11]; reading it ends the power-down report."""
        st = bytearray([0x80] * 7)
        fault = self.register.simulation.fault
        if self.state.power_down:
            st[0] |= 1 << 1
            self.state.power_down = False
            self.save()
        if fault == "paper_out":
            st[1] |= 1 << 0
        if self.rules.documents_since_z:
            st[1] |= 1 << 3  # daily report is not zeroed
        if self.rules.non_fiscal_open:
            st[2] |= 1 << 0
        if self.rules.open is not None:
            st[2] |= 1 << 1
            st[2] |= (self.state.receipt.get("format") == "1") << 2 | (self.state.receipt.get("vat") == "1") << 3
        if fault == "fiscal_memory_full":
            st[3] |= 1 << 2
        st[3] |= 1 << 4 | 1 << 5 | 1 << 6  # decimal point, fiscalised, FM produced
        return bytes(st)

    async def _version(self, data: bytes) -> Reply:
        """21h ``Type;Cert[6];CertDate;Model;Version`` [D p.12], ending with ``;`` as real answers do [T]."""
        m = self.model
        return self._encode(f"{m.device_type};784;04-02-2019 08:00;{m.model_text}; {m.version};")

    async def _numbers(self, data: bytes) -> Reply:
        return f"{self.serial};{self.fm_number}".encode()  # 60h [D p.25]

    async def _registration(self, data: bytes) -> Reply:
        """61h ``UIC[13];UICType;NRARegNum[6];NRARegDate`` [D p.25] (RO: the CIF; UNVERIFIED)."""
        uic = "18547290" if self.dialect.country == "RO" else "175074752"
        return f"{uic:<13};0;123456;01-01-2020 10:00".encode()

    async def _vat_rates(self, data: bytes) -> Reply:
        """62h: the rates ``##.##%`` per class [D p.25] (unused classes of a short table: 00.00%, UNVERIFIED)."""
        rates = self.rules.vat_rates
        return ";".join(f"{rates.get(LATIN[i], 0) // 100:02d}.{rates.get(LATIN[i], 0) % 100:02d}%"
                        for i in range(len(self.dialect.vat_letters))).encode()

    async def _payment_names(self, data: bytes) -> Reply:
        """64h: the payment names and the exchange rate [D p.26]; V2: five names, the rate, five codes
        (FFh = cash currency; 1 7, 2 1, 3 2 by default) [D p.27]."""
        names = [f"{kind.upper().replace('_', ' ')[:10]:<10}" for kind in self.dialect.payments]
        if self.dialect.old_commands:
            return self._encode(";".join([*names, "0000.00000"])) + b";\xff;7;1;2;\xff"
        return self._encode(";".join([*names, "0000.00000"]))

    async def _get_datetime(self, data: bytes) -> Reply:
        return self.rules.now().strftime("%d-%m-%Y %H:%M").encode()  # 68h [D p.30]

    async def _set_datetime(self, data: bytes) -> Reply:
        """48h ``DD-MM-YY HH:MM:SS`` [D p.18]. Moving the clock back with documents since the last Z:
        STE2 33h "Z daily report is not zero" (UNVERIFIED which commands the description means by it)."""
        try:
            when = dt.datetime.strptime(self._text(data), "%d-%m-%y %H:%M:%S").astimezone()
        except ValueError:
            raise Syntax("DD-MM-YY HH:MM:SS") from None
        if self.rules.documents_since_z and when < self.rules.now():
            raise ZNotZeroed
        await self.rules.set_datetime(when)
        return F.OK, C.OK

    async def _registers(self, data: bytes) -> Reply:
        """6Eh ``0`` -> ``0;`` and the amounts on hand per payment type [D p.60]; V2: types 0-4 [D p.60 KL].
        The other options are not emulated (invalid)."""
        if data != b"0":
            return F.OK, C.INVALID
        cash = self.register.state.cash_in_drawer_cents
        amounts = [cash if i == 0 else self.state.day_payments.get(str(i), 0)
                   for i in range(len(self.dialect.payments))]
        return ";".join(["0", *(money(a) for a in amounts)]).encode()

    async def _day_by_vat(self, data: bytes) -> Reply:
        """6Dh: the day's sales by VAT class 0..7, their sum, the storno by class and its sum [D p.59] (storno
        receipts are not emulated: zeros)."""
        gross = self.register.state.day.get("vat_gross") or {}
        sales = [int(gross.get(LATIN[i], 0)) for i in range(8)]
        return ";".join([*(money(x) for x in sales), money(sum(sales)), *(["0.00"] * 9)]).encode()

    async def _last_z_info(self, data: bytes) -> Reply:
        """73h ``LastZDailyReportDate;LastZDailyReportNum;LastRAMResetNum;TotalReceiptCounter;DateTimeLastFiscRec;
        EJNum;LastReceiptType`` [D p.76] (before the first Z the date is the fiscalisation's: UNVERIFIED)."""
        state = self.register.state
        z_at = dt.datetime.fromisoformat(state.last_z_datetime) if state.last_z_datetime else self.rules.now()
        last = dt.datetime.fromisoformat(self.state.last_at) if self.state.last_at else z_at
        return (f"{z_at:%d-%m-%Y};{state.z_number};0;{state.receipt_number:06d};{last:%d-%m-%Y %H:%M};1;0"
                .encode())

    async def _receipt_counter(self, data: bytes) -> Reply:
        return f"{self.register.state.receipt_number:06d}".encode()  # 71h [D p.72]

    async def _receipt_info(self, data: bytes) -> Reply:
        """72h: the current receipt [D p.72-73]; ``P`` its payments [D p.73]; ``B`` the last receipt's QR data
        ``FM*Number*Date*Time*Amount`` [D p.74], e.g. ``50163145*000002*2020-01-28*15:29:00*30.00`` [E]."""
        receipt = self.rules.open
        if data == b"B":
            last = self.rules.book.last
            when = dt.datetime.fromisoformat(self.state.last_at) if self.state.last_at else self.rules.now()
            return (f"{self.fm_number}*{last.number:06d}*{when:%Y-%m-%d}*{when:%H:%M:%S}*"
                    f"{money(last.amount)}").encode()
        if data == b"P":
            amounts = [0] * 12
            if receipt is not None:
                for code, payment in zip(receipt.codes, receipt.payments, strict=True):
                    amounts[int(code)] += int(payment["amount_cents"])
            else:
                for code, cents in self.state.last_payments.items():
                    amounts[int(code)] = cents
            is_open = "1" if receipt is not None else "0"
            return ";".join(["P", is_open, *(money(a) for a in amounts)]).encode()
        if data:
            return F.OK, C.INVALID
        groups: dict[str, int] = {}
        total = 0
        if receipt is not None and receipt.items:
            total, groups = self.rules.totals(receipt)
        vat = [money(groups.get(LATIN[i], 0)) for i in range(8)]
        paid = receipt.paid if receipt is not None else 0
        started = receipt is not None and bool(receipt.payments)
        kind = self.state.receipt.get("print", "0")
        fields = ["1" if receipt is not None else "0", f"{receipt.items if receipt else 0:03d}", *vat[:3],
                  "1" if started else "0", self.state.receipt.get("vat", "0"), self.state.receipt.get("format", "0"),
                  "1" if started else "0", "1" if started and paid >= total else "0",
                  "1" if self.state.power_down else "0", "2" if kind in ("2", "4", "8") else "0",
                  money(max(paid - total, 0)), "0", *vat[3:],
                  f"{receipt.number if receipt else self.rules.book.last.number:06d}"]
        return ";".join(fields).encode()

    # -- GS (1Dh) ---------------------------------------------------------------------------------------
    def _gs(self, option: int) -> bytes:
        """1Dh ``I`` capacities / ``M`` model [D p.93], a bare line ending in LF. The description calls M
        "character 77h" (which is ``w``): both are answered. Values the description does not give: UNVERIFIED."""
        d, m = self.dialect, self.model
        if option == ord("I"):
            fields = [f"{m.columns:02d}", "01000", "19", f"{d.operators:02d}", str(len(d.vat_letters)), "10",
                      f"{len(d.payments):02d}", "10", "00", "999", "1000"]
            return ("I" + ";".join(fields) + "\n").encode()
        if option in (ord("M"), 0x77):
            fields = [d.country, d.encoding_name, f"{int(m.device_type):02d}", "784", "04-02-2019", "RS232,USB,LAN",
                      "LAN", "", "E", "0", "1", "FAT", "0", "0", f"{m.columns:02d}", f"{m.columns - 2:02d}",
                      f"{m.item_name:02d}", f"{m.item_printed:02d}", "20", "20", "1", "01000", "10", "8", "3"]
            return ("M" + ";".join(fields) + "\n").encode()
        return bytes((z.NACK,))
