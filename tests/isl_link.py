"""The ISL brands' driver tests share: a Transport whose other end is an emulated register in this process
(``fiscald emulate daisy|eltrade|incotex``'s IslEmulator over a memory link), recording every request frame the
driver sends, so a test can check the bytes on the wire against the manual's syntax."""

from __future__ import annotations

import asyncio
import contextlib

from fiscald.drivers.isl import framing
from fiscald.drivers.transport import Transport
from fiscald.emulators.isl import IslEmulator
from fiscald.emulators.link import MemoryLink
from fiscald.errors import ConnectionLost


class EmulatorLine(Transport):
    """One connection to ``emulator``: opened, it serves the line until closed. ``requests`` records every frame
    the host sent (command, data bytes), resends included."""

    def __init__(self, emulator: IslEmulator, requests: list[tuple[int, bytes]]) -> None:
        self.emulator = emulator
        self.requests = requests
        self._link: MemoryLink | None = None
        self._task: asyncio.Task[None] | None = None
        self._decoder = framing.Decoder(framing.OLD, replies=False)

    @property
    def description(self) -> str:
        return f"memory line to {self.emulator.brand.name}"

    async def open(self) -> None:
        self._link = MemoryLink()
        self._task = asyncio.create_task(self.emulator.serve(self._link.device_read, self._link.device_write))

    async def write(self, data: bytes) -> None:
        if self._link is None:
            raise ConnectionLost(f"{self.description}: closed")
        for event in self._decoder.feed(data):
            if isinstance(event, framing.Frame):
                self.requests.append((event.cmd, event.data))
        self._link.send(data)

    async def read(self, timeout_s: float) -> bytes:
        if self._link is None:
            raise ConnectionLost(f"{self.description}: closed")
        return await asyncio.wait_for(self._link.receive(), timeout_s)

    async def close(self) -> None:
        link, task, self._link, self._task = self._link, self._task, None, None
        if link is not None:
            link.hang_up()
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await task
