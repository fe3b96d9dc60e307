"""Faults between fiscald and a Datecs register, injected in the emulator: lost and damaged replies, NAK, a
device busy for seconds, the link dropping, fiscald killed in the middle of a receipt, a receipt left open on
the device. Each must end truthfully (the real receipt number) and never print twice."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from datecs_env import Emulator, add_datecs_register, datecs_rig
from polling import wait_for
from sim_client import Sim, item, pay

from fiscald.drivers.isl import framing
from server import Server, add_simulated_register

CLOSE = 0x38


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sim, str, Emulator, Server]]:
    """One register for the line faults: each test counts from what the device printed before it."""
    emu, device, srv = datecs_rig(tmp_path_factory.mktemp("datecs-wire"))
    client = Sim(srv)
    yield client, device, emu, srv
    client.close()
    srv.stop()
    emu.stop()


@pytest.fixture()
def rig(tmp_path: Path) -> Iterator[tuple[Sim, str, Emulator, Server]]:
    emu, device, srv = datecs_rig(tmp_path)
    client = Sim(srv)
    yield client, device, emu, srv
    client.close()
    srv.stop()
    emu.stop()


def printed(emu: Emulator) -> int:
    """The receipts the emulated register has recorded so far."""
    return int(emu.simulate()["device"]["receipt_number"])


@pytest.mark.parametrize("dropped", [3, 7], ids=["retries-suffice", "link-declared-lost"])
def test_reply_lost_after_close_is_success_with_the_right_number_printed_once(
        shared: tuple[Sim, str, Emulator, Server], dropped: int) -> None:
    s, dev, emu, _ = shared
    before = printed(emu)
    emu.simulate(wire={"drop_replies": dropped, "from_command": CLOSE})
    receipt = {"lines": [item(price=1550)], "payments": [pay("cash", 2000)]}
    result = s.ok(dev, "print_receipt", receipt, key=f"lost-{dropped}")
    assert result["receipt_number"] == before + 1 and result["change_cents"] == 450
    assert printed(emu) == before + 1  # the resends carried the same SEQ: executed once
    assert s.ok(dev, "print_receipt", receipt, key=f"lost-{dropped}") == result
    assert printed(emu) == before + 1
    entries = s.ok(dev, "read_journal", {"from_receipt": before + 1})["entries"]
    assert [(e["kind"], e["number"]) for e in entries] == [("receipt", before + 1)]
    assert s.device(dev)["status"] == "Connected"


def test_damaged_replies_and_naks_are_resent_without_printing_twice(
        shared: tuple[Sim, str, Emulator, Server]) -> None:
    s, dev, emu, _ = shared
    before = printed(emu)
    emu.simulate(wire={"corrupt_replies": 3, "nak_frames": 2})  # 5 resends: within the 6 allowed
    first = s.receipt(dev, price=800).json()["result"]
    second = s.receipt(dev, price=900).json()["result"]
    assert (first["receipt_number"], second["receipt_number"]) == (before + 1, before + 2)
    assert printed(emu) == before + 2
    state = emu.simulate()["wire"]
    assert state["corrupt_replies"] == 0 and state["nak_frames"] == 0  # every fault was on the line


def test_a_device_busy_for_seconds_is_no_failure(shared: tuple[Sim, str, Emulator, Server]) -> None:
    s, dev, emu, _ = shared
    emu.simulate(wire={"busy_ms": 2500})  # SYN every 60 ms: five times the reply deadline
    started = time.monotonic()
    r = s.receipt(dev, price=1200)
    assert r.status_code == 200, r.text
    assert time.monotonic() - started >= 2.5
    assert s.device(dev)["status"] == "Connected"


def test_a_z_report_whose_answer_was_lost_still_opens_the_next_day(shared: tuple[Sim, str, Emulator, Server]) -> None:
    s, dev, emu, _ = shared
    day = s.receipt(dev).json()["result"]["fiscal_day"]
    emu.simulate(wire={"drop_replies": 7, "from_command": 0x45})  # the Z runs; no answer ever arrives
    assert s.op(dev, "z_report").json()["status"] == 2004  # outcome unknown to fiscald: the link was lost
    wait_for(lambda: s.device(dev)["status"] == "Connected", what="reconnected")
    assert s.receipt(dev).json()["result"]["fiscal_day"] == day + 1  # read from the register (64)


def test_link_drop_disconnects_this_device_only_and_it_comes_back(tmp_path: Path) -> None:
    emu = Emulator(tmp_path / "emu", "x").start()
    dev = add_datecs_register(tmp_path / "srv", emu)
    other = add_simulated_register(tmp_path / "srv", "Other")
    srv = Server(tmp_path / "srv", demo=False).start()
    s = Sim(srv)
    try:
        assert s.receipt(dev).status_code == 200
        port = emu.port
        emu.stop()  # the register is switched off / the cable pulled
        r = s.op(dev, "get_status")
        assert r.json()["status"] in (1004, 2004)
        wait_for(lambda: s.device(dev)["status"] == "Disconnected", what="Disconnected")
        assert s.receipt(other).status_code == 200  # the other register does not notice
        assert s.device(other)["status"] == "Connected"
        emu = Emulator(tmp_path / "emu", "x", port=port).start()  # back, same address and memory
        wait_for(lambda: s.device(dev)["status"] == "Connected", what="Connected again")
        assert s.receipt(dev).status_code == 200
        assert printed(emu) == 2
    finally:
        s.close()
        srv.stop()
        emu.stop()


def test_fiscald_killed_during_close_resolves_the_receipt_and_a_retry_never_prints_twice(
        rig: tuple[Sim, str, Emulator, Server]) -> None:
    s, dev, emu, srv = rig
    before = printed(emu)
    emu.simulate(latency_ms=1500)  # the device takes its time printing the receipt
    body = {"device_id": dev, "operation": "print_receipt",
            "params": {"lines": [item(price=4321)], "payments": [pay("card", 4321)]}}
    answers: list[Any] = []

    def post() -> None:
        try:
            answers.append(httpx.post(srv.url + "/devices/operation", json=body, headers={"Idempotency-Key": "k"},
                                      timeout=30).status_code)
        except httpx.HTTPError as exc:
            answers.append(exc)

    worker = threading.Thread(target=post)
    worker.start()
    wait_for(lambda: emu.simulate()["device"]["executing"] == CLOSE, what="the close on the device")
    srv.kill()
    worker.join(10)
    assert answers and isinstance(answers[0], httpx.HTTPError)  # the caller never got an answer
    wait_for(lambda: emu.simulate()["device"]["receipt_open"] is False, what="the device finished printing")
    emu.simulate(latency_ms=0)
    srv.start(port=srv.port)  # the same address: the client keeps its base URL
    wait_for(lambda: s.device(dev)["status"] == "Connected", what="Connected after restart")
    # the receipt the device printed is in the journal with its real number
    entries = s.ok(dev, "read_journal", {"from_receipt": before + 1})["entries"]
    assert [(e["kind"], e["number"], e["total_cents"]) for e in entries] == [("receipt", before + 1, 4321)]
    retry = httpx.post(srv.url + "/devices/operation", json=body, headers={"Idempotency-Key": "k"}, timeout=30)
    # interrupted, then settled as printed at start-up: the retry answers the printed receipt, never prints again
    assert retry.status_code == 200 and retry.json()["result"]["receipt_number"] == before + 1, retry.text
    assert printed(emu) == before + 1


def _raw_open_receipt(emu: Emulator) -> None:
    """Another program (or a crashed one) opens a receipt and sells an item, then goes away."""
    with socket.create_connection(("127.0.0.1", emu.port), timeout=5) as conn:
        decoder = framing.Decoder(framing.X, replies=True)
        for seq, cmd, data in ((0x51, 0x30, b"1\t0000\t1\t\t"), (0x52, 0x31, b"Paine\t1\t3.00\t1.000\t\t\t0\t")):
            conn.sendall(framing.request(framing.X, seq, cmd, data))
            events: list[framing.Event] = []
            while not any(isinstance(e, framing.Frame) for e in events):
                events += decoder.feed(conn.recv(4096))
            reply = next(e for e in events if isinstance(e, framing.Frame))
            assert reply.data.startswith(b"0\t"), reply


def test_a_receipt_left_open_on_the_device_is_cancelled_at_start_and_journaled(tmp_path: Path) -> None:
    emu = Emulator(tmp_path / "emu", "x").start()
    _raw_open_receipt(emu)
    assert emu.simulate()["device"]["receipt_open"] is True
    dev = add_datecs_register(tmp_path / "srv", emu)
    srv = Server(tmp_path / "srv", demo=False).start()
    s = Sim(srv)
    try:
        wait_for(lambda: s.device(dev)["status"] == "Connected")
        assert emu.simulate()["device"]["receipt_open"] is False
        entries = s.ok(dev, "read_journal")["entries"]
        assert [(e["kind"], e["total_cents"]) for e in entries] == [("void", 300)]
        assert s.receipt(dev).json()["result"]["receipt_number"] == 2  # the cancelled one took number 1
    finally:
        s.close()
        srv.stop()
        emu.stop()


def test_a_receipt_answered_2004_then_printed_answers_200_to_its_retry(
        shared: tuple[Sim, str, Emulator, Server]) -> None:
    """Adversarial finding (issue 19): the link dropped after the close, the answer was 2004, the receipt was
    journaled as printed when the register came back — and the retry with the key replayed 2004 forever (the POS
    then sold it again under a new key). Now the retry answers the printed receipt."""
    s, dev, emu, _ = shared
    before = printed(emu)
    emu.simulate(wire={"drop_replies": 16, "from_command": CLOSE})  # the close and the reconciling reads
    receipt = {"lines": [item(price=2550)], "payments": [pay("cash", 3000)]}
    first = s.op(dev, "print_receipt", receipt, key="lost-then-printed")
    assert first.json()["status"] == 2004, first.text
    wait_for(lambda: s.device(dev)["status"] == "Connected", what="reconnected")
    assert printed(emu) == before + 1
    retry = s.op(dev, "print_receipt", receipt, key="lost-then-printed")
    assert retry.status_code == 200, retry.text
    assert retry.json()["result"]["receipt_number"] == before + 1 and retry.json()["result"]["change_cents"] == 450
    assert printed(emu) == before + 1
