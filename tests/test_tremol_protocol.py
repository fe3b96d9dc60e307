"""TremolProtocol against the Tremol emulator over an in-memory transport, in every dialect.

The requests are checked against the protocol description's syntax, not only "the emulator took it": the table
test below lists, per operation, the exact frames (command, data) the description's syntax gives, with its page
([D] = ErpNet.FP ErpNet.FP.Core/Drivers/BgTremol/Docs/protocol_description_BG_1910211454, pages as printed).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tremol_line import EmulatedLine

from fiscald.drivers.register.pending import Payment
from fiscald.drivers.register.protocol import LoginRefused
from fiscald.drivers.tremol.models import MODELS, check_config
from fiscald.drivers.tremol.protocol import AMOUNT, TremolProtocol, money, parse_money, parse_rate
from fiscald.errors import Code, ConnectionLost, FiscalError
from fiscald.models.config import FiscalDeviceConfig
from fiscald.operations import models as m
from fiscald.operations.totals import compute_receipt

DIALECT_MODELS = ("M20", "M20-RO", "M20 V2")


def run(model: str, tmp_path: Path, body: Callable[[TremolProtocol, EmulatedLine], Awaitable[None]],
        **options: Any) -> None:
    async def main() -> None:
        line = EmulatedLine(tmp_path, model)
        await line.start()
        protocol = TremolProtocol(model, line.transport, **options)
        await protocol.connect()
        try:
            await body(protocol, line)
        finally:
            await protocol.disconnect()
            await line.stop()

    asyncio.run(main())


def receipt(*lines: dict[str, Any], payments: list[dict[str, Any]] | None = None,
            **extra: Any) -> m.PrintReceiptParams:
    return m.PrintReceiptParams.model_validate({"lines": list(lines), "payments": payments, **extra})


def item(description: str, cents: int, vat: str = "A", qty: int = 1000, **extra: Any) -> dict[str, Any]:
    return {"type": "item", "description": description, "quantity_thousandths": qty, "unit_price_cents": cents,
            "vat": vat, **extra}


async def print_receipt(p: TremolProtocol, params: m.PrintReceiptParams, rates: dict[str, int]) -> int | None:
    """The receipt as the register core drives it: open, body, subtotal, payments, close."""
    totals = compute_receipt(params, rates)
    steps = p.plan_receipt(params, totals)
    number = await p.open_receipt(1, p.default_password(1), params)
    for step in steps:
        await p.send(step)
    assert await p.subtotal(params.receipt_discount) == totals.total_cents
    for payment in sorted(totals.payments, key=lambda x: x.type == "cash"):
        await p.pay(Payment(payment.type, p.payment_codes[payment.type], payment.amount_cents))
    await p.close_receipt()
    return number


def name36(text: str, codepage: str = "cp1251") -> bytes:
    return text.encode(codepage).ljust(36, b" ")


# -- every operation's request, as the description writes it ------------------------------------------------------
def test_requests_follow_the_description_syntax(tmp_path: Path) -> None:
    async def body(p: TremolProtocol, line: EmulatedLine) -> None:
        rates = await p.vat_rates()
        assert line.take() == [(0x62, b"")]  # [D p.25] Read VAT rates
        await p.identify()
        assert line.take() == [(0x21, b""), (0x60, b"")]  # [D p.12] version, [D p.25] FD numbers (1Dh is no frame)
        await p.refresh()
        assert line.take() == [(0x20, b"")]  # [D p.10]
        params = receipt(item("Хляб", 250, "B", 2000), item("Мляко", 199, "A", department=3),
                         {"type": "text", "text": "Благодарим"},
                         item("Сирене", 1000, "B", discount={"kind": "percent", "basis_points": 1000}),
                         payments=[{"type": "card", "amount_cents": 500}, {"type": "cash", "amount_cents": 10000}],
                         receipt_discount={"kind": "percent", "basis_points": 500})
        totals = compute_receipt(params, rates)
        steps = p.plan_receipt(params, totals)
        number = await p.open_receipt(1, "0000", params)
        # [D p.39] OperNum;OperPass;ReceiptFormat(1 detailed);PrintVAT(1);FiscalRcpPrintType(2 postponed);
        # [D p.72] 72h: the current receipt's number
        assert line.take() == [(0x30, b"1;0000;1;1;2"), (0x72, b"")]
        for step in steps:
            await p.send(step)
        assert line.take() == [
            (0x31, name36("Хляб") + ";Б;2.50*2.000".encode("cp1251")),  # [D p.47] Name[36];VATClass;Price*Qty
            (0x34, name36("Мляко") + b";\x83;1.99*1.000!" + "А".encode("cp1251")),  # [D p.51] DepNum = 80h + 3
            (0x37, "Благодарим".encode("cp1251")),  # [D p.54] Text[TextLength-2]
            (0x31, name36("Сирене") + ";Б;10.00*1.000,-10.00".encode("cp1251")),  # [D p.47] ,DiscAddP (minus)
        ]
        total = await p.subtotal(params.receipt_discount)
        assert line.take() == [(0x33, b"1;0,-5.00")]  # [D p.50] OptionPrinting;OptionDisplay,DiscAddP
        assert total == totals.total_cents
        await p.pay(Payment("card", "7", 500))
        await p.pay(Payment("cash", "0", totals.total_cents - 500 + 100))
        # [D p.53] PaymentType;OptionChange;Amount: card without change (1), cash with change (0)
        assert line.take() == [(0x35, b"7;1;5.00"), (0x35, f"0;0;{(totals.total_cents + 100 - 500) / 100:.2f}"
                                                    .encode())]
        await p.close_receipt()
        assert line.take() == [(0x38, b"")]  # [D p.54]
        tx = await p.transaction()
        # [D p.10] status, [D p.72] current receipt, [D p.73] P payments, [D p.72] 71h counter, [D p.74] B QR data
        assert line.take() == [(0x20, b""), (0x72, b""), (0x72, b"P"), (0x71, b""), (0x72, b"B")]
        assert not tx.open and tx.number == number and tx.amount_cents == totals.total_cents
        assert tx.paid_cents == totals.total_cents + 100
        await p.open_receipt(1, "0000", params)
        line.take()
        await p.cancel_receipt()
        assert line.take() == [(0x72, b""), (0x39, b"")]  # [D p.55], once 72h shows no payment started
        await p.cash(1, 1000)
        await p.cash(-1, 250)
        # [D p.55] OperNum;OperPass;0;Amount (minus: paid out); [D p.60] 6Eh '0' on hand
        assert line.take() == [(0x3B, b"1;0000;0;10.00"), (0x6E, b"0"), (0x3B, b"1;0000;0;-2.50"), (0x6E, b"0")]
        await p.print_non_fiscal(["Comanda 12"])
        # [D p.38] OperNum;OperPass;0;NonFiscalPrintType(1 postponed), [D p.54] 37h, [D p.38] 2Fh
        assert line.take() == [(0x2E, b"1;0000;0;1"), (0x37, b"Comanda 12"), (0x2F, b"")]
        await p.open_drawer()
        await p.duplicate()
        assert line.take() == [(0x2A, b""), (0x3A, b"")]  # [D p.13], [D p.55]
        await p.set_datetime(dt.datetime(2030, 1, 2, 3, 4, 5))  # later than now: a clock moved back is refused
        await p.get_datetime()
        assert line.take() == [(0x48, b"02-01-30 03:04:05"), (0x68, b"")]  # [D p.18] DD-MM-YY HH:MM:SS, [D p.30]
        await p.report(False)
        await p.report(True)
        # [D p.59] 6Dh day by VAT, [D p.80] 7Ch X / Z, [D p.76] 73h last Z
        assert line.take() == [(0x6D, b""), (0x7C, b"X"), (0x73, b""), (0x6D, b""), (0x7C, b"Z"), (0x73, b"")]
        await p.periodic_report(m.PeriodicReportParams.model_validate({"from_z": 1, "to_z": 1}), 1)
        await p.periodic_report(m.PeriodicReportParams.model_validate(
            {"from": "2026-12-01", "to": "2026-12-05", "detailed": True}), 1)
        # [D p.79] 79h brief by Z StartZNum[4];EndZNum[4]; [D p.79] 7Ah detailed by date DDMMYY;DDMMYY
        assert line.take() == [(0x79, b"0001;0001"), (0x7A, b"011226;051226")]

    run("M20", tmp_path, body)


# -- dialects -------------------------------------------------------------------------------------------------
def test_romanian_diacritics_arrive_as_cp1250(tmp_path: Path) -> None:
    async def body(p: TremolProtocol, line: EmulatedLine) -> None:
        identity = await p.identify()
        assert identity.name == "TREMOL M20" and identity.serial.startswith("ZK")
        rates = await p.vat_rates()
        assert set(rates) == set("ABCDEF")  # [RO] A..F, F "Alte taxe"
        line.take()
        params = receipt(item("Pâine țărănească", 450, "B"), {"type": "text", "text": "Mulțumim, Știința"},
                         payments=[{"type": "cash", "amount_cents": 450}])
        await print_receipt(p, params, rates)
        frames = line.take()
        sale = next(data for cmd, data in frames if cmd == 0x31)
        # comma-below ț/Ș become the cedilla forms cp1250 has: ţ FEh, Ş AAh; â E2h, ă E3h
        assert sale == "Pâine ţărănească".encode("cp1250").ljust(36, b" ") + b";B;4.50*1.000"
        assert b"\xfe" in sale and b"\xe2" in sale
        text = next(data for cmd, data in frames if cmd == 0x37)
        assert text == b"Mul\xfeumim, \xaatiin\xfea"
        assert line.emulator.rules.book.last.amount == 450

    run("M20-RO", tmp_path, body)


@pytest.mark.parametrize("model", DIALECT_MODELS)
def test_every_payment_type_of_the_dialect(model: str, tmp_path: Path) -> None:
    codes = MODELS[model].dialect.codes

    async def body(p: TremolProtocol, line: EmulatedLine) -> None:
        await p.identify()
        rates = await p.vat_rates()
        letter = next(iter(rates))
        for code in codes:
            params = receipt(item("Paine", 100, letter), payments=[{"type": "cash", "amount_cents": 100}])
            totals = compute_receipt(params, rates)
            for step in [None]:
                del step
                number = await p.open_receipt(1, "0000", params)
                for s in p.plan_receipt(params, totals):
                    await p.send(s)
                await p.subtotal(None)
                await p.pay(Payment("other", code, 100))
                await p.close_receipt()
            assert line.emulator.rules.book.last.codes == [code]
            assert line.emulator.rules.book.last.number == number
        assert line.emulator.register.state.receipt_number == len(codes)

    run(model, tmp_path, body)


@pytest.mark.parametrize(("configured", "device", "says"), [
    ("M20", "M20-RO", "'RO'"), ("M20-RO", "M20", "'BG'"), ("M20", "M20 V2", "TREMOL M20 V2"),
    ("M20 V2", "M20", "TREMOL M20"),
])
def test_another_dialect_is_refused_naming_both(configured: str, device: str, says: str, tmp_path: Path) -> None:
    async def main() -> None:
        line = EmulatedLine(tmp_path, device)
        await line.start()
        p = TremolProtocol(configured, line.transport)
        await p.connect()
        try:
            with pytest.raises(FiscalError) as caught:
                await p.identify()
            assert caught.value.code == Code.CONFIG
            assert configured in str(caught.value.detail) and says in str(caught.value.detail)
        finally:
            await p.disconnect()
            await line.stop()

    asyncio.run(main())


# -- reports, cash, refusals ------------------------------------------------------------------------------------
@pytest.mark.parametrize("model", DIALECT_MODELS)
def test_reports_and_cash(model: str, tmp_path: Path) -> None:
    async def body(p: TremolProtocol, line: EmulatedLine) -> None:
        await p.identify()
        rates = await p.vat_rates()
        assert await p.cash_in_drawer() == 0
        assert await p.cash(1, 5000) == 5000
        assert await p.cash(-1, 1500) == 3500
        with pytest.raises(FiscalError) as caught:
            await p.cash(-1, 100_000)
        assert caught.value.code == Code.CASH_OUT_EXCEEDS_DRAWER and caught.value.details["device_error"] == "08"
        letter = sorted(rates)[1]
        await print_receipt(p, receipt(item("Paine", 1234, letter),
                                       payments=[{"type": "cash", "amount_cents": 2000}]), rates)
        assert await p.cash_in_drawer() == 3500 + 1234
        x = await p.report(False)
        assert x.number == 1 and x.gross == {letter: 1234}
        z = await p.report(True)
        assert z.number == 1 == line.emulator.register.state.z_number and z.gross == {letter: 1234}
        assert (await p.last_z()).number == 1
        assert (await p.report(False)).gross == {}

    run(model, tmp_path, body)


def test_paper_out_is_2001_and_reads_still_work(tmp_path: Path) -> None:
    async def body(p: TremolProtocol, line: EmulatedLine) -> None:
        rates = await p.vat_rates()
        params = receipt(item("Paine", 100, "B"), payments=[{"type": "cash", "amount_cents": 100}])
        await line.emulator.control({"fault": "paper_out"})
        line.take()
        with pytest.raises(FiscalError) as caught:
            await p.open_receipt(1, "0000", params)
        # [D p.8] the ping answers 42h (not busy): the frame goes out, the register refuses it with STE1 31 [D p.7]
        assert caught.value.code == Code.PAPER_OUT and caught.value.details["device_error"] == "12"
        assert line.take() == [(0x30, b"1;0000;1;1;2")]
        assert p.condition().paper == "out" and p.condition().standing == Code.PAPER_OUT
        assert "FD out of paper" in p.condition().flags
        assert not (await p.transaction()).open  # reads are answered without paper
        assert "Printer not ready - no paper" in p.condition().flags  # [D p.10] ST1 bit 0
        await line.emulator.control({"fault": "none"})
        number = await p.open_receipt(1, "0000", params)
        await line.emulator.control({"fault": "paper_out"})
        with pytest.raises(FiscalError) as caught:
            await p.send(p.plan_receipt(params, compute_receipt(params, rates))[0])
        assert caught.value.code == Code.PAPER_OUT
        await line.emulator.control({"fault": "none"})
        tx = await p.transaction()
        assert tx.open and tx.number == number and tx.items == 0 and p.condition().paper == "ok"

    run("M20", tmp_path, body)


def test_refusals_carry_the_status_bytes(tmp_path: Path) -> None:
    async def body(p: TremolProtocol, line: EmulatedLine) -> None:
        params = receipt(item("Paine", 100, "B"))
        await p.open_receipt(1, "0000", params)
        with pytest.raises(FiscalError) as caught:
            await p.open_receipt(1, "0000", params)
        assert caught.value.code == Code.RECEIPT_OPEN and caught.value.details["device_error"] == "42"
        assert caught.value.details["device_command"] == "0x30"
        await p.cancel_receipt()
        with pytest.raises(LoginRefused) as refused:
            await p.open_receipt(2, "9999", params)
        assert refused.value.remember and refused.value.details["device_error"] == "92"
        with pytest.raises(FiscalError) as caught:
            p.plan_receipt(receipt(item("x" * 35, 100)), compute_receipt(receipt(item("x" * 35, 100)), {"A": 0}))
        assert caught.value.code == Code.CONFIG and "34" in str(caught.value.detail)
        with pytest.raises(FiscalError) as caught:
            params = receipt(item("a", 100, "A"), item("b", 100, "B"),
                             receipt_discount={"kind": "amount", "amount_cents": 50})
            p.plan_receipt(params, compute_receipt(params, {"A": 0, "B": 2000}))
        assert caught.value.code == Code.CONFIG and "one VAT group" in str(caught.value.detail)

    run("M20", tmp_path, body)


def test_a_payment_started_is_never_cancelled(tmp_path: Path) -> None:
    async def body(p: TremolProtocol, line: EmulatedLine) -> None:
        rates = await p.vat_rates()
        params = receipt(item("Paine", 1000, "B"))
        await p.open_receipt(1, "0000", params)
        for step in p.plan_receipt(params, compute_receipt(params, rates)):
            await p.send(step)
        await p.pay(Payment("card", "7", 400))
        line.take()
        with pytest.raises(FiscalError) as caught:
            await p.cancel_receipt()
        assert caught.value.code == Code.RECEIPT_OPEN
        assert [cmd for cmd, _ in line.take()] == [0x72]  # [D p.55]: 39h would finish it in cash: not sent
        tx = await p.transaction()
        assert tx.open and tx.paid_cents == 400 and tx.amount_cents == 1000 and tx.items == 1

    run("M20", tmp_path, body)


# -- a lost reply at each step: the register says what it did ---------------------------------------------------
STEPS = ("open", "sale", "subtotal", "payment", "close")


@pytest.mark.parametrize("model", DIALECT_MODELS)
@pytest.mark.parametrize("lost", STEPS)
def test_a_lost_reply_leaves_a_state_the_register_reports(model: str, lost: str, tmp_path: Path) -> None:
    """The reply (acknowledgement or data) to one step is lost: the step raises ConnectionLost, nothing is sent
    again, and after reconnecting 72h/71h show exactly what the register did — which the core reconciles with.
    The emulator's books: never a second receipt."""

    async def body(p: TremolProtocol, line: EmulatedLine) -> None:
        rates = await p.vat_rates()
        params = receipt(item("Paine", 700, sorted(rates)[0]), payments=[{"type": "cash", "amount_cents": 700}])
        steps = p.plan_receipt(params, compute_receipt(params, rates))
        p.link.reply_timeout_s = 0.3  # type: ignore[union-attr]
        before = line.emulator.register.state.receipt_number

        async def step(name: str, action: Callable[[], Awaitable[object]]) -> bool:
            if name != lost:
                await action()
                return False
            await line.emulator.control({"wire": {"drop_replies": 1}})
            line.take()
            with pytest.raises(ConnectionLost):
                await action()
            assert len(line.take()) == 1  # sent once, never again
            await p.disconnect()
            await p.connect()
            p.link.reply_timeout_s = 0.3  # type: ignore[union-attr]
            return True

        if await step("open", lambda: p.open_receipt(1, "0000", params)):
            tx = await p.transaction()
            assert tx.open and tx.items == 0 and tx.number == before + 1
        elif await step("sale", lambda: p.send(steps[0])):
            tx = await p.transaction()
            assert tx.open and tx.items == 1 and tx.amount_cents == 700
        elif await step("subtotal", lambda: p.subtotal(None)):
            assert (await p.transaction()).paid_cents == 0
        elif await step("payment", lambda: p.pay(Payment("cash", "0", 700))):
            tx = await p.transaction()
            assert tx.open and tx.paid_cents == 700
        elif await step("close", p.close_receipt):
            tx = await p.transaction()
            assert not tx.open and tx.number == before + 1 and tx.amount_cents == 700 and tx.paid_cents == 700
            assert tx.items == 1
        assert line.emulator.register.state.receipt_number - before == (1 if lost == "close" else 0)
        assert (line.emulator.rules.open is not None) == (lost != "close")

    run(model, tmp_path, body)


def test_widths_come_from_1dh_m(tmp_path: Path) -> None:
    async def body(p: TremolProtocol, line: EmulatedLine) -> None:
        await p.identify()
        assert (p.columns, p.text_width, p.item_name, p.item_printed) == (32, 30, 36, 34)  # [D p.93]
        with pytest.raises(FiscalError) as caught:
            await p.print_non_fiscal(["Ok", "Ω"])
        assert caught.value.code == Code.CONFIG and "params.lines.1.text" in str(caught.value.detail)
        assert await p.print_non_fiscal(["x" * 45]) == 0
        assert [len(data) for cmd, data in line.take() if cmd == 0x37] == [30, 15]

    run("S21-RO", tmp_path, body)


# -- the line: NACK, damaged replies, RETRY, the LAN password, a second host, power lost ------------------------
def test_the_line_resends_after_nack_and_never_after_a_damaged_reply(tmp_path: Path) -> None:
    async def body(p: TremolProtocol, line: EmulatedLine) -> None:
        assert p.link is not None
        await line.emulator.control({"wire": {"nak_frames": 2}})
        line.take()
        await p.open_drawer()  # [D p.8]: NACK, the frame was not taken: sent again
        assert line.take() == [(0x2A, b"")] * 3 and p.link.stats.resends == 2
        await line.emulator.control({"wire": {"corrupt_replies": 1}})
        with pytest.raises(ConnectionLost):
            await p.open_drawer()  # it ran: a damaged reply leaves it unknown, so it is not sent again
        assert line.take() == [(0x2A, b"")]
        await line.emulator.control({"wire": {"busy_ms": 400}})
        await p.report(False)  # RETRY while it runs [D p.8]
        assert p.link.stats.retries >= 3

    run("M20", tmp_path, body)


@pytest.mark.parametrize(("given", "code"), [("1234", None), ("9999", Code.CONFIG), (None, Code.CONFIG)])
def test_the_lan_password(given: str | None, code: Code | None, tmp_path: Path) -> None:
    async def main() -> None:
        line = EmulatedLine(tmp_path, "M20", password="1234")
        await line.start()
        p = TremolProtocol("M20", line.transport, lan_password=given)
        await p.connect()
        try:
            if code is None:
                assert (await p.refresh()).paper == "ok"  # [D p.6]: the password and LF, then commands
            else:
                with pytest.raises(FiscalError) as caught:
                    await p.refresh()
                assert caught.value.code == code  # [D p.8]: 50h waiting for it, 70h wrong
                assert caught.value.details["device_ping"] == ("0x70" if given else "0x50")
        finally:
            await p.disconnect()
            await line.stop()

    asyncio.run(main())


def test_a_second_host_is_told_busy(tmp_path: Path) -> None:
    async def body(p: TremolProtocol, line: EmulatedLine) -> None:
        await p.refresh()
        other = TremolProtocol("M20", line.transport)
        await other.connect()
        try:
            with pytest.raises(FiscalError) as caught:
                await other.refresh()  # [D p.8] 60h, after connecting again three times
            assert caught.value.code == Code.DEVICE_BUSY and caught.value.details["device_ping"] == "0x60"
        finally:
            await other.disconnect()
        await p.refresh()

    run("M20", tmp_path, body)


def test_power_lost_in_a_receipt_is_reported_once_beside_a_command_that_ran(tmp_path: Path) -> None:
    async def body(p: TremolProtocol, line: EmulatedLine) -> None:
        rates = await p.vat_rates()
        params = receipt(item("Paine", 100, "B"))
        await p.open_receipt(1, "0000", params)
        await line.emulator.control({"power_loss": True})
        await p.send(p.plan_receipt(params, compute_receipt(params, rates))[0])  # STE 3D 30: it ran [D p.7]
        assert "power down in a fiscal receipt" in p.condition().flags
        assert (await p.transaction()).items == 1
        assert "power down in a fiscal receipt" not in p.condition().flags

    run("M20", tmp_path, body)


@given(st.integers(min_value=-99_999_999, max_value=99_999_999))
def test_amounts_round_trip(cents: int) -> None:
    """[D p.9]: a floating point number, up to 10 symbols, preceded by +, - or a space."""
    assert parse_money(money(cents)) == cents
    assert parse_money(" " + money(abs(cents))) == abs(cents) and parse_money("+" + money(abs(cents))) == abs(cents)
    assert parse_rate(f"{money(abs(cents) % 10_000)}%") == abs(cents) % 10_000


@given(st.text(max_size=12))
def test_unreadable_amounts_are_refused(text: str) -> None:
    try:
        value = parse_money(text)
    except ValueError:
        return
    assert AMOUNT.fullmatch(text) and value == int(Decimal(text.replace(" ", "")) * 100)


@pytest.mark.parametrize(("fields", "says"), [
    ({"model": "M20-RO", "operator": 10}, "operators 1..9"), ({"operator_password": "1234567"}, "at most 6"),
    ({"header_lines": ["SC Test SRL"]}, "header_lines"), ({"model": "M30"}, "M20-RO"),
])
def test_settings_a_register_could_not_use_are_refused(fields: dict[str, Any], says: str) -> None:
    config = FiscalDeviceConfig.model_validate({
        "id": "t", "name": "Tremol", "manufacturer": "Tremol", "model": "M20",
        "connection_details": {"type": "Network", "details": {"ip_address": "127.0.0.1", "port": 8000}}, **fields})
    with pytest.raises(FiscalError) as caught:
        check_config(config)
    assert caught.value.code == Code.CONFIG and says in str(caught.value.detail)
    check_config(config.model_copy(update={"operator": 1, "operator_password": "123456", "header_lines": [],
                                           "model": "M20"}))


@pytest.mark.parametrize(("configured", "device", "refused"), [("M20", "M20", False), ("M20 V2", "M20", True)])
def test_a_register_without_the_gs_protocol_is_identified_by_21h(configured: str, device: str, refused: bool,
                                                                 tmp_path: Path) -> None:
    async def main() -> None:
        line = EmulatedLine(tmp_path, device, gs=False)
        await line.start()
        p = TremolProtocol(configured, line.transport)
        await p.connect()
        try:
            if refused:
                with pytest.raises(FiscalError) as caught:
                    await p.identify()
                assert caught.value.code == Code.CONFIG and "TREMOL M20" in str(caught.value.detail)
            else:
                assert (await p.identify()).name == "TREMOL M20"
                assert (p.columns, p.text_width) == (32, 30)  # the model's table stands
        finally:
            await p.disconnect()
            await line.stop()

    asyncio.run(main())
