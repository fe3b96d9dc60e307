"""The conformance corpus (datecs_corpus.py) replayed against the Datecs emulator over the wire framing, in
process (a memory link): third-party clients' request strings, the manuals' replies."""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path

import pytest
from datecs_corpus import SCENARIOS
from emulated import FramedHost, check, framed

from fiscald.drivers.isl import framing
from fiscald.emulators.datecs import MODELS, DatecsEmulator


@pytest.mark.parametrize("dialect", sorted(SCENARIOS))
def test_corpus(dialect: str, tmp_path: Path) -> None:
    model, cases = SCENARIOS[dialect]

    async def run() -> None:
        emulator = DatecsEmulator(MODELS[model], tmp_path)
        assert emulator.dialect.name == dialect.split()[0]
        async with framed(emulator, emulator.variant) as host:
            for case in cases:
                if case.control:
                    await emulator.control(case.control)
                reply = await host.ask(case.cmd, case.request.encode(emulator.dialect.codepage))
                assert reply.cmd == case.cmd
                check(case, reply, emulator.dialect.codepage)

    asyncio.run(run())


def test_a_repeated_seq_is_answered_not_executed(tmp_path: Path) -> None:
    """[X] p.3: the same SEQ again -> the last reply again, nothing executed (a payment is not paid twice)."""

    async def run() -> None:
        emulator = DatecsEmulator(MODELS["DP-150MX"], tmp_path)
        async with framed(emulator, emulator.variant) as host:
            await host.ask(0x30, b"1\t0000\t1\t\t\t")
            await host.ask(0x31, b"Paine\t1\t10.00\t\t\t\t0\t")
            first = await host.ask(0x35, b"0\t4.00\t\t")
            again = await host.ask(0x35, b"0\t4.00\t\t", seq=host.seq)
            assert first.data == again.data == b"0\tD\t6.00\t"
            state = await host.ask(0x4C, b"")
            assert state.data.split(b"\t")[-2] == b"4.00"  # paid once

    asyncio.run(run())


def test_an_open_receipt_survives_a_power_cycle(tmp_path: Path) -> None:
    """[P] p.6 / [C] p.4: after a power outage 76 reports the receipt, which can be paid and closed."""

    async def first() -> None:
        emulator = DatecsEmulator(MODELS["DP-25"], tmp_path)
        async with framed(emulator, emulator.variant) as host:
            await host.ask(0x30, b"1,1,1")
            await host.ask(0x31, "Paine\tА2.00".encode("cp1251"))
            paid = await host.ask(0x35, b"\tC0.50")
            assert paid.data == b"D+00000150"

    async def second() -> None:
        emulator = DatecsEmulator(MODELS["DP-25"], tmp_path)
        async with framed(emulator, emulator.variant) as host:
            assert (await host.ask(0x4C, b"T")).data == b"1,1,+00000200,+00000050"
            assert (await host.ask(0x3C, b"")).data == b""  # refused: paid partly
            assert (await host.ask(0x35, b"\t")).data == b"R+00000000"
            assert (await host.ask(0x38, b"")).data == b"1,1"
            codes = (await emulator.control({}))["device"]["last_payment_codes"]
            assert codes == ["C", "P"]

    asyncio.run(first())
    asyncio.run(second())


def test_romanian_text_is_cp1250(tmp_path: Path) -> None:
    """Evidence 3: cp1250 has ă â î ş ţ; a Romanian item name travels in it and is kept as sent."""

    async def run() -> None:
        emulator = DatecsEmulator(MODELS["FP-700MX"], tmp_path)
        async with framed(emulator, emulator.variant) as host:
            await host.ask(0x30, b"1\t0000\t1\t\t\t")
            reply = await host.ask(0x31, "Pâine ţărănească\t1\t3.00\t\t\t\t0\t".encode("cp1250"))
            assert reply.data == b"0\t1\t"
            assert emulator.rules.open is not None
            assert emulator.rules.open.lines[0]["description"] == "Pâine ţărănească"

    asyncio.run(run())


def test_dst_follows_the_time_in_summer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """[X] p.5, 16: 62 answers ``DD-MM-YY hh:mm:ss DST`` while summer time is active, without it in winter;
    61 takes either; a clock before the last fiscal record is refused (-112004, [UCS] doc/Datecs)."""
    monkeypatch.setenv("TZ", "Europe/Bucharest")
    time.tzset()

    async def run() -> None:
        emulator = DatecsEmulator(MODELS["DP-150MX"], tmp_path)
        async with framed(emulator, emulator.variant) as host:
            assert (await host.ask(0x3D, b"15-07-30 12:00:00 DST\t")).data == b"0\t"
            summer = (await host.ask(0x3E, b"")).data.decode()
            assert re.fullmatch(r"0\t15-07-30 12:00:0\d DST\t", summer), summer
            assert (await host.ask(0x3D, b"15-01-31 12:00:00\t")).data == b"0\t"
            winter = (await host.ask(0x3E, b"")).data.decode()
            assert re.fullmatch(r"0\t15-01-31 12:00:0\d\t", winter), winter
            await host.ask(0x30, b"1\t0000\t1\t\t\t")
            await host.ask(0x31, b"Paine\t1\t1.00\t\t\t\t0\t")
            await host.ask(0x35, b"\t\t\t")
            await host.ask(0x38, b"")
            assert (await host.ask(0x3D, b"14-01-31 12:00:00\t")).data == b"-112004\t"

    try:
        asyncio.run(run())
    finally:
        monkeypatch.undo()
        time.tzset()


def test_paper_out_mid_receipt_leaves_it_usable(tmp_path: Path) -> None:
    """A refused command never spoils the open receipt: paper out at the payment -> -112006; 76 still reports
    the receipt, unpaid; with paper back it is paid and closed once."""

    async def run() -> None:
        emulator = DatecsEmulator(MODELS["FP-700X"], tmp_path)
        async with framed(emulator, emulator.variant) as host:
            await host.ask(0x30, b"1\t0000\t1\t\t")
            await host.ask(0x31, b"Paine\t1\t2.00\t\t\t\t0\t")
            await emulator.control({"fault": "paper_out"})
            refused = await host.ask(0x35, b"0\t2.00\t\t")
            assert refused.data == b"-112006\t" and (refused.status or b"")[2] & 1
            assert (await host.ask(0x4C, b"")).data == b"0\t1\t1\t1\t2.00\t0.00\t"
            await emulator.control({"fault": "none"})
            assert (await host.ask(0x35, b"0\t2.00\t\t")).data == b"0\tR\t0.00\t"
            assert (await host.ask(0x38, b"")).data == b"0\t1\t"
            assert (await host.ask(0x4C, b"")).data == b"0\t0\t1\t1\t2.00\t2.00\t"

    asyncio.run(run())


@pytest.mark.parametrize("model", ["DP-25MX", "FP-700X", "DP-25", "FP-2000"])
def test_any_request_gets_a_reply_frame(model: str) -> None:
    """Whatever a host sends to a known command, the register answers with a frame (a refusal at worst),
    and the link stays up."""
    import tempfile

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    loop = asyncio.new_event_loop()
    folder = tempfile.TemporaryDirectory()
    emulator = DatecsEmulator(MODELS[model], Path(folder.name))
    loop.run_until_complete(emulator.start())
    codes = sorted(emulator.commands)
    alphabet = st.sampled_from([*"0123456789.,;*#+-\t\nABCDPZXTIabcАБ ", "1\t", "\t\t"])

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(cmd=st.sampled_from(codes), text=st.lists(alphabet, max_size=12).map("".join))
    def check(cmd: int, text: str) -> None:
        data = text.encode(emulator.dialect.codepage, errors="replace")
        reply = loop.run_until_complete(emulator.execute(0x21, cmd, data))
        frames = [e for e in framing.Decoder(emulator.variant, replies=True).feed(reply)
                  if isinstance(e, framing.Frame)]
        assert len(frames) == 1 and frames[0].cmd == cmd and frames[0].status is not None

    try:
        check()
    finally:
        emulator.close()
        loop.close()
        folder.cleanup()


def test_a_power_cut_after_the_books_committed_is_recovered(tmp_path: Path) -> None:
    """The receipt reached the books (the journal) but the power went before the emulator noted it closed:
    after the restart 76 reports it closed, with its amount, and a Z's counters start again."""

    async def run() -> None:
        emulator = DatecsEmulator(MODELS["FP-2000"], tmp_path)
        await emulator.start()
        saved = (tmp_path / "emulator-state.json").read_text("utf-8")
        host = FramedHost(emulator, emulator.variant)
        try:
            await host.ask(0x30, b"1,0000,1,")
            await host.ask(0x31, "Paine\tА2.00".encode("cp1251"))
            opened = (tmp_path / "emulator-state.json").read_text("utf-8")
            await host.ask(0x35, b"\t")
            assert (await host.ask(0x38, b"")).data == b"1,1"
            saved = opened  # the state file as it was before the payment and the close
        finally:
            await host.close()
            emulator.close()
        before = json.loads(saved)  # the receipt open and paid, as the cut left the file
        before["open"]["payments"], before["open"]["codes"] = [{"type": "cash", "amount_cents": 200}], ["P"]
        (tmp_path / "emulator-state.json").write_text(json.dumps(before), "utf-8")
        again = DatecsEmulator(MODELS["FP-2000"], tmp_path)
        async with framed(again, again.variant) as host:
            assert (await host.ask(0x4C, b"T")).data == b"0,1,+00000200,+00000200"
            assert (await host.ask(0x30, b"1,0000,1,")).data == b"2,2"

    asyncio.run(run())


@pytest.mark.parametrize("model", ["DP-150MX", "FP-2000"])
def test_a_refusal_changes_nothing(model: str) -> None:
    """Evidence 4: a refused command never spoils the open receipt. Whatever request is refused, 76 (the
    receipt's number, items, amount, payments) and the counters read the same before and after."""
    import tempfile

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    loop = asyncio.new_event_loop()
    folder = tempfile.TemporaryDirectory()
    emulator = DatecsEmulator(MODELS[model], Path(folder.name))
    loop.run_until_complete(emulator.start())
    x = emulator.dialect.x
    ask = lambda cmd, data: loop.run_until_complete(emulator.execute(0x21, cmd, data))  # noqa: E731
    opened = ask(0x30, b"1\t0000\t1\t\t\t" if x else b"1,0000,1,")
    ask(0x31, b"Paine\t1\t2.00\t\t\t\t0\t" if x else "Paine\tА2.00".encode("cp1251"))
    assert emulator.rules.open is not None, opened
    receipt_commands = [0x30, 0x31, 0x33, 0x35, 0x36, 0x38, 0x3C, 0x26, 0x27, 0x2A, 0x45, 0x46, 0x5C, 0x6D]
    alphabet = st.sampled_from([*"0123456789.,-\tPDCmZXI", "1\t", "\t\t", "9.99", "А"])

    def snapshot() -> tuple[object, ...]:
        t = emulator.rules.transaction()
        state = emulator.register.state
        return (t, state.receipt_number, state.document_number, state.cash_in_drawer_cents, state.z_number)

    @settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(cmd=st.sampled_from(receipt_commands), text=st.lists(alphabet, max_size=10).map("".join))
    def check(cmd: int, text: str) -> None:
        before = snapshot()
        reply = ask(cmd, text.encode(emulator.dialect.codepage, errors="replace"))
        frame = next(e for e in framing.Decoder(emulator.variant, replies=True).feed(reply)
                     if isinstance(e, framing.Frame))
        status = frame.status or b""
        refused = frame.data.startswith(b"-") if x else bool(status[0] & 0x03 or status[1] & 0x03)
        if refused:
            assert snapshot() == before, (cmd, text, frame.data)

    try:
        check()
    finally:
        emulator.close()
        loop.close()
        folder.cleanup()


@pytest.mark.parametrize(("model", "accepted", "refused"), [("DP-25X", "1", "0000"), ("WP-500X", "1", "0000"),
                                                            ("FP-700X", "0000", "1")])
def test_factory_passwords_per_model(tmp_path: Path, model: str, accepted: str, refused: str) -> None:
    """Manual v2.08, command 48 OpPwd note (Unicontsoft/UcsFiscalPrinters doc/Datecs/PM_FMP350X_FMP55X_FP700X-BUL_
    FPprotocol_eng): the X cash registers give operator N the password N; FMP-350X, FMP-55X, FP-700X "0000"."""
    emulator = DatecsEmulator(MODELS[model], tmp_path)
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(emulator.start())

        def open_with(password: str) -> bytes:
            reply = loop.run_until_complete(emulator.execute(0x21, 0x30, f"1\t{password}\t1\t\t\t\t".encode()))
            frame = next(e for e in framing.Decoder(emulator.variant, replies=True).feed(reply)
                         if isinstance(e, framing.Frame))
            return frame.data

        assert open_with(refused).startswith(b"-102002")  # wrong password
        assert not open_with(accepted).startswith(b"-")
    finally:
        emulator.close()
        loop.close()
