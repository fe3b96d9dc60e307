"""The wire floor of a Datecs receipt: the CPU that the receipt's frames cost a minimal client, nothing else.

    .venv/bin/python bench/datecs_wire_floor.py --port P --frames FILE [--receipts 40] [--warm-up 5]
                                                [--client minimal|link]

``FILE`` holds one receipt's requests as fiscald sent them (JSON: ``[[cmd, data hex], ...]``, recorded by
bench/datecs_cpu.py ``--floor``). This client sends them to ``fiscald emulate datecs`` on TCP, one frame after
the reply to the one before, as often as ``--receipts`` asks, on the stack fiscald uses (uvloop where there is one, an
``asyncio.Protocol``, one future per reply) and nothing more: no HTTP, no store, no reply parsing beyond the
frame's end and the reply's error field. It prints its own CPU time (user + system) per receipt in ms, the same
measure as datecs_cpu.py's for fiscald. Whatever this costs — the loopback TCP send, which runs the receiving
side's network stack in the sender's process, the event loop's wake-ups, the reads — fiscald pays as well on this
machine; the difference between the two is what fiscald adds to the frames.

``--client link`` sends the same frames through fiscald's own link layer instead (``isl.session.Session`` over
``transport.TcpTransport``, what the Datecs driver calls for every command: SEQ, resend rules, the decoder), and
nothing above it: what the frames cost fiscald before its driver reads a reply.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import cast

from fiscald.drivers.isl import framing
from fiscald.drivers.isl.session import Session
from fiscald.drivers.transport import TcpTransport

ETX = bytes((framing.TERMINATOR,))
REPLY_TIMEOUT_S = 5.0


class Line(asyncio.Protocol):
    """The receiving side: bytes in a buffer, one reader waiting for a complete reply."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.buffer.endswith(ETX) and self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)


async def replay(port: int, frames: list[tuple[int, bytes]], receipts: int, warm_up: int) -> float:
    loop = asyncio.get_running_loop()
    _, line = await loop.create_connection(Line, "127.0.0.1", port)
    assert line.transport is not None
    seq = framing.OFFSET
    started = 0.0
    for n in range(warm_up + receipts):
        if n == warm_up:
            started = time.process_time()
        for cmd, data in frames:
            seq = framing.OFFSET if seq >= framing.X.seq_max else seq + 1
            waiter = line.waiter = loop.create_future()
            line.transport.write(framing.request(framing.X, seq, cmd, data))
            timer = loop.call_later(REPLY_TIMEOUT_S, waiter.cancel)  # a deadline as fiscald keeps one: one timer
            await waiter
            timer.cancel()
            reply = bytes(line.buffer)
            line.buffer.clear()
            body = reply[reply.find(framing.PREAMBLE) + 1 + framing.X.header_len:]  # data, 04, status, ...
            if body.startswith(b"-"):  # an X reply leads with its error code: 0 done, negative refused [X p.3]
                raise SystemExit(f"the emulator refused command {cmd:#x}: {reply!r}")
    spent = time.process_time() - started
    line.transport.close()
    return spent * 1000 / receipts


async def through_link(port: int, frames: list[tuple[int, bytes]], receipts: int, warm_up: int) -> float:
    """The same replay through fiscald's Session and TcpTransport."""
    transport = TcpTransport("127.0.0.1", port)
    await transport.open()
    session = Session(transport, framing.X)
    started = 0.0
    for n in range(warm_up + receipts):
        if n == warm_up:
            started = time.process_time()
        for cmd, data in frames:
            reply = await session.call(cmd, data)
            if reply.data.startswith(b"-"):
                raise SystemExit(f"the emulator refused command {cmd:#x}: {reply!r}")
    spent = time.process_time() - started
    await transport.close()
    return spent * 1000 / receipts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--frames", type=Path, required=True)
    parser.add_argument("--receipts", type=int, default=40)
    parser.add_argument("--warm-up", type=int, default=5)
    parser.add_argument("--client", choices=["minimal", "link"], default="minimal")
    args = parser.parse_args()
    frames = [(cmd, bytes.fromhex(data)) for cmd, data in json.loads(args.frames.read_text(encoding="utf-8"))]
    client = replay if args.client == "minimal" else through_link
    work = client(args.port, frames, args.receipts, args.warm_up)
    if sys.platform == "win32":  # no uvloop there (fiscald serves with asyncio's loop too)
        print(f"{asyncio.run(work):.3f}")
    else:
        import uvloop

        print(f"{uvloop.run(work):.3f}")


if __name__ == "__main__":
    main()
