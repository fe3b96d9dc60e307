"""The Viva terminal emulator on free loopback ports, its event loop in a thread of its own, for the Viva tests."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import httpx

from fiscald.emulators.viva import (
    CLIENT_ID,
    CLIENT_SECRET,
    ISV_CLIENT_ID,
    ISV_CLIENT_SECRET,
    MERCHANT_ID,
    TERMINAL_ID,
    ApiServer,
    VivaEmulator,
    serve_control,
)


class EmulatedTerminal:
    def __init__(self, data_dir: Path, card_delay_ms: int = 150) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.emulator = VivaEmulator(data_dir)
        self.emulator.faults.card_delay_ms = card_delay_ms
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.api = ApiServer(self.emulator, "127.0.0.1", 0)
        self.control_port = 0

    def start(self) -> EmulatedTerminal:
        self.thread.start()

        async def open_all() -> int:
            await self.api.open()
            server = await serve_control(self.emulator, self.api, "127.0.0.1", 0)
            self._control = server
            return int(server.sockets[0].getsockname()[1])

        self.control_port = asyncio.run_coroutine_threadsafe(open_all(), self.loop).result(10)
        return self

    def stop(self) -> None:
        def close() -> None:
            self.api.close()
            self._control.close()

        self.loop.call_soon_threadsafe(close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    @property
    def port(self) -> int:
        return self.api.port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def simulate(self, **body: Any) -> dict[str, Any]:
        r = httpx.post(f"http://127.0.0.1:{self.control_port}/simulate", json=body, timeout=10)
        assert r.status_code == 200, r.text
        answer: dict[str, Any] = r.json()
        return answer

    def ledger(self) -> dict[str, Any]:
        r = httpx.get(f"http://127.0.0.1:{self.control_port}/charges", timeout=10)
        assert r.status_code == 200, r.text
        answer: dict[str, Any] = r.json()
        return answer

    def charges(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.ledger()["charges"]
        return found

    def connection(self, api: str) -> dict[str, Any]:
        """``connection_details`` of a fiscald POS terminal on this emulator over ``api``: local, cloud (the
        merchant's credentials) or isv (an ISV partner's, for the emulator's merchant, with a 1.5 % fee)."""
        if api == "local":
            return {"type": "Network", "details": {"ip_address": "127.0.0.1", "port": self.port}}
        details = {"environment": "demo", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                   "terminal_id": TERMINAL_ID, "cash_register_id": "casa-1", "accounts_url": self.url,
                   "api_url": self.url}
        if api == "isv":
            details.update(client_id=ISV_CLIENT_ID, client_secret=ISV_CLIENT_SECRET, merchant_id=MERCHANT_ID,
                           isv_fee_bp=150)
        return {"type": "Cloud", "details": details}
