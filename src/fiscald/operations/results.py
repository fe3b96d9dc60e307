"""The result of every operation, as drivers return it and interfaces send it (docs/http.md, "POST /devices/operation").

TypedDicts, not models: a result is built once by the driver and serialized as it is, so typing it costs
nothing at run time while mypy checks every driver against the same shapes.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict


class VatGroupResult(TypedDict):
    rate_basis_points: int
    base_cents: int
    vat_cents: int


class ReceiptResult(TypedDict):
    receipt_number: int | None  # continuous fiscal receipt number; None for a ``flags.non_fiscal`` document
    day_receipt_number: int | None  # the receipt's number within its fiscal day (voided ones count); None likewise
    document_number: int  # the register's continuous counter of every document it prints
    fiscal_day: int
    datetime: str
    total_cents: int
    paid_cents: int
    change_cents: int
    vat_totals: dict[str, VatGroupResult]
    device_serial: str
    journal_id: int
    voided: bool
    pos_transactions: list[dict[str, Any]]


class DocumentResult(TypedDict):
    document_number: int


class DrawerResult(TypedDict):
    cash_in_drawer_cents: int


class ReportResult(TypedDict):
    fiscal_day: int
    receipts_count: int
    voided_count: int
    total_cents: int
    vat_totals: dict[str, VatGroupResult]
    payments: dict[str, int]
    cash_in_cents: int
    cash_out_cents: int
    datetime: str
    z_number: NotRequired[int]


class PeriodicReportResult(TypedDict):
    reports_count: int
    receipts_count: int
    total_cents: int
    reports: list[dict[str, Any]]


class DuplicateResult(TypedDict):
    receipt_number: int | None
    document_number: int
    original_journal_id: int
    text: str


class CancelResult(TypedDict):
    cancelled: bool


class EmptyResult(TypedDict):
    pass


class StatusResult(TypedDict):
    status: str
    status_text: str
    paper: str
    cover_open: bool
    receipt_open: bool
    fiscal_day_open: bool
    fiscal_day: int
    last_receipt_number: int
    last_z_datetime: str | None
    datetime: str
    cash_in_drawer_cents: int
    serial: str


class DatetimeResult(TypedDict):
    datetime: str


VatRatesResult = dict[str, int]  # letter -> basis points


class JournalResult(TypedDict):
    count: int
    entries: NotRequired[list[dict[str, Any]]]
    text: NotRequired[str]


class CardResult(TypedDict):
    approved: bool
    transaction_id: str
    auth_code: str
    rrn: str
    card_masked: str
    card_brand: str
    amount_cents: int
    terminal_id: str
    datetime: str


class CurrencyTotal(TypedDict):
    count: int
    total_cents: int


class SettlementResult(TypedDict):
    batch_number: int
    count: int
    total_cents: int | None  # sales - refunds when the batch has one currency (or none); None when it mixes them
    currencies: dict[str, CurrencyTotal]  # per currency (ISO 4217 code): its count and sales - refunds


class PosStatusResult(TypedDict):
    status: str
    status_text: str
    terminal_id: str
    batch_open_count: int
