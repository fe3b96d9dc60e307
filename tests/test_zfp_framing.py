"""ZFP framing (drivers/zfp/framing.py): the description's examples, round trips and damaged frames."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fiscald.drivers.zfp import framing as z

numbers = st.integers(0, z.MAX_NUMBER)
commands = st.integers(0x20, 0x7F)
payloads = st.binary(max_size=z.MAX_DATA)
ste = st.integers(0x30, 0x3F)


def test_the_description_examples() -> None:
    assert z.checksum(b"\xb5") == b"\x3b\x35"  # [D p.6]: B5h -> 3Bh 35h
    # 20h (status), message number 1: LEN = 3 + 20h, NBL = 21h
    assert z.frame(1, 0x20) == b"\x02\x23\x21\x20" + z.checksum(b"\x23\x21\x20") + b"\x0a"
    assert z.ack(5) == b"\x06\x25\x30\x30" + z.checksum(b"\x25\x30\x30") + b"\x0a"
    assert z.ping_answer() == z.Ping.READY and z.ping_answer(busy=True, no_paper=True) == z.Ping.NO_PAPER_BUSY
    assert z.ping_answer(overheated=True) == z.Ping.OVERHEATED
    assert z.ping_answer(no_display=True, busy=True) == z.Ping.NO_DISPLAY_BUSY


@given(numbers, commands, payloads)
def test_frames_round_trip_on_both_sides(number: int, cmd: int, data: bytes) -> None:
    wire = z.frame(number, cmd, data)
    for replies in (False, True):
        assert z.Decoder(replies=replies).feed(wire) == [z.Frame(number, cmd, data)]


@given(numbers, ste, ste)
def test_acks_round_trip(number: int, fd: int, cmd: int) -> None:
    assert z.Decoder(replies=True).feed(z.ack(number, fd, cmd)) == [z.Ack(number, fd, cmd)]
    assert z.Ack(number, fd, cmd).ok == (fd == cmd == 0x30)


@given(numbers, commands, payloads, st.integers(1, 16))
def test_frames_split_anywhere_decode_the_same(number: int, cmd: int, data: bytes, step: int) -> None:
    wire = z.frame(number, cmd, data) + bytes((z.PING,))
    decoder = z.Decoder(replies=False)
    events = [e for i in range(0, len(wire), step) for e in decoder.feed(wire[i:i + step])]
    assert events == [z.Frame(number, cmd, data), z.Byte(z.PING)] and not decoder.pending


@given(numbers, commands, payloads, st.data())
def test_a_damaged_byte_is_a_bad_frame_never_a_wrong_one(number: int, cmd: int, data: bytes,
                                                          pick: st.DataObject) -> None:
    wire = bytearray(z.frame(number, cmd, data))
    at = pick.draw(st.integers(2, len(wire) - 1))  # anything after LEN (a changed LEN changes the frame's end)
    wire[at] ^= pick.draw(st.integers(1, 255))
    decoder = z.Decoder(replies=False)
    events = decoder.feed(bytes(wire))
    assert z.Frame(number, cmd, data) not in events
    assert not any(isinstance(e, z.Frame) for e in events)
    assert any(isinstance(e, z.BadFrame) for e in events) or decoder.pending


def test_single_bytes_and_gs_queries() -> None:
    device = z.Decoder(replies=False)
    assert device.feed(bytes((z.ON, z.PING)) + z.gs_query("M")) == [z.Byte(z.ON), z.Byte(z.PING), z.GsQuery(0x4D)]
    host = z.Decoder(replies=True)
    assert host.feed(bytes((z.RETRY, z.NACK, 0x40))) == [z.Byte(z.RETRY), z.Byte(z.NACK), z.Byte(0x40)]
    assert device.feed(b"\x02\x21") == [z.BadFrame("LEN 0x21 below 23h")]


def test_message_numbers_change_for_every_new_command_and_wrap() -> None:
    numbers = z.MessageNumbers(z.MAX_NUMBER - 1)
    seen = [numbers.next() for _ in range(3)]
    assert seen == [z.MAX_NUMBER, 0, 1] and numbers.current == 1


@pytest.mark.parametrize("call", [lambda: z.frame(0, 0x20, b"x" * (z.MAX_DATA + 1)),
                                  lambda: z.frame(z.MAX_NUMBER + 1, 0x20), lambda: z.frame(0, 0x80),
                                  lambda: z.ack(0, 0x2F)])
def test_limits_are_refused_before_anything_is_sent(call: Callable[[], bytes]) -> None:
    with pytest.raises(ValueError):
        call()
