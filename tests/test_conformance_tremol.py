"""The register conformance suite (tests/register_conformance.py) for Tremol: one model per dialect — Bulgarian,
Romanian, V2 — on the Tremol emulator, over an in-memory line.

ZFP acknowledgements carry the request's message number, not its command [D p.7]: the emulator below notes which
command each number was sent with, so the suite can lose the reply to a given step. Not run: refunds (the
emulator takes no storno receipts) and cover open — ZFP has no cover: 20h has no such flag [D p.10-11] and STE1
31 is "out of paper, printer failure" [D p.7]; ``test_cover_open_is_a_printer_failure`` says what a register
answers instead."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from register_conformance import (
    BrandCase,
    ReceiptCommands,
    Rig,
    Scenario,
    cover_open,
    receipt,
    refused,
    run,
    scenario_id,
    scenarios_for,
)

from fiscald.drivers.tremol import protocol as c
from fiscald.drivers.tremol.driver import TremolDriver
from fiscald.drivers.zfp import framing as z
from fiscald.emulators.link import Read, Write
from fiscald.emulators.tremol import MODELS, TremolEmulator
from fiscald.errors import Code


class NumberedEmulator(TremolEmulator):
    """The Tremol emulator, noting the command each message number was last sent with."""

    current: NumberedEmulator | None = None

    def __init__(self, model: str, data_dir: Path) -> None:
        super().__init__(MODELS[model], data_dir)
        self.sent: dict[int, int] = {}
        NumberedEmulator.current = self

    async def serve(self, read: Read, write: Write) -> None:
        decoder = z.Decoder(replies=False)

        async def noting() -> bytes:
            chunk = await read()
            for event in decoder.feed(chunk):
                if isinstance(event, z.Frame):
                    self.sent[event.number] = event.cmd
            return chunk

        await super().serve(noting, write)


def reply_command(model: str, data: bytes) -> int | None:
    """The command an acknowledgement or data reply answers (a ping answer, RETRY or NACK answers none)."""
    emulator = NumberedEmulator.current
    for event in z.Decoder(replies=True).feed(data):
        if isinstance(event, (z.Ack, z.Frame)) and emulator is not None:
            return emulator.sent.get(event.number)
    return None


TREMOL = BrandCase(
    name="Tremol",
    models=("M20", "M20-RO", "M20 V2"),  # Bulgarian, Romanian, V2
    make_emulator=NumberedEmulator,
    make_driver=lambda config, ctx, transport: TremolDriver(config, ctx, transport=transport),
    reply_command=reply_command,
    commands=ReceiptCommands(open=c.OPEN_RECEIPT, sale=c.SALE, subtotal=c.SUBTOTAL, payment=c.PAYMENT,
                             close=c.CLOSE_RECEIPT),
    has_refunds=False,
)
RUN = scenarios_for(TREMOL, leaving_out=(cover_open,))


@pytest.mark.parametrize("model", TREMOL.models)
@pytest.mark.parametrize("scenario", RUN, ids=scenario_id)
def test_conformance(tmp_path: Path, model: str, scenario: Scenario) -> None:
    run(TREMOL, model, scenario, tmp_path)


async def _cover_open(rig: Rig) -> None:
    await rig.control(fault="cover_open")
    err = await refused(rig.driver.print_receipt(receipt()))
    details: dict[str, Any] = err.details or {}
    assert err.code == Code.PAPER_OUT and details["device_error"] == "12"  # [D p.7] "printer failure"
    assert await rig.printed() == 0 and await rig.journal() == []
    await rig.control(fault="none")
    await rig.driver.poll()
    assert (await rig.driver.print_receipt(receipt()))["receipt_number"] is not None and await rig.printed() == 1


def test_cover_open_is_a_printer_failure(tmp_path: Path) -> None:
    run(TREMOL, "M20", _cover_open, tmp_path)
