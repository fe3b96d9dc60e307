"""The Datecs driver against a register written from the manuals (tests/datecs_manual.py), in-process over the
memory transport: the frames it sends for each operation checked against the manuals' syntax, per dialect, and
the adversarial findings of issue 19 — each a case that printed twice, lost a receipt or booked money wrong
before the fix."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from datecs_manual import ManualRegister
from hypothesis import given
from hypothesis import strategies as st

from fiscald.drivers.base import DriverContext
from fiscald.drivers.datecs import commands as c
from fiscald.drivers.datecs.driver import DatecsDriver
from fiscald.drivers.datecs.models import check_config
from fiscald.errors import Code, FiscalError
from fiscald.models.config import ConnectionDetails, FiscalDeviceConfig
from fiscald.operations import models as m
from fiscald.store import Database, journal
from fiscald.store import devices as device_repo

OPEN, SALE, SUBTOTAL, PAY, CLOSE, CANCEL, TRANSACTION = 0x30, 0x31, 0x33, 0x35, 0x38, 0x3C, 0x4C


def config(model: str, **fields: Any) -> FiscalDeviceConfig:
    return FiscalDeviceConfig(id=str(uuid.uuid4()), name="Casa", manufacturer="Datecs", model=model,
                              connection_details=ConnectionDetails(type="Network", details={
                                  "ip_address": "127.0.0.1", "port": 4999}), **fields)


Body = Callable[[DatecsDriver, ManualRegister, Database], Awaitable[None]]


def run(tmp_path: Path, model: str, register: ManualRegister, body: Body, start: bool = True,
        **fields: Any) -> None:
    async def main() -> None:
        db = Database(tmp_path / f"{uuid.uuid4()}.sqlite3")
        cfg = config(model, **fields)
        db.write_sync(lambda conn: device_repo.save_device(conn, cfg))
        driver = DatecsDriver(cfg, DriverContext(db, lambda a, b: None, lambda e: None, lambda: "en"),
                              transport=register.transport)
        try:
            if start:
                await driver.start()
            await body(driver, register, db)
        finally:
            await driver.stop()
            await register.stop()
            db.close()

    asyncio.run(main())


def receipt(*payments: tuple[str, int], price: int = 1200, **extra: Any) -> m.PrintReceiptParams:
    return m.PrintReceiptParams.model_validate({
        "lines": [{"type": "item", "description": "Paine", "quantity_thousandths": 1000, "unit_price_cents": price,
                   "vat": "A"}],
        "payments": [{"type": t, "amount_cents": c} for t, c in payments] or None, **extra})


async def entries(db: Database, device_id: str) -> list[journal.JournalEntry]:
    return await db.read(lambda conn: journal.query(conn, device_id, limit=100))


def sent(register: ManualRegister, cmd: int) -> list[str]:
    return [data for c, data in register.frames if c == cmd]


# -- frames against the manuals' syntax ---------------------------------------------------------------------
def test_romanian_receipt_frames_with_the_buyer_cif_in_48(tmp_path: Path) -> None:
    """48 OpCode,OpPwd,TillNmb,Invoice,ClientTAXN [DUDE] with the default password "0000" (no Romanian source
    states one; models.py); 49 PluName,TaxCd,Price,Quantity,DiscountType,DiscountValue,Department [X p.9]; 53
    PaidMode,Amount,Type with the Romanian PaidMode 3 for meal tickets [RO]; the CIF is not printed as text."""
    reg = ManualRegister("ro-x", "DP-25MX", password="0000")

    async def body(driver: DatecsDriver, reg: ManualRegister, db: Database) -> None:
        params = receipt(("meal_voucher", 500), ("cash", 700), buyer={"cif": "RO18547290"})
        result = await driver.print_receipt(params)
        assert result["receipt_number"] == 101 and driver.serial == "DA123456"
        assert sent(reg, OPEN) == ["1\t0000\t1\t\tRO18547290\t"]
        assert sent(reg, SALE) == ["Paine\t1\t12.00\t1.000\t\t\t0\t"]
        assert sent(reg, PAY) == ["3\t5.00\t\t", "0\t7.00\t\t"]  # cash last: change comes from cash
        assert reg.printed[0].cif == "RO18547290" and reg.printed[0].texts == []
        assert driver.vat_rates == {"A": 2100, "B": 1100, "C": 0, "D": 0}

    run(tmp_path, "DP-25MX", reg, body)


def test_c_register_frames_password_unit_and_card_letter(tmp_path: Path) -> None:
    """C: 48 OpCode,OpPwd,TillNmb with password = operator number [C p.10, p.23]; 49 without a unit [C p.11];
    53 <Tab><PaidMode><Amount> with card = C [C p.13]; the receipt's number is 113's global number [C p.27]."""
    reg = ManualRegister("c", "DP-25")

    async def body(driver: DatecsDriver, reg: ManualRegister, db: Database) -> None:
        params = m.PrintReceiptParams.model_validate({
            "lines": [{"type": "item", "description": "Paine alba", "quantity_thousandths": 2000,
                       "unit_price_cents": 150, "vat": "A", "um": "buc"}],
            "payments": [{"type": "card", "amount_cents": 300}]})
        result = await driver.print_receipt(params)
        assert sent(reg, OPEN) == ["1,1,1"]
        assert sent(reg, SALE) == ["Paine alba\tA1.50*2.000"]
        assert sent(reg, PAY) == ["\tC3.00"]
        assert result["receipt_number"] == 501 == reg.document

    run(tmp_path, "DP-25", reg, body)


def test_p_printer_frames_and_a_configured_operator_and_password(tmp_path: Path) -> None:
    """P: 48 OpCode,OpPwd,TillNmb [P p.16]; the configured operator and password are sent; a receipt's own
    operator is honoured; card = D [P p.19]."""
    reg = ManualRegister("p", "FP-2000", password="4321")

    async def body(driver: DatecsDriver, reg: ManualRegister, db: Database) -> None:
        await driver.print_receipt(receipt(("card", 1200)))
        await driver.print_receipt(receipt(("cash", 1200), operator=5))
        assert sent(reg, OPEN) == ["3,4321,1", "5,4321,1"]
        assert sent(reg, PAY) == ["\tD12.00", "\tP12.00"]

    run(tmp_path, "FP-2000", reg, body, operator=3, operator_password="4321")


def test_a_refused_password_is_reported_once_and_never_sent_again(tmp_path: Path) -> None:
    """X answers −102002 for a wrong operator password [X8 p.56]; a P printer locks after three [P p.17]."""
    reg = ManualRegister("bg-x", "FP-700X", password="1234")

    async def body(driver: DatecsDriver, reg: ManualRegister, db: Database) -> None:
        for _ in range(3):
            with pytest.raises(FiscalError, match="password") as refused:
                await driver.print_receipt(receipt(("cash", 1200)))
            assert (refused.value.details or {})["device_error"] == -102002
        assert sent(reg, OPEN) == ["1\t0000\t1\t\t"]  # FP-700X: "0000" [X8 p.10]; once only

    run(tmp_path, "FP-700X", reg, body)


def test_a_model_of_another_dialect_is_named_at_connect(tmp_path: Path) -> None:
    reg = ManualRegister("bg-x", "DP-25X")

    async def body(driver: DatecsDriver, reg: ManualRegister, db: Database) -> None:
        with pytest.raises(FiscalError, match=r"configured as a DP-25MX .* reports 'DP-25X'.*DP-25X") as wrong:
            await driver.start()
        assert wrong.value.code == Code.CONFIG

    run(tmp_path, "DP-25MX", reg, body, start=False)


def test_limits_are_checked_before_anything_is_printed(tmp_path: Path) -> None:
    """C: 2 x 22 characters of description [C p.11] and 120 sales per receipt [C p.11]."""
    reg = ManualRegister("c", "DP-25")

    async def body(driver: DatecsDriver, reg: ManualRegister, db: Database) -> None:
        before = len(reg.frames)
        long = m.PrintReceiptParams.model_validate({"lines": [{
            "type": "item", "description": "x" * 45, "quantity_thousandths": 1000, "unit_price_cents": 100,
            "vat": "A"}]})
        with pytest.raises(FiscalError, match=r"lines\.0\.description: a DP-25 prints at most 44"):
            await driver.print_receipt(long)
        many = m.PrintReceiptParams.model_validate({"lines": [{
            "type": "item", "description": "x", "quantity_thousandths": 1000, "unit_price_cents": 100,
            "vat": "A"}] * 121})
        with pytest.raises(FiscalError, match="at most 120 sales"):
            await driver.print_receipt(many)
        assert len(reg.frames) == before

    run(tmp_path, "DP-25", reg, body)


def test_header_lines_on_a_real_register_are_refused_on_save() -> None:
    with pytest.raises(FiscalError, match="prints its own header"):
        check_config(config("DP-25MX", header_lines=["MAGAZIN"]))
    with pytest.raises(FiscalError, match=r"operators 1\.\.16"):
        check_config(config("FP-2000", operator=20))
    with pytest.raises(FiscalError, match="4 to 8 digits"):
        check_config(config("FP-2000", operator_password="12"))
    check_config(config("DP-25", operator_password="1"))


# -- adversarial findings (issue 19) -------------------------------------------------------------------------
def test_paper_out_flagged_on_the_close_of_a_printed_receipt_is_success(tmp_path: Path) -> None:
    """The register printed the receipt and flags paper out on 56's reply (old protocol: a status bit). It was
    answered 2001, and the POS printed it again under a new key."""
    reg = ManualRegister("c", "DP-25")
    reg.faults.paper_out_after[CLOSE] = 1

    async def body(driver: DatecsDriver, reg: ManualRegister, db: Database) -> None:
        result = await driver.print_receipt(receipt(("cash", 1200)))
        assert result["receipt_number"] == 501 and len(reg.printed) == 1
        assert [(e.kind, e.number) for e in await entries(db, driver.config.id)] == [("receipt", 501)]

    run(tmp_path, "DP-25", reg, body)


def test_an_unreadable_close_reply_still_journals_the_printed_receipt(tmp_path: Path) -> None:
    reg = ManualRegister("ro-x", "DP-150MX", password="0000")
    reg.faults.empty_reply_to.add(CLOSE)

    async def body(driver: DatecsDriver, reg: ManualRegister, db: Database) -> None:
        first = await driver.print_receipt(receipt(("cash", 1200)))
        second = await driver.print_receipt(receipt(("cash", 900), price=900))
        assert (first["receipt_number"], second["receipt_number"]) == (101, 102) and len(reg.printed) == 2
        assert [(e.kind, e.number) for e in await entries(db, driver.config.id)] == [("receipt", 101),
                                                                                    ("receipt", 102)]

    run(tmp_path, "DP-150MX", reg, body)


def test_a_reply_with_the_wrong_command_number_never_pays_twice(tmp_path: Path) -> None:
    reg = ManualRegister("bg-x", "FP-700X", password="0000")
    reg.faults.wrong_cmd_reply_to.add(PAY)

    async def body(driver: DatecsDriver, reg: ManualRegister, db: Database) -> None:
        result = await driver.print_receipt(receipt(("cash", 1200)))
        assert len(sent(reg, PAY)) == 1 and reg.printed[0].paid == 1200
        assert result["receipt_number"] == 101

    run(tmp_path, "FP-700X", reg, body)


def test_a_receipt_interrupted_after_a_payment_is_finished_with_the_rest_in_cash(tmp_path: Path) -> None:
    """Paper runs out after the first of two payments (60 is refused now [P p.22] [C p.16]); once paper is back
    the receipt is finished as the request says: the rest paid in cash (53 PaidMode 0 [RO]), journaled with the
    register's number. What a caller sees (2001 with receipt_pending, printed once once paper is back) is the
    conformance suite's paper_out_between_payments, for every dialect."""
    reg = ManualRegister("ro-x", "DP-25MX", password="0000")
    reg.faults.paper_out_after[PAY] = 1

    async def body(driver: DatecsDriver, reg: ManualRegister, db: Database) -> None:
        with pytest.raises(FiscalError):
            await driver.print_receipt(receipt(("card", 500), ("cash", 700)))
        reg.paper = True
        await driver.poll()  # the device is ready again: the receipt is finished
        assert sent(reg, PAY)[0] == "1\t5.00\t\t" and sent(reg, PAY)[-1] == "0\t7.00\t\t"  # the rest, in cash
        assert reg.receipt is None and len(reg.printed) == 1 and reg.printed[0].paid == 1200
        assert [(e.kind, e.number, e.total_cents) for e in await entries(db, driver.config.id)] == [
            ("receipt", 101, 1200)]
        assert (await driver.print_receipt(receipt(("cash", 1200))))["receipt_number"] == 102

    run(tmp_path, "DP-25MX", reg, body)


def test_a_lost_close_reply_after_a_z_is_reconciled_on_global_counters(tmp_path: Path) -> None:
    """Old protocol: 48/56 count since the last Z, 113 is global [P p.16, 20, 35]. Compared with each other
    they called a printed receipt "not printed" after the first Z, and a retry printed it again. Amounts of 76
    are in bani [P p.25]."""
    reg = ManualRegister("p", "FP-2000", password="0000")

    async def body(driver: DatecsDriver, reg: ManualRegister, db: Database) -> None:
        await driver.print_receipt(receipt(("cash", 1200)))
        await driver.z_report(m.NoParams())
        reg.faults.drop_reply_to[CLOSE] = 99  # the close prints; its reply never arrives
        result = await driver.print_receipt(receipt(("cash", 2012), price=2012))
        assert result["receipt_number"] == 502 and result["total_cents"] == 2012 and len(reg.printed) == 2
        kinds = [(e.kind, e.number) for e in await entries(db, driver.config.id)]
        assert kinds == [("receipt", 501), ("z_report", 4), ("receipt", 502)]

    run(tmp_path, "FP-2000", reg, body)


def test_romanian_z_report_totals_follow_the_romanian_layout(tmp_path: Path) -> None:
    """69 on Romanian firmware: nRep, TotA..TotF, TotEXEPTAT, TotSInv, VatSInv [DUDE]."""
    reg = ManualRegister("ro-x", "DP-25MX", password="0000")
    reg.day_totals = [1000, 250, 0, 0, 0, 0, 0, 0]

    async def body(driver: DatecsDriver, reg: ManualRegister, db: Database) -> None:
        z = await driver.z_report(m.NoParams())
        assert z["z_number"] == 4 and z["total_cents"] == 1250
        assert z["vat_totals"]["A"]["base_cents"] + z["vat_totals"]["A"]["vat_cents"] == 1000

    run(tmp_path, "DP-25MX", reg, body)


def test_a_restart_finishes_a_receipt_left_open_after_a_payment(tmp_path: Path) -> None:
    """fiscald stopped (crash, restart) while a C register's receipt was open and partly paid: the next start
    finds the pending record, and finishes the receipt as requested (76 in bani [C p.20]; 60 refused [C p.16]).
    The same for every dialect, as a caller sees it: the conformance suite's receipt_left_open_at_start."""
    reg = ManualRegister("c", "DP-25")
    reg.faults.paper_out_after[PAY] = 1

    async def body(driver: DatecsDriver, reg: ManualRegister, db: Database) -> None:
        with pytest.raises(FiscalError):
            await driver.print_receipt(receipt(("card", 500), ("cash", 1000), price=1500))
        await driver.stop()
        again = DatecsDriver(driver.config, driver.ctx, transport=reg.transport)
        await again.start()  # paper is still out: connected, the receipt left for when the register is ready
        assert again.status.status.value == "Error" and reg.receipt is not None
        reg.paper = True
        await again.poll()
        assert reg.receipt is None and [r.paid for r in reg.printed] == [1500]
        assert sent(reg, PAY) == ["\tC5.00"] + ["\tP10.00"] * 3  # refused for paper twice, then the rest
        assert [(e.kind, e.number, e.total_cents) for e in await entries(db, driver.config.id)] == [
            ("receipt", 501, 1500)]
        await again.stop()

    run(tmp_path, "DP-25", reg, body)


def test_romanian_models_are_listed_first_under_datecs() -> None:
    from fiscald.drivers.registry import SUPPORTED
    [datecs] = [entry for entry in SUPPORTED if entry.manufacturer == "Datecs"]
    assert datecs.models[:3] == ("DP-25MX", "DP-150MX", "FP-700MX")
    assert {"DP-25", "FP-2000", "FP-700X"} <= set(datecs.models)
    assert set(datecs.payment_codes["DP-25MX"]) == set("0123456789")


def test_paper_out_flagged_on_a_cash_in_the_register_did_is_success(tmp_path: Path) -> None:
    """Old protocol: the paper-out bit on 70's reply [C p.19]; the drawer (70 with amount 0) shows it was done."""
    reg = ManualRegister("c", "DP-25")
    reg.faults.paper_out_after[0x46] = 2  # the first 70 reads the drawer, the second is the cash in

    async def body(driver: DatecsDriver, reg: ManualRegister, db: Database) -> None:
        result = await driver.cash_in(m.CashParams.model_validate({"amount_cents": 5000}))
        assert result == {"cash_in_drawer_cents": 5000} and reg.cash == 5000
        assert [(e.kind, e.total_cents) for e in await entries(db, driver.config.id)] == [("cash_in", 5000)]

    run(tmp_path, "DP-25", reg, body)


@given(st.integers(min_value=-10**10, max_value=10**10))
def test_old_protocol_amounts_without_a_point_are_bani(cents: int) -> None:
    """[P p.25] 76 "9 bytes with a sign"; [EN BgIslFiscalPrinter.Commands.cs] divides by 100."""
    sign = "-" if cents < 0 else "+"
    assert c.parse_amount(f"{sign}{abs(cents):09d}", minor_units=True) == cents
    assert c.parse_amount(str(cents), minor_units=True) == cents
    assert c.parse_amount(c.money(cents), minor_units=True) == cents  # a value with a point is in lei
    assert c.parse_amount(c.money(cents), minor_units=False) == cents


@pytest.mark.parametrize(("dialect", "model", "cash_in", "cash_out", "z"), [
    ("ro-x", "DP-25MX", "0\t50.00\t", "1\t20.00\t", "Z\t"),  # 70 Type,Amount [X p.19]; 69 ReportType [X p.18]
    ("c", "DP-25", "50.00", "-20.00", "0"),  # 70 signed Amount [C p.19]; 69 Option '0' = Z [C p.18]
    ("p", "FP-2000", "50.00", "-20.00", "0"),  # [P p.23]
])
def test_cash_and_z_frames(tmp_path: Path, dialect: str, model: str, cash_in: str, cash_out: str, z: str) -> None:
    reg = ManualRegister(dialect, model, password="0000")

    async def body(driver: DatecsDriver, reg: ManualRegister, db: Database) -> None:
        assert (await driver.cash_in(m.CashParams.model_validate({"amount_cents": 5000})))[
            "cash_in_drawer_cents"] == 5000
        assert (await driver.cash_out(m.CashParams.model_validate({"amount_cents": 2000})))[
            "cash_in_drawer_cents"] == 3000
        reading = "0\t0.00\t" if driver.protocol.syntax.x else "0"
        assert sent(reg, 0x46) == [reading, cash_in, reading, cash_out]
        await driver.z_report(m.NoParams())
        assert sent(reg, 0x45) == [z]

    run(tmp_path, model, reg, body)


def test_a_romanian_register_reporting_a_short_name_connects(tmp_path: Path) -> None:
    """The Romanian 90 layout has no fiscal-memory number [DUDE]; a name like "DP-25" (the C register's) from a
    register that answers X framing is not a C register."""
    reg = ManualRegister("ro-x", "DP-25")

    async def body(driver: DatecsDriver, reg: ManualRegister, db: Database) -> None:
        assert driver.serial == "DA123456" and driver.device_name == "DP-25"

    run(tmp_path, "DP-25MX", reg, body)


def test_a_z_flagged_paper_out_that_the_register_did_is_not_run_twice(tmp_path: Path) -> None:
    """Old protocol: paper ran out while the Z printed; the fiscal memory's new record (64 [C p.17]) shows it
    was done: success with the record's number and totals, and no second Z."""
    reg = ManualRegister("c", "DP-25")
    reg.day_totals = [1210, 0, 0, 0, 0, 0, 0, 0]
    reg.faults.paper_out_after[0x45] = 1

    async def body(driver: DatecsDriver, reg: ManualRegister, db: Database) -> None:
        z = await driver.z_report(m.NoParams())
        assert z["z_number"] == 4 and z["total_cents"] == 1210 and len(sent(reg, 0x45)) == 1
        assert driver._fiscal_day == 5

    run(tmp_path, "DP-25", reg, body)
