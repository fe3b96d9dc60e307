"""Byte streams below the drivers: a serial port, a TCP connection, or an in-memory pair for tests.

Framing and command layers above see only :class:`Transport` and never know which one they have. Nothing
blocks the event loop: serial I/O is non-blocking on POSIX and runs in a worker thread elsewhere. Whatever
breaks the link (the port vanished, the socket was reset or closed) is raised as :class:`ConnectionLost`; the
manager turns it into status Disconnected and reconnects that device alone, with back-off.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import os
import sys
from typing import Any, cast

import serial

from fiscald.errors import ConnectionLost
from fiscald.models.config import ConnectionDetails
from fiscald.models.connection import NetworkDetails, SerialDetails, connection

CONNECT_TIMEOUT_S = 5.0
READ_CHUNK = 4096


class Transport(abc.ABC):
    """An ordered, reliable-or-not byte stream to one device. One user at a time (the device's worker)."""

    @property
    @abc.abstractmethod
    def description(self) -> str:
        """Where it goes, for logs and messages (never a secret)."""

    @abc.abstractmethod
    async def open(self) -> None:
        """Connect; raises ConnectionLost when the device cannot be reached."""

    @abc.abstractmethod
    async def write(self, data: bytes) -> None:
        """Send all of ``data``."""

    @abc.abstractmethod
    async def read(self, timeout_s: float) -> bytes:
        """The bytes that arrive next (at least one); raises TimeoutError if none arrive within ``timeout_s``."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release the link; safe to call twice."""


class _Link(asyncio.Protocol):
    """A TCP connection's receiving side for :class:`TcpTransport`: what arrived, and at most one reader waiting.

    Replaces asyncio's StreamReader, whose read under ``asyncio.wait_for`` cost a task, a timer and three futures
    per frame: here a frame's reply costs one future and one timer, and whatever arrived before the read is
    answered at once."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[None] | None = None  # a read waiting for bytes (or the end)
        self.drained: asyncio.Future[None] | None = None  # a write waiting while the socket's buffer is full
        self.closed: BaseException | None = None  # why no more bytes will come

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is one without being a subclass

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._wake()

    def eof_received(self) -> bool | None:
        self.connection_lost(None)
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        if self.closed is None:
            self.closed = exc or EOFError("closed by the device")
        self._wake()
        self.resume_writing()

    def pause_writing(self) -> None:
        if self.drained is None and self.transport is not None:
            self.drained = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        drained, self.drained = self.drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class TcpTransport(Transport):
    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._link: _Link | None = None

    @property
    def description(self) -> str:
        return f"tcp {self.host}:{self.port}"

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            _, self._link = await asyncio.wait_for(
                loop.create_connection(_Link, self.host, self.port), CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError) as exc:
            raise ConnectionLost(f"{self.description}: {exc or type(exc).__name__}") from exc

    def _open_link(self) -> _Link:
        link = self._link
        if link is None or link.transport is None:
            raise ConnectionLost(f"{self.description}: not open")
        return link

    async def write(self, data: bytes) -> None:
        link = self._open_link()
        if link.closed is not None or link.transport is None or link.transport.is_closing():
            raise ConnectionLost(f"{self.description}: {link.closed or 'closed'}")
        try:
            link.transport.write(data)
        except (OSError, RuntimeError) as exc:
            raise ConnectionLost(f"{self.description}: {exc}") from exc
        if link.drained is not None:  # the socket's buffer is full: wait until the device reads
            try:
                await asyncio.wait_for(asyncio.shield(link.drained), CONNECT_TIMEOUT_S)
            except TimeoutError as exc:
                raise ConnectionLost(f"{self.description}: the device reads nothing") from exc

    async def read(self, timeout_s: float) -> bytes:
        link = self._open_link()
        if not link.buffer and link.closed is None:
            loop = asyncio.get_running_loop()
            waiter = link.waiter = loop.create_future()

            def expire() -> None:
                if not waiter.done():
                    waiter.set_exception(TimeoutError(f"{self.description}: no answer within {timeout_s} s"))

            timer = loop.call_later(timeout_s, expire)
            try:
                await waiter
            finally:
                timer.cancel()
                link.waiter = None
        if link.buffer:
            data = bytes(link.buffer)
            link.buffer.clear()
            return data
        raise ConnectionLost(f"{self.description}: {link.closed}")

    async def close(self) -> None:
        link, self._link = self._link, None
        if link is not None and link.transport is not None:
            link.transport.close()


class SerialTransport(Transport):
    """A serial port through pyserial (``/dev/ttyUSB0`` on Linux, ``COM3`` on Windows).

    Opening and closing run in a worker thread. On POSIX the port's file descriptor is then read and written
    from the event loop itself (it is non-blocking), so a frame costs no thread hand-off; elsewhere each read and
    write runs in a worker thread."""

    def __init__(self, port: str, baud_rate: int) -> None:
        self.port = port
        self.baud_rate = baud_rate
        self._serial: Any = None  # serial.Serial once open
        self._fd: int | None = None  # its descriptor, read from the event loop (POSIX)

    @property
    def description(self) -> str:
        return f"serial {self.port} at {self.baud_rate} baud"

    async def open(self) -> None:
        def opening() -> Any:
            return serial.Serial(self.port, self.baud_rate, bytesize=8, parity="N", stopbits=1, timeout=0,
                                 write_timeout=CONNECT_TIMEOUT_S)

        try:
            self._serial = await asyncio.to_thread(opening)
        except (OSError, ValueError, serial.SerialException) as exc:
            raise ConnectionLost(f"{self.description}: {exc}") from exc
        if sys.platform != "win32":
            self._fd = self._serial.fileno()
            os.set_blocking(self._fd, False)

    def _port(self) -> Any:
        if self._serial is None:
            raise ConnectionLost(f"{self.description}: not open")
        return self._serial

    def _lost(self, exc: BaseException) -> ConnectionLost:
        return ConnectionLost(f"{self.description}: {exc}")

    async def _ready(self, fd: int, writing: bool, timeout_s: float) -> None:
        """Wait until ``fd`` can be read (written); TimeoutError after ``timeout_s``. One future and one timer
        (not ``asyncio.wait_for``, which wraps the wait in more futures and callbacks): this runs once per frame."""
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not ready.done():
                ready.set_result(None)

        def expire() -> None:
            if not ready.done():
                ready.set_exception(TimeoutError())

        (loop.add_writer if writing else loop.add_reader)(fd, wake)
        timer = loop.call_later(timeout_s, expire)
        try:
            await ready
        finally:
            timer.cancel()
            (loop.remove_writer if writing else loop.remove_reader)(fd)

    async def write(self, data: bytes) -> None:
        port = self._port()
        fd = self._fd
        if fd is None:
            def writing() -> None:
                port.write(data)
                port.flush()

            try:
                await asyncio.to_thread(writing)
            except (OSError, serial.SerialException) as exc:
                raise self._lost(exc) from exc
            return
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(fd, view):]
            except BlockingIOError:
                try:
                    await self._ready(fd, True, CONNECT_TIMEOUT_S)
                except TimeoutError as exc:
                    raise self._lost(exc) from exc
            except OSError as exc:
                raise self._lost(exc) from exc

    async def read(self, timeout_s: float) -> bytes:
        port = self._port()
        fd = self._fd
        if fd is None:
            def reading() -> bytes:
                port.timeout = timeout_s
                first = bytes(port.read(1))  # waits up to the timeout for the first byte
                if not first:
                    return b""
                waiting = port.in_waiting
                return first + (bytes(port.read(waiting)) if waiting else b"")

            try:
                data = await asyncio.to_thread(reading)
            except (OSError, serial.SerialException) as exc:
                raise self._lost(exc) from exc
            if not data:
                raise TimeoutError(f"{self.description}: no answer within {timeout_s} s")
            return data
        try:
            data = os.read(fd, READ_CHUNK)  # a tty with nothing waiting answers b"" (or EAGAIN)
        except BlockingIOError:
            data = b""
        except OSError as exc:  # the adapter was unplugged, the other end hung up
            raise self._lost(exc) from exc
        if data:
            return data
        try:
            await self._ready(fd, False, timeout_s)
        except TimeoutError:
            raise TimeoutError(f"{self.description}: no answer within {timeout_s} s") from None
        try:
            data = os.read(fd, READ_CHUNK)
        except BlockingIOError:
            data = b""
        except OSError as exc:
            raise self._lost(exc) from exc
        if not data:  # readable but empty: the line hung up
            raise ConnectionLost(f"{self.description}: the port hung up")
        return data

    async def close(self) -> None:
        port, self._serial, self._fd = self._serial, None, None
        if port is not None:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(port.close)


class MemoryTransport(Transport):
    """One end of an in-memory pair (:func:`memory_pair`): what one end writes, the other reads."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.peer: MemoryTransport | None = None
        self._inbox: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.closed = True

    @property
    def description(self) -> str:
        return f"memory {self.name}"

    async def open(self) -> None:
        self.closed = False

    async def write(self, data: bytes) -> None:
        if self.closed or self.peer is None or self.peer.closed:
            raise ConnectionLost(f"{self.description}: the other end is closed")
        self.peer._inbox.put_nowait(bytes(data))

    async def read(self, timeout_s: float) -> bytes:
        if self.closed:
            raise ConnectionLost(f"{self.description}: not open")
        data: bytes | None = await asyncio.wait_for(self._inbox.get(), timeout_s)
        if data is None:
            raise ConnectionLost(f"{self.description}: the other end closed")
        return data

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self.peer is not None:
                self.peer._inbox.put_nowait(None)


def memory_pair() -> tuple[MemoryTransport, MemoryTransport]:
    """Two connected ends (the driver's and the device's), both to be opened before use."""
    a, b = MemoryTransport("a"), MemoryTransport("b")
    a.peer, b.peer = b, a
    return a, b


def open_transport(details: ConnectionDetails) -> Transport:
    """The transport for a device's validated ``connection_details`` (Serial or Network); not yet opened."""
    parsed = connection(details)
    if isinstance(parsed, SerialDetails):
        return SerialTransport(parsed.port, parsed.baud_rate)
    if isinstance(parsed, NetworkDetails):
        return TcpTransport(parsed.ip_address, parsed.port)
    raise ValueError(f"connection type {details.type} has no byte-stream transport")
