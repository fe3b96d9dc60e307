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
from dataclasses import asdict, dataclass, field
from typing import Any

from fiscald.drivers.base import DriverContext, Handlers, PosDriver, pos_handlers
from fiscald.drivers.simulated.base import SimulatedDevice
from fiscald.drivers.simulated.faults import FaultSpec
from fiscald.drivers.simulated.printout import Printout, money
from fiscald.errors import Code, FiscalError
from fiscald.models.config import PosConfig
from fiscald.models.status import DeviceStatus
from fiscald.operations import OPERATIONS
from fiscald.operations import models as m
from fiscald.operations import results as r
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


class SimulatedPos(SimulatedDevice[PosState], PosDriver):
    config: PosConfig
    faults = FAULTS
    fail_codes = FAIL_CODES

    def __init__(self, config: PosConfig, ctx: DriverContext) -> None:
        super().__init__(config, ctx)
        self.state = PosState(terminal_id=terminal_id_for(config.id))

    def build_handlers(self) -> Handlers:
        return pos_handlers(self)

    # -- lifecycle --------------------------------------------------------------------------------
    async def load(self, stored: dict[str, Any] | None) -> None:
        if stored is None:
            await self.commit(copy.deepcopy(self.state))
        else:
            self.state = PosState(**stored)
        self.connected_device_id = self.state.terminal_id

    def state_json(self, state: PosState, written: journal.JournalEntry | None) -> dict[str, Any]:
        return asdict(state)

    def now(self) -> str:
        return dt.datetime.now().astimezone().replace(microsecond=0).isoformat()

    # -- operations -------------------------------------------------------------------------------
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

    async def _record(self, new: PosState, tx: dict[str, Any]) -> r.CardResult:
        text = self._slip(TITLES[tx["type"]], [
            ("CARD", f"{tx['card_brand']} {tx['card_masked'][-4:]}"),
            ("SUMA", f"{money(tx['amount_cents'])} {tx['currency']}"),
            ("AUTORIZARE", tx["auth_code"]), ("RRN", tx["rrn"]), ("TRANZACTIE", tx["transaction_id"]),
        ], tx["datetime"], "APROBAT")
        new.batch.append({**tx, "voided": False})  # the batch tracks voids; the journal entry stays as approved
        await self.commit(new, {"kind": f"pos_{tx['type']}", "number": tx["number"],
                                 "fiscal_day": new.batch_number, "datetime": tx["datetime"],
                                 "total_cents": tx["amount_cents"], "text": text, "data": tx})
        return {"approved": True, "transaction_id": tx["transaction_id"], "auth_code": tx["auth_code"],
                "rrn": tx["rrn"], "card_masked": tx["card_masked"], "card_brand": tx["card_brand"],
                "amount_cents": tx["amount_cents"], "terminal_id": tx["terminal_id"], "datetime": tx["datetime"]}

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

    async def pos_sale(self, params: m.PosSaleParams) -> r.CardResult:
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

    async def pos_refund(self, params: m.PosRefundParams) -> r.CardResult:
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

    async def pos_void(self, params: m.PosVoidParams) -> r.CardResult:
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

    def _live(self) -> list[dict[str, Any]]:
        """The open batch's sales and refunds that were not voided."""
        return [t for t in self.state.batch if t["type"] != "void" and not t["voided"]]

    async def pos_settlement(self, params: m.NoParams) -> r.SettlementResult:
        live = self._live()
        currencies: dict[str, r.CurrencyTotal] = {}
        for t in live:  # amounts of different currencies are never added together
            total = currencies.setdefault(t["currency"], {"count": 0, "total_cents": 0})
            total["count"] += 1
            total["total_cents"] += t["amount_cents"] if t["type"] == "sale" else -t["amount_cents"]
        currencies = dict(sorted(currencies.items()))
        single = [c["total_cents"] for c in currencies.values()]
        new = copy.deepcopy(self.state)
        result: r.SettlementResult = {"batch_number": new.batch_number, "count": len(live),
                                      "total_cents": (single or [0])[0] if len(single) <= 1 else None,
                                      "currencies": currencies}
        when = self.now()
        pairs = [("TRANZACTII", str(len(live)))]
        pairs += [(f"TOTAL {code}", money(c["total_cents"])) for code, c in currencies.items()] or [("TOTAL", money(0))]
        text = self._slip(f"INCHIDERE LOT {new.batch_number}", pairs, when, "LOT INCHIS")
        entry = {"kind": "pos_settlement", "number": new.batch_number, "fiscal_day": new.batch_number,
                 "datetime": when, "total_cents": result["total_cents"], "text": text, "data": result}
        new.batch_number += 1
        new.batch = []
        await self.commit(new, entry)
        return result

    async def pos_status(self, params: m.NoParams) -> r.PosStatusResult:
        return {"status": self.status.status.value, "status_text": self.status.text(self.ctx.language()),
                "terminal_id": self.state.terminal_id, "batch_open_count": len(self._live())}
