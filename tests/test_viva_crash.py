"""SIGKILL during a Viva card sale, with fiscald and the terminal emulator (`fiscald emulate viva`) as real
processes: the restarted server journals the session the killed process started while idle, the retry with the
same Idempotency-Key answers it (one charge), and a session left in progress can still be aborted by pos_void (no
charge)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fiscald.app import open_database
from fiscald.drivers.viva.driver import session_id_for
from fiscald.models.config import ConnectionDetails, PosConfig
from fiscald.store import devices as device_repo
from server import Server


class EmulatorProcess:
    def __init__(self, data_dir: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fiscald", "emulate", "viva", "--listen", "127.0.0.1:0", "--data-dir",
             str(data_dir), "--control", "127.0.0.1:0"], stdout=subprocess.PIPE, text=True, encoding="utf-8")
        assert self.proc.stdout is not None
        lines = [self.proc.stdout.readline().strip() for _ in range(2)]
        self.control = next(line for line in lines if line.startswith("control on ")).rsplit(":", 1)[1]
        self.port = int(next(line for line in lines if line.startswith("listening on ")).rsplit(":", 1)[1])

    def simulate(self, **body: Any) -> None:
        assert httpx.post(f"http://127.0.0.1:{self.control}/simulate", json=body).status_code == 200

    def ledger(self) -> dict[str, Any]:
        answer: dict[str, Any] = httpx.get(f"http://127.0.0.1:{self.control}/charges").json()
        return answer

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


@pytest.fixture()
def terminal(tmp_path: Path) -> Iterator[EmulatorProcess]:
    term = EmulatorProcess(tmp_path / "terminal")
    yield term
    term.stop()


def add_viva(data_dir: Path, port: int) -> str:
    db = open_database(data_dir)
    try:
        config = PosConfig(id=str(uuid.uuid4()), name="Viva", manufacturer="VivaWallet", model="Q30",
                           connection_details=ConnectionDetails(type="Network",
                                                                details={"ip_address": "127.0.0.1", "port": port}))
        db.write_sync(lambda conn: device_repo.save_device(conn, config))
        return config.id
    finally:
        db.close()


def sale(url: str, pos: str, key: str) -> httpx.Response:
    return httpx.post(f"{url}/devices/operation", json={"device_id": pos, "operation": "pos_sale",
                                                        "params": {"amount_cents": 1500}},
                      headers={"Idempotency-Key": key}, timeout=60)


def kill_during_sale(srv: Server, term: EmulatorProcess, pos: str, key: str) -> None:
    """Start a sale, SIGKILL fiscald once the terminal has the session (the card not yet read)."""
    thread = threading.Thread(target=lambda: _swallow(lambda: sale(srv.url, pos, key)), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not any(r["method"] == "POST" and r["body"]["sessionId"] == session_id_for(pos, "pos_sale", key)
                  for r in term.ledger()["requests"]):
        assert time.monotonic() < deadline, "the sale never reached the terminal"
        time.sleep(0.05)
    srv.kill()
    thread.join(10)


def _swallow(call: Any) -> None:
    with contextlib.suppress(httpx.HTTPError):  # the server was killed under the request
        call()


def test_sigkill_during_sale_then_retry_and_abort(tmp_path: Path, terminal: EmulatorProcess) -> None:
    data = tmp_path / "fiscald"
    data.mkdir()
    pos = add_viva(data, terminal.port)
    terminal.simulate(card_delay_ms=4000)
    srv = Server(data, demo=False).start()
    kill_during_sale(srv, terminal, pos, "crash-1")
    srv = Server(data, demo=False).start()
    try:
        # nobody asks: the restarted server resolves the session while idle and journals the approval
        deadline = time.monotonic() + 30
        while not httpx.get(f"{srv.url}/devices/{pos}/journal").json()["entries"]:
            assert time.monotonic() < deadline, "the interrupted sale was never journaled"
            time.sleep(0.2)
        retried = sale(srv.url, pos, "crash-1")
        assert retried.status_code == 200, retried.text
        assert retried.json()["result"]["transaction_id"] == session_id_for(pos, "pos_sale", "crash-1")
        assert [c["amount"] for c in terminal.ledger()["charges"]] == [1500]  # one charge, not two
        # a session still waiting for the card when the process died: pos_void aborts it, nothing is charged
        terminal.simulate(card_delay_ms=30_000)
        kill_during_sale(srv, terminal, pos, "crash-2")
        srv = Server(data, demo=False).start()
        session = session_id_for(pos, "pos_sale", "crash-2")
        void = httpx.post(f"{srv.url}/devices/operation", json={
            "device_id": pos, "operation": "pos_void", "params": {"transaction_id": session}}, timeout=30)
        assert void.status_code == 200, void.text
        assert void.json()["result"]["approved"] is True
        again = sale(srv.url, pos, "crash-2")
        assert again.json()["status"] == 3002 and again.json()["details"]["abort_success"] is True
        assert [c["amount"] for c in terminal.ledger()["charges"]] == [1500]
        kinds = [e["kind"] for e in httpx.get(f"{srv.url}/devices/{pos}/journal").json()["entries"]]
        assert kinds == ["pos_sale", "pos_failed"]  # both outcomes journaled
    finally:
        srv.stop()
