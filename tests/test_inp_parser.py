"""The INP parser (shared/spec/inp.md): real files in, typed operation jobs or line-numbered errors out."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fiscald.errors import Code
from fiscald.interfaces.inp import InpError, InpJob, decode, parse_inp
from fiscald.operations import OPERATIONS, parse_operation
from fiscald.operations.models import (
    AmountDiscount,
    BuyerInfo,
    CashParams,
    ItemLine,
    NoParams,
    PaymentLine,
    PercentDiscount,
    PrintNonFiscalParams,
    PrintReceiptParams,
    TextLine,
)

VAT = {"A": 2100, "B": 1100, "C": 0, "D": 0}
HDR = ",1,______,_,__;"


def inp(*lines: str) -> str:
    """Lines written as ``S;Coffee;2.50`` get the standard header after their letter."""
    return "\n".join(line[0] + HDR + line[2:] if line[1:2] == ";" else line for line in lines)


def parse(*lines: str) -> list[InpJob]:
    return parse_inp(inp(*lines), VAT)


def one(*lines: str) -> InpJob:
    jobs = parse(*lines)
    assert len(jobs) == 1
    return jobs[0]


def receipt(*lines: str) -> PrintReceiptParams:
    job = one(*lines)
    assert job.operation == "print_receipt"
    assert isinstance(job.params, PrintReceiptParams)
    return job.params


def error(*lines: str) -> InpError:
    with pytest.raises(InpError) as info:
        parse(*lines)
    return info.value


def items(params: PrintReceiptParams) -> list[ItemLine]:
    return [line for line in params.lines if isinstance(line, ItemLine)]


# -- the real-world lines of inp.md ------------------------------------------------------------------------------


def test_spec_example_receipt() -> None:
    params = receipt("S,1,______,_,__;Coffee;2.50;1.000;1;1;1;0;0;buc", "T,1,______,_,__;0;2.50;;;;")
    assert params.lines == [ItemLine(type="item", description="Coffee", quantity_thousandths=1000,
                                     unit_price_cents=250, vat="A", um="buc", department=1)]
    assert params.payments == [PaymentLine(type="cash", amount_cents=250)]


def test_spec_example_lines_in_one_receipt() -> None:
    params = receipt(
        "H,1,______,_,__;",
        "K,1,______,_,__;RO18547290;",
        "S,1,______,_,__;NAME;12.50;1.000;1;1;1;0;0;",
        "C,1,______,_,__;1;5.00;",
        "T,1,______,_,__;0;80.00;",
    )
    assert params.buyer == BuyerInfo(cif="RO18547290")
    (item,) = items(params)
    assert (item.description, item.unit_price_cents, item.quantity_thousandths, item.vat) == ("NAME", 1250, 1000, "A")
    assert item.discount == PercentDiscount(kind="percent", basis_points=500, is_surcharge=False)
    assert params.payments == [PaymentLine(type="cash", amount_cents=8000)]


def test_spec_example_bare_t_pays_the_rest_in_cash() -> None:
    params = receipt("S,1,______,_,__;NAME;12.50;1.000;1;1;1;0;0;", "T,1,______,_,__;")
    assert params.payments == [PaymentLine(type="cash", amount_cents=1250)]


def test_spec_example_cash_in() -> None:
    assert one("I,1,______,_,__;0;80") == InpJob("cash_in", CashParams(amount_cents=8000), 1)


def test_spec_example_non_fiscal_document() -> None:
    job = one("Y,1,______,_,__;", "P,1,______,_,__;Test;;;;;", "T,1,______,_,__;")
    assert job == InpJob("print_non_fiscal", PrintNonFiscalParams(lines=[TextLine(type="text", text="Test")]), 1)


def test_spec_example_z_report() -> None:
    assert one("Z,1,______,_,__;;;;;;;") == InpJob("z_report", NoParams(), 1)


def test_spec_example_invalid_cif_is_a_clean_error() -> None:
    err = error("K,1,______,_,__;RO12345678;", "S;Coffee;2.50")
    assert err.line == 1
    assert err.error.code == Code.CONFIG
    assert "RO12345678" in (err.error.detail or "")
    assert str(err).startswith("line 1: ")


# -- the typed operation is the one the HTTP API builds -----------------------------------------------------------


def test_same_params_as_the_json_api() -> None:
    job = one(
        "K;RO18547290;SC Exemplu SRL;Str. Lunga 1",
        "S;Apă plată;3,50;2;3;1;2;4;0,50;buc",
        "P;Mulțumim!",
        "T;1;5.00",
        "T;0;",
    )
    operation = parse_operation({
        "device_id": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
        "operation": "print_receipt",
        "params": {
            "lines": [
                {"type": "item", "description": "Apă plată", "quantity_thousandths": 2000, "unit_price_cents": 350,
                 "vat": "B", "department": 3, "um": "buc",
                 "discount": {"kind": "amount", "amount_cents": 50, "is_surcharge": False}},
                {"type": "text", "text": "Mulțumim!"},
            ],
            "payments": [{"type": "card", "amount_cents": 500}, {"type": "cash", "amount_cents": 150}],
            "buyer": {"cif": "RO18547290", "name": "SC Exemplu SRL", "address": "Str. Lunga 1"},
        },
    })
    assert job.params == operation.params


def test_every_job_uses_its_catalogue_model() -> None:
    jobs = parse(
        "S;A;1", "T;", "Y;", "Q;1;x", "T;", "I;0;1", "I;1;1", "X;", "Z;", "D;", "V;",
    )
    assert [j.operation for j in jobs] == [
        "print_receipt", "print_non_fiscal", "cash_in", "cash_out", "x_report", "z_report", "print_duplicate",
        "cancel_receipt",
    ]
    assert [j.line for j in jobs] == [1, 3, 6, 7, 8, 9, 10, 11]
    for job in jobs:
        assert isinstance(job.params, OPERATIONS[job.operation].params)


# -- every command letter ------------------------------------------------------------------------------------------


def test_h_starts_a_receipt_and_is_optional() -> None:
    assert one("H;", "S;A;1").line == 1
    assert one("S;A;1").line == 1
    assert error("H;", "H;").line == 2
    assert "no sale" in (error("H;").error.detail or "")
    assert error("S;A;1", "T;", "H;", "P;text", "T;").line == 3


def test_s_fields_and_defaults() -> None:
    (item,) = items(receipt("S;Pâine;4.5"))
    assert item == ItemLine(type="item", description="Pâine", quantity_thousandths=1000, unit_price_cents=450,
                            vat="A", department=1)
    (item,) = items(receipt("S;Bere;7;0.5;12;3;4"))
    assert (item.quantity_thousandths, item.department, item.vat) == (500, 12, "D")
    with_all_rates = parse_inp(inp("S;X;1;1;1;1;8"), None)
    assert isinstance(with_all_rates[0].params, PrintReceiptParams)
    assert items(with_all_rates[0].params)[0].vat == "H"


@pytest.mark.parametrize(("code", "value", "discount"), [
    ("1", "10", PercentDiscount(kind="percent", basis_points=1000, is_surcharge=True)),
    ("2", "5.00", PercentDiscount(kind="percent", basis_points=500, is_surcharge=False)),
    ("3", "1,25", AmountDiscount(kind="amount", amount_cents=125, is_surcharge=True)),
    ("4", "0.5", AmountDiscount(kind="amount", amount_cents=50, is_surcharge=False)),
    ("0", "7", None),
    ("", "", None),
])
def test_s_discount_types(code: str, value: str, discount: object) -> None:
    (item,) = items(receipt(f"S;A;10.00;1;1;1;1;{code};{value}"))
    assert item.discount == discount


@pytest.mark.parametrize(("code", "discount"), [
    ("1", PercentDiscount(kind="percent", basis_points=500, is_surcharge=False)),
    ("0", PercentDiscount(kind="percent", basis_points=500, is_surcharge=True)),
    ("3", AmountDiscount(kind="amount", amount_cents=500, is_surcharge=False)),
    ("2", AmountDiscount(kind="amount", amount_cents=500, is_surcharge=True)),
])
def test_c_applies_to_the_sale_above(code: str, discount: object) -> None:
    params = receipt("S;A;1", "S;B;10.00", f"C;{code};5.00")
    assert [i.discount for i in items(params)] == [None, discount]


def test_c_reaches_over_text_lines_to_the_last_sale() -> None:
    params = receipt("S;A;10", "P;note", "C;1;10")
    assert items(params)[0].discount == PercentDiscount(kind="percent", basis_points=1000)


def test_c_errors() -> None:
    assert error("H;", "C;1;5").line == 2  # no sale above
    assert error("C;1;5").line == 1
    assert "already has a discount" in (error("S;A;1", "C;1;5", "C;1;5").error.detail or "")
    assert error("S;A;1;1;1;1;1;2;5", "C;1;5").line == 2
    assert error("S;A;1", "C;3;2.00").line == 2  # discount larger than the item
    assert error("S;A;1", "C;7;1").line == 2
    assert error("S;A;1", "C;1;").line == 2
    assert error("S;A;1", "S;A;1;-1", "C;1;5").line == 3  # a storno line takes no discount


def test_k_buyer() -> None:
    params = receipt("K;RO18547290;SC Exemplu SRL;Str. 1", "S;A;1")
    assert params.buyer == BuyerInfo(cif="RO18547290", name="SC Exemplu SRL", address="Str. 1")
    assert "before the first sale" in (error("S;A;1", "K;RO18547290").error.detail or "")
    assert error("S;A;1", "K;RO18547290").line == 2
    assert error("K;RO18547290", "K;RO18547290", "S;A;1").line == 2
    assert error("K;", "S;A;1").line == 1


def test_p_and_q_text_lines() -> None:
    params = receipt("S;A;1", "P;one;;  two;;five", "Q;3;comment", "Q;;", "P;;;;;;;")
    assert [line.text for line in params.lines if isinstance(line, TextLine)] == ["one", "  two", "five", "comment"]
    assert error("S;A;1", "P;1;2;3;4;5;6").line == 2
    assert error("S;A;1", "Q;x;text").line == 2


def test_t_partial_payments_then_the_rest() -> None:
    params = receipt("S;A;10.00", "T;1;3.00", "T;3;2.00", "T;0;")
    assert params.payments == [
        PaymentLine(type="card", amount_cents=300),
        PaymentLine(type="meal_voucher", amount_cents=200),
        PaymentLine(type="cash", amount_cents=500),
    ]


@pytest.mark.parametrize(("code", "kind"), list(enumerate(
    ["cash", "card", "credit", "meal_voucher", "value_voucher", "voucher", "modern_payment", "other"])))
def test_t_payment_types_pay_the_rest(code: int, kind: str) -> None:
    payments = receipt("S;A;2.50", f"T;{code};").payments
    assert payments is not None
    assert [(p.type, p.amount_cents) for p in payments] == [(kind, 250)]


def test_t_cash_overpayment_closes_with_change() -> None:
    assert receipt("S;A;2.50", "T;0;10").payments == [PaymentLine(type="cash", amount_cents=1000)]


def test_t_errors() -> None:
    assert error("T;0;1").line == 1  # no receipt
    assert error("S;A;1", "T;1;5").line == 2  # non-cash overpayment
    assert error("S;A;10", "T;1;5").line == 2  # paid 5 of 10 at the end of the file
    assert error("S;A;10", "T;1;5").error.code == Code.PAYMENT_INSUFFICIENT
    assert error("S;A;10", "T;1;5", "S;B;1").line == 3  # a sale after a payment
    assert error("S;A;10", "T;8;").line == 2
    assert error("S;A;10", "T;0;0").line == 2
    assert error("S;A;1", "T;", "T;").line == 3  # the receipt is closed


def test_too_long_lists_name_the_last_line() -> None:
    assert error(*["S;A;1"] * 1001).line == 1001  # at most 1000 receipt lines
    assert error("S;A;100", *["T;1;1"] * 21).line == 22  # at most 20 payments


def test_receipt_without_t_pays_cash_exactly() -> None:
    assert receipt("S;A;1").payments is None


def test_closing_t_starts_a_new_job() -> None:
    jobs = parse("S;A;1", "T;0;1", "S;B;2", "T;", "Z;")
    assert [(j.operation, j.line) for j in jobs] == [("print_receipt", 1), ("print_receipt", 3), ("z_report", 5)]


def test_y_errors() -> None:
    assert error("Y;", "P;x").line == 1  # not closed
    assert error("Y;", "T;").line == 1  # no text
    assert error("Y;", "P;x", "T;0;1").line == 3
    assert error("Y;", "S;A;1").line == 2
    assert error("Y;", "Y;").line == 2
    assert error("S;A;1", "Y;").line == 2
    assert error("Y;", "C;1;1").line == 2


def test_i_cash_in_out() -> None:
    assert one("I;1;12,34") == InpJob("cash_out", CashParams(amount_cents=1234), 1)
    assert error("I;2;1").line == 1
    assert error("I;;1").line == 1
    assert error("I;0").line == 1
    assert error("I;0;0").line == 1


@pytest.mark.parametrize(("letter", "operation"), [
    ("X", "x_report"), ("Z", "z_report"), ("D", "print_duplicate"), ("V", "cancel_receipt"),
])
def test_report_letters(letter: str, operation: str) -> None:
    assert one(f"{letter};") == InpJob(operation, NoParams(), 1)
    assert one(f"{letter},1,______,_,__") == InpJob(operation, NoParams(), 1)
    assert error(f"{letter};1").line == 1


@pytest.mark.parametrize("letter", ["I;0;1", "X;", "Z;", "D;", "V;"])
def test_report_inside_an_open_receipt_is_an_error(letter: str) -> None:
    err = error("H;", "S;A;1", letter, "T;")
    assert err.line == 3
    assert "receipt opened on line 1" in (err.error.detail or "")
    assert error("Y;", "P;x", letter, "T;").line == 3


def test_unknown_letter_and_garbage() -> None:
    err = error("S;A;1", "T;", "W,1,______,_,__;")
    assert err.line == 3 and (err.error.detail or "").startswith("unknown command letter 'W' (command letters: ")
    assert "S, T" in (err.error.detail or "")  # the valid letters, listed
    assert error("S;A;1", "", "garbage here").line == 3
    assert error("S;A;1", "T;", "12345").line == 3


# -- syntax --------------------------------------------------------------------------------------------------------


def test_lenient_header_and_lower_case_letters() -> None:
    jobs = parse_inp("s,12,abcdefghij,10,2;A;1\nt,1,______,1,2;\nz,001,123456,_,_;", VAT)
    assert [j.operation for j in jobs] == ["print_receipt", "z_report"]


@pytest.mark.parametrize("line", [
    "S;A;1",  # no header at all
    "S,1,_____,_,__;A;1",  # password 5 chars
    "S,1,___________,_,__;A;1",  # password 11 chars
    "S,1,______,___,__;A;1",  # till 3 chars
    "S,x,______,_,__;A;1",
    "S,1,______,_;A;1",
])
def test_malformed_header(line: str) -> None:
    err = parse_error(f"# comment\n{line}")
    assert err.line == 2
    assert "header" in (err.error.detail or "")


def parse_error(text: str) -> InpError:
    with pytest.raises(InpError) as info:
        parse_inp(text, VAT)
    return info.value


def test_both_decimal_separators() -> None:
    (a, b) = items(receipt("S;A;12.50;1.500", "S;B;12,50;1,500"))
    assert (a.unit_price_cents, a.quantity_thousandths) == (b.unit_price_cents, b.quantity_thousandths) == (1250, 1500)


@pytest.mark.parametrize(("line", "message"), [
    ("S;A;12.5x", "S: price '12.5x' is not a number"),
    ("S;A;1.234", "S: price '1.234' has more than 2 decimals"),
    ("S;A;1;1.2345", "S: quantity '1.2345' has more than 3 decimals"),
    ("S;A;-1", "S: price '-1' must not be negative"),
    ("S;A;1;0", "S: quantity '0' must not be 0"),
    ("S;A;100000000000", "S: price '100000000000' is out of range (at most 99999999.99)"),
    ("S;A;1;" + "9" * 5000, "is out of range"),
    ("S;;1", "S: name is required"),
    ("S;A", "S: price is required"),
    ("S;A;1;1;x", "S: department 'x' is not a whole number"),
    ("S;A;1;1;1;1;9", "S: vat_group '9' must be one of 1, 2, 3, 4, 5, 6, 7, 8"),
    ("S;A;1;1;1;1;0", "S: vat_group '0' must be one of"),
    ("S;A;1;1;1;1;1;5", "S: discount_type '5' must be one of 0, 1, 2, 3, 4"),
    ("S;A;1;1;1;1;1;2;101", "S: discount_value '101' is out of range (at most 100.00)"),
    ("S;A;1;1;1;1;1;2", "S: discount_value is required"),
    ("S;A;1;1;1;1;1;4;2", "S: discount: discount 200 exceeds the value 100"),
    ("S;A;1;1;1;1;1;4;0", "S.discount.amount_cents"),
    ("S;A;1;-1;1;1;1;2;5", "storno line"),
    ("S;A;1;1;1;1;1;0;0;buc;extra", "S: unexpected field 'extra' (S takes at most 9 fields)"),
    ("S;A;1;1;1;1;1;0;0;bucăți-mari", "S.um"),
    ("S;A\x00B;1", "control character U+0000"),
])
def test_line_errors(line: str, message: str) -> None:
    err = error("# a comment", "", line)
    assert err.line == 3
    assert err.error.code == Code.CONFIG
    assert message in (err.error.detail or "")


def test_name_longer_than_72_characters() -> None:
    assert len(items(receipt("S;" + "x" * 72 + ";1"))[0].description) == 72
    err = error("H;", "S;" + "x" * 73 + ";1")
    assert err.line == 2
    assert "73 characters" in (err.error.detail or "")


def test_vat_group_checked_against_the_device_rates() -> None:
    err = error("S;A;1;1;1;1;5")
    assert (err.line, err.error.code) == (1, Code.INVALID_VAT_GROUP)
    assert parse_inp(inp("S;A;1;1;1;1;5"))[0].operation == "print_receipt"


def test_storno_negative_quantity() -> None:
    params = receipt("S;Apă;3.00;2", "S;Apă;3.00;-1.000", "T;")
    assert [i.quantity_thousandths for i in items(params)] == [2000, -1000]
    assert params.payments == [PaymentLine(type="cash", amount_cents=300)]
    err = error("S;Apă;3.00;1", "S;Suc;1", "S;Apă;3.00;-2", "T;")
    assert err.line == 3
    assert "storno" in (err.error.detail or "")


def test_rest_due_uses_receipt_arithmetic() -> None:
    # 3 × 0.333 = 0.999 -> 100 cents; 12.50 with 5 % off -> 1250 - 63 = 1187; 2.00 + 10 % -> 220
    params = receipt("S;A;3;0.333", "S;B;12.50;1;1;1;2;2;5", "S;C;2;1;1;1;1", "C;0;10", "T;")
    assert params.payments == [PaymentLine(type="cash", amount_cents=100 + 1187 + 220)]


# -- text: encodings, line ends, comments --------------------------------------------------------------------------


def test_decode_windows_1250() -> None:
    data = inp("S;Brânză ăşţ;1", "T;").encode("cp1250")
    (item,) = items(parse_bytes(data)[0])
    assert item.description == "Brânză ăşţ"


def test_decode_utf8_with_and_without_bom() -> None:
    text = inp("S;Țuică;1", "T;")
    assert decode(text.encode()).text == text
    assert decode(b"\xef\xbb\xbf" + text.encode()).text == text
    assert items(parse_bytes(b"\xef\xbb\xbf" + text.encode())[0])[0].description == "Țuică"


def test_crlf_and_cr_line_ends() -> None:
    data = b"# x\r\nS" + HDR.encode() + b"A;1\r\rZ" + HDR.encode() + b"\r\n"
    assert decode(data).text == f"# x\nS{HDR}A;1\n\nZ{HDR}\n"
    err = parse_error(decode(data).text)
    assert err.line == 4  # Z inside the receipt, after a blank line


def test_undecodable_byte_names_its_line() -> None:
    with pytest.raises(InpError) as info:
        decode(b"# ok\r\n# ok\r\nS" + HDR.encode() + b"\x81\xff;1")
    assert info.value.line == 3
    assert "0x81" in (info.value.error.detail or "")


def test_comments_and_blank_lines_keep_line_numbers() -> None:
    text = "# POS export\n\n   \n  # indented comment\n" + inp("S;A;1", "", "T;0;x")
    err = parse_error(text)
    assert err.line == 7
    assert err.error.detail == "T: amount 'x' is not a number"


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n\n# another"])
def test_no_commands(text: str) -> None:
    err = parse_error(text)
    assert (err.line, err.error.code) == (0, Code.CONFIG)


def parse_bytes(data: bytes) -> list[PrintReceiptParams]:
    jobs = parse_inp(decode(data).text, VAT)
    return [j.params for j in jobs if isinstance(j.params, PrintReceiptParams)]


# -- properties ----------------------------------------------------------------------------------------------------

LETTERS = "HSCKPQTYIXZDVhsw#"
FIELD = st.one_of(
    st.sampled_from(["", "0", "1", "2", "8", "-1", "1.5", "2,50", "1.000", "5.00", "RO18547290", "Coffee", "x" * 80]),
    st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=6),
    st.from_regex(r"-?[0-9]{0,12}([.,][0-9]{0,4})?", fullmatch=True),
)
GOOD_LINE = st.sampled_from([
    "H;", "S;Coffee;2.50;1.000;1;1;1;0;0;buc", "S;Coffee;2.50;-1", "S;Tea;0,50;3;1;1;2;2;5.00", "C;1;5.00",
    "C;3;0.10", "K;RO18547290;SC X SRL", "P;Text;;;;", "Q;1;note", "T;", "T;0;1.00", "T;1;", "Y;", "I;0;80",
    "I;1;1", "X;", "Z;;;;;;;", "D;", "V;", "# comment", "",
]).map(lambda line: inp(line))
LINE = st.one_of(GOOD_LINE, st.builds(
    lambda letter, header, fields: letter + header + ";".join(fields),
    st.sampled_from(LETTERS),
    st.sampled_from([HDR, ",1,______,_,__", ",1,_____,_,__;", ";", ""]),
    st.lists(FIELD, max_size=10),
))


def run(text: str) -> None:
    try:
        jobs = parse_inp(text, VAT)
    except InpError as err:
        assert err.line >= 0
        assert err.error.code in Code
    else:
        assert jobs
        for job in jobs:
            assert isinstance(job.params, OPERATIONS[job.operation].params)


@settings(max_examples=300, deadline=None)
@given(st.lists(LINE, max_size=8).map("\n".join))
def test_structured_lines_only_raise_inp_error(text: str) -> None:
    run(text)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_arbitrary_text_only_raises_inp_error(text: str) -> None:
    run(text)


@settings(max_examples=200, deadline=None)
@given(st.binary())
def test_arbitrary_bytes_only_raise_inp_error(data: bytes) -> None:
    try:
        text = decode(data).text
    except InpError as err:
        assert err.line >= 1
        return
    run(text)


DIGITS = st.text("0123456789", max_size=3)


@settings(max_examples=300, deadline=None)
@given(
    price=st.tuples(st.integers(0, 99_999), st.text("0123456789", max_size=2), st.sampled_from(".,")),
    quantity=st.tuples(st.integers(1, 999), st.text("0123456789", max_size=3), st.sampled_from(".,")),
    zeros=st.integers(0, 3),
)
def test_prices_and_quantities_round_trip_exactly(
    price: tuple[int, str, str], quantity: tuple[int, str, str], zeros: int,
) -> None:
    (whole, fraction, sep), (q_whole, q_fraction, q_sep) = price, quantity
    price_text = "0" * zeros + str(whole) + (sep + fraction if fraction or sep == "." else "")
    quantity_text = str(q_whole) + (q_sep + q_fraction if q_fraction else "")
    cents = whole * 100 + int(fraction.ljust(2, "0"))
    thousandths = q_whole * 1000 + int(q_fraction.ljust(3, "0"))
    sale, storno = items(receipt(f"S;A;{price_text};{quantity_text}", f"S;A;{price_text};-{quantity_text}"))
    assert (sale.unit_price_cents, sale.quantity_thousandths) == (cents, thousandths)
    assert (storno.unit_price_cents, storno.quantity_thousandths) == (cents, -thousandths)
