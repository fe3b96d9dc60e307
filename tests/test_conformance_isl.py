"""The register conformance suite (tests/register_conformance.py) for the ISL brands beyond Datecs: each brand's
default model on its emulator (``fiscald emulate daisy|eltrade|incotex``), over an in-memory line."""

from __future__ import annotations

from pathlib import Path

import pytest
from register_conformance import BrandCase, ReceiptCommands, Scenario, run, scenario_id, scenarios_for

from fiscald.drivers.isl import framing, protocol
from fiscald.drivers.isl.brands import BRANDS
from fiscald.drivers.isl.driver import IslDriver
from fiscald.emulators.isl import BRANDS as EMULATED
from fiscald.emulators.isl import IslEmulator


def reply_command(model: str, data: bytes) -> int | None:
    """The command a reply frame answers (a SYN or NAK answers none)."""
    frames = [e for e in framing.Decoder(framing.OLD, replies=True).feed(data) if isinstance(e, framing.Frame)]
    return frames[0].cmd if frames else None


CASES = [
    BrandCase(
        name=brand.maker,
        models=(brand.default_model,),
        make_emulator=lambda model, data_dir, name=brand.name: IslEmulator(EMULATED[name], model, data_dir),
        make_driver=lambda config, ctx, transport: IslDriver(config, ctx, transport=transport),
        reply_command=reply_command,
        commands=ReceiptCommands(open=brand.open_command, sale=protocol.SALE, subtotal=protocol.SUBTOTAL,
                                 payment=protocol.PAYMENT, close=protocol.CLOSE_RECEIPT),
        has_refunds=True,
    )
    for brand in BRANDS.values()
]


def _applies(case: BrandCase, scenario: Scenario) -> bool:
    """Cover open is a scenario only where the brand's manual has the bit (Daisy's and Incotex's do not:
    docs/devices.md); no case is collected only to be skipped."""
    return scenario.__name__ != "cover_open" or any(f.name == "cover_open"
                                                      for f in BRANDS[case.name].standing_flags)


@pytest.mark.parametrize(("case", "scenario"),
                         [pytest.param(case, scenario, id=f"{scenario_id(scenario)}-{case.name}")
                          for case in CASES for scenario in scenarios_for(case) if _applies(case, scenario)])
def test_conformance(tmp_path: Path, case: BrandCase, scenario: Scenario) -> None:
    run(case, case.models[0], scenario, tmp_path)
