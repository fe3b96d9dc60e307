"""A Tremol emulator on the far end of the driver's in-memory transport, for the protocol's tests: each connect
gets its own line, every frame the host sends is recorded (command, data) before the emulator answers it."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from fiscald.drivers.transport import MemoryTransport, memory_pair
from fiscald.drivers.zfp import framing as z
from fiscald.emulators.tremol import MODELS, TremolEmulator
from fiscald.errors import ConnectionLost


class EmulatedLine:
    def __init__(self, data_dir: Path, model: str, password: str | None = None, gs: bool = True) -> None:
        """``gs=False``: the register has no GS protocol (1Dh and its option never reach it: no answer)."""
        self.emulator = TremolEmulator(MODELS[model], data_dir, password)
        self.gs = gs
        self.frames: list[tuple[int, bytes]] = []
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        await self.emulator.start()

    def transport(self) -> MemoryTransport:
        host, device = memory_pair()
        device.closed = False
        self._tasks.append(asyncio.get_running_loop().create_task(self._serve(device)))
        return host

    async def _serve(self, device: MemoryTransport) -> None:
        decoder = z.Decoder(replies=False)

        async def read() -> bytes:
            chunk = b""
            while not chunk:  # b"" would tell the emulator the host went away
                try:
                    chunk = await device.read(3600)
                except (ConnectionLost, TimeoutError):
                    return b""
                for event in decoder.feed(chunk):
                    if isinstance(event, z.Frame):
                        self.frames.append((event.cmd, event.data))
                if not self.gs and chunk[:1] == bytes((z.GS,)):
                    chunk = chunk[2:]
            return chunk

        async def write(data: bytes) -> None:
            with contextlib.suppress(ConnectionLost):
                await device.write(data)

        await self.emulator.serve(read, write)

    def take(self) -> list[tuple[int, bytes]]:
        """The frames recorded since the last call."""
        frames, self.frames = self.frames, []
        return frames

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.emulator.close()
