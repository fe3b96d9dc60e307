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
from fiscald.exitcodes import ExitCode
from fiscald.models.config import ConnectionDetails, FiscalDeviceConfig, PosConfig
from fiscald.store import devices as device_repo

# Ports for servers and emulators come from a block of this xdist worker's own, below the kernel's ephemeral range
# (Linux 32768-60999, Windows 49152-65535). A port the kernel picked (bind to 0) was free only until the socket
# closed: any outgoing connection on the machine could take it as its local port before the server bound it, and
# once did (a CI run's server exited with "address already in use"). Outgoing connections never use a port below
# the ephemeral range, and each worker has its own block, so two workers never hand out the same port.
PORT_BLOCK_START = 20000
PORT_BLOCK_SIZE = 1000
PORT_BLOCKS = 12  # 20000-31999: workers gw0..gw11 (more wrap around; the bind check still applies)


def _worker_ports() -> list[int]:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    low = PORT_BLOCK_START + (int(worker) if worker.isdigit() else 0) % PORT_BLOCKS * PORT_BLOCK_SIZE
    ports = list(range(low, low + PORT_BLOCK_SIZE))
    start = os.getpid() % PORT_BLOCK_SIZE  # two suites on one machine start at different places in the block
    return ports[start:] + ports[:start]


_ports = _worker_ports()
_next_port = 0


def free_port() -> int:
    """A port nothing listens on now, that no other worker of this run hands out and no outgoing connection takes."""
    global _next_port
    for _ in range(len(_ports)):
        port = _ports[_next_port % len(_ports)]
        _next_port += 1
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue  # in use (or in TIME_WAIT): the next one
            return port
    raise RuntimeError(f"no free port in {min(_ports)}..{max(_ports)}")


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
        self.chose_port = True
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
        self.chose_port = port is None
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
        relaunches = 3
        # one client for the whole wait: each httpx.get() builds a client and its TLS context (~30 ms of CPU),
        # which at 20 polls a second took CPU from the very server start it was waiting for
        with httpx.Client(timeout=0.5) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    if self.proc.returncode == ExitCode.PORT_IN_USE and self.chose_port and relaunches:
                        relaunches -= 1  # another program took the port after free_port() saw it free: another
                        self.launch()
                        continue
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
