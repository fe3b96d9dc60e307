"""``bind_address`` is checked when saved (an address this machine can listen on; IPv4-mapped IPv6 refused), and
``fiscald serve`` says with a distinct exit code why it cannot start (docs/deployment.md, "Exit codes")."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import polling
import pytest

from fiscald.app import open_database
from fiscald.config import Settings
from fiscald.core.validation import bind_address_problem
from fiscald.deploy import ports
from fiscald.exitcodes import ExitCode
from fiscald.store import devices as device_repo
from server import free_port

NOT_HERE = "192.0.2.77"  # TEST-NET-1 (RFC 5737): never an address of this machine


def test_bind_address_is_checked_when_saved(make_app: Any) -> None:
    app = make_app()
    with app.client() as client:
        for address, said in [("::ffff:127.0.0.1", "write 127.0.0.1"), (NOT_HERE, "not an address this machine"),
                              ("my host", "not an IP address")]:
            answer = client.post("/manage/save_settings", json={"bind_address": address})
            assert answer.status_code == 400 and "bind_address" in answer.json()["error"], answer.text
            assert said in answer.json()["error"]
        assert client.get("/manage/get_settings").json()["bind_address"] == "127.0.0.1"
        for address in ("127.0.0.2", "::1", "localhost"):
            assert client.post("/manage/save_settings", json={"bind_address": address}).status_code == 200


def test_the_rules_of_bind_address() -> None:
    assert bind_address_problem("127.0.0.1") is None and bind_address_problem("0.0.0.0") is None
    assert "IPv4-mapped" in (bind_address_problem("::ffff:10.0.0.1") or "")


def serve(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fiscald", "serve", "--data-dir", str(data), *args],
                          capture_output=True, text=True, timeout=60, encoding="utf-8")


def stored_bind_address(data: Path, address: str, port: int) -> None:
    """A data dir saved before the check existed (or by hand): the server must still refuse clearly."""
    db = open_database(data)
    db.write_sync(lambda c: device_repo.save_settings(c, Settings(bind_address=address, api_port=port,
                                                                  api_token="t" * 16)))
    db.close()


@pytest.mark.parametrize("address", ["::ffff:127.0.0.1", NOT_HERE])
def test_an_address_it_cannot_listen_on_is_not_port_in_use(tmp_path: Path, address: str) -> None:
    stored_bind_address(tmp_path, address, free_port())
    run = serve(tmp_path)
    assert run.returncode == ExitCode.CANNOT_LISTEN, run.stderr
    assert "Cannot listen on" in run.stderr and "in use" not in run.stderr
    run = serve(tmp_path / "other", "--host", address, "--port", str(free_port()))
    assert run.returncode in (ExitCode.REFUSED, ExitCode.CANNOT_LISTEN), run.stderr  # no token there: refused


def test_each_start_failure_has_its_own_exit_code(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        run = serve(tmp_path, "--port", str(taken.getsockname()[1]))
    assert run.returncode == ExitCode.PORT_IN_USE and "is in use" in run.stderr, run.stderr
    run = serve(tmp_path, "--host", "0.0.0.0", "--port", str(free_port()))
    assert run.returncode == ExitCode.REFUSED and "api_token" in run.stderr
    codes = {ExitCode.OK, ExitCode.FAILED, ExitCode.REFUSED, ExitCode.PORT_IN_USE, ExitCode.CANNOT_LISTEN,
             ExitCode.START_FAILED}
    assert len(codes) == 6  # all distinct
    documented = Path(__file__).parents[1].joinpath("docs", "deployment.md").read_text(encoding="utf-8")
    for code in codes - {ExitCode.OK}:
        assert f"| {code} |" in documented


def test_the_port_is_held_from_the_check_on() -> None:
    """``ports.bind`` returns the listening socket the server then answers on: while it is held no other bind of the
    port succeeds (not even one with SO_REUSEADDR, as uvicorn's), so nothing can take the port during the start."""
    port = free_port()
    held = ports.bind("127.0.0.1", port)
    assert isinstance(held, socket.socket)
    try:
        again = ports.bind("127.0.0.1", port)
        assert isinstance(again, ports.Refusal) and again.exit_code == ExitCode.PORT_IN_USE, again
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass  # it listens already: a client that comes during the start waits for its answer
    finally:
        held.close()
    freed = ports.bind("127.0.0.1", port)
    assert isinstance(freed, socket.socket)
    freed.close()


def test_a_second_server_on_the_port_is_refused_while_the_first_starts(tmp_path: Path) -> None:
    """The first server holds its port from before its start-up: a second one (another data dir) started as soon as
    the port takes connections is refused with exit code 3, and the first answers the connection made meanwhile."""
    port = free_port()
    first = subprocess.Popen([sys.executable, "-m", "fiscald", "serve", "--data-dir", str(tmp_path / "a"),
                              "--port", str(port), "--demo"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        early = connect_when_listening(port, first)
        run = serve(tmp_path / "b", "--port", str(port))
        assert run.returncode == ExitCode.PORT_IN_USE and "is in use" in run.stderr, run.stderr
        early.sendall(f"GET / HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\nconnection: close\r\n\r\n".encode())
        early.settimeout(30)
        assert early.recv(1024).startswith(b"HTTP/1.1 200"), "the connection made during the start is answered"
        early.close()
    finally:
        first.terminate()
        first.wait(15)


def connect_when_listening(port: int, proc: subprocess.Popen[bytes]) -> socket.socket:
    connected: list[socket.socket] = []

    def attempt() -> bool:
        assert proc.poll() is None, f"the server exited with {proc.returncode}"
        try:
            connected.append(socket.create_connection(("127.0.0.1", port), timeout=1))
        except OSError:
            return False
        return True
    polling.wait_for(attempt, what="the server's port takes connections")
    return connected[0]
