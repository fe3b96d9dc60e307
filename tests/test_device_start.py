"""Devices start concurrently and a register that does not answer holds nothing but itself; what every driver
answers when its device is not connected (the conformance rules of docs/errors.md): 1004 before the operation,
never 1000 for a device condition."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from datecs_env import Emulator, add_datecs_register
from inproc import InProcessServer
from sim_client import Sim, item

from fiscald.app import open_database
from fiscald.models.config import ConnectionDetails, FiscalDeviceConfig
from fiscald.store import devices as device_repo
from server import add_simulated_register, free_port


@pytest.fixture()
def silent_listener() -> Iterator[int]:
    """A TCP port that accepts connections and never answers a byte (a register stuck before its first reply)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            accepted.append(conn)  # kept open, never read or written

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join(2)
    for conn in accepted:
        conn.close()
    server.close()


def add_datecs(data_dir: Path, port: int, name: str = "Blocat") -> str:
    db = open_database(data_dir)
    try:
        config = FiscalDeviceConfig(id=str(uuid.uuid4()), name=name, manufacturer="Datecs", model="FP-700X",
                                    connection_details=ConnectionDetails(
                                        type="Network", details={"ip_address": "127.0.0.1", "port": port}))
        db.write_sync(lambda conn: device_repo.save_device(conn, config))
        return config.id
    finally:
        db.close()


def status_of(sim: Sim, device_id: str) -> str:
    return str(sim.device(device_id)["status"])


def test_a_register_that_never_answers_holds_nothing_but_itself(make_app: Any, tmp_path: Path,
                                                                 silent_listener: int) -> None:
    def first_receipt(data: Path, sim_id: str) -> tuple[InProcessServer, float]:
        """Start a server on ``data``; seconds until it answered GET / and printed on ``sim_id``."""
        began = time.monotonic()
        srv: InProcessServer = make_app(data, demo=False)
        assert srv.http.get("/").status_code == 200
        Sim(srv).ok(sim_id, "print_receipt", {"lines": [item("Prima")]})
        return srv, time.monotonic() - began

    alone, baseline = first_receipt(tmp_path / "alone", add_simulated_register(tmp_path / "alone", "Merge"))
    alone.stop()
    data = tmp_path / "stuck"
    stuck = add_datecs(data, silent_listener)
    srv, elapsed = first_receipt(data, add_simulated_register(data, "Merge"))
    assert elapsed < baseline + 1.0  # start-up, the API and another register: none waited for it
    sim = Sim(srv)
    assert status_of(sim, stuck) == "Connecting"
    asked = time.monotonic()
    answer = sim.op(stuck, "print_receipt", {"lines": [item("Nu")]}, key="stuck-1")
    assert answer.status_code == 503 and answer.json()["status"] == 1004 and answer.json()["retryable"] is True
    assert time.monotonic() - asked < 3.0  # a bounded wait for its start, then 1004
    assert "Idempotent-Replayed" not in sim.op(stuck, "print_receipt", {"lines": [item("Nu")]},
                                               key="stuck-1").headers  # nothing bound to the key
    journal = sim.ok(stuck, "read_journal")  # answered from the store whatever the device does
    assert journal["count"] == 0
    removing = time.monotonic()
    gone = srv.http.post("/manage/delete_fiscal_device", json={"id": stuck})
    assert gone.status_code == 200 and time.monotonic() - removing < 1.0
    assert stuck not in srv.fiscal_ids()
    stopping = time.monotonic()
    srv.stop()
    assert time.monotonic() - stopping < 3.0


def test_saving_a_register_that_never_answers_returns_promptly(make_app: Any, silent_listener: int) -> None:
    srv: InProcessServer = make_app()
    [demo] = srv.fiscal_ids()
    sim = Sim(srv)
    saving = time.monotonic()
    saved = srv.http.post("/manage/save_fiscal_device", json={
        "name": "Blocat", "manufacturer": "Datecs", "model": "FP-700X",
        "connection_details": {"type": "Network", "details": {"ip_address": "127.0.0.1", "port": silent_listener}}})
    assert saved.status_code == 200 and time.monotonic() - saving < 1.5
    stuck = saved.json()["id"]
    assert status_of(sim, stuck) == "Connecting"
    sim.ok(demo, "print_receipt", {"lines": [item("Alaturi")]})  # the other register is not held
    saving = time.monotonic()  # saving it again abandons the start under way
    again = srv.http.post("/manage/save_fiscal_device", json={
        "id": stuck, "name": "Blocat 2", "manufacturer": "Datecs", "model": "FP-700X",
        "connection_details": {"type": "Network", "details": {"ip_address": "127.0.0.1", "port": silent_listener}}})
    assert again.status_code == 200 and time.monotonic() - saving < 1.5


# -- conformance: what every driver answers when its device is not connected --------------------------------

def test_not_connected_is_1004_on_every_driver(make_app: Any, tmp_path: Path) -> None:
    """Simulated (fault disconnected) and Datecs (nothing listens on its port): 1004 Connection, 503, retryable,
    before the operation — never 1000 nor a register refusal like 2008 from an empty VAT table."""
    data = tmp_path / "conf"
    closed_port = free_port()  # nothing listens there
    datecs = add_datecs(data, closed_port, "Fara retea")
    simulated = add_simulated_register(data, "Sim")
    srv: InProcessServer = make_app(data, demo=False)
    sim = Sim(srv)
    sim.simulate(simulated, fault="disconnected")
    deadline = time.monotonic() + 10
    while status_of(sim, datecs) not in ("Disconnected", "Error"):
        assert time.monotonic() < deadline, status_of(sim, datecs)
        time.sleep(0.02)
    for device_id in (simulated, datecs):
        for operation, params in (("print_receipt", {"lines": [item("X")]}), ("get_status", None),
                                  ("x_report", None)):
            r = sim.op(device_id, operation, params)
            body = r.json()
            assert (r.status_code, body["status"], body["retryable"]) == (503, 1004, True), (device_id, body)


def test_a_register_whose_link_dropped_answers_2004_then_1004_never_1000(make_app: Any, tmp_path: Path) -> None:
    """The Datecs register over TCP on the emulator, switched off: the operation that finds the link gone is
    2004 (lost during it), the next ones 1004 (not connected) — never 1000 (docs/errors.md)."""
    emu = Emulator(tmp_path / "emu", "x").start()
    try:
        dev = add_datecs_register(tmp_path / "srv", emu)
        srv: InProcessServer = make_app(tmp_path / "srv", demo=False)
        sim = Sim(srv)
        deadline = time.monotonic() + 20
        while status_of(sim, dev) != "Connected":
            assert time.monotonic() < deadline, status_of(sim, dev)
            time.sleep(0.05)
        assert sim.receipt(dev).status_code == 200
    finally:
        emu.stop()
    codes = [sim.op(dev, operation, params).json()["status"]
             for operation, params in (("print_receipt", {"lines": [item("Dupa")]}), ("get_status", None),
                                       ("print_receipt", {"lines": [item("Dupa")]}), ("x_report", None))]
    assert set(codes) <= {1004, 2004} and codes[-1] == 1004, codes
