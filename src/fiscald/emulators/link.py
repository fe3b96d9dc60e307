"""The emulators' link layer, brand-independent: a device is anything that serves one host connection given a
``read`` (bytes in, ``b""`` when the host went away) and a ``write``; this module offers it on TCP and, where the
system has them, on a pseudo-terminal (what a host opens as a serial port).

No POSIX-only module is imported at module level: the pseudo-terminal is set up only under a ``sys.platform``
check, so the package imports (and type-checks) on Windows, where ``--pty`` is refused with a clear message.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Protocol

Read = Callable[[], Awaitable[bytes]]
Write = Callable[[bytes], Awaitable[None]]


class Device(Protocol):
    async def serve(self, read: Read, write: Write) -> None:
        """Serve one host connection until ``read`` returns ``b""``."""


class PtyUnavailable(RuntimeError):
    """This system has no pseudo-terminals (Windows): use TCP, or a null-modem pair such as com0com."""


async def serve_tcp(device: Device, host: str, port: int) -> asyncio.Server:
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
            await device.serve(read, write)
        finally:
            writer.close()

    return await asyncio.start_server(connection, host, port)


_keep: list[tuple[asyncio.Task[None], int]] = []  # pty tasks and slave ends, alive as long as the process


async def serve_pty(device: Device) -> str:
    """A pseudo-terminal pair: returns the device path a host opens as a serial port."""
    if sys.platform == "win32":
        raise PtyUnavailable("--pty needs a POSIX system; on Windows use --listen (TCP) or a virtual COM pair")
    else:
        import tty  # POSIX only: imported here, never at module level

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

        task = asyncio.create_task(device.serve(inbox.get, write))
        _keep.append((task, slave))  # the slave end stays open: a host closing its side is no hang-up
        return path


class MemoryLink:
    """Both ends of an in-process line (for tests): ``send``/``receive`` are the host's side."""

    def __init__(self) -> None:
        self._to_device: asyncio.Queue[bytes] = asyncio.Queue()
        self._to_host: asyncio.Queue[bytes] = asyncio.Queue()

    async def device_read(self) -> bytes:
        return await self._to_device.get()

    async def device_write(self, data: bytes) -> None:
        self._to_host.put_nowait(data)

    def send(self, data: bytes) -> None:
        self._to_device.put_nowait(data)

    def hang_up(self) -> None:
        self._to_device.put_nowait(b"")

    async def receive(self) -> bytes:
        return await self._to_host.get()
