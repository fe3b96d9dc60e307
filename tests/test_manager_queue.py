"""DeviceManager queueing rules, in process (real store and Simulated register with latency):
order per device, parallel devices, timeout_ms before start, bounded queue, idempotent joiners."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from polling import until

from fiscald.core.jobs import QUEUE_DEPTH
from fiscald.core.manager import DeviceManager
from fiscald.models.simulate import SimulateRequest
from fiscald.operations import parse_operation
from fiscald.store import Database
from fiscald.store import devices as device_repo
from fiscald.store import operations as op_repo
from server import add_simulated_register, item


def run(tmp_path: Path, registers: int, body: Any) -> None:
    ids = [add_simulated_register(tmp_path, f"Q{i}") for i in range(registers)]

    async def main() -> None:
        db = Database(tmp_path / "fiscald.db")
        manager = DeviceManager(db, db.read_sync(device_repo.load_settings))
        await manager.start()
        try:
            for device_id in ids:
                await manager.simulate(SimulateRequest(device_id=device_id, latency_ms=100))
            await body(manager, ids)
        finally:
            await manager.stop()
            db.close()

    asyncio.run(main())


def receipt(device_id: str, description: str = "Paine", **extra: Any) -> Any:
    return parse_operation({"device_id": device_id, "operation": "print_receipt",
                            "params": {"lines": [item(description)]}, **extra})


def test_one_device_in_order_devices_in_parallel(tmp_path: Path) -> None:
    async def body(manager: DeviceManager, ids: list[str]) -> None:
        events = manager.events.subscribe(names={"operation_started", "operation_completed"})
        outcomes = await asyncio.gather(*(manager.execute(receipt(d, f"N{n}")) for n in range(3) for d in ids))
        assert all(o.http_status == 200 for o in outcomes)
        for d in ids:  # arrival order is receipt order on each device
            numbers = [o.body["result"]["receipt_number"] for o in outcomes
                       if o.body["result"]["device_serial"] == manager.handle(d).driver.connected_device_id]
            assert numbers == [1, 2, 3]
        order = []
        while not events.queue.empty():
            event = events.queue.get_nowait()
            order.append((event.name, event.device_id))
        # in parallel: every device started its first receipt (100 ms each) before any receipt finished
        first_done = next(i for i, (name, _) in enumerate(order) if name == "operation_completed")
        assert {d for name, d in order[:first_done] if name == "operation_started"} == set(ids)

    run(tmp_path, 4, body)


def test_timeout_before_start_is_1013_and_never_prints(tmp_path: Path) -> None:
    async def body(manager: DeviceManager, ids: list[str]) -> None:
        [d] = ids
        first = asyncio.create_task(manager.execute(receipt(d, "Lung")))
        await until(lambda: manager.handle(d).running is not None)
        late = await manager.execute(receipt(d, "Tarziu", timeout_ms=30))
        assert late.http_status == 504 and late.body["status"] == 1013 and late.body["retryable"] is True
        assert (await first).http_status == 200
        await until(lambda: manager.queue_depths()[d] == 0)  # the worker took the dropped job and let it go
        status = await manager.execute(parse_operation({"device_id": d, "operation": "get_status"}))
        assert status.body["result"]["last_receipt_number"] == 1  # the dropped receipt never printed
        started = await manager.execute(receipt(d, "Incepe", timeout_ms=50))  # starts at once, runs 100 ms
        # answered at its bound while it runs on: 1009, not retryable without a key, naming the operation
        assert started.http_status == 409 and started.body["status"] == 1009
        assert started.body["retryable"] is False and started.body["details"]["operation_id"] == started.operation_id
        await until(lambda: manager.queue_depths()[d] == 0)
        # outcome recorded (a printed receipt's record commits with the next write, or 50 ms later)
        for _ in range(200):
            record = await manager.db.read(lambda c: op_repo.get(c, started.operation_id or ""))
            if record is None or record.state != "running":
                break
            await asyncio.sleep(0.05)
        assert record is not None and record.state == "done" and record.http_status == 200
        status = await manager.execute(parse_operation({"device_id": d, "operation": "get_status"}))
        assert status.body["result"]["last_receipt_number"] == 2  # it printed, once

    run(tmp_path, 1, body)


def test_a_caller_is_answered_within_its_bound_and_the_key_replays_the_outcome(tmp_path: Path) -> None:
    async def body(manager: DeviceManager, ids: list[str]) -> None:
        [d] = ids
        await manager.simulate(SimulateRequest(device_id=d, latency_ms=600))
        loop = asyncio.get_running_loop()
        began = loop.time()
        first = await manager.execute(receipt(d, "Lent", timeout_ms=150), idem_key="slow-1")
        assert loop.time() - began < 0.5  # not the 600 ms the register takes
        assert first.body["status"] == 1009 and first.body["retryable"] is True
        joined = await manager.execute(receipt(d, "Lent"), idem_key="slow-1")  # joins the running job
        assert joined.http_status == 200 and joined.replayed
        replay = await manager.execute(receipt(d, "Lent"), idem_key="slow-1")
        assert replay.replayed and replay.body == joined.body
        status = await manager.execute(parse_operation({"device_id": d, "operation": "get_status"}))
        assert status.body["result"]["last_receipt_number"] == 1

    run(tmp_path, 1, body)


def test_full_queue_is_1014_busy(tmp_path: Path) -> None:
    async def body(manager: DeviceManager, ids: list[str]) -> None:
        [d] = ids
        await manager.simulate(SimulateRequest(device_id=d, latency_ms=5))
        tasks = [asyncio.create_task(manager.execute(receipt(d)))]
        await until(lambda: manager.handle(d).running is not None)
        tasks += [asyncio.create_task(manager.execute(receipt(d))) for _ in range(QUEUE_DEPTH)]
        await asyncio.sleep(0)
        assert manager.queue_depths()[d] == QUEUE_DEPTH + 1
        busy = await manager.execute(receipt(d))
        assert busy.http_status == 429 and busy.body["status"] == 1014
        assert {o.http_status for o in await asyncio.gather(*tasks)} == {200}

    run(tmp_path, 1, body)


def test_same_key_while_running_waits_or_answers_1009(tmp_path: Path) -> None:
    async def body(manager: DeviceManager, ids: list[str]) -> None:
        [d] = ids
        first = asyncio.create_task(manager.execute(receipt(d), idem_key="k"))
        await until(lambda: manager.handle(d).running is not None)
        impatient = await manager.execute(receipt(d, timeout_ms=20), idem_key="k")
        assert impatient.http_status == 409 and impatient.body["status"] == 1009
        patient = await manager.execute(receipt(d), idem_key="k")
        done = await first
        assert patient.replayed and patient.body == done.body and not done.replayed
        conflict = await manager.execute(receipt(d, "Altul"), idem_key="k")
        assert conflict.body["status"] == 1008

    run(tmp_path, 1, body)


def test_a_caller_that_goes_away_keeps_its_key_until_the_job_is_answered(tmp_path: Path) -> None:
    async def body(manager: DeviceManager, ids: list[str]) -> None:
        [d] = ids
        blocker = asyncio.create_task(manager.execute(receipt(d, "Primul")))
        await until(lambda: manager.handle(d).running is not None)
        leaving = asyncio.create_task(manager.execute(receipt(d, "Plecat"), idem_key="gone-1"))
        await until(lambda: manager.queue_depths()[d] == 2)  # its job is queued behind the blocker
        leaving.cancel()  # e.g. the client's connection closed
        retry = await manager.execute(receipt(d, "Plecat"), idem_key="gone-1")
        assert retry.http_status == 200 and retry.replayed  # joined the first job instead of queuing a second
        await blocker
        entries = await manager.execute(parse_operation({"device_id": d, "operation": "read_journal"}))
        printed = [e for e in entries.body["result"]["entries"] if e["kind"] == "receipt"]
        assert [e["data"]["request"]["lines"][0]["description"] for e in printed] == ["Primul", "Plecat"]

    run(tmp_path, 1, body)
