"""The emulator's command line and control endpoint: a model of the wrong protocol is refused, the control
endpoint validates its body and reports the state, and a raw Datecs client sees the protocol's refusals."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
from datecs_env import Emulator
from typer.testing import CliRunner

from fiscald.cli import cli
from fiscald.drivers.datecs import framing
from fiscald.drivers.datecs import status as bits


def test_a_model_of_the_other_protocol_is_refused() -> None:
    result = CliRunner().invoke(cli, ["emulate", "datecs", "--protocol", "x", "--model", "DP-25"])
    assert result.exit_code == 2 and "DP-25" in result.output


def _exchange(conn: socket.socket, variant: framing.Variant, seq: int, cmd: int, data: bytes) -> framing.Frame:
    conn.sendall(framing.request(variant, seq, cmd, data))
    decoder = framing.Decoder(variant, replies=True)
    while True:
        for event in decoder.feed(conn.recv(4096)):
            if isinstance(event, framing.Frame):
                return event


def test_control_endpoint_and_protocol_refusals(tmp_path: Path) -> None:
    emu = Emulator(tmp_path / "emu", "old").start()
    try:
        bad = httpx.post(emu.control + "/simulate", json={"wire": {"drop_replies": -1}})
        assert bad.status_code == 400 and "wire.drop_replies:" in bad.json()["error"]
        assert httpx.post(emu.control + "/simulate", json={"fault": "melted"}).status_code == 400
        assert httpx.post(emu.control + "/other", json={}).status_code == 404
        state = emu.simulate(wire={"busy_ms": 0})
        assert set(state) == {"simulation", "wire", "stats", "device"}
        with socket.create_connection(("127.0.0.1", emu.port), timeout=5) as conn:
            sale = _exchange(conn, framing.OLD, 0x21, 0x31, b"Paine\tA1.00")  # no receipt open
            assert bits.Status(sale.status or b"").has(bits.NOT_PERMITTED)
            unknown = _exchange(conn, framing.OLD, 0x22, 0x99, b"")
            assert unknown.data == b"" and bits.Status(unknown.status or b"").has(bits.INVALID_COMMAND)
            opened = _exchange(conn, framing.OLD, 0x23, 0x30, b"1,0000,1")
            assert opened.data == b"1,1" and bits.Status(opened.status or b"").has(bits.FISCAL_RECEIPT_OPEN)
            again = _exchange(conn, framing.OLD, 0x23, 0x30, b"1,0000,1")  # same SEQ: not executed again
            assert again == opened and emu.simulate()["device"]["frames"] == 3
            close = _exchange(conn, framing.OLD, 0x24, 0x38, b"")  # nothing paid
            assert bits.Status(close.status or b"").has(bits.NOT_PERMITTED)
            cancelled = _exchange(conn, framing.OLD, 0x25, 0x3C, b"")
            assert not bits.Status(cancelled.status or b"").has(bits.FISCAL_RECEIPT_OPEN)
    finally:
        emu.stop()
