"""The register conformance suite (tests/register_conformance.py) for Datecs: one model per dialect — Romanian X,
Bulgarian X, old C, old P — on the Datecs emulator, over an in-memory line."""

from __future__ import annotations

from pathlib import Path

import pytest
from register_conformance import BrandCase, ReceiptCommands, Scenario, run, scenario_id, scenarios_for

from fiscald.drivers.datecs import commands as c
from fiscald.drivers.datecs.driver import DatecsDriver
from fiscald.drivers.datecs.models import model as datecs_model
from fiscald.drivers.isl import framing
from fiscald.emulators.datecs.dialects import MODELS
from fiscald.emulators.datecs.emulator import DatecsEmulator


def reply_command(model: str, data: bytes) -> int | None:
    """The command a reply frame answers (a SYN or NAK answers none)."""
    decoder = framing.Decoder(datecs_model(model).variant, replies=True)
    frames = [e for e in decoder.feed(data) if isinstance(e, framing.Frame)]
    return frames[0].cmd if frames else None


DATECS = BrandCase(
    name="Datecs",
    models=("DP-25MX", "FP-700X", "DP-25", "FP-2000"),  # Romanian X, Bulgarian X, old C, old P
    make_emulator=lambda model, data_dir: DatecsEmulator(MODELS[model], data_dir),
    make_driver=lambda config, ctx, transport: DatecsDriver(config, ctx, transport=transport),
    reply_command=reply_command,
    commands=ReceiptCommands(open=c.OPEN_RECEIPT, sale=c.SALE, subtotal=c.SUBTOTAL, payment=c.PAYMENT,
                             close=c.CLOSE_RECEIPT),
    has_refunds=True,
)


@pytest.mark.parametrize("model", DATECS.models)
@pytest.mark.parametrize("scenario", scenarios_for(DATECS), ids=scenario_id)
def test_conformance(tmp_path: Path, model: str, scenario: Scenario) -> None:
    run(DATECS, model, scenario, tmp_path)
