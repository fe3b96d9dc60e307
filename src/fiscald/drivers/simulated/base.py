"""What the Simulated register and the Simulated POS terminal share: durable state in the store, the
commit skeleton (journal entry + device state in one transaction, adopted only once committed) and fault
injection around every operation.

Everything a simulated device does is a write to this process's store, so its journal is authoritative: an
interrupted document either is in the journal or never happened. The manager relies on that to queue the
*started* record of an operation without waiting for it (the single FIFO writer commits it first) and to
resolve interrupted card receipts (docs/architecture.md).
"""

from __future__ import annotations

import abc
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, Generic, TypeVar

from fiscald.drivers.base import STARTED_RECORD, Driver, DriverContext, Result
from fiscald.drivers.simulated.faults import FaultSpec, Simulator
from fiscald.errors import Code
from fiscald.models.config import DeviceConfig
from fiscald.models.simulate import SimulateRequest
from fiscald.models.status import DeviceStatus, StatusInfo
from fiscald.store import devices as device_repo
from fiscald.store import journal

S = TypeVar("S")


class SimulatedDevice(Driver, Generic[S]):
    faults: ClassVar[dict[str, FaultSpec]]  # fault name -> what it does
    fail_codes: ClassVar[frozenset[Code]]  # the codes ``fail_next`` may inject
    journal_authoritative: ClassVar[bool] = True
    state: S

    def __init__(self, config: DeviceConfig, ctx: DriverContext) -> None:
        super().__init__(config, ctx)
        self.simulation = Simulator(config.id, self.kind, ctx.db, self.faults, self.fail_codes, self.set_status)

    @abc.abstractmethod
    async def load(self, stored: dict[str, Any] | None) -> None:
        """Adopt the stored state (None: a new device) and set ``connected_device_id``."""

    @abc.abstractmethod
    def state_json(self, state: S, written: journal.JournalEntry | None) -> dict[str, Any]:
        """``state`` as stored, written in the transaction that appended ``written`` (None: no entry)."""

    async def start(self) -> None:
        device_id = self.config.id
        await self.load(await self.ctx.db.read(lambda c: device_repo.load_state(c, device_id)))
        await self.simulation.load()
        self.set_status(self.simulation.status())

    async def stop(self) -> None:
        self.set_status(StatusInfo(DeviceStatus.DISCONNECTED))

    async def simulate(self, request: SimulateRequest) -> dict[str, Any]:
        """Change the injected faults; returns the simulation state. Applies at once, not queued."""
        return await self.simulation.update(request)

    async def perform(self, name: str, run: Callable[[], Awaitable[Result]]) -> Result:
        await self.simulation.before(name)
        result = await run()
        await self.simulation.after(name)
        return result

    async def commit(self, new: S, entry: dict[str, Any] | None = None) -> journal.JournalEntry | None:
        """Durably write the new state (and a journal entry) in one transaction, then adopt it."""
        device_id = self.config.id

        def write(conn: sqlite3.Connection) -> journal.JournalEntry | None:
            written = journal.append(conn, device_id, **entry) if entry is not None else None
            device_repo.save_state(conn, device_id, self.state_json(new, written))
            return written

        # not written if the operation's started record, queued just before without waiting, failed
        written = await self.ctx.db.write(write, after=STARTED_RECORD.get())
        self.state = new
        if written is not None:
            self.ctx.on_journal(written)
        return written
