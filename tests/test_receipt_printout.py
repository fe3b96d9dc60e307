"""What the Simulated register prints (docs/simulator.md, "The printout"): the seller's header and footer from the
device configuration, the operator, exempt VAT groups, the receipt's number within the fiscal day, word-wrapped
item names; and what a receipt result and its journal entry say about it."""

from __future__ import annotations

import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from inproc import InProcessServer
from sim_client import Sim, item

from fiscald.app import open_database
from fiscald.drivers.simulated import printout
from fiscald.drivers.simulated.printout import WIDTH, Printout
from fiscald.operations.models import PrintReceiptParams
from fiscald.operations.totals import compute_receipt
from fiscald.store import journal

HEADER = ["SC EXEMPLU SRL", "Str. Lungă 1, Cluj-Napoca", "CIF: RO18547290"]
FOOTER = ["VĂ MULȚUMIM!"]
SIMULATED = {"manufacturer": "Simulated", "model": "Simulated", "connection_details": {"type": "Virtual"}}


def save(c: httpx.Client, **fields: Any) -> httpx.Response:
    return c.post("/manage/save_fiscal_device", json={**SIMULATED, **fields})


def row(left: str, right: str) -> str:
    """A 42-column printout line: ``left`` aligned left, ``right`` aligned right."""
    return f"{left:<{WIDTH - len(right) - 1}} {right}"


def last_entry(s: Sim, device_id: str) -> dict[str, Any]:
    entries: list[dict[str, Any]] = s.http.get(f"/devices/{device_id}/journal").json()["entries"]
    return entries[-1]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sim, str]]:
    srv = InProcessServer(tmp_path_factory.mktemp("printout")).start()
    s = Sim(srv)
    try:
        r = save(s.http, name="Casa 1", header_lines=HEADER, footer_lines=FOOTER, operator=7,
                 exempt_vat_groups=["D"])
        assert r.status_code == 200, r.text
        yield s, r.json()["id"]
    finally:
        s.close()
        srv.stop()


def test_header_footer_and_operator_on_every_document(shop: tuple[Sim, str]) -> None:
    s, dev = shop
    s.ok(dev, "print_receipt", {"lines": [item()]})
    s.ok(dev, "cash_in", {"amount_cents": 500})
    s.ok(dev, "x_report")
    s.ok(dev, "print_non_fiscal", {"lines": [{"type": "text", "text": "comanda 12"}]})
    s.ok(dev, "print_receipt", {"lines": [item()], "operator": 12})
    entries = s.http.get(f"/devices/{dev}/journal").json()["entries"]
    assert [e["kind"] for e in entries] == ["receipt", "cash_in", "x_report", "non_fiscal", "receipt"]
    for entry in entries:
        lines = entry["text"].splitlines()
        assert [line.strip() for line in lines[:3]] == HEADER, entry["kind"]  # the device name is not printed
        assert "Casa 1" not in entry["text"]
        assert lines[3].strip().startswith("SERIE SIM")
        assert "VĂ MULȚUMIM!" in [line.strip() for line in lines]
        assert all(len(line) <= WIDTH for line in lines)
    assert "OPERATOR 7" in entries[0]["text"] and "OPERATOR 12" in entries[4]["text"]
    assert entries[0]["data"]["operator"] == 7 and entries[4]["data"]["operator"] == 12
    assert "operator" not in entries[0]["data"]["request"]  # not sent: the request is journaled as it was
    assert entries[4]["data"]["request"]["operator"] == 12


def test_request_without_operator_keeps_its_idempotency_hash() -> None:
    body = {"lines": [item()]}
    assert "operator" not in PrintReceiptParams.model_validate(body).model_dump(mode="json")
    assert PrintReceiptParams.model_validate({**body, "operator": 3}).model_dump(mode="json")["operator"] == 3


@pytest.mark.parametrize("operator", [0, 100, "1"])
def test_bad_operator_is_refused(shop: tuple[Sim, str], operator: Any) -> None:
    s, dev = shop
    r = s.op(dev, "print_receipt", {"lines": [item()], "operator": operator})
    assert r.status_code == 400 and r.json()["error"].split(": ")[1].startswith("params.operator"), r.text


def test_exempt_group_and_vat_totals(shop: tuple[Sim, str]) -> None:
    s, dev = shop
    s.ok(dev, "print_receipt", {"lines": [item("Carte", price=5000, vat="D"), item("Apa", price=300, vat="C"),
                                          item("Cafea", price=1210, vat="A")]})
    lines = last_entry(s, dev)["text"].splitlines()
    assert row("TVA D SCUTIT", "0.00") in lines  # the exempt group, marked as such
    assert row("TVA C 0.00%", "0.00") in lines  # a 0 % group is not exempt
    assert row("TVA A 21.00%", "2.10") in lines
    assert row("TOTAL TVA", "2.10") in lines
    assert row("TOTAL SCUTIT TVA", "50.00") in lines  # the total of exempt sales
    assert lines[lines.index("Carte") + 1] == row("  1.000 x 50.00", "50.00 D")  # item lines keep the letter


def test_z_report_has_seller_header_total_vat_and_exempt_total(tmp_path: Path, make_app: Any) -> None:
    srv: InProcessServer = make_app(tmp_path / "z")
    s = Sim(srv)
    try:
        dev = save(s.http, name="Z", header_lines=HEADER, exempt_vat_groups=["D"]).json()["id"]
        s.ok(dev, "print_receipt", {"lines": [item(price=1210), item("Carte", price=5000, vat="D")]})
        s.ok(dev, "print_receipt", {"lines": [item(price=2420)]})
        s.ok(dev, "z_report")
        z = last_entry(s, dev)
        assert z["kind"] == "z_report"
        lines = z["text"].splitlines()
        assert [line.strip() for line in lines[:3]] == HEADER
        assert row("TOTAL A 21.00%", "36.30") in lines
        assert row("TOTAL D SCUTIT", "50.00") in lines
        assert row("TOTAL TVA", "6.30") in lines
        assert row("TOTAL SCUTIT TVA", "50.00") in lines
    finally:
        s.close()


def test_receipt_number_within_the_fiscal_day(tmp_path: Path, make_app: Any) -> None:
    srv: InProcessServer = make_app(tmp_path / "day")
    s = Sim(srv)
    try:
        dev = srv.fiscal_ids()[0]
        numbers = []
        for params in ({"lines": [item()]}, {"lines": [item()], "close_action": "void"}, {"lines": [item()]}):
            r = s.ok(dev, "print_receipt", params)
            numbers.append((r["receipt_number"], r["day_receipt_number"], r["fiscal_day"]))
        s.ok(dev, "z_report")
        r = s.ok(dev, "print_receipt", {"lines": [item()]})
        numbers.append((r["receipt_number"], r["day_receipt_number"], r["fiscal_day"]))
        # the continuous number goes on, the day's number restarts after the Z; a voided receipt uses both
        assert numbers == [(1, 1, 1), (2, 2, 1), (3, 3, 1), (4, 1, 2)]
        assert row("BON FISCAL 4 NR. ZI 1", "Z 2") in last_entry(s, dev)["text"].splitlines()
        assert s.ok(dev, "get_status")["last_receipt_number"] == 4
    finally:
        s.close()


def test_non_fiscal_receipt_uses_no_receipt_number(tmp_path: Path, make_app: Any) -> None:
    srv: InProcessServer = make_app(tmp_path / "nf")
    s = Sim(srv)
    try:
        dev = srv.fiscal_ids()[0]
        first = s.ok(dev, "print_receipt", {"lines": [item()]})
        doc = s.ok(dev, "print_receipt", {"lines": [item()], "flags": {"non_fiscal": True}})
        assert doc["receipt_number"] is None and doc["day_receipt_number"] is None
        assert doc["document_number"] == first["document_number"] + 1
        assert s.ok(dev, "get_status")["last_receipt_number"] == first["receipt_number"]
        nxt = s.ok(dev, "print_receipt", {"lines": [item()]})
        assert nxt["receipt_number"] == first["receipt_number"] + 1  # the document took no fiscal number
        assert nxt["document_number"] == doc["document_number"] + 1
        entry = s.http.get(f"/devices/{dev}/journal", params={"kind": "non_fiscal"}).json()["entries"][0]
        assert entry["number"] == doc["document_number"] and "NEFISCAL" in entry["text"]
        assert "BON FISCAL" not in entry["text"]
        receipts = s.http.get(f"/devices/{dev}/journal", params={"kind": "receipt"}).json()["entries"]
        assert [e["number"] for e in receipts] == [first["receipt_number"], nxt["receipt_number"]]
    finally:
        s.close()


def test_journal_keeps_the_receipt_result_with_its_journal_id(tmp_path: Path, make_app: Any) -> None:
    data = tmp_path / "jid"
    srv: InProcessServer = make_app(data)
    s = Sim(srv)
    try:
        dev = srv.fiscal_ids()[0]
        results = [s.ok(dev, "print_receipt", {"lines": [item()]}) for _ in range(2)]
        s.ok(dev, "cash_in", {"amount_cents": 100})
        results.append(s.ok(dev, "print_receipt", {"lines": [item()], "close_action": "void"}))
        entries = {e["id"]: e for e in s.http.get(f"/devices/{dev}/journal").json()["entries"]}
        for result in results:
            assert result["journal_id"] > 0
            assert entries[result["journal_id"]]["data"]["result"] == result  # exactly what the client got
    finally:
        s.close()
    srv.stop()
    db = open_database(data)
    try:
        checked, broken = db.read_sync(lambda c: journal.verify(c, dev))
        assert broken is None and checked == 4
    finally:
        db.close()


def test_long_item_name_wraps_on_a_word_boundary(shop: tuple[Sim, str]) -> None:
    s, dev = shop
    name = "Casti audio wireless JBL Tune 510BT negre, noi"  # 46 characters; "negre," ends at column 42
    assert len(name) > WIDTH
    s.ok(dev, "print_receipt", {"lines": [item(name), item("X" * 48)]})
    lines = last_entry(s, dev)["text"].splitlines()
    start = lines.index("Casti audio wireless JBL Tune 510BT negre,")
    assert lines[start + 1] == "noi"
    assert "X" * WIDTH in lines and "X" * 6 in lines  # a word longer than the line is cut


@given(st.lists(st.text(alphabet="abcdefghăîșțĂ", min_size=1, max_size=WIDTH), min_size=1, max_size=12))
def test_wrapping_keeps_every_word_and_the_width(words: list[str]) -> None:
    p = Printout()
    p.left(" ".join(words))
    assert all(len(line) <= WIDTH for line in p.lines)
    assert " ".join(p.lines).split() == words


@given(st.text(alphabet=st.sampled_from("ab ăș\t\n\r\x0b\x0c\xa0\u2003\x00-"), max_size=WIDTH + 3))
def test_a_line_that_fits_is_printed_as_textwrap_would(text: str) -> None:
    p = Printout()
    p.left(text)
    assert p.lines == (textwrap.wrap(text, WIDTH, break_on_hyphens=False) or [""])


def test_header_and_footer_are_saved_and_survive_a_restart(tmp_path: Path, make_app: Any) -> None:
    data = tmp_path / "keep"
    srv: InProcessServer = make_app(data)
    with srv.client() as c:
        dev = save(c, name="Casa", header_lines=HEADER).json()["id"]
        updated = c.post("/manage/save_fiscal_device", json={"id": dev, "footer_lines": FOOTER, "operator": 3})
        assert updated.status_code == 200, updated.text
    srv.stop()
    srv2: InProcessServer = make_app(data)
    s = Sim(srv2)
    try:
        config = s.device(dev)["config"]
        assert (config["header_lines"], config["footer_lines"], config["operator"]) == (HEADER, FOOTER, 3)
        s.ok(dev, "print_receipt", {"lines": [item()]})
        text = last_entry(s, dev)["text"]
        assert text.splitlines()[2].strip() == "CIF: RO18547290" and "VĂ MULȚUMIM!" in text and "OPERATOR 3" in text
    finally:
        s.close()


@pytest.mark.parametrize(("fields", "field"), [
    ({"header_lines": ["X" * 43]}, "header_lines.0"),
    ({"header_lines": ["A"] * 9}, "header_lines"),
    ({"footer_lines": ["A"] * 5}, "footer_lines"),
    ({"footer_lines": ["tab\there"]}, "footer_lines.0"),
    ({"header_lines": ["SC X SRL", "CIF: RO18547291"]}, "header_lines.1"),  # wrong check digit
    ({"header_lines": ["C.I.F. 123"]}, "header_lines.0"),
    ({"header_lines": ["cod fiscal: RO 1854728"]}, "header_lines.0"),
    ({"operator": 0}, "operator"),
    ({"exempt_vat_groups": ["A"], "vat_rates": {"A": 2100}}, "exempt_vat_groups"),
    ({"exempt_vat_groups": ["C", "C"]}, "exempt_vat_groups"),
])
def test_bad_header_footer_operator_exempt_are_refused(shop: tuple[Sim, str], fields: dict[str, Any],
                                                       field: str) -> None:
    s, dev = shop
    before = s.device(dev)["config"]
    r = s.http.post("/manage/save_fiscal_device", json={"id": dev, **fields})
    assert r.status_code == 400 and r.json()["error"].split(": ")[1] == field, r.text
    assert s.device(dev)["config"] == before  # nothing changed
    created = save(s.http, name=f"new-{uuid.uuid4()}", **fields)
    assert created.status_code == 400


@pytest.mark.parametrize("line", ["CIF: RO18547290", "C.I.F. 18547290", "CUI RO 18547290", "Cod fiscal: 18547290",
                                  "Cifra de afaceri", "CUIBUL VERDE SRL", "RO18547291"])
def test_cif_lines_are_recognised_by_their_label(shop: tuple[Sim, str], line: str) -> None:
    s, dev = shop
    r = s.http.post("/manage/save_fiscal_device", json={"id": dev, "header_lines": ["SC EXEMPLU SRL", line]})
    assert r.status_code == 200, r.text  # a line without a CIF label is text, whatever it holds
    s.http.post("/manage/save_fiscal_device", json={"id": dev, "header_lines": HEADER}).raise_for_status()


GOLDEN = """\
              SC EXEMPLU SRL
             SERIE SIM0000001
------------------------------------------
CIF CUMPARATOR: RO18547290
SC EXEMPLU SRL
Str. Lungă 1, Cluj-Napoca
------------------------------------------
Cafea boabe
  1.500 kg x 45.99                 68.99 A
REDUCERE 10.00%                      -6.90
Apă minerală plată, bax de șase sticle de
doi litri
  2.000 x 12.50                    25.00 B
ADAOS                                 1.00
Oferta săptămânii
SUBTOTAL                             88.09
REDUCERE 5.00%                       -4.40
Pâine
  2.000 x 3.50                      7.00 D
Pâine
  STORNO -1.000 x 3.50             -3.50 D
------------------------------------------
TOTAL                                87.19
CARD                                 50.00
NUMERAR                             100.00
  VISA 1234                    AUTH A1B2C3
REST                                 62.81
------------------------------------------
TVA A 21.00%                         10.24
TVA B 11.00%                          2.45
TVA D SCUTIT                          0.00
TOTAL TVA                            12.69
TOTAL SCUTIT TVA                      3.50
               VĂ MULȚUMIM!
------------------------------------------
BON FISCAL 42 NR. ZI 3                 Z 5
2026-12-06 10:11:12             OPERATOR 7
              ID SIM0000001
"""


def test_a_receipt_with_every_kind_of_line_prints_exactly_this() -> None:
    """The whole printout of one receipt, byte for byte: the buyer, a unit, a percent discount, a name wrapped on a
    word, a surcharge, a text line, a subtotal discount, a storno, two payments, a card slip, change, an exempt
    group, the day's number. A change to how receipts are printed shows here (the journal keeps what was
    printed: old entries never change)."""
    params = PrintReceiptParams.model_validate({
        "lines": [
            {"type": "item", "description": "Cafea boabe", "quantity_thousandths": 1500, "unit_price_cents": 4599,
             "vat": "A", "um": "kg", "discount": {"kind": "percent", "basis_points": 1000}},
            {"type": "item", "description": "Apă minerală plată, bax de șase sticle de doi litri",
             "quantity_thousandths": 2000, "unit_price_cents": 1250, "vat": "B",
             "discount": {"kind": "amount", "amount_cents": 100, "is_surcharge": True}},
            {"type": "text", "text": "Oferta săptămânii"},
            {"type": "subtotal", "discount": {"kind": "percent", "basis_points": 500}},
            {"type": "item", "description": "Pâine", "quantity_thousandths": 2000, "unit_price_cents": 350,
             "vat": "D"},
            {"type": "item", "description": "Pâine", "quantity_thousandths": -1000, "unit_price_cents": 350,
             "vat": "D"},
        ],
        "payments": [{"type": "card", "amount_cents": 5000}, {"type": "cash", "amount_cents": 10000}],
        "buyer": {"cif": "RO18547290", "name": "SC EXEMPLU SRL", "address": "Str. Lungă 1, Cluj-Napoca"},
        "flags": {"print_buyer_cif": True},
    })
    totals = compute_receipt(params, {"A": 2100, "B": 1100, "C": 500, "D": 0, "E": 0})
    shop = printout.Shop("Casa 1", "SIM0000001", ("SC EXEMPLU SRL",), ("VĂ MULȚUMIM!",), 7, frozenset({"D"}))
    card = {"approved": True, "card_brand": "VISA", "card_masked": "************1234", "auth_code": "A1B2C3"}
    text = printout.receipt(params, totals, shop=shop, number=42, day_number=3, fiscal_day=5,
                            when="2026-12-06T10:11:12+02:00", voided=False, non_fiscal=False, operator=7,
                            pos_transactions=[card])
    assert text == GOLDEN
