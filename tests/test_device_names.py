"""Manufacturer and model names in FisCool's spellings (issue 18): any case, with or without dashes and spaces,
matched against what get_supported_devices lists (drivers/registry.py, the single source)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from fiscald.app import open_database
from fiscald.cli import cli
from fiscald.config import Settings
from fiscald.drivers.registry import SUPPORTED, canonical_names, name_key
from fiscald.store import devices as device_repo
from server import free_port

NAMES = [(e.kind, e.manufacturer, model) for e in SUPPORTED for model in e.models]


def test_no_two_supported_names_read_the_same() -> None:
    """Otherwise a spelling could name two models (normalised on both sides, whatever the tables list)."""
    models = Counter((kind, name_key(maker), name_key(model)) for kind, maker, model in set(NAMES))
    assert [name for name, count in models.items() if count > 1] == []
    makers = {(e.kind, name_key(e.manufacturer)): e.manufacturer for e in SUPPORTED}
    assert len(makers) == len({(e.kind, e.manufacturer) for e in SUPPORTED})


@st.composite
def respelled(draw: st.DrawFn) -> tuple[tuple[str, str, str], str, str]:
    """A supported name, each letter in either case, dashes dropped or spaces and dashes put between characters."""
    name = draw(st.sampled_from(NAMES))

    def spell(text: str) -> str:
        out = ""
        for ch in text.replace("-", ""):
            out += draw(st.sampled_from(["", "", " ", "-"])) if out else ""
            out += ch.upper() if draw(st.booleans()) else ch.lower()
        return out

    return name, spell(name[1]), spell(name[2])


@given(respelled())
def test_any_spelling_gives_ours(case: tuple[tuple[str, str, str], str, str]) -> None:
    (kind, maker, model), their_maker, their_model = case
    assert canonical_names(kind, their_maker, their_model) == (maker, model)


def test_unknown_names_are_left_for_validation_to_refuse() -> None:
    assert canonical_names("fiscal", "Epson", "FP-81") == ("Epson", "FP-81")
    assert canonical_names("fiscal", "datecs", "DP-2500") == ("Datecs", "DP-2500")  # the maker is still ours
    assert canonical_names("pos", "datecs", "DP-25") == ("datecs", "DP-25")  # Datecs makes no POS terminal here


def test_cli_devices_add_takes_them_too(tmp_path: Path) -> None:
    """Offline, on the data dir of a stopped server (a port nothing listens on, so no other server is found)."""
    data = tmp_path / "data"
    db = open_database(data)
    db.write_sync(lambda c: device_repo.save_settings(c, Settings(api_port=free_port())))
    db.close()
    env = {"COLUMNS": "250", "FISCALD_API_TOKEN": ""}
    added = CliRunner().invoke(cli, ["devices", "add", "Casa", "--manufacturer", "DATECS", "--model", "dp25",
                                     "--network", "127.0.0.1:4999", "--disabled", "--data-dir", str(data)], env=env)
    assert added.exit_code == 0, added.output
    listing = CliRunner().invoke(cli, ["devices", "list", "--data-dir", str(data)], env=env)
    assert "Datecs / DP-25" in listing.output
