"""``fiscald service`` on Linux: the systemd unit is valid for systemd, runs the server on the machine-wide data
dir as its own user, and its stop signal stops the server gracefully within the unit's timeout."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from fiscald.app import open_database
from fiscald.cli import cli
from fiscald.config import Settings
from fiscald.deploy import systemd
from fiscald.store import devices as device_repo
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


ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v", "s": " ", "\\": "\\",
           '"': '"', "'": "'"}


def unit_words(value: str, command: bool) -> list[str]:
    """A setting's words as systemd reads them (systemd.syntax(7) "Quoting": whitespace-separated, double- or
    single-quoted items, C escapes; systemd.unit(5): ``%%`` is ``%``; systemd.service(5) "Command lines":
    ``$$`` is ``$``). Only what the unit uses: any other specifier or variable fails the test."""
    words: list[str] = []
    i = 0
    while i < len(value):
        if value[i] in " \t":
            i += 1
            continue
        quote = value[i] if value[i] in "\"'" else None
        i += 1 if quote else 0
        word = ""
        while i < len(value) and (value[i] != quote if quote else value[i] not in " \t"):
            ch = value[i]
            if ch == "\\":
                word += ESCAPES[value[i + 1]]
                i += 2
                continue
            doubled = ch == "%" or (ch == "$" and command and bool(words))  # not in the program's path
            if doubled:
                assert value[i + 1] == ch, value
            word += ch
            i += 2 if doubled else 1
        assert not quote or (i < len(value) and value[i] == quote), value
        i += 1 if quote else 0
        words.append(word)
    return words


def command_of(unit: dict[str, list[str]]) -> list[str]:
    return unit_words(unit["ExecStart"][0], command=True)


def environment_of(unit: dict[str, list[str]]) -> dict[str, str]:
    return dict(word.split("=", 1) for value in unit["Environment"] for word in unit_words(value, command=False))


def test_dry_run_prints_the_unit_and_changes_nothing() -> None:
    output = dry_run()
    unit = directives(unit_of(output))
    assert f"# write {systemd.UNIT_PATH}" in output and "systemctl restart fiscald.service" in output
    assert unit["User"] == ["fiscald"] and unit["Restart"] == ["always"] and unit["StateDirectory"] == ["fiscald"]
    assert unit["StandardOutput"] == ["journal"] and unit["KillSignal"] == ["SIGTERM"]
    command = command_of(unit)
    assert command[:4] == [sys.executable, "-m", "fiscald", "serve"]
    assert command[command.index("--data-dir") + 1] == "/var/lib/fiscald"
    assert environment_of(unit)["FISCALD_DATA_DIR"] == "/var/lib/fiscald"
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
    db = open_database(data)  # written directly: `settings set` on a fresh data dir would talk to any server
    db.write_sync(lambda c: device_repo.save_settings(c, Settings(api_port=port)))  # on the default port
    db.close()
    unit = directives(unit_of(dry_run("--data-dir", str(data))))
    env = {**os.environ, **environment_of(unit)}
    log = tmp_path / "journal.txt"
    with log.open("wb") as out:
        proc = subprocess.Popen(command_of(unit), env=env, stdout=out, stderr=subprocess.STDOUT)
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


@pytest.mark.parametrize(("option", "value"), [
    ("--data-dir", "/srv/x\nExecStartPre=+/bin/sh -c id"), ("--data-dir", "/srv/x\r\nUser=root"),
    ("--user", "fiscald\nExecStartPre=+/bin/id"), ("--user", "root daemon"), ("--user", "a$b"), ("--user", ""),
    ("--python", "/usr/bin/python3\nExecStartPre=+/bin/id"), ("--python", "/usr/bin/python3\tx"),
    ("--python", "python3"), ("--python", '/opt/py"thon'), ("--python", "/opt/py\\thon"), ("--python", "/opt/py'x"),
    ("--data-dir", "relative/dir"),
])
def test_an_option_that_could_add_directives_is_refused(option: str, value: str) -> None:
    result = runner.invoke(cli, ["service", "install", "--dry-run", option, value])
    assert result.exit_code == 2, result.output
    assert f"service install: {option}:" in result.stderr and "[Unit]" not in result.stdout


HOSTILE_DIR = "/srv/a b\"c'd$HOME ${PATH} %h %% \\n\\x;LD_PRELOAD=/tmp/x.so ; é"


def test_hostile_values_are_quoted_so_systemd_reads_exactly_them(tmp_path: Path) -> None:
    python = tmp_path / "py th on $HOME ${PATH} %n ;é"  # a real interpreter under a hostile name
    python.symlink_to(sys.executable)
    unit = directives(unit_of(dry_run("--data-dir", HOSTILE_DIR, "--python", str(python))))
    assert set(unit) >= {"ExecStart", "Environment"} and "ExecStartPre" not in unit and unit["User"] == ["fiscald"]
    command = command_of(unit)
    assert command[0] == str(python) and command[command.index("--data-dir") + 1] == HOSTILE_DIR
    assert environment_of(unit) == {"FISCALD_DATA_DIR": HOSTILE_DIR, "PYTHONUNBUFFERED": "1"}
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("SKIPPED LOUDLY: systemd-analyze is not installed (scripts/test.sh installs the systemd package)")
    written = tmp_path / "fiscald.service"
    written.write_text(unit_of(dry_run("--data-dir", HOSTILE_DIR, "--python", str(python))), encoding="utf-8")
    run = subprocess.run([analyze, "verify", str(written)], capture_output=True, text=True, encoding="utf-8",
                         timeout=60)
    # systemd found the interpreter under its hostile name: it unquoted the command as we meant it
    assert run.returncode == 0 and "fiscald.service" not in run.stderr, run.stderr
