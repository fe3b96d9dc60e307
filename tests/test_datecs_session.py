"""The Datecs session on an in-memory line with a scripted device: a resend reuses the SEQ, a new command takes
the next one; NAK and a damaged reply are resent; SYN keeps the host waiting past the reply deadline; an older
reply replayed for our SEQ is not taken for the answer, and a command that changes something is never re-sent
under a new SEQ; silence ends, after the bounded resends, in ConnectionLost; a device that only says "busy"
ends in ConnectionLost within the call's bound."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from fiscald.drivers.datecs import status as bits
from fiscald.drivers.isl import framing
from fiscald.drivers.isl.framing import Decoder, Frame, X
from fiscald.drivers.isl.session import AmbiguousReply, Session
from fiscald.drivers.transport import MemoryTransport, memory_pair
from fiscald.errors import ConnectionLost

OK = bits.encode(8, [])
Device = Callable[[Frame, int], Awaitable[list[bytes]]]  # (frame, how many frames so far) -> what to send


def run(device: Device, body: Callable[[Session], Awaitable[None]], timeout_s: float = 0.05) -> list[Frame]:
    seen: list[Frame] = []

    async def serve(end: MemoryTransport) -> None:
        decoder = Decoder(X, replies=False)
        while True:
            try:
                chunk = await end.read(5)
            except ConnectionLost:
                return
            for event in decoder.feed(chunk):
                assert isinstance(event, Frame)
                seen.append(event)
                for out in await device(event, len(seen)):
                    await end.write(out)

    async def main() -> None:
        host, dev = memory_pair()
        await host.open()
        await dev.open()
        task = asyncio.create_task(serve(dev))
        try:
            await body(Session(host, X, reply_timeout_s=timeout_s, retries=3))
        finally:
            await host.close()
            await task

    asyncio.run(main())
    return seen


def answer(frame: Frame, data: bytes = b"0\t") -> bytes:
    return framing.reply(X, frame.seq, frame.cmd, data, OK)


def test_a_resend_reuses_the_seq_and_a_new_command_takes_the_next() -> None:
    async def device(frame: Frame, n: int) -> list[bytes]:
        if n == 1:
            return []  # the first reply is lost
        if n == 2:
            damaged = bytearray(answer(frame, b"0\t7\t"))
            damaged[-3] ^= 0x01
            return [bytes(damaged)]
        if n == 3:
            return [bytes((framing.NAK,))]
        return [answer(frame, b"0\t7\t")]

    async def body(session: Session) -> None:
        assert (await session.call(0x38)).data == b"0\t7\t"
        assert (await session.call(0x4A)).cmd == 0x4A

    seen = run(device, body)
    assert len({f.seq for f in seen[:4]}) == 1 and [f.cmd for f in seen[:4]] == [0x38] * 4
    assert seen[4].seq == (seen[0].seq + 1 if seen[0].seq < 0xFF else 0x20)


def test_syn_keeps_the_host_waiting_past_the_deadline() -> None:
    async def body(session: Session) -> None:
        transport = session.transport
        assert isinstance(transport, MemoryTransport) and transport.peer is not None
        peer = transport.peer

        async def busy_device() -> None:
            while not seen_frames:
                await asyncio.sleep(0.005)
            for _ in range(6):  # "still working" every 30 ms for 180 ms: over three reply deadlines
                await peer.write(bytes((framing.SYN,)))
                await asyncio.sleep(0.03)
            await peer.write(answer(seen_frames[0], b"0\t1\t"))

        helper = asyncio.create_task(busy_device())
        assert (await session.call(0x45, b"Z\t")).data == b"0\t1\t"
        await helper

    seen_frames: list[Frame] = []

    async def record(frame: Frame, n: int) -> list[bytes]:
        seen_frames.append(frame)
        return []

    seen = run(record, body)
    assert len(seen) == 1  # no resend while the device said it was busy


def test_a_replayed_older_reply_is_not_the_answer_to_a_read() -> None:
    async def device(frame: Frame, n: int) -> list[bytes]:
        if n == 1:  # the device's last SEQ happened to be ours: it replays its last reply (another command)
            return [framing.reply(X, frame.seq, 0x30, b"0\t7\t", OK)]
        return [answer(frame, b"0\t42\t")]

    async def body(session: Session) -> None:
        assert (await session.call(0x4A, repeatable=True)).data == b"0\t42\t"

    seen = run(device, body)
    assert len(seen) == 2 and seen[0].seq != seen[1].seq  # a read: asked again under a fresh SEQ


def test_a_reply_with_another_command_number_never_makes_a_payment_twice() -> None:
    """Adversarial finding (issue 19): a reply carrying the wrong command number made the driver resend the
    payment under a new SEQ, and the register paid twice. Now the call's outcome is unknown (reconciled by the
    driver), and the frame is never sent again."""
    async def device(frame: Frame, n: int) -> list[bytes]:
        return [framing.reply(X, frame.seq, 0x4A, b"0\t", OK)]  # executed, but answered as another command

    async def body(session: Session) -> None:
        with pytest.raises(AmbiguousReply, match="came back as command 0x4a"):
            await session.call(0x35, b"0\t12.00\t\t")

    seen = run(device, body)
    assert [f.cmd for f in seen] == [0x35]  # sent once


def test_a_device_that_only_says_busy_is_given_up_within_the_bound() -> None:
    """Adversarial finding (issue 19): endless SYN held the POS for 10 minutes. The whole call is bounded."""
    async def body(session: Session) -> None:
        transport = session.transport
        assert isinstance(transport, MemoryTransport) and transport.peer is not None
        peer = transport.peer

        async def forever_busy() -> None:
            while True:
                await peer.write(bytes((framing.SYN,)))
                await asyncio.sleep(0.02)

        helper = asyncio.create_task(forever_busy())
        started = asyncio.get_running_loop().time()
        with pytest.raises(ConnectionLost, match="still busy after"):
            await session.call(0x38, busy_limit_s=0.3)
        assert asyncio.get_running_loop().time() - started < 1.0
        helper.cancel()

    async def silent(frame: Frame, n: int) -> list[bytes]:
        return []

    seen = run(silent, body)
    assert len(seen) == 1


def test_silence_is_connection_lost_after_the_bounded_resends() -> None:
    async def device(frame: Frame, n: int) -> list[bytes]:
        return []

    async def body(session: Session) -> None:
        with pytest.raises(ConnectionLost, match="after 4 attempts"):
            await session.call(0x4A)
        assert session.stats.resends == 3

    seen = run(device, body)
    assert len(seen) == 4 and len({f.seq for f in seen}) == 1
