"""`fiscald serve` itself: the demo register it prints, and the refusal to listen beyond loopback without a token."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from fiscald.app import open_database
from fiscald.store import devices as device_repo
from server import Server, free_port


@pytest.mark.parametrize("host", ["0.0.0.0", "127.0.0.1.invalid", "127.evil.invalid"])
def test_non_loopback_bind_needs_a_token(tmp_path: Path, host: str) -> None:
    """Loopback is decided on addresses: a name that merely starts with 127. is not loopback (nor is one that
    does not resolve)."""
    run = subprocess.run([sys.executable, "-m", "fiscald", "serve", "--host", host, "--port", str(free_port()),
                          "--data-dir", str(tmp_path)], capture_output=True, text=True, timeout=60, encoding="utf-8")
    assert run.returncode == 2
    assert "api_token" in run.stderr


def test_with_a_token_it_listens_and_requires_it(tmp_path: Path, make_server: Any) -> None:
    db = open_database(tmp_path)
    try:
        def set_token(conn: Any) -> None:
            settings = device_repo.load_settings(conn)
            settings.api_token = "a-long-enough-token-123"
            device_repo.save_settings(conn, settings)

        db.write_sync(set_token)
    finally:
        db.close()
    srv: Server = make_server(tmp_path, extra=["--host", "0.0.0.0"])
    assert httpx.get(srv.url + "/devices/fiscal").status_code == 401
    ok = httpx.get(srv.url + "/devices/fiscal", headers={"Authorization": "Bearer a-long-enough-token-123"})
    assert ok.status_code == 200 and len(ok.json()["fiscal_devices"]) == 1


def test_demo_prints_the_url_and_the_register_id(make_server: Any) -> None:
    srv: Server = make_server()
    [device_id] = srv.fiscal_ids()
    log = srv.log()
    assert f"http://127.0.0.1:{srv.port}" in log and device_id in log


def _serve(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fiscald", "serve", "--port", str(free_port()), *args],
                          capture_output=True, text=True, timeout=60, encoding="utf-8")


@pytest.mark.parametrize("where", ["a-file", "a-file/below", "missing/../a-file"])
def test_a_data_dir_that_cannot_be_one_is_refused_in_one_line(tmp_path: Path, where: str) -> None:
    """docs/quickstart.md: exit code 2 and one line saying why, no traceback."""
    (tmp_path / "a-file").write_text("not a folder\n", encoding="utf-8")
    run = _serve("--data-dir", str(tmp_path / where))
    assert run.returncode == 2, run.stderr
    [line] = run.stderr.splitlines()
    assert line.startswith(f"Cannot use data dir {tmp_path / where}") and "--data-dir DIR" in line
    assert "file, not a folder" in line or "Not a directory" in line or "No such file" in line
    assert (tmp_path / "a-file").read_text(encoding="utf-8") == "not a folder\n"


def test_version_option() -> None:
    from fiscald import __version__

    run = subprocess.run([sys.executable, "-m", "fiscald", "--version"], capture_output=True, text=True, timeout=60,
                         encoding="utf-8")
    assert (run.returncode, run.stdout) == (0, f"fiscald {__version__}\n")


@pytest.mark.parametrize(("given", "expected"), [
    (["--demo"], ["--demo"]),
    (["--demo", "true"], ["--demo"]),
    (["--demo", "TRUE", "--port", "5"], ["--demo", "--port", "5"]),
    (["--demo", "false"], []),
    (["--demo=false", "--port", "5"], ["--port", "5"]),
    (["--demo=yes"], ["--demo"]),
    (["--demo", "--port", "5"], ["--demo", "--port", "5"]),
    (["--port", "5", "--demo"], ["--port", "5", "--demo"]),
    (["--data-dir", "true"], ["--data-dir", "true"]),
])
def test_demo_takes_an_optional_bool(given: list[str], expected: list[str]) -> None:
    from fiscald.cli import demo_flag

    assert demo_flag(given) == expected


def test_demo_with_another_word_is_refused(tmp_path: Path) -> None:
    run = _serve("--data-dir", str(tmp_path), "--demo", "maybe")
    assert run.returncode == 2 and "'maybe' is not true or false" in run.stderr
    assert not (tmp_path / "fiscald.db").exists()


@pytest.mark.parametrize("value", ["true", "false"])
def test_demo_true_and_false(tmp_path: Path, make_server: Any, value: str) -> None:
    srv: Server = make_server(tmp_path, demo=False, extra=["--demo", value])
    assert len(srv.fiscal_ids()) == (1 if value == "true" else 0)
    settings = httpx.get(srv.url + "/manage/get_settings").json()
    assert settings["enable_simulated_devices"] is (value == "true")
