"""Reading a device's electronic journal kept in the store: the Simulated register and the real drivers record
every document they print there, so ``read_journal``, periodic totals and exports work the same on all."""

from __future__ import annotations

import datetime as dt

from fiscald.operations import models as m
from fiscald.operations import results as r
from fiscald.store import Database, journal


async def read_journal(db: Database, device_id: str, params: m.ReadJournalParams) -> r.JournalResult:
    by_receipt = params.from_receipt is not None or params.to_receipt is not None
    entries = await db.read(lambda c: journal.query(
        c, device_id,
        kinds=("receipt", "void") if by_receipt else None,
        from_datetime=params.from_datetime.isoformat() if params.from_datetime else None,
        to_datetime=params.to_datetime.isoformat() if params.to_datetime else None,
        from_number=params.from_receipt, to_number=params.to_receipt, limit=params.limit))
    if params.format == "text":
        return {"count": len(entries), "text": "\n".join(e.text for e in entries)}
    return {"count": len(entries), "entries": [e.to_json() for e in entries]}


async def z_reports(db: Database, device_id: str, params: m.PeriodicReportParams) -> list[journal.JournalEntry]:
    """The journaled Z reports a periodic report covers (by date or by Z number)."""
    from_dt = params.from_date.isoformat() if params.from_date else None
    to_dt = (params.to_date + dt.timedelta(days=1)).isoformat() if params.to_date else None
    return await db.read(lambda c: journal.query(
        c, device_id, kinds=("z_report",), from_datetime=from_dt, to_datetime=to_dt,
        from_number=params.from_z, to_number=params.to_z, limit=100_000))
