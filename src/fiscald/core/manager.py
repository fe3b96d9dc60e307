"""DeviceManager: device lifecycle, one ordered queue per device, idempotency, the operation log and
events. Every interface executes operations through :meth:`DeviceManager.execute`.

Order of durable writes for an operation that changes a device:
1. ``operations`` row *running* (with the idempotency key) — durable before the device is touched, or queued
   to commit with the driver's own first write when the driver records the operation itself before anything a
   restart would not undo (``Driver.records_first``: simulated devices, a register's fiscal receipt);
2. the driver's own fiscal record (journal + state) — inside the driver;
3. ``operations`` row *done* with the exact response — durable before the caller is answered; except for a
   printed fiscal receipt, whose result is in its journal entry already (``Driver.receipts_in_journal``): its
   row shares the next commit, and the key stays held until it is written.
A crash between 1 and 3 leaves a *running* row. Start-up answers it from the journal when the journal holds
its printed receipt, else turns it into 1010 OutcomeUnknown once the device's own start settled what it could
(its details then name what the register really holds).

A failure that left nothing on the device (``FiscalError.left_nothing``: not connected, paper out before the
receipt, busy, ...) is finished in the log but releases its Idempotency-Key, so a retry executes; a success or
a failure that may have left something is stored under the key and replayed (docs/http.md).

Devices start concurrently, each in a task of its own: a device that does not answer is ``Connecting`` (or
``Disconnected``/``Error``) and its operations answer 1004 Connection without reaching the driver, while the
server and every other device go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from fiscald.config import Settings
from fiscald.core import card_payments, events, resume
from fiscald.core.events import EventBus
from fiscald.core.jobs import QUEUE_DEPTH, DeviceHandle, Job, Outcome, interrupted_details, success
from fiscald.drivers.base import CURRENT_OPERATION, STARTED_RECORD, Driver, DriverContext, UnavailableDriver
from fiscald.drivers.registry import create_driver, find
from fiscald.errors import Code, ConnectionLost, FiscalError
from fiscald.metrics import Metrics
from fiscald.models.config import DeviceConfig, kind_of
from fiscald.models.simulate import SimulateRequest
from fiscald.models.status import DeviceStatus, StatusInfo
from fiscald.operations import OPERATIONS, Operation
from fiscald.operations.models import PrintReceiptParams
from fiscald.store import Database, journal
from fiscald.store import devices as device_repo
from fiscald.store import operations as op_repo
from fiscald.store.journal import JournalEntry
from fiscald.store.operations import OperationRecord

log = logging.getLogger("fiscald.manager")

DEFAULT_WAIT_S = 60.0  # the longest a caller without timeout_ms waits for its answer (docs/http.md)
START_GRACE_S = 0.2  # start() and apply() wait this long for devices to become ready, never longer
READY_WAIT_S = 2.0  # an operation for a device whose start is under way waits this long (at most) for it
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
        self._inflight: dict[tuple[str, str], _Inflight] = {}
        self._interrupted: dict[str, list[op_repo.OperationRecord]] = {}  # by device: settled after its start
        self.started_at = time.monotonic()
        self.metrics = Metrics()
        # awaited after a device is (re)started by apply() (its config) or stopped by remove() (None)
        self.device_listeners: list[Callable[[str, DeviceConfig | None], Awaitable[None]]] = []
        self._tasks: set[asyncio.Task[None]] = set()

    # -- lifecycle --------------------------------------------------------------------------------
    async def start(self) -> None:
        """Start every device, each in a task of its own; returns within START_GRACE_S whatever they do."""
        configs = await self.db.read(device_repo.list_devices)
        starting = {c.id for c in configs if c.enabled}
        for rec in await self.db.read(op_repo.interrupted):
            self._interrupted.setdefault(rec.device_id, []).append(rec)
        for device_id in set(self._interrupted) - starting:  # no start to wait for: settled now
            await self._settle_interrupted(device_id)
        retention = self.settings.idempotency_retention_days * 86400
        await self.db.write(lambda c: op_repo.purge(c, time.time() - retention), long=True)
        for config in configs:
            self._add(config)
        await self._grace(list(self._handles.values()))

    async def stop(self) -> None:
        for handle in list(self._handles.values()):
            await self._remove(handle)

    async def _grace(self, handles: list[DeviceHandle]) -> None:
        """Give fast devices (simulated, reachable registers) START_GRACE_S to be ready; slow ones go on."""
        tasks = {h.starting for h in handles if h.starting is not None and not h.starting.done()}
        if tasks:
            await asyncio.wait(tasks, timeout=START_GRACE_S)

    async def _settle_interrupted(self, device_id: str) -> None:
        """1010 for the operations a dead process left running on ``device_id``; called once the device's
        start settled what it found (a receipt the register printed is in the journal by then), so the details
        name the register's real last receipt."""
        for rec in self._interrupted.pop(device_id, []):
            if await card_payments.recover(self, rec) or await resume.recover(self.db, rec):
                continue
            if rec.operation == "print_receipt" and await self._answer_from_journal(rec):
                log.warning("operation %s (print_receipt) on %s was interrupted after its receipt was printed: "
                            "answered from the journal", rec.id, rec.device_id)
                continue
            details = await self.db.read(partial(interrupted_details, rec=rec))
            err = FiscalError(Code.OUTCOME_UNKNOWN, f"{rec.operation} was interrupted", details)
            await self._finish_unknown(rec.id, err)
            log.warning("operation %s (%s) on %s was interrupted: outcome unknown", rec.id, rec.operation,
                        rec.device_id)

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

    async def _start_driver(self, handle: DeviceHandle) -> bool:
        """Start the driver (the caller holds the device's lock); True when it is ready for operations."""
        try:
            await handle.driver.start()
            return True
        except Exception as exc:
            err = _failure(exc, handle.id, "start")
            if isinstance(err, ConnectionLost):
                self._lost(handle, err)
            else:
                handle.driver.set_status(StatusInfo(DeviceStatus.ERROR, err))
        return False

    def _begin_start(self, handle: DeviceHandle) -> None:
        handle.ready = False
        handle.starting = asyncio.create_task(self._starting(handle, handle.driver), name=f"start-{handle.id}")

    async def _starting(self, handle: DeviceHandle, driver: Driver) -> None:
        """A device's start in a task of its own: the server, the API and other devices never wait for it."""
        try:
            async with handle.lock:
                if not handle.removed and handle.driver is driver:
                    handle.ready = await self._start_driver(handle)
                # the first start settles what a dead process left, under the lock: before any new operation
                await self._settle_interrupted(handle.id)
        finally:
            if handle.id in self._interrupted:  # the start was abandoned (delete, update): settled all the same
                await asyncio.shield(self._settle_interrupted(handle.id))

    async def _cancel_start(self, handle: DeviceHandle) -> None:
        task, handle.starting = handle.starting, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _lost(self, handle: DeviceHandle, exc: ConnectionLost) -> None:
        """The link to the device dropped: Disconnected, and reconnect this device alone, with back-off."""
        log.warning("device %s: connection lost (%s)", handle.id, exc.detail)
        handle.ready = False
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
                    handle.ready = True
                    return
                except Exception as exc:
                    err = _failure(exc, handle.id, "reconnect")
                    if not isinstance(err, ConnectionLost):
                        driver.set_status(StatusInfo(DeviceStatus.ERROR, err))
                        return
                    driver.set_status(StatusInfo(DeviceStatus.DISCONNECTED, FiscalError(Code.CONNECTION, err.detail)))
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

    def _add(self, config: DeviceConfig) -> DeviceHandle:
        handle = DeviceHandle(config, self._driver(config), operations=self._operations(config))
        self._handles[config.id] = handle
        if config.enabled:
            self._begin_start(handle)
        handle.worker = asyncio.create_task(self._work(handle), name=f"device-{config.id}")
        return handle

    async def _remove(self, handle: DeviceHandle) -> None:
        """Stop a device after the operation in progress finished (a start under way is abandoned); queued
        work is answered 404."""
        self._handles.pop(handle.id, None)
        handle.removed = True
        self._stop_reconnecting(handle)
        await self._cancel_start(handle)
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
            handle = self._add(config)
        else:
            self._stop_reconnecting(handle)
            await self._cancel_start(handle)  # a start still under way is abandoned for the new configuration
            async with handle.lock:  # the worker holds it while an operation runs
                self._stop_reconnecting(handle)
                handle.ready = False
                if handle.config.enabled:
                    await handle.driver.stop()
                handle.config = config
                handle.operations = self._operations(config)
                if config.enabled:
                    previous = handle.driver.status
                    handle.driver = self._driver(config)
                    handle.driver.replaces(previous)
                    self._begin_start(handle)  # runs once this lock is released
                else:  # the stopped driver stays, reporting Disabled until the device is enabled again
                    self._drain(handle)
                    handle.driver.set_status(StatusInfo(DeviceStatus.DISABLED))
        await self._grace([handle])
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
        return await self.handle(request.device_id).driver.simulate(request)

    # -- execution --------------------------------------------------------------------------------
    def _gone(self, handle: DeviceHandle) -> Outcome:
        return self._error(FiscalError(Code.DEVICE_NOT_FOUND, f"device_id: {handle.id} was removed or disabled"))

    def _error(self, err: FiscalError, operation_id: str | None = None) -> Outcome:
        return Outcome(err.http_status, err.body(self.settings.language), operation_id=operation_id)

    async def execute(self, op: Operation, idem_key: str | None = None, source: str = "http",
                      record: bool | None = None,
                      on_queued: Callable[[str], Awaitable[None]] | None = None, bounded: bool = True) -> Outcome:
        """Run ``op`` on its device and return the answer. Never raises for a device or request error.

        ``bounded``: the caller is answered within ``op.timeout_ms`` (else DEFAULT_WAIT_S) even when the
        operation is still running on the device then (1009; the operation goes on and its outcome is recorded).
        Unbounded callers (INP, a card receipt's terminal steps) wait for the outcome itself."""
        try:
            return await self._execute(op, idem_key, source, record, on_queued, bounded)
        except FiscalError as err:
            return self._error(err)

    async def _execute(self, op: Operation, idem_key: str | None, source: str, record: bool | None,
                       on_queued: Callable[[str], Awaitable[None]] | None, bounded: bool) -> Outcome:
        handle = self.handle(op.device_id)
        if handle.kind != op.spec.kind:
            raise FiscalError(Code.CONFIG, f"operation: {op.name} is a {op.spec.kind} operation but device "
                                           f"{op.device_id} is a {handle.kind} device")
        if op.name not in handle.operations:
            raise FiscalError(Code.NOT_SUPPORTED, f"operation: {op.name} is not offered by "
                                                  f"{handle.config.manufacturer} {handle.config.model}")
        # not started by then: dropped (1013); a bounded caller is also answered by then whatever happens
        deadline_s = op.timeout_ms / 1000 if op.timeout_ms else (DEFAULT_WAIT_S if bounded else None)
        bound_s = deadline_s if bounded else None
        if idem_key is None:
            job = await self._submit(handle, op, None, source, record, on_queued, deadline_s)
            return await self._answer(job, bound_s)
        if not _valid_key(idem_key):
            raise FiscalError(Code.CONFIG, "Idempotency-Key: 1 to 255 printable ASCII characters without spaces")
        request_hash = op.request_hash()
        slot = (op.device_id, idem_key)
        inflight = self._inflight.get(slot)
        if inflight is not None:
            return await self._join(inflight, request_hash, bound_s)
        inflight = _Inflight(request_hash, asyncio.get_running_loop().create_future())
        self._inflight[slot] = inflight
        # The keyed work runs in a task of its own and holds the key until the operation is answered: a caller
        # that goes away (cancelled, connection closed, or answered 1009 at its bound) must not free the key
        # while its job is still queued or running, or a retry with the same key would queue a second job.
        task = asyncio.create_task(self._keyed(handle, op, idem_key, source, record, on_queued, deadline_s,
                                               inflight))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if bound_s is None:
            return await asyncio.shield(inflight.final)
        try:
            return await asyncio.wait_for(asyncio.shield(inflight.final), bound_s)
        except TimeoutError:
            queued = inflight.job
            if queued is None or not queued.started:  # not on the device: dropped, as timeout_ms promises
                inflight.dropped = True
                return self._not_started(op, None) if queued is None else self._drop(queued)
            return self._still_running(queued, bound_s)

    async def _keyed(self, handle: DeviceHandle, op: Operation, idem_key: str, source: str, record: bool | None,
                     on_queued: Callable[[str], Awaitable[None]] | None, deadline_s: float | None,
                     inflight: _Inflight) -> None:
        final = inflight.final
        job: Job | None = None
        try:
            stored = await self.db.read(lambda c: op_repo.by_key(c, op.device_id, idem_key))
            outcome = None if stored is None else await self._stored_answer(handle, stored, inflight.request_hash)
            if outcome is not None:
                if outcome.stored and outcome.operation_id is not None:
                    await _notify_queued(on_queued, outcome.operation_id)  # a replay: the stored operation
            elif inflight.dropped:  # the caller's timeout_ms passed before the job was queued
                outcome = self._not_started(op, None)
            else:
                job = await self._submit(handle, op, idem_key, source, record, on_queued, deadline_s)
                inflight.job = job
                if inflight.dropped:
                    self._drop(job)
                outcome = await asyncio.shield(job.future)  # the key is held until the device answered
            final.set_result(outcome)
            if job is not None and job.recorded is not None:  # ... and until its answer is on disk
                with contextlib.suppress(Exception):  # a failure is logged; the answer is in the journal
                    await asyncio.shield(job.recorded)
        except asyncio.CancelledError:
            final.cancel()
            raise
        except FiscalError as err:
            final.set_result(self._error(err))
        except Exception as exc:
            final.set_exception(exc)
            final.exception()  # retrieved: joiners see it, nobody else must
        finally:
            self._inflight.pop((op.device_id, idem_key), None)

    async def _stored_answer(self, handle: DeviceHandle, stored: OperationRecord, request_hash: str) -> Outcome | None:
        """What the key holds for this request: a conflict, "still running", or the stored answer (replayed);
        None when the key no longer holds anything (the receipt it held was cancelled on the register)."""
        if stored.request_hash != request_hash:
            return self._error(FiscalError(Code.IDEMPOTENCY_CONFLICT, f"key {stored.idem_key!r} was used for "
                                                                      "another request"))
        if stored.state == "running" or stored.response is None:
            return self._error(FiscalError(Code.OPERATION_IN_PROGRESS, f"key {stored.idem_key!r}"))
        if stored.operation == "print_receipt" and stored.http_status != 200:
            return await self._receipt_settled(handle, stored)
        return Outcome(stored.http_status or 500, stored.response, True, stored.id, stored=True)

    async def _receipt_settled(self, handle: DeviceHandle, stored: OperationRecord) -> Outcome | None:
        """A receipt that failed with its key bound: answered 2004 (link lost) or 1010 (interrupted), or left
        open on the register (``details.receipt_pending``: paper out or cover open, and the driver's own finish
        refused too). The driver settles it — at reconnect or start-up, on its keep-alive (run now, so a retry
        after the paper is loaded needs no wait), before the next receipt — and journals the outcome under this
        operation: printed -> its success, stored as the answer from then on; cancelled without a payment
        (a void) -> the key is released and the request executes (prints once); still open -> the stored
        failure."""
        response = stored.response or {}
        replay = Outcome(stored.http_status or 500, response, True, stored.id, stored=True)
        pending = bool((response.get("details") or {}).get("receipt_pending"))
        if not pending and response.get("status") not in (Code.DEVICE_DISCONNECTED, Code.OUTCOME_UNKNOWN):
            return replay
        if handle.driver.journal_authoritative:  # nothing to settle: what it answered is what it did
            return replay  # (an injected failure after printing is replayed, docs/simulator.md)
        if pending:
            await self._poll(handle)
        body = await self._answer_from_journal(stored)
        if body is not None:
            return Outcome(200, body, True, stored.id, stored=True)
        if not pending:
            return replay
        cancelled = await self.db.read(lambda c: journal.printed_for(c, stored.device_id, stored.id, "void",
                                                                     stored.journal_seq))
        if cancelled is None:
            return replay
        await self.db.write(lambda c: op_repo.finish(c, stored.id, replay.http_status, response, release_key=True))
        return None

    async def _answer_from_journal(self, rec: op_repo.OperationRecord) -> dict[str, Any] | None:
        """The answer of a print_receipt whose receipt the journal shows printed (``data.operation_id``), stored
        as the operation's answer from now on; None when the journal has no such receipt."""
        entry = await self.db.read(lambda c: journal.printed_for(c, rec.device_id, rec.id, after_seq=rec.journal_seq))
        if entry is None or not isinstance(entry.data.get("result"), dict):
            return None
        body = success(entry.data["result"])
        await self.db.write(lambda c: op_repo.finish(c, rec.id, 200, body))
        return body

    async def _join(self, inflight: _Inflight, request_hash: str, bound_s: float | None) -> Outcome:
        """An identical request while the first with its key runs: the first's answer, never a second run."""
        if inflight.request_hash != request_hash:
            raise FiscalError(Code.IDEMPOTENCY_CONFLICT, "the key is in use for another request")
        try:
            outcome = await asyncio.wait_for(asyncio.shield(inflight.final), bound_s or DEFAULT_WAIT_S)
        except TimeoutError:
            raise FiscalError(Code.OPERATION_IN_PROGRESS, "the first request with this key is still running") from None
        # what the first caller got: replayed when it is what the key holds; a refusal or a failure that left
        # nothing behind (not stored) is answered as it is, so each joiner sees the same body
        return Outcome(outcome.http_status, outcome.body, outcome.stored, outcome.operation_id, outcome.stored)

    def _ready(self, handle: DeviceHandle, op: Operation) -> bool:
        # ready: started, and its link not lost since (a lost link clears it until the reconnect succeeds)
        return op.name in handle.driver.offline_operations or (
            handle.ready and handle.driver.status.status != DeviceStatus.CONNECTING)

    def _not_connected(self, handle: DeviceHandle) -> FiscalError:
        status = handle.driver.status
        return FiscalError(Code.CONNECTION, f"device {handle.id} is {status.text(self.settings.language)}",
                           {"device_status": status.status.value})

    async def wait_ready(self, device_id: str, timeout_s: float) -> bool:
        """Wait (at most ``timeout_s``) for a device whose start is under way; True when it is ready."""
        handle = self._handles.get(device_id)
        if handle is None:
            return False
        starting = handle.starting
        if not handle.ready and starting is not None and not starting.done():
            await asyncio.wait({starting}, timeout=timeout_s)
        return handle.ready

    async def _submit(self, handle: DeviceHandle, op: Operation, idem_key: str | None, source: str,
                      record: bool | None, on_queued: Callable[[str], Awaitable[None]] | None,
                      deadline_s: float | None) -> Job:
        """Queue ``op``: 1004 at once for a device that is not connected (a start under way is waited for, up
        to READY_WAIT_S or the caller's bound), 1014 when its queue is full."""
        if not self._ready(handle, op):
            await self.wait_ready(handle.id, min(READY_WAIT_S, deadline_s or READY_WAIT_S))
            if not self._ready(handle, op):
                raise self._not_connected(handle)
        loop = asyncio.get_running_loop()
        job = Job(op, uuid.uuid4().hex, idem_key, source,
                  record if record is not None else (op.spec.mutating or idem_key is not None),
                  loop.time() + deadline_s if deadline_s is not None else None, loop.create_future())
        try:
            handle.queue.put_nowait(job)
        except asyncio.QueueFull:
            raise FiscalError(Code.BUSY, f"{QUEUE_DEPTH} operations are waiting for device {handle.id}") from None
        await _notify_queued(on_queued, job.operation_id)
        return job

    async def _answer(self, job: Job, bound_s: float | None) -> Outcome:
        """The job's outcome; past the caller's bound: 1013 if it has not started (it never will), else 1009.
        Unbounded: the outcome itself (1013 when the worker finds it past its deadline)."""
        if job.deadline is None or bound_s is None:
            return await job.future
        try:
            return await asyncio.wait_for(asyncio.shield(job.future),
                                          max(0.0, job.deadline - asyncio.get_running_loop().time()))
        except TimeoutError:
            if job.started:
                return self._still_running(job, bound_s)
            return self._drop(job)

    def _not_started(self, op: Operation, operation_id: str | None) -> Outcome:
        within = op.timeout_ms or int(DEFAULT_WAIT_S * 1000)
        return self._error(FiscalError(Code.TIMEOUT, f"not started within {within} ms"), operation_id)

    def _drop(self, job: Job) -> Outcome:
        """A job past its deadline before it started: it never runs (the worker skips it)."""
        job.dropped = True
        if not job.future.done():
            job.future.set_result(self._not_started(job.op, job.operation_id))
        return job.future.result()

    def _still_running(self, job: Job, bound_s: float) -> Outcome:
        """The caller's bound passed while its operation is on the device: it goes on, its outcome is recorded."""
        op = job.op
        keyed = job.idem_key is not None
        how = ("retry with the same Idempotency-Key for its outcome" if keyed else
               "its outcome will be in the operation log and the journal; do not send it again")
        details = {"operation_id": job.operation_id, "operation": op.name, "device_id": op.device_id}
        return self._error(FiscalError(Code.OPERATION_IN_PROGRESS,
                                       f"{op.name} is still running on the device after {int(bound_s * 1000)} ms: "
                                       f"{how}", details, retryable=keyed), job.operation_id)

    async def _work(self, handle: DeviceHandle) -> None:
        while True:
            interval = handle.driver.poll_interval_s
            try:
                job = await (asyncio.wait_for(handle.queue.get(), interval) if interval else handle.queue.get())
            except TimeoutError:  # idle: the driver's keep-alive
                await self._poll(handle)
                continue
            if job is _STOP:
                return
            restarting = await self._take(handle, job, may_wait=True)
            if restarting is not None:  # a restart (apply) is starting the driver: let it, then decide again
                await asyncio.wait({restarting}, timeout=READY_WAIT_S)
                await self._take(handle, job, may_wait=False)

    async def _take(self, handle: DeviceHandle, job: Job, may_wait: bool) -> asyncio.Task[None] | None:
        """Run ``job`` under the device's lock, or answer it without running; returns the start under way
        (nothing done) when the job should wait for it first."""
        async with handle.lock:
            # Decide after the lock (a restart or removal may have held it) and with no await between the
            # checks and `started`: a job answered 1013 or 404 in the meantime must never run.
            if job.dropped or job.future.done():
                return None
            if handle.removed or not handle.config.enabled:
                job.future.set_result(self._gone(handle))
                return None
            if job.deadline is not None and asyncio.get_running_loop().time() >= job.deadline:
                self._drop(job)
                return None
            if not self._ready(handle, job.op):
                starting = handle.starting
                if may_wait and starting is not None and not starting.done():
                    return starting
                # not connected (the link dropped while it waited): nothing reaches the device
                job.future.set_result(self._error(self._not_connected(handle), job.operation_id))
                return None
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
        return None

    async def _poll(self, handle: DeviceHandle) -> None:
        async with handle.lock:
            driver = handle.driver
            if (handle.removed or not handle.config.enabled or not handle.ready
                    or driver.status.status == DeviceStatus.DISCONNECTED
                    or (handle.reconnect is not None and not handle.reconnect.done())):
                return
            try:
                await driver.poll()
            except Exception as exc:
                err = _failure(exc, handle.id, "keep-alive")
                if isinstance(err, ConnectionLost):
                    self._lost(handle, err)
                elif isinstance(exc, FiscalError):  # a bug in a keep-alive is logged, the device's state unchanged
                    driver.set_status(StatusInfo(DeviceStatus.ERROR, err))

    async def _run(self, handle: DeviceHandle, job: Job) -> Outcome:
        op = job.op
        started_write: asyncio.Future[None] | None = None
        in_store = handle.driver.records_first(op) and not card_payments.needs_pos(handle, op)
        if job.record:
            # the request's hash is compared only under an Idempotency-Key: none is computed without one
            request_hash = op.request_hash() if job.idem_key is not None else ""
            started_write = self.db.write_future(lambda c: op_repo.insert_running(
                c, job.operation_id, op.device_id, op.name, job.source, job.idem_key, request_hash,
                op.canonical()), urgent=not in_store)
            if not in_store:
                await started_write  # durable before a real device is touched
            # else: the driver's own first write (the FIFO writer commits it with or after this one) is durable
            # before the device does anything a restart would not undo (Driver.records_first)
        self.events.publish(events.operation_started(op.device_id, job.operation_id, op.name))
        started = time.perf_counter()
        running = CURRENT_OPERATION.set(job.operation_id)  # journaled by drivers with what the device did
        unwaited = STARTED_RECORD.set(started_write if in_store else None)
        try:
            outcome = Outcome(200, success(await card_payments.execute(self, handle, job)),
                              operation_id=job.operation_id)
            keep = True
        except FiscalError as err:
            outcome = self._error(err, job.operation_id)
            keep = not err.caused_by_request
            released = err.left_nothing
            lost = err if isinstance(err, ConnectionLost) else err.__cause__
            if isinstance(lost, ConnectionLost):
                self._lost(handle, lost)
        except Exception as exc:
            link = _link_error(exc)
            if link is not None:  # the link broke under the driver: lost during the operation, outcome unknown
                log.warning("device %s: %s lost during %s", op.device_id, link.detail, op.name)
                self._lost(handle, link)
                outcome = self._error(link, job.operation_id)
            else:
                log.exception("driver failure in %s on %s", op.name, op.device_id)
                outcome = self._error(FiscalError(Code.INTERNAL, f"{type(exc).__name__} in the driver"),
                                      job.operation_id)
            keep, released = True, False
        else:
            released = False
        CURRENT_OPERATION.reset(running)
        STARTED_RECORD.reset(unwaited)
        self.metrics.record(op.name, int(outcome.body["status"]), time.perf_counter() - started)
        recorded: asyncio.Future[None] | None = None
        urgent = True
        if job.record:
            if not keep:
                recorded = self.db.write_future(lambda c: op_repo.forget(c, job.operation_id))
            else:
                # A printed receipt's answer is already durable in its journal entry (with the started record
                # before it): the record of the answer shares the next commit instead of waiting for one of its
                # own, and a crash before that commit is answered from the journal (docs/architecture.md).
                urgent = not (outcome.http_status == 200 and _committed(started_write)
                              and _answer_in_journal(handle, op))
                # a failure that left nothing on the device is logged but frees its key: the retry executes
                recorded = self.db.write_future(lambda c: op_repo.finish(c, job.operation_id, outcome.http_status,
                                                                         outcome.body, release_key=released),
                                                urgent=urgent)
                if job.idem_key is not None and not released:
                    outcome = replace(outcome, stored=True)
        if started_write is not None:
            await started_write  # raises if the started record failed: the outcome would not be durable
        if recorded is not None:
            if urgent:
                await recorded
            else:
                job.recorded = recorded
                recorded.add_done_callback(partial(_log_unrecorded, job.operation_id))
        self.events.publish(events.operation_completed(op.device_id, job.operation_id, op.name, outcome.body))
        return outcome


def _committed(write: asyncio.Future[None] | None) -> bool:
    return write is not None and write.done() and not write.cancelled() and write.exception() is None


def _answer_in_journal(handle: DeviceHandle, op: Operation) -> bool:
    """The operation's successful answer can be rebuilt from the journal (``_receipt_settled``): a fiscal
    receipt, not voided, printed without a card payment by a driver that journals its result with it."""
    params = op.params
    return (handle.driver.receipts_in_journal and isinstance(params, PrintReceiptParams)
            and not params.flags.non_fiscal and params.close_action != "void"
            and not card_payments.needs_pos(handle, op))


def _log_unrecorded(operation_id: str, recorded: asyncio.Future[None]) -> None:
    if not recorded.cancelled() and recorded.exception() is not None:  # its answer is still in the journal
        log.error("operation %s: its answer was not recorded: %s", operation_id, recorded.exception())


def _failure(exc: Exception, device_id: str, what: str) -> FiscalError:
    """What a driver's failure outside an operation (start, reconnect, keep-alive) is: its own FiscalError, a
    lost link (ConnectionLost, also for a bare socket or port error), or else a bug — logged with its traceback
    (call this inside the ``except``) and answered 1000."""
    if isinstance(exc, FiscalError):
        return exc
    lost = _link_error(exc)
    if lost is not None:
        return lost
    log.exception("device %s: %s failed", device_id, what)
    return FiscalError(Code.INTERNAL, type(exc).__name__)


def _link_error(exc: BaseException) -> ConnectionLost | None:
    """An exception from a driver that is the link to its device failing (a socket or port error, a closed
    stream): 2004 DeviceDisconnected, never 1000. None for anything else."""
    if isinstance(exc, (OSError, EOFError)):  # ConnectionError, serial.SerialException, IncompleteReadError...
        return ConnectionLost(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    return None


@dataclass(eq=False)
class _Inflight:
    """A key's operation while it runs: the request it binds, its final answer and its job once queued."""

    request_hash: str
    final: asyncio.Future[Outcome]
    job: Job | None = None
    dropped: bool = False  # the first caller's timeout_ms passed before the job started


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
