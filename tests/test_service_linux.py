"""``fiscald service`` on Linux: the systemd unit is valid for systemd, runs the server on the machine-wide data
dir as its own user, and its stop signal stops the server gracefully within the unit's timeout."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from fiscald.cli import cli
from fiscald.deploy import systemd
from server import free_port

runner = CliRunner()


def dry_run(*args: str) -> str:
    result = runner.invoke(cli, ["service", "install", "--dry-run", *args])
    assert result.exit_code == 0, result.output
    output: str = result.stdout
    return output


def unit_of(output: str) -> str:
    """The unit file the dry run would write."""
    start = output.index("[Unit]")
    return output[start:output.index("# run", start)]


def directives(unit: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in unit.splitlines():
        if "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            found.setdefault(key, []).append(value)
    return found


def test_dry_run_prints_the_unit_and_changes_nothing() -> None:
    output = dry_run()
    unit = directives(unit_of(output))
    assert f"# write {systemd.UNIT_PATH}" in output and "systemctl restart fiscald.service" in output
    assert unit["User"] == ["fiscald"] and unit["Restart"] == ["always"] and unit["StateDirectory"] == ["fiscald"]
    assert unit["StandardOutput"] == ["journal"] and unit["KillSignal"] == ["SIGTERM"]
    command = shlex.split(unit["ExecStart"][0])
    assert command[:4] == [sys.executable, "-m", "fiscald", "serve"]
    assert command[command.index("--data-dir") + 1] == "/var/lib/fiscald"
    assert "FISCALD_DATA_DIR=/var/lib/fiscald" in unit["Environment"]
    grace = int(command[command.index("--graceful-timeout") + 1])
    assert grace < int(unit["TimeoutStopSec"][0])  # the graceful part ends before systemd's SIGKILL


def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("SKIPPED LOUDLY: systemd-analyze is not installed (scripts/test.sh installs the systemd package)")
    unit = tmp_path / "fiscald.service"
    unit.write_text(unit_of(dry_run()), encoding="utf-8")
    run = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, encoding="utf-8",
                         timeout=60)
    assert run.returncode == 0, run.stderr
    assert "fiscald.service" not in run.stderr  # no warning about our unit


def test_the_unit_command_serves_the_data_dir_and_stops_on_the_kill_signal(tmp_path: Path) -> None:
    data = tmp_path / "machine"
    port = free_port()
    assert runner.invoke(cli, ["settings", "set", "api_port", str(port), "--data-dir", str(data)]).exit_code == 0
    unit = directives(unit_of(dry_run("--data-dir", str(data))))
    env = {**os.environ, **dict(e.split("=", 1) for e in unit["Environment"])}
    log = tmp_path / "journal.txt"
    with log.open("wb") as out:
        proc = subprocess.Popen(shlex.split(unit["ExecStart"][0]), env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/", timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        assert proc.poll() is None, log.read_text(encoding="utf-8")
        assert f"(data: {data} (--data-dir))" in log.read_text(encoding="utf-8")
        # a technician's CLI with the unit's environment finds the same data dir by itself
        listed = runner.invoke(cli, ["settings", "show"], env={"FISCALD_DATA_DIR": env["FISCALD_DATA_DIR"],
                                                               "COLUMNS": "200"})
        assert f"127.0.0.1:{port}" in listed.stdout and str(port) in listed.stdout
        kill = getattr(signal, unit["KillSignal"][0])
        proc.send_signal(kill)
        # uvicorn re-raises the signal after its graceful shutdown: systemd counts a SIGTERM exit as clean
        assert proc.wait(int(unit["TimeoutStopSec"][0])) in (0, -kill)
        assert "Application shutdown complete" in log.read_text(encoding="utf-8")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_uninstall_keeps_the_data() -> None:
    result = runner.invoke(cli, ["service", "uninstall", "--dry-run"])
    assert result.exit_code == 0 and "systemctl disable --now fiscald.service" in result.stdout
    assert "/var/lib/fiscald" not in result.stdout and "userdel" not in result.stdout
