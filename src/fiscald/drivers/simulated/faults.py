"""Fault injection of one Simulated device: latency with seeded jitter, a standing fault and a one-shot
failure (``fail_next``), applied around each operation.

The state is durable, in the ``device_state`` row ``simulation:<device id>``: a fault models the physical
device, so paper that ran out is still out after a service restart or after the device's configuration is
saved (which restarts its driver); a crash test can set latency, kill the process and find it again.
The jitter generator restarts from ``seed`` whenever the driver starts or a request sets ``seed``.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from fiscald.errors import Code, FiscalError
from fiscald.models.simulate import SimulateRequest
from fiscald.models.status import DeviceStatus, StatusInfo
from fiscald.operations import OPERATIONS
from fiscald.store import Database
from fiscald.store import devices as device_repo


@dataclass(frozen=True)
class FaultSpec:
    code: Code  # what the affected operations answer
    operations: frozenset[str]  # the operations that fail while the fault is on
    status: DeviceStatus  # the device status while the fault is on


@dataclass
class SimulationState:
    fault: str = "none"
    latency_ms: int = 0
    latency_jitter_ms: int = 0
    seed: int = 0
    fail_next: dict[str, Any] | None = None  # FailNext as JSON


def state_key(device_id: str) -> str:
    return f"simulation:{device_id}"


class Simulator:
    def __init__(self, device_id: str, kind: str, db: Database, faults: dict[str, FaultSpec],
                 fail_codes: frozenset[Code], on_status: Callable[[StatusInfo], None]) -> None:
        self.device_id = device_id
        self.kind = kind
        self.db = db
        self.faults = faults
        self.fail_codes = fail_codes
        self.on_status = on_status
        self.state = SimulationState()
        self._rng = random.Random(0)
        self._statuses: dict[str, StatusInfo] = {}

    @property
    def fault(self) -> str:
        return self.state.fault

    def status(self) -> StatusInfo:
        """The device status the fault gives (one cached instance per fault)."""
        fault = self.state.fault
        if fault not in self._statuses:
            spec = self.faults.get(fault)
            if spec is None or spec.status == DeviceStatus.CONNECTED:
                self._statuses[fault] = StatusInfo(DeviceStatus.CONNECTED)
            elif spec.status == DeviceStatus.ERROR:
                self._statuses[fault] = StatusInfo(DeviceStatus.ERROR, FiscalError(spec.code))
            else:
                self._statuses[fault] = StatusInfo(spec.status)
        return self._statuses[fault]

    def view(self) -> dict[str, Any]:
        return asdict(self.state)

    async def load(self) -> None:
        key = state_key(self.device_id)
        stored = await self.db.read(lambda c: device_repo.load_state(c, key))
        if stored is not None:
            self.state = SimulationState(**stored)
        self._rng = random.Random(self.state.seed)

    async def _persist(self) -> None:
        """Write the in-memory state; the snapshot is taken now, so writes land in the order of the changes."""
        key, snapshot = state_key(self.device_id), asdict(self.state)
        await self.db.write(lambda c: device_repo.save_state(c, key, snapshot))

    def _check(self, req: SimulateRequest) -> None:
        label = "register" if self.kind == "fiscal" else "POS terminal"
        if req.fault is not None and req.fault != "none" and req.fault not in self.faults:
            raise FiscalError(Code.CONFIG, f"fault: {req.fault!r} is not a {label} fault; use one of "
                                           f"{['none', *sorted(self.faults)]}")
        fail = req.fail_next
        if fail is None:
            return
        if OPERATIONS[fail.operation].kind != self.kind:
            raise FiscalError(Code.CONFIG, f"fail_next.operation: {fail.operation} is not a {label} operation")
        if Code(fail.code) not in self.fail_codes:
            raise FiscalError(Code.CONFIG, f"fail_next.code: a {label} fails with one of "
                                           f"{sorted(int(c) for c in self.fail_codes)}")

    async def update(self, req: SimulateRequest) -> dict[str, Any]:
        """Apply the fields the request names, at once (not queued behind the device's operations)."""
        self._check(req)
        state = self.state
        if req.fault is not None:
            state.fault = req.fault
        if req.latency_ms is not None:
            state.latency_ms = req.latency_ms
        if req.latency_jitter_ms is not None:
            state.latency_jitter_ms = req.latency_jitter_ms
        if req.seed is not None:
            state.seed = req.seed
            self._rng = random.Random(req.seed)
        if req.changes_fail_next:
            state.fail_next = None if req.fail_next is None else req.fail_next.model_dump()
        await self._persist()
        self.on_status(self.status())
        return self.view()

    def next_delay_ms(self) -> int:
        """The latency of the next command: ``latency_ms`` plus a seeded random 0..``latency_jitter_ms``."""
        jitter = self.state.latency_jitter_ms
        return self.state.latency_ms + (self._rng.randint(0, jitter) if jitter else 0)

    async def _fire(self, operation: str, at: str) -> None:
        pending = self.state.fail_next
        if pending is None or pending["operation"] != operation or pending["at"] != at:
            return
        self.state.fail_next = None
        await self._persist()  # consumed durably before the failure is reported: it fires once
        # after_print: done and recorded, only the answer is a failure, so the key is consumed; before: what a
        # real driver answering this code would say (docs/http.md, Idempotency-Key)
        raise FiscalError(Code(pending["code"]), details={"simulated": "fail_next", "at": at},
                          left_nothing=False if at == "after_print" else None)

    async def before(self, operation: str) -> None:
        """Latency, then the standing fault, then a pending ``fail_next`` ``before``."""
        delay = self.next_delay_ms()
        if delay:
            await asyncio.sleep(delay / 1000)
        spec = self.faults.get(self.state.fault)
        if spec is not None and operation in spec.operations:
            raise FiscalError(spec.code, details={"simulated": self.state.fault})  # what a real device would say
        await self._fire(operation, "before")

    async def after(self, operation: str) -> None:
        """A pending ``fail_next`` ``after_print``: the operation is done and recorded, its answer is lost."""
        await self._fire(operation, "after_print")
