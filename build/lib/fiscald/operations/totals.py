"""The one totals function: receipt arithmetic in integers (cents, thousandths, basis points).

Every driver computes a receipt's values here, so the same request gives the same numbers on every
device. Rules (shared/spec/operations.md): line value = round_half_up(qty × price / 1000); a percent
discount = round_half_up(value × bp / 10000); a subtotal or receipt discount is spread over the VAT
groups in proportion to their values (largest remainder, so the parts add up exactly); VAT per group
is computed on the group's (VAT-inclusive) total.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from fiscald.errors import Code, FiscalError
from fiscald.operations.models import (
    MAX_AMOUNT_CENTS,
    AmountDiscount,
    ItemLine,
    PaymentLine,
    PercentDiscount,
    PrintReceiptParams,
    SubtotalLine,
    TextLine,
)

Discount = PercentDiscount | AmountDiscount


def round_half_up(numerator: int, denominator: int) -> int:
    """Integer division rounding halves away from zero (the commercial rounding registers use)."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    if numerator < 0:
        return -round_half_up(-numerator, denominator)
    return (2 * numerator + denominator) // (2 * denominator)


def allocate(amount: int, weights: dict[str, int]) -> dict[str, int]:
    """Split ``amount`` over keys in proportion to non-negative ``weights``; parts sum to ``amount``."""
    total = sum(weights.values())
    if total <= 0:
        raise ValueError("weights must have a positive sum")
    sign = -1 if amount < 0 else 1
    magnitude = abs(amount)
    shares = {k: magnitude * w // total for k, w in weights.items()}
    remainders = sorted(weights, key=lambda k: (-(magnitude * weights[k] % total), k))
    for k in remainders[: magnitude - sum(shares.values())]:
        shares[k] += 1
    return {k: sign * v for k, v in shares.items() if v}


def vat_of(gross_cents: int, rate_bp: int) -> int:
    """VAT contained in a VAT-inclusive amount."""
    return round_half_up(gross_cents * rate_bp, 10_000 + rate_bp)


_PERCENT = re.compile(r"^(\d{1,2})(?:\.(\d{1,2}))?%$")


def resolve_vat(ref: str, vat_rates: dict[str, int]) -> str:
    """Map a VAT reference (``"19%"``, ``"5.5%"`` or a letter) to the device's VAT letter."""
    match = _PERCENT.match(ref)
    if match is None:
        if ref in vat_rates:
            return ref
        raise FiscalError(Code.INVALID_VAT_GROUP, f"VAT letter {ref!r} is not programmed",
                          {"vat": ref, "vat_rates": vat_rates})
    bp = int(match.group(1)) * 100 + int((match.group(2) or "0").ljust(2, "0"))
    for letter in sorted(vat_rates):
        if vat_rates[letter] == bp:
            return letter
    raise FiscalError(Code.INVALID_VAT_GROUP, f"VAT rate {ref} is not programmed",
                      {"vat": ref, "vat_rates": vat_rates})


def discount_amount(discount: Discount, value: int, where: str) -> int:
    """The signed adjustment a discount (negative) or surcharge (positive) makes to ``value``."""
    if value <= 0:
        raise FiscalError(Code.CONFIG, f"{where}: a discount needs a positive value to apply to")
    if isinstance(discount, PercentDiscount):
        amount = round_half_up(value * discount.basis_points, 10_000)
    else:
        amount = discount.amount_cents
    if discount.is_surcharge:
        return amount
    if amount > value:
        raise FiscalError(Code.CONFIG, f"{where}: discount {amount} exceeds the value {value} it applies to")
    return -amount


@dataclass(frozen=True)
class ComputedItem:
    index: int  # position in params.lines
    line: ItemLine
    vat_letter: str
    value_cents: int  # quantity × price, before the item's own discount
    adjustment_cents: int  # the item's own discount (negative) or surcharge (positive)

    @property
    def net_cents(self) -> int:
        return self.value_cents + self.adjustment_cents


@dataclass(frozen=True)
class ComputedSubtotal:
    index: int
    amount_cents: int  # value of everything above it, before its own discount
    adjustment_cents: int


@dataclass(frozen=True)
class VatTotal:
    rate_basis_points: int
    gross_cents: int
    vat_cents: int

    @property
    def base_cents(self) -> int:
        return self.gross_cents - self.vat_cents


@dataclass(frozen=True)
class ReceiptTotals:
    items: list[ComputedItem]
    subtotals: list[ComputedSubtotal]
    receipt_adjustment_cents: int
    vat_totals: dict[str, VatTotal]
    total_cents: int
    payments: list[PaymentLine]
    paid_cents: int
    change_cents: int
    payments_by_type: dict[str, int] = field(default_factory=dict)

    def vat_totals_json(self) -> dict[str, dict[str, int]]:
        return {
            letter: {"rate_basis_points": v.rate_basis_points, "base_cents": v.base_cents, "vat_cents": v.vat_cents}
            for letter, v in sorted(self.vat_totals.items())
        }


def _check_range(value: int, what: str) -> None:
    if abs(value) > MAX_AMOUNT_CENTS:
        raise FiscalError(Code.INVALID_AMOUNT, f"{what}: {value} cents is beyond the register's range")


def compute_receipt(params: PrintReceiptParams, vat_rates: dict[str, int]) -> ReceiptTotals:
    """Validate and compute a receipt. Raises 400 Config, 2008, 2009 or 2010 naming the problem."""
    items: list[ComputedItem] = []
    subtotals: list[ComputedSubtotal] = []
    groups: dict[str, int] = {}  # VAT letter -> current net value
    remaining: dict[tuple[str, int, str], int] = {}  # sold quantity still open for storno
    for index, line in enumerate(params.lines):
        try:
            _line(index, line, vat_rates, items, subtotals, groups, remaining)
        except FiscalError as err:
            err.details = {**(err.details or {}), "line_index": index}
            raise
    receipt_adjustment = 0
    if params.receipt_discount is not None:
        receipt_adjustment = discount_amount(params.receipt_discount, sum(groups.values()),
                                             "params.receipt_discount")
        for letter, part in allocate(receipt_adjustment, _weights(groups)).items():
            groups[letter] += part
    total = sum(groups.values())
    if total < 0:
        raise FiscalError(Code.CONFIG, f"params.lines: the receipt total would be negative ({total})")
    _check_range(total, "receipt total")
    vat_totals = {
        letter: VatTotal(vat_rates[letter], gross, vat_of(gross, vat_rates[letter]))
        for letter, gross in groups.items()
    }
    payments = list(params.payments) if params.payments else (
        [PaymentLine(type="cash", amount_cents=total)] if total > 0 else []
    )
    paid = sum(p.amount_cents for p in payments)
    _check_range(paid, "params.payments")
    if paid < total:
        raise FiscalError(Code.PAYMENT_INSUFFICIENT, f"paid {paid} of {total} cents",
                          {"total_cents": total, "paid_cents": paid})
    non_cash = sum(p.amount_cents for p in payments if p.type != "cash")
    if non_cash > total:
        raise FiscalError(
            Code.CONFIG,
            f"params.payments: non-cash payments ({non_cash}) exceed the total ({total}); only cash gives change",
        )
    by_type: dict[str, int] = {}
    for p in payments:
        by_type[p.type] = by_type.get(p.type, 0) + p.amount_cents
    change = paid - total
    if change:
        by_type["cash"] -= change  # what stays in the drawer
    return ReceiptTotals(items, subtotals, receipt_adjustment, vat_totals, total, payments, paid, change,
                         {k: v for k, v in by_type.items() if v})


def _line(index: int, line: ItemLine | TextLine | SubtotalLine, vat_rates: dict[str, int],
          items: list[ComputedItem], subtotals: list[ComputedSubtotal], groups: dict[str, int],
          remaining: dict[tuple[str, int, str], int]) -> None:
    """Compute one receipt line into the running state."""
    where = f"params.lines.{index}"
    if isinstance(line, ItemLine):
        letter = resolve_vat(line.vat, vat_rates)
        value = round_half_up(line.quantity_thousandths * line.unit_price_cents, 1000)
        _check_range(value, where)
        key = (line.description, line.unit_price_cents, letter)
        if line.quantity_thousandths < 0:
            left = remaining.get(key, 0)
            if -line.quantity_thousandths > left:
                raise FiscalError(
                    Code.CONFIG,
                    f"{where}: storno of {-line.quantity_thousandths} thousandths of {line.description!r} "
                    f"exceeds the {left} sold above it on this receipt (same description, price and VAT)",
                )
            remaining[key] = left + line.quantity_thousandths
            adjustment = 0
        else:
            remaining[key] = remaining.get(key, 0) + line.quantity_thousandths
            adjustment = discount_amount(line.discount, value, f"{where}.discount") if line.discount else 0
        item = ComputedItem(index, line, letter, value, adjustment)
        _check_range(item.net_cents, where)
        items.append(item)
        groups[letter] = groups.get(letter, 0) + item.net_cents
    elif isinstance(line, SubtotalLine):
        amount = sum(groups.values())
        adjustment = 0
        if line.discount is not None:
            adjustment = discount_amount(line.discount, amount, f"{where}.discount")
            for letter, part in allocate(adjustment, _weights(groups)).items():
                groups[letter] += part
        subtotals.append(ComputedSubtotal(index, amount, adjustment))


def _weights(groups: dict[str, int]) -> dict[str, int]:
    return {letter: max(0, value) for letter, value in groups.items()}
