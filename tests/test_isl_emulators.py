"""The Daisy, Eltrade and Incotex emulators: the conformance corpus (isl_corpus.py: ErpNet.FP's request strings,
the manuals' replies) replayed over the real framing in process (a memory link), a receipt's state machine with
each brand's refusals, a lost reply answered by the repeated-SEQ rule (nothing booked twice: the journal is
read), and one real process per brand over TCP with /simulate."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from emulated import FISCAL_OPEN, NOT_PERMITTED, PAPER_OUT, check, framed
from isl_corpus import SCENARIOS

from fiscald.drivers.isl import framing
from fiscald.emulators.isl import BRANDS, IslEmulator
from fiscald.store import journal

# one receipt per brand, as ErpNet.FP's drivers send it: open, sale, payment in cash
RECEIPT = {
    "daisy": [(0x30, "1,1,DY000001-0001-{n:07d}"), (0x31, "Paine\tА2.00"), (0x35, "\tP2.00")],
    "eltrade": [(0x90, "Operator,ED000001-0001-{n:07d}"), (0x31, "Paine\tА2.00"), (0x35, "\tP2.00")],
    "incotex": [(0x30, "1,IN000001-0001-{n:07d},0"), (0x31, "Paine\tА2.00"), (0x35, "\tP2.00")],
}


def _bit(frame: framing.Frame, bit: tuple[int, int]) -> bool:
    return bool((frame.status or b"\0" * 6)[bit[0]] & (1 << bit[1]))


@pytest.mark.parametrize("brand", sorted(SCENARIOS))
def test_corpus(brand: str, tmp_path: Path) -> None:
    model, cases = SCENARIOS[brand]

    async def run() -> None:
        emulator = IslEmulator(BRANDS[brand], model, tmp_path)
        async with framed(emulator, framing.OLD) as host:
            for case in cases:
                if case.control:
                    await emulator.control(case.control)
                reply = await host.ask(case.cmd, case.request)
                assert reply.cmd == case.cmd
                check(case, reply, "cp1251")

    asyncio.run(run())


@pytest.mark.parametrize("brand", sorted(BRANDS))
def test_a_receipt_refuses_the_wrong_sequence(brand: str, tmp_path: Path) -> None:
    """The manuals' receipt rules with each brand's bits: no sale or payment without an open receipt, no second
    open, no close before the total is paid, no text with a control character, nothing printed without paper
    (and the receipt left usable)."""
    open_, sale, pay = RECEIPT[brand]

    async def run() -> None:
        emulator = IslEmulator(BRANDS[brand], BRANDS[brand].default_model, tmp_path)
        async with framed(emulator, framing.OLD) as host:
            for cmd, text in (sale, pay, (0x38, "")):  # nothing open
                refused = await host.ask(cmd, text)
                assert _bit(refused, NOT_PERMITTED) and not _bit(refused, FISCAL_OPEN), (cmd, refused)
            assert _bit(await host.ask(open_[0], open_[1].format(n=1)), FISCAL_OPEN)
            assert _bit(await host.ask(open_[0], open_[1].format(n=2)), NOT_PERMITTED)
            assert (await host.ask(*sale)).data == b""
            assert _bit(await host.ask(0x36, "Text\tmore"), (0, 0))  # a control character: refused, nothing kept
            assert _bit(await host.ask(0x38, ""), NOT_PERMITTED)  # not paid
            await emulator.control({"fault": "paper_out"})
            no_paper = await host.ask(*pay)
            assert no_paper.data == b"F" and _bit(no_paper, PAPER_OUT)
            await emulator.control({"fault": "none"})
            transaction = (await host.ask(0x4C, "T")).data.split(b",")
            assert transaction[:2] == [b"1", b"1"]  # still open, one sale, nothing paid
            assert (await host.ask(*pay)).data.startswith(b"D")
            closed = await host.ask(0x38, "")
            assert not _bit(closed, FISCAL_OPEN) and not _bit(closed, NOT_PERMITTED)

    asyncio.run(run())


@pytest.mark.parametrize("step", range(4))
@pytest.mark.parametrize("brand", sorted(BRANDS))
def test_a_lost_reply_is_resent_not_executed(brand: str, step: int, tmp_path: Path) -> None:
    """[DY] p.5 / [ED] p.7 / [IN] p.3: the reply to one step of a receipt (open, sale, payment, close) is lost; the
    host sends the frame again with the same SEQ: the register answers its last reply again and executes nothing,
    so the journal holds one receipt, with one sale and one payment."""
    steps = [*RECEIPT[brand], (0x38, "")]

    async def run() -> None:
        emulator = IslEmulator(BRANDS[brand], BRANDS[brand].default_model, tmp_path)
        async with framed(emulator, framing.OLD) as host:
            for i, (cmd, text) in enumerate(steps):
                request = text.format(n=1)
                if i != step:
                    assert not _bit(await host.ask(cmd, request), NOT_PERMITTED)
                    continue
                await emulator.control({"wire": {"drop_replies": 1}})
                await host.send(cmd, request)
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(host.reply(), 0.1)  # the reply is lost on the line
                again = await host.ask(cmd, request, seq=host.seq)
                assert not _bit(again, NOT_PERMITTED)
            entries = await emulator.db.read(lambda c: journal.query(c, emulator.device_id, kinds=("receipt",)))
            assert len(entries) == 1
            assert (await host.ask(0x4C, "T")).data.split(b",")[:2] == [b"0", b"1"]  # closed, one sale
            assert emulator.rules.drawer()[0] == 200  # paid once
            assert (await emulator.control({}))["device"]["frames"] == 5  # 4 steps and 4Ch, nothing twice

    asyncio.run(run())


@pytest.mark.parametrize("brand", sorted(BRANDS))
def test_a_receipt_left_open_survives_a_power_cycle(brand: str, tmp_path: Path) -> None:
    """[DY] p.22 / [ED] p.17 / [IN] p.19: 4Ch lets a host finish a receipt a power cut interrupted; the emulator
    keeps it in its data dir, so after a restart it is reported open and can be paid and closed once."""
    open_, sale, pay = RECEIPT[brand]

    async def session(*steps: tuple[int, str]) -> list[framing.Frame]:
        emulator = IslEmulator(BRANDS[brand], BRANDS[brand].default_model, tmp_path)
        async with framed(emulator, framing.OLD) as host:
            return [await host.ask(cmd, text.format(n=1)) for cmd, text in steps]

    asyncio.run(session(open_, sale))
    state, paid, closed, after = asyncio.run(session((0x4C, "T"), pay, (0x38, ""), (0x4C, "T")))
    assert state.data.split(b",")[:2] == [b"1", b"1"] and _bit(state, FISCAL_OPEN)
    assert paid.data.startswith(b"D") and not _bit(closed, FISCAL_OPEN)
    assert after.data.split(b",")[:2] == [b"0", b"1"]


@pytest.mark.parametrize("brand", sorted(BRANDS))
def test_any_request_gets_a_reply_frame(brand: str, tmp_path: Path) -> None:
    """Whatever a host sends to a command the brand has, it answers one frame (a refusal at worst)."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    loop = asyncio.new_event_loop()
    emulator = IslEmulator(BRANDS[brand], BRANDS[brand].default_model, tmp_path)
    loop.run_until_complete(emulator.start())
    alphabet = st.sampled_from([*"0123456789.,;$@*#+-\t\nABCDPLNZTIАБЗ ", "1,1,", "DY000001-0001-0000001"])

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(cmd=st.sampled_from(sorted(emulator.commands)), text=st.lists(alphabet, max_size=10).map("".join))
    def check(cmd: int, text: str) -> None:
        reply = loop.run_until_complete(emulator.execute(0x21, cmd, text.encode("cp1251")))
        frames = [e for e in framing.Decoder(framing.OLD, replies=True).feed(reply) if isinstance(e, framing.Frame)]
        assert len(frames) == 1 and frames[0].cmd == cmd and len(frames[0].status or b"") == 6

    try:
        check()
    finally:
        emulator.close()
        loop.close()


@pytest.mark.parametrize("brand", sorted(BRANDS))
def test_a_refusal_changes_nothing(brand: str, tmp_path: Path) -> None:
    """A refused request never spoils the open receipt: whatever is refused, the receipt (4Ch), the counters
    and the drawer read the same before and after."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    loop = asyncio.new_event_loop()
    emulator = IslEmulator(BRANDS[brand], BRANDS[brand].default_model, tmp_path)
    loop.run_until_complete(emulator.start())
    ask = lambda cmd, text: loop.run_until_complete(emulator.execute(0x21, cmd, text.encode("cp1251")))  # noqa: E731
    for cmd, text in RECEIPT[brand][:2]:
        ask(cmd, text.format(n=1))
    assert emulator.rules.open is not None
    alphabet = st.sampled_from([*"0123456789.,;$@*-\tPCLNZI", "1,1,", "А", "9.99", "DY000001-0001-0000002"])

    def snapshot() -> tuple[object, ...]:
        state = emulator.register.state
        return (emulator.rules.transaction(), state.receipt_number, state.document_number,
                state.cash_in_drawer_cents, state.z_number)

    @settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(cmd=st.sampled_from(sorted(emulator.commands)), text=st.lists(alphabet, max_size=8).map("".join))
    def check(cmd: int, text: str) -> None:
        before = snapshot()
        reply = ask(cmd, text)
        frame = next(e for e in framing.Decoder(framing.OLD, replies=True).feed(reply) if isinstance(e, framing.Frame))
        status = frame.status or b""
        if status[0] & 0x03 or status[1] & 0x02:  # syntax, invalid command, not permitted
            assert snapshot() == before, (hex(cmd), text, frame.data)

    try:
        check()
    finally:
        emulator.close()
        loop.close()


def test_every_brand_is_one_table() -> None:
    """Each brand names its models, a serial prefix of two letters, Cyrillic VAT groups and a known function for
    every command; payments map to our types."""
    from typing import get_args

    from fiscald.emulators.isl.brand import Function
    from fiscald.operations.models import PaymentType

    for brand in BRANDS.values():
        assert re.fullmatch(r"[A-Z]{2}", brand.serial_prefix) and brand.default_model in brand.models
        assert set(brand.commands.values()) <= set(get_args(Function))
        assert set(brand.payments.values()) <= set(get_args(PaymentType)) and brand.payments["P"] == "cash"
        assert brand.tax_letters.encode("cp1251") == bytes(range(0xC0, 0xC8))
        assert set(brand.layouts) == {"open", "close", "cancel", "transaction", "transaction_t", "report", "diagnostic",
                                      "tax_number", "cash", "last_document", "datetime", "last_fiscal"}
    assert BRANDS["daisy"].payments["C"] == "card" == BRANDS["incotex"].payments["C"]  # C/N: payment 2 vs 1
    assert BRANDS["eltrade"].payments["L"] == "card"
    assert 0x90 in BRANDS["eltrade"].commands and 0x30 not in BRANDS["eltrade"].commands


def _exchange(conn: socket.socket, seq: int, cmd: int, text: str) -> framing.Frame:
    conn.sendall(framing.request(framing.OLD, seq, cmd, text.encode("cp1251")))
    decoder = framing.Decoder(framing.OLD, replies=True)
    while True:
        for event in decoder.feed(conn.recv(4096)):
            if isinstance(event, framing.Frame):
                return event


@pytest.mark.parametrize("brand", sorted(BRANDS))
def test_fiscald_emulate_brand_over_tcp(brand: str, tmp_path: Path) -> None:
    """`fiscald emulate <brand>` on a free port with its own data dir: the listening and control lines, a
    receipt over TCP, paper out set through POST /simulate."""
    spec = BRANDS[brand]
    proc = subprocess.Popen(
        [sys.executable, "-m", "fiscald", "emulate", brand, "--model", spec.default_model, "--listen", "127.0.0.1:0",
         "--data-dir", str(tmp_path), "--control", "127.0.0.1:0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, encoding="utf-8",
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert proc.stdout is not None
    try:
        lines = [proc.stdout.readline(), proc.stdout.readline()]
        control = lines[0].removeprefix("control on ").strip()
        listen = lines[1].removeprefix("listening on ").strip()
        assert lines[0].startswith("control on ") and lines[1].startswith("listening on "), lines
        open_, sale, pay = RECEIPT[brand]
        with socket.create_connection(("127.0.0.1", int(listen.rpartition(":")[2])), timeout=5) as conn:
            info = _exchange(conn, 0x21, 0x5A, "1").data.decode()
            assert re.search(rf",{spec.serial_prefix}\d{{6}},", info), info
            assert _bit(_exchange(conn, 0x22, open_[0], open_[1].format(n=1)), FISCAL_OPEN)
            answer = httpx.post(f"http://{control}/simulate", json={"fault": "paper_out"}, timeout=10).json()
            assert answer["device"]["receipt_open"] is True and answer["device"]["model"] == spec.default_model
            refused = _exchange(conn, 0x23, *sale)
            assert _bit(refused, PAPER_OUT) and _bit(refused, FISCAL_OPEN)
            httpx.post(f"http://{control}/simulate", json={"fault": "none"}, timeout=10)
            assert _exchange(conn, 0x24, *sale).data == b""
            assert _exchange(conn, 0x25, *pay).data.startswith(b"D")
            assert not _bit(_exchange(conn, 0x26, 0x38, ""), FISCAL_OPEN)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
        proc.stdout.close()
