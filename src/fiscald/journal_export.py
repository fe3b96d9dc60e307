"""Journal and Z-report export as JSON, text or CSV, read page by page so any size streams in constant memory.

Shared by ``GET /devices/{id}/journal`` / ``/reports`` and ``fiscald journal export``. Columns and shapes are
documented in docs/simulator.md.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal, TextIO, get_args

from fiscald.errors import Code, FiscalError
from fiscald.operations.models import PaymentType
from fiscald.store import Database
from fiscald.store import journal as journal_repo
from fiscald.store.journal import JournalEntry

ExportFormat = Literal["json", "text", "csv"]
PAGE = 500
KINDS = ("receipt", "void", "non_fiscal", "cash_in", "cash_out", "x_report", "z_report", "periodic_report",
         "duplicate", "pos_sale", "pos_refund", "pos_void", "pos_settlement", "pos_failed")
PAYMENT_TYPES: tuple[str, ...] = get_args(PaymentType)
VAT_LETTERS = "ABCDEFGH"
_MONEY_COLUMNS = [*(f"pay_{t}_cents" for t in PAYMENT_TYPES), *(f"gross_{v}_cents" for v in VAT_LETTERS),
                  *(f"vat_{v}_cents" for v in VAT_LETTERS)]
JOURNAL_COLUMNS = ["seq", "kind", "number", "fiscal_day", "datetime", "total_cents", *_MONEY_COLUMNS, "journal_id",
                   "hash"]
REPORT_COLUMNS = ["z_number", "fiscal_day", "datetime", "receipts_count", "voided_count", "total_cents",
                  "cash_in_cents", "cash_out_cents", *_MONEY_COLUMNS, "journal_id"]


@dataclass(frozen=True)
class JournalFilter:
    kinds: tuple[str, ...] | None = None
    from_datetime: str | None = None
    to_datetime: str | None = None
    from_number: int | None = None
    to_number: int | None = None


# The instants whose local UTC offset every platform can tell: Windows' localtime() refuses times before 1970
# (OSError) and after 3000.
_OFFSET_KNOWN_FROM = dt.datetime(1970, 1, 2, tzinfo=dt.UTC)
_OFFSET_KNOWN_TO = dt.datetime(3000, 1, 1, tzinfo=dt.UTC)


def local_offset(moment: dt.datetime) -> dt.timedelta:
    """This machine's UTC offset at an aware ``moment``."""
    return moment.astimezone().utcoffset() or dt.timedelta()


def local_naive(moment: dt.datetime,
                offset_at: Callable[[dt.datetime], dt.timedelta] = local_offset) -> dt.datetime:
    """An aware ``moment`` as this machine's local time without a zone. Outside 1970..3000 the offset of the
    nearest known instant is used: no journal holds entries that old (or new), so a bound's order is the same."""
    probe = min(max(moment, _OFFSET_KNOWN_FROM), _OFFSET_KNOWN_TO)
    return moment.astimezone(dt.UTC).replace(tzinfo=None) + offset_at(probe)


def time_bound(value: str | None, name: str, end: bool) -> str | None:
    """A ``from``/``to`` value (a date, or an ISO 8601 datetime) as a bound comparable with journal datetimes,
    which are the device's local time. A ``to`` date includes that whole day."""
    if not value:
        return None
    if len(value) == 10:
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            raise FiscalError(Code.CONFIG, f"{name}: {value!r} is not a date (YYYY-MM-DD)") from None
        if end and day == dt.date.max:
            return None  # no upper bound
        return (day + dt.timedelta(days=1)).isoformat() if end else day.isoformat()
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise FiscalError(Code.CONFIG, f"{name}: {value!r} is not a date (YYYY-MM-DD) or an ISO 8601 datetime") \
            from None
    if moment.tzinfo is not None:
        try:
            moment = local_naive(moment)
        except OverflowError:
            raise FiscalError(Code.CONFIG, f"{name}: {value!r} is out of range") from None
    local = moment.isoformat()
    return local + "~" if end else local  # "~" sorts after any UTC offset: the whole ``to`` second is included


def parse_kinds(value: str | None, name: str = "kind") -> tuple[str, ...] | None:
    if not value:
        return None
    kinds = tuple(k.strip() for k in value.split(","))
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise FiscalError(Code.CONFIG, f"{name}: unknown document kind {unknown[0]!r}; use {', '.join(KINDS)}")
    return kinds


def _page(conn: sqlite3.Connection, device_id: str, flt: JournalFilter, after: int) -> list[JournalEntry]:
    return journal_repo.query(conn, device_id, kinds=flt.kinds, from_datetime=flt.from_datetime,
                              to_datetime=flt.to_datetime, from_number=flt.from_number, to_number=flt.to_number,
                              after_seq=after, limit=PAGE)


async def pages(db: Database, device_id: str, flt: JournalFilter) -> AsyncIterator[list[JournalEntry]]:
    after = 0
    while True:
        page = await db.read(partial(_page, device_id=device_id, flt=flt, after=after))
        if page:
            yield page
        if len(page) < PAGE:
            return
        after = page[-1].seq


def pages_sync(conn: sqlite3.Connection, device_id: str, flt: JournalFilter) -> Iterator[list[JournalEntry]]:
    after = 0
    while True:
        page = _page(conn, device_id, flt, after)
        if page:
            yield page
        if len(page) < PAGE:
            return
        after = page[-1].seq


def _money(entry: JournalEntry) -> dict[str, int]:
    """Payments (cash net of change) and gross/VAT per VAT letter of a receipt or an X/Z report."""
    data = entry.data
    if entry.kind in ("receipt", "void"):
        payments, vat_totals = data["payments"], data["result"]["vat_totals"]
    elif entry.kind in ("x_report", "z_report"):
        payments, vat_totals = data["payments"], data["vat_totals"]
    else:
        return {}
    out = {f"pay_{kind}_cents": cents for kind, cents in payments.items()}
    for letter, vat in vat_totals.items():
        out[f"gross_{letter}_cents"] = vat["base_cents"] + vat["vat_cents"]
        out[f"vat_{letter}_cents"] = vat["vat_cents"]
    return out


def journal_row(entry: JournalEntry) -> dict[str, Any]:
    return {"seq": entry.seq, "kind": entry.kind, "number": entry.number, "fiscal_day": entry.fiscal_day,
            "datetime": entry.datetime, "total_cents": entry.total_cents, **_money(entry), "journal_id": entry.id,
            "hash": entry.hash}


def report_json(entry: JournalEntry) -> dict[str, Any]:
    return {**entry.data, "journal_id": entry.id}


def report_row(entry: JournalEntry) -> dict[str, Any]:
    data = entry.data
    return {**{k: data[k] for k in REPORT_COLUMNS[:8]}, **_money(entry), "journal_id": entry.id}


class Renderer:
    """Turns entries into chunks of one document: ``start()``, ``page(entries)`` repeatedly, ``end()``."""

    def __init__(self, fmt: ExportFormat, device_id: str, list_key: str, as_json: Callable[[JournalEntry], Any],
                 columns: list[str], as_row: Callable[[JournalEntry], dict[str, Any]]) -> None:
        self.fmt = fmt
        self.device_id = device_id
        self.list_key = list_key
        self.as_json = as_json
        self.columns = columns
        self.as_row = as_row
        self.count = 0

    @property
    def media_type(self) -> str:
        return {"json": "application/json", "text": "text/plain; charset=utf-8",
                "csv": "text/csv; charset=utf-8"}[self.fmt]

    def _csv(self, rows: list[list[Any]]) -> str:
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(rows)
        return out.getvalue()

    def start(self) -> str:
        if self.fmt == "json":
            return f'{{"device_id": {json.dumps(self.device_id)}, "{self.list_key}": ['
        if self.fmt == "csv":
            return self._csv([self.columns])
        return ""

    def page(self, entries: list[JournalEntry]) -> str:
        first = self.count == 0
        self.count += len(entries)
        if self.fmt == "json":
            items = ",\n".join(json.dumps(self.as_json(e), ensure_ascii=False) for e in entries)
            return ("\n" if first else ",\n") + items
        if self.fmt == "csv":
            rows = [self.as_row(e) for e in entries]
            return self._csv([[row.get(c, "") for c in self.columns] for row in rows])
        return "".join(e.text + "\n" for e in entries)

    def end(self) -> str:
        return f'\n], "count": {self.count}}}\n' if self.fmt == "json" else ""


def journal_renderer(fmt: ExportFormat, device_id: str) -> Renderer:
    return Renderer(fmt, device_id, "entries", JournalEntry.to_json, JOURNAL_COLUMNS, journal_row)


def report_renderer(fmt: ExportFormat, device_id: str) -> Renderer:
    return Renderer(fmt, device_id, "reports", report_json, REPORT_COLUMNS, report_row)


async def stream(db: Database, device_id: str, flt: JournalFilter, renderer: Renderer) -> AsyncIterator[str]:
    yield renderer.start()
    async for page in pages(db, device_id, flt):
        yield renderer.page(page)
    yield renderer.end()


def write_sync(conn: sqlite3.Connection, device_id: str, flt: JournalFilter, renderer: Renderer,
               out: TextIO, progress: Callable[[int], None] | None = None) -> int:
    """The CLI's export: the same document, written to ``out``; returns the number of entries.
    ``progress(written)`` is called after each page."""
    out.write(renderer.start())
    for page in pages_sync(conn, device_id, flt):
        out.write(renderer.page(page))
        if progress is not None:
            progress(renderer.count)
    out.write(renderer.end())
    return renderer.count
