"""ZFP framing (Tremol), pure functions and an incremental decoder; no I/O.

Sources: [D] Tremol's protocol description, ErpNet.FP Drivers/BgTremol/Docs/protocol_description_BG_1910211454
(pages as printed in its footers); [E] ErpNet.FP Drivers/BgZfpFiscalPrinter.Frame.cs; [F] EDA fpgate
ProtocolTremolV10.java via shared/spec/tremol.md.

- A request is ``STX LEN NBL CMD DATA CS CS ETX`` [D p.6]: STX 02h; LEN = bytes of LEN+NBL+CMD+DATA + 20h;
  NBL = message number + 20h; CMD 20h-7Fh; CS = XOR of LEN..DATA as two nibbles + 30h; ETX 0Ah.
- A data reply ("message response") has the request's layout and NBL [D p.8 §1.2.2].
- An acknowledgement is ``ACK NBL STE STE CS CS ETX`` with CS = XOR of NBL and the two STE [D p.7 §1.2.1]; it
  is sent whether the command was executed or refused; success is STE "00" (30h 30h).
- NACK 15h: the frame was damaged, send it again; RETRY 0Eh: busy with the previous command, keep waiting
  [D p.8]. Single bytes outside a frame: 04h is answered 04h ("FD is on"), 09h with the ping status [D p.8].
- GS 1Dh is followed by one option byte and answered with a bare line ending in 0Ah, no framing [D p.6
  "all messages except those described in section 4", p.93].
- The doc says DATA may be 0..3902 bytes, which a one-byte LEN cannot carry; LEN here runs 20h..FFh, i.e. at
  most ``MAX_DATA`` = 220 bytes, the limit fpgate carries from Tremol's own header [F].
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

STX = 0x02  # [D p.6]
ETX = 0x0A  # [D p.6]: LF
ACK = 0x06  # [D p.7]
NACK = 0x15  # [D p.8]
RETRY = 0x0E  # [D p.8]
PING = 0x09  # [D p.8]
ON = 0x04  # [D p.8]: 04h -> 04h
GS = 0x1D  # [D p.93]
OFFSET = 0x20  # LEN and NBL are "increased by 20h" [D p.6]
CS_OFFSET = 0x30  # each checksum nibble + 30h [D p.6]
MAX_NUMBER = 0x9F - OFFSET  # NBL 20h..9Fh [D p.6]
MAX_DATA = 0xFF - OFFSET - 3  # 220 [F]
OK = 0x30  # STE "0": no error [D p.7]


class Ping(enum.IntEnum):
    """Answers to 09h [D p.8]: 40h plus bit 0 busy, bit 1 no paper, bit 2 overheated, bit 3 no external display;
    the last three values only on LAN/WiFi."""
    READY = 0x40
    BUSY = 0x41
    NO_PAPER = 0x42
    NO_PAPER_BUSY = 0x43
    OVERHEATED = 0x44
    OVERHEATED_BUSY = 0x45
    NO_DISPLAY = 0x48
    NO_DISPLAY_BUSY = 0x49
    WAITING_FOR_PASSWORD = 0x50
    OTHER_CONNECTION = 0x60
    WRONG_PASSWORD = 0x70


def ping_answer(*, busy: bool = False, no_paper: bool = False, overheated: bool = False,
                no_display: bool = False) -> int:
    """The 09h answer for these conditions: the bit table of [D p.8]."""
    return 0x40 | busy | no_paper << 1 | overheated << 2 | no_display << 3


class FdError(enum.IntEnum):
    """STE1, the fiscal device's error [D p.7 Table Errors]."""
    OK = 0x30
    PAPER = 0x31  # out of paper, printer failure
    REGISTERS_OVERFLOW = 0x32
    CLOCK = 0x33  # clock failure or incorrect date & time
    RECEIPT_OPEN = 0x34  # opened fiscal receipt
    PAYMENT_RESIDUE = 0x35
    NON_FISCAL_OPEN = 0x36
    PAID_NOT_CLOSED = 0x37  # registered payment but receipt is not closed
    FM_FAILURE = 0x38
    WRONG_PASSWORD = 0x39
    NO_DISPLAY = 0x3A
    DAY_BLOCKED = 0x3B  # 24 hours block, missing Z report
    OVERHEATED = 0x3C
    POWER_DOWN_IN_RECEIPT = 0x3D  # reported once, until the status is read
    EJ_OVERFLOW = 0x3E
    INSUFFICIENT_CONDITIONS = 0x3F


class CommandError(enum.IntEnum):
    """STE2, the command's error [D p.7 Table Errors]."""
    OK = 0x30
    INVALID = 0x31
    ILLEGAL = 0x32
    Z_NOT_ZEROED = 0x33  # Z daily report is not zero
    SYNTAX = 0x34
    INPUT_OVERFLOW = 0x35
    ZERO_INPUT = 0x36
    NO_TRANSACTION = 0x37  # unavailable transaction for correction
    NO_CASH = 0x38  # insufficient amount on hand


@dataclass(frozen=True)
class Frame:
    """A request, or a data reply (same layout)."""
    number: int  # the message number, 0..MAX_NUMBER (NBL - 20h)
    cmd: int
    data: bytes


@dataclass(frozen=True)
class Ack:
    number: int
    fd_error: int  # STE1, 30h..3Fh
    command_error: int  # STE2, 30h..3Fh

    @property
    def ok(self) -> bool:
        return self.fd_error == OK and self.command_error == OK


@dataclass(frozen=True)
class Byte:
    """A single byte outside a frame: a ping (09h), 04h, NACK, RETRY, or a ping answer."""
    value: int


@dataclass(frozen=True)
class GsQuery:
    """1Dh and its option byte (``I`` or ``M``) [D p.93]."""
    option: int


@dataclass(frozen=True)
class BadFrame:
    reason: str


Event = Frame | Ack | Byte | GsQuery | BadFrame


def checksum(body: bytes) -> bytes:
    """XOR of ``body`` as two nibbles + 30h [D p.6]: B5h -> 3Bh 35h."""
    x = 0
    for b in body:
        x ^= b
    return bytes((CS_OFFSET + (x >> 4), CS_OFFSET + (x & 0x0F)))


def frame(number: int, cmd: int, data: bytes = b"") -> bytes:
    """A request or a data reply."""
    if not 0 <= number <= MAX_NUMBER:
        raise ValueError(f"message number {number}: 0..{MAX_NUMBER}")
    if not 0x20 <= cmd <= 0x7F:
        raise ValueError(f"command {cmd:#x}: 20h..7Fh")
    if len(data) > MAX_DATA:
        raise ValueError(f"{len(data)} data bytes: at most {MAX_DATA}")
    body = bytes((OFFSET + 3 + len(data), OFFSET + number, cmd)) + data
    return bytes((STX,)) + body + checksum(body) + bytes((ETX,))


def ack(number: int, fd_error: int = OK, command_error: int = OK) -> bytes:
    """An acknowledgement carrying the two status bytes [D p.7]."""
    if not 0 <= number <= MAX_NUMBER:
        raise ValueError(f"message number {number}: 0..{MAX_NUMBER}")
    if not (0x30 <= fd_error <= 0x3F and 0x30 <= command_error <= 0x3F):
        raise ValueError("status bytes are 30h..3Fh")
    body = bytes((OFFSET + number, fd_error, command_error))
    return bytes((ACK,)) + body + checksum(body) + bytes((ETX,))


def gs_query(option: str) -> bytes:
    return bytes((GS, ord(option)))


class MessageNumbers:
    """The host's message numbers: every new command gets a number different from the previous one [D p.92
    §3.1]; a resend of the same frame keeps its number. Wraps within 0..MAX_NUMBER ([E] wraps 20h..9Fh)."""

    def __init__(self, start: int = 0) -> None:
        self._current = start % (MAX_NUMBER + 1)

    @property
    def current(self) -> int:
        return self._current

    def next(self) -> int:
        self._current = (self._current + 1) % (MAX_NUMBER + 1)
        return self._current


class Decoder:
    """Bytes in, events out, for either end of the line.

    ``replies=False`` (the device's side): frames are requests; 1Dh takes the next byte as its option.
    ``replies=True`` (the host's side): ACK frames are decoded too; every other byte outside a frame (ping
    answers, 04h, NACK, RETRY) is a ``Byte``."""

    def __init__(self, *, replies: bool) -> None:
        self.replies = replies
        self._buf = bytearray()
        self._gs = False

    @property
    def pending(self) -> bool:
        """A frame (or a GS query) is half received."""
        return bool(self._buf) or self._gs

    def reset(self) -> None:
        self._buf.clear()
        self._gs = False

    def feed(self, chunk: bytes) -> list[Event]:
        events: list[Event] = []
        for b in chunk:
            event = self._byte(b)
            if event is not None:
                events.append(event)
        return events

    def _byte(self, b: int) -> Event | None:
        buf = self._buf
        if self._gs:
            self._gs = False
            return GsQuery(b)
        if not buf:
            if b == STX or (self.replies and b == ACK):
                buf.append(b)
                return None
            if not self.replies and b == GS:
                self._gs = True
                return None
            return Byte(b)
        buf.append(b)
        if buf[0] == ACK:
            if len(buf) < 7:
                return None
            raw = bytes(buf)
            buf.clear()
            if raw[6] != ETX or raw[4:6] != checksum(raw[1:4]) or raw[1] < OFFSET or raw[1] > 0x9F:
                return BadFrame("damaged acknowledgement")
            return Ack(raw[1] - OFFSET, raw[2], raw[3])
        if len(buf) == 2 and buf[1] < OFFSET + 3:
            buf.clear()
            return BadFrame(f"LEN {b:#04x} below 23h")
        if len(buf) < 2:
            return None
        total = 1 + (buf[1] - OFFSET) + 3  # STX, LEN..DATA, CS CS ETX
        if len(buf) < total:
            return None
        raw = bytes(buf)
        buf.clear()
        body = raw[1:-3]
        if raw[-1] != ETX:
            return BadFrame("no ETX where LEN says the frame ends")
        if raw[-3:-1] != checksum(body):
            return BadFrame("checksum")
        if not OFFSET <= body[1] <= 0x9F:
            return BadFrame(f"NBL {body[1]:#04x} outside 20h..9Fh")
        return Frame(body[1] - OFFSET, body[2], body[3:])
