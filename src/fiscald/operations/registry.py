"""The operation catalogue and the envelope parser: wire JSON -> typed :class:`Operation`."""

from __future__ import annotations

import difflib
import hashlib
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from fiscald import jsonfmt
from fiscald.errors import Code, FiscalError
from fiscald.operations import models as m
from fiscald.operations import results as r

DeviceKind = Literal["fiscal", "pos"]


P = TypeVar("P", bound=BaseModel)
R = TypeVar("R", bound=Mapping[str, Any])


@dataclass(frozen=True)
class OperationSpec(Generic[P, R]):
    """One operation: its name, the kind of device it runs on, its params model and its result shape."""

    name: str
    kind: DeviceKind
    params: type[P]
    result: type[R]
    mutating: bool  # changes device state: journaled in the operation log


PRINT_RECEIPT = OperationSpec("print_receipt", "fiscal", m.PrintReceiptParams, r.ReceiptResult, True)
PRINT_NON_FISCAL = OperationSpec("print_non_fiscal", "fiscal", m.PrintNonFiscalParams, r.DocumentResult, True)
CASH_IN = OperationSpec("cash_in", "fiscal", m.CashParams, r.DrawerResult, True)
CASH_OUT = OperationSpec("cash_out", "fiscal", m.CashParams, r.DrawerResult, True)
X_REPORT = OperationSpec("x_report", "fiscal", m.NoParams, r.ReportResult, True)
Z_REPORT = OperationSpec("z_report", "fiscal", m.NoParams, r.ReportResult, True)
PERIODIC_REPORT = OperationSpec("periodic_report", "fiscal", m.PeriodicReportParams, r.PeriodicReportResult, True)
PRINT_DUPLICATE = OperationSpec("print_duplicate", "fiscal", m.NoParams, r.DuplicateResult, True)
CANCEL_RECEIPT = OperationSpec("cancel_receipt", "fiscal", m.NoParams, r.CancelResult, True)
OPEN_DRAWER = OperationSpec("open_drawer", "fiscal", m.NoParams, r.EmptyResult, True)
GET_STATUS = OperationSpec("get_status", "fiscal", m.NoParams, r.StatusResult, False)
GET_DATETIME = OperationSpec("get_datetime", "fiscal", m.NoParams, r.DatetimeResult, False)
SET_DATETIME = OperationSpec("set_datetime", "fiscal", m.SetDatetimeParams, r.DatetimeResult, True)
GET_VAT_RATES = OperationSpec("get_vat_rates", "fiscal", m.NoParams, dict[str, int], False)
READ_JOURNAL = OperationSpec("read_journal", "fiscal", m.ReadJournalParams, r.JournalResult, False)
POS_SALE = OperationSpec("pos_sale", "pos", m.PosSaleParams, r.CardResult, True)
POS_REFUND = OperationSpec("pos_refund", "pos", m.PosRefundParams, r.CardResult, True)
POS_VOID = OperationSpec("pos_void", "pos", m.PosVoidParams, r.CardResult, True)
POS_SETTLEMENT = OperationSpec("pos_settlement", "pos", m.NoParams, r.SettlementResult, True)
POS_STATUS = OperationSpec("pos_status", "pos", m.NoParams, r.PosStatusResult, False)

_SPECS: tuple[OperationSpec[Any, Any], ...] = (
    PRINT_RECEIPT, PRINT_NON_FISCAL, CASH_IN, CASH_OUT, X_REPORT, Z_REPORT, PERIODIC_REPORT, PRINT_DUPLICATE,
    CANCEL_RECEIPT, OPEN_DRAWER, GET_STATUS, GET_DATETIME, SET_DATETIME, GET_VAT_RATES, READ_JOURNAL,
    POS_SALE, POS_REFUND, POS_VOID, POS_SETTLEMENT, POS_STATUS,
)

OPERATIONS: dict[str, OperationSpec[Any, Any]] = {spec.name: spec for spec in _SPECS}


@dataclass(frozen=True)
class Operation:
    """One typed device operation, whichever interface it came from."""

    device_id: str
    spec: OperationSpec[Any, Any]
    params: BaseModel
    timeout_ms: int | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    def canonical(self) -> dict[str, Any]:
        """The request as it is compared for idempotency (timeout_ms excluded: a retry may wait longer)."""
        return self._canonical

    @cached_property
    def _canonical(self) -> dict[str, Any]:
        return {
            "device_id": self.device_id,
            "operation": self.name,
            "params": self.params.model_dump(mode="json", by_alias=True),
        }

    def request_hash(self) -> str:
        return self._request_hash

    @cached_property
    def _request_hash(self) -> str:
        return hashlib.sha256(jsonfmt.canonical(self.canonical())).hexdigest()


def _loc(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc)


_TAGS = {"item", "text", "subtotal", "percent", "amount"}
_TAGGED_FIELDS = {"discount", "receipt_discount"}


def _without_union_tags(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """Drop pydantic's discriminator tags (``lines.0.item.vat`` -> ``lines.0.vat``)."""
    return tuple(
        part
        for i, part in enumerate(loc)
        if not (i and part in _TAGS and (isinstance(loc[i - 1], int) or loc[i - 1] in _TAGGED_FIELDS))
    )


def config_error_from(exc: ValidationError, prefix: str = "") -> FiscalError:
    """A pydantic ValidationError as a 400 Config error naming the first failing field."""
    problems = []
    for err in exc.errors(include_url=False, include_context=False, include_input=False):
        loc = _without_union_tags(tuple(err["loc"]))
        field = _loc((prefix, *loc) if prefix else loc) or prefix or "body"
        msg = str(err["msg"]).removeprefix("Value error, ")
        problems.append({"field": field, "message": msg})
    first = problems[0]
    return FiscalError(Code.CONFIG, f"{first['field']}: {first['message']}", {"fields": problems})


_ENVELOPE_FIELDS = {"device_id", "operation", "params", "timeout_ms"}


def unknown_name(what: str, name: str, valid: Iterable[str]) -> str:
    """The message for a name that is not one of ``valid``: the closest one, then all of them, so a caller can
    correct a typo without the documentation, e.g. ``unknown operation 'print_reciept' (did you mean
    print_receipt? operations: cancel_receipt, ...)``."""
    names = sorted(valid)
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"did you mean {close[0]}? " if close else ""
    return f"unknown {what} {name!r} ({hint}{what}s: {', '.join(names)})"


def parse_operation(data: Any, extra_fields: frozenset[str] = frozenset()) -> Operation:
    """Validate an operation envelope (already JSON-decoded). Raises 400 Config naming the field."""
    if not isinstance(data, dict):
        raise FiscalError(Code.CONFIG, "body: expected a JSON object")
    unknown = set(data) - _ENVELOPE_FIELDS - extra_fields
    if unknown:
        name = sorted(unknown)[0]
        raise FiscalError(Code.CONFIG, f"{name}: unknown field", {"fields": [{"field": name,
                                                                               "message": "unknown field"}]})
    device_id = data.get("device_id")
    if not isinstance(device_id, str):
        raise FiscalError(Code.CONFIG, "device_id: required, a device UUID string")
    try:
        device_id = str(uuid.UUID(device_id))
    except ValueError:
        raise FiscalError(Code.CONFIG, f"device_id: {device_id!r} is not a UUID") from None
    name = data.get("operation")
    if not isinstance(name, str):
        raise FiscalError(Code.CONFIG, "operation: required, an operation name")
    spec = OPERATIONS.get(name)
    if spec is None:
        raise FiscalError(Code.CONFIG, f"operation: {unknown_name('operation', name, OPERATIONS)}")
    timeout = data.get("timeout_ms")
    if timeout is not None and (
        not isinstance(timeout, int) or isinstance(timeout, bool) or not 1 <= timeout <= 3_600_000
    ):
        raise FiscalError(Code.CONFIG, "timeout_ms: must be an integer from 1 to 3600000")
    raw_params = data.get("params")
    if raw_params is None:
        raw_params = {}
    if not isinstance(raw_params, dict):
        raise FiscalError(Code.CONFIG, "params: expected a JSON object")
    try:
        params = spec.params.model_validate(raw_params)
    except ValidationError as exc:
        raise config_error_from(exc, "params") from None
    return Operation(device_id=device_id, spec=spec, params=params, timeout_ms=timeout)
