"""What the emulator tests share: a host on an in-process memory link, a conformance case of the Datecs framing
(Datecs' own corpus and the ISL brands', which frame as Datecs' old protocol) and its strict check, and the lines
an ``fiscald emulate`` process announces."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Protocol

from fiscald.drivers.isl import framing
from fiscald.emulators.link import Device, MemoryLink

SYNTAX = (0, 0)
INVALID = (0, 1)
NOT_PERMITTED = (1, 1)
PAPER_OUT = (2, 0)
FISCAL_OPEN = (2, 3)
NON_FISCAL_OPEN = (2, 5)


@dataclass(frozen=True)
class Case:
    source: str
    cmd: int
    request: str
    reply: str | re.Pattern[str]
    bits: frozenset[tuple[int, int]] = frozenset()
    clear: frozenset[tuple[int, int]] = frozenset()
    error: int | None = None
    control: dict[str, object] = field(default_factory=dict)  # a POST /simulate body applied before the request


def case(source: str, cmd: int, request: str, reply: str | re.Pattern[str], bits: tuple[tuple[int, int], ...] = (),
         clear: tuple[tuple[int, int], ...] = (), error: int | None = None, **control: object) -> Case:
    return Case(source, cmd, request, reply, frozenset(bits), frozenset(clear), error, dict(control))


def check(case: Case, reply: framing.Frame, codepage: str) -> None:
    """The reply's data field as the case says (exact, or a full match), every ``bits`` set, every ``clear`` bit
    clear, and byte 3's error number when the case names one."""
    data = reply.data.decode(codepage)
    where = f"{case.source}: {case.cmd:#x} {case.request!r} -> {data!r}"
    if isinstance(case.reply, re.Pattern):
        assert case.reply.fullmatch(data), where
    else:
        assert data == case.reply, where
    status = reply.status or b""
    for byte, bit in case.bits:
        assert status[byte] & (1 << bit), f"{where}: status bit {byte}.{bit} not set ({status.hex()})"
    for byte, bit in case.clear:
        assert not status[byte] & (1 << bit), f"{where}: status bit {byte}.{bit} set ({status.hex()})"
    if case.error is not None:
        assert status[3] & 0x7F == case.error, f"{where}: error number {status[3] & 0x7F} ({status.hex()})"


class LinkHost:
    """A host on a memory link to ``device``, which serves it until ``close``."""

    def __init__(self, device: Device) -> None:
        self.link = MemoryLink()
        self.task = asyncio.create_task(device.serve(self.link.device_read, self.link.device_write))

    async def close(self) -> None:
        self.link.hang_up()
        await self.task


class FramedHost(LinkHost):
    """A host of the Datecs framing (``variant``): frames out, the reply frame back (SYN skipped); text requests
    are sent in ``codepage``."""

    def __init__(self, device: Device, variant: framing.Variant, codepage: str = "cp1251") -> None:
        super().__init__(device)
        self.variant = variant
        self.codepage = codepage
        self.seq = 0x20

    async def send(self, cmd: int, data: bytes | str, seq: int | None = None) -> None:
        if seq is None:
            self.seq = self.seq + 1 if self.seq < self.variant.seq_max else 0x20
            seq = self.seq
        raw = data.encode(self.codepage) if isinstance(data, str) else data
        self.link.send(framing.request(self.variant, seq, cmd, raw))

    async def reply(self) -> framing.Frame:
        decoder = framing.Decoder(self.variant, replies=True)
        while True:
            for event in decoder.feed(await asyncio.wait_for(self.link.receive(), 5)):
                if isinstance(event, framing.Frame):
                    return event

    async def ask(self, cmd: int, data: bytes | str, seq: int | None = None) -> framing.Frame:
        await self.send(cmd, data, seq)
        return await self.reply()


class Emulator(Device, Protocol):
    async def start(self) -> None: ...

    def close(self) -> None: ...


@contextlib.asynccontextmanager
async def framed(emulator: Emulator, variant: framing.Variant) -> AsyncIterator[FramedHost]:
    """``emulator`` started, a ``FramedHost`` on it; afterwards the host hangs up and the emulator closes."""
    await emulator.start()
    host = FramedHost(emulator, variant)
    try:
        yield host
    finally:
        await host.close()
        emulator.close()


def announced(readline: Callable[[], str]) -> tuple[str, str]:
    """Read an ``fiscald emulate`` process's output up to ``listening on ...``: (the control URL, or "" when
    none was announced, and the address it listens on)."""
    control = address = ""
    seen: list[str] = []
    while not address:
        line = readline()
        if not line:
            raise RuntimeError(f"emulator exited: {''.join(seen)}")
        seen.append(line)
        if line.startswith("control on "):
            control = "http://" + line.removeprefix("control on ").strip()
        elif line.startswith("listening on "):
            address = line.removeprefix("listening on ").strip()
    return control, address
