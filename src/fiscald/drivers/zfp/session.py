"""One ZFP command's exchange on the host's side, without I/O: the driver moves bytes and keeps time, this
decides what to send next and when the exchange is over.

The rules ([D] Tremol's protocol description, pages as printed; [E] ErpNet.FP BgZfpFiscalPrinter.Frame.cs):

- ping (09h) before the command and again while the answer says "busy" [E 79-155, D p.8]. The answer is 40h plus
  four bits [D p.8]: bit 0 busy, bit 1 out of paper, bit 2 overheated, bit 3 no external display. Busy (41h, 43h,
  45h, 49h): ping again. Not busy: the frame goes out whatever the other bits say — the register decides, and
  refuses a printing command with STE1 31 "out of paper" [D p.7] while it still answers status and receipt reads
  (which reconciliation needs); the answer is kept in ``Exchange.ping`` for the caller's condition. ErpNet.FP
  stops at 42h-49h [E 134-142], so it cannot read a register without paper. The LAN answers end the exchange
  before anything was sent: waiting for the password (50h), busy with another connection (60h), wrong password
  (70h);
- then the frame; RETRY (0Eh) means "busy with it, keep waiting" [D p.8]; NACK (15h) means the frame arrived
  damaged and was not executed: send it again, at most ``max_writes`` times in all [E 33-34, 179];
- the reply is an ACK (two status bytes) or a data frame, carrying the request's message number (a reply
  with another number belongs to someone else and is skipped [fpgate ZFPE_NBLNOTSAME via shared/spec/tremol.md]);
- a damaged reply, or none (the driver's timeout), leaves it unknown whether the command ran: the outcome is
  ``ambiguous`` and the driver must reconcile (71h receipt counter, 72h current/last receipt) before sending
  anything again. The message number does not protect against a repeat: the description does not promise
  that a repeated number is answered from a cache [D p.92 only asks that numbers differ].
"""

from __future__ import annotations

from dataclasses import dataclass

from fiscald.drivers.zfp import framing as z

# ping answers that end an exchange before the frame is sent, with what they mean [D p.8] (LAN or WiFi only)
PING_REFUSALS: dict[int, str] = {
    z.Ping.WAITING_FOR_PASSWORD: "waiting for the LAN password", z.Ping.OTHER_CONNECTION:
        "busy with another connection", z.Ping.WRONG_PASSWORD: "wrong LAN password",
}
BUSY_BIT = 0x01  # [D p.8] bit 0; bits 1-3: no paper, overheated, no external display


@dataclass(frozen=True)
class Send:
    data: bytes
    after_busy: bool = False  # a ping repeated because the device was busy: the driver may pause first


@dataclass(frozen=True)
class Wait:
    """Nothing to send: read on (RETRY, or a reply that is not ours)."""


@dataclass(frozen=True)
class Done:
    reply: z.Ack | z.Frame


@dataclass(frozen=True)
class Failed:
    reason: str
    ping: int | None = None  # the ping answer that refused, if any
    ambiguous: bool = False  # the frame may have been executed: reconcile before sending anything again


Step = Send | Wait | Done | Failed


class Exchange:
    def __init__(self, number: int, cmd: int, data: bytes = b"", *, max_writes: int = 3,
                 max_busy: int = 1000) -> None:
        self.frame = z.frame(number, cmd, data)
        self.number = number
        self.max_writes = max_writes
        self.max_busy = max_busy
        self.writes = 0
        self.busy = 0
        self.sent = False  # the frame went out at least once
        self.ping: int | None = None  # the last answer to the ping (its condition bits)

    def start(self) -> Send:
        return Send(bytes((z.PING,)))

    def timed_out(self) -> Failed:
        """The driver waited too long for an answer."""
        if self.sent:
            return Failed("no reply", ambiguous=True)
        return Failed("no answer to the ping")

    def feed(self, event: z.Event) -> Step:
        if not self.sent:
            return self._ping(event)
        if isinstance(event, z.Byte):
            if event.value == z.RETRY:
                return Wait()
            if event.value == z.NACK:
                if self.writes >= self.max_writes:
                    return Failed(f"frame refused as damaged {self.writes} times")  # never executed
                self.writes += 1
                return Send(self.frame)
            return Wait()  # a stray byte (a late ping answer)
        if isinstance(event, z.BadFrame):
            return Failed(f"damaged reply ({event.reason})", ambiguous=True)
        if isinstance(event, (z.Ack, z.Frame)):
            return Done(event) if event.number == self.number else Wait()
        return Wait()

    def _ping(self, event: z.Event) -> Step:
        if not isinstance(event, z.Byte):
            return Wait()  # a late reply to an earlier command: not ours
        value = event.value
        reason = PING_REFUSALS.get(value)
        if reason is not None:
            return Failed(reason, ping=value)
        if value & 0xF0 != z.Ping.READY:
            return Failed(f"invalid ping answer {value:#04x}", ping=value)
        self.ping = value
        if value & BUSY_BIT:
            self.busy += 1
            if self.busy > self.max_busy:
                return Failed("device busy", ping=value)
            return Send(bytes((z.PING,)), after_busy=True)
        self.sent = True
        self.writes = 1
        return Send(self.frame)
