"""The register conformance suite: the same operation scenarios for every (brand, dialect, model) driven by the
register core (``drivers/register/core.py``), in-process — the brand's emulator served over an in-memory line, the
brand's driver on it, a store in a temporary directory. What is checked is what a caller sees (results, error
codes, the journal, the status) and what the register did (the receipts its own journal printed), never a
brand's wire: those checks stay in each brand's own tests.

Scenarios: a receipt in every payment type the model has (from the driver's ``payment_codes``), mixed payments
with change, discounts and surcharges (on a line and on the subtotal: the register's total must equal ours, else
the driver cancels), a voided receipt, X and Z reports, the receipts' numbers in their day, cash in and out (and a
cash out larger than the drawer), status, paper out (2001) and cover open (2002) refusing a receipt and
clearing, paper running out between two payments (the receipt finished once paper is back, printed once), the
reply lost — and the line cut — after every step of a receipt (open, sale, subtotal, payment, close: reconciled,
printed exactly once; cancelled and a void journaled when no payment was made), the link dropping while idle, and
a receipt left open on the register at start (someone else's: cancelled as a void; ours: finished),
cancel_receipt, and an operation while not connected (1004). Refunds (storno lines) run where ``has_refunds``.

How a brand plugs in — one small file, ``tests/test_conformance_<brand>.py``::

    CASE = BrandCase(
        name="Daisy",                        # the manufacturer, as configured
        models=("CompactM", "CompactS"),     # one model per dialect
        make_emulator=lambda model, data_dir: IslEmulator(...),   # an emulator object (see ``Emulator``)
        make_driver=lambda config, ctx, transport: DaisyDriver(config, ctx, transport=transport),
        reply_command=isl_reply_command,     # bytes the device wrote -> the command they answer (None: not a reply)
        commands=ReceiptCommands(open=0x30, sale=0x31, subtotal=0x33, payment=0x35, close=0x38),
        has_refunds=True,
    )

    @pytest.mark.parametrize("model", CASE.models)
    @pytest.mark.parametrize("scenario", scenarios_for(CASE), ids=scenario_id)
    def test_conformance(tmp_path: Path, model: str, scenario: Scenario) -> None:
        run(CASE, model, scenario, tmp_path)

The emulator must serve one connection at a time (``serve(read, write)``, writing each reply frame in one
``write``), take POST /simulate's body in ``control`` (``{"fault": "paper_out" | "cover_open" | "none"}``, and
``{"fault_at": {"command": c, "nth": n, "fault": "paper_out"}}`` where ``fault_at`` is set) and keep its journal in
``db`` under ``device_id`` (``emulators/wire.register_in``), as the Datecs, ISL and Tremol emulators do. Budget: the
whole suite of a brand under 10 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest

from fiscald.drivers.base import DriverContext
from fiscald.drivers.register.core import RegisterDriver
from fiscald.drivers.transport import MemoryTransport, Transport, memory_pair
from fiscald.emulators.link import Read, Write
from fiscald.errors import Code, ConnectionLost, FiscalError
from fiscald.models.config import ConnectionDetails, FiscalDeviceConfig
from fiscald.models.status import DeviceStatus
from fiscald.operations import models as m
from fiscald.operations.totals import compute_receipt
from fiscald.store import Database, journal
from fiscald.store import devices as device_repo


class Emulator(Protocol):
    db: Database
    device_id: str

    async def start(self) -> None: ...
    def close(self) -> None: ...
    async def serve(self, read: Read, write: Write) -> None: ...
    async def control(self, body: Any) -> dict[str, Any]: ...


@dataclass(frozen=True)
class ReceiptCommands:
    """The brand's command for each step of a fiscal receipt (whose reply the line loses in one scenario)."""
    open: int
    sale: int
    subtotal: int
    payment: int
    close: int


@dataclass(frozen=True)
class BrandCase:
    name: str
    models: tuple[str, ...]
    make_emulator: Callable[[str, Path], Emulator]
    make_driver: Callable[[FiscalDeviceConfig, DriverContext, Callable[[], Transport]], RegisterDriver]
    reply_command: Callable[[str, bytes], int | None]  # (model, bytes the device wrote) -> the command answered
    commands: ReceiptCommands
    has_refunds: bool = False  # the brand's registers take storno lines (else ``refunds`` is not one of its scenarios)


class Line:
    """The register's cable, in memory: every connect makes a new pair whose device end the emulator serves.
    ``lose_reply_to(command)``: the device executes the next request carrying ``command``, its reply is lost and
    the line goes down with it (the driver sees the link drop; what the register did is unknown to it)."""

    def __init__(self, emulator: Emulator, reply_command: Callable[[bytes], int | None]) -> None:
        self.emulator = emulator
        self.reply_command = reply_command
        self.connections = 0
        self._lose: int | None = None
        self._stay_down = False
        self.down = False  # the register cannot be reached (fiscald cannot reconnect) until this is cleared
        self._device: MemoryTransport | None = None
        self._tasks: list[asyncio.Task[None]] = []

    def connect(self) -> Transport:
        if self.down:
            raise ConnectionLost("the line is down")
        host, device = memory_pair()
        device.closed = False  # opened now: the host writes as soon as it has opened its end
        self._device = device
        self.connections += 1
        self._tasks.append(asyncio.get_running_loop().create_task(self._serve(device)))
        return host

    def lose_reply_to(self, command: int, stay_down: bool = False) -> None:
        """``stay_down``: the line stays down after the loss (as if fiscald died with it) until ``down`` is cleared."""
        self._lose, self._stay_down = command, stay_down

    @property
    def armed(self) -> bool:
        """A reply is still to be lost."""
        return self._lose is not None

    async def hang_up(self) -> None:
        if self._device is not None:
            await self._device.close()

    async def close(self) -> None:
        await self.hang_up()
        for task in self._tasks:
            await task

    async def _serve(self, device: MemoryTransport) -> None:
        async def read() -> bytes:
            try:
                return await device.read(3600)
            except ConnectionLost:
                return b""

        async def write(data: bytes) -> None:
            if self._lose is not None and self.reply_command(data) == self._lose:
                self._lose, self.down = None, self._stay_down
                await device.close()  # the reply goes down with the line
                return
            with contextlib.suppress(ConnectionLost):
                await device.write(data)

        await self.emulator.serve(read, write)


@dataclass
class Rig:
    case: BrandCase
    model: str
    emulator: Emulator
    line: Line
    db: Database
    config: FiscalDeviceConfig
    driver: RegisterDriver

    async def restart(self) -> None:
        """fiscald restarted (or the manager reconnected): a new driver on the register."""
        await self.driver.stop()
        self.driver = new_driver(self.case, self.db, self.config, self.line)
        await self.driver.start()

    async def control(self, **body: Any) -> dict[str, Any]:
        return await self.emulator.control(body)

    async def printed(self) -> int:
        """Fiscal receipts the register printed (its own journal; voids and other documents not counted)."""
        emu = self.emulator
        entries = await emu.db.read(lambda conn: journal.query(conn, emu.device_id, kinds=("receipt",),
                                                               limit=100_000))
        return len(entries)

    async def journal(self) -> list[tuple[str, int | None, int | None]]:
        """fiscald's journal of this device: (kind, the register's number, total)."""
        device_id = self.config.id
        entries = await self.db.read(lambda conn: journal.query(conn, device_id, limit=100_000))
        return [(e.kind, e.number, e.total_cents) for e in entries]

    async def pending(self) -> Any:
        key = self.driver.state_key()
        state = await self.db.read(lambda conn: device_repo.load_state(conn, key))
        return (state or {}).get("pending")


Scenario = Callable[[Rig], Awaitable[None]]


def new_driver(case: BrandCase, db: Database, config: FiscalDeviceConfig, line: Line) -> RegisterDriver:
    return case.make_driver(config, DriverContext(db, lambda a, b: None, lambda e: None, lambda: "en"), line.connect)


def scenario_id(scenario: Scenario) -> str:
    return scenario.__name__


def run(case: BrandCase, model: str, scenario: Scenario, tmp_path: Path) -> None:
    async def main() -> None:
        emulator = case.make_emulator(model, tmp_path / "register")
        await emulator.start()
        line = Line(emulator, lambda data: case.reply_command(model, data))
        db = Database(tmp_path / "fiscald.sqlite3")
        config = FiscalDeviceConfig(id=str(uuid.uuid4()), name="Casa", manufacturer=case.name, model=model,
                                    connection_details=ConnectionDetails(type="Network", details={
                                        "ip_address": "127.0.0.1", "port": 4999}))
        db.write_sync(lambda conn: device_repo.save_device(conn, config))
        rig = Rig(case, model, emulator, line, db, config, new_driver(case, db, config, line))
        try:
            await rig.driver.start()
            assert rig.driver.status.status == DeviceStatus.CONNECTED
            await scenario(rig)
            assert await rig.pending() is None  # nothing left for later: every receipt's outcome is journaled
        finally:
            await rig.driver.stop()
            await line.close()
            emulator.close()
            db.close()

    asyncio.run(main())


# -- requests ----------------------------------------------------------------------------------------------------
def item(price: int = 1200, qty: int = 1000, vat: str = "A", **extra: Any) -> dict[str, Any]:
    return {"type": "item", "description": "Paine", "quantity_thousandths": qty, "unit_price_cents": price,
            "vat": vat, **extra}


def receipt(*lines: dict[str, Any], payments: tuple[tuple[str, int], ...] = (), **extra: Any) -> m.PrintReceiptParams:
    return m.PrintReceiptParams.model_validate({
        "lines": list(lines) or [item()],
        "payments": [{"type": t, "amount_cents": c} for t, c in payments] or None, **extra})


async def refused(call: Awaitable[object]) -> FiscalError:
    with pytest.raises(FiscalError) as err:
        await call
    return err.value


# -- scenarios ---------------------------------------------------------------------------------------------------
async def every_payment_type(rig: Rig) -> None:
    """A receipt paid in each payment type the model has a code for; cash gives change."""
    types = sorted(rig.driver.protocol.payment_codes)
    assert "cash" in types
    numbers = []
    for kind in types:
        paid = 2000 if kind == "cash" else 1200
        result = await rig.driver.print_receipt(receipt(payments=((kind, paid),)))
        assert (result["total_cents"], result["paid_cents"], result["change_cents"]) == (1200, paid, paid - 1200)
        assert result["voided"] is False and result["device_serial"] == rig.driver.serial
        numbers.append(result["receipt_number"])
    assert await rig.printed() == len(types)
    assert [(k, n) for k, n, _ in await rig.journal()] == [("receipt", n) for n in numbers]
    assert len(set(numbers)) == len(numbers) and numbers == sorted(numbers)


async def mixed_payments_with_change(rig: Rig) -> None:
    params = receipt(item(price=700), item(price=500, vat="B"), payments=(("cash", 1000), ("card", 500)))
    result = await rig.driver.print_receipt(params)
    assert (result["total_cents"], result["paid_cents"], result["change_cents"]) == (1200, 1500, 300)
    assert result["vat_totals"] == compute_receipt(params, rig.driver.vat_rates).vat_totals_json()
    [entry] = await rig.journal()
    assert entry == ("receipt", result["receipt_number"], 1200) and await rig.printed() == 1


async def discounts(rig: Rig) -> None:
    """Line and subtotal discounts and surcharges, by percent and by amount: printed (the driver cancels a
    receipt whose register total differs from ours), with our total."""
    cases = [
        receipt(item(price=1000, discount={"kind": "percent", "basis_points": 1000})),
        receipt(item(price=1000, discount={"kind": "amount", "amount_cents": 150})),
        receipt(item(price=1000, discount={"kind": "percent", "basis_points": 500, "is_surcharge": True})),
        receipt(item(price=1000), item(price=500, vat="B"),
                receipt_discount={"kind": "percent", "basis_points": 1000}),
        receipt(item(price=1000), receipt_discount={"kind": "amount", "amount_cents": 99}),
    ]
    for params in cases:
        expected = compute_receipt(params, rig.driver.vat_rates).total_cents
        result = await rig.driver.print_receipt(params)
        assert result["total_cents"] == expected and result["voided"] is False
    assert [k for k, _, _ in await rig.journal()] == ["receipt"] * len(cases)
    assert await rig.printed() == len(cases)


async def refunds(rig: Rig) -> None:
    params = receipt(item(price=1000, qty=2000), item(price=1000, qty=-1000))
    result = await rig.driver.print_receipt(params)
    assert result["total_cents"] == 1000 and await rig.printed() == 1


async def voided_receipt(rig: Rig) -> None:
    result = await rig.driver.print_receipt(receipt(close_action="void"))
    assert result["voided"] is True and result["paid_cents"] == 0
    assert [(k, t) for k, _, t in await rig.journal()] == [("void", 1200)] and await rig.printed() == 0
    assert (await rig.driver.get_status(m.NoParams()))["receipt_open"] is False


async def reports(rig: Rig) -> None:
    sale = await rig.driver.print_receipt(receipt(payments=(("cash", 1200),)))
    day = sale["fiscal_day"]
    x = await rig.driver.x_report(m.NoParams())
    assert (x["total_cents"], x["receipts_count"], x["payments"]) == (1200, 1, {"cash": 1200})
    assert "z_number" not in x and x["vat_totals"]["A"]["base_cents"] + x["vat_totals"]["A"]["vat_cents"] == 1200
    z = await rig.driver.z_report(m.NoParams())
    assert (z["total_cents"], z["receipts_count"], z["fiscal_day"], z["z_number"]) == (1200, 1, day, day)
    after = await rig.driver.print_receipt(receipt())
    assert after["fiscal_day"] == day + 1 and after["day_receipt_number"] == 1
    again = await rig.driver.z_report(m.NoParams())
    assert again["z_number"] == z["z_number"] + 1 and again["receipts_count"] == 1
    kinds = [(k, n) for k, n, _ in await rig.journal()]
    assert kinds == [("receipt", sale["receipt_number"]), ("x_report", None), ("z_report", z["z_number"]),
                     ("receipt", after["receipt_number"]), ("z_report", again["z_number"])]


async def day_numbers(rig: Rig) -> None:
    """A receipt's number in its fiscal day counts the day's receipts and voids since the Z: counted on from the
    last receipt while nothing came after it, counted again after another document or a restart (nothing
    remembered), and from 1 after a Z."""
    numbers = [(await rig.driver.print_receipt(receipt()))["day_receipt_number"] for _ in range(2)]
    numbers.append((await rig.driver.print_receipt(receipt(close_action="void")))["day_receipt_number"])
    await rig.driver.cash_in(m.CashParams(amount_cents=500))  # a document that is not counted
    numbers.append((await rig.driver.print_receipt(receipt()))["day_receipt_number"])
    await rig.restart()
    numbers.append((await rig.driver.print_receipt(receipt()))["day_receipt_number"])
    assert numbers == [1, 2, 3, 4, 5]
    await rig.driver.z_report(m.NoParams())
    assert (await rig.driver.print_receipt(receipt()))["day_receipt_number"] == 1


async def cash(rig: Rig) -> None:
    start = (await rig.driver.get_status(m.NoParams()))["cash_in_drawer_cents"]
    assert (await rig.driver.cash_in(m.CashParams(amount_cents=5000)))["cash_in_drawer_cents"] == start + 5000
    assert (await rig.driver.cash_out(m.CashParams(amount_cents=2000)))["cash_in_drawer_cents"] == start + 3000
    err = await refused(rig.driver.cash_out(m.CashParams(amount_cents=start + 3001)))
    assert err.code == Code.CASH_OUT_EXCEEDS_DRAWER
    await rig.driver.print_receipt(receipt(payments=(("cash", 1200),)))
    assert (await rig.driver.get_status(m.NoParams()))["cash_in_drawer_cents"] == start + 4200
    assert [(k, t) for k, _, t in await rig.journal()] == [("cash_in", 5000), ("cash_out", 2000),
                                                           ("receipt", 1200)]
    z = await rig.driver.z_report(m.NoParams())
    assert (z["cash_in_cents"], z["cash_out_cents"]) == (5000, 2000)


async def status(rig: Rig) -> None:
    first = await rig.driver.get_status(m.NoParams())
    assert (first["status"], first["paper"], first["cover_open"], first["receipt_open"]) == (
        "Connected", "ok", False, False)
    assert first["serial"] == rig.driver.serial != "" and rig.driver.connected_device_id == rig.driver.serial
    assert first["fiscal_day_open"] is False and first["fiscal_day"] >= 1
    result = await rig.driver.print_receipt(receipt())
    after = await rig.driver.get_status(m.NoParams())
    assert after["last_receipt_number"] == result["receipt_number"] and after["fiscal_day_open"] is True
    assert set(rig.driver.vat_rates) >= {"A", "B"}
    assert await rig.driver.get_vat_rates(m.NoParams()) == rig.driver.vat_rates
    assert (await rig.driver.get_datetime(m.NoParams()))["datetime"]


async def _standing(rig: Rig, fault: str, code: Code) -> None:
    await rig.control(fault=fault)
    err = await refused(rig.driver.print_receipt(receipt()))
    assert err.code == code and await rig.printed() == 0 and await rig.journal() == []
    state = await rig.driver.get_status(m.NoParams())
    assert state["status"] == "Error" and rig.driver.status.error is not None
    assert rig.driver.status.error.code == code
    if code == Code.PAPER_OUT:
        assert state["paper"] == "out"
    else:
        assert state["cover_open"] is True
    await rig.control(fault="none")
    await rig.driver.poll()
    assert rig.driver.status.status == DeviceStatus.CONNECTED
    result = await rig.driver.print_receipt(receipt())
    assert [(k, n) for k, n, _ in await rig.journal()] == [("receipt", result["receipt_number"])]
    assert await rig.printed() == 1


async def paper_out(rig: Rig) -> None:
    await _standing(rig, "paper_out", Code.PAPER_OUT)


async def cover_open(rig: Rig) -> None:
    await _standing(rig, "cover_open", Code.COVER_OPEN)


async def _paper_out_between_payments(rig: Rig) -> m.PrintReceiptParams:
    await rig.control(fault_at={"command": rig.case.commands.payment, "nth": 2, "fault": "paper_out"})
    params = receipt(payments=(("card", 500), ("cash", 700)))
    err = await refused(rig.driver.print_receipt(params))
    assert err.code == Code.PAPER_OUT and (err.details or {}).get("receipt_pending") is True
    assert await rig.printed() == 0 and await rig.pending() is not None
    tx = await rig.driver.protocol.transaction()  # still open on the register, the first payment made
    assert (tx.open, tx.paid_cents, tx.amount_cents) == (True, 500, 1200)
    return params


async def paper_out_between_payments(rig: Rig) -> None:
    """Paper runs out after the first of two payments: the register refuses to cancel now, so the receipt stays
    open; once paper is back (the keep-alive poll) it is finished as the request says, journaled once."""
    await _paper_out_between_payments(rig)
    await rig.control(fault="none")
    await rig.driver.poll()
    assert await rig.printed() == 1 and [(k, t) for k, _, t in await rig.journal()] == [("receipt", 1200)]
    nxt = await rig.driver.print_receipt(receipt())
    assert await rig.printed() == 2 and nxt["receipt_number"] is not None


async def lost_reply_at_every_step(rig: Rig) -> None:
    """The reply to each step of a receipt is lost with the line. A receipt with a payment made is finished and
    answered as printed; one without is cancelled (a void journaled once it has a sale) and the call answers
    2004 — a new request prints it once. Never printed twice."""
    steps = rig.case.commands
    await rig.driver.print_receipt(receipt())
    # after a Z: some registers count receipts since the last Z, which must never be taken for their numbers
    await rig.driver.z_report(m.NoParams())
    for step, command in (("open", steps.open), ("sale", steps.sale), ("subtotal", steps.subtotal),
                          ("payment", steps.payment), ("close", steps.close)):
        printed, entries = await rig.printed(), len(await rig.journal())
        rig.line.lose_reply_to(command)
        params = receipt(payments=(("cash", 1200),))
        if step in ("payment", "close"):
            result = await rig.driver.print_receipt(params)
            assert await rig.printed() == printed + 1, step
            assert (await rig.journal())[entries:] == [("receipt", result["receipt_number"], 1200)], step
        else:
            err = await refused(rig.driver.print_receipt(params))
            assert isinstance(err, ConnectionLost) and err.code == Code.DEVICE_DISCONNECTED, step
            assert await rig.printed() == printed and await rig.pending() is None, step
            voids = [k for k, _, _ in (await rig.journal())[entries:]]
            assert voids == ([] if step == "open" else ["void"]), step
            await rig.restart()  # what the manager does after 2004
            result = await rig.driver.print_receipt(params)
            assert await rig.printed() == printed + 1, step
        assert not rig.line.armed, f"{step}: the reply was never lost"
    status = await rig.driver.get_status(m.NoParams())
    assert status["receipt_open"] is False and status["status"] == "Connected"


async def lost_close_then_restart(rig: Rig) -> None:
    """The close reply is lost and the register stays unreachable, as if fiscald died at that moment: the next
    driver, knowing only the stored pending receipt (nothing the last one kept in memory), finds the receipt
    printed on the register and journals it once, with the register's number."""
    first = await rig.driver.print_receipt(receipt())
    rig.line.lose_reply_to(rig.case.commands.close, stay_down=True)
    err = await refused(rig.driver.print_receipt(receipt(payments=(("cash", 1200),))))
    assert isinstance(err, ConnectionLost) and err.code == Code.DEVICE_DISCONNECTED
    assert await rig.printed() == 2 and await rig.pending() is not None
    rig.line.down = False
    await rig.restart()
    entries = await rig.journal()
    assert [kind for kind, _, _ in entries] == ["receipt", "receipt"]
    assert entries[1][2] == 1200 and entries[1][1] not in (None, first["receipt_number"])
    assert await rig.pending() is None and await rig.printed() == 2


async def link_drop(rig: Rig) -> None:
    await rig.driver.print_receipt(receipt())
    await rig.line.hang_up()
    with pytest.raises(ConnectionLost):
        await rig.driver.poll()
    await rig.restart()
    await rig.driver.print_receipt(receipt())
    assert await rig.printed() == 2 and rig.line.connections == 2


async def receipt_left_open_at_start(rig: Rig) -> None:
    """A receipt someone else left open (a sale on it, no payment) is cancelled at start and journaled as a void
    with the register's total. One of ours, interrupted after a payment while fiscald stopped, is found by its
    pending record at the next start: with paper still out the driver connects (Error) and leaves it open; once
    the register is ready (the keep-alive poll) it is finished as the request says, journaled once."""
    protocol = rig.driver.protocol
    params = receipt(item(price=800))
    await protocol.open_receipt(1, rig.config.operator_password or protocol.default_password(1), params)
    for step in protocol.plan_receipt(params, compute_receipt(params, rig.driver.vat_rates)):
        await protocol.send(step)
    await rig.restart()
    assert [(k, t) for k, _, t in await rig.journal()] == [("void", 800)] and await rig.printed() == 0
    assert (await rig.driver.get_status(m.NoParams()))["receipt_open"] is False
    await _paper_out_between_payments(rig)
    await rig.restart()  # paper is still out
    assert rig.driver.status.status == DeviceStatus.ERROR and (await rig.driver.protocol.transaction()).open
    await rig.control(fault="none")
    await rig.driver.poll()
    assert await rig.printed() == 1 and not (await rig.driver.protocol.transaction()).open
    assert [(k, t) for k, _, t in await rig.journal()] == [("void", 800), ("receipt", 1200)]


async def cancel_receipt(rig: Rig) -> None:
    """cancel_receipt: nothing open -> not cancelled; an open receipt without a sale leaves no document (nothing
    journaled); one with a sale is a void with the register's number and the register's total."""
    assert await rig.driver.cancel_receipt(m.NoParams()) == {"cancelled": False}
    protocol = rig.driver.protocol
    password = rig.config.operator_password or protocol.default_password(1)
    params = receipt(item(price=300, qty=2000))
    await protocol.open_receipt(1, password, params)
    assert await rig.driver.cancel_receipt(m.NoParams()) == {"cancelled": True}
    assert await rig.journal() == []
    await protocol.open_receipt(1, password, params)
    for step in protocol.plan_receipt(params, compute_receipt(params, rig.driver.vat_rates)):
        await protocol.send(step)
    assert await rig.driver.cancel_receipt(m.NoParams()) == {"cancelled": True}
    [(kind, number, total)] = await rig.journal()
    assert (kind, total) == ("void", 600) and number is not None and await rig.printed() == 0
    after = await rig.driver.print_receipt(receipt())
    assert after["receipt_number"] == number + 1


async def not_connected(rig: Rig) -> None:
    """An operation while the register is not connected: 1004 before anything is computed or sent (2004, the
    link lost during an operation, is its cause)."""
    await rig.driver.stop()
    connections = rig.line.connections
    with pytest.raises(FiscalError) as err:
        await rig.driver.perform("print_receipt", lambda: rig.driver.print_receipt(receipt()))
    assert err.value.code == Code.CONNECTION and isinstance(err.value.__cause__, ConnectionLost)
    assert rig.line.connections == connections and await rig.printed() == 0 and await rig.journal() == []


SCENARIOS: tuple[Scenario, ...] = (
    every_payment_type, mixed_payments_with_change, discounts, refunds, voided_receipt, reports, day_numbers, cash,
    status, paper_out, cover_open, paper_out_between_payments, lost_reply_at_every_step, lost_close_then_restart,
    link_drop, receipt_left_open_at_start, cancel_receipt, not_connected,
)


def scenarios_for(case: BrandCase, leaving_out: tuple[Scenario, ...] = ()) -> tuple[Scenario, ...]:
    """The scenarios that apply to ``case`` (refunds only where its registers take storno lines), without
    ``leaving_out`` (what a brand's register cannot show, e.g. cover open where its manual has no such bit): none is
    collected only to be skipped."""
    return tuple(s for s in SCENARIOS if s not in leaving_out and (case.has_refunds or s is not refunds))
