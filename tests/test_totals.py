"""Property tests for the integer receipt arithmetic (one totals function for every driver)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fiscald.errors import Code, FiscalError
from fiscald.operations.cif import cif_check_digit, validate_cif
from fiscald.operations.models import PrintReceiptParams
from fiscald.operations.totals import allocate, compute_receipt, round_half_up, vat_of

RATES = {"A": 2100, "B": 1100, "C": 0, "D": 500}


@given(st.integers(-10**15, 10**15), st.integers(1, 10**6))
def test_round_half_up_matches_exact_rounding(n: int, d: int) -> None:
    q = round_half_up(n, d)
    # |n/d - q| <= 1/2, and exact halves go away from zero
    assert abs(2 * (n - q * d)) <= d
    if 2 * abs(n) % (2 * d) == d:
        assert abs(q) * d > abs(n)
    assert round_half_up(-n, d) == -q


@given(st.integers(-10**12, 10**12), st.dictionaries(st.sampled_from("ABCDEFGH"), st.integers(0, 10**9), min_size=1))
def test_allocate_sums_exactly_and_is_proportional(amount: int, weights: dict[str, int]) -> None:
    if sum(weights.values()) == 0:
        weights = {**weights, "A": 1}
    parts = allocate(amount, weights)
    assert sum(parts.values()) == amount
    total = sum(weights.values())
    for key, part in parts.items():
        assert abs(part - amount * weights[key] / total) < 1 + 1e-9 * abs(amount)
        assert weights[key] > 0


def _item(qty: int, price: int, vat: str, discount: dict[str, Any] | None = None) -> dict[str, Any]:
    line: dict[str, Any] = {"type": "item", "description": f"P{price}", "quantity_thousandths": qty,
                            "unit_price_cents": price, "vat": vat}
    if discount:
        line["discount"] = discount
    return line


items = st.builds(_item, st.integers(1, 50_000), st.integers(0, 1_000_000), st.sampled_from(["A", "B", "C", "D",
                                                                                             "21%", "5%", "0%"]))
percent = st.builds(lambda bp, s: {"kind": "percent", "basis_points": bp, "is_surcharge": s},
                    st.integers(0, 10_000), st.booleans())


@given(st.lists(items, min_size=1, max_size=12), st.one_of(st.none(), percent))
def test_receipt_totals_are_consistent(lines: list[dict[str, Any]], discount: dict[str, Any] | None) -> None:
    params = PrintReceiptParams.model_validate({"lines": lines, "receipt_discount": discount})
    try:
        t = compute_receipt(params, RATES)
    except FiscalError as err:
        assert err.code == Code.CONFIG  # only: a discount on a zero-value receipt
        assert discount is not None
        return
    gross = sum(v.gross_cents for v in t.vat_totals.values())
    assert gross == t.total_cents
    assert t.total_cents == sum(i.net_cents for i in t.items) + t.receipt_adjustment_cents
    for letter, v in t.vat_totals.items():
        assert v.rate_basis_points == RATES[letter]
        assert v.vat_cents == vat_of(v.gross_cents, RATES[letter])
        assert 0 <= v.vat_cents <= max(v.gross_cents, 0)
    for i in t.items:
        assert i.value_cents == round_half_up(i.line.quantity_thousandths * i.line.unit_price_cents, 1000)
    assert t.paid_cents == t.total_cents and t.change_cents == 0
    assert sum(t.payments_by_type.values()) == t.total_cents


@given(st.integers(1, 10**8), st.lists(st.tuples(st.sampled_from(["cash", "card", "meal_voucher"]),
                                                  st.integers(1, 10**8)), min_size=1, max_size=4))
def test_payments_rules(price: int, pays: list[tuple[str, int]]) -> None:
    params = PrintReceiptParams.model_validate({
        "lines": [_item(1000, price, "A")],
        "payments": [{"type": kind, "amount_cents": amount} for kind, amount in pays]})
    paid = sum(a for _, a in pays)
    non_cash = sum(a for k, a in pays if k != "cash")
    try:
        t = compute_receipt(params, RATES)
    except FiscalError as err:
        if paid < price:
            assert err.code == Code.PAYMENT_INSUFFICIENT
        else:
            assert non_cash > price and err.code == Code.CONFIG
        return
    assert paid >= price and non_cash <= price
    assert t.change_cents == paid - price
    assert t.payments_by_type.get("cash", 0) == sum(a for k, a in pays if k == "cash") - t.change_cents


def test_example_from_spec() -> None:
    params = PrintReceiptParams.model_validate({"lines": [_item(1500, 1500, "19%")],
                                                "payments": [{"type": "cash", "amount_cents": 3000}]})
    t = compute_receipt(params, {"A": 1900})
    assert (t.total_cents, t.change_cents) == (2250, 750)
    assert t.vat_totals_json() == {"A": {"rate_basis_points": 1900, "base_cents": 1891, "vat_cents": 359}}


def test_subtotal_discount_applies_to_items_above_only() -> None:
    params = PrintReceiptParams.model_validate({"lines": [
        _item(1000, 1000, "A"), _item(1000, 1000, "B"),
        {"type": "subtotal", "discount": {"kind": "amount", "amount_cents": 300}},
        _item(1000, 500, "A")]})
    t = compute_receipt(params, RATES)
    assert t.total_cents == 2200
    assert t.vat_totals["A"].gross_cents + t.vat_totals["B"].gross_cents == 2200
    assert t.vat_totals["B"].gross_cents == 850  # 1000 - 150 (half of the discount)


def test_storno_must_match_an_earlier_item() -> None:
    ok = PrintReceiptParams.model_validate({"lines": [_item(2000, 100, "A"), _item(-1000, 100, "A")]})
    assert compute_receipt(ok, RATES).total_cents == 100
    bad = PrintReceiptParams.model_validate({"lines": [_item(1000, 100, "A"), _item(-2000, 100, "A")]})
    with pytest.raises(FiscalError) as exc:
        compute_receipt(bad, RATES)
    assert exc.value.code == Code.CONFIG and "lines.1" in str(exc.value)


def test_unknown_vat_is_2008() -> None:
    params = PrintReceiptParams.model_validate({"lines": [_item(1000, 100, "19%")]})
    with pytest.raises(FiscalError) as exc:
        compute_receipt(params, RATES)
    assert exc.value.code == Code.INVALID_VAT_GROUP


@given(st.integers(0, 10**8))
def test_cif_check_digit_roundtrip(body: int) -> None:
    digits = str(body)
    cif = digits + str(cif_check_digit(digits))
    assert validate_cif("RO" + cif) == "RO" + cif
    wrong = digits + str((cif_check_digit(digits) + 1) % 10)
    with pytest.raises(ValueError):
        validate_cif(wrong)


def test_line_errors_carry_the_line_index_and_cif_is_normalized() -> None:
    params = PrintReceiptParams.model_validate({"lines": [_item(1000, 100, "A"), _item(1000, 100, "19%")],
                                                "buyer": {"cif": "ro 18547290"}})
    assert params.buyer is not None and params.buyer.cif == "RO18547290"
    with pytest.raises(FiscalError) as exc:
        compute_receipt(params, RATES)
    assert exc.value.details is not None and exc.value.details["line_index"] == 1
