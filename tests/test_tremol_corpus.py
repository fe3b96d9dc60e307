"""The conformance corpus (tremol_corpus.py) replayed against the Tremol emulator in process over a memory link:
ErpNet.FP's request strings, the protocol description's replies, a ping before every command as ErpNet.FP
sends it."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from emulated import LinkHost
from tremol_corpus import CMD_GS, SCENARIOS, Case

from fiscald.drivers.zfp import framing as z
from fiscald.emulators.tremol import MODELS, TremolEmulator


class Host(LinkHost):
    """A ZFP host on a memory link: ping, frame, the reply (RETRY skipped and counted)."""

    def __init__(self, emulator: TremolEmulator) -> None:
        super().__init__(emulator)
        self.numbers = z.MessageNumbers()
        self.retries = 0

    async def ping(self) -> int:
        self.link.send(bytes((z.PING,)))
        return (await asyncio.wait_for(self.link.receive(), 5))[0]

    async def ask(self, cmd: int, data: bytes) -> z.Ack | z.Frame:
        number = self.numbers.next()
        self.link.send(z.frame(number, cmd, data))
        decoder = z.Decoder(replies=True)
        while True:
            for event in decoder.feed(await asyncio.wait_for(self.link.receive(), 5)):
                if isinstance(event, z.Byte) and event.value == z.RETRY:
                    self.retries += 1
                elif isinstance(event, (z.Ack, z.Frame)):
                    assert event.number == number  # the reply carries the request's number [D p.7-8]
                    return event
                else:
                    raise AssertionError(f"unexpected {event}")

    async def gs(self, option: bytes) -> bytes:
        self.link.send(bytes((CMD_GS,)) + option)
        line = b""
        while not line.endswith(b"\n"):
            line += await asyncio.wait_for(self.link.receive(), 5)
        return line[:-1]


def _check(case: Case, reply: z.Ack | z.Frame | bytes, codepage: str) -> None:
    where = f"{case.source}: {case.request!r} -> {reply!r}"
    if case.ste is not None:
        assert isinstance(reply, z.Ack), where
        assert bytes((reply.fd_error, reply.command_error)).decode() == case.ste, where
        return
    payload = reply if isinstance(reply, bytes) else reply.data if isinstance(reply, z.Frame) else None
    assert payload is not None, where
    if isinstance(case.reply, bytes):
        assert payload == case.reply, where
    elif isinstance(case.reply, re.Pattern):
        assert case.reply.fullmatch(payload.decode(codepage)), where
    else:
        assert payload.decode(codepage) == case.reply, where


@pytest.mark.parametrize("dialect", sorted(SCENARIOS))
def test_corpus(dialect: str, tmp_path: Path) -> None:
    model, cases = SCENARIOS[dialect]

    async def run() -> int:
        emulator = TremolEmulator(MODELS[model], tmp_path)
        assert emulator.dialect.name == dialect
        await emulator.start()
        host = Host(emulator)
        try:
            for case in cases:
                if case.control:
                    await emulator.control(case.control)
                if case.cmd == CMD_GS:
                    _check(case, await host.gs(case.request), emulator.dialect.codepage)
                    continue
                assert await host.ping() == case.ping, case.source
                reply = await host.ask(case.cmd, case.request)
                assert isinstance(reply, z.Ack) or reply.cmd == case.cmd
                _check(case, reply, emulator.dialect.codepage)
        finally:
            await host.close()
            emulator.close()
        return host.retries

    retries = asyncio.run(run())
    if dialect == "bulgarian":
        assert retries >= 4  # two Z reports, each busy Z_BUSY_S with RETRY every RETRY_EVERY_S


def test_every_case_cites_a_source() -> None:
    for _, cases in SCENARIOS.values():
        for case in cases:
            assert re.match(r"\[(EC|EP|EF|EV|ED|D|T)[ \]§]", case.source) or case.source.startswith(("power", "...")), \
                case.source
