"""The host's ZFP exchange (drivers/zfp/session.py) driven against the Tremol emulator over a memory link: the
ping loop, NACK resends, RETRY waits, ping refusals, and lost or damaged replies reported as ambiguous (then
reconciled with 72h, never by sending the command again)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fiscald.drivers.zfp import framing as z
from fiscald.drivers.zfp.session import Done, Exchange, Failed, Send, Step, Wait
from fiscald.emulators.link import MemoryLink
from fiscald.emulators.tremol import MODELS, TremolEmulator

SALE = "Хляб".ljust(36).encode("cp1251") + b";\xc1;1.00"


async def exchange(link: MemoryLink, ex: Exchange, timeout: float = 0.5) -> Step:
    decoder = z.Decoder(replies=True)
    link.send(ex.start().data)
    while True:
        try:
            chunk = await asyncio.wait_for(link.receive(), timeout)
        except TimeoutError:
            return ex.timed_out()
        for event in decoder.feed(chunk):
            step = ex.feed(event)
            if isinstance(step, Send):
                link.send(step.data)
            elif isinstance(step, (Done, Failed)):
                return step


def test_the_exchange_against_the_emulator(tmp_path: Path) -> None:
    async def run() -> None:
        emulator = TremolEmulator(MODELS["M20"], tmp_path)
        await emulator.start()
        link = MemoryLink()
        task = asyncio.create_task(emulator.serve(link.device_read, link.device_write))
        numbers = z.MessageNumbers()

        async def ask(cmd: int, data: bytes = b"", **kw: int) -> Step:
            return await exchange(link, Exchange(numbers.next(), cmd, data, **kw))

        version = await ask(0x21)
        assert isinstance(version, Done) and isinstance(version.reply, z.Frame)
        opened = await ask(0x30, b"1;0000;1;1;2$")
        assert opened == Done(z.Ack(numbers.current, 0x30, 0x30))

        await emulator.control({"wire": {"nak_frames": 2}})  # two NACKs: the third write goes through
        sold = await ask(0x31, SALE)
        assert isinstance(sold, Done) and isinstance(sold.reply, z.Ack) and sold.reply.ok
        await emulator.control({"wire": {"nak_frames": 3}})  # three: given up, never executed
        refused = await ask(0x31, SALE)
        assert isinstance(refused, Failed) and not refused.ambiguous

        await emulator.control({"wire": {"drop_replies": 1}})  # the ACK is lost: the sale may have run
        lost = await ask(0x31, SALE)
        assert isinstance(lost, Failed) and lost.ambiguous and lost.reason == "no reply"
        await emulator.control({"wire": {"corrupt_replies": 1}})
        damaged = await ask(0x31, SALE)
        assert isinstance(damaged, Failed) and damaged.ambiguous
        info = await ask(0x72)  # reconcile: three sales booked (the refused one never ran)
        assert isinstance(info, Done) and isinstance(info.reply, z.Frame) and info.reply.data.startswith(b"1;003;")

        await emulator.control({"wire": {"busy_ms": 300}})  # RETRY while it runs: waited through
        slow = await ask(0x31, SALE)
        assert isinstance(slow, Done)

        await emulator.control({"fault": "paper_out"})
        paper = await ask(0x31, SALE)  # 42h: not busy, so the frame goes out and the register refuses it [D p.7-8]
        assert isinstance(paper, Done) and paper.reply == z.Ack(paper.reply.number, 0x31, 0x32)
        status = await ask(0x20)  # ... and still answers a read, with the paper bit [D p.10]
        assert isinstance(status, Done) and isinstance(status.reply, z.Frame) and status.reply.data[1] & 1
        await emulator.control({"fault": "busy"})
        busy = await ask(0x31, SALE, max_busy=3)
        assert busy == Failed("device busy", ping=z.Ping.BUSY)
        await emulator.control({"fault": "none"})
        cancelled = await ask(0x39)
        assert isinstance(cancelled, Done) and isinstance(cancelled.reply, z.Ack) and cancelled.reply.ok
        link.hang_up()
        await task
        emulator.close()

    asyncio.run(run())


def test_replies_of_other_numbers_and_odd_ping_answers() -> None:
    ex = Exchange(5, 0x20)
    assert ex.start() == Send(bytes((z.PING,)))
    assert ex.feed(z.Ack(4, 0x30, 0x30)) == Wait()  # a late reply before the ping's answer
    assert ex.feed(z.Byte(z.Ping.BUSY)) == Send(bytes((z.PING,)), after_busy=True)
    assert ex.feed(z.Byte(z.Ping.READY)) == Send(ex.frame) and ex.sent
    assert ex.feed(z.Byte(z.RETRY)) == Wait()
    assert ex.feed(z.Frame(4, 0x20, b"old")) == Wait()  # another number: not ours
    assert ex.feed(z.Frame(5, 0x20, b"x")) == Done(z.Frame(5, 0x20, b"x"))
    odd = Exchange(1, 0x20)
    assert odd.feed(z.Byte(0x33)) == Failed("invalid ping answer 0x33", ping=0x33)
    assert Exchange(1, 0x20).timed_out() == Failed("no answer to the ping")
    for answer in (z.Ping.WAITING_FOR_PASSWORD, z.Ping.WRONG_PASSWORD, z.Ping.OTHER_CONNECTION):
        step = Exchange(1, 0x20).feed(z.Byte(answer))
        assert isinstance(step, Failed) and step.ping == answer and not step.ambiguous
    # [D p.8]: bit 0 busy -> ping again; bits 1-3 (paper, overheat, display) are conditions, the frame goes out
    for busy in (z.Ping.NO_PAPER_BUSY, z.Ping.OVERHEATED_BUSY, z.Ping.NO_DISPLAY_BUSY):
        ex = Exchange(1, 0x20)
        assert ex.feed(z.Byte(busy)) == Send(bytes((z.PING,)), after_busy=True) and not ex.sent
    for condition in (z.Ping.NO_PAPER, z.Ping.OVERHEATED, z.Ping.NO_DISPLAY):
        ex = Exchange(1, 0x20)
        assert ex.feed(z.Byte(condition)) == Send(ex.frame) and ex.sent and ex.ping == condition
