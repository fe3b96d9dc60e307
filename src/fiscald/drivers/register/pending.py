"""The receipt a register driver is printing, as stored in the device's state until its outcome is journaled.

Written before the receipt can close, so that after a lost reply, a refusal, a dropped link or a crash the driver
can ask the register what became of it and journal exactly that — printed (with the register's own number),
finished (the rest paid as the request says, then closed) or cancelled — and never print it again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Payment:
    """One payment as sent to the register: our type, the register's code for it, the amount."""
    type: str
    code: str
    cents: int


@dataclass
class PendingReceipt:
    request: dict[str, Any]  # the print_receipt params, as the caller sent them (JSON)
    total_cents: int
    voided: bool  # close_action "void": cancelled on purpose before any payment
    payments: dict[str, int]  # by our type, for the journal
    plan: list[Payment]  # in the order they are sent (cash last: change comes only from cash)
    items: int  # sales lines the register counts
    lines: list[str]  # the journal text of the lines
    pos_transactions: list[dict[str, Any]] = field(default_factory=list)
    before: int | None = None  # the register's last document number before opening (old protocol: 113)
    number: int | None = None  # the number the register gave the receipt when it opened (X: 48's slip number)
    opened: bool = False  # 48 answered: the receipt is open on the register
    operation_id: str | None = None  # the operation that asked for it (journaled with the outcome)

    def to_json(self) -> dict[str, Any]:
        """A snapshot, taken now and written later by the store's writer: every field copied at the top level (the
        request, the transactions and the payments are never changed in place once recorded). Not
        ``dataclasses.asdict``, which deep-copies the whole request: 341 µs of a Datecs receipt (docs/benchmarks.md)."""
        return {"request": self.request, "total_cents": self.total_cents, "voided": self.voided,
                "payments": dict(self.payments),
                "plan": [{"type": p.type, "code": p.code, "cents": p.cents} for p in self.plan],
                "items": self.items, "lines": list(self.lines), "pos_transactions": list(self.pos_transactions),
                "before": self.before, "number": self.number, "opened": self.opened,
                "operation_id": self.operation_id}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PendingReceipt:
        plan = [Payment(str(p["type"]), str(p["code"]), int(p["cents"])) for p in data.get("plan") or []]
        return cls(request=dict(data["request"]), total_cents=int(data["total_cents"]),
                   voided=bool(data.get("voided")), payments={k: int(v) for k, v in
                                                              (data.get("payments") or {}).items()},
                   plan=plan, items=int(data.get("items", 0)), lines=[str(x) for x in data.get("lines") or []],
                   pos_transactions=list(data.get("pos_transactions") or []),
                   before=_int_or_none(data.get("before")),
                   number=_int_or_none(data.get("number", data.get("fiscal_number"))),
                   opened=bool(data.get("opened", data.get("number") is not None)),
                   operation_id=data.get("operation_id"))

    def remaining(self, paid_cents: int) -> list[Payment]:
        """What is left to pay when the register reports ``paid_cents`` paid: the payments not yet made, the
        first one reduced by what was already paid of it."""
        left: list[Payment] = []
        done = 0
        for payment in self.plan:
            if done + payment.cents <= paid_cents:
                done += payment.cents
                continue
            already = max(0, paid_cents - done)
            done += payment.cents
            left.append(Payment(payment.type, payment.code, payment.cents - already))
        return left


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)
