"""Fault injection on the Simulated register: every fault against every operation family, fail_next, latency,
status and status events, validation of /manage/simulate, durability of the simulation."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from inproc import InProcessServer
from sim_client import Sim, item

from fiscald.app import open_database
from fiscald.config import Settings
from fiscald.core.manager import DeviceManager
from fiscald.drivers.simulated.faults import Simulator
from fiscald.models.simulate import SimulateRequest
from server import Server, add_simulated_register

PRINTING = {"print_receipt", "print_non_fiscal", "cash_in", "cash_out", "x_report", "z_report", "periodic_report",
            "print_duplicate"}
ALL = PRINTING | {"cancel_receipt", "open_drawer", "get_status", "get_datetime", "set_datetime", "get_vat_rates",
                  "read_journal"}
# the documented contract (docs/simulator.md): fault -> (code, operations that fail, device status)
CONTRACT: dict[str, tuple[int, set[str], str]] = {
    "paper_out": (2001, PRINTING, "Error"),
    "cover_open": (2002, PRINTING, "Error"),
    "disconnected": (1004, ALL, "Disconnected"),
    "fiscal_memory_full": (2007, {"print_receipt", "cash_in", "cash_out", "z_report"}, "Error"),
    "busy": (2013, ALL - {"get_status"}, "Connected"),
}
HTTP = {2001: 500, 2002: 500, 1004: 503, 2007: 500, 2013: 500}
DAY_KEYS = ("receipts_count", "voided_count", "total_cents", "vat_totals", "payments", "cash_in_cents",
            "cash_out_cents")


def family_params() -> dict[str, dict[str, Any] | None]:
    later = (dt.datetime.now().astimezone() + dt.timedelta(minutes=1)).isoformat()
    return {
        "print_receipt": {"lines": [item(price=700)], "payments": [{"type": "card", "amount_cents": 700}]},
        "print_non_fiscal": {"lines": [{"type": "text", "text": "Proba"}]},
        "cash_in": {"amount_cents": 100}, "cash_out": {"amount_cents": 100},
        "x_report": None, "z_report": None, "periodic_report": {"from_z": 1, "to_z": 5},
        "print_duplicate": None, "cancel_receipt": None, "open_drawer": None, "get_status": None,
        "get_datetime": None, "set_datetime": {"datetime": later}, "get_vat_rates": None,
        "read_journal": {"limit": 1},
    }


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sim, str]]:
    data = tmp_path_factory.mktemp("faults")
    device = add_simulated_register(data, "Faults")
    srv = Server(data, demo=False).start()
    client = Sim(srv)
    yield client, device
    client.close()
    srv.stop()


def test_every_fault_against_every_operation(sim: tuple[Sim, str]) -> None:
    s, dev = sim
    s.ok(dev, "cash_in", {"amount_cents": 5000})
    s.ok(dev, "print_receipt", {"lines": [item(price=1234)]})
    assert set(family_params()) == ALL
    wrong: list[str] = []
    for fault, (code, failing, status) in CONTRACT.items():
        before = s.ok(dev, "x_report")
        receipts_before = s.ok(dev, "read_journal", {"limit": 10_000})["count"]
        answer = s.simulate(dev, fault=fault)
        assert answer["simulation"]["fault"] == fault and answer["status"] == status
        view = s.device(dev)
        assert view["status"] == status
        for name, params in family_params().items():
            r = s.op(dev, name, params)
            if name in failing:
                if (r.status_code, r.json()["status"]) != (HTTP[code], code):
                    wrong.append(f"{fault}/{name}: {r.status_code} {r.text}")
            elif r.status_code != 200:
                wrong.append(f"{fault}/{name} should work: {r.text}")
        cleared = s.simulate(dev, fault="none")
        assert cleared["status"] == "Connected" and s.device(dev)["status_text"] == "Conectat"
        after = s.ok(dev, "x_report")
        assert {k: after[k] for k in DAY_KEYS} == {k: before[k] for k in DAY_KEYS}, fault
        status_now = s.ok(dev, "get_status")
        assert status_now["receipt_open"] is False and status_now["cash_in_drawer_cents"] == 6234
        journal_now = s.ok(dev, "read_journal", {"limit": 10_000})["count"]
        # only the documents of the operations that worked under the fault (+ the closing X report) were added
        assert journal_now - receipts_before == 1 + len({"print_non_fiscal", "x_report", "periodic_report",
                                                         "print_duplicate"} - failing), fault
    assert not wrong, "\n".join(wrong)


def test_status_texts_and_get_status_show_the_fault(sim: tuple[Sim, str]) -> None:
    s, dev = sim
    s.simulate(dev, fault="paper_out")
    try:
        view = s.device(dev)
        assert view["status"] == "Error" and view["status_text"] == "Eroare: Lipsă hârtie în imprimantă."
        st = s.ok(dev, "get_status")
        assert st["status"] == "Error" and st["paper"] == "out" and st["cover_open"] is False
        r = s.receipt(dev)
        assert r.status_code == 500 and r.json()["status"] == 2001
        assert r.json()["error"] == "Lipsă hârtie în imprimantă."  # the FisCool example, byte for byte
        s.simulate(dev, fault="cover_open")
        assert s.ok(dev, "get_status")["cover_open"] is True
        assert s.device(dev)["status_text"] == "Eroare: Capacul imprimantei este deschis."
    finally:
        s.simulate(dev, fault="none")
    assert s.ok(dev, "get_status")["paper"] == "ok"


def test_fail_next_after_print_is_journaled_and_replayed_not_reprinted(sim: tuple[Sim, str]) -> None:
    s, dev = sim
    last = s.ok(dev, "get_status")["last_receipt_number"]
    state = s.simulate(dev, fail_next={"operation": "print_receipt", "code": 2003, "at": "after_print"})
    assert state["simulation"]["fail_next"] == {"operation": "print_receipt", "code": 2003, "at": "after_print"}
    s.ok(dev, "get_status")  # other operations do not consume it
    key = f"lost-{uuid.uuid4()}"
    first = s.receipt(dev, price=4321, key=key)
    assert first.status_code == 500 and first.json()["status"] == 2003
    assert first.json()["details"] == {"simulated": "fail_next", "at": "after_print"}
    status = s.ok(dev, "get_status")
    assert status["last_receipt_number"] == last + 1  # fiscally recorded although the answer was lost
    [entry] = s.ok(dev, "read_journal", {"from_receipt": last + 1})["entries"]
    assert entry["kind"] == "receipt" and entry["total_cents"] == 4321
    retry = s.receipt(dev, price=4321, key=key)
    assert retry.headers.get("Idempotent-Replayed") == "true" and retry.json() == first.json()
    assert s.ok(dev, "get_status")["last_receipt_number"] == last + 1
    assert s.simulate(dev)["simulation"]["fail_next"] is None  # one shot
    assert s.receipt(dev).status_code == 200


def test_fail_next_before_leaves_the_register_untouched(sim: tuple[Sim, str]) -> None:
    s, dev = sim
    drawer = s.ok(dev, "get_status")["cash_in_drawer_cents"]
    s.simulate(dev, fail_next={"operation": "cash_in", "code": 2000})
    r = s.op(dev, "cash_in", {"amount_cents": 900})
    assert r.status_code == 500 and r.json()["status"] == 2000
    assert s.ok(dev, "get_status")["cash_in_drawer_cents"] == drawer
    assert s.ok(dev, "cash_in", {"amount_cents": 900})["cash_in_drawer_cents"] == drawer + 900
    # cancelled before it fires
    s.simulate(dev, fail_next={"operation": "x_report", "code": 2013})
    assert s.simulate(dev, fail_next=None)["simulation"]["fail_next"] is None
    s.ok(dev, "x_report")


def test_latency_applies_to_every_command(sim: tuple[Sim, str]) -> None:
    s, dev = sim
    s.simulate(dev, latency_ms=300)
    try:
        started = time.monotonic()
        s.ok(dev, "get_status")
        assert time.monotonic() - started >= 0.3
    finally:
        assert s.simulate(dev, latency_ms=0)["simulation"]["latency_ms"] == 0


def test_seeded_jitter_is_deterministic(tmp_path: Path) -> None:
    db = open_database(tmp_path)
    try:
        def delays(seed: int) -> list[int]:
            sim = Simulator("dev", "fiscal", db, {}, frozenset(), lambda status: None)
            asyncio.run(sim.update(SimulateRequest(device_id=str(uuid.uuid4()), latency_ms=50,
                                                   latency_jitter_ms=100, seed=seed)))
            return [sim.next_delay_ms() for _ in range(20)]

        assert delays(7) == delays(7)
        assert delays(7) != delays(8)
        assert all(50 <= d <= 150 for d in delays(7)) and len(set(delays(7))) > 5
    finally:
        db.close()


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"fault": "decline"}, 400, "fault"),
    ({"fault": "smoke"}, 400, "fault"),
    ({"latency_ms": -1}, 400, "latency_ms"),
    ({"latency_jitter_ms": "5"}, 400, "latency_jitter_ms"),
    ({"fail_next": {"operation": "print_receipt", "code": 3001}}, 400, "fail_next.code"),
    ({"fail_next": {"operation": "print_receipt", "code": 9999}}, 400, "fail_next.code"),
    ({"fail_next": {"operation": "pos_sale", "code": 2003}}, 400, "fail_next.operation"),
    ({"fail_next": {"operation": "print_receipt", "code": 2003, "at": "later"}}, 400, "fail_next.at"),
    ({"faults": "paper_out"}, 400, "faults"),
])
def test_simulate_rejects_bad_input_naming_the_field(sim: tuple[Sim, str], body: dict[str, Any], status: int,
                                                     field: str) -> None:
    s, dev = sim
    r = s.http.post("/manage/simulate", json={"device_id": dev, **body})
    assert r.status_code == status and r.json()["status"] == status
    assert r.json()["error"].split(": ", 1)[1].startswith(field), r.json()


def test_simulate_unknown_or_malformed_device(sim: tuple[Sim, str]) -> None:
    s, _ = sim
    r = s.http.post("/manage/simulate", json={"device_id": str(uuid.uuid4()), "fault": "paper_out"})
    assert r.status_code == 404 and r.json()["status"] == 404
    r = s.http.post("/manage/simulate", json={"device_id": "nope"})
    assert r.status_code == 400 and "device_id" in r.json()["error"]
    r = s.http.post("/manage/simulate", content=b"{", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["status"] == 400


def test_simulation_survives_a_restart(make_app: Callable[..., InProcessServer], tmp_path: Path) -> None:
    data = tmp_path / "d"
    dev = add_simulated_register(data, "Durable")
    srv = make_app(data, demo=False)
    s = Sim(srv)
    s.simulate(dev, fault="paper_out", latency_ms=5, latency_jitter_ms=3, seed=42,
               fail_next={"operation": "z_report", "code": 2003, "at": "after_print"})
    srv.stop()
    s.close()
    s = Sim(make_app(data, demo=False))
    try:
        shown = s.simulate(dev)
        assert shown["simulation"] == {"fault": "paper_out", "latency_ms": 5, "latency_jitter_ms": 3, "seed": 42,
                                       "fail_next": {"operation": "z_report", "code": 2003, "at": "after_print"}}
        assert shown["status"] == "Error" and s.device(dev)["status"] == "Error"
        assert s.fails(dev, "print_receipt", {"lines": [item()]}) == 2001
        cleared = s.simulate(dev, fault="none", latency_ms=0, latency_jitter_ms=0, fail_next=None)
        assert cleared["status"] == "Connected" and s.receipt(dev).status_code == 200
    finally:
        s.close()


def test_status_events_follow_the_fault(tmp_path: Path) -> None:
    dev = add_simulated_register(tmp_path, "Events")

    async def scenario() -> list[tuple[str, str, str]]:
        db = open_database(tmp_path)
        manager = DeviceManager(db, Settings(enable_simulated_devices=True, language="en"))
        await manager.start()
        sub = manager.events.subscribe(names={"device_status"})
        try:
            for fault in ("paper_out", "paper_out", "disconnected", "none", "busy"):
                await manager.simulate(SimulateRequest(device_id=dev, fault=fault))
            events = []
            while not sub.queue.empty():
                event = sub.queue.get_nowait()
                events.append((event.payload["previous_status"], event.payload["status"],
                               event.payload["status_text"]))
            return events
        finally:
            await manager.stop()
            db.close()

    assert asyncio.run(scenario()) == [
        ("Connected", "Error", "Error: Printer out of paper."),  # the repeated paper_out publishes nothing
        ("Error", "Disconnected", "Disconnected"),
        ("Disconnected", "Connected", "Connected"),
    ]  # busy keeps the device Connected: no event


def test_openapi_lists_the_simulator_endpoints(sim: tuple[Sim, str]) -> None:
    paths = sim[0].http.get("/openapi.json").json()["paths"]
    assert {"/manage/simulate", "/devices/{device_id}/journal", "/devices/{device_id}/reports"} <= set(paths)
