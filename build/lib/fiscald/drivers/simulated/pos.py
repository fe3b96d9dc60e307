"""The Simulated POS terminal: approves card payments with deterministic fake card data, keeps its batch
(the transactions since the last settlement) durably, and journals every transaction in the store journal,
hash-chained like a register's (``fiscal_day`` holds the batch number, ``number`` the transaction number).

Each transaction is written in one transaction of the store (journal entry + terminal state); the in-memory
state is replaced only after it committed.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from fiscald.drivers.base import Driver, DriverContext
from fiscald.drivers.simulated.faults import FaultSpec, Simulator
from fiscald.drivers.simulated.printout import Printout, money
from fiscald.errors import Code, FiscalError
from fiscald.models.config import PosConfig
from fiscald.models.simulate import SimulateRequest
from fiscald.models.status import DeviceStatus, StatusInfo
from fiscald.operations import OPERATIONS, Operation
from fiscald.operations import models as m
from fiscald.store import devices as device_repo
from fiscald.store import journal

_CARD_OPS = frozenset({"pos_sale", "pos_refund"})
_HOST_OPS = frozenset({"pos_sale", "pos_refund", "pos_void", "pos_settlement"})
FAULTS = {
    "decline": FaultSpec(Code.CARD_DECLINED, _CARD_OPS, DeviceStatus.CONNECTED),
    "cancel": FaultSpec(Code.POS_CANCELLED, _CARD_OPS, DeviceStatus.CONNECTED),
    "timeout": FaultSpec(Code.POS_TIMEOUT, _HOST_OPS, DeviceStatus.CONNECTED),
    "disconnected": FaultSpec(Code.CONNECTION, frozenset(n for n, s in OPERATIONS.items() if s.kind == "pos"),
                              DeviceStatus.DISCONNECTED),
}
FAIL_CODES = frozenset({Code.CONNECTION, Code.POS, Code.CARD_DECLINED, Code.POS_CANCELLED, Code.POS_TIMEOUT})
BRANDS = ("VISA", "MASTERCARD", "MAESTRO")
TITLES = {"sale": "VANZARE", "refund": "RETUR", "void": "ANULARE"}


@dataclass
class PosState:
    terminal_id: str
    batch_number: int = 1
    transaction_number: int = 0  # last transaction number (continuous, never reset)
    batch: list[dict[str, Any]] = field(default_factory=list)  # transactions of the open batch


def terminal_id_for(device_id: str) -> str:
    digits = int(hashlib.sha256(device_id.encode()).hexdigest(), 16) % 1_000_000
    return f"SP{digits:06d}"


def _digits(seed: str, count: int) -> str:
    return f"{int(hashlib.sha256(seed.encode()).hexdigest(), 16) % 10**count:0{count}d}"


class SimulatedPos(Driver):
    kind = "pos"
    effects_in_store = True
    config: PosConfig

    def __init__(self, config: PosConfig, ctx: DriverContext) -> None:
        super().__init__(config, ctx)
        self.state = PosState(terminal_id=terminal_id_for(config.id))
        self.simulation = Simulator(config.id, "pos", ctx.db, FAULTS, FAIL_CODES, self.set_status)

    # -- lifecycle --------------------------------------------------------------------------------
    async def start(self) -> None:
        device_id = self.config.id
        stored = await self.ctx.db.read(lambda c: device_repo.load_state(c, device_id))
        if stored is None:
            await self._commit(copy.deepcopy(self.state))
        else:
            self.state = PosState(**stored)
        self.connected_device_id = self.state.terminal_id
        await self.simulation.load()
        self.set_status(self.simulation.status())

    async def stop(self) -> None:
        self.set_status(StatusInfo(DeviceStatus.DISCONNECTED))

    async def simulate(self, request: SimulateRequest) -> dict[str, Any]:
        return await self.simulation.update(request)

    def now(self) -> str:
        return dt.datetime.now().astimezone().replace(microsecond=0).isoformat()

    async def _commit(self, new: PosState, entry: dict[str, Any] | None = None) -> None:
        device_id = self.config.id

        def write(conn: sqlite3.Connection) -> journal.JournalEntry | None:
            written = journal.append(conn, device_id, **entry) if entry is not None else None
            device_repo.save_state(conn, device_id, asdict(new))
            return written

        written = await self.ctx.db.write(write)
        self.state = new
        if written is not None:
            self.ctx.on_journal(written)

    # -- operations -------------------------------------------------------------------------------
    async def execute(self, op: Operation) -> dict[str, Any]:
        handler: Callable[[Any], Awaitable[dict[str, Any]]] | None = getattr(self, f"_op_{op.name}", None)
        if handler is None:
            raise FiscalError(Code.NOT_SUPPORTED, f"{op.name} is not a POS terminal operation")
        await self.simulation.before(op.name)
        result = await handler(op.params)
        await self.simulation.after(op.name)
        return result

    def _transaction(self, new: PosState, kind: str, amount: int, currency: str, card: dict[str, str] | None,
                     **extra: Any) -> dict[str, Any]:
        """A new transaction; ``card`` None reads a new (fake, deterministic) card."""
        new.transaction_number += 1
        number = new.transaction_number
        seed = f"{new.terminal_id}:{number}"
        if card is None:
            card = {"card_masked": f"**** **** **** {_digits(seed + ':card', 4)}",
                    "card_brand": BRANDS[int(_digits(seed + ':brand', 4)) % len(BRANDS)]}
        return {"transaction_id": f"{new.terminal_id}-{number:08d}", "number": number, "type": kind,
                "amount_cents": amount, "currency": currency, "auth_code": _digits(seed + ":auth", 6),
                "rrn": _digits(seed + ":rrn", 12), **card, "terminal_id": new.terminal_id,
                "datetime": self.now(), **extra}

    async def _record(self, new: PosState, tx: dict[str, Any]) -> dict[str, Any]:
        text = self._slip(TITLES[tx["type"]], [
            ("CARD", f"{tx['card_brand']} {tx['card_masked'][-4:]}"),
            ("SUMA", f"{money(tx['amount_cents'])} {tx['currency']}"),
            ("AUTORIZARE", tx["auth_code"]), ("RRN", tx["rrn"]), ("TRANZACTIE", tx["transaction_id"]),
        ], tx["datetime"], "APROBAT")
        new.batch.append({**tx, "voided": False})  # the batch tracks voids; the journal entry stays as approved
        await self._commit(new, {"kind": f"pos_{tx['type']}", "number": tx["number"],
                                 "fiscal_day": new.batch_number, "datetime": tx["datetime"],
                                 "total_cents": tx["amount_cents"], "text": text, "data": tx})
        return {"approved": True, **{k: tx[k] for k in ("transaction_id", "auth_code", "rrn", "card_masked",
                                                         "card_brand", "amount_cents", "terminal_id", "datetime")}}

    def _slip(self, title: str, pairs: list[tuple[str, str]], when: str, closing: str) -> str:
        p = Printout()
        p.center(self.config.name)
        p.center(f"TERMINAL {self.state.terminal_id}")
        p.rule()
        p.center(title)
        for left, right in pairs:
            p.pair(left, right)
        p.rule()
        p.left(when.replace("T", " ")[:19])
        p.center(closing)
        return p.text()

    async def _op_pos_sale(self, params: m.PosSaleParams) -> dict[str, Any]:
        new = copy.deepcopy(self.state)
        tx = self._transaction(new, "sale", params.amount_cents, params.currency, None,
                               reference=params.reference)
        return await self._record(new, tx)

    def _number_of(self, transaction_id: str, field_name: str) -> int:
        prefix, _, number = transaction_id.rpartition("-")
        if prefix != self.state.terminal_id or not number.isdigit():
            raise FiscalError(Code.CONFIG, f"params.{field_name}: {transaction_id!r} is not a transaction of "
                                           f"terminal {self.state.terminal_id}")
        return int(number)

    async def _op_pos_refund(self, params: m.PosRefundParams) -> dict[str, Any]:
        number = self._number_of(params.original_transaction_id, "original_transaction_id")
        device_id = self.config.id

        def lookup(conn: sqlite3.Connection) -> tuple[list[journal.JournalEntry], list[journal.JournalEntry]]:
            sale = journal.query(conn, device_id, kinds=("pos_sale",), from_number=number, to_number=number,
                                 limit=1)
            voids = journal.query(conn, device_id, kinds=("pos_void",), from_number=number, limit=100_000)
            return sale, voids

        found, voids = await self.ctx.db.read(lookup)
        if not found or any(v.data["original_transaction_id"] == params.original_transaction_id for v in voids):
            raise FiscalError(Code.CONFIG, f"params.original_transaction_id: no approved sale "
                                           f"{params.original_transaction_id}")
        original = found[0].data
        if params.amount_cents > original["amount_cents"]:
            raise FiscalError(Code.CONFIG, f"params.amount_cents: {params.amount_cents} exceeds the original sale "
                                           f"of {original['amount_cents']}")
        new = copy.deepcopy(self.state)
        card = {"card_masked": original["card_masked"], "card_brand": original["card_brand"]}
        tx = self._transaction(new, "refund", params.amount_cents, params.currency, card,
                               original_transaction_id=params.original_transaction_id)
        return await self._record(new, tx)

    async def _op_pos_void(self, params: m.PosVoidParams) -> dict[str, Any]:
        self._number_of(params.transaction_id, "transaction_id")
        new = copy.deepcopy(self.state)
        targets = [t for t in new.batch if t["transaction_id"] == params.transaction_id and t["type"] != "void"]
        if not targets or targets[0]["voided"]:
            raise FiscalError(Code.CONFIG, f"params.transaction_id: {params.transaction_id} is not an open "
                                           "transaction of the current batch (settled ones need pos_refund)")
        target = targets[0]
        target["voided"] = True
        card = {"card_masked": target["card_masked"], "card_brand": target["card_brand"]}
        tx = self._transaction(new, "void", target["amount_cents"], target["currency"], card,
                               original_transaction_id=target["transaction_id"])
        return await self._record(new, tx)

    def _batch_totals(self) -> tuple[int, int]:
        live = [t for t in self.state.batch if t["type"] != "void" and not t["voided"]]
        total = sum(t["amount_cents"] if t["type"] == "sale" else -t["amount_cents"] for t in live)
        return len(live), total

    async def _op_pos_settlement(self, params: m.NoParams) -> dict[str, Any]:
        count, total = self._batch_totals()
        new = copy.deepcopy(self.state)
        result = {"batch_number": new.batch_number, "count": count, "total_cents": total}
        when = self.now()
        text = self._slip(f"INCHIDERE LOT {new.batch_number}",
                          [("TRANZACTII", str(count)), ("TOTAL", money(total))], when, "LOT INCHIS")
        entry = {"kind": "pos_settlement", "number": new.batch_number, "fiscal_day": new.batch_number,
                 "datetime": when, "total_cents": total, "text": text, "data": result}
        new.batch_number += 1
        new.batch = []
        await self._commit(new, entry)
        return result

    async def _op_pos_status(self, params: m.NoParams) -> dict[str, Any]:
        return {"status": self.status.status.value, "status_text": self.status.text("en"),
                "terminal_id": self.state.terminal_id, "batch_open_count": self._batch_totals()[0]}
