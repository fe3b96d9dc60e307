"""Idempotency-Key against a Datecs register whose receipt was interrupted after something reached it (docs/http.md,
"Idempotency-Key"): paper running out at the close of a paid receipt, between two payments, the cover opened at
the payment — each with the driver's own attempt to settle it refused as well, so the receipt stays open on the
register and the POS gets an error. A retry with the same key must answer that one receipt (never print a second
one); a retry with a new key prints the new sale once, after the old receipt is settled. Counted on the emulator's
own counters, through the real manager (the app in-process; one case over the WebSocket of a server process),
over TCP."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from datecs_env import Emulator, add_datecs_register, datecs_rig
from inproc import InProcessServer
from sim_client import Sim, item, pay
from wsclient import ws_client

from server import free_port, refuse_started_records

PAY, CLOSE, TRANSACTION = 0x35, 0x38, 0x4C


@pytest.fixture()
def rig(tmp_path: Path) -> Iterator[tuple[Sim, str, Emulator]]:
    emu = Emulator(tmp_path / "emu", port=free_port()).start()
    device = add_datecs_register(tmp_path / "srv", emu)
    srv = InProcessServer(tmp_path / "srv", demo=False).start()
    s = Sim(srv)
    deadline = time.monotonic() + 30
    while s.device(device)["status"] != "Connected":
        assert time.monotonic() < deadline, "the Datecs register did not connect"
        time.sleep(0.05)
    try:
        yield s, device, emu
    finally:
        srv.stop()
        emu.stop()


def device_state(emu: Emulator) -> dict[str, Any]:
    state: dict[str, Any] = emu.simulate()["device"]
    return state


def journal(s: Sim, dev: str) -> list[tuple[str, int | None, int | None]]:
    entries = s.ok(dev, "read_journal", {})["entries"]
    return [(e["kind"], e["number"], e["total_cents"]) for e in entries if e["kind"] in ("receipt", "void")]


def interrupted(s: Sim, dev: str, emu: Emulator, receipt: dict[str, Any], key: str, fault: dict[str, Any],
                code: int) -> int:
    """Send ``receipt`` with ``fault`` armed in the emulator: it fails with ``code`` and stays open on the
    register (the driver's own finish refused too); the fault is then cleared. Returns the receipts before."""
    before = int(device_state(emu)["receipt_number"])
    emu.simulate(fault_at=fault)
    first = s.op(dev, "print_receipt", receipt, key=key)
    assert first.status_code != 200 and first.json()["status"] == code, first.text
    assert first.json()["details"]["receipt_pending"] is True
    assert device_state(emu)["receipt_open"] is True and int(device_state(emu)["receipt_number"]) == before
    early = s.op(dev, "print_receipt", receipt, key=key)  # the register is not ready yet: the failure is replayed
    assert early.json() == first.json() and early.headers["Idempotent-Replayed"] == "true", early.text
    assert device_state(emu)["receipt_open"] is True and int(device_state(emu)["receipt_number"]) == before
    emu.simulate(fault="none")  # paper loaded / cover closed
    return before


RECEIPT = {"lines": [item(price=1550)], "payments": [pay("cash", 2000)]}
TWO_PAYMENTS = {"lines": [item(price=1500)], "payments": [pay("card", 500), pay("cash", 1000)]}


@pytest.mark.parametrize(("receipt", "fault", "code", "change"), [
    (RECEIPT, {"command": CLOSE, "fault": "paper_out"}, 2001, 450),
    (TWO_PAYMENTS, {"command": PAY, "fault": "paper_out", "nth": 2}, 2001, 0),
], ids=["paper-out-at-close", "paper-out-between-payments"])
def test_a_retry_with_the_same_key_answers_the_one_receipt_it_finished(
        rig: tuple[Sim, str, Emulator], receipt: dict[str, Any], fault: dict[str, Any], code: int,
        change: int) -> None:
    s, dev, emu = rig
    key = f"k-{uuid.uuid4()}"
    before = interrupted(s, dev, emu, receipt, key, fault, code)
    retry = s.op(dev, "print_receipt", receipt, key=key)
    assert retry.status_code == 200, retry.text
    result = retry.json()["result"]
    assert result["receipt_number"] == before + 1 and result["change_cents"] == change
    assert retry.headers["Idempotent-Replayed"] == "true"
    state = device_state(emu)
    assert int(state["receipt_number"]) == before + 1 and state["receipt_open"] is False  # printed once
    again = s.op(dev, "print_receipt", receipt, key=key)
    assert again.status_code == 200 and again.json()["result"] == result
    assert int(device_state(emu)["receipt_number"]) == before + 1
    assert journal(s, dev)[-1:] == [("receipt", before + 1, receipt["lines"][0]["unit_price_cents"])]
    assert [e[0] for e in journal(s, dev)].count("receipt") == 1


def test_the_link_lost_while_settling_a_receipt_paper_left_open_still_binds_the_key(
        rig: tuple[Sim, str, Emulator]) -> None:
    """Paper out at the close, then the link drops while fiscald asks the register (76) what became of it: the
    answer is still the paper-out failure, bound (before, it freed the key with the receipt open), the device
    reconnects, and the retry once paper is back answers the one receipt."""
    s, dev, emu = rig
    key = f"k-{uuid.uuid4()}"
    before = int(device_state(emu)["receipt_number"])
    emu.simulate(fault_at={"command": CLOSE, "fault": "paper_out"},
                 wire={"drop_replies": 7, "from_command": TRANSACTION})
    first = s.op(dev, "print_receipt", RECEIPT, key=key)
    assert first.json()["status"] == 2001 and first.json()["details"]["receipt_pending"] is True, first.text
    assert device_state(emu)["receipt_open"] is True
    deadline = time.monotonic() + 30
    while s.device(dev)["status"] == "Disconnected" or emu.simulate()["wire"]["drop_replies"]:
        assert time.monotonic() < deadline, "not reconnected"
        time.sleep(0.05)
    emu.simulate(fault="none")
    retry = s.op(dev, "print_receipt", RECEIPT, key=key)
    assert retry.status_code == 200 and retry.json()["result"]["receipt_number"] == before + 1, retry.text
    assert int(device_state(emu)["receipt_number"]) == before + 1 and device_state(emu)["receipt_open"] is False


def test_cover_open_at_the_payment_cancels_the_receipt_and_the_retry_prints_it_once(
        rig: tuple[Sim, str, Emulator]) -> None:
    """No payment was made: the receipt is cancelled on the register once the cover is closed (a void, journaled
    under its number), and the same key then prints the sale — once."""
    s, dev, emu = rig
    key = f"k-{uuid.uuid4()}"
    before = interrupted(s, dev, emu, RECEIPT, key, {"command": PAY, "fault": "cover_open"}, 2002)
    retry = s.op(dev, "print_receipt", RECEIPT, key=key)
    assert retry.status_code == 200, retry.text
    result = retry.json()["result"]
    assert result["receipt_number"] == before + 2 and result["voided"] is False  # the void took before + 1
    state = device_state(emu)
    assert int(state["receipt_number"]) == before + 2 and state["receipt_open"] is False
    assert journal(s, dev) == [("void", before + 1, 1550), ("receipt", before + 2, 1550)]
    again = s.op(dev, "print_receipt", RECEIPT, key=key)
    assert again.status_code == 200 and again.json()["result"] == result
    assert int(device_state(emu)["receipt_number"]) == before + 2


def test_a_new_key_finishes_the_old_receipt_first_then_prints_the_new_sale_once(
        rig: tuple[Sim, str, Emulator]) -> None:
    s, dev, emu = rig
    old_key, new_key = f"old-{uuid.uuid4()}", f"new-{uuid.uuid4()}"
    before = interrupted(s, dev, emu, RECEIPT, old_key, {"command": CLOSE, "fault": "paper_out"}, 2001)
    sale = {"lines": [item(description="Ceai", price=700)], "payments": [pay("cash", 700)]}
    new = s.ok(dev, "print_receipt", sale, key=new_key)
    assert new["receipt_number"] == before + 2
    assert int(device_state(emu)["receipt_number"]) == before + 2
    assert journal(s, dev) == [("receipt", before + 1, 1550), ("receipt", before + 2, 700)]
    entries = [e for e in s.ok(dev, "read_journal", {})["entries"] if e["kind"] == "receipt"]
    assert [e["data"]["request"]["lines"][0]["description"] for e in entries] == ["Cafea", "Ceai"]
    old = s.op(dev, "print_receipt", RECEIPT, key=old_key)  # the old sale's retry: its receipt, not a third
    assert old.status_code == 200 and old.json()["result"]["receipt_number"] == before + 1, old.text
    assert s.ok(dev, "print_receipt", sale, key=new_key) == new
    assert int(device_state(emu)["receipt_number"]) == before + 2


def test_over_the_websocket_the_retry_with_the_same_key_answers_the_finished_receipt(tmp_path: Path) -> None:
    emu, dev, srv = datecs_rig(tmp_path)
    try:
        before = int(device_state(emu)["receipt_number"])
        emu.simulate(fault_at={"command": CLOSE, "fault": "paper_out"})
        envelope = {"device_id": dev, "operation": "print_receipt", "params": RECEIPT, "idempotency_key": "ws-1"}

        async def send() -> dict[str, Any]:
            async with ws_client(srv.url) as ws:
                return await ws.request("operation.execute", envelope, timeout=30)

        first = asyncio.run(send())
        assert first["action"] == "operation.execute.error" and first["status"] == 2001, first
        assert device_state(emu)["receipt_open"] is True
        emu.simulate(fault="none")
        retry = asyncio.run(send())
        assert retry["action"] == "operation.execute.result", retry
        assert retry["payload"]["result"]["receipt_number"] == before + 1
        assert int(device_state(emu)["receipt_number"]) == before + 1 and device_state(emu)["receipt_open"] is False
    finally:
        srv.stop()
        emu.stop()


def test_a_started_record_that_fails_alone_stops_the_receipt_before_payment(tmp_path: Path) -> None:
    """A register's receipt does not wait for its started record before opening: that record commits with the
    receipt's pending record (docs/architecture.md). When it fails on its own (here a trigger in the store refuses
    it; the writer then runs each write of the batch alone, and the pending record commits), the driver still
    stops before paying: nothing is printed, the open receipt is cancelled, and a new key prints once."""
    emu = Emulator(tmp_path / "emu", port=free_port()).start()
    device = add_datecs_register(tmp_path / "srv", emu)
    refuse_started_records(tmp_path / "srv", "refused")
    srv = InProcessServer(tmp_path / "srv", demo=False).start()
    try:
        s = Sim(srv)
        deadline = time.monotonic() + 30
        while s.device(device)["status"] != "Connected":
            assert time.monotonic() < deadline, "the Datecs register did not connect"
            time.sleep(0.05)
        first = s.op(device, "print_receipt", RECEIPT, key="refused")
        assert first.status_code == 500 and first.json()["status"] == 1000, first.text
        state = device_state(emu)
        assert state["receipt_open"] is False and state["last_payment_codes"] == []  # never paid: cancelled
        assert [kind for kind, _number, _total in journal(s, device)] == ["void"]
        printed = s.op(device, "print_receipt", RECEIPT, key="accepted")
        assert printed.status_code == 200, printed.text
        assert device_state(emu)["last_payment_codes"] != []
        assert [kind for kind, _number, _total in journal(s, device)] == ["void", "receipt"]
    finally:
        srv.stop()
        emu.stop()
