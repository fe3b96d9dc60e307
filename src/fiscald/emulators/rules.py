"""The fiscal rules of an emulated register, brand-independent: the receipt state machine the manuals describe
(Datecs [X] p.9-15, [P] p.16-22, [C] p.10-16), over the Simulated register's books (counters, VAT, Z reports,
the journal, durable state).

A receipt is built here (open -> sales / texts / subtotals -> payments -> close, or cancel) and handed to the
books whole at close. Every refusal is a ``Refusal`` naming a ``Rule``; each brand's dialect maps rules to its
own error codes and status bits. What the manuals require, and this engine enforces:

- a refused command changes nothing: the open receipt stays usable (76 reports it, 60 cancels it if unpaid);
- once a payment was made, no more sales or subtotals, and cancel (60) is refused: the receipt must be paid
  and closed ([P] p.20, p.22; [C] p.14, p.16);
- closing needs the total paid; "pay the rest" pays exactly what is due;
- a wrong operator password is refused; a dialect may lock the register after N wrong ones ([P] p.17: 3) until
  it is power-cycled (the emulator restarted);
- no fiscal document once the fiscal day is 24 hours old (Z overdue) or the fiscal memory is full;
- the open receipt (fiscal or not) survives a power cycle, like a real register's ([P] p.6, [C] p.4): it is kept
  in the emulator's data dir with the counters since the last Z.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from fiscald.drivers.simulated.register import DAY_LIMIT, SimulatedRegister
from fiscald.errors import Code, FiscalError
from fiscald.operations import OPERATIONS, Operation
from fiscald.operations import models as m
from fiscald.operations.totals import compute_receipt


class Rule(enum.Enum):
    SYNTAX = "syntax"
    NOT_PERMITTED = "not_permitted"
    RECEIPT_OPEN = "receipt_open"
    RECEIPT_CLOSED = "receipt_closed"
    NON_FISCAL_OPEN = "non_fiscal_open"
    PAYMENT_STARTED = "payment_started"
    NOT_PAID = "not_paid"
    NO_SALES = "no_sales"
    DAY_OVER = "day_over_24h"
    FM_FULL = "fiscal_memory_full"
    PAPER_OUT = "paper_out"
    COVER_OPEN = "cover_open"
    WRONG_PASSWORD = "wrong_password"
    LOCKED = "locked"
    NO_CASH = "no_cash"
    TOO_MANY_SALES = "too_many_sales"
    OVERFLOW = "overflow"
    FORBIDDEN_PAYMENT = "forbidden_payment"
    WRONG_DATETIME = "wrong_datetime"


class Refusal(Exception):
    def __init__(self, rule: Rule, detail: str = "") -> None:
        super().__init__(f"{rule.value}: {detail}" if detail else rule.value)
        self.rule = rule


FAULT_RULES = {"paper_out": Rule.PAPER_OUT, "cover_open": Rule.COVER_OPEN}
CODE_RULES = {Code.PAPER_OUT: Rule.PAPER_OUT, Code.COVER_OPEN: Rule.COVER_OPEN, Code.FISCAL_MEMORY_FULL: Rule.FM_FULL,
              Code.Z_REPORT_REQUIRED: Rule.DAY_OVER, Code.RECEIPT_OPEN: Rule.RECEIPT_OPEN,
              Code.CASH_OUT_EXCEEDS_DRAWER: Rule.NO_CASH, Code.INVALID_AMOUNT: Rule.OVERFLOW}


@dataclass
class OpenReceipt:
    number: int  # the fiscal receipt number it will get
    operator: int
    client_taxn: str | None = None  # a buyer's tax number given at open (Romanian ClientTAXN)
    lines: list[dict[str, Any]] = field(default_factory=list)
    payments: list[dict[str, Any]] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)  # the payment codes as received, in order
    items: int = 0

    def params(self, close_action: str = "close", with_payments: bool = True) -> m.PrintReceiptParams:
        body: dict[str, Any] = {"lines": self.lines, "close_action": close_action, "operator": self.operator}
        if with_payments and self.payments:
            body["payments"] = self.payments
        if self.client_taxn:
            body["buyer"] = {"cif": self.client_taxn}
        return m.PrintReceiptParams.model_validate(body)

    @property
    def paid(self) -> int:
        return sum(int(p["amount_cents"]) for p in self.payments)


@dataclass
class LastReceipt:
    number: int = 0
    items: int = 0
    amount: int = 0
    paid: int = 0
    codes: list[str] = field(default_factory=list)


@dataclass
class Simplified:
    """Simplified invoices (receipts with a buyer's tax number) of a day: count, gross total, VAT."""
    count: int = 0
    total: int = 0
    vat: int = 0


@dataclass
class Book:
    """What the engine keeps beside the Simulated register's state (in ``emulator-state.json``)."""
    open: OpenReceipt | None = None
    non_fiscal: list[str] | None = None
    last: LastReceipt = field(default_factory=LastReceipt)
    documents_at_z: int = 0  # the global document number at the last Z
    receipts_at_z: int = 0  # the fiscal receipt number at the last Z
    passwords: dict[str, str] = field(default_factory=dict)  # operator -> password, when changed from the default
    day_sinv: Simplified = field(default_factory=Simplified)
    last_z_sinv: Simplified = field(default_factory=Simplified)
    last_z_vat: dict[str, int] = field(default_factory=dict)  # gross per VAT letter of the last Z
    last_z_at: str | None = None
    z_seen: int = 0  # the Z number these counters follow
    settings: dict[str, str] = field(default_factory=dict)  # programmed variables (header, footer, columns...)

    @classmethod
    def load(cls, data: dict[str, Any]) -> Book:
        book = cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})
        book.open = OpenReceipt(**data["open"]) if data.get("open") else None
        book.last = LastReceipt(**data.get("last", {}))
        book.day_sinv = Simplified(**data.get("day_sinv", {}))
        book.last_z_sinv = Simplified(**data.get("last_z_sinv", {}))
        return book


@dataclass(frozen=True)
class Transaction:
    """What 76 reports: the open receipt, else the last one."""
    is_open: bool
    number: int
    items: int
    amount: int
    paid: int


@dataclass(frozen=True)
class Report:
    number: int  # the Z number (an X report: the next Z's)
    gross: dict[str, int]  # gross turnover per VAT letter
    vat: dict[str, int]
    simplified: Simplified


class FiscalRules:
    """One register's fiscal rules. ``factory_password`` is every operator's password until changed (None: the
    operator's own number); ``lock_after`` wrong passwords lock the register until restart (None: never);
    ``max_sales`` sales fit in one receipt."""

    def __init__(self, register: SimulatedRegister, data_dir: Path, *, factory_password: str | None,
                 lock_after: int | None, max_sales: int) -> None:
        self.register = register
        self.device_id = register.config.id
        self.path = data_dir / "emulator-state.json"
        self.factory_password = factory_password  # None: the operator's own number ([C] p.23)
        self.lock_after = lock_after
        self.max_sales = max_sales
        self.wrong_passwords = 0  # not kept: a power cycle unlocks ([P] p.17)
        self.book = Book.load(json.loads(self.path.read_text("utf-8"))) if self.path.exists() else Book()

    # -- persistence ------------------------------------------------------------------------------
    def recover(self) -> None:
        """After a power cut between the books' commit and this file's: what the books have, counts."""
        state = self.register.state
        receipt = self.book.open
        if receipt is not None and receipt.number <= state.receipt_number:  # closed or voided on the books
            self.book.last = LastReceipt(receipt.number, receipt.items, self.totals(receipt)[0], receipt.paid,
                                         list(receipt.codes))
            self.book.open = None
        if state.z_number > self.book.z_seen:  # a Z on the books: nothing was printed after it
            self.book.documents_at_z, self.book.receipts_at_z = state.document_number, state.receipt_number
            self.book.last_z_sinv, self.book.day_sinv = self.book.day_sinv, Simplified()
            self.book.last_z_at, self.book.z_seen = state.last_z_datetime, state.z_number
        self.save()

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self.book)), encoding="utf-8")
        os.replace(tmp, self.path)

    # -- reading ----------------------------------------------------------------------------------
    @property
    def open(self) -> OpenReceipt | None:
        return self.book.open

    @property
    def non_fiscal_open(self) -> bool:
        return self.book.non_fiscal is not None

    @property
    def vat_rates(self) -> dict[str, int]:
        return self.register.vat_rates

    def now(self) -> dt.datetime:
        return self.register.now()

    @property
    def document_number(self) -> int:
        return self.register.state.document_number

    @property
    def documents_since_z(self) -> int:
        return self.register.state.document_number - self.book.documents_at_z

    @property
    def receipts_since_z(self) -> int:
        return self.register.state.receipt_number - self.book.receipts_at_z

    def password(self, operator: int) -> str:
        default = self.factory_password if self.factory_password is not None else str(operator)
        return self.book.passwords.get(str(operator), default)

    def totals(self, receipt: OpenReceipt) -> tuple[int, dict[str, int]]:
        if not receipt.items:
            return 0, {}
        result = compute_receipt(receipt.params(with_payments=False), self.vat_rates)
        return result.total_cents, {k: v.gross_cents for k, v in result.vat_totals.items()}

    def transaction(self) -> Transaction:
        r = self.book.open
        if r is not None:
            return Transaction(True, r.number, r.items, self.totals(r)[0], r.paid)
        last = self.book.last
        return Transaction(self.book.non_fiscal is not None, last.number, last.items, last.amount, last.paid)

    # -- guards -----------------------------------------------------------------------------------
    def printable(self) -> None:
        """Paper out or the cover open: nothing that prints is done."""
        rule = FAULT_RULES.get(self.register.simulation.fault or "")
        if rule is not None:
            raise Refusal(rule)

    def _fiscal_day(self) -> None:
        state = self.register.state
        opened = state.day_opened_at
        if opened is not None and self.now() - dt.datetime.fromisoformat(opened) >= DAY_LIMIT:
            raise Refusal(Rule.DAY_OVER, f"fiscal day opened at {opened}")
        if state.z_number >= state.fm_capacity:
            raise Refusal(Rule.FM_FULL)

    def _idle(self) -> None:
        if self.book.open is not None:
            raise Refusal(Rule.RECEIPT_OPEN)
        if self.book.non_fiscal is not None:
            raise Refusal(Rule.NON_FISCAL_OPEN)

    def _receipt(self) -> OpenReceipt:
        if self.book.open is None:
            raise Refusal(Rule.RECEIPT_CLOSED)
        return self.book.open

    # -- the fiscal receipt -----------------------------------------------------------------------
    def open_receipt(self, operator: int, password: str, client_taxn: str | None = None) -> OpenReceipt:
        if self.lock_after is not None and self.wrong_passwords >= self.lock_after:
            raise Refusal(Rule.LOCKED, "power the register off and on")
        self._idle()
        if password != self.password(operator):
            self.wrong_passwords += 1
            raise Refusal(Rule.WRONG_PASSWORD, f"operator {operator}")
        self.wrong_passwords = 0
        self._fiscal_day()
        self.printable()
        if client_taxn:
            try:
                m.BuyerInfo.model_validate({"cif": client_taxn})
            except ValidationError as exc:
                raise Refusal(Rule.SYNTAX, f"client tax number {client_taxn!r}") from exc
        self.book.open = OpenReceipt(self.register.state.receipt_number + 1, operator, client_taxn or None)
        self.save()
        return self.book.open

    def sell(self, line: dict[str, Any]) -> OpenReceipt:
        receipt = self._receipt()
        if receipt.payments:
            raise Refusal(Rule.PAYMENT_STARTED)
        if receipt.items >= self.max_sales:
            raise Refusal(Rule.TOO_MANY_SALES, f"{self.max_sales} sales")
        self.printable()
        try:
            m.ItemLine.model_validate(line)
            compute_receipt(m.PrintReceiptParams.model_validate({"lines": [*receipt.lines, line]}), self.vat_rates)
        except ValidationError as exc:
            raise Refusal(Rule.SYNTAX, str(exc.errors()[0]["msg"])) from exc
        except FiscalError as exc:
            raise Refusal(CODE_RULES.get(exc.code, Rule.SYNTAX), exc.message("en")) from exc
        receipt.lines.append(line)
        receipt.items += 1
        self.save()
        return receipt

    def text(self, text: str) -> None:
        receipt = self._receipt()
        self.printable()
        line = {"type": "text", "text": text}
        try:  # a text the receipt could not carry (a control character) is refused, not kept to spoil the close
            m.TextLine.model_validate(line)
        except ValidationError as exc:
            raise Refusal(Rule.SYNTAX, str(exc.errors()[0]["msg"])) from exc
        receipt.lines.append(line)
        self.save()

    def subtotal(self, discount: dict[str, Any] | None) -> tuple[int, dict[str, int]]:
        receipt = self._receipt()
        if receipt.payments:
            raise Refusal(Rule.PAYMENT_STARTED)
        line: dict[str, Any] = {"type": "subtotal"}
        if discount is not None:
            if not receipt.items:
                raise Refusal(Rule.NO_SALES)
            line["discount"] = discount
            try:
                compute_receipt(m.PrintReceiptParams.model_validate({"lines": [*receipt.lines, line]}),
                                self.vat_rates)
            except ValidationError as exc:
                raise Refusal(Rule.SYNTAX, str(exc.errors()[0]["msg"])) from exc
            except FiscalError as exc:
                raise Refusal(CODE_RULES.get(exc.code, Rule.SYNTAX), exc.message("en")) from exc
        receipt.lines.append(line)
        self.save()
        return self.totals(receipt)

    def pay(self, kind: str, code: str, amount: int | None) -> int:
        """Book a payment (``amount`` None: exactly the rest); returns due (> 0) or change (< 0) as
        ``total - paid``."""
        receipt = self._receipt()
        if not receipt.items:
            raise Refusal(Rule.NO_SALES)
        self.printable()
        total = self.totals(receipt)[0]
        due = total - receipt.paid
        value = due if amount is None else amount
        if value <= 0:
            if due <= 0:
                raise Refusal(Rule.NOT_PERMITTED, "the receipt is paid")
            raise Refusal(Rule.SYNTAX, "amount")
        if value > due and kind != "cash":
            raise Refusal(Rule.FORBIDDEN_PAYMENT, "only cash gives change")  # [X error list] -111054
        receipt.payments.append({"type": kind, "amount_cents": value})
        receipt.codes.append(code)
        self.save()
        return total - receipt.paid

    async def close(self) -> LastReceipt:
        receipt = self._receipt()
        if not receipt.payments or receipt.paid < self.totals(receipt)[0]:
            raise Refusal(Rule.NOT_PAID)
        result = await self._books(receipt.params())
        total = int(result["total_cents"])
        self.book.last = LastReceipt(int(result["receipt_number"]), receipt.items, total,
                                     int(result["paid_cents"]), list(receipt.codes))
        if receipt.client_taxn:
            vat = sum(int(v["vat_cents"]) for v in result["vat_totals"].values())
            s = self.book.day_sinv
            self.book.day_sinv = Simplified(s.count + 1, s.total + total, s.vat + vat)
        self.book.open = None
        self.save()
        return self.book.last

    async def cancel(self) -> None:
        receipt = self._receipt()
        if receipt.payments:
            raise Refusal(Rule.PAYMENT_STARTED, "a payment was made: pay the rest and close")
        if receipt.items:
            result = await self._books(receipt.params("void", with_payments=False))
            self.book.last = LastReceipt(int(result["receipt_number"]), receipt.items, int(result["total_cents"]), 0)
        self.book.open = None
        self.save()

    async def _books(self, params: m.PrintReceiptParams) -> dict[str, Any]:
        try:
            result = dict(await self.register.execute(
                Operation(self.device_id, OPERATIONS["print_receipt"], params)))
        except FiscalError as exc:
            raise Refusal(CODE_RULES.get(exc.code, Rule.NOT_PERMITTED), exc.message("en")) from exc
        return result

    # -- service (non-fiscal) receipts -------------------------------------------------------------
    def open_non_fiscal(self) -> None:
        self._idle()
        self.printable()
        self.book.non_fiscal = []
        self.save()

    def non_fiscal_text(self, text: str) -> None:
        if self.book.non_fiscal is None:
            raise Refusal(Rule.RECEIPT_CLOSED)
        self.printable()
        self.book.non_fiscal.append(text)
        self.save()

    async def close_non_fiscal(self) -> None:
        if self.book.non_fiscal is None:
            raise Refusal(Rule.RECEIPT_CLOSED)
        lines = [{"type": "text", "text": t} for t in self.book.non_fiscal] or [{"type": "text", "text": ""}]
        await self.run("print_non_fiscal", {"lines": lines})
        self.book.non_fiscal = None
        self.save()

    # -- other operations ---------------------------------------------------------------------------
    async def run(self, name: str, params: dict[str, Any] | None = None,
                  refusals: dict[Code, Rule] | None = None) -> Any:
        """One operation on the books; a refusal is named by ``refusals``, else by CODE_RULES."""
        spec = OPERATIONS[name]
        try:
            return await self.register.execute(Operation(self.device_id, spec, spec.params.model_validate(
                params or {})))
        except FiscalError as exc:
            rule = (refusals or {}).get(exc.code) or CODE_RULES.get(exc.code, Rule.NOT_PERMITTED)
            raise Refusal(rule, exc.message("en")) from exc

    def drawer(self) -> tuple[int, int, int]:
        state = self.register.state
        return state.cash_in_drawer_cents, int(state.day["cash_in_cents"]), int(state.day["cash_out_cents"])

    async def cash(self, signed: int) -> tuple[int, int, int]:
        if signed:
            self._idle()
            if signed < 0 and -signed > self.register.state.cash_in_drawer_cents:
                raise Refusal(Rule.NO_CASH)
            await self.run("cash_in" if signed > 0 else "cash_out", {"amount_cents": abs(signed)})
        return self.drawer()

    async def report(self, z: bool) -> Report:
        self._idle()
        self.printable()
        result = await self.run("z_report" if z else "x_report")
        gross = {k: int(v["base_cents"]) + int(v["vat_cents"]) for k, v in result["vat_totals"].items()}
        vat = {k: int(v["vat_cents"]) for k, v in result["vat_totals"].items()}
        simplified = self.book.day_sinv
        if z:
            state = self.register.state
            self.book.documents_at_z, self.book.receipts_at_z = state.document_number, state.receipt_number
            self.book.last_z_sinv, self.book.day_sinv = simplified, Simplified()
            self.book.last_z_vat = gross
            self.book.last_z_at, self.book.z_seen = state.last_z_datetime, state.z_number
            self.save()
            return Report(state.z_number, gross, vat, simplified)
        return Report(self.register.state.z_number + 1, gross, vat, simplified)

    async def set_datetime(self, when: dt.datetime) -> None:
        self._idle()
        # the books refuse (as CONFIG) only a clock earlier than the last fiscal record ([P] p.22)
        await self.run("set_datetime", {"datetime": when.isoformat()}, {Code.CONFIG: Rule.WRONG_DATETIME})

    async def duplicate(self) -> None:
        self._idle()
        self.printable()
        await self.run("print_duplicate")
