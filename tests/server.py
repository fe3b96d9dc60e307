"""Start the real fiscald server as a child process on a free port (shared by tests and bench)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from fiscald.app import open_database
from fiscald.models.config import ConnectionDetails, FiscalDeviceConfig, PosConfig
from fiscald.store import devices as device_repo


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def refuse_started_records(data_dir: Path, key: str) -> None:
    """A trigger in the (stopped) server's store that refuses the *started* record of operations keyed ``key``: a
    real failure of that one write, for the tests of what follows it."""
    db = open_database(data_dir)
    try:
        db.write_sync(lambda c: c.execute(
            f"CREATE TRIGGER refuse_started BEFORE INSERT ON operations WHEN NEW.idem_key = '{key}' "
            "BEGIN SELECT RAISE(ABORT, 'the store refuses this record'); END"))
    finally:
        db.close()


def add_simulated_register(data_dir: Path, name: str = "Sim", vat_rates: dict[str, int] | None = None,
                           **fields: Any) -> str:
    """Configure a Simulated register in a (stopped) server's data dir; returns its id."""
    db = open_database(data_dir)
    try:
        config = FiscalDeviceConfig(id=str(uuid.uuid4()), name=name, manufacturer="Simulated", model="Simulated",
                                    connection_details=ConnectionDetails(type="Virtual"), vat_rates=vat_rates,
                                    **fields)

        def save(conn: Any) -> None:
            settings = device_repo.load_settings(conn)
            settings.enable_simulated_devices = True
            device_repo.save_settings(conn, settings)
            device_repo.save_device(conn, config)

        db.write_sync(save)
        return config.id
    finally:
        db.close()


def add_simulated_pos(data_dir: Path, name: str = "Sim POS", bank: str | None = "Banca Test") -> str:
    """Configure a Simulated POS terminal in a (stopped) server's data dir; returns its id."""
    db = open_database(data_dir)
    try:
        config = PosConfig(id=str(uuid.uuid4()), name=name, manufacturer="Simulated", model="Simulated", bank=bank,
                           connection_details=ConnectionDetails(type="Virtual"))
        db.write_sync(lambda conn: device_repo.save_device(conn, config))
        return config.id
    finally:
        db.close()


class Server:
    def __init__(self, data_dir: Path, demo: bool = True, extra: list[str] | None = None) -> None:
        self.data_dir = data_dir
        self.demo = demo
        self.extra = extra or []
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0, port: int | None = None) -> Server:
        return self.launch(port).wait_ready(timeout)

    def launch(self, port: int | None = None) -> Server:
        """Start the process without waiting for it to answer (servers that do not depend on each other can
        start side by side: each start is mostly the interpreter importing fiscald)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        args = [sys.executable, "-m", "fiscald", "serve", "--port", str(self.port), "--data-dir", str(self.data_dir)]
        if self.demo:
            args.append("--demo")
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(args + self.extra, stdout=log, stderr=subprocess.STDOUT, env=env)
        log.close()
        return self

    def wait_ready(self, timeout: float = 20.0) -> Server:
        """Return once the launched server answers on its port (or raise with its log)."""
        assert self.proc is not None, "launch() first"
        deadline = time.monotonic() + timeout
        # one client for the whole wait: each httpx.get() builds a client and its TLS context (~30 ms of CPU),
        # which at 20 polls a second took CPU from the very server start it was waiting for
        with httpx.Client(timeout=0.5) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
                try:
                    if client.get(self.url + "/").status_code == 200:
                        return self
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
        raise RuntimeError(f"server did not answer within {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace", encoding="utf-8") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL: the crash the store must survive."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def fiscal_ids(self) -> list[str]:
        body = httpx.get(self.url + "/devices/fiscal").json()
        return [d["config"]["id"] for d in body["fiscal_devices"]]


def item(description: str = "Cafea", qty: int = 1000, price: int = 1000, vat: str = "A",
         **extra: Any) -> dict[str, Any]:
    return {"type": "item", "description": description, "quantity_thousandths": qty, "unit_price_cents": price,
            "vat": vat, **extra}


def op(device_id: str, operation: str, params: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"device_id": device_id, "operation": operation, **extra}
    if params is not None:
        body["params"] = params
    return body
