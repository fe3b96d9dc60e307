"""One conversation with a Datecs register: send a command, get its reply, per the manuals' link rules.

- A new command takes the next SEQ; a resend of the same command reuses it, so the device, which never
  executes a frame carrying the SEQ of the previous one, answers a resend with its last reply instead of
  executing twice.
- NAK (the device found the frame damaged) -> resend the same frame.
- SYN (still working: long reports, pinpad) -> keep waiting; each SYN restarts the reply deadline, but the whole
  wait is bounded per call (``busy_limit_s``, chosen by the caller per kind of command): a device that only says
  "busy" ends in :class:`ConnectionLost` within that bound (7 x 600 s was possible before).
- No reply within the deadline, or a damaged reply -> resend, at most ``retries`` times; then the link is
  declared lost (:class:`ConnectionLost`), and the caller must treat the command's outcome as unknown.
- A reply with our SEQ but another command is ambiguous: an older answer the device replayed, or a damaged
  device. A command that changes nothing (``repeatable``) is sent again under a fresh SEQ; any other is never
  re-sent under a new SEQ (the device would execute it a second time: a payment paid twice) — the link is
  declared lost and the caller reconciles with the device.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

from fiscald.drivers.isl import framing
from fiscald.drivers.isl.framing import BadFrame, Control, Decoder, Frame, Variant
from fiscald.drivers.transport import Transport
from fiscald.errors import ConnectionLost

REPLY_TIMEOUT_S = 0.5  # the manuals: the device answers within 60 ms; the host waits 500 ms
RETRIES = 6  # resends before the link is declared lost
BUSY_LIMIT_S = 30.0  # default bound of a call's SYN wait; callers pass longer ones for reports and payments


@dataclass(frozen=True)
class Reply:
    cmd: int
    data: bytes
    status: bytes


@dataclass
class WireStats:
    """Bytes and frames exchanged (the benchmark's pure wire time is computed from these)."""
    sent: int = 0
    received: int = 0
    resends: int = 0


class AmbiguousReply(ConnectionLost):
    """A reply that does not answer the command sent: its outcome is unknown, reconcile."""


class Session:
    def __init__(self, transport: Transport, variant: Variant, reply_timeout_s: float = REPLY_TIMEOUT_S,
                 retries: int = RETRIES) -> None:
        self.transport = transport
        self.variant = variant
        self.reply_timeout_s = reply_timeout_s
        self.retries = retries
        self.stats = WireStats()
        self._decoder = Decoder(variant, replies=True)
        self._seq = random.randint(framing.OFFSET, variant.seq_max)

    def _next_seq(self) -> int:
        self._seq = framing.OFFSET if self._seq >= self.variant.seq_max else self._seq + 1
        return self._seq

    async def call(self, cmd: int, data: bytes = b"", busy_limit_s: float = BUSY_LIMIT_S,
                   repeatable: bool = False) -> Reply:
        seq = self._next_seq()
        frame = framing.request(self.variant, seq, cmd, data)
        loop = asyncio.get_running_loop()
        attempt = 0
        busy_until = loop.time() + busy_limit_s  # one bound for the whole call, across resends
        while True:
            self._decoder.reset()
            await self.transport.write(frame)
            self.stats.sent += len(frame)
            deadline = loop.time() + self.reply_timeout_s
            resend = False
            while not resend:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    chunk = await self.transport.read(remaining)
                except TimeoutError:
                    break
                self.stats.received += len(chunk)
                for event in self._decoder.feed(chunk):
                    if isinstance(event, Control):
                        if event.byte == framing.NAK:
                            resend = True
                            break
                        if loop.time() > busy_until:
                            raise ConnectionLost(f"{self.transport.description}: still busy after "
                                                 f"{busy_limit_s:.0f} s (command {cmd:#x})")
                        deadline = loop.time() + self.reply_timeout_s
                    elif isinstance(event, BadFrame):
                        resend = True
                        break
                    elif isinstance(event, Frame) and event.seq == seq:
                        if event.cmd == cmd and event.status is not None:
                            return Reply(cmd, event.data, event.status)
                        if not repeatable:
                            raise AmbiguousReply(f"{self.transport.description}: the answer to command {cmd:#x} "
                                                 f"came back as command {event.cmd:#x}")
                        seq = self._next_seq()  # harmless to run twice: ask again under a fresh SEQ
                        frame = framing.request(self.variant, seq, cmd, data)
                        resend = True
                        break
            attempt += 1
            if attempt > self.retries:
                raise ConnectionLost(f"{self.transport.description}: no valid answer to command {cmd:#x} "
                                     f"after {attempt} attempts")
            self.stats.resends += 1
