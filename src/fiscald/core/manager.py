"""DeviceManager: device lifecycle, one ordered queue per device, idempotency, the operation log and
events. Every interface executes operations through :meth:`DeviceManager.execute`.

Order of durable writes for an operation that changes a device:
1. ``operations`` row *running* (with the idempotency key) — before the device is touched;
2. the driver's own fiscal record (journal + state) — inside the driver;
3. ``operations`` row *done* with the exact response — before the caller is answered.
A crash between 1 and 3 leaves a *running* row, which start-up turns into 1010 OutcomeUnknown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from fiscald.config import Settings
from fiscald.core import card_payments, events
from fiscald.core.events import EventBus
from fiscald.core.jobs import QUEUE_DEPTH, DeviceHandle, Job, Outcome, interrupted_details, success
from fiscald.drivers.base import CURRENT_OPERATION, Driver, DriverContext, UnavailableDriver
from fiscald.drivers.registry import create_driver, find
from fiscald.drivers.simulated.base import SimulatedDevice
from fiscald.drivers.transport import ConnectionLost
from fiscald.errors import Code, FiscalError
from fiscald.metrics import Metrics
from fiscald.models.config import DeviceConfig, kind_of
from fiscald.models.simulate import SimulateRequest
from fiscald.models.status import DeviceStatus, StatusInfo
from fiscald.operations import OPERATIONS, Operation
from fiscald.store import Database, journal
from fiscald.store import devices as device_repo
from fiscald.store import operations as op_repo
from fiscald.store.journal import JournalEntry
from fiscald.store.operations import OperationRecord

log = logging.getLogger("fiscald.manager")

DEFAULT_WAIT_S = 60.0
RECONNECT_FIRST_S = 0.5  # the first reconnect attempt after a link drop; doubles up to RECONNECT_MAX_S
RECONNECT_MAX_S = 30.0


def _valid_key(key: str) -> bool:
    return 1 <= len(key) <= 255 and all(0x20 < ord(ch) < 0x7F for ch in key)


class DeviceManager:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.events = EventBus()
        self._handles: dict[str, DeviceHandle] = {}
        self._inflight: dict[tuple[str, str], tuple[str, asyncio.Future[Outcome]]] = {}
        self.started_at = time.monotonic()
        self.metrics = Metrics()
        # awaited after a device is (re)started by apply() (its config) or stopped by remove() (None)
        self.device_listeners: list[Callable[[str, DeviceConfig | None], Awaitable[None]]] = []
        self._tasks: set[asyncio.Task[None]] = set()

    # -- lifecycle --------------------------------------------------------------------------------
    async def start(self) -> None:
        await self.recover()
        retention = self.settings.idempotency_retention_days * 86400
        await self.db.write(lambda c: op_repo.purge(c, time.time() - retention))
        configs = await self.db.read(device_repo.list_devices)
        for config in configs:
            await self._add(config)

    async def stop(self) -> None:
        for handle in list(self._handles.values()):
            await self._remove(handle)

    async def recover(self) -> list[str]:
        """Turn operations left *running* by a dead process into 1010 OutcomeUnknown (never re-executed)."""
        records = await self.db.read(op_repo.interrupted)
        for rec in records:
            if await card_payments.recover(self, rec):
                continue
            details = await self.db.read(partial(interrupted_details, rec=rec))
            err = FiscalError(Code.OUTCOME_UNKNOWN, f"{rec.operation} was interrupted", details)
            await self._finish_unknown(rec.id, err)
            log.warning("operation %s (%s) on %s was interrupted: outcome unknown", rec.id, rec.operation,
                        rec.device_id)
        return [r.id for r in records]

    async def _finish_unknown(self, op_id: str, err: FiscalError) -> None:
        body = err.body(self.settings.language)
        await self.db.write(lambda c: op_repo.finish(c, op_id, err.http_status, body, "unknown"))

    def _context(self, device_id: str, kind: str) -> DriverContext:
        def on_status(previous: StatusInfo, current: StatusInfo) -> None:
            self.events.publish(events.device_status(device_id, kind, previous, current, self.settings.language))

        def on_journal(entry: JournalEntry) -> None:
            if self.events.subscriber_count:  # the entry's JSON is only built for someone listening
                self.events.publish(events.journal(device_id, entry))

        return DriverContext(self.db, on_status, on_journal, lambda: self.settings.language)

    def _driver(self, config: DeviceConfig) -> Driver:
        ctx = self._context(config.id, kind_of(config))
        try:
            return create_driver(config, ctx)
        except FiscalError as exc:  # e.g. a stored model this version no longer supports
            return UnavailableDriver(config, ctx, exc)

    @staticmethod
    def _operations(config: DeviceConfig) -> frozenset[str]:
        """What the device's model offers, from the registry (an unsupported model: its driver says why)."""
        try:
            return find(kind_of(config), config.manufacturer, config.model).operations(config.model)
        except FiscalError:
            return frozenset(name for name, spec in OPERATIONS.items() if spec.kind == kind_of(config))

    async def _start_driver(self, handle: DeviceHandle) -> None:
        try:
            await handle.driver.start()
        except ConnectionLost as exc:
            self._lost(handle, exc)
        except FiscalError as exc:
            handle.driver.set_status(StatusInfo(DeviceStatus.ERROR, exc))
        except Exception as exc:
            log.exception("device %s failed to start", handle.id)
            handle.driver.set_status(StatusInfo(DeviceStatus.ERROR, FiscalError(Code.INTERNAL, type(exc).__name__)))

    def _lost(self, handle: DeviceHandle, exc: ConnectionLost) -> None:
        """The link to the device dropped: Disconnected, and reconnect this device alone, with back-off."""
        log.warning("device %s: connection lost (%s)", handle.id, exc.detail)
        handle.driver.set_status(StatusInfo(DeviceStatus.DISCONNECTED, FiscalError(Code.CONNECTION, exc.detail)))
        if handle.reconnect is None or handle.reconnect.done():
            handle.reconnect = asyncio.create_task(self._reconnect(handle, handle.driver),
                                                   name=f"reconnect-{handle.id}")

    async def _reconnect(self, handle: DeviceHandle, driver: Driver) -> None:
        delay = RECONNECT_FIRST_S
        while True:
            await asyncio.sleep(delay)
            async with handle.lock:
                if handle.removed or handle.driver is not driver or not handle.config.enabled:
                    return
                with contextlib.suppress(Exception):
                    await driver.stop()
                driver.set_status(StatusInfo(DeviceStatus.CONNECTING))
                try:
                    await driver.start()
                    return
                except ConnectionLost as exc:
                    driver.set_status(StatusInfo(DeviceStatus.DISCONNECTED, FiscalError(Code.CONNECTION, exc.detail)))
                except FiscalError as exc:
                    driver.set_status(StatusInfo(DeviceStatus.ERROR, exc))
                    return
                except Exception as exc:
                    log.exception("device %s failed to reconnect", handle.id)
                    driver.set_status(StatusInfo(DeviceStatus.ERROR, FiscalError(Code.INTERNAL, type(exc).__name__)))
                    return
            delay = min(delay * 2, RECONNECT_MAX_S)

    @staticmethod
    def _stop_reconnecting(handle: DeviceHandle) -> None:
        if handle.reconnect is not None:
            handle.reconnect.cancel()
            handle.reconnect = None

    def _drain(self, handle: DeviceHandle) -> None:
        """Answer every queued (not started) operation 404: the device went away."""
        while not handle.queue.empty():
            job = handle.queue.get_nowait()
            if job is not _STOP and not job.future.done():
                job.future.set_result(self._gone(handle))

    async def _add(self, config: DeviceConfig) -> DeviceHandle:
        handle = DeviceHandle(config, self._driver(config), operations=self._operations(config))
        self._handles[config.id] = handle
        if config.enabled:
            await self._start_driver(handle)
        handle.worker = asyncio.create_task(self._work(handle), name=f"device-{config.id}")
        return handle

    async def _remove(self, handle: DeviceHandle) -> None:
        """Stop a device after the operation in progress finished; queued work is answered 404."""
        self._handles.pop(handle.id, None)
        handle.removed = True
        self._stop_reconnecting(handle)
        async with handle.lock:
            self._drain(handle)
            handle.queue.put_nowait(_STOP)
            if handle.config.enabled:
                await handle.driver.stop()
        if handle.worker is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await handle.worker

    async def apply(self, config: DeviceConfig) -> DeviceHandle:
        """Start a new device, or restart an updated one after the operation in progress finished.

        Operations queued for an updated device stay queued and run on the restarted driver; a device
        that is now disabled answers them 404."""
        handle = self._handles.get(config.id)
        if handle is None:
            handle = await self._add(config)
        else:
            async with handle.lock:  # the worker holds it while an operation runs
                self._stop_reconnecting(handle)
                if handle.config.enabled:
                    await handle.driver.stop()
                handle.config = config
                handle.operations = self._operations(config)
                if config.enabled:
                    previous = handle.driver.status
                    handle.driver = self._driver(config)
                    handle.driver.replaces(previous)
                    await self._start_driver(handle)
                else:  # the stopped driver stays, reporting Disabled until the device is enabled again
                    self._drain(handle)
                    handle.driver.set_status(StatusInfo(DeviceStatus.DISABLED))
        await self._notify(config.id, config)
        return handle

    async def remove(self, device_id: str) -> None:
        handle = self._handles.get(device_id)
        if handle is not None:
            await self._remove(handle)
            await self._notify(device_id, None)

    async def _notify(self, device_id: str, config: DeviceConfig | None) -> None:
        for listener in list(self.device_listeners):
            try:
                await listener(device_id, config)
            except Exception:
                log.exception("device listener failed for %s", device_id)

    # -- queries ----------------------------------------------------------------------------------
    def handles(self, kind: str | None = None) -> list[DeviceHandle]:
        return [h for h in self._handles.values() if kind is None or h.kind == kind]

    def handle(self, device_id: str) -> DeviceHandle:
        handle = self._handles.get(device_id)
        if handle is None or not handle.config.enabled:
            raise FiscalError(Code.DEVICE_NOT_FOUND, f"device_id: no enabled device {device_id}")
        return handle

    def queue_depths(self) -> dict[str, int]:
        return {h.id: h.queue.qsize() + (1 if h.running else 0) for h in self._handles.values()}

    async def simulate(self, request: SimulateRequest) -> dict[str, Any]:
        """Fault injection on a simulated device; applies at once, not queued behind its operations."""
        handle = self.handle(request.device_id)
        if not isinstance(handle.driver, SimulatedDevice):
            raise FiscalError(Code.NOT_SUPPORTED, f"device_id: {handle.config.manufacturer} {handle.config.model} "
                                                  "is not a simulated device")
        return await handle.driver.simulate(request)

    # -- execution --------------------------------------------------------------------------------
    def _gone(self, handle: DeviceHandle) -> Outcome:
        return self._error(FiscalError(Code.DEVICE_NOT_FOUND, f"device_id: {handle.id} was removed or disabled"))

    def _error(self, err: FiscalError, operation_id: str | None = None) -> Outcome:
        return Outcome(err.http_status, err.body(self.settings.language), operation_id=operation_id)

    async def execute(self, op: Operation, idem_key: str | None = None, source: str = "http",
                      record: bool | None = None,
                      on_queued: Callable[[str], Awaitable[None]] | None = None) -> Outcome:
        """Run ``op`` on its device and return the answer. Never raises for a device or request error."""
        try:
            return await self._execute(op, idem_key, source, record, on_queued)
        except FiscalError as err:
            return self._error(err)

    async def _execute(self, op: Operation, idem_key: str | None, source: str, record: bool | None,
                       on_queued: Callable[[str], Awaitable[None]] | None) -> Outcome:
        handle = self.handle(op.device_id)
        if handle.kind != op.spec.kind:
            raise FiscalError(Code.CONFIG, f"operation: {op.name} is a {op.spec.kind} operation but device "
                                           f"{op.device_id} is a {handle.kind} device")
        if op.name not in handle.operations:
            raise FiscalError(Code.NOT_SUPPORTED, f"operation: {op.name} is not offered by "
                                                  f"{handle.config.manufacturer} {handle.config.model}")
        if idem_key is None:
            return await self._enqueue(handle, op, None, source, record, on_queued)
        if not _valid_key(idem_key):
            raise FiscalError(Code.CONFIG, "Idempotency-Key: 1 to 255 printable ASCII characters without spaces")
        request_hash = op.request_hash()
        slot = (op.device_id, idem_key)
        inflight = self._inflight.get(slot)
        if inflight is not None:
            return await self._join(inflight, request_hash, op)
        mine: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._inflight[slot] = (request_hash, mine)
        # The keyed work runs in a task of its own and holds the key until the operation is answered: a caller
        # that goes away (cancelled, connection closed) must not free the key while its job is still queued,
        # or a retry with the same key would queue a second job.
        task = asyncio.create_task(self._keyed(handle, op, idem_key, request_hash, source, record, on_queued,
                                               mine))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return await asyncio.shield(mine)

    async def _keyed(self, handle: DeviceHandle, op: Operation, idem_key: str, request_hash: str, source: str,
                     record: bool | None, on_queued: Callable[[str], Awaitable[None]] | None,
                     mine: asyncio.Future[Outcome]) -> None:
        try:
            stored = await self.db.read(lambda c: op_repo.by_key(c, op.device_id, idem_key))
            if stored is not None:
                if stored.request_hash != request_hash:
                    outcome = self._error(FiscalError(Code.IDEMPOTENCY_CONFLICT,
                                                      f"key {idem_key!r} was used for another request"))
                elif stored.state == "running" or stored.response is None:
                    outcome = self._error(FiscalError(Code.OPERATION_IN_PROGRESS, f"key {idem_key!r}"))
                else:
                    outcome = Outcome(stored.http_status or 500, stored.response, True, stored.id)
                    printed = await self._printed_after_all(stored)
                    if printed is not None:
                        outcome = Outcome(200, printed, True, stored.id)
                    await _notify_queued(on_queued, stored.id)  # a replay: the caller's operation is the stored one
            else:
                outcome = await self._enqueue(handle, op, idem_key, source, record, on_queued)
            mine.set_result(outcome)
        except asyncio.CancelledError:
            mine.cancel()
            raise
        except FiscalError as err:
            mine.set_result(self._error(err))
        except Exception as exc:
            mine.set_exception(exc)
            mine.exception()  # retrieved: joiners see it, nobody else must
        finally:
            self._inflight.pop((op.device_id, idem_key), None)

    async def _join(self, inflight: tuple[str, asyncio.Future[Outcome]], request_hash: str,
                    op: Operation) -> Outcome:
        first_hash, future = inflight
        if first_hash != request_hash:
            raise FiscalError(Code.IDEMPOTENCY_CONFLICT, "the key is in use for another request")
        wait = (op.timeout_ms / 1000) if op.timeout_ms else DEFAULT_WAIT_S
        try:
            outcome = await asyncio.wait_for(asyncio.shield(future), wait)
        except TimeoutError:
            raise FiscalError(Code.OPERATION_IN_PROGRESS, "the first request with this key is still running") from None
        if outcome.operation_id is None or outcome.body.get("status") in (400, 404):
            return outcome  # refused (invalid, Busy, ...) and not stored: so is this identical request
        return Outcome(outcome.http_status, outcome.body, True, outcome.operation_id)

    async def _enqueue(self, handle: DeviceHandle, op: Operation, idem_key: str | None, source: str,
                       record: bool | None, on_queued: Callable[[str], Awaitable[None]] | None) -> Outcome:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + op.timeout_ms / 1000 if op.timeout_ms else None
        job = Job(op, uuid.uuid4().hex, idem_key, source,
                  record if record is not None else (op.spec.mutating or idem_key is not None),
                  deadline, loop.create_future())
        try:
            handle.queue.put_nowait(job)
        except asyncio.QueueFull:
            raise FiscalError(Code.BUSY, f"{QUEUE_DEPTH} operations are waiting for device {handle.id}") from None
        await _notify_queued(on_queued, job.operation_id)
        if deadline is None:
            return await job.future
        try:
            return await asyncio.wait_for(asyncio.shield(job.future), max(0.0, deadline - loop.time()))
        except TimeoutError:
            if job.started:
                return await job.future  # on the device: an answer always comes
            job.dropped = True
            return self._error(FiscalError(Code.TIMEOUT, f"not started within {op.timeout_ms} ms"), job.operation_id)

    async def _work(self, handle: DeviceHandle) -> None:
        loop = asyncio.get_running_loop()
        while True:
            interval = handle.driver.poll_interval_s
            try:
                job = await (asyncio.wait_for(handle.queue.get(), interval) if interval else handle.queue.get())
            except TimeoutError:  # idle: the driver's keep-alive
                await self._poll(handle)
                continue
            if job is _STOP:
                return
            async with handle.lock:
                # Decide after the lock (a restart or removal may have held it) and with no await between the
                # checks and `started`: a job answered 1013 or 404 in the meantime must never run.
                if job.dropped or job.future.done():
                    continue
                if handle.removed or not handle.config.enabled:
                    job.future.set_result(self._gone(handle))
                    continue
                if job.deadline is not None and loop.time() >= job.deadline:
                    job.dropped = True
                    job.future.set_result(self._error(FiscalError(
                        Code.TIMEOUT, f"not started within {job.op.timeout_ms} ms"), job.operation_id))
                    continue
                job.started = True
                handle.running = job
                try:
                    outcome = await self._run(handle, job)
                except Exception as exc:  # the store failed: the outcome is not durable, say so
                    log.exception("operation %s failed outside the driver", job.operation_id)
                    err = exc if isinstance(exc, FiscalError) else FiscalError(Code.INTERNAL, type(exc).__name__)
                    outcome = self._error(err, job.operation_id)
                finally:
                    handle.running = None
            if not job.future.done():
                job.future.set_result(outcome)

    async def _poll(self, handle: DeviceHandle) -> None:
        async with handle.lock:
            driver = handle.driver
            if (handle.removed or not handle.config.enabled or driver.status.status == DeviceStatus.DISCONNECTED
                    or (handle.reconnect is not None and not handle.reconnect.done())):
                return
            try:
                await driver.poll()
            except ConnectionLost as exc:
                self._lost(handle, exc)
            except FiscalError as exc:
                driver.set_status(StatusInfo(DeviceStatus.ERROR, exc))
            except Exception:
                log.exception("device %s: keep-alive failed", handle.id)

    async def _printed_after_all(self, stored: OperationRecord) -> dict[str, Any] | None:
        """A receipt answered 2004 (link lost) or 1010 (interrupted) that the register did print — found when
        the driver settled it later and journaled it under this operation: its success, stored as the answer."""
        if stored.operation != "print_receipt" or (stored.response or {}).get("status") not in (
                Code.DEVICE_DISCONNECTED, Code.OUTCOME_UNKNOWN):
            return None
        entry = await self.db.read(lambda c: journal.printed_for(c, stored.device_id, stored.id))
        if entry is None or not isinstance(entry.data.get("result"), dict):
            return None
        body = success(entry.data["result"])
        await self.db.write(lambda c: op_repo.finish(c, stored.id, 200, body))
        return body

    async def _run(self, handle: DeviceHandle, job: Job) -> Outcome:
        op = job.op
        started_write: asyncio.Future[None] | None = None
        if job.record:
            started_write = self.db.write_future(lambda c: op_repo.insert_running(
                c, job.operation_id, op.device_id, op.name, job.source, job.idem_key, op.request_hash(),
                op.canonical()))
            if not (isinstance(handle.driver, SimulatedDevice) and not card_payments.needs_pos(handle, op)):
                await started_write  # durable before a real device is touched
            # else: the device's effects are writes to this store, which the FIFO writer commits after it
        self.events.publish(events.operation_started(op.device_id, job.operation_id, op.name))
        started = time.perf_counter()
        running = CURRENT_OPERATION.set(job.operation_id)  # journaled by drivers with what the device did
        try:
            outcome = Outcome(200, success(await card_payments.execute(self, handle, job)),
                              operation_id=job.operation_id)
            keep = True
        except FiscalError as err:
            outcome = self._error(err, job.operation_id)
            keep = not err.caused_by_request
            lost = err if isinstance(err, ConnectionLost) else err.__cause__
            if isinstance(lost, ConnectionLost):
                self._lost(handle, lost)
        except Exception as exc:
            log.exception("driver failure in %s on %s", op.name, op.device_id)
            outcome = self._error(FiscalError(Code.INTERNAL, f"{type(exc).__name__} in the driver"),
                                  job.operation_id)
            keep = True
        CURRENT_OPERATION.reset(running)
        if started_write is not None:
            await started_write  # raises if the started record failed: the outcome would not be durable
        self.metrics.record(op.name, int(outcome.body["status"]), time.perf_counter() - started)
        if job.record:
            if keep:
                await self.db.write(lambda c: op_repo.finish(c, job.operation_id, outcome.http_status, outcome.body))
            else:
                await self.db.write(lambda c: op_repo.forget(c, job.operation_id))
        self.events.publish(events.operation_completed(op.device_id, job.operation_id, op.name, outcome.body))
        return outcome


_STOP: Any = object()


async def _notify_queued(on_queued: Callable[[str], Awaitable[None]] | None, operation_id: str) -> None:
    """Tell the caller its operation id. The job is queued whatever happens to the caller, so a failing
    callback (its connection went away) must not abandon the job."""
    if on_queued is None:
        return
    try:
        await on_queued(operation_id)
    except Exception:
        log.exception("on_queued callback failed for operation %s", operation_id)
