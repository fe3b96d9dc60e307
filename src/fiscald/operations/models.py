"""Pydantic models of the unified Device Operations (docs/http.md, "POST /devices/operation").

Numbers are strict integers (cents, thousandths, basis points); strings are strict; unknown
fields are rejected. Dates and datetimes are ISO 8601 strings on the wire.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    model_validator,
)

from fiscald.operations.cif import validate_cif

MAX_AMOUNT_CENTS = 9_999_999_999  # 99,999,999.99: what a register's amount fields hold
MAX_QUANTITY_THOUSANDTHS = 99_999_999  # 99,999.999 units
MAX_DESCRIPTION = 72
# a register's clock keeps two-digit years (Datecs: DD-MM-YY): dates outside this range cannot be on a device
MIN_DATE = dt.date(2000, 1, 1)
MAX_DATE = dt.date(2099, 12, 31)


def _register_date(value: dt.date) -> dt.date:
    day = value.date() if isinstance(value, dt.datetime) else value
    if not MIN_DATE <= day <= MAX_DATE:
        raise ValueError(f"must be between {MIN_DATE} and {MAX_DATE}")
    return value


RegisterDate = Annotated[dt.date, AfterValidator(_register_date)]
RegisterDatetime = Annotated[dt.datetime, AfterValidator(_register_date)]

Cents = Annotated[StrictInt, Field(ge=0, le=MAX_AMOUNT_CENTS)]
PositiveCents = Annotated[StrictInt, Field(gt=0, le=MAX_AMOUNT_CENTS)]
BasisPoints = Annotated[StrictInt, Field(ge=0, le=10_000)]
PrintableText = Annotated[StrictStr, Field(pattern=r"^[^\x00-\x1f\x7f]*$")]  # no control characters
VatRef = Annotated[StrictStr, Field(pattern=r"^(\d{1,2}(\.\d{1,2})?%|[A-H])$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PercentDiscount(Strict):
    kind: Literal["percent"]
    basis_points: BasisPoints
    is_surcharge: StrictBool = False


class AmountDiscount(Strict):
    kind: Literal["amount"]
    amount_cents: PositiveCents
    is_surcharge: StrictBool = False


Discount = Annotated[PercentDiscount | AmountDiscount, Field(discriminator="kind")]


class ItemLine(Strict):
    type: Literal["item"]
    # the schema states _quantity's single-field rules too (not blank, not 0)
    description: Annotated[PrintableText, Field(min_length=1, max_length=MAX_DESCRIPTION,
                                                json_schema_extra={"not": {"pattern": r"^\s*$"}})]
    quantity_thousandths: Annotated[
        StrictInt, Field(ge=-MAX_QUANTITY_THOUSANDTHS, le=MAX_QUANTITY_THOUSANDTHS,
                         json_schema_extra={"not": {"const": 0}})
    ]
    unit_price_cents: Cents
    vat: VatRef
    discount: Discount | None = None
    um: Annotated[StrictStr, Field(max_length=8)] | None = None
    department: Annotated[StrictInt, Field(ge=1, le=9999)] | None = None
    plu: Annotated[StrictStr, Field(max_length=32)] | None = None
    code: Annotated[StrictStr, Field(max_length=32)] | None = None

    @model_validator(mode="after")
    def _quantity(self) -> ItemLine:
        if not self.description.strip():
            raise ValueError("description must not be blank")
        if self.quantity_thousandths == 0:
            raise ValueError("quantity_thousandths must not be 0")
        if self.quantity_thousandths < 0 and self.discount is not None:
            raise ValueError("a storno line (negative quantity) cannot carry a discount")
        return self


class TextLine(Strict):
    type: Literal["text"]
    text: Annotated[PrintableText, Field(max_length=500)]


class SubtotalLine(Strict):
    type: Literal["subtotal"]
    discount: Discount | None = None


ReceiptLine = Annotated[ItemLine | TextLine | SubtotalLine, Field(discriminator="type")]

PaymentType = Literal[
    "cash", "card", "credit", "meal_voucher", "value_voucher", "voucher", "modern_payment", "other"
]


class PaymentLine(Strict):
    type: PaymentType
    amount_cents: PositiveCents


class BuyerInfo(Strict):
    cif: Annotated[StrictStr, AfterValidator(validate_cif)]  # stored normalized: "ro 185..." -> "RO185..."
    name: Annotated[StrictStr, Field(max_length=72)] | None = None
    address: Annotated[StrictStr, Field(max_length=144)] | None = None


class ReceiptFlags(Strict):
    print_buyer_cif: StrictBool = True
    open_drawer: StrictBool = False
    non_fiscal: StrictBool = False


def _is_none(value: object) -> bool:
    return value is None


class PrintReceiptParams(Strict):
    lines: Annotated[list[ReceiptLine], Field(min_length=1, max_length=1000)]
    payments: Annotated[list[PaymentLine], Field(min_length=1, max_length=20)] | None = None
    buyer: BuyerInfo | None = None
    receipt_discount: Discount | None = None
    flags: ReceiptFlags = ReceiptFlags()
    close_action: Literal["close", "void"] = "close"
    # None: the device's configured operator. Left out of the dump when not given, so a request without it is the
    # same request (and has the same idempotency hash) as before the field existed.
    operator: Annotated[Annotated[StrictInt, Field(ge=1, le=99)] | None, Field(exclude_if=_is_none)] = None

    @model_validator(mode="after")
    def _shape(self) -> PrintReceiptParams:
        if not any(isinstance(line, ItemLine) for line in self.lines):
            raise ValueError("a receipt needs at least one item line")
        discounted = [
            i for i, line in enumerate(self.lines) if isinstance(line, SubtotalLine) and line.discount
        ]
        if len(discounted) > 1:
            raise ValueError(f"only one subtotal may carry a discount (lines {discounted})")
        if discounted and self.receipt_discount is not None:
            raise ValueError("receipt_discount cannot be combined with a discounted subtotal")
        return self


class NoParams(Strict):
    pass


class PrintNonFiscalParams(Strict):
    lines: Annotated[list[TextLine], Field(min_length=1, max_length=1000)]


class CashParams(Strict):
    amount_cents: PositiveCents


def _given(*names: str) -> dict[str, Any]:
    """JSON schema: at least one of ``names`` is present and not null."""
    return {"anyOf": [{"required": [name], "properties": {name: {"not": {"type": "null"}}}} for name in names]}


def _one_range(schema: dict[str, Any]) -> None:
    """The schema says "either from/to dates or from_z/to_z numbers", as ``_range`` checks it."""
    schema["oneOf"] = [{**_given("from", "to"), "not": _given("from_z", "to_z")},
                       {**_given("from_z", "to_z"), "not": _given("from", "to")}]


class PeriodicReportParams(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, json_schema_extra=_one_range)
    from_date: RegisterDate | None = Field(default=None, alias="from")
    to_date: RegisterDate | None = Field(default=None, alias="to")
    from_z: Annotated[StrictInt, Field(ge=1)] | None = None
    to_z: Annotated[StrictInt, Field(ge=1)] | None = None
    detailed: StrictBool = False

    @model_validator(mode="after")
    def _range(self) -> PeriodicReportParams:
        by_date = self.from_date is not None or self.to_date is not None
        by_z = self.from_z is not None or self.to_z is not None
        if by_date == by_z:
            raise ValueError("give either from/to dates or from_z/to_z numbers")
        if self.from_date and self.to_date and self.from_date > self.to_date:
            raise ValueError("from is after to")
        if self.from_z and self.to_z and self.from_z > self.to_z:
            raise ValueError("from_z is greater than to_z")
        return self


class SetDatetimeParams(Strict):
    datetime: RegisterDatetime


class ReadJournalParams(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    from_datetime: dt.datetime | None = Field(default=None, alias="from")
    to_datetime: dt.datetime | None = Field(default=None, alias="to")
    from_receipt: Annotated[StrictInt, Field(ge=1)] | None = None
    to_receipt: Annotated[StrictInt, Field(ge=1)] | None = None
    format: Literal["json", "text"] = "json"
    limit: Annotated[StrictInt, Field(ge=1, le=10_000)] = 1000


class PosSaleParams(Strict):
    amount_cents: PositiveCents
    currency: Annotated[StrictStr, Field(pattern=r"^[A-Z]{3}$")] = "RON"
    reference: Annotated[StrictStr, Field(max_length=64)] | None = None


class PosRefundParams(Strict):
    amount_cents: PositiveCents
    original_transaction_id: Annotated[StrictStr, Field(min_length=1, max_length=64)]
    currency: Annotated[StrictStr, Field(pattern=r"^[A-Z]{3}$")] = "RON"


class PosVoidParams(Strict):
    transaction_id: Annotated[StrictStr, Field(min_length=1, max_length=64)]
