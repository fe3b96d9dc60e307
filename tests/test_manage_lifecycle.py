"""Device lifecycle under management changes, in process: a real store, DeviceManager and Simulated register."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from polling import until

from fiscald.config import Settings
from fiscald.core.admin import Admin
from fiscald.core.events import Event
from fiscald.core.manager import DeviceManager
from fiscald.errors import FiscalError
from fiscald.models.config import ConnectionDetails, FiscalDeviceConfig
from fiscald.models.simulate import SimulateRequest
from fiscald.operations import parse_operation
from fiscald.store import Database
from fiscald.store import devices as device_repo

SIMULATED = {"manufacturer": "Simulated", "model": "Simulated", "connection_details": {"type": "Virtual"}}
RECEIPT = {"lines": [{"type": "item", "description": "Paine", "quantity_thousandths": 1000,
                      "unit_price_cents": 450, "vat": "B"}]}


def run(tmp_path: Path, body: Callable[[DeviceManager, Admin], Awaitable[None]]) -> None:
    async def main() -> None:
        db = Database(tmp_path / "fiscald.db")
        settings = Settings(enable_simulated_devices=True)
        db.write_sync(lambda c: device_repo.save_settings(c, settings))
        manager = DeviceManager(db, settings)
        await manager.start()
        try:
            await body(manager, Admin(manager))
        finally:
            await manager.stop()
            db.close()

    asyncio.run(main())


def statuses(events: asyncio.Queue[Event]) -> list[tuple[str, str]]:
    out = []
    while not events.empty():
        event = events.get_nowait()
        out.append((event.payload["previous_status"], event.payload["status"]))
    return out


def test_save_starts_and_update_restarts_with_status_events(tmp_path: Path) -> None:
    async def body(manager: DeviceManager, admin: Admin) -> None:
        sub = manager.events.subscribe(names={"device_status"})
        saved = await admin.save_device("fiscal", {"name": "Casa 1", **SIMULATED})
        assert saved.created
        assert statuses(sub.queue) == [("Connecting", "Connected")]
        assert manager.handle(saved.config.id).status.status == "Connected"
        await admin.save_device("fiscal", {"id": saved.config.id, "name": "Casa 2"})
        assert statuses(sub.queue) == [("Connected", "Disconnected"), ("Disconnected", "Connecting"),
                                       ("Connecting", "Connected")]
        assert manager.handle(saved.config.id).config.name == "Casa 2"
        await admin.save_device("fiscal", {"id": saved.config.id, "enabled": False})
        assert statuses(sub.queue) == [("Connected", "Disconnected"), ("Disconnected", "Disabled")]
        [handle] = manager.handles("fiscal")
        assert handle.status.status == "Disabled"

    run(tmp_path, body)


def test_update_waits_for_the_receipt_in_progress(tmp_path: Path) -> None:
    async def body(manager: DeviceManager, admin: Admin) -> None:
        saved = await admin.save_device("fiscal", {"name": "Lenta", **SIMULATED})
        device_id = saved.config.id
        old_driver = manager.handle(device_id).driver
        await manager.simulate(SimulateRequest(device_id=device_id, latency_ms=300))
        order: list[str] = []

        async def receipt() -> int:
            outcome = await manager.execute(parse_operation(
                {"device_id": device_id, "operation": "print_receipt", "params": RECEIPT}))
            order.append("receipt")
            return outcome.http_status

        async def update() -> None:
            while manager.handle(device_id).running is None:
                await asyncio.sleep(0.005)
            await admin.save_device("fiscal", {"id": device_id, "notes": "updated mid-receipt"})
            order.append("update")

        status, _ = await asyncio.gather(receipt(), update())
        assert status == 200
        assert order == ["receipt", "update"]
        handle = manager.handle(device_id)
        assert handle.driver is not old_driver and handle.config.notes == "updated mid-receipt"
        state = await manager.db.read(lambda c: device_repo.load_state(c, device_id))
        assert state is not None and state["receipt_number"] == 1 and state["open_receipt"] is None

    run(tmp_path, body)


def test_concurrent_saves_of_one_device_lose_nothing(tmp_path: Path) -> None:
    async def body(manager: DeviceManager, admin: Admin) -> None:
        device_id = (await admin.save_device("fiscal", {"name": "A", **SIMULATED})).config.id
        await asyncio.gather(
            admin.save_device("fiscal", {"id": device_id, "name": "Renamed"}),
            admin.save_device("fiscal", {"id": device_id, "notes": "noted"}),
            admin.save_device("fiscal", {"id": device_id, "vat_rates": {"A": 1900, "B": 900}}),
        )
        [handle] = manager.handles("fiscal")
        assert (handle.config.name, handle.config.notes, handle.config.vat_rates) == (
            "Renamed", "noted", {"A": 1900, "B": 900})
        assert handle.worker is not None and not handle.worker.done()
        [stored] = await manager.db.read(device_repo.list_devices)
        assert stored == handle.config

    run(tmp_path, body)


def test_delete_stops_after_the_running_operation(tmp_path: Path) -> None:
    async def body(manager: DeviceManager, admin: Admin) -> None:
        device_id = (await admin.save_device("fiscal", {"name": "A", **SIMULATED})).config.id
        await manager.simulate(SimulateRequest(device_id=device_id, latency_ms=200))
        op = parse_operation({"device_id": device_id, "operation": "print_receipt", "params": RECEIPT})
        first = asyncio.create_task(manager.execute(op))
        while manager.handle(device_id).running is None:
            await asyncio.sleep(0.005)
        await admin.delete_device("fiscal", {"id": device_id})
        assert (await first).http_status == 200
        assert (await manager.execute(op)).http_status == 404
        assert manager.handles() == []
        try:
            await admin.save_device("fiscal", {"id": device_id, "name": "back"})
        except FiscalError as err:
            assert err.http_status == 404 and err.detail is not None and err.detail.startswith("id:")
        else:
            raise AssertionError("a deleted device cannot be updated")

    run(tmp_path, body)


def test_operations_queued_during_an_update_run_on_the_restarted_device(tmp_path: Path) -> None:
    async def body(manager: DeviceManager, admin: Admin) -> None:
        saved = await admin.save_device("fiscal", {"name": "Coada", **SIMULATED})
        device_id = saved.config.id
        await manager.simulate(SimulateRequest(device_id=device_id, latency_ms=200))

        async def receipt() -> int:
            outcome = await manager.execute(parse_operation(
                {"device_id": device_id, "operation": "print_receipt", "params": RECEIPT}))
            return outcome.http_status

        tasks = [asyncio.create_task(receipt()) for _ in range(3)]
        while manager.handle(device_id).running is None:
            await asyncio.sleep(0.005)
        await admin.save_device("fiscal", {"id": device_id, "notes": "restarted with work queued"})
        assert await asyncio.gather(*tasks) == [200, 200, 200]
        state = await manager.db.read(lambda c: device_repo.load_state(c, device_id))
        assert state is not None and state["receipt_number"] == 3

    run(tmp_path, body)


def test_a_stored_device_of_an_unsupported_model_is_listed_in_error(tmp_path: Path) -> None:
    gone = FiscalDeviceConfig(id="8d0c6f36-3f3a-4a57-9d43-6a8f0f1c2b11", name="Veche", manufacturer="Acme",
                              model="X1", connection_details=ConnectionDetails(type="Serial",
                                                                               details={"port": "COM9"}))
    db = Database(tmp_path / "fiscald.db")
    db.write_sync(lambda c: device_repo.save_device(c, gone))
    db.close()

    async def body(manager: DeviceManager, admin: Admin) -> None:
        [handle] = manager.handles("fiscal")
        assert handle.status.status == "Error" and "Acme" in handle.status.text("en")
        outcome = await manager.execute(parse_operation({"device_id": gone.id, "operation": "get_status"}))
        assert outcome.http_status == 400 and "not a supported" in outcome.body["error"]

    run(tmp_path, body)


def test_a_job_timed_out_while_a_restart_held_the_device_never_prints(tmp_path: Path) -> None:
    async def body(manager: DeviceManager, admin: Admin) -> None:
        saved = await admin.save_device("fiscal", {"name": "Repornire", **SIMULATED})
        device_id = saved.config.id
        await manager.simulate(SimulateRequest(device_id=device_id, latency_ms=50))
        handle = manager.handle(device_id)
        busy = asyncio.create_task(manager.execute(parse_operation({"device_id": device_id,
                                                                    "operation": "x_report"})))
        await until(lambda: handle.running is not None)
        async with handle.lock:  # what a slow driver restart does: hold the device past the job's deadline
            late = asyncio.create_task(manager.execute(parse_operation(
                {"device_id": device_id, "operation": "print_receipt", "params": RECEIPT, "timeout_ms": 100}),
                idem_key="late-1"))
            await busy
            answer = await late
            assert answer.body["status"] == 1013  # the worker now waits for the lock with the job in hand
        await until(lambda: handle.queue.qsize() == 0 and handle.running is None)  # it let the dropped job go
        status = await manager.execute(parse_operation({"device_id": device_id, "operation": "get_status"}))
        assert status.body["result"]["last_receipt_number"] == 0  # the dropped receipt never printed
        retry = await manager.execute(parse_operation(
            {"device_id": device_id, "operation": "print_receipt", "params": RECEIPT}), idem_key="late-1")
        assert retry.http_status == 200 and retry.body["result"]["receipt_number"] == 1

    run(tmp_path, body)


def test_a_job_the_worker_already_took_is_404_when_the_device_is_deleted(tmp_path: Path) -> None:
    async def body(manager: DeviceManager, admin: Admin) -> None:
        device_id = (await admin.save_device("fiscal", {"name": "Sters", **SIMULATED})).config.id
        await manager.simulate(SimulateRequest(device_id=device_id, latency_ms=100))
        handle = manager.handle(device_id)
        first = asyncio.create_task(manager.execute(parse_operation({"device_id": device_id,
                                                                     "operation": "x_report"})))
        await until(lambda: handle.running is not None)
        queued = asyncio.create_task(manager.execute(parse_operation(
            {"device_id": device_id, "operation": "print_receipt", "params": RECEIPT})))
        await until(lambda: handle.queue.qsize() == 0)  # the worker holds the queued job, waiting for the lock
        await admin.delete_device("fiscal", {"id": device_id})
        assert (await first).http_status == 200
        gone = await queued
        assert gone.http_status == 404 and "device_id" in gone.body["error"]
        receipts = await manager.db.read(lambda c: c.execute(
            "SELECT COUNT(*) FROM journal WHERE device_id = ? AND kind = 'receipt'", (device_id,)).fetchone()[0])
        assert receipts == 0

    run(tmp_path, body)
