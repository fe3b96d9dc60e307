"""The command line on a first run: one data dir rule for every command, a busy port, a restarted demo, ids that
can be copied, progress on long work, UTF-8 output whatever the locale."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from typer.testing import CliRunner

from fiscald import __version__
from fiscald.cli import cli
from fiscald.commands.progress import progress_bar
from fiscald.config import DB_FILE, resolve_data_dir
from fiscald.journal_export import local_naive
from server import Server, add_simulated_register, free_port, item, op

runner = CliRunner()


def fiscald(*args: str, env: dict[str, str] | None = None, code: int = 0) -> Any:
    result = runner.invoke(cli, list(args), env={"COLUMNS": "80", "FISCALD_API_TOKEN": "", **(env or {})})
    assert result.exit_code == code, result.output
    return result


def test_data_dir_rule(tmp_path: Path) -> None:
    machine, user, env_dir = tmp_path / "machine", tmp_path / "user", tmp_path / "env"
    pick = lambda explicit, environ: resolve_data_dir(explicit, environ, machine=machine, user=user)  # noqa: E731
    assert pick(None, {}).path == user  # no service installed
    machine.mkdir()
    assert pick(None, {}).path == user  # an empty folder is not a service's data dir
    (machine / DB_FILE).write_bytes(b"")
    assert str(pick(None, {})) == f"{machine} (the service's data dir)"
    assert str(pick(None, {"FISCALD_DATA_DIR": str(env_dir)})) == f"{env_dir} (FISCALD_DATA_DIR)"
    assert pick(tmp_path, {"FISCALD_DATA_DIR": str(env_dir)}).path == tmp_path


def test_every_command_honours_the_environment_and_names_the_data_dir(tmp_path: Path) -> None:
    data = tmp_path / "shop"
    env = {"FISCALD_DATA_DIR": str(data)}
    fiscald("settings", "set", "api_port", str(free_port()), env=env)  # a first setting creates the data dir
    fiscald("settings", "set", "enable_simulated_devices", "true", env=env)
    device_id = fiscald("devices", "add", "Casa 1", env=env).stdout.strip().splitlines()[-1]
    assert (data / DB_FILE).is_file()
    assert "Verified 0 journal(s)" in fiscald("journal", "verify", env=env).stderr
    missing = str(uuid.uuid4())
    export = fiscald("journal", "export", missing, env=env, code=2).stderr
    assert f"{data} (FISCALD_DATA_DIR)" in export.replace("\n", "") and "--data-dir" in export
    enable = fiscald("devices", "enable", missing, env=env, code=1).stdout.replace("\n", "")
    assert str(data) in enable and "FISCALD_DATA_DIR" in enable
    listing = fiscald("devices", "list", env=env).stdout
    assert any(device_id in line for line in listing.splitlines())
    nowhere = fiscald("journal", "verify", "--data-dir", str(tmp_path / "none"), env=env, code=2).stderr
    assert f"{tmp_path / 'none'} (--data-dir)" in nowhere.replace("\n", "")


def test_devices_list_keeps_ids_whole_at_80_columns_and_as_json(tmp_path: Path) -> None:
    data = tmp_path / "d"
    ids = [add_simulated_register(data, name) for name in ("Casa de marcat de la intrare", "Casa 2")]
    listing = fiscald("devices", "list", "--data-dir", str(data)).stdout
    assert all(len(line) <= 80 for line in listing.splitlines())
    assert all(any(i in line for line in listing.splitlines()) for i in ids)  # each id on one line
    shown = json.loads(fiscald("devices", "list", "--json", "--data-dir", str(data)).stdout)
    assert sorted(d["config"]["id"] for d in shown["devices"]) == sorted(ids) and str(data) in shown["source"]


def _serve(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fiscald", "serve", *args], capture_output=True, text=True,
                          encoding="utf-8", timeout=60)


def test_a_busy_port_is_named_and_nothing_changes(tmp_path: Path, server: Server) -> None:
    data = tmp_path / "fresh"
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        run = _serve(["--port", str(port), "--data-dir", str(data), "--demo"])
    assert run.returncode == 3 and run.stdout == ""  # no banner, no register
    assert f"Port {port} on 127.0.0.1 is in use: another program" in run.stderr.replace("\n", "")
    if sys.platform.startswith("linux"):
        assert f"pid {os.getpid()}: " in run.stderr.replace("\n", "")  # this test process holds it
    assert "--port" in run.stderr and "api_port" in run.stderr and "Traceback" not in run.stderr
    assert not data.exists()
    run = _serve(["--port", str(server.port), "--data-dir", str(data), "--demo"])
    assert run.returncode == 3 and "a fiscald (or FisCool) server already answers" in run.stderr.replace("\n", "")
    assert not data.exists()


def test_demo_names_only_a_register_it_creates(make_server: Any, tmp_path: Path) -> None:
    data = tmp_path / "demo"
    srv: Server = make_server(data)
    [device_id] = srv.fiscal_ids()
    srv.stop()
    srv.start()
    assert srv.log().count("Simulated register:") == 1 and srv.log().count(f"fiscald {__version__} on") == 2
    assert srv.fiscal_ids() == [device_id]


def test_progress_bar_counts_on_a_terminal_only() -> None:
    shown = io.StringIO()
    with progress_bar(Console(file=shown, force_terminal=True, width=100), "Exporting", 2000) as done:
        done(1000)
        done(2000)
    assert "2000/2000" in shown.getvalue() or "1000/2000" in shown.getvalue()
    quiet = io.StringIO()
    with progress_bar(Console(file=quiet, force_terminal=False), "Exporting", 10) as done:
        done(10)
    assert quiet.getvalue() == ""


def test_export_to_a_redirected_stdout_in_a_legacy_code_page(server: Server, device_id: str) -> None:
    """Windows redirects stdout in the ANSI code page (cp1250 has no ș/ț): the export is UTF-8 anyway."""
    name = "Țuică și brânză"
    receipt = op(device_id, "print_receipt", {"lines": [item(name)], "payments": [{"type": "cash",
                                                                                   "amount_cents": 1000}]})
    assert httpx.post(server.url + "/devices/operation", json=receipt, timeout=30).status_code == 200
    env = {**os.environ, "PYTHONIOENCODING": "cp1250"}
    run = subprocess.run([sys.executable, "-m", "fiscald", "journal", "export", device_id, "--format", "text",
                          "--data-dir", str(server.data_dir)], capture_output=True, env=env, timeout=60)
    assert run.returncode == 0, run.stderr
    assert name.upper() in run.stdout.decode("utf-8").upper() and b"\r\n" not in run.stdout
    assert b"Exported" in run.stderr


def test_times_before_1970_never_ask_the_platform() -> None:
    def windows_offset(moment: dt.datetime) -> dt.timedelta:  # Windows' localtime() fails before 1970
        if moment < dt.datetime(1970, 1, 1, tzinfo=dt.UTC):
            raise OSError(22, "Invalid argument")
        return dt.timedelta(hours=2)

    early = dt.datetime(1900, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    assert local_naive(early, windows_offset) == dt.datetime(1900, 1, 1, 7, 0)
    assert local_naive(dt.datetime(2026, 6, 1, tzinfo=dt.UTC), windows_offset) == dt.datetime(2026, 6, 1, 2, 0)


def test_journal_bounds_before_1970_are_answered(client: httpx.Client, device_id: str) -> None:
    r = client.get(f"/devices/{device_id}/journal", params={"from": "1901-02-03T04:05:06+02:00"})
    assert r.status_code == 200 and r.json()["count"] >= 0
    r = client.get(f"/devices/{device_id}/journal", params={"to": "1969-12-31T23:59:59-01:00"})
    assert r.status_code == 200 and r.json()["count"] == 0
