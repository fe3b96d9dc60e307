"""``fiscald devices add`` with a real register's settings: operator, its password and payment codes go into the
saved configuration, and the API's refusals come back naming the field (header/footer lines on a Datecs register,
which prints its own: docs/devices.md)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from fiscald.app import open_database
from fiscald.cli import cli
from fiscald.config import Settings
from fiscald.models.config import FiscalDeviceConfig
from fiscald.store import devices as device_repo
from server import free_port


def fiscald(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(cli, list(args), env={"COLUMNS": "250", "FISCALD_API_TOKEN": ""})
    assert result.exit_code == code, result.output
    return result.output


def stored(data: Path, device_id: str) -> FiscalDeviceConfig:
    db = open_database(data)
    try:
        devices = db.read_sync(device_repo.list_devices)
    finally:
        db.close()
    [config] = [d for d in devices if d.id == device_id]
    assert isinstance(config, FiscalDeviceConfig)
    return config


def test_devices_add_sends_operator_password_lines_and_payment_codes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    db = open_database(data)  # a port nothing listens on: the command works on the data dir itself
    db.write_sync(lambda c: device_repo.save_settings(c, Settings(api_port=free_port())))
    db.close()
    dd = ("--data-dir", str(data))
    register = ("--manufacturer", "Datecs", "--model", "FP-2000", "--network", f"127.0.0.1:{free_port()}")
    out = fiscald("devices", "add", "Casa 1", *register, "--operator", "7", "--operator-password", "4321",
                  "--payment-code", "card=C", "--payment-code", "voucher = J", *dd)
    assert "Fiscal device created successfully" in out
    config = stored(data, out.strip().splitlines()[-1])
    assert (config.operator, config.operator_password) == (7, "4321")
    assert config.payment_codes == {"card": "C", "voucher": "J"}
    refused = fiscald("devices", "add", "Casa 4", *register, "--header-line", "MAGAZIN TEST SRL", *dd, code=1)
    assert "header_lines: a Datecs register prints its own header" in refused

    plain = fiscald("devices", "add", "Casa 2", "--manufacturer", "Datecs", "--model", "FP-2000",
                    "--network", f"127.0.0.1:{free_port()}", *dd)  # none given: the defaults
    config = stored(data, plain.strip().splitlines()[-1])
    assert (config.operator, config.operator_password, config.payment_codes) == (1, None, None)
    assert config.header_lines == [] and config.footer_lines == []

    assert "payment_codes.card" in fiscald("devices", "add", "Casa 3", *register, "--payment-code", "card=1", *dd,
                                           code=1)  # an X-protocol code on an old-protocol register
    assert "operator_password" in fiscald("devices", "add", "Casa 3", *register, "--operator-password", "12ab", *dd,
                                          code=1)
    assert "operator" in fiscald("devices", "add", "Casa 3", *register, "--operator", "100", *dd, code=1)
    assert "TYPE=CODE" in fiscald("devices", "add", "Casa 3", *register, "--payment-code", "card", *dd, code=2)
    assert "footer_lines" in fiscald("devices", "add", "Casa 3", *register, *dd, "--footer-line", "x" * 43, code=1)
