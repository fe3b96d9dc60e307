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
