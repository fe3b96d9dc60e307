"""Idempotency-Key semantics over real HTTP: replay, conflict, concurrency, durability."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from inproc import InProcessServer
from sim_client import Sim
from sim_client import item as sim_item

from server import Server, add_simulated_register, item, op, refuse_started_records


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
    # refused by the register before anything was done: the key is not consumed, the same request runs again
    again = client.post("/devices/operation", json=cash_out, headers={"Idempotency-Key": key2})
    assert "Idempotent-Replayed" not in again.headers and again.json()["status"] == 2012


def journal_receipts(sim: Sim, device_id: str, description: str) -> int:
    entries = sim.ok(device_id, "read_journal", {"limit": 10_000})["entries"]
    return sum(1 for e in entries if e["kind"] == "receipt" and f"\n{description}\n" in e["text"])


@pytest.mark.parametrize(("fault", "code"), [("paper_out", 2001), ("cover_open", 2002), ("disconnected", 1004),
                                             ("busy", 2013)])
def test_a_failure_that_left_nothing_does_not_consume_the_key(make_app: Any, fault: str, code: int) -> None:
    srv: InProcessServer = make_app()
    [dev] = srv.fiscal_ids()
    sim = Sim(srv)
    params = {"lines": [sim_item(f"Retry {fault}")]}
    sim.simulate(dev, fault=fault)
    first = sim.op(dev, "print_receipt", params, key=f"k-{fault}")
    assert first.json()["status"] == code and "Idempotent-Replayed" not in first.headers
    again = sim.op(dev, "print_receipt", params, key=f"k-{fault}")  # the cause is still there: tried again
    assert again.json()["status"] == code and "Idempotent-Replayed" not in again.headers
    sim.simulate(dev, fault="none")
    printed = sim.op(dev, "print_receipt", params, key=f"k-{fault}")
    assert printed.status_code == 200 and "Idempotent-Replayed" not in printed.headers
    replay = sim.op(dev, "print_receipt", params, key=f"k-{fault}")  # a success binds the key
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.json() == printed.json()
    assert journal_receipts(sim, dev, f"Retry {fault}") == 1


@pytest.mark.parametrize("code", [2003, 2004, 2001])
def test_an_answer_lost_after_printing_stays_bound_to_the_key(make_app: Any, code: int) -> None:
    """fail_next after_print: the receipt is printed and the answer lost (2001 too: the device knows it printed)."""
    srv: InProcessServer = make_app()
    [dev] = srv.fiscal_ids()
    sim = Sim(srv)
    params = {"lines": [sim_item(f"Lost {code}")]}
    sim.simulate(dev, fail_next={"operation": "print_receipt", "code": code, "at": "after_print"})
    first = sim.op(dev, "print_receipt", params, key=f"lost-{code}")
    assert first.json()["status"] == code
    replay = sim.op(dev, "print_receipt", params, key=f"lost-{code}")
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.json() == first.json()
    assert journal_receipts(sim, dev, f"Lost {code}") == 1  # never printed twice


def test_an_ambiguous_failure_before_printing_is_kept_a_clean_one_is_not(make_app: Any) -> None:
    """fail_next before: what a real driver would answer. 2003 (the device stopped answering: it may have
    printed) stays bound; 2001 (refused before anything) frees the key."""
    srv: InProcessServer = make_app()
    [dev] = srv.fiscal_ids()
    sim = Sim(srv)
    sim.simulate(dev, fail_next={"operation": "print_receipt", "code": 2003, "at": "before"})
    timeout = sim.op(dev, "print_receipt", {"lines": [sim_item("Amb")]}, key="amb")
    assert timeout.json()["status"] == 2003
    assert sim.op(dev, "print_receipt", {"lines": [sim_item("Amb")]}, key="amb").headers["Idempotent-Replayed"]
    sim.simulate(dev, fail_next={"operation": "print_receipt", "code": 2001, "at": "before"})
    assert sim.op(dev, "print_receipt", {"lines": [sim_item("Clean")]}, key="clean").json()["status"] == 2001
    assert sim.op(dev, "print_receipt", {"lines": [sim_item("Clean")]}, key="clean").status_code == 200
    assert journal_receipts(sim, dev, "Amb") == 0 and journal_receipts(sim, dev, "Clean") == 1


def test_joiners_of_a_failure_that_left_nothing_get_the_same_answer(make_app: Any) -> None:
    srv: InProcessServer = make_app()
    [dev] = srv.fiscal_ids()
    sim = Sim(srv)
    sim.simulate(dev, fault="paper_out", latency_ms=300)
    body = op(dev, "print_receipt", {"lines": [item("Join")]})

    def send(_: int) -> httpx.Response:
        return srv.http.post("/devices/operation", json=body, headers={"Idempotency-Key": "join-1"})

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(send, range(4)))
    assert {a.json()["status"] for a in answers} == {2001}
    assert not any(a.headers.get("Idempotent-Replayed") for a in answers)  # nothing is bound to the key
    sim.simulate(dev, fault="none", latency_ms=0)
    assert send(0).status_code == 200
    assert journal_receipts(sim, dev, "Join") == 1


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


def test_a_receipt_whose_started_record_fails_is_not_journaled(make_app: Any, tmp_path: Path) -> None:
    """A Simulated receipt does not wait for its started record: the two commit together. When that record fails
    on its own (a trigger in the real store refuses it; the writer then runs each write of the batch alone), the
    receipt's journal entry, written after it, is not written either: nothing was printed, so a retry prints once."""
    data = tmp_path / "refusing"
    device = add_simulated_register(data, "R")
    refuse_started_records(data, "refused")
    sim = Sim(make_app(data))
    params = {"lines": [sim_item("Refuzat")]}
    first = sim.op(device, "print_receipt", params, key="refused")
    assert first.status_code == 500 and first.json()["status"] in (1000, 1001), first.text
    assert journal_receipts(sim, device, "Refuzat") == 0
    printed = sim.op(device, "print_receipt", params, key="accepted")
    assert printed.status_code == 200 and printed.json()["result"]["receipt_number"] == 1, printed.text
    assert journal_receipts(sim, device, "Refuzat") == 1
