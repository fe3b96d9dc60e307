"""The small interface each register brand implements, under the brand-independent receipt lifecycle.

The register core (``drivers/register/core.py``) owns what every fiscal register needs whatever its wire: the
pending-receipt record, reconciliation after an ambiguous failure, finishing or cancelling what a failure left
open, journaling with the register's own numbers, the operator-password memory, status shown to the user. A
brand (Datecs and the ISL family over ``drivers/isl``, Tremol over ``drivers/zfp``) implements
:class:`RegisterProtocol`: each method is one step a fiscal register offers, done with that brand's commands and
answered in our units (cents, basis points, VAT letters A..H), raising :class:`~fiscald.errors.FiscalError`
with the device's own code in ``details`` for a refusal and :class:`~fiscald.errors.ConnectionLost` for a link
that failed (or a reply that never came) — whose outcome on the device is unknown.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from fiscald.drivers.register.pending import Payment
from fiscald.errors import Code, FiscalError
from fiscald.operations import models as m
from fiscald.operations.totals import ReceiptTotals


@dataclass(frozen=True)
class Identity:
    """Who answered at connect: the device's own name for itself and its serial number."""
    name: str
    serial: str


@dataclass(frozen=True)
class Transaction:
    """The current fiscal receipt, or the last one when none is open."""
    open: bool
    number: int | None  # the receipt's number, when the protocol gives one (numbering "transaction")
    items: int | None  # sales registered on it; None: the register does not say (Tremol, once it closed)
    amount_cents: int  # its total so far
    paid_cents: int  # paid so far
    non_fiscal: bool = False  # what is open is a non-fiscal document, not a fiscal receipt

    @property
    def had_sales(self) -> bool:
        """It registered a sale, so it is a document on the register (one without leaves none): by its count, or
        by its amount where the register gives no count."""
        return self.items > 0 if self.items is not None else self.amount_cents != 0


@dataclass(frozen=True)
class Condition:
    """The register's state as its last reply showed it."""
    flags: tuple[str, ...]  # the device's own names for what is set (``details.device_status``)
    paper: Literal["ok", "low", "out"] = "ok"
    cover_open: bool = False
    standing: Code | None = None  # a condition that stops printing until someone clears it (paper out, cover)


@dataclass(frozen=True)
class ZRecord:
    """A Z report as the register's fiscal memory has it: its number and the day's turnover by VAT letter, net
    of refunds, in cents. ``number`` 0: no Z yet."""
    number: int
    gross: Mapping[str, int]


@dataclass(frozen=True)
class Step:
    """One request of a receipt's body (a sale, a text line, a discount), built and checked before anything is
    sent; ``text`` is what the journal shows for it."""
    command: int
    data: bytes
    text: str


class LoginRefused(FiscalError):
    """The register refused the operator's password. ``remember``: never send it again until the device is saved
    or a Z report ran (wrong passwords lock some registers)."""

    def __init__(self, detail: str, details: Mapping[str, object], remember: bool) -> None:
        super().__init__(Code.DEVICE, detail, dict(details))
        self.remember = remember


# Called by a protocol after every reply: the condition it showed and whether the command was refused.
Observer = Callable[[Condition, bool], None]


class RegisterProtocol(Protocol):
    """One brand's wire, as the register core uses it (every method may raise FiscalError / ConnectionLost)."""

    # -- facts (tables: set from the model at construction) -----------------------------------------------
    name: str  # the configured model's name, for messages
    # "transaction": opening (and the transaction read) gives the receipt's number and closing answers it;
    # "document": a global document counter numbers receipts (last_document, read before opening: the receipt is
    # the next document)
    numbering: Literal["transaction", "document"]
    operators: int  # operator numbers 1..operators
    lacking: frozenset[str]  # operations the model does not offer (open_drawer after a receipt, ...)
    payment_codes: Mapping[str, str]  # our payment type -> the wire code (model defaults + the device's mapping)
    code_names: Mapping[str, str]  # wire code -> the device's name for it (for messages)

    def default_password(self, operator: int) -> str: ...

    # -- link -------------------------------------------------------------------------------------------------
    async def connect(self) -> None: ...
    async def disconnect(self) -> None: ...

    async def identify(self) -> Identity:
        """Ask who answers; a device of another dialect than the configured model is refused (Code.CONFIG,
        naming both). May tune widths the device reports."""
        ...

    def condition(self) -> Condition:
        """The condition the last reply showed."""
        ...

    async def refresh(self) -> Condition:
        """Read the status (the keep-alive poll)."""
        ...

    # -- reads ------------------------------------------------------------------------------------------------
    async def vat_rates(self) -> dict[str, int]: ...
    async def last_z(self) -> ZRecord: ...
    async def transaction(self) -> Transaction: ...

    async def last_document(self) -> int:
        """The global number of the last document printed (numbering "document")."""
        ...

    async def cash_in_drawer(self) -> int: ...
    async def get_datetime(self) -> dt.datetime: ...

    # -- a fiscal receipt -------------------------------------------------------------------------------------
    def plan_receipt(self, params: m.PrintReceiptParams, totals: ReceiptTotals) -> Sequence[Step]:
        """The receipt's body, every text and limit checked (Code.CONFIG naming the field) before anything is
        sent, so a receipt the register could not print is refused whole."""
        ...

    async def open_receipt(self, operator: int, password: str, params: m.PrintReceiptParams) -> int | None:
        """Open a fiscal receipt; its number when the protocol gives one. A receipt already open:
        FiscalError(Code.RECEIPT_OPEN) (the core settles it and asks once more). A refused password:
        :class:`LoginRefused`."""
        ...

    async def send(self, step: Step) -> None: ...

    async def subtotal(self, discount: m.PercentDiscount | m.AmountDiscount | None) -> int:
        """The subtotal (with the receipt's discount); the total the register computed, in cents."""
        ...

    async def pay(self, payment: Payment) -> None: ...

    async def close_receipt(self) -> int | None:
        """Close the paid receipt; its number when the reply carries it."""
        ...

    async def cancel_receipt(self) -> None:
        """Cancel the open fiscal receipt (refused by registers once a payment was made)."""
        ...

    async def close_non_fiscal(self) -> None: ...

    # -- other documents --------------------------------------------------------------------------------------
    async def print_non_fiscal(self, lines: Sequence[str]) -> int:
        """A non-fiscal document of these text lines (checked and wrapped at the device's width); its number."""
        ...

    async def cash(self, direction: Literal[1, -1], cents: int) -> int:
        """Cash in (1) or out (-1); the cash in the drawer after it."""
        ...

    async def report(self, z: bool) -> ZRecord:
        """Print an X or Z report; its number and the day's turnover by VAT letter."""
        ...

    async def periodic_report(self, params: m.PeriodicReportParams, last_z: int) -> str:
        """Print a fiscal-memory report; the range it covered, as the journal shows it (``"01-12-26 - 05-12-26"``)."""
        ...

    async def duplicate(self) -> None: ...
    async def open_drawer(self) -> None: ...
    async def set_datetime(self, value: dt.datetime) -> None: ...
