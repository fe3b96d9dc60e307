"""Card payments through the linked POS terminal (``auto_send_card_to_pos``), coordinated by the manager.

A ``print_receipt`` that closes with ``card`` payments on a register with ``auto_send_card_to_pos``:
1. is computed first, so a receipt the register would refuse (unknown VAT, payments short, ...) never charges a
   card;
2. runs ``pos_sale`` for each card payment on the linked terminal, through the manager (the terminal's queue,
   operation log and journal). When the receipt has an Idempotency-Key, each sale gets a key derived from it:
   the terminal's stored answer is the durable record of the approval, so a retry of the receipt replays the
   approval instead of charging the card again;
3. prints the receipt with the terminal's answers (``pos_transactions`` in the result and the journal).

A refusal or any terminal error voids (``pos_void``) the approvals this receipt already got, prints the receipt
as voided and answers the terminal's error. A register error after the approvals voids them too, except when
the register's outcome is unknown (2003/2004): the receipt may exist, so the approvals stay, listed in the error.

Crash recovery (:func:`recover`, at start-up): an interrupted card receipt whose sales were all approved is
resolved from the register's journal. Printed: its journaled result becomes the stored answer. Not printed, on a
register whose journal is authoritative: its operation record is dropped, so the client's retry with the same key
prints it, reusing the approvals. A receipt interrupted while its sale was still on a terminal that resumes keyed
operations (``Driver.resumes_interrupted``, e.g. Viva: the sale's request is stored under its key before it
leaves) was not printed either (a receipt prints only after all its sales answered): the receipt's record and the
sale's are dropped, so the retry with the same key polls that same sale and goes on as if it had never stopped
(approved: the receipt prints once with it; declined: the receipt is voided). Anything else stays 1010
OutcomeUnknown, with the approvals in ``details``. The terminal's own start-up leaves such a sale's record to the
receipt's recovery while the receipt's record is still interrupted (devices start in any order).
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import Any, Protocol

from fiscald.config import Settings
from fiscald.core.jobs import DeviceHandle, Job, Outcome, interrupted_details
from fiscald.core.resume import resumes
from fiscald.drivers.base import FiscalDriver
from fiscald.drivers.registry import find
from fiscald.errors import Code, FiscalError
from fiscald.models.config import FiscalDeviceConfig
from fiscald.operations import OPERATIONS, Operation
from fiscald.operations.models import PosSaleParams, PosVoidParams, PrintReceiptParams
from fiscald.operations.totals import compute_receipt
from fiscald.store import Database, archive
from fiscald.store import journal as journal_repo
from fiscald.store import operations as op_repo

log = logging.getLogger("fiscald.card_payments")


class Manager(Protocol):
    """What a card payment needs of the DeviceManager: the terminal's queue, key rules and operation log."""

    @property
    def db(self) -> Database: ...

    @property
    def settings(self) -> Settings: ...

    def handle(self, device_id: str) -> DeviceHandle: ...

    async def execute(self, op: Operation, idem_key: str | None = None, source: str = "http",
                      record: bool | None = None,
                      on_queued: Callable[[str], Awaitable[None]] | None = None, bounded: bool = True) -> Outcome: ...


# register errors after which the receipt may exist: the card approvals are kept, not voided
UNKNOWN_OUTCOME = frozenset({Code.DEVICE_TIMEOUT, Code.DEVICE_DISCONNECTED})


def needs_pos(handle: DeviceHandle, op: Operation) -> bool:
    config = handle.config
    params = op.params
    return (isinstance(config, FiscalDeviceConfig) and config.auto_send_card_to_pos
            and isinstance(params, PrintReceiptParams) and params.close_action == "close"
            and any(p.type == "card" for p in params.payments or ()))


def key_base(register_id: str, idem_key: str) -> str:
    """The stem of the terminal-side keys of one receipt (register + the receipt's Idempotency-Key)."""
    return hashlib.sha256(f"{register_id}\n{idem_key}".encode()).hexdigest()[:40]


def card_key(base: str, step: str) -> str:
    """The terminal-side key of one step of a receipt's card payment: ``sale-<n>`` or ``void-<n>``."""
    return f"card-{base}-{step}"


async def execute(manager: Manager, handle: DeviceHandle, job: Job) -> Mapping[str, Any]:
    """Run ``job`` on its device; card receipts go through the linked terminal first."""
    handle.driver.operation_key = job.idem_key
    if not needs_pos(handle, job.op):
        return await handle.driver.execute(job.op)
    return await _CardReceipt(manager, handle, job).run()


class _CardReceipt:
    def __init__(self, manager: Manager, handle: DeviceHandle, job: Job) -> None:
        assert isinstance(job.op.params, PrintReceiptParams) and isinstance(handle.driver, FiscalDriver)
        assert isinstance(handle.config, FiscalDeviceConfig)
        self.manager = manager
        self.config = handle.config
        self.driver = handle.driver
        self.op = job.op
        self.params = job.op.params
        self.base = key_base(handle.id, job.idem_key) if job.idem_key is not None else None
        self.reference = f"rcpt-{self.base[:32]}" if self.base else f"op-{job.operation_id}"

    def _key(self, what: str) -> str | None:
        return card_key(self.base, what) if self.base else None

    def _terminal(self) -> str:
        pos_id = self.config.linked_pos_device_id
        if not pos_id:
            raise FiscalError(Code.POS_NOT_LINKED, "linked_pos_device_id: not set on this register")
        try:
            linked = self.manager.handle(pos_id)
        except FiscalError:
            raise FiscalError(Code.POS_NOT_LINKED, f"linked_pos_device_id: no enabled POS terminal {pos_id}") from None
        if linked.kind != "pos":
            raise FiscalError(Code.POS_NOT_LINKED, f"linked_pos_device_id: {pos_id} is not a POS terminal")
        return pos_id

    async def run(self) -> Mapping[str, Any]:
        compute_receipt(self.params, self.driver.vat_rates)
        pos_id = self._terminal()
        approved: list[dict[str, Any]] = []
        cards = [p for p in self.params.payments or () if p.type == "card"]
        for index, payment in enumerate(cards):
            sale = Operation(pos_id, OPERATIONS["pos_sale"],
                             PosSaleParams(amount_cents=payment.amount_cents, reference=self.reference))
            # the receipt's caller is the one with a bound; a sale on the terminal is waited for to its end
            outcome = await self.manager.execute(sale, self._key(f"sale-{index}"), source="card", bounded=False)
            if not outcome.ok:
                raise await self._refused(pos_id, approved, outcome, payment.amount_cents)
            approved.append(outcome.body["result"])
        try:
            return await self.driver.print_card_receipt(self.op, approved)
        except Exception as exc:  # whatever failed, the answer must say what the card was charged
            err = exc if isinstance(exc, FiscalError) else FiscalError(Code.INTERNAL, type(exc).__name__)
            details: dict[str, Any] = {**(err.details or {}), "pos_device_id": pos_id, "pos_transactions": approved}
            if err.code not in UNKNOWN_OUTCOME:
                details["pos_reversals"] = await self._reverse(pos_id, approved)
            # the approvals stay stored under the receipt's terminal keys: its own key stays consumed too
            raise FiscalError(err.code, err.detail, details, left_nothing=False) from exc

    async def _reverse(self, pos_id: str, approved: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Void this receipt's approvals on the terminal; returns each answer."""
        answers = []
        for index, tx in enumerate(approved):
            void = Operation(pos_id, OPERATIONS["pos_void"], PosVoidParams(transaction_id=tx["transaction_id"]))
            outcome = await self.manager.execute(void, self._key(f"void-{index}"), source="card", bounded=False)
            answers.append({"transaction_id": tx["transaction_id"], **outcome.body})
        return answers

    async def _refused(self, pos_id: str, approved: list[dict[str, Any]], answer: Outcome,
                       amount_cents: int) -> FiscalError:
        """The terminal did not approve: reverse earlier approvals, void the receipt, answer the POS error.

        The receipt's key is not consumed when nothing was charged: no earlier approval, and the terminal's
        answer is not stored under its key (declined, cancelled, not connected), so a retry asks again."""
        pos_error = answer.body
        code = Code(pos_error["status"])
        if code == Code.DEVICE_NOT_FOUND:  # the terminal went away meanwhile
            code = Code.POS_NOT_LINKED
        elif FiscalError(code).caused_by_request:
            # a voided receipt was printed: the answer must be stored and replayed, so never a request error
            code = Code.POS
        refused = {"approved": False, "amount_cents": amount_cents, "error": pos_error}
        details: dict[str, Any] = {"pos_device_id": pos_id, "pos_error": pos_error,
                                   "pos_transactions": [*approved, refused]}
        if approved:
            details["pos_reversals"] = await self._reverse(pos_id, approved)
        void = Operation(self.op.device_id, self.op.spec, self.params.model_copy(update={"close_action": "void"}),
                         self.op.timeout_ms)
        try:
            voided = await self.driver.print_card_receipt(void, [*approved, refused])
            details["voided_receipt"] = {"receipt_number": voided["receipt_number"],
                                         "journal_id": voided["journal_id"]}
        except FiscalError as err:
            details["void_error"] = err.body(self.manager.settings.language)
        return FiscalError(code, f"card payment of {amount_cents} cents on POS terminal {pos_id}", details,
                           left_nothing=not approved and not answer.stored)


async def _receipt_awaits(db: Database, rec: op_repo.OperationRecord) -> bool:
    """``rec`` is a card receipt's step on a terminal that resumes it, and that receipt is interrupted too: its
    recovery settles both (see the module text)."""
    key = rec.idem_key
    if rec.source != "card" or key is None or not key.startswith("card-"):
        return False
    base = key.removeprefix("card-").rsplit("-", 2)[0]
    record = await db.read(lambda c: archive.device_record(c, rec.device_id))
    if record is None or not resumes(record.config):
        return False
    receipts = await db.read(op_repo.interrupted)
    return any(r.operation == "print_receipt" and r.idem_key is not None and key_base(r.device_id, r.idem_key) == base
               for r in receipts)


def _authoritative(config: FiscalDeviceConfig) -> bool:
    try:
        driver = find("fiscal", config.manufacturer, config.model).driver
    except FiscalError:
        return False
    return driver.journal_authoritative


async def recover(manager: Manager, rec: op_repo.OperationRecord) -> bool:
    """Resolve an interrupted card receipt (see the module text). False: not a card receipt with approvals."""
    db = manager.db
    if await _receipt_awaits(db, rec):
        log.warning("operation %s (%s) on %s was interrupted: settled with its card receipt", rec.id,
                    rec.operation, rec.device_id)
        return True
    if rec.operation != "print_receipt" or rec.idem_key is None:
        return False
    record = await db.read(lambda c: archive.device_record(c, rec.device_id))
    if record is None or not isinstance(record.config, FiscalDeviceConfig) or not record.config.linked_pos_device_id:
        return False
    pos_id = record.config.linked_pos_device_id
    base = key_base(rec.device_id, rec.idem_key)
    sales: list[op_repo.OperationRecord] = []
    while True:
        found = await db.read(partial(op_repo.by_key, device_id=pos_id, idem_key=card_key(base, f"sale-{len(sales)}")))
        if found is None:
            break
        sales.append(found)
    if not sales:
        return False
    if sales[-1].state == "running":  # the sale itself was interrupted: the receipt cannot have been printed
        terminal = await db.read(lambda c: archive.device_record(c, pos_id))
        if terminal is not None and resumes(terminal.config):
            running = sales[-1].id

            def forget_both(conn: sqlite3.Connection) -> None:
                op_repo.forget(conn, rec.id)
                op_repo.forget(conn, running)

            await db.write(forget_both)
            log.warning("card receipt %s on %s was interrupted during its sale on terminal %s: a retry with key %r "
                        "resumes that sale and prints the receipt once", rec.id, rec.device_id, pos_id,
                        rec.idem_key)
            return True
    approved = [s.response["result"] for s in sales if s.http_status == 200 and s.response is not None]
    reversing = await db.read(partial(op_repo.by_key, device_id=pos_id, idem_key=card_key(base, "void-0")))
    if len(approved) == len(sales) and reversing is None:  # all approved, none being voided
        last = await db.read(lambda c: journal_repo.last_entry(c, rec.device_id))
        ids = {tx["transaction_id"] for tx in approved}
        if last is not None and last.kind == "receipt" and ids <= {
                tx.get("transaction_id") for tx in last.data["result"]["pos_transactions"]}:
            body = {"status": 200, "result": {**last.data["result"], "journal_id": last.id}}
            await db.write(lambda c: op_repo.finish(c, rec.id, 200, body))
            log.warning("card receipt %s on %s was printed before the crash: answer restored from the journal",
                        rec.id, rec.device_id)
            return True
        if _authoritative(record.config):
            await db.write(lambda c: op_repo.forget(c, rec.id))
            log.warning("card receipt %s on %s was approved on terminal %s but not printed: a retry with key %r "
                        "prints it and reuses the approval", rec.id, rec.device_id, pos_id, rec.idem_key)
            return True
    details = await db.read(partial(interrupted_details, rec=rec))
    err = FiscalError(Code.OUTCOME_UNKNOWN, "print_receipt was interrupted during its card payment", {
        **details, "pos_device_id": pos_id, "pos_transactions": approved})
    body = err.body(manager.settings.language)
    await db.write(lambda c: op_repo.finish(c, rec.id, err.http_status, body, "unknown"))
    return True
