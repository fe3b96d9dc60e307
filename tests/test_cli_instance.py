"""One server per data dir, and a command acts only on its data dir's own server (docs/deployment.md, "One server per
data dir"): the lock and the record, a second serve refused, another instance never touched, a stale record after
a crash, read-only commands that create nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from polling import wait_for
from typer.testing import CliRunner

from fiscald import instance
from fiscald.app import open_database
from fiscald.cli import cli
from fiscald.config import DB_FILE, Settings
from fiscald.store import devices as device_repo
from server import Server, add_simulated_register, free_port

runner = CliRunner()


def fiscald(*args: str, code: int = 0, env: dict[str, str] | None = None) -> Any:
    result = runner.invoke(cli, list(args), env={"COLUMNS": "200", "FISCALD_API_TOKEN": "", **(env or {})})
    assert result.exit_code == code, result.output
    return result


def flat(text: str) -> str:
    return " ".join(text.split())


def snapshot(srv: Server) -> tuple[Any, Any, Any]:
    """Everything a command could change on a server, as it answers it."""
    return (httpx.get(srv.url + "/devices/fiscal").json()["fiscal_devices"],
            httpx.get(srv.url + "/devices/pos").json()["pos_terminals"],
            httpx.get(srv.url + "/manage/get_settings").json())


def pid_of(srv: Server) -> int:
    assert srv.proc is not None
    return srv.proc.pid


def configs(srv: Server) -> list[Any]:
    return [d["config"] for d in snapshot(srv)[0]]


def test_the_lock_is_per_open_file_and_a_probe_takes_nothing(tmp_path: Path) -> None:
    assert instance.is_held(tmp_path / "none") is False and not (tmp_path / "none").exists()
    held = instance.claim(tmp_path / "d")
    assert held is not None and instance.is_held(tmp_path / "d") is True
    assert instance.claim(tmp_path / "d", wait_s=0.2) is None  # this process too: one holder
    record = held.record("0.0.0.0", 1234)
    assert instance.read_record(tmp_path / "d") == record and record.url == "http://127.0.0.1:1234"
    held.release()
    assert instance.is_held(tmp_path / "d") is False and instance.read_record(tmp_path / "d") is None
    assert (tmp_path / "d" / instance.LOCK_FILE).exists()  # the lock file stays; only the lock goes
    again = instance.claim(tmp_path / "d", wait_s=0)
    assert again is not None and again.instance_id != held.instance_id
    again.release()


def test_the_server_records_where_it_listens_and_answers_its_instance(make_server: Any, tmp_path: Path) -> None:
    data = tmp_path / "data"
    srv: Server = make_server(data)
    record = instance.read_record(data)
    assert record is not None and record.port == srv.port and record.pid == pid_of(srv)
    root = httpx.get(srv.url + "/")
    assert root.text == "FisCool API Server running." and root.headers[instance.INSTANCE_HEADER] == record.instance_id
    assert httpx.get(srv.url + "/health").json()["instance_id"] == record.instance_id
    assert httpx.get(srv.url + "/manage/get_version").json()["instance_id"] == record.instance_id
    srv.stop()  # a clean stop removes the record; the OS drops the lock with the process
    assert instance.read_record(data) is None and instance.is_held(data) is False
    srv.start()
    assert instance.read_record(data).instance_id != record.instance_id


def test_a_second_serve_on_the_data_dir_is_refused_naming_the_first(make_server: Any, tmp_path: Path) -> None:
    data = tmp_path / "data"
    first: Server = make_server(data)
    before = snapshot(first)
    port = free_port()
    run = subprocess.run([sys.executable, "-m", "fiscald", "serve", "--port", str(port), "--data-dir", str(data),
                          "--demo"], capture_output=True, text=True, encoding="utf-8", timeout=60)
    said = flat(run.stderr)
    assert run.returncode == 4 and run.stdout == "" and "Traceback" not in said
    assert f"another fiscald server runs on data dir {data}" in said
    assert f"pid {pid_of(first)}, listening on 127.0.0.1:{first.port}" in said
    assert snapshot(first) == before and instance.read_record(data).port == first.port
    # on the first's own port too: the data dir is named, not only the port
    run = subprocess.run([sys.executable, "-m", "fiscald", "serve", "--port", str(first.port), "--data-dir",
                          str(data)], capture_output=True, text=True, encoding="utf-8", timeout=60)
    assert run.returncode == 4 and "another fiscald server runs on data dir" in flat(run.stderr)


def test_commands_never_act_on_another_instance(make_server: Any, tmp_path: Path) -> None:
    """Another fiscald (started here, on its own data dir) listens on the port data dir X has stored."""
    other: Server = make_server(tmp_path / "other")
    before = snapshot(other)
    x = tmp_path / "x"
    db = open_database(x)
    db.write_sync(lambda c: device_repo.save_settings(c, Settings(api_port=other.port, enable_simulated_devices=True)))
    db.close()
    dd = ("--data-dir", str(x))
    # X's server is not running: the commands work on X itself and say so
    listing = fiscald("devices", "list", "--json", *dd).stdout
    assert json.loads(listing) == {"source": f"data dir {x} (--data-dir), server not running", "devices": []}
    added = fiscald("devices", "add", "Casa X", *dd).stdout
    assert "server not running" in added
    new_id = added.strip().splitlines()[-1]
    fiscald("settings", "set", "language", "en", *dd)
    fiscald("devices", "disable", new_id, *dd)
    assert "server not running" in flat(fiscald("settings", "show", *dd).stdout)
    fiscald("simulate", "show", new_id, *dd, code=2)
    env_dir = fiscald("devices", "list", env={"FISCALD_DATA_DIR": str(x)}).stdout
    assert "Casa X" in env_dir and "server not running" in flat(env_dir)
    assert snapshot(other) == before

    # X held by a process whose record names the other's port: the instance differs, so nothing is read or changed
    held = instance.claim(x)
    assert held is not None
    try:
        held.record("127.0.0.1", other.port)
        for args in (("devices", "list"), ("settings", "show"), ("devices", "add", "Casa Y"),
                     ("settings", "set", "api_port", "1"), ("devices", "remove", new_id)):
            refused = flat(fiscald(*args, *dd, code=1).stdout)
            assert f"http://127.0.0.1:{other.port}: another server does (instance " in refused, refused
            assert "nothing was read or changed" in refused
        simulated = fiscald("simulate", "set", configs(other)[0]["id"], "--fault", "paper_out", *dd, code=2)
        assert "another server does" in flat(simulated.stderr)
    finally:
        held.release()
    assert snapshot(other) == before
    [mine] = json.loads(fiscald("devices", "list", "--json", *dd).stdout)["devices"]
    assert mine["config"]["id"] == new_id and mine["config"]["enabled"] is False  # nothing added, nothing removed
    db = open_database(x)
    try:
        settings = db.read_sync(device_repo.load_settings)
    finally:
        db.close()
    assert (settings.api_port, settings.language) == (other.port, "en")


def test_a_stale_record_after_a_crash(make_server: Any, tmp_path: Path) -> None:
    data = tmp_path / "data"
    device_id = add_simulated_register(data, "Casa")
    srv: Server = make_server(data, demo=False)
    crashed = instance.read_record(data)
    srv.kill()  # SIGKILL: no clean stop, the record stays; the OS releases the lock
    assert instance.read_record(data) == crashed and instance.is_held(data) is False
    dd = ("--data-dir", str(data))
    listing = flat(fiscald("devices", "list", *dd).stdout)
    assert "server not running" in listing and f"the record left by pid {pid_of(srv)} is stale" in listing
    refused = flat(fiscald("simulate", "show", device_id, *dd, code=2).stderr)
    assert f"is not running (the record it left, pid {pid_of(srv)}" in refused and "--url" in refused
    srv.start()  # the lock was released by the OS: a new server starts at once
    fresh = instance.read_record(data)
    assert fresh is not None and fresh.pid == pid_of(srv) and fresh.instance_id != crashed.instance_id
    # the server answers before its devices have started (each starts in a task of its own)
    wait_for(lambda: json.loads(fiscald("simulate", "show", device_id, *dd).stdout)["status"] != "Connecting",
             20, "the register's start")
    shown = json.loads(fiscald("simulate", "show", device_id, *dd).stdout)
    assert shown["status"] == "Connected"
    assert srv.url in flat(fiscald("devices", "list", *dd).stdout)


def test_read_only_commands_create_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "nonexistent"
    for args in (("devices", "list"), ("devices", "list", "--json"), ("settings", "show"),
                 ("journal", "verify"), ("central", "status")):
        said = flat(fiscald(*args, "--data-dir", str(missing), code=2).stderr)
        assert f"Data dir {missing} (--data-dir) does not exist" in said, said
    for args in (("devices", "remove", "x"), ("devices", "enable", "x"), ("simulate", "show", "x")):
        fiscald(*args, "--data-dir", str(missing), code=2)
    assert not missing.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    said = flat(fiscald("devices", "list", "--data-dir", str(empty), code=2).stderr)
    assert f"No fiscald database in data dir {empty}" in said
    fiscald("devices", "disable", "x", "--data-dir", str(empty), code=2)
    assert list(empty.iterdir()) == []
    # writing a first setting or device is how a data dir is prepared before the first start
    fiscald("settings", "set", "language", "en", "--data-dir", str(missing))
    assert (missing / DB_FILE).is_file()


def test_a_holder_that_has_not_said_where_it_listens(tmp_path: Path) -> None:
    """A server starting, or a command changing the data dir: commands wait for nothing and change nothing; a serve
    waits briefly for the lock, then refuses."""
    data = tmp_path / "data"
    add_simulated_register(data)
    held = instance.claim(data)
    assert held is not None
    try:
        said = flat(fiscald("settings", "set", "language", "en", "--data-dir", str(data), code=1).stdout)
        assert f"a fiscald process holds data dir {data}" in said and "nothing was read or changed" in said
        run = subprocess.run([sys.executable, "-m", "fiscald", "serve", "--port", str(free_port()), "--data-dir",
                              str(data)], capture_output=True, text=True, encoding="utf-8", timeout=60)
        assert run.returncode == 4 and "it has not said where it listens yet" in flat(run.stderr)
    finally:
        held.release()
    db = open_database(data)
    try:
        assert db.read_sync(device_repo.load_settings).language == "ro"
    finally:
        db.close()
