"""Datecs (ISL family) frames, both variants: the 'old' protocol with 1-byte LEN and CMD, and the 'X' protocol
with 4-nibble LEN and CMD (each 4-bit nibble + 0x30).

Host -> device: ``01 LEN SEQ CMD DATA 05 BCC 03``; device -> host: ``01 LEN SEQ CMD DATA 04 STATUS 05 BCC 03``.
LEN counts the bytes after 01 up to and including 05, plus 0x20; BCC is the 16-bit sum of those same bytes, sent
as 4 nibbles. Between frames the device sends single bytes: NAK (bad frame, send it again) and SYN (still
working, keep waiting). Used by the driver (requests out, replies in) and by the emulator (the other way).
"""

from __future__ import annotations

from dataclasses import dataclass

PREAMBLE = 0x01
TERMINATOR = 0x03
SEPARATOR = 0x04
POSTAMBLE = 0x05
ESCAPE = 0x10
NAK = 0x15
SYN = 0x16
OFFSET = 0x20


class FrameError(ValueError):
    """A frame that cannot be built (data too long, SEQ or CMD out of range)."""


@dataclass(frozen=True)
class Variant:
    name: str  # "old" | "x"
    wide: bool  # LEN and CMD as 4 nibbles (X) instead of 1 byte (old)
    status_len: int  # status bytes in a reply
    seq_max: int  # SEQ runs 0x20..seq_max
    max_request_data: int
    max_reply_data: int

    @property
    def header_len(self) -> int:
        """LEN + SEQ + CMD."""
        return (4 if self.wide else 1) + 1 + (4 if self.wide else 1)


# old: LEN is one byte, so a reply's data must keep LEN <= 0xFF (0x20 + 3 + data + 1 + 6 + 1)
OLD = Variant("old", wide=False, status_len=6, seq_max=0x7F, max_request_data=213, max_reply_data=212)
X = Variant("x", wide=True, status_len=8, seq_max=0xFF, max_request_data=213, max_reply_data=218)
VARIANTS = {"old": OLD, "x": X}


def nibbles(value: int) -> bytes:
    """A 16-bit value as 4 bytes 0x30..0x3F, most significant nibble first (0x1AE3 -> b"1:>3")."""
    if not 0 <= value <= 0xFFFF:
        raise FrameError(f"{value} does not fit in 16 bits")
    return bytes((0x30 | value >> 12, 0x30 | (value >> 8) & 0xF, 0x30 | (value >> 4) & 0xF, 0x30 | value & 0xF))


def from_nibbles(data: bytes) -> int | None:
    """The value of 4 nibble bytes, None if one is outside 0x30..0x3F."""
    value = 0
    for byte in data:
        if not 0x30 <= byte <= 0x3F:
            return None
        value = (value << 4) | (byte - 0x30)
    return value


def bcc(body: bytes) -> bytes:
    """The checksum of the bytes after 01 up to and including 05."""
    return nibbles(sum(body) & 0xFFFF)


def escape(text: bytes) -> bytes:
    """A text field with its control bytes (< 0x20) sent as 0x10 followed by the byte + 0x40."""
    out = bytearray()
    for byte in text:
        if byte < 0x20:
            out += bytes((ESCAPE, byte + 0x40))
        else:
            out.append(byte)
    return bytes(out)


def unescape(data: bytes) -> bytes:
    out = bytearray()
    i = 0
    while i < len(data):
        if data[i] == ESCAPE and i + 1 < len(data):
            out.append(data[i + 1] - 0x40)
            i += 2
        else:
            out.append(data[i])
            i += 1
    return bytes(out)


_FRAMING = tuple(bytes((byte,)) for byte in (PREAMBLE, TERMINATOR, SEPARATOR, POSTAMBLE))


def _check(variant: Variant, seq: int, cmd: int, data: bytes, limit: int) -> None:
    if not OFFSET <= seq <= variant.seq_max:
        raise FrameError(f"SEQ {seq:#x} outside 0x20..{variant.seq_max:#x}")
    if not (0 <= cmd <= 0xFFFF if variant.wide else 0x20 <= cmd <= 0xFF):
        raise FrameError(f"command {cmd:#x} out of range for the {variant.name} protocol")
    if len(data) > limit:
        raise FrameError(f"{len(data)} data bytes, at most {limit}")
    if any(byte in data for byte in _FRAMING):  # four scans in C, not a Python loop over every byte
        raise FrameError("framing bytes inside data: escape them")


def _frame(variant: Variant, seq: int, cmd: int, payload: bytes) -> bytes:
    count = OFFSET + variant.header_len + len(payload) + 1  # + the postamble
    length = nibbles(count) if variant.wide else bytes((count,))
    body = length + bytes((seq,)) + (nibbles(cmd) if variant.wide else bytes((cmd,))) + payload + bytes((POSTAMBLE,))
    return bytes((PREAMBLE,)) + body + bcc(body) + bytes((TERMINATOR,))


def request(variant: Variant, seq: int, cmd: int, data: bytes = b"") -> bytes:
    """A host -> device frame."""
    _check(variant, seq, cmd, data, variant.max_request_data)
    return _frame(variant, seq, cmd, data)


def reply(variant: Variant, seq: int, cmd: int, data: bytes, status: bytes) -> bytes:
    """A device -> host frame."""
    _check(variant, seq, cmd, data, variant.max_reply_data)
    if len(status) != variant.status_len or min(status) < 0x80:
        raise FrameError(f"status must be {variant.status_len} bytes 0x80..0xFF")
    return _frame(variant, seq, cmd, data + bytes((SEPARATOR,)) + status)


@dataclass(frozen=True)
class Frame:
    seq: int
    cmd: int
    data: bytes
    status: bytes | None  # None in a request


@dataclass(frozen=True)
class Control:
    byte: int  # NAK or SYN


@dataclass(frozen=True)
class BadFrame:
    reason: str


Event = Frame | Control | BadFrame


class Decoder:
    """Splits a byte stream into frames, control bytes and bad frames. ``replies``: expect the device's frames
    (with 04 and status); else the host's. Bytes outside a frame other than NAK/SYN are skipped."""

    def __init__(self, variant: Variant, replies: bool) -> None:
        self.variant = variant
        self.replies = replies
        self._buf = bytearray()

    def reset(self) -> None:
        self._buf.clear()

    @property
    def pending(self) -> bool:
        """A frame has started but is not complete."""
        return bool(self._buf)

    def feed(self, data: bytes) -> list[Event]:
        events: list[Event] = []
        self._buf += data
        while self._buf:
            first = self._buf[0]
            if first != PREAMBLE:
                del self._buf[0]
                if first in (NAK, SYN):
                    events.append(Control(first))
                continue
            event = self._frame()
            if event is None:
                break
            events.append(event)
        return events

    def _frame(self) -> Event | None:
        v = self.variant
        width = 4 if v.wide else 1
        if len(self._buf) < 1 + width:
            return None
        raw_len = bytes(self._buf[1:1 + width])
        count = from_nibbles(raw_len) if v.wide else raw_len[0]
        minimum = v.header_len + 1 + ((1 + v.status_len) if self.replies else 0)
        if count is None or count - OFFSET < minimum:
            del self._buf[0]  # not a frame start: resynchronise on the next 01
            return BadFrame("bad length")
        n = count - OFFSET  # bytes after 01 up to and including 05
        total = 1 + n + 4 + 1
        if len(self._buf) < total:
            return None
        raw = bytes(self._buf[:total])
        del self._buf[:total]
        body = raw[1:1 + n]
        if body[-1] != POSTAMBLE or raw[-1] != TERMINATOR:
            return BadFrame("bad postamble or terminator")
        if raw[1 + n:1 + n + 4] != bcc(body):
            return BadFrame("bad checksum")
        seq = body[width]
        cmd_raw = body[width + 1:width + 1 + width]
        cmd = from_nibbles(cmd_raw) if v.wide else cmd_raw[0]
        if cmd is None:
            return BadFrame("bad command")
        payload = body[v.header_len:-1]
        if not self.replies:
            return Frame(seq, cmd, payload, None)
        if payload[-1 - v.status_len] != SEPARATOR:
            return BadFrame("no separator before the status")
        return Frame(seq, cmd, payload[:-1 - v.status_len], payload[-v.status_len:])
