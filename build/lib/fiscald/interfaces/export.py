"""Journal and Z-report export over HTTP: ``GET /devices/{id}/journal`` and ``GET /devices/{id}/reports``.

Only translation: query parameters -> :class:`JournalFilter`, then the shared renderer streams the answer page
by page. Deleted devices stay exportable (their journal is archived, never removed).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from fiscald.errors import Code, FiscalError
from fiscald.interfaces.http import manager_of
from fiscald.journal_export import (
    ExportFormat,
    JournalFilter,
    Renderer,
    journal_renderer,
    parse_kinds,
    report_renderer,
    stream,
    time_bound,
)
from fiscald.store import archive

From = Annotated[str | None, Query(alias="from", description="date YYYY-MM-DD or ISO 8601 datetime (inclusive)")]
To = Annotated[str | None, Query(description="date YYYY-MM-DD (the whole day) or ISO 8601 datetime (inclusive)")]
Number = Annotated[int | None, Query(ge=1, le=2**63 - 1)]  # what SQLite integers hold
Format = Annotated[ExportFormat, Query(description="json | text (the printouts) | csv")]


async def _device(request: Request, device_id: str) -> tuple[str, str]:
    """The normalized device id and its kind; 400 for a malformed id, 404 for an unknown device."""
    try:
        device_id = str(uuid.UUID(device_id))
    except ValueError:
        raise FiscalError(Code.CONFIG, f"device_id: {device_id!r} is not a UUID") from None
    record = await manager_of(request).db.read(lambda c: archive.device_record(c, device_id))
    if record is None:
        raise FiscalError(Code.DEVICE_NOT_FOUND, f"device_id: no device {device_id}, current or deleted")
    return device_id, record.kind


def _response(request: Request, device_id: str, flt: JournalFilter, renderer: Renderer) -> StreamingResponse:
    db = manager_of(request).db
    return StreamingResponse(stream(db, device_id, flt, renderer), media_type=renderer.media_type)


def build_router() -> APIRouter:
    router = APIRouter()

    @router.get("/devices/{device_id}/journal", summary="Export a device's electronic journal (streamed)",
                response_class=StreamingResponse)
    async def journal(request: Request, device_id: str, from_: From = None, to: To = None,
                      from_number: Number = None, to_number: Number = None,
                      kind: Annotated[str | None, Query(description="document kinds, comma-separated")] = None,
                      format: Format = "json") -> StreamingResponse:
        device_id, _kind = await _device(request, device_id)
        flt = JournalFilter(parse_kinds(kind), time_bound(from_, "from", end=False), time_bound(to, "to", end=True),
                            from_number, to_number)
        return _response(request, device_id, flt, journal_renderer(format, device_id))

    @router.get("/devices/{device_id}/reports", summary="Export a register's Z reports (streamed)",
                response_class=StreamingResponse)
    async def reports(request: Request, device_id: str, from_: From = None, to: To = None,
                      from_z: Number = None, to_z: Number = None, format: Format = "json") -> StreamingResponse:
        device_id, kind = await _device(request, device_id)
        if kind != "fiscal":
            raise FiscalError(Code.NOT_SUPPORTED, "device_id: a POS terminal has no Z reports; export its journal "
                                                  "with kind=pos_settlement")
        flt = JournalFilter(("z_report",), time_bound(from_, "from", end=False), time_bound(to, "to", end=True),
                            from_z, to_z)
        return _response(request, device_id, flt, report_renderer(format, device_id))

    return router
