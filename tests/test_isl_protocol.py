"""The ISL brands' protocol (drivers/isl/protocol.py with each brand's table) on the wire, against the emulated
registers over a memory line:

- every request the driver sends is compared with the request the brand's MANUAL writes for that operation
  (the table below: operation -> exact command and data bytes -> manual line), not only "the emulator took it";
- a receipt with every payment type the brand's defaults have, X and Z reports, cash in and out, paper out, and
  a close whose reply is lost, after which the register's own counters say the receipt printed (the journal of
  the emulated register holds exactly one: nothing to print again).

Manual line numbers are of the .txt next to each PDF: [DY] UcsFiscalPrinters doc/Daisy/Protocol-for-
communication-between-fiscal-device-and-PC_BG_eng_02.10.2019.txt, [ED] ErpNet.FP BgEltrade/Docs/bg.isl.ed.
protocol-v1.1.1-en.txt, [IN] ErpNet.FP BgIncotex/Docs/Protocol_fpr_20Feb2019.txt.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from isl_link import EmulatorLine

from fiscald.drivers.isl.brand import Brand
from fiscald.drivers.isl.brands import BRANDS
from fiscald.drivers.isl.config import check_config
from fiscald.drivers.isl.protocol import IslProtocol, money, parse_amount, parse_datetime
from fiscald.drivers.register.pending import Payment
from fiscald.drivers.register.protocol import LoginRefused
from fiscald.emulators.isl import BRANDS as EMULATED
from fiscald.emulators.isl import IslEmulator
from fiscald.errors import Code, ConnectionLost, FiscalError
from fiscald.models.config import FiscalDeviceConfig
from fiscald.operations import models as m
from fiscald.operations.totals import compute_receipt
from fiscald.store import journal

RECEIPT = m.PrintReceiptParams.model_validate({
    "lines": [
        {"type": "item", "description": "Paine", "quantity_thousandths": 2000, "unit_price_cents": 150, "vat": "A"},
        {"type": "item", "description": "Apa", "quantity_thousandths": 1000, "unit_price_cents": 100, "vat": "B",
         "discount": {"kind": "percent", "basis_points": 1000}},
        {"type": "item", "description": "Suc", "quantity_thousandths": 1000, "unit_price_cents": 200, "vat": "A",
         "discount": {"kind": "amount", "amount_cents": 50}},
        {"type": "text", "text": "Multumim"},
    ],
    "receipt_discount": {"kind": "amount", "amount_cents": 40},
})  # 3.00 + 0.90 + 1.50 - 0.40 = 5.00

Op = Callable[[IslProtocol], Awaitable[object]]


async def _receipt_body(p: IslProtocol) -> object:
    for step in p.plan_receipt(RECEIPT, compute_receipt(RECEIPT, await p.vat_rates())):
        await p.send(step)
    return await p.subtotal(RECEIPT.receipt_discount)


OPS: dict[str, Op] = {
    "identify": lambda p: p.identify(),
    "vat_rates": lambda p: p.vat_rates(),
    "last_z": lambda p: p.last_z(),
    "cash_in": lambda p: p.cash(1, 1000),
    "last_document": lambda p: p.last_document(),
    "open": lambda p: p.open_receipt(1, p.default_password(1), RECEIPT),
    "body": _receipt_body,
    "pay_card": lambda p: p.pay(Payment("card", p.payment_codes["card"], 200)),
    "pay_cash": lambda p: p.pay(Payment("cash", "P", 300)),
    "close": lambda p: p.close_receipt(),
    "transaction": lambda p: p.transaction(),
    "x": lambda p: p.report(False),
    "duplicate": lambda p: p.duplicate(),
    "drawer": lambda p: p.open_drawer(),
    "non_fiscal": lambda p: p.print_non_fiscal(["Text liber"]),
    "set_datetime": lambda p: p.set_datetime(dt.datetime(2030, 1, 2, 10, 0, 0)),
    "cash_out": lambda p: p.cash(-1, 500),
    "z": lambda p: p.report(True),
    "periodic": lambda p: p.periodic_report(m.PeriodicReportParams(from_z=1, to_z=1), 1),
    "periodic_dates": lambda p: p.periodic_report(
        m.PeriodicReportParams.model_validate({"from": "2026-12-01", "to": "2026-12-06", "detailed": True}), 1),
}

# the body of RECEIPT as each brand's manual writes it: 31h [L1] TAB Group [Sign]Price *Qty [,Perc | mark Abs],
# 36h text, 33h <Print><Display>[,Perc | mark Abs]
BODY_DY = [(0x31, "Paine\tА1.50*2.000"), (0x31, "Apa\tБ1.00*1.000,-10.00"), (0x31, "Suc\tА2.00*1.000$-0.50"),
           (0x36, "Multumim"), (0x33, "10$-0.40")]
BODY_ED = [(0x31, "Paine\tА1.50*2.000"), (0x31, "Apa\tБ1.00*1.000,-10.00"), (0x31, "Suc\tА2.00*1.000;-0.50"),
           (0x36, "Multumim"), (0x33, "10;-0.40")]
BODY_IN = BODY_ED  # [IN] :511-512 [,<Percent>|;<Abs>], :572 the same marks

Frames = list[tuple[int, str]]
MANUAL: dict[str, list[tuple[str, Frames, str]]] = {
    "Daisy": [
        ("identify", [(0x5A, "1"), (0x80, "")], "[DY] :1261-1263 5Ah [Calculate] '1'; 80h constants p.32"),
        ("vat_rates", [(0x61, "")], "[DY] :1338-1340 61h no data"),
        ("last_z", [(0x40, "T")], "[DY] :1007-1011 40h [Type] 'T' = with VAT"),
        ("cash_in", [(0x46, "10.00")], "[DY] :1128-1131 46h {Amount}"),
        ("last_document", [(0x71, "")], "[DY] :1643 71h no data"),
        ("open", [(0x30, "1,1,{serial}-0001-{sale}")],
         "[DY] :699 {ClerkNum},{Password},{UnicSaleNum}; UNP :707-716 (e.g. DY000600-OP01-0000001)"),
        ("body", [(0x61, ""), *BODY_DY], "[DY] :758-761 31h, :896-900 36h, :817-818 33h [$Netto]"),
        ("pay_card", [(0x35, "\tC2.00")], "[DY] :851-866 35h {Tab}{Payment}{Amount}: C payment 2"),
        ("pay_cash", [(0x35, "\tP3.00")], "[DY] :861 P cash"),
        ("close", [(0x38, "")], "[DY] :915-917 38h no data"),
        ("transaction", [(0x4C, "T")], "[DY] :1188-1191 4Ch [Option] T"),
        ("x", [(0x45, "2")], "[DY] :1080-1090 45h '2' = X"),
        ("duplicate", [(0x6D, "1")], "[DY] :1580 6Dh Count 1"),
        ("drawer", [(0x6A, "")], "[DY] :1467 6Ah [mSec]"),
        ("non_fiscal", [(0x26, ""), (0x2A, "Text liber"), (0x27, "")], "[DY] :556, :599, :582"),
        ("cash_out", [(0x46, "-5.00")], "[DY] :1128-1133 a negative Amount = ServOutput"),
        ("z", [(0x45, "0")], "[DY] :1083-1086 '0' = Z"),
        ("periodic", [(0x5F, "0001,0001")], "[DY] 5Fh brief by number {StartNum},{EndNum} (4 symbols, :2106)"),
        ("periodic_dates", [(0x5E, "011226,061226")], "[DY] :1288 5Eh {StartDate},{EndDate} DDMMYY"),
        ("set_datetime", [(0x3D, "02-01-30 10:00:00")], "[DY] :978-981 DD-MM-YY HH:MM:SS"),
    ],
    "Eltrade": [
        ("identify", [(0x5A, "1")], "[ED] :1014-1018 5Ah <Calc> '1' (no 80h in [ED])"),
        ("vat_rates", [(0x61, "")], "[ED] :1073-1076 61h none"),
        ("last_z", [(0x6E, "")], "[ED] :1233-1243 6Eh ...,Closure,Receipt (no 40h in [ED])"),
        ("cash_in", [(0x46, "10.00")], "[ED] :832-835 46h [<Amount>]"),
        ("last_document", [(0x71, "")], "[ED] :1246-1250"),
        ("open", [(0x90, "Operator 1,{serial}-0001-{sale}")],
         "[ED] :1256 90h <OperName>,<UNP>, no password; UNP :1270 /EDXXXXXX-YYYY-NNNNNNN/"),
        ("body", [(0x61, ""), *BODY_ED], "[ED] :499 31h [,Perc\\;Abs], :654 36h, :537 33h [,Perc|;Abs]"),
        ("pay_card", [(0x35, "\tL2.00")], "[ED] :598-613 35h: L debit/credit cards"),
        ("pay_cash", [(0x35, "\tP3.00")], "[ED] :606 P cash"),
        ("close", [(0x38, "")], "[ED] :660-663"),
        ("transaction", [(0x4C, "T")], "[ED] :901-906 4Ch [Option] T"),
        ("x", [(0x45, "2")], "[ED] :805-820 45h '2' = without closure"),
        ("duplicate", [(0x6D, "1")], "[ED] 6Dh (p.23) Count 1"),
        ("drawer", [(0x6A, "")], "[ED] :1143-1150 6Ah [mSec]"),
        ("non_fiscal", [(0x26, ""), (0x2A, "Text liber"), (0x27, "")], "[ED] :379, :419, :398"),
        ("cash_out", [(0x46, "-5.00")], "[ED] :837-839 the sign chooses serve out"),
        ("z", [(0x45, "0")], "[ED] :812-813 '0' = with closure"),
        ("periodic", [(0x5F, "0001,0001")], "[ED] :1060-1066 5Fh <Start>,<End>"),
        ("periodic_dates", [(0x5E, "011226,061226")], "[ED] :1034-1048 5Eh <Start>,<End> DDMMYY"),
        ("set_datetime", [(0x3D, "02-01-30 10:00:00")], "[ED] :746-749 <DD-MM-YY HH:MM[:SS]>"),
    ],
    "Incotex": [
        ("identify", [(0x5A, "1"), (0x80, "")], "[IN] :953-955 5Ah <Calculate> '1'; :1240-1242 80h no data"),
        ("vat_rates", [(0x61, "")], "[IN] :1000-1002 61h no data"),
        ("last_z", [(0x40, "")], "[IN] :771-773 40h no data"),
        ("cash_in", [(0x46, "10.00")], "[IN] :833-835 46h <Amount>[,OpNum]"),
        ("last_document", [(0x71, "")], "[IN] :1197"),
        ("open", [(0x30, "1,{serial}-0001-{sale},0")],
         "[IN] :452 <OpNum>,<UNP>,<RevDocNo>, :477 RevDocNo 0 for a sale; UNP :456-467"),
        ("body", [(0x61, ""), *BODY_IN], "[IN] :510-512 31h, :669-672 36h, :571-572 33h"),
        ("pay_card", [(0x35, "\tC2.00")], "[IN] :631-646 35h: C payment 1"),
        ("pay_cash", [(0x35, "\tP3.00")], "[IN] :645 P cash"),
        ("close", [(0x38, "")], "[IN] :679-681"),
        ("transaction", [(0x4C, "T")], "[IN] :902-906 4Ch [Option] T"),
        ("x", [(0x45, "2")], "[IN] :813-823 45h '2' = without clearing"),
        ("duplicate", [(0x6D, "1")], "[IN] :1140 6Dh"),
        ("drawer", [(0x6A, "")], "[IN] 6Ah (p.22) [mSec]"),
        ("non_fiscal", [(0x26, ""), (0x2A, "Text liber"), (0x27, "")], "[IN] :338, :358, :351"),
        ("cash_out", [(0x46, "-5.00")], "[IN] :836-838 the sign chooses output"),
        ("z", [(0x45, "0")], "[IN] :819-821 '0' = with clearing"),
        ("periodic", [(0x5F, "0001,0001")], "[IN] :978 5Fh by block numbers"),
        ("periodic_dates", [(0x5E, "011226,061226")], "[IN] 5Eh (p.21) by dates DDMMYY"),
        ("set_datetime", [(0x3D, "02-01-30 10:00:00")], "[IN] :751-754 DD-MM-YY HH:MM:SS"),
    ],
}


def _brands() -> list[str]:
    return sorted(BRANDS)


async def _connected(brand: Brand, tmp_path: Path, requests: list[tuple[int, bytes]],
                     reply_timeout_s: float = 0.5) -> tuple[IslEmulator, IslProtocol]:
    emulator = IslEmulator(EMULATED[brand.name], brand.default_model, tmp_path)
    await emulator.start()
    protocol = IslProtocol(brand, brand.default_model, lambda: EmulatorLine(emulator, requests),
                           reply_timeout_s=reply_timeout_s)
    await protocol.connect()
    return emulator, protocol


def _receipts(emulator: IslEmulator) -> list[journal.JournalEntry]:
    return emulator.db.read_sync(lambda c: journal.query(c, emulator.device_id, kinds=("receipt",)))


@pytest.mark.parametrize("maker", _brands())
def test_requests_are_the_manuals(maker: str, tmp_path: Path) -> None:
    """Each operation sends exactly the frames the brand's manual writes (command, data bytes in cp1251), and
    the emulated register, built from the manual and ErpNet.FP's strings, takes every one."""
    brand = BRANDS[maker]

    async def run() -> None:
        requests: list[tuple[int, bytes]] = []
        emulator, protocol = await _connected(brand, tmp_path, requests)
        try:
            sale = 0
            for name, frames, source in MANUAL[maker]:
                requests.clear()
                result = await OPS[name](protocol)
                if name == "last_document":
                    assert isinstance(result, int)
                    sale = result + 1
                values = {"serial": protocol.serial, "sale": f"{sale:07d}"}
                expected = [(cmd, data.format(**values).encode("cp1251")) for cmd, data in frames]
                assert requests == expected, f"{maker} {name}: {source}"
        finally:
            await protocol.disconnect()
            emulator.close()

    asyncio.run(run())


@pytest.mark.parametrize("maker", _brands())
def test_a_receipt_reports_and_cash(maker: str, tmp_path: Path) -> None:
    """A receipt paid with every payment type the brand's defaults name, then read back from the register's own
    counters; cash in and out; X and Z with the day's turnover by our VAT letters."""
    brand = BRANDS[maker]

    async def run() -> None:
        emulator, p = await _connected(brand, tmp_path, [])
        try:
            identity = await p.identify()
            assert identity.serial.startswith(brand.serial_prefix) and len(identity.serial) == 8
            assert identity.name == brand.default_model
            rates = await p.vat_rates()
            assert set(rates) >= {"A", "B"}
            assert (await p.last_z()).number == 0
            assert await p.cash(1, 10_000) == 10_000
            before = await p.last_document()
            await p.open_receipt(1, p.default_password(1), RECEIPT)
            assert (await p.transaction()).open
            assert await _receipt_body(p) == 500
            types = sorted(p.payment_codes, key=lambda t: t == "cash")
            for kind in types:  # 1.00 each but cash, which pays the rest
                cents = 100 if kind != "cash" else 500 - 100 * (len(types) - 1)
                await p.pay(Payment(kind, p.payment_codes[kind], cents))
            assert await p.close_receipt() is None
            tx = await p.transaction()
            assert (tx.open, tx.items, tx.amount_cents, tx.paid_cents) == (False, 3, 500, 500)
            assert await p.last_document() == before + 1
            assert len(_receipts(emulator)) == 1
            assert await p.cash_in_drawer() == 10_000 + 500 - 100 * (len(types) - 1)
            assert await p.cash(-1, 1_000) == 9_000 + 500 - 100 * (len(types) - 1)
            x = await p.report(False)
            assert sum(x.gross.values()) == 500 and set(x.gross) == {"A", "B"}
            z = await p.report(True)
            assert z.number == 1 and z.gross == x.gross
            last = await p.last_z()
            assert last.number == 1
            if brand.last_z.sums_at is not None:
                assert last.gross == z.gross
            condition = await p.refresh()
            assert condition.paper == "ok" and condition.standing is None
        finally:
            await p.disconnect()
            emulator.close()

    asyncio.run(run())


@pytest.mark.parametrize("maker", _brands())
def test_paper_out_is_2001_and_nothing_opens(maker: str, tmp_path: Path) -> None:
    brand = BRANDS[maker]

    async def run() -> None:
        emulator, p = await _connected(brand, tmp_path, [])
        try:
            await p.identify()
            await emulator.control({"fault": "paper_out"})
            with pytest.raises(FiscalError) as refused:
                await p.open_receipt(1, p.default_password(1), RECEIPT)
            assert refused.value.code == Code.PAPER_OUT
            assert "paper_out" in refused.value.details["device_status"]
            condition = p.condition()
            assert condition.paper == "out" and condition.standing == Code.PAPER_OUT
            assert not (await p.transaction()).open  # a read still answers; nothing was opened
            await emulator.control({"fault": "none"})
            assert (await p.refresh()).standing is None
        finally:
            await p.disconnect()
            emulator.close()

    asyncio.run(run())


@pytest.mark.parametrize("maker", _brands())
def test_a_lost_close_reply_leaves_one_receipt(maker: str, tmp_path: Path) -> None:
    """The register closes the receipt but its reply never arrives (every resend's too): the protocol says the
    link is lost; reconnected, the register's own counters (4Ch, 71h) show the receipt closed and numbered —
    what the register core reconciles from, never printing it again — and its journal holds exactly one."""
    brand = BRANDS[maker]

    async def run() -> None:
        emulator, p = await _connected(brand, tmp_path, [], reply_timeout_s=0.05)
        try:
            await p.identify()
            before = await p.last_document()
            await p.open_receipt(1, p.default_password(1), RECEIPT)
            await _receipt_body(p)
            await p.pay(Payment("cash", "P", 500))
            await emulator.control({"wire": {"drop_replies": 20, "from_command": 0x38}})
            with pytest.raises(ConnectionLost):
                await p.close_receipt()
            await p.disconnect()
            await emulator.control({"wire": {"drop_replies": 0}})
            await p.connect()
            tx = await p.transaction()
            assert (tx.open, tx.amount_cents, tx.paid_cents) == (False, 500, 500)
            assert await p.last_document() == before + 1
            assert len(_receipts(emulator)) == 1
        finally:
            await p.disconnect()
            emulator.close()

    asyncio.run(run())


@pytest.mark.parametrize("maker", _brands())
def test_cancel_and_refusals(maker: str, tmp_path: Path) -> None:
    """A receipt cancelled before payment leaves nothing open; a second open while one is open is 2005; a text
    the code page cannot carry is refused before anything is sent."""
    brand = BRANDS[maker]

    async def run() -> None:
        requests: list[tuple[int, bytes]] = []
        emulator, p = await _connected(brand, tmp_path, requests)
        try:
            await p.identify()
            await p.open_receipt(1, p.default_password(1), RECEIPT)
            with pytest.raises(FiscalError) as again:
                await p.open_receipt(1, p.default_password(1), RECEIPT)
            assert again.value.code == Code.RECEIPT_OPEN
            await _receipt_body(p)
            await p.cancel_receipt()
            assert requests[-1] == (brand.cancel_command, b"")
            assert not (await p.transaction()).open
            assert _receipts(emulator) == []
            bad = m.PrintReceiptParams.model_validate({"lines": [
                {"type": "item", "description": "Pâine ★", "quantity_thousandths": 1000, "unit_price_cents": 100,
                 "vat": "A"}]})
            with pytest.raises(FiscalError) as config:
                p.plan_receipt(bad, compute_receipt(bad, await p.vat_rates()))
            assert config.value.code == Code.CONFIG and "params.lines.0.description" in config.value.detail
        finally:
            await p.disconnect()
            emulator.close()

    asyncio.run(run())


def test_a_wrong_password_is_a_refused_login(tmp_path: Path) -> None:
    """[DY] :267 1.6 wrong password: the open is refused as a login to remember (never sent again)."""
    brand = BRANDS["Daisy"]

    async def run() -> None:
        emulator, p = await _connected(brand, tmp_path, [])
        try:
            await p.identify()
            with pytest.raises(LoginRefused) as refused:
                await p.open_receipt(1, "9999", RECEIPT)
            assert refused.value.remember and "wrong_password" in refused.value.details["device_status"]
            assert not (await p.transaction()).open
        finally:
            await p.disconnect()
            emulator.close()

    asyncio.run(run())


@given(st.integers(min_value=-10**11, max_value=10**11))
def test_amounts_read_back(cents: int) -> None:
    """A reply's amount: with a point in whole units; without one in stotinki where the brand answers so
    ([ED] :827 "12 bytes with a sign"), else whole units."""
    assert parse_amount(money(cents), False) == cents == parse_amount(money(cents), True)
    assert parse_amount(f"{'-' if cents < 0 else '+'}{abs(cents):011d}", True) == cents
    assert parse_amount(str(cents // 100), False) == cents // 100 * 100


@given(st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2068, 12, 31)), st.sampled_from("-."))
def test_register_clock_reads_back(when: dt.datetime, separator: str) -> None:
    """3Eh: DD-MM-YY HH:MM:SS; real Daisy units also answer DD.MM.YY (isl-brands.md "Known field problems")."""
    text = when.strftime(f"%d{separator}%m{separator}%y %H:%M:%S")
    assert parse_datetime(text) == when.replace(microsecond=0)
    assert parse_datetime(text[:-3]) == when.replace(second=0, microsecond=0)


@pytest.mark.parametrize(("maker", "fields", "field"), [
    ("Eltrade", {"operator_password": "1"}, "operator_password"),  # [ED] :1256 90h takes no password
    ("Incotex", {"operator_password": "0"}, "operator_password"),  # [IN] :452 30h takes none
    ("Daisy", {"operator_password": "1234567"}, "operator_password"),  # [DY] :706 up to 6 digits
    ("Daisy", {"operator": 31}, "operator"),
    ("Eltrade", {"header_lines": ["SHOP"]}, "header_lines"),
])
def test_settings_a_brand_cannot_use_are_refused_on_save(maker: str, fields: dict[str, object], field: str) -> None:
    brand = BRANDS[maker]
    config = FiscalDeviceConfig.model_validate({
        "id": "d1", "name": "Casa", "manufacturer": maker, "model": brand.default_model,
        "connection_details": {"type": "Network", "details": {"ip_address": "127.0.0.1", "port": 9100}}, **fields})
    with pytest.raises(FiscalError) as refused:
        check_config(config)
    assert refused.value.code == Code.CONFIG and refused.value.detail.startswith(f"{field}:")
    check_config(config.model_copy(update={field: FiscalDeviceConfig.model_fields[field].default}))


@pytest.mark.parametrize(("maker", "other"), [("Daisy", "Eltrade"), ("Eltrade", "Incotex"), ("Incotex", "Daisy")])
def test_another_brand_on_the_line_is_refused_naming_it(maker: str, other: str, tmp_path: Path) -> None:
    """The same framing answers, but 5Ah's serial number carries another maker's letters (DY, ED, IN + 6 digits,
    isl-brands.md "Serial prefix"): 400 naming the brand to choose, before anything is printed."""
    brand, theirs = BRANDS[maker], BRANDS[other]

    async def run() -> None:
        emulator = IslEmulator(EMULATED[theirs.name], theirs.default_model, tmp_path)
        await emulator.start()
        p = IslProtocol(brand, brand.default_model, lambda: EmulatorLine(emulator, []))
        await p.connect()
        try:
            with pytest.raises(FiscalError) as refused:
                await p.identify()
            assert refused.value.code == Code.CONFIG and f"choose {other}" in refused.value.detail
            assert refused.value.details["device_serial"].startswith(theirs.serial_prefix)
        finally:
            await p.disconnect()
            emulator.close()

    asyncio.run(run())
