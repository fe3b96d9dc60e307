"""A small client for the simulator tests: operations, /manage/simulate and exports against a real server."""

from __future__ import annotations

from typing import Any

import httpx
from inproc import InProcessServer

from server import Server


def item(description: str = "Cafea", qty: int = 1000, price: int = 1000, vat: str = "A") -> dict[str, Any]:
    return {"type": "item", "description": description, "quantity_thousandths": qty, "unit_price_cents": price,
            "vat": vat}


def pay(kind: str, cents: int) -> dict[str, Any]:
    return {"type": kind, "amount_cents": cents}


class Sim:
    def __init__(self, srv: Server | InProcessServer) -> None:
        self.srv = srv
        self._own = isinstance(srv, Server)  # a client of its own over the network; in-process: the server's
        self.http = httpx.Client(base_url=srv.url, timeout=30) if isinstance(srv, Server) else srv.http

    def close(self) -> None:
        if self._own:
            self.http.close()

    def op(self, device_id: str, name: str, params: dict[str, Any] | None = None,
           key: str | None = None) -> httpx.Response:
        body: dict[str, Any] = {"device_id": device_id, "operation": name}
        if params is not None:
            body["params"] = params
        return self.http.post("/devices/operation", json=body, headers={"Idempotency-Key": key} if key else None)

    def ok(self, device_id: str, name: str, params: dict[str, Any] | None = None,
           key: str | None = None) -> dict[str, Any]:
        r = self.op(device_id, name, params, key)
        assert r.status_code == 200, r.text
        result: dict[str, Any] = r.json()["result"]
        return result

    def fails(self, device_id: str, name: str, params: dict[str, Any] | None = None, key: str | None = None) -> int:
        """The application code of an operation that must fail."""
        r = self.op(device_id, name, params, key)
        assert r.status_code != 200, r.text
        code: int = r.json()["status"]
        return code

    def simulate(self, device_id: str, **changes: Any) -> dict[str, Any]:
        r = self.http.post("/manage/simulate", json={"device_id": device_id, **changes})
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    def device(self, device_id: str) -> dict[str, Any]:
        for kind, key in (("fiscal", "fiscal_devices"), ("pos", "pos_terminals")):
            for dev in self.http.get(f"/devices/{kind}").json()[key]:
                if dev["config"]["id"] == device_id:
                    return dict(dev)
        raise AssertionError(f"{device_id} is not listed")

    def receipt(self, device_id: str, *payments: dict[str, Any], price: int = 1000, vat: str = "A",
                key: str | None = None) -> httpx.Response:
        params: dict[str, Any] = {"lines": [item(price=price, vat=vat)]}
        if payments:
            params["payments"] = list(payments)
        return self.op(device_id, "print_receipt", params, key)
