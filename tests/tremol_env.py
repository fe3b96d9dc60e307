"""``fiscald emulate tremol`` as a child process (TCP or a pseudo-terminal), for the process tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from emulated import announced


class TremolProcess:
    def __init__(self, data_dir: Path, model: str = "M20", pty: bool = False, password: str | None = None) -> None:
        """``password``: the LAN password the register asks for after a TCP connection."""
        self.model = model
        self.pty = pty
        self.password = password
        args = [sys.executable, "-m", "fiscald", "emulate", "tremol", "--model", model, "--data-dir", str(data_dir),
                "--control", "127.0.0.1:0", "--listen", "127.0.0.1:0", *(["--pty"] if pty else []),
                *(["--password", password] if password is not None else [])]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     encoding="utf-8", env={**os.environ, "PYTHONUNBUFFERED": "1"})
        assert self.proc.stdout is not None
        self.control, self.address = announced(self.proc.stdout.readline)

    @property
    def port(self) -> int:
        return int(self.address.rpartition(":")[2])

    def connection(self) -> dict[str, Any]:
        """The device's ``connection_details`` as /manage takes them."""
        if self.pty:
            return {"type": "Serial", "details": {"port": self.address, "baud_rate": 115200}}
        details: dict[str, Any] = {"ip_address": "127.0.0.1", "port": self.port}
        if self.password is not None:
            details["password"] = self.password
        return {"type": "Network", "details": details}

    def simulate(self, **body: Any) -> dict[str, Any]:
        r = httpx.post(self.control + "/simulate", json=body, timeout=10)
        assert r.status_code == 200, r.text
        answer: dict[str, Any] = r.json()
        return answer

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
