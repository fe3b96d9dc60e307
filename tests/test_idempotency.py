"""Idempotency-Key semantics over real HTTP: replay, conflict, concurrency, durability."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from inproc import InProcessServer

from server import Server, add_simulated_register, item, op


def receipts_for(client: httpx.Client, device_id: str, description: str) -> int:
    entries = client.post("/devices/operation", json=op(device_id, "read_journal",
                                                        {"limit": 10_000})).json()["result"]["entries"]
    return sum(1 for e in entries if e["kind"] == "receipt" and f"\n{description}\n" in e["text"])


def test_concurrent_same_key_prints_once(client: httpx.Client, device_id: str, server: Server) -> None:
    key = "order-" + uuid.uuid4().hex
    desc = "Conc " + key[-8:]
    body = op(device_id, "print_receipt", {"lines": [item(desc)]})

    def send(_: int) -> httpx.Response:
        with httpx.Client(base_url=server.url, timeout=30) as c:
            return c.post("/devices/operation", json=body, headers={"Idempotency-Key": key})

    with ThreadPoolExecutor(16) as pool:
        responses = list(pool.map(send, range(32)))
    assert {r.status_code for r in responses} == {200}
    assert len({r.text for r in responses}) == 1  # every caller got the same answer
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 31
    assert receipts_for(client, device_id, desc) == 1


def test_replay_conflict_and_scope(client: httpx.Client, device_id: str) -> None:
    key = uuid.uuid4().hex
    body = op(device_id, "print_receipt", {"lines": [item("Replay")]})
    first = client.post("/devices/operation", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == 200 and "Idempotent-Replayed" not in first.headers
    again = client.post("/devices/operation", json={**body, "timeout_ms": 5000}, headers={"Idempotency-Key": key})
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    other = op(device_id, "print_receipt", {"lines": [item("Replay", price=2000)]})
    conflict = client.post("/devices/operation", json=other, headers={"Idempotency-Key": key})
    assert conflict.status_code == 409 and conflict.json()["status"] == 1008


def test_request_errors_are_not_stored_device_errors_are(client: httpx.Client, device_id: str) -> None:
    key = uuid.uuid4().hex
    bad = client.post("/devices/operation", json=op(device_id, "print_receipt", {"lines": [item(qty=1000),
                                                                                            item(qty=-5000)]}),
                      headers={"Idempotency-Key": key})
    assert bad.status_code == 400
    good = client.post("/devices/operation", json=op(device_id, "print_receipt", {"lines": [item()]}),
                       headers={"Idempotency-Key": key})
    assert good.status_code == 200 and "Idempotent-Replayed" not in good.headers
    key2 = uuid.uuid4().hex
    cash_out = op(device_id, "cash_out", {"amount_cents": 10**9})
    refused = client.post("/devices/operation", json=cash_out, headers={"Idempotency-Key": key2})
    assert refused.json()["status"] == 2012
    replay = client.post("/devices/operation", json=cash_out, headers={"Idempotency-Key": key2})
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.json() == refused.json()


def test_invalid_keys(client: httpx.Client, device_id: str) -> None:
    for key in ("x" * 256, "has space", "tab\tkey"):
        r = client.post("/devices/operation", json=op(device_id, "get_status"), headers={"Idempotency-Key": key})
        assert r.status_code == 400 and "Idempotency-Key" in r.json()["error"]


def test_keys_are_per_device_and_durable(make_app: Any, tmp_path: Path) -> None:
    data = tmp_path / "keys"
    first = add_simulated_register(data, "First")
    second = add_simulated_register(data, "Second")
    srv: InProcessServer = make_app(data)
    assert sorted(srv.fiscal_ids()) == sorted([first, second])
    key = "same-key"
    with srv.client() as c:
        a = c.post("/devices/operation", json=op(first, "print_receipt", {"lines": [item()]}),
                   headers={"Idempotency-Key": key})
        b = c.post("/devices/operation", json=op(second, "print_receipt", {"lines": [item()]}),
                   headers={"Idempotency-Key": key})
        assert a.status_code == b.status_code == 200
        assert a.json()["result"]["device_serial"] != b.json()["result"]["device_serial"]
    srv.stop()
    srv2: InProcessServer = make_app(data)
    with srv2.client() as c:
        replay = c.post("/devices/operation", json=op(first, "print_receipt", {"lines": [item()]}),
                        headers={"Idempotency-Key": key})
        assert replay.headers["Idempotent-Replayed"] == "true" and replay.json() == a.json()
        status = c.post("/devices/operation", json=op(first, "get_status")).json()["result"]
        assert status["last_receipt_number"] == 1
