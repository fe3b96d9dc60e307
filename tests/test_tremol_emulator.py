"""``fiscald emulate tremol`` as a real process (TCP, and a pty on POSIX) and in process: the command line, one
host at a time (60h), the LAN password step, RETRY while busy, NACK, wire faults, and a restart with a receipt
open reported once as a power loss. The description's replies themselves are in the corpus."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from tremol_env import TremolProcess
from typer.testing import CliRunner

from fiscald.cli import cli
from fiscald.drivers.zfp import framing as z
from fiscald.emulators.link import MemoryLink
from fiscald.emulators.tremol import MODELS, TremolEmulator
from fiscald.errors import Code, FiscalError

OPEN = b"1;0000;1;1;2$"
SALE = "Хляб".ljust(36).encode("cp1251") + b";\xc1;1.00"  # VAT class Б


def _read_reply(recv: Any) -> z.Ack | z.Frame:
    decoder = z.Decoder(replies=True)
    while True:
        for event in decoder.feed(recv()):
            if isinstance(event, (z.Ack, z.Frame)):
                return event


def _ask(conn: socket.socket, number: int, cmd: int, data: bytes = b"") -> z.Ack | z.Frame:
    conn.sendall(bytes((z.PING,)))
    assert conn.recv(1) == bytes((z.Ping.READY,))
    conn.sendall(z.frame(number, cmd, data))
    return _read_reply(lambda: conn.recv(4096))


def _ste(reply: z.Ack | z.Frame) -> str:
    assert isinstance(reply, z.Ack), reply
    return bytes((reply.fd_error, reply.command_error)).decode()


def test_models_and_options_are_checked() -> None:
    unknown = CliRunner().invoke(cli, ["emulate", "tremol", "--model", "M99"])
    assert unknown.exit_code == 2 and "M20-RO" in unknown.output
    both = CliRunner().invoke(cli, ["emulate", "tremol", "--pty", "--password", "1234"])
    assert both.exit_code == 2 and "LAN" in both.output
    assert MODELS["M20-RO"].dialect.codepage == "cp1250" and MODELS["M20 V2"].dialect.old_commands


def test_over_tcp_one_host_at_a_time_and_a_restart_mid_receipt(tmp_path: Path) -> None:
    emu = TremolProcess(tmp_path)
    try:
        with socket.create_connection(("127.0.0.1", emu.port), timeout=5) as conn:
            conn.sendall(bytes((z.ON,)))
            assert conn.recv(1) == bytes((z.ON,))  # [D p.8]
            with socket.create_connection(("127.0.0.1", emu.port), timeout=5) as other:
                other.sendall(bytes((z.PING,)))
                assert other.recv(1) == bytes((z.Ping.OTHER_CONNECTION,))  # [D p.8]: 60h
            assert _ste(_ask(conn, 1, 0x30, OPEN)) == "00"
            assert _ste(_ask(conn, 2, 0x31, SALE)) == "00"
            conn.sendall(b"\x02\x23\x23\x20\x30\x30\x0a")  # a damaged checksum
            assert conn.recv(1) == bytes((z.NACK,))
            emu.simulate(wire={"drop_replies": 1})  # the next reply is lost
            conn.sendall(z.frame(3, 0x31, SALE))
            conn.settimeout(0.5)
            with pytest.raises(TimeoutError):
                conn.recv(16)
            conn.settimeout(5)
            info = _ask(conn, 4, 0x72)  # reconcile: the sale was booked once
            assert isinstance(info, z.Frame) and info.data.startswith(b"1;002;")
        emu.stop(signal.SIGKILL)  # the power goes with the receipt open
        emu = TremolProcess(tmp_path)
        with socket.create_connection(("127.0.0.1", emu.port), timeout=5) as conn:
            assert _ste(_ask(conn, 1, 0x31, SALE)) == "=0"  # [D p.7]: 3Dh, once
            assert _ste(_ask(conn, 2, 0x31, SALE)) == "00"
            info = _ask(conn, 3, 0x72)
            assert isinstance(info, z.Frame) and info.data.startswith(b"1;004;")  # both booked (3Dh came with 30h)
            assert emu.simulate()["device"]["receipt_open"] is True
    finally:
        emu.stop()


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_over_a_pty(tmp_path: Path) -> None:
    emu = TremolProcess(tmp_path, pty=True)
    try:
        fd = os.open(emu.address, os.O_RDWR | os.O_NOCTTY | getattr(os, "O_BINARY", 0))
        try:
            import tty

            tty.setraw(fd)
            os.write(fd, bytes((z.PING,)))
            assert os.read(fd, 1) == bytes((z.Ping.READY,))
            os.write(fd, z.frame(7, 0x21))
            reply = _read_reply(lambda: os.read(fd, 4096))
            assert isinstance(reply, z.Frame) and reply.number == 7 and b"TREMOL M20" in reply.data
        finally:
            os.close(fd)
    finally:
        emu.stop()


def test_password_retry_storm_and_busy_pings(tmp_path: Path) -> None:
    async def run() -> None:
        emulator = TremolEmulator(MODELS["M20"], tmp_path, password="1234")
        await emulator.start()
        link = MemoryLink()
        task = asyncio.create_task(emulator.serve(link.device_read, link.device_write))

        async def byte(send: bytes) -> int:
            link.send(send)
            return (await asyncio.wait_for(link.receive(), 5))[0]

        assert await byte(bytes((z.PING,))) == z.Ping.WAITING_FOR_PASSWORD  # [D p.6, p.8]
        assert await byte(b"9999\n" + bytes((z.PING,))) == z.Ping.WRONG_PASSWORD
        assert await byte(b"1234\n" + bytes((z.PING,))) == z.Ping.READY
        await emulator.control({"wire": {"busy_ms": 400}})
        started = time.monotonic()
        link.send(z.frame(1, 0x7C, b"X"))
        assert await byte(bytes((z.PING,))) in (z.Ping.BUSY, z.RETRY)  # busy while the report runs
        link.send(z.frame(2, 0x20))  # a new command while busy: RETRY [D p.8]
        decoder = z.Decoder(replies=True)
        events: list[z.Event] = []
        while not any(isinstance(e, z.Ack) for e in events):
            events += decoder.feed(await asyncio.wait_for(link.receive(), 5))
        assert time.monotonic() - started >= 0.4
        assert sum(1 for e in events if e == z.Byte(z.RETRY)) >= 3
        assert [e for e in events if isinstance(e, z.Ack)] == [z.Ack(1, 0x30, 0x30)]
        link.hang_up()
        await task
        emulator.close()

    asyncio.run(run())


def test_day_by_vat_and_last_z_answer_the_description_layouts(tmp_path: Path) -> None:
    """6Dh: eight sale amounts, their sum, eight storno amounts, their sum [D p.59]; 73h: LastZ date; number;
    RAM resets; TotalReceiptCounter[6]; DD-MM-YYYY HH:MM; EJ number; last receipt type [D p.76]."""
    async def run() -> None:
        emulator = TremolEmulator(MODELS["M20"], tmp_path)
        await emulator.start()
        link = MemoryLink()
        task = asyncio.create_task(emulator.serve(link.device_read, link.device_write))

        async def ask(number: int, cmd: int, data: bytes = b"") -> z.Ack | z.Frame:
            link.send(bytes((z.PING,)))
            assert (await asyncio.wait_for(link.receive(), 5))[0] == z.Ping.READY
            link.send(z.frame(number, cmd, data))
            decoder = z.Decoder(replies=True)
            while True:
                for event in decoder.feed(await asyncio.wait_for(link.receive(), 5)):
                    if isinstance(event, (z.Ack, z.Frame)):
                        return event

        for number, (cmd, data) in enumerate([(0x30, OPEN), (0x31, SALE), (0x35, b"0;0;1.00"), (0x38, b"")], 1):
            assert _ste(await ask(number, cmd, data)) == "00"
        day = await ask(5, 0x6D)
        assert isinstance(day, z.Frame)
        assert day.data.decode().split(";") == ["0.00", "1.00", *["0.00"] * 6, "1.00", *["0.00"] * 9]
        assert _ste(await ask(6, 0x7C, b"Z")) == "00"
        last = await ask(7, 0x73)
        assert isinstance(last, z.Frame)
        assert re.fullmatch(rb"\d\d-\d\d-\d{4};1;0;000001;\d\d-\d\d-\d{4} \d\d:\d\d;\d{1,2};[0-5]", last.data)
        day = await ask(8, 0x6D)
        assert isinstance(day, z.Frame) and day.data.decode().split(";")[8] == "0.00"
        link.hang_up()
        await task
        emulator.close()

    asyncio.run(run())


def test_fault_at_is_checked_and_armed(tmp_path: Path) -> None:
    async def run() -> None:
        emulator = TremolEmulator(MODELS["M20"], tmp_path)
        await emulator.start()
        try:
            with pytest.raises(FiscalError) as caught:
                await emulator.control({"fault_at": {"command": 0x35, "fault": "fire"}})
            assert caught.value.code == Code.CONFIG and "fault_at" in str(caught.value.detail)
            armed = await emulator.control({"fault_at": {"command": 0x35, "nth": 2, "fault": "paper_out"}})
            assert armed["fault_at"] == {"command": 0x35, "fault": "paper_out", "nth": 2}
            assert (await emulator.control({"fault_at": None}))["fault_at"] is None
        finally:
            emulator.close()

    asyncio.run(run())
