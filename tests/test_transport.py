"""The byte-stream transports below the drivers: TCP against a real local server, a serial port on a real
pseudo-terminal (Linux), and the in-memory pair; each reports a dropped link as ConnectionLost."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable

import pytest

from fiscald.drivers.transport import (
    ConnectionLost,
    SerialTransport,
    TcpTransport,
    Transport,
    memory_pair,
    open_transport,
)
from fiscald.errors import Code
from fiscald.models.config import ConnectionDetails


async def _read_exactly(t: Transport, count: int) -> bytes:
    data = b""
    while len(data) < count:
        data += await t.read(2.0)
    return data


def test_memory_pair_carries_bytes_both_ways_and_reports_the_other_end_closing() -> None:
    async def main() -> None:
        a, b = memory_pair()
        await a.open()
        await b.open()
        await a.write(b"\x01\x02")
        assert await _read_exactly(b, 2) == b"\x01\x02"
        await b.write(b"ok")
        assert await _read_exactly(a, 2) == b"ok"
        with pytest.raises(TimeoutError):
            await a.read(0.01)
        await b.close()
        with pytest.raises(ConnectionLost):
            await a.read(1.0)
        with pytest.raises(ConnectionLost):
            await a.write(b"x")

    asyncio.run(main())


def _with_echo_server(body: Callable[[int, list[asyncio.StreamWriter]], Awaitable[None]]) -> None:
    async def main() -> None:
        clients: list[asyncio.StreamWriter] = []

        async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            clients.append(writer)
            while data := await reader.read(100):
                writer.write(data.upper())
                await writer.drain()
            writer.close()

        server = await asyncio.start_server(echo, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            await body(port, clients)
        finally:
            server.close()
            await server.wait_closed()

    asyncio.run(main())


def test_tcp_round_trip_then_the_device_closing_is_connection_lost() -> None:
    async def body(port: int, clients: list[asyncio.StreamWriter]) -> None:
        t = open_transport(ConnectionDetails(type="Network", details={"ip_address": "127.0.0.1", "port": port}))
        assert isinstance(t, TcpTransport) and t.description == f"tcp 127.0.0.1:{port}"
        await t.open()
        await t.write(b"abc")
        assert await _read_exactly(t, 3) == b"ABC"
        with pytest.raises(TimeoutError):
            await t.read(0.05)
        clients[0].close()
        with pytest.raises(ConnectionLost) as lost:
            await t.read(2.0)
        assert lost.value.code == Code.DEVICE_DISCONNECTED
        await t.close()
        await t.close()  # twice is fine

    _with_echo_server(body)


def test_tcp_bytes_that_arrive_unread_come_in_one_read_and_a_cancelled_read_loses_nothing() -> None:
    async def body(port: int, clients: list[asyncio.StreamWriter]) -> None:
        t = TcpTransport("127.0.0.1", port)
        await t.open()
        await t.write(b"one")
        await t.write(b"two")
        await asyncio.sleep(0.1)  # both echoes arrive while nobody reads
        assert await t.read(1.0) == b"ONETWO"
        reading = asyncio.create_task(t.read(5.0))
        await asyncio.sleep(0.02)
        reading.cancel()  # the caller's own bound, not the read's timeout: a cancellation, not a TimeoutError
        with pytest.raises(asyncio.CancelledError):
            await reading
        await t.write(b"three")
        assert await _read_exactly(t, 5) == b"THREE"
        clients[0].close()
        await asyncio.sleep(0.1)
        with pytest.raises(ConnectionLost):
            await t.write(b"after the device closed")
        await t.close()

    _with_echo_server(body)


def test_tcp_nobody_listening_is_connection_lost() -> None:
    async def main() -> None:
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        with pytest.raises(ConnectionLost):
            await TcpTransport("127.0.0.1", port).open()
        with pytest.raises(ConnectionLost):
            await TcpTransport("127.0.0.1", port).write(b"never opened")

    asyncio.run(main())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pseudo-terminals are a Linux test of the serial path")
def test_serial_port_on_a_pseudo_terminal() -> None:
    master, slave = os.openpty()
    path = os.ttyname(slave)

    async def main() -> None:
        t = open_transport(ConnectionDetails(type="Serial", details={"port": path, "baud_rate": 115200}))
        assert isinstance(t, SerialTransport) and path in t.description
        await t.open()
        try:
            await t.write(b"\x01hello\x03")
            got = b""
            while len(got) < 7:
                got += await asyncio.to_thread(os.read, master, 100)
            assert got == b"\x01hello\x03"
            os.write(master, b"reply")
            assert await _read_exactly(t, 5) == b"reply"
            with pytest.raises(TimeoutError):
                await t.read(0.05)
        finally:
            await t.close()

    try:
        asyncio.run(main())
    finally:
        os.close(master)
        os.close(slave)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pseudo-terminals are a Linux test of the serial path")
def test_a_serial_line_that_hangs_up_is_connection_lost() -> None:
    master, slave = os.openpty()
    path = os.ttyname(slave)
    os.close(slave)

    async def main() -> None:
        t = SerialTransport(path, 115200)
        await t.open()
        try:
            os.write(master, b"ok")
            assert await _read_exactly(t, 2) == b"ok"
            os.close(master)  # the device end goes away
            with pytest.raises(ConnectionLost):
                await t.read(2.0)
        finally:
            await t.close()

    asyncio.run(main())


def test_a_serial_port_that_does_not_exist_is_connection_lost() -> None:
    with pytest.raises(ConnectionLost):
        asyncio.run(SerialTransport("/dev/fiscald-no-such-port", 9600).open())


def test_virtual_devices_have_no_byte_stream() -> None:
    with pytest.raises(ValueError, match="Virtual"):
        open_transport(ConnectionDetails(type="Virtual", details={}))
