"""TremolDriver (the register core over TremolProtocol) against the Tremol emulator over an in-memory line, in
every dialect: receipts, every payment type, X/Z, cash, paper out, and a reply lost at every step of a receipt
settled without a second print (the emulator's books: exactly one receipt)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from tremol_line import EmulatedLine

from fiscald.drivers.base import DriverContext
from fiscald.drivers.tremol.driver import TremolDriver
from fiscald.drivers.tremol.models import MODELS
from fiscald.errors import Code, FiscalError
from fiscald.models.config import ConnectionDetails, FiscalDeviceConfig
from fiscald.operations import models as m
from fiscald.store import Database, journal
from fiscald.store import devices as device_repo

DIALECT_MODELS = ("M20", "M20-RO", "M20 V2")
Body = Callable[[TremolDriver, EmulatedLine, Database], Awaitable[None]]


def run(tmp_path: Path, model: str, body: Body, **fields: Any) -> None:
    async def main() -> None:
        db = Database(tmp_path / "fiscald.sqlite3")
        cfg = FiscalDeviceConfig(id=str(uuid.uuid4()), name="Casa", manufacturer="Tremol", model=model,
                                 connection_details=ConnectionDetails(type="Network", details={
                                     "ip_address": "127.0.0.1", "port": 8000}), **fields)
        db.write_sync(lambda conn: device_repo.save_device(conn, cfg))
        (tmp_path / "emu").mkdir()
        line = EmulatedLine(tmp_path / "emu", model)
        await line.start()
        driver = TremolDriver(cfg, DriverContext(db, lambda a, b: None, lambda e: None, lambda: "en"),
                              transport=line.transport)
        try:
            await driver.start()
            await body(driver, line, db)
        finally:
            await driver.stop()
            await line.stop()
            db.close()

    asyncio.run(main())


def receipt(price: int = 1250, payments: list[tuple[str, int]] | None = None, text: str = "Pâine țărănească",
            **extra: Any) -> m.PrintReceiptParams:
    """A one-sale receipt (a Romanian name: Bulgarian models get ``text="Хляб"``)."""
    return m.PrintReceiptParams.model_validate({
        "lines": [{"type": "item", "description": text, "quantity_thousandths": 1000, "unit_price_cents": price,
                   "vat": "B"}],
        "payments": [{"type": t, "amount_cents": c} for t, c in payments] if payments else None, **extra})


async def entries(db: Database, device_id: str) -> list[journal.JournalEntry]:
    return await db.read(lambda conn: journal.query(conn, device_id, limit=100))


@pytest.mark.parametrize("model", DIALECT_MODELS)
def test_every_payment_type_x_z_and_cash(model: str, tmp_path: Path) -> None:
    dialect = MODELS[model].dialect
    text = "Pâine țărănească" if dialect.codepage == "cp1250" else "Хляб"

    async def body(driver: TremolDriver, line: EmulatedLine, db: Database) -> None:
        for kind, code in dialect.payments.items():
            result = await driver.print_receipt(receipt(payments=[(kind, 1250)], text=text))
            assert line.emulator.rules.book.last.codes == [code]
            assert result["receipt_number"] == line.emulator.register.state.receipt_number
        cash = await driver.cash_in(m.CashParams(amount_cents=5000))
        assert cash["cash_in_drawer_cents"] == 5000 + 1250
        with pytest.raises(FiscalError) as caught:
            await driver.cash_out(m.CashParams(amount_cents=1_000_000))
        assert caught.value.code == Code.CASH_OUT_EXCEEDS_DRAWER
        x = await driver.x_report(m.NoParams())
        assert x["total_cents"] == 1250 * len(dialect.payments)
        z = await driver.z_report(m.NoParams())
        assert z["z_number"] == 1 == line.emulator.register.state.z_number
        kinds = [e.kind for e in await entries(db, driver.config.id)]
        assert kinds.count("receipt") == len(dialect.payments) and "z_report" in kinds

    run(tmp_path, model, body)


def test_paper_out_is_2001(tmp_path: Path) -> None:
    async def body(driver: TremolDriver, line: EmulatedLine, db: Database) -> None:
        await line.emulator.control({"fault": "paper_out"})
        with pytest.raises(FiscalError) as caught:
            await driver.print_receipt(receipt())
        assert caught.value.code == Code.PAPER_OUT
        await line.emulator.control({"fault": "none"})
        assert (await driver.print_receipt(receipt()))["receipt_number"] == 1
        assert line.emulator.register.state.receipt_number == 1

    run(tmp_path, "M20-RO", body)


STEPS = {"open": 0x30, "sale": 0x31, "subtotal": 0x33, "payment": 0x35, "close": 0x38}


@pytest.mark.parametrize("model", DIALECT_MODELS)
@pytest.mark.parametrize("lost", STEPS)
def test_a_lost_reply_at_any_step_never_prints_twice(model: str, lost: str, tmp_path: Path) -> None:
    name = "Pâine" if MODELS[model].dialect.codepage == "cp1250" else "Хляб"

    async def body(driver: TremolDriver, line: EmulatedLine, db: Database) -> None:
        driver.protocol.link.reply_timeout_s = 0.3  # type: ignore[union-attr]
        await line.emulator.control({"wire": {"drop_replies": 1, "from_command": STEPS[lost]}})
        try:
            result = await driver.print_receipt(receipt(payments=[("cash", 2000)], text=name))
        except FiscalError:
            result = None
        state = line.emulator.register.state
        journaled = [e for e in await entries(db, driver.config.id) if e.kind in ("receipt", "void")]
        printed = [e for e in journaled if e.kind == "receipt"]
        # every number the register used is journaled once (a sale left open is cancelled: a void), and the
        # receipt was printed at most once
        assert [e.number for e in journaled] == list(range(1, state.receipt_number + 1)) and len(printed) <= 1
        assert line.emulator.rules.open is None  # nothing left open on the register
        if result is not None:
            assert result["receipt_number"] == state.receipt_number == 1 and len(printed) == 1
        if lost in ("payment", "close"):  # paid: finished as the request says, never cancelled
            assert len(printed) == 1
        again = await driver.print_receipt(receipt(payments=[("cash", 2000)], text=name))
        assert again["receipt_number"] == line.emulator.register.state.receipt_number == len(journaled) + 1

    run(tmp_path, model, body)
