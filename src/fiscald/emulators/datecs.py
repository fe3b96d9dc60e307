"""A Datecs fiscal register on the wire (``fiscald emulate datecs``): old or X protocol, over TCP or a
pseudo-terminal, so the driver (or any Datecs client library) can be tested without hardware.

The fiscal rules are the Simulated register's (counters, VAT, Z reports, the journal, durable state in the
emulator's own data dir): the emulator only speaks the protocol around it. It keeps the receipt being built
(48 open -> 49 sales / 54 texts / 51 subtotals -> 53 payments -> 56 close, or 60 cancel) and hands the whole
receipt to the register at 56. On the wire it behaves as the manuals say: a frame repeating the last SEQ is not
executed, the last reply is sent again; a damaged frame is answered NAK; while a command runs, SYN every 60 ms;
every reply carries the status bytes; X replies start with an error code.

Error numbers: X replies to a refused command carry ``-(200000 + fiscald code)`` (e.g. -202001 paper out) and
-200000 for a syntax error. These are the emulator's own numbers, not Datecs firmware codes; the status bits,
which every Datecs device sets the same way, carry the meaning.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import hashlib
import json
import os
import sys
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError

from fiscald.drivers.base import DriverContext
from fiscald.drivers.datecs import commands as c
from fiscald.drivers.datecs import framing
from fiscald.drivers.datecs import status as bits
from fiscald.drivers.datecs.framing import BadFrame, Decoder, Frame
from fiscald.drivers.datecs.models import VAT_LETTERS, ModelSpec
from fiscald.drivers.simulated.register import SimulatedRegister
from fiscald.errors import Code, FiscalError
from fiscald.models.config import ConnectionDetails, FiscalDeviceConfig
from fiscald.models.simulate import parse_simulate
from fiscald.operations import OPERATIONS, Operation
from fiscald.operations import models as m
from fiscald.operations.registry import config_error_from
from fiscald.operations.totals import compute_receipt
from fiscald.store import Database, journal

Handler = Callable[[str | list[str]], Awaitable[list[str]]]
SYN_EVERY_S = 0.060
SYNTAX_ERROR = -200000
BASE_BITS = (bits.SERIAL_SET, bits.TAX_NUMBER_SET, bits.FISCALIZED, bits.VAT_SET, bits.FM_FORMATTED)
FAULT_BITS = {"paper_out": bits.PAPER_OUT, "cover_open": bits.COVER_OPEN, "fiscal_memory_full": bits.FM_FULL}
CODE_BITS = {Code.PAPER_OUT: bits.PAPER_OUT, Code.COVER_OPEN: bits.COVER_OPEN, Code.FISCAL_MEMORY_FULL: bits.FM_FULL,
             Code.INVALID_AMOUNT: bits.OVERFLOW}
# the wire commands that print while a receipt is built (refused while paper is out or the cover open)
PRINTING = frozenset({c.OPEN_RECEIPT, c.SALE, c.SUBTOTAL, c.PAYMENT, c.FISCAL_TEXT, c.OPEN_NON_FISCAL,
                      c.NON_FISCAL_TEXT})


class WireFaults(BaseModel):
    """Faults of the line itself (``"wire"`` in POST /simulate); a request changes only the fields it names."""

    model_config = ConfigDict(extra="forbid")
    drop_replies: StrictInt | None = Field(default=None, ge=0, le=1000)
    from_command: StrictInt | None = Field(default=None, ge=0, le=0xFFFF)
    corrupt_replies: StrictInt | None = Field(default=None, ge=0, le=1000)
    nak_frames: StrictInt | None = Field(default=None, ge=0, le=1000)
    busy_ms: StrictInt | None = Field(default=None, ge=0, le=600_000)


@dataclass
class WireState:
    drop_replies: int = 0
    from_command: int | None = None  # dropping starts at the next frame carrying this command (None: at once)
    corrupt_replies: int = 0
    nak_frames: int = 0
    busy_ms: int = 0


@dataclass
class LineStats:
    """What crossed the line and where the emulator's time went (for the benchmark)."""
    bytes_in: int = 0
    bytes_out: int = 0
    line_s: float = 0.0  # time spent pacing bytes at ``baud``
    device_s: float = 0.0  # time spent executing commands


@dataclass
class OpenReceipt:
    number: int  # the receipt number it will get
    document: int  # the document number it will get
    lines: list[dict[str, Any]] = field(default_factory=list)
    payments: list[dict[str, Any]] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)  # the payment codes received, in order
    items: int = 0

    def params(self, close_action: str = "close") -> m.PrintReceiptParams:
        return m.PrintReceiptParams.model_validate({"lines": self.lines, "payments": self.payments or None,
                                                    "close_action": close_action})


@dataclass
class LastReceipt:
    number: int = 0
    items: int = 0
    amount: int = 0
    paid: int = 0
    codes: tuple[str, ...] = ()  # its payment codes as received (not kept across a restart)


class Refused(Exception):
    def __init__(self, code: Code | None, bit: bits.Bit = bits.NOT_PERMITTED) -> None:
        super().__init__(code)
        self.code = code
        self.bit = bit


def device_id_in(data_dir: Path) -> str:
    """The emulated register's identity, kept in its data dir so it survives restarts."""
    path = data_dir / "emulator-id"
    if not path.exists():
        path.write_text(str(uuid.uuid4()), encoding="utf-8")
    return path.read_text(encoding="utf-8").strip()


class DatecsEmulator:
    def __init__(self, spec: ModelSpec, data_dir: Path, baud: int | None = None) -> None:
        self.spec = spec
        self.variant = spec.variant
        self.syntax = c.Syntax(spec.variant)
        self.baud = baud
        data_dir.mkdir(parents=True, exist_ok=True)
        self.db = Database(data_dir / "emulator.sqlite3")
        self.device_id = device_id_in(data_dir)
        config = FiscalDeviceConfig(id=self.device_id, name=f"Datecs {spec.name}", manufacturer="Simulated",
                                    model="Simulated", connection_details=ConnectionDetails(type="Virtual"))
        self.register = SimulatedRegister(config, DriverContext(self.db, lambda a, b: None, lambda e: None,
                                                                lambda: "en"))
        digits = int(hashlib.sha256(self.device_id.encode()).hexdigest(), 16) % 1_000_000
        self.serial = f"DT{digits:06d}"
        self.wire = WireState()
        self.stats = LineStats()
        self.open: OpenReceipt | None = None
        self.non_fiscal: list[str] | None = None
        self.last = LastReceipt()
        self.last_seq: int | None = None
        self.last_reply: bytes | None = None
        self.frames = 0  # frames executed (not repeats)
        self.executing: int | None = None  # the command being executed now
        self._lock = asyncio.Lock()
        self._handlers = self._table()

    async def start(self) -> None:
        await self.register.start()
        entry_id = self.register.state.last_receipt_entry_id
        if entry_id is not None:  # what 76 reports after a power cycle: the last receipt, from the journal
            entry = await self.db.read(lambda conn: journal.get(conn, entry_id))
            if entry is not None:
                result = entry.data.get("result", {})
                items = sum(1 for line in entry.data.get("request", {}).get("lines", []) if line["type"] == "item")
                self.last = LastReceipt(entry.number or 0, items, int(result.get("total_cents", 0)),
                                        int(result.get("paid_cents", 0)))

    def close(self) -> None:
        self.db.close()

    # -- control ----------------------------------------------------------------------------------
    async def control(self, body: Any) -> dict[str, Any]:
        """POST /simulate: /manage/simulate's body without device_id, plus ``"wire"``."""
        if not isinstance(body, dict):
            raise FiscalError(Code.CONFIG, "body: expected a JSON object")
        body = dict(body)
        wire_body = body.pop("wire", None)
        if wire_body is not None:
            try:
                wire = WireFaults.model_validate(wire_body)
            except ValidationError as exc:
                raise config_error_from(exc, "wire") from None
            for name, value in wire.model_dump(exclude_unset=True).items():
                setattr(self.wire, name, value)
        simulation = await self.register.simulate(parse_simulate({**body, "device_id": self.device_id}))
        state = self.register.state
        return {"simulation": simulation, "wire": asdict(self.wire), "stats": asdict(self.stats),
                "device": {"receipt_open": self.open is not None, "receipt_number": state.receipt_number,
                           "document_number": state.document_number, "frames": self.frames,
                           "executing": self.executing, "last_payment_codes": list(self.last.codes)}}

    # -- the line ---------------------------------------------------------------------------------
    async def _line(self, count: int) -> None:
        """``count`` bytes' time on a serial line at ``baud`` (10 bits a byte), measured as spent."""
        if self.baud:
            loop = asyncio.get_running_loop()
            started = loop.time()
            await asyncio.sleep(count * 10 / self.baud)
            self.stats.line_s += loop.time() - started

    async def _send(self, write: Callable[[bytes], Awaitable[None]], data: bytes) -> None:
        await self._line(len(data))
        self.stats.bytes_out += len(data)
        await write(data)

    async def serve(self, read: Callable[[], Awaitable[bytes]], write: Callable[[bytes], Awaitable[None]]) -> None:
        """One host connection: frames in, replies out, until the host goes away (``read`` returns b"")."""
        decoder = Decoder(self.variant, replies=False)
        while True:
            try:
                chunk = await asyncio.wait_for(read(), 0.5) if decoder.pending else await read()
            except TimeoutError:
                decoder.reset()  # a frame that never completed (damaged length): forget it
                continue
            if not chunk:
                return
            for event in decoder.feed(chunk):
                if isinstance(event, BadFrame):
                    await self._send(write, bytes((framing.NAK,)))
                elif isinstance(event, Frame):
                    size = len(framing.request(self.variant, event.seq, event.cmd, event.data))
                    self.stats.bytes_in += size
                    await self._line(size)  # the request's own time on the line
                    async with self._lock:
                        await self._answer(event, write)

    async def _answer(self, frame: Frame, write: Callable[[bytes], Awaitable[None]]) -> None:
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
            reply = self.last_reply  # the same SEQ again: not executed, the last reply once more
        else:
            self.executing = frame.cmd
            started = asyncio.get_running_loop().time()
            job = asyncio.create_task(self._execute(frame))
            job.add_done_callback(lambda _: self._device_time(started))
            busy_s = wire.busy_ms / 1000
            wire.busy_ms = 0
            while True:
                done, _ = await asyncio.wait({job}, timeout=SYN_EVERY_S)
                if done and asyncio.get_running_loop().time() - started >= busy_s:
                    break
                await self._send(write, bytes((framing.SYN,)))
            reply = job.result()
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

    def _device_time(self, started: float) -> None:
        self.stats.device_s += asyncio.get_running_loop().time() - started

    # -- commands ---------------------------------------------------------------------------------
    def _status(self, *extra: bits.Bit) -> bytes:
        chosen = [*BASE_BITS, *extra]
        fault = FAULT_BITS.get(self.register.simulation.fault)
        if fault is not None:
            chosen.append(fault)
        if self.open is not None:
            chosen.append(bits.FISCAL_RECEIPT_OPEN)
        if self.non_fiscal is not None:
            chosen.append(bits.NON_FISCAL_OPEN)
        return bits.encode(self.variant.status_len, chosen)

    def _reply(self, frame: Frame, data: str, *extra: bits.Bit) -> bytes:
        raw = data.encode(self.spec.codepage, errors="replace")[:self.variant.max_reply_data]
        return framing.reply(self.variant, frame.seq, frame.cmd, raw, self._status(*extra))

    async def _execute(self, frame: Frame) -> bytes:
        handler = self._handlers.get(frame.cmd)
        if handler is None:
            return self._reply(frame, "", bits.INVALID_COMMAND)
        text = frame.data.decode(self.spec.codepage, errors="replace")
        args = self.syntax.fields("0\t" + text) if self.syntax.x else text
        try:
            if frame.cmd in PRINTING:
                self._printable()
            fields = await handler(args)
        except Refused as exc:
            code = SYNTAX_ERROR if exc.code is None else -(200000 + int(exc.code))
            return self._reply(frame, self.syntax.reply(code), exc.bit)
        except FiscalError as exc:
            bit = CODE_BITS.get(exc.code, bits.NOT_PERMITTED)
            return self._reply(frame, self.syntax.reply(-(200000 + int(exc.code))), bit)
        except (ValueError, IndexError, ValidationError):
            return self._reply(frame, self.syntax.reply(SYNTAX_ERROR), bits.SYNTAX_ERROR)
        return self._reply(frame, self.syntax.reply(0, *fields))

    def _printable(self) -> None:
        fault = self.register.simulation.fault
        if fault in ("paper_out", "cover_open"):
            code = Code.PAPER_OUT if fault == "paper_out" else Code.COVER_OPEN
            raise Refused(code, CODE_BITS[code])

    async def _run(self, name: str, params: dict[str, Any] | None = None) -> Any:
        spec = OPERATIONS[name]
        return await self.register.execute(Operation(self.device_id, spec, spec.params.model_validate(params or {})))

    def _list(self, args: str | list[str], sep: str = ",") -> list[str]:
        return args if isinstance(args, list) else args.split(sep) if args else []

    def _receipt(self) -> OpenReceipt:
        if self.open is None:
            raise Refused(Code.DEVICE)
        return self.open

    # each handler takes the request's fields (X: a list; old: the raw text) and returns the reply's fields
    async def _open_receipt(self, args: str | list[str]) -> list[str]:
        fields = self._list(args)
        if len(fields) < 3:
            raise ValueError("operator, password and till are required")
        if self.open is not None or self.non_fiscal is not None:
            raise Refused(Code.RECEIPT_OPEN)
        self.register._guard_fiscal(self.register.now())  # the register's rules: Z due, memory full
        state = self.register.state
        self.open = OpenReceipt(state.receipt_number + 1, state.document_number + 1)
        if self.syntax.x:
            return [str(self.open.number)]
        return [str(self.open.document), str(self.open.number)]

    def _discount(self, kind: str, value: str) -> dict[str, Any] | None:
        if kind in ("", "0"):
            return None
        cents = abs(c.parse_money(value))
        surcharge = kind in ("1", "3")
        if kind in ("1", "2"):
            return {"kind": "percent", "basis_points": cents, "is_surcharge": surcharge}
        return {"kind": "amount", "amount_cents": cents, "is_surcharge": surcharge}

    def _old_discount(self, text: str) -> tuple[str, dict[str, Any] | None]:
        for sep, kind in ((",", "percent"), (";", "amount")):
            if sep in text:
                text, _, value = text.partition(sep)
                cents = c.parse_money(value)
                surcharge = cents > 0
                if kind == "percent":
                    return text, {"kind": kind, "basis_points": abs(cents), "is_surcharge": surcharge}
                return text, {"kind": kind, "amount_cents": abs(cents), "is_surcharge": surcharge}
        return text, None

    async def _sale(self, args: str | list[str]) -> list[str]:
        receipt = self._receipt()
        if receipt.payments:
            raise Refused(Code.DEVICE)
        if isinstance(args, list):
            name, tax, price_text, qty_text = args[0], args[1], args[2], args[3] or "1.000"
            letter = VAT_LETTERS[int(tax) - 1]
            discount = self._discount(args[4], args[5])
            um = args[7] if len(args) > 7 and args[7] else None
        else:
            name, _, rest = args.partition("\t")
            name = name.replace("\n", " ").strip()
            rest, discount = self._old_discount(rest)
            letter, rest = rest[0], rest[1:]
            rest, _, um_text = rest.partition("#")
            price_text, _, qty_text = rest.partition("*")
            um = um_text or None
        price = c.parse_money(price_text)
        qty = c.parse_quantity(qty_text or "1.000")
        line: dict[str, Any] = {"type": "item", "description": name, "quantity_thousandths": -qty if price < 0 else qty,
                                "unit_price_cents": abs(price), "vat": letter}
        if discount is not None:
            line["discount"] = discount
        if um:
            line["um"] = um
        m.ItemLine.model_validate(line)
        compute_receipt(m.PrintReceiptParams.model_validate({"lines": [*receipt.lines, line]}),
                        self.register.vat_rates)
        receipt.lines.append(line)
        receipt.items += 1
        return [str(receipt.number)] if self.syntax.x else []

    def _sums(self, receipt: OpenReceipt) -> tuple[int, dict[str, int]]:
        totals = compute_receipt(receipt.params(), self.register.vat_rates)
        return totals.total_cents, {k: v.gross_cents for k, v in totals.vat_totals.items()}

    async def _subtotal(self, args: str | list[str]) -> list[str]:
        receipt = self._receipt()
        if receipt.payments:
            raise Refused(Code.DEVICE)
        if isinstance(args, list):
            discount = self._discount(args[2] if len(args) > 2 else "", args[3] if len(args) > 3 else "")
        else:
            _, discount = self._old_discount(args)
        line: dict[str, Any] = {"type": "subtotal"}
        if discount is not None:
            line["discount"] = discount
        receipt.lines.append(line)
        if receipt.items:
            total, groups = self._sums(receipt)
        else:
            total, groups = 0, {}
        sums = [c.money(groups.get(letter, 0)) for letter in VAT_LETTERS]
        return [str(receipt.number), c.money(total), *sums] if self.syntax.x else [c.money(total), *sums]

    async def _text(self, args: str | list[str]) -> list[str]:
        receipt = self._receipt()
        text = args[0] if isinstance(args, list) else args
        receipt.lines.append({"type": "text", "text": text[:self.spec.columns]})
        return []

    async def _payment(self, args: str | list[str]) -> list[str]:
        receipt = self._receipt()
        if isinstance(args, list):
            code, amount = args[0], c.parse_money(args[1])
        else:
            rest = args.partition("\t")[2]
            lettered = bool(rest) and rest[0].isalpha()
            code, amount = (rest[0], c.parse_money(rest[1:])) if lettered else ("P", c.parse_money(rest))
        if code not in self.spec.codes or receipt.items == 0:
            raise Refused(None, bits.SYNTAX_ERROR)
        # booked as the payment type whose default code it is; a code no default uses is booked as "other"
        kind = next((k for k, v in self.spec.payments.items() if v == code), "other")
        receipt.payments.append({"type": kind, "amount_cents": amount})
        receipt.codes.append(code)
        paid = sum(p["amount_cents"] for p in receipt.payments)
        total = compute_receipt(receipt.params().model_copy(update={"payments": None}),
                                self.register.vat_rates).total_cents
        flag, value = ("D", total - paid) if paid < total else ("R", paid - total)
        return [flag, c.money(value)] if self.syntax.x else [f"{flag}{c.money(value)}"]

    async def _close(self, args: str | list[str]) -> list[str]:
        receipt = self._receipt()
        if not receipt.payments:
            raise Refused(Code.PAYMENT_INSUFFICIENT)
        params = receipt.params()
        result = await self.register.execute(Operation(self.device_id, OPERATIONS["print_receipt"], params))
        self.open = None
        self.last = LastReceipt(int(result["receipt_number"]), receipt.items, int(result["total_cents"]),
                                int(result["paid_cents"]), tuple(receipt.codes))
        number = str(result["receipt_number"])
        return [number] if self.syntax.x else [str(self.register.state.document_number), number]

    async def _cancel(self, args: str | list[str]) -> list[str]:
        receipt = self._receipt()
        self.open = None
        if receipt.items:
            params = receipt.params("void").model_copy(update={"payments": None})
            result = await self.register.execute(Operation(self.device_id, OPERATIONS["print_receipt"], params))
            self.last = LastReceipt(int(result["receipt_number"]), receipt.items, int(result["total_cents"]), 0)
        return []

    async def _transaction(self, args: str | list[str]) -> list[str]:
        r = self.open
        if r is not None:
            amount = self._sums(r)[0] if r.items else 0
            paid = sum(p["amount_cents"] for p in r.payments)
            number, items = r.number, r.items
        else:
            number, items, amount, paid = self.last.number, self.last.items, self.last.amount, self.last.paid
        is_open = "1" if r is not None else "0"
        if self.syntax.x:
            return [is_open, str(number), str(items), c.money(amount), c.money(paid)]
        return [is_open, str(items), c.money(amount), c.money(paid)]

    async def _last_fiscal_record(self, args: str | list[str]) -> list[str]:
        number = self.register.state.z_number
        sums = ["0.00"] * 8  # the emulator keeps no per-Z sums here: the journal has them
        day = dt.date.today()
        if self.syntax.x:
            return [str(number), *sums, day.strftime("%d-%m-%y")]
        return ["P", str(number), *sums, day.strftime("%d%m%y")] if number else ["F"]

    async def _last_document(self, args: str | list[str]) -> list[str]:
        return [str(self.register.state.document_number)]

    async def _status_read(self, args: str | list[str]) -> list[str]:
        return []

    async def _check(self, args: str | list[str]) -> list[str]:
        return []

    async def _diagnostic(self, args: str | list[str]) -> list[str]:
        name = f"{self.spec.name} emulator"
        if self.syntax.x:
            return [name, "1.00RO", "01Dec26", "1200", "FFFF", "00000000", self.serial, f"FM{self.serial[2:]}"]
        return [name, "1.00RO 01Dec26 1200", "FFFF", "00000000", self.serial, f"FM{self.serial[2:]}"]

    async def _vat_rates(self, args: str | list[str]) -> list[str]:
        rates = self.register.vat_rates
        values = [c.money(rates[letter]) if letter in rates else ("100.00" if self.syntax.x else "DT")
                  for letter in VAT_LETTERS]
        if self.syntax.x:
            return ["1", *values, dt.date.today().strftime("%d-%m-%y")]
        return values

    async def _set_datetime(self, args: str | list[str]) -> list[str]:
        if self.open is not None:
            raise Refused(Code.RECEIPT_OPEN)
        text = args[0] if isinstance(args, list) else args
        when = c.parse_datetime(text).astimezone()
        await self._run("set_datetime", {"datetime": when.isoformat()})
        return []

    async def _get_datetime(self, args: str | list[str]) -> list[str]:
        return [c.format_datetime(self.register.now())]

    async def _report(self, args: str | list[str]) -> list[str]:
        if self.open is not None or self.non_fiscal is not None:
            raise Refused(Code.RECEIPT_OPEN)
        option = args[0] if isinstance(args, list) else args[:1]
        z = option in ("Z", "0")
        if option not in ("X", "Z", "0", "2"):
            raise ValueError(f"report type {option!r}")
        result = await self._run("z_report" if z else "x_report")
        gross = {k: v["base_cents"] + v["vat_cents"] for k, v in result["vat_totals"].items()}
        sums = [c.money(gross.get(letter, 0)) for letter in VAT_LETTERS]
        number = str(result.get("z_number", self.register.state.z_number))
        if self.syntax.x:
            return [number, *sums, *(["0.00"] * 8)]
        return [number, "0.00", *sums]

    async def _cash(self, args: str | list[str]) -> list[str]:
        if isinstance(args, list):
            kind, amount = args[0], c.parse_money(args[1] if len(args) > 1 and args[1] else "0")
            signed = -amount if kind == "1" else amount
        else:
            signed = c.parse_money(args or "0")
        if signed:
            if self.open is not None or self.non_fiscal is not None:
                raise Refused(Code.RECEIPT_OPEN)
            try:
                await self._run("cash_in" if signed > 0 else "cash_out", {"amount_cents": abs(signed)})
            except FiscalError as exc:
                if self.syntax.x or exc.code != Code.CASH_OUT_EXCEEDS_DRAWER:
                    raise
                return ["F", *self._drawer()]
        return self._drawer() if self.syntax.x else ["P", *self._drawer()]

    def _drawer(self) -> list[str]:
        state = self.register.state
        return [c.money(state.cash_in_drawer_cents), c.money(state.day["cash_in_cents"]),
                c.money(state.day["cash_out_cents"])]

    async def _open_non_fiscal(self, args: str | list[str]) -> list[str]:
        if self.open is not None or self.non_fiscal is not None:
            raise Refused(Code.RECEIPT_OPEN)
        self.non_fiscal = []
        return [str(self.register.state.document_number + 1)]

    async def _non_fiscal_text(self, args: str | list[str]) -> list[str]:
        if self.non_fiscal is None:
            raise Refused(Code.DEVICE)
        self.non_fiscal.append((args[0] if isinstance(args, list) else args)[:self.spec.columns])
        return []

    async def _close_non_fiscal(self, args: str | list[str]) -> list[str]:
        if self.non_fiscal is None:
            raise Refused(Code.DEVICE)
        lines = [{"type": "text", "text": t} for t in self.non_fiscal] or [{"type": "text", "text": ""}]
        self.non_fiscal = None
        result = await self._run("print_non_fiscal", {"lines": lines})
        return [str(result["document_number"])]

    async def _drawer_open(self, args: str | list[str]) -> list[str]:
        await self._run("open_drawer")
        return []

    async def _duplicate(self, args: str | list[str]) -> list[str]:
        if self.open is not None:
            raise Refused(Code.RECEIPT_OPEN)
        await self._run("print_duplicate")
        return []

    async def _fm_report(self, by_date: bool, args: str | list[str]) -> list[str]:
        fields = args[1:] if isinstance(args, list) else args.split(",")
        start, end = [*fields, "", ""][:2]
        if by_date:
            fmt = "%d-%m-%y" if self.syntax.x else "%d%m%y"
            params: dict[str, Any] = {"from": dt.datetime.strptime(start, fmt).date().isoformat(),
                                      "to": dt.datetime.strptime(end, fmt).date().isoformat()}
        else:
            params = {"from_z": int(start), "to_z": int(end)}
        await self._run("periodic_report", params)
        return []

    def _table(self) -> dict[int, Handler]:
        table: dict[int, Handler] = {
            c.OPEN_RECEIPT: self._open_receipt, c.SALE: self._sale, c.SUBTOTAL: self._subtotal,
            c.FISCAL_TEXT: self._text, c.PAYMENT: self._payment, c.CLOSE_RECEIPT: self._close,
            c.CANCEL_RECEIPT: self._cancel, c.TRANSACTION: self._transaction, c.STATUS: self._status_read,
            c.CHECK_CONNECTION: self._check, c.DIAGNOSTIC: self._diagnostic, c.SET_DATETIME: self._set_datetime,
            c.GET_DATETIME: self._get_datetime, c.REPORT: self._report, c.CASH: self._cash,
            c.LAST_FISCAL_RECORD: self._last_fiscal_record,
            c.OPEN_NON_FISCAL: self._open_non_fiscal, c.NON_FISCAL_TEXT: self._non_fiscal_text,
            c.CLOSE_NON_FISCAL: self._close_non_fiscal, c.DRAWER: self._drawer_open, c.DUPLICATE: self._duplicate,
        }
        if self.syntax.x:
            table[c.VAT_RATES_X] = self._vat_rates
        else:
            table[c.VAT_RATES_OLD] = self._vat_rates
            table[c.LAST_DOCUMENT] = self._last_document
        for (by, _), cmd in c.FM_REPORTS[self.variant.name].items():
            table[cmd] = functools.partial(self._fm_report, by == "date")
        return table


# -- serving ----------------------------------------------------------------------------------------
async def serve_tcp(emulator: DatecsEmulator, host: str, port: int) -> asyncio.Server:
    """Accept hosts on TCP; a new connection replaces the previous one (a host that reconnected)."""
    current: list[asyncio.StreamWriter] = []

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for old in current:
            old.close()
        current[:] = [writer]

        async def read() -> bytes:
            try:
                return await reader.read(4096)
            except OSError:
                return b""

        async def write(data: bytes) -> None:
            writer.write(data)
            with contextlib.suppress(OSError):
                await writer.drain()

        try:
            await emulator.serve(read, write)
        finally:
            writer.close()

    return await asyncio.start_server(connection, host, port)


async def serve_pty(emulator: DatecsEmulator) -> str:
    """A pseudo-terminal pair: returns the device path a host opens as a serial port (not on Windows)."""
    if sys.platform == "win32":
        raise OSError("a pseudo-terminal needs Linux or macOS; serve on TCP instead (--listen)")
    import tty

    master, slave = os.openpty()
    tty.setraw(slave)
    os.set_blocking(master, False)
    path = os.ttyname(slave)
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue[bytes] = asyncio.Queue()

    def readable() -> None:
        try:
            data = os.read(master, 4096)
        except OSError:
            return
        if data:
            inbox.put_nowait(data)

    loop.add_reader(master, readable)

    async def write(data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                written = os.write(master, view)
            except BlockingIOError:
                await asyncio.sleep(0.001)
                continue
            view = view[written:]

    task = asyncio.create_task(emulator.serve(inbox.get, write))
    _keep.append((task, slave))  # the slave end stays open: a host closing its side is no hang-up
    return path


_keep: list[tuple[asyncio.Task[None], int]] = []


async def serve_control(emulator: DatecsEmulator, host: str, port: int) -> asyncio.Server:
    """``POST /simulate`` (JSON in, JSON out): a deliberately small HTTP/1.1 server."""

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *headers = head.decode("latin-1").split("\r\n")
            method, path, _ = request_line.split(" ", 2)
            length = next((int(h.split(":", 1)[1]) for h in headers if h.lower().startswith("content-length:")), 0)
            body = await reader.readexactly(length) if length else b""
            if method != "POST" or path != "/simulate":
                status, answer = 404, {"status": 404, "error": "POST /simulate only"}
            else:
                try:
                    status, answer = 200, await emulator.control(json.loads(body or b"{}"))
                except json.JSONDecodeError:
                    status, answer = 400, FiscalError(Code.CONFIG, "body: not JSON").body("en")
                except FiscalError as exc:
                    status, answer = exc.http_status, exc.body("en")
            payload = json.dumps(answer).encode()
            writer.write(f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {len(payload)}"
                         f"\r\nconnection: close\r\n\r\n".encode() + payload)
            await writer.drain()
        except (asyncio.IncompleteReadError, ValueError, OSError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(connection, host, port)
