"""The Datecs emulator as a child process (TCP or a pseudo-terminal) and a Datecs register configured on it,
for the tests and the benchmark."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from emulated import announced

from fiscald.app import open_database
from fiscald.models.config import ConnectionDetails, FiscalDeviceConfig
from fiscald.store import devices as device_repo
from server import Server, free_port


class Emulator:
    def __init__(self, data_dir: Path, protocol: str = "x", model: str | None = None, pty: bool = False,
                 baud: int | None = None, port: int = 0) -> None:
        self.data_dir = data_dir
        self.protocol = protocol
        self.model = model or ("FP-700X" if protocol == "x" else "DP-25")
        self.pty = pty
        self.baud = baud
        self.port = port
        self.proc: subprocess.Popen[str] | None = None
        self.address = ""
        self.control = ""

    def start(self) -> Emulator:
        return self.launch().wait_ready()

    def launch(self) -> Emulator:
        """Start the process without waiting (a TCP emulator on a fixed port can start beside the server)."""
        args = [sys.executable, "-m", "fiscald", "emulate", "datecs", "--protocol", self.protocol, "--model",
                self.model, "--data-dir", str(self.data_dir), "--control", "127.0.0.1:0",
                "--listen", f"127.0.0.1:{self.port}"]
        if self.pty:
            args.append("--pty")
        if self.baud:
            args += ["--baud", str(self.baud)]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     encoding="utf-8", env={**os.environ, "PYTHONUNBUFFERED": "1"})
        return self

    def wait_ready(self) -> Emulator:
        assert self.proc is not None and self.proc.stdout is not None
        if not self.address:
            self.control, self.address = announced(self.proc.stdout.readline)
        if not self.pty:
            self.port = int(self.address.rpartition(":")[2])
        return self

    @property
    def connection(self) -> ConnectionDetails:
        if self.pty:
            assert self.address, "a pty's path is known once the emulator is ready"
            return ConnectionDetails(type="Serial", details={"port": self.address, "baud_rate": self.baud or 115200})
        return ConnectionDetails(type="Network", details={"ip_address": "127.0.0.1", "port": self.port})

    def simulate(self, **body: Any) -> dict[str, Any]:
        r = httpx.post(self.control + "/simulate", json=body, timeout=10)
        assert r.status_code == 200, r.text
        answer: dict[str, Any] = r.json()
        return answer

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()


def datecs_rig(base: Path, protocol: str = "x", pty: bool = False, name: str = "Datecs",
               **emulator: Any) -> tuple[Emulator, str, Server]:
    """An emulator and a server with one Datecs register on it, started side by side (TCP: on a port chosen
    first, so neither waits for the other); returns once the register is Connected."""
    emu = Emulator(base / "emu", protocol, pty=pty, port=0 if pty else free_port(), **emulator)
    if pty:
        emu.start()
    else:
        emu.launch()
    device = add_datecs_register(base / "srv", emu, name)
    srv = Server(base / "srv", demo=False).start()
    if not pty:
        emu.wait_ready()
    wait_connected(srv)
    return emu, device, srv


def wait_connected(srv: Server) -> None:
    """Return once the server's (first) register is Connected."""
    deadline = time.monotonic() + 30
    with httpx.Client(base_url=srv.url) as client:  # one client: an httpx.get() each poll costs ~30 ms of CPU
        while client.get("/devices/fiscal").json()["fiscal_devices"][0]["status"] != "Connected":
            if time.monotonic() > deadline:
                raise RuntimeError(f"the Datecs register did not connect:\n{srv.log()}")
            time.sleep(0.05)


def add_datecs_register(data_dir: Path, emulator: Emulator, name: str = "Datecs",
                        connection: ConnectionDetails | None = None) -> str:
    """Configure a Datecs register on ``emulator`` (reached through ``connection`` when given: a relay in front
    of it) in a (stopped) server's data dir; returns its id."""
    db = open_database(data_dir)
    try:
        config = FiscalDeviceConfig(id=str(uuid.uuid4()), name=name, manufacturer="Datecs", model=emulator.model,
                                    connection_details=connection or emulator.connection)
        db.write_sync(lambda conn: device_repo.save_device(conn, config))
        return config.id
    finally:
        db.close()
