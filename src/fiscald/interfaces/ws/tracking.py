"""Where a submitted operation is, for ``operation.get``."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from fiscald.core.jobs import Outcome
from fiscald.core.manager import DeviceManager
from fiscald.errors import Code, FiscalError
from fiscald.interfaces.ws.protocol import completed_payload
from fiscald.operations import Operation
from fiscald.store import operations as op_repo
from fiscald.store.operations import OperationRecord

RECENT_OUTCOMES = 1000  # finished submitted operations whose outcome is kept in memory too


class OperationTracker:
    """Where a submitted operation is: queued/running (memory), done (the durable operation log; outcomes that
    are not stored — the request's own errors, 1013 not started — are kept in memory for the latest few)."""

    def __init__(self) -> None:
        self._pending: dict[str, tuple[str, str]] = {}  # operation_id -> (device_id, operation)
        self._recent: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def queued(self, op_id: str, op: Operation) -> None:
        self._pending[op_id] = (op.device_id, op.name)

    def finished(self, op_id: str, op: Operation, outcome: Outcome) -> None:
        view = {**completed_payload(op_id, op, outcome), "state": "done"}
        view.pop("replayed", None)
        self._recent[op_id] = view
        self._recent.move_to_end(op_id)
        while len(self._recent) > RECENT_OUTCOMES:
            self._recent.popitem(last=False)
        self._pending.pop(op_id, None)

    async def lookup(self, manager: DeviceManager, op_id: str) -> dict[str, Any]:
        pending = self._pending.get(op_id)
        if pending is not None and _on_device(manager, pending[0], op_id):
            return _view(op_id, pending, "running")
        record = await manager.db.read(lambda c: op_repo.get(c, op_id))
        recent = self._recent.get(op_id)
        # a record still "running" whose outcome is known: its answer's record is not committed yet (a printed
        # receipt's shares the next commit, its result being in the journal already)
        if record is not None and not (record.state == "running" and recent is not None):
            return _record_view(record)
        if recent is not None:
            return recent
        pending = self._pending.get(op_id)
        if pending is not None:
            return _view(op_id, pending, "queued")
        raise FiscalError(Code.CONFIG, f"operation_id: no operation {op_id!r} (unknown or expired)")


def _on_device(manager: DeviceManager, device_id: str, op_id: str) -> bool:
    return any(h.id == device_id and h.running is not None and h.running.operation_id == op_id
               for h in manager.handles())


def _view(op_id: str, pending: tuple[str, str], state: str) -> dict[str, Any]:
    return {"operation_id": op_id, "device_id": pending[0], "operation": pending[1], "state": state}


def _record_view(record: OperationRecord) -> dict[str, Any]:
    view: dict[str, Any] = {"operation_id": record.id, "device_id": record.device_id,
                            "operation": record.operation}
    body = record.response
    if record.state == "running" or body is None:
        view["state"] = "running"
    elif body.get("status") == 200 and "result" in body:
        view.update(state="done", result=body["result"])
    else:
        view.update(state="done", error=body)
    return view
