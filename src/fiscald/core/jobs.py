"""What the manager queues and answers: a device's handle, a queued job and its outcome."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fiscald.drivers.base import Driver, FiscalDriver
from fiscald.models.config import DeviceConfig, kind_of
from fiscald.models.status import DeviceStatus, StatusInfo
from fiscald.operations import Operation
from fiscald.store import journal
from fiscald.store.operations import OperationRecord

QUEUE_DEPTH = 100


def interrupted_details(conn: sqlite3.Connection, rec: OperationRecord) -> dict[str, Any]:
    """The ``details`` of 1010 OutcomeUnknown for an operation a dead process left running: the operation, when
    it started (ISO 8601), the device's last journal entry and last fiscal receipt number (null when none)."""
    last = journal.last_entry(conn, rec.device_id)
    receipts = journal.last_of(conn, rec.device_id, ("receipt", "void"))
    return {
        "operation_id": rec.id, "operation": rec.operation, "device_id": rec.device_id,
        "started_at": dt.datetime.fromtimestamp(rec.created_at).astimezone().isoformat(timespec="milliseconds"),
        "last_journal_entry": None if last is None else {
            "id": last.id, "kind": last.kind, "number": last.number, "datetime": last.datetime,
            "total_cents": last.total_cents},
        "last_receipt_number": None if receipts is None else receipts.number,
    }


@dataclass(frozen=True)
class Outcome:
    """What the caller is answered: HTTP-style status and the JSON body (success or error shape)."""

    http_status: int
    body: dict[str, Any]
    replayed: bool = False
    operation_id: str | None = None
    stored: bool = False  # the answer is stored under its Idempotency-Key: a retry with the key replays it

    @property
    def ok(self) -> bool:
        return self.http_status == 200


def success(result: Mapping[str, Any]) -> dict[str, Any]:
    return {"status": 200, "result": result}


@dataclass(eq=False)
class Job:
    op: Operation
    operation_id: str
    idem_key: str | None
    source: str
    record: bool
    deadline: float | None
    future: asyncio.Future[Outcome]
    started: bool = False
    dropped: bool = False
    recorded: asyncio.Future[None] | None = None  # its answer's record, when the answer did not wait for it


@dataclass(eq=False)
class DeviceHandle:
    config: DeviceConfig
    driver: Driver
    queue: asyncio.Queue[Job] = field(default_factory=lambda: asyncio.Queue(maxsize=QUEUE_DEPTH))
    worker: asyncio.Task[None] | None = None
    running: Job | None = None
    removed: bool = False  # set when the device is deleted: nothing more may run on it
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # held while an operation runs or during a restart
    extras: dict[str, Any] = field(default_factory=dict)  # more view fields, set by interfaces (e.g. "inp")
    operations: frozenset[str] = frozenset()  # what its model offers (the registry's table)
    reconnect: asyncio.Task[None] | None = None  # while reconnecting after a link drop
    starting: asyncio.Task[None] | None = None  # the driver's start, in a task of its own (never awaited whole)
    ready: bool = False  # the driver started and its link is up: operations may reach it

    @property
    def id(self) -> str:
        return self.config.id

    @property
    def kind(self) -> str:
        return kind_of(self.config)

    @property
    def status(self) -> StatusInfo:
        if not self.config.enabled:
            return StatusInfo(DeviceStatus.DISABLED)
        return self.driver.status

    @property
    def vat_rates(self) -> dict[str, int]:
        return self.driver.vat_rates if isinstance(self.driver, FiscalDriver) else {}
