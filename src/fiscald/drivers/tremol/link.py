"""The ZFP line to one register: moves the bytes and keeps the time for ``drivers/zfp/session.py``'s exchange
(ping, frame, NACK, RETRY, the reply with our message number), plus the two steps outside a command: the LAN
password after connecting and the 1Dh query (a bare line, no framing).

[D] = Tremol's protocol description protocol_description_BG_1910211454 (pages as printed); [E] = ErpNet.FP
ErpNet.FP.Core/Drivers/BgZfpFiscalPrinter.Frame.cs; [F] = EDA fpgate ProtocolTremolV10.java (shared/spec/tremol.md).

- A reply that never came, or came damaged, after the frame went out: the command may have run — raised as
  :class:`~fiscald.errors.ConnectionLost` and never sent again (the message number is no protection against a
  repeat [D p.92]); the register core reconciles with 71h/72h.
- RETRY (0Eh) restarts the reply deadline, within ``busy_limit_s`` for the whole command (a Z report prints for
  long) [D p.8].
- A ping refused (waiting for or wrong LAN password, another connection) leaves nothing done on the device
  [D p.8]: raised as the matching :class:`~fiscald.errors.FiscalError` with the answer in ``details``. The
  condition bits of a ping's answer (no paper, overheated) are kept in ``last_ping``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from fiscald.drivers.transport import Transport
from fiscald.drivers.zfp import framing as z
from fiscald.drivers.zfp import session as s
from fiscald.errors import Code, ConnectionLost, FiscalError

REPLY_TIMEOUT_S = 2.0  # [F]: 2 s; each RETRY restarts it
PING_TIMEOUT_S = 1.0  # [F] waits 200 ms; a loaded host (or a LAN) needs more: one second per ping
PING_TRIES = 3  # [E Frame.cs:34, 86]: three pings without an answer, then the device is not answering
BUSY_PAUSE_S = 0.05  # between pings while the device answers 41h "busy"
BUSY_LIMIT_S = 30.0  # default bound of one command's busy time (pings 41h and RETRYs)
GS_TIMEOUT_S = 1.0  # a register without the GS protocol may stay silent

# ping answers that refuse a command (LAN only), as our codes [D p.8]; the condition bits (no paper, overheated,
# no display) refuse nothing: the register refuses what it cannot print (session.py)
PING_CODES: dict[int, Code] = {
    z.Ping.WAITING_FOR_PASSWORD: Code.CONFIG, z.Ping.WRONG_PASSWORD: Code.CONFIG,
    z.Ping.OTHER_CONNECTION: Code.DEVICE_BUSY,
}


@dataclass
class LinkStats:
    sent: int = 0
    received: int = 0
    commands: int = 0
    retries: int = 0  # RETRY bytes seen
    resends: int = 0  # frames sent again after a NACK


class Link:
    def __init__(self, transport: Transport, *, reply_timeout_s: float = REPLY_TIMEOUT_S,
                 ping_timeout_s: float = PING_TIMEOUT_S, start_number: int = 0) -> None:
        self.transport = transport
        self.reply_timeout_s = reply_timeout_s
        self.ping_timeout_s = ping_timeout_s
        self.numbers = z.MessageNumbers(start_number)
        self.stats = LinkStats()
        self._decoder = z.Decoder(replies=True)
        self.last_ping: int | None = None  # the last answer to a ping (40h + condition bits) [D p.8]

    @property
    def description(self) -> str:
        return self.transport.description

    async def _write(self, data: bytes) -> None:
        self.stats.sent += len(data)
        await self.transport.write(data)

    async def login(self, password: str) -> None:
        """The LAN password followed by LF, right after connecting [D p.6]; the next ping says whether it was
        taken (70h: wrong)."""
        await self._write(password.encode("ascii") + bytes((z.ETX,)))

    async def call(self, cmd: int, data: bytes = b"", busy_limit_s: float = BUSY_LIMIT_S) -> z.Ack | z.Frame:
        """One command; its acknowledgement or data reply."""
        exchange = s.Exchange(self.numbers.next(), cmd, data)
        self.stats.commands += 1
        self._decoder.reset()
        loop = asyncio.get_running_loop()
        give_up = loop.time() + busy_limit_s
        step: s.Step = exchange.start()
        unanswered_pings = 0
        while True:
            self.last_ping = exchange.ping if exchange.ping is not None else self.last_ping
            if isinstance(step, s.Done):
                return step.reply
            if isinstance(step, s.Failed):
                raise self._failed(step, cmd)
            if isinstance(step, s.Send):
                if step.after_busy:
                    if loop.time() > give_up:
                        raise ConnectionLost(f"{self.description}: still busy after {busy_limit_s:.0f} s "
                                             f"(command {cmd:#04x} not sent)")
                    await asyncio.sleep(BUSY_PAUSE_S)
                if step.data not in (bytes((z.PING,)),) and exchange.writes > 1:
                    self.stats.resends += 1
                await self._write(step.data)
            timeout = self.reply_timeout_s if exchange.sent else self.ping_timeout_s
            try:
                chunk = await self.transport.read(timeout)
            except TimeoutError:
                if not exchange.sent and unanswered_pings + 1 < PING_TRIES:
                    unanswered_pings += 1
                    step = s.Send(bytes((z.PING,)))
                    continue
                raise self._failed(exchange.timed_out(), cmd) from None
            self.stats.received += len(chunk)
            step = s.Wait()
            for event in self._decoder.feed(chunk):
                if isinstance(event, z.Byte) and event.value == z.RETRY and exchange.sent:
                    self.stats.retries += 1
                    if loop.time() > give_up:
                        raise ConnectionLost(f"{self.description}: still busy with command {cmd:#04x} after "
                                             f"{busy_limit_s:.0f} s")
                step = exchange.feed(event)
                if not isinstance(step, s.Wait):
                    break

    def _failed(self, failed: s.Failed, cmd: int) -> FiscalError:
        if failed.ping is not None and failed.ping in PING_CODES:
            return FiscalError(PING_CODES[failed.ping], f"the register answered the ping {failed.ping:#04x}: "
                                                        f"{failed.reason}",
                               {"device_ping": f"{failed.ping:#04x}", "device_command": f"{cmd:#04x}"})
        # never sent, sent and unanswered, or damaged: the core treats all three as a link to reconcile over
        return ConnectionLost(f"{self.description}: command {cmd:#04x}: {failed.reason}")

    async def gs(self, option: str) -> str:
        """1Dh and ``option``; the bare answer line without its LF [D p.93]."""
        await self._write(z.gs_query(option))
        line = bytearray()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + GS_TIMEOUT_S
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise ConnectionLost(f"{self.description}: no answer to 1Dh {option}")
            try:
                chunk = await self.transport.read(remaining)
            except TimeoutError:
                raise ConnectionLost(f"{self.description}: no answer to 1Dh {option}") from None
            self.stats.received += len(chunk)
            for b in chunk:
                if b == z.ETX:
                    return line.decode("latin-1")
                if b == z.NACK and not line:
                    raise FiscalError(Code.DEVICE, f"the register does not know 1Dh {option}")
                line.append(b)
