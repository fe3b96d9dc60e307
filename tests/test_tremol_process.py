"""TremolProtocol against ``fiscald emulate tremol`` as a real process: over TCP, and over a pseudo-terminal
opened as a serial port (POSIX), a Romanian receipt with diacritics printed once."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from tremol_env import TremolProcess

from fiscald.drivers.register.pending import Payment
from fiscald.drivers.transport import SerialTransport, TcpTransport, Transport
from fiscald.drivers.tremol.protocol import TremolProtocol
from fiscald.operations import models as m
from fiscald.operations.totals import compute_receipt


async def _receipt(p: TremolProtocol) -> int | None:
    identity = await p.identify()
    assert identity.name == "TREMOL S21" and identity.serial.startswith("ZK")
    rates = await p.vat_rates()
    params = m.PrintReceiptParams.model_validate({"lines": [
        {"type": "item", "description": "Brânză de țară", "quantity_thousandths": 1500, "unit_price_cents": 2000,
         "vat": "B"}, {"type": "text", "text": "Mulțumim!"}]})
    totals = compute_receipt(params, rates)
    number = await p.open_receipt(1, p.default_password(1), params)
    for step in p.plan_receipt(params, totals):
        await p.send(step)
    assert await p.subtotal(None) == 3000
    await p.pay(Payment("card", p.payment_codes["card"], 1000))
    await p.pay(Payment("cash", p.payment_codes["cash"], 2000))
    await p.close_receipt()
    tx = await p.transaction()
    assert not tx.open and tx.number == number and tx.amount_cents == 3000 and tx.paid_cents == 3000
    return number


def _run(emu: TremolProcess, transport: Transport) -> None:
    async def main() -> None:
        p = TremolProtocol("S21-RO", lambda: transport)
        await p.connect()
        try:
            assert await _receipt(p) == 1
        finally:
            await p.disconnect()

    asyncio.run(main())
    device = emu.simulate()["device"]
    assert device["receipt_number"] == 1 and not device["receipt_open"]
    assert device["last_payment_codes"] == ["1", "0"]


def test_a_receipt_over_tcp(tmp_path: Path) -> None:
    emu = TremolProcess(tmp_path, "S21-RO")
    try:
        _run(emu, TcpTransport("127.0.0.1", emu.port))
    finally:
        emu.stop()


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_a_receipt_over_a_pty(tmp_path: Path) -> None:
    emu = TremolProcess(tmp_path, "S21-RO", pty=True)
    try:
        _run(emu, SerialTransport(emu.address, 115200))
    finally:
        emu.stop()
