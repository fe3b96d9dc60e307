"""``fiscald devices|settings``: on the data dir of a stopped server, and through a running one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from polling import wait_for
from typer.testing import CliRunner

from fiscald.app import open_database
from fiscald.cli import cli
from fiscald.config import Settings
from fiscald.store import devices as device_repo
from server import Server, free_port

TOKEN = "cli-token-0123456789abcdef"


def fiscald(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(cli, list(args), env={"COLUMNS": "250", "FISCALD_API_TOKEN": ""})
    assert result.exit_code == code, result.output
    return result.output


def test_offline_on_the_data_dir_then_served(make_server: Any, tmp_path: Path) -> None:
    data = tmp_path / "data"
    db = open_database(data)
    db.write_sync(lambda c: device_repo.save_settings(c, Settings(api_port=free_port())))
    db.close()
    dd = ("--data-dir", str(data))
    refused = fiscald("devices", "add", "Casa 1", *dd, code=1)
    assert "enable_simulated_devices" in refused
    assert "Settings saved" in fiscald("settings", "set", "enable_simulated_devices", "true", *dd)
    out = fiscald("devices", "add", "Casa 1", "--vat", "A=1900", "--vat", "B=900", "--notes", "bar", *dd)
    assert "Fiscal device created successfully" in out and "server not running" in out
    device_id = out.strip().splitlines()[-1]
    listing = fiscald("devices", "list", *dd)
    assert device_id in listing and "Casa 1" in listing and "Simulated / Simulated" in listing
    assert "Fiscal device updated" in fiscald("devices", "disable", device_id, *dd)
    assert "no device" in fiscald("devices", "enable", "00000000-0000-4000-8000-000000000000", *dd, code=1)
    bad = fiscald("settings", "set", "bind_address", "0.0.0.0", *dd, code=1)
    assert "bind_address:" in bad and "api_token" in bad
    assert "language:" in fiscald("settings", "set", "language", "de", *dd, code=1)
    assert "takes an integer" in fiscald("settings", "set", "api_port", "high", *dd, code=2)
    fiscald("settings", "set", "language", "en", *dd)
    shown = fiscald("settings", "show", *dd)
    assert '"en"' in shown and "enable_simulated_devices" in shown and "true" in shown
    refused_serve = fiscald("serve", "--host", "0.0.0.0", *dd, code=2)
    assert "Refusing to bind" in refused_serve

    srv: Server = make_server(data, demo=False)
    [view] = httpx.get(srv.url + "/devices/fiscal").json()["fiscal_devices"]
    assert view["config"]["id"] == device_id and view["status"] == "Disabled" and view["status_text"] == "Disabled"
    assert view["vat_rates"] == {"A": 1900, "B": 900}
    srv.stop()
    assert "Fiscal device deleted successfully" in fiscald("devices", "remove", device_id, *dd)
    assert device_id not in fiscald("devices", "list", *dd)


def test_online_changes_apply_live(make_server: Any, tmp_path: Path) -> None:
    data = tmp_path / "data"
    srv: Server = make_server(data)
    device_id = srv.fiscal_ids()[0]
    url = ("--url", srv.url)
    assert "Conectat" in fiscald("devices", "list", *url)
    assert "Fiscal device updated" in fiscald("devices", "disable", device_id, *url)
    assert httpx.get(srv.url + "/devices/fiscal").json()["fiscal_devices"][0]["status"] == "Disabled"
    fiscald("devices", "enable", device_id, *url)

    # without --url the command finds the server through the record in its data dir, though it was started with
    # --port and the stored api_port is another
    assert httpx.get(srv.url + "/manage/get_settings").json()["api_port"] != srv.port
    dd = ("--data-dir", str(data))
    listing = fiscald("devices", "list", *dd)
    assert f"{srv.url}, the server of data dir {data}" in " ".join(listing.split()) and "Conectat" in listing
    assert "Settings saved" in fiscald("settings", "set", "api_token", TOKEN, *dd)
    assert httpx.get(srv.url + "/devices/fiscal").status_code == 401  # live
    assert "1011" in fiscald("devices", "list", *url, code=1)
    assert "Conectat" in fiscald("devices", "list", *url, "--token", TOKEN)
    shown = fiscald("settings", "show", *dd)  # token taken from the data dir; shown masked
    assert TOKEN not in shown and TOKEN[-4:] in shown
    out = fiscald("devices", "add", "Casa 2", *dd)
    new_id = out.strip().splitlines()[-1]
    def status() -> str:
        views = httpx.get(srv.url + "/devices/fiscal", headers={"Authorization": f"Bearer {TOKEN}"}).json()
        return str({v["config"]["id"]: v["status"] for v in views["fiscal_devices"]}[new_id])

    wait_for(lambda: status() != "Connecting", 10, "the new device's start")  # it starts in a task of its own
    assert status() == "Connected"
    fiscald("settings", "set", "api_token", "null", *dd)
    assert httpx.get(srv.url + "/devices/fiscal").status_code == 200
