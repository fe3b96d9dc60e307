"""Datecs frames against hand-computed bytes (the worked example of spec/datecs.md included), the decoder on
split, damaged and interleaved input, and hypothesis round-trips for both protocol variants."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from fiscald.drivers.datecs import status as bits
from fiscald.drivers.isl import framing
from fiscald.drivers.isl.framing import OLD, BadFrame, Control, Decoder, Frame, X


def test_the_worked_example_of_a_real_dp150_log() -> None:
    # 01 25 21 5A 31 05 30 30 3D 36 03: LEN 0x25 = 0x20+4+1, SEQ 0x21, CMD 0x5A, DATA '1', BCC 0x00D6
    frame = framing.request(OLD, 0x21, 0x5A, b"1")
    assert frame == bytes.fromhex("01 25 21 5A 31 05 30 30 3D 36 03")
    assert Decoder(OLD, replies=False).feed(frame) == [Frame(0x21, 0x5A, b"1", None)]


def test_nibbles_as_the_x_manual_shows_them() -> None:
    assert framing.nibbles(0x1AE3) == bytes((0x31, 0x3A, 0x3E, 0x33))
    assert framing.from_nibbles(b"1:>3") == 0x1AE3
    assert framing.from_nibbles(b"1:>A") is None


def test_an_x_request_by_hand() -> None:
    # cmd 0x4A (status), no data, SEQ 0x20: LEN = 0x20 + 10 = 0x2A -> "002:", CMD 0x004A -> "004:";
    # BCC = 30+30+32+3A + 20 + 30+30+34+3A + 05 = 0x01BF -> "01;?"
    assert framing.request(X, 0x20, 0x4A).hex(" ") == "01 30 30 32 3a 20 30 30 34 3a 05 30 31 3b 3f 03"


def test_an_old_reply_with_status_by_hand() -> None:
    status = bytes([0x80, 0x80, 0x88, 0x80, 0x86, 0x9A])  # fiscal receipt open; serial/tax set; fiscalized
    frame = framing.reply(OLD, 0x2B, 0x30, b"12,3", status)
    length = 0x20 + 3 + 4 + 1 + 6 + 1
    body = bytes((length, 0x2B, 0x30)) + b"12,3" + b"\x04" + status + b"\x05"
    assert frame == b"\x01" + body + framing.nibbles(sum(body)) + b"\x03"
    (event,) = Decoder(OLD, replies=True).feed(frame)
    assert event == Frame(0x2B, 0x30, b"12,3", status)
    assert bits.Status(status).has(bits.FISCAL_RECEIPT_OPEN) and bits.Status(status).failure() is None


def test_decoder_handles_split_bytes_control_codes_and_a_damaged_checksum() -> None:
    good = framing.reply(X, 0x40, 0x38, b"0\t17\t", bits.encode(8, []))
    bad = bytearray(good)
    bad[12] ^= 0x01  # a data byte flipped on the line
    decoder = Decoder(X, replies=True)
    events = []
    stream = bytes((framing.SYN, framing.SYN)) + bytes(bad) + bytes((framing.NAK,)) + good
    for i in range(len(stream)):  # one byte at a time, as a slow serial line delivers it
        events += decoder.feed(stream[i:i + 1])
    assert events == [Control(framing.SYN), Control(framing.SYN), BadFrame("bad checksum"), Control(framing.NAK),
                      Frame(0x40, 0x38, b"0\t17\t", bits.encode(8, []))]
    assert not decoder.pending


def test_garbage_before_a_frame_and_a_bad_length_resynchronise() -> None:
    frame = framing.request(OLD, 0x22, 0x4A, b"X")
    events = Decoder(OLD, replies=False).feed(b"\xff\x00\x01\x21" + frame)
    assert events[-1] == Frame(0x22, 0x4A, b"X", None)
    assert BadFrame("bad length") in events


def test_escaping_of_control_bytes_in_text() -> None:
    assert framing.escape(b"a\x1bb") == b"a\x10\x5bb"
    assert framing.unescape(framing.escape(b"\x00\x01\x1f z")) == b"\x00\x01\x1f z"


def test_status_bits_map_to_our_codes() -> None:
    from fiscald.errors import Code
    paper = bits.Status(bits.encode(6, [bits.PAPER_OUT, bits.FISCAL_RECEIPT_OPEN]))
    assert paper.failure() == bits.PAPER_OUT and bits.PAPER_OUT.error == Code.PAPER_OUT
    assert paper.has(bits.GENERAL_ERROR) and paper.command_failure() is None
    assert bits.Status(bits.encode(8, [bits.FM_FULL])).failure() == bits.FM_FULL
    assert bits.FM_FULL.error == Code.FISCAL_MEMORY_FULL and bits.COVER_OPEN.error == Code.COVER_OPEN
    assert bits.Status(bits.encode(8, [bits.FM_FULL])).has(bits.FM_ANY_ERROR)


data_bytes = st.binary(max_size=120).map(lambda b: bytes(x for x in b if x not in (1, 3, 4, 5)))


@given(st.sampled_from([OLD, X]), st.integers(0x20, 0x7F), st.integers(0x20, 0xFF), data_bytes,
       st.lists(st.integers(0x80, 0xFF), min_size=8, max_size=8), st.integers(1, 7))
def test_round_trip_both_variants(variant: framing.Variant, seq: int, cmd: int, data: bytes, raw_status: list[int],
                                  split: int) -> None:
    status = bytes(raw_status[:variant.status_len])
    req = framing.request(variant, seq, cmd, data)
    rep = framing.reply(variant, seq, cmd, data, status)
    host, device = Decoder(variant, replies=True), Decoder(variant, replies=False)
    got = device.feed(req[:split]) + device.feed(req[split:])
    assert got == [Frame(seq, cmd, data, None)]
    assert host.feed(rep) == [Frame(seq, cmd, data, status)]
    length = framing.from_nibbles(req[1:5]) if variant.wide else req[1]
    assert length == 0x20 + variant.header_len + len(data) + 1


@given(data_bytes, st.integers(0, 200))
def test_any_single_flipped_byte_is_never_taken_for_a_good_frame(data: bytes, where: int) -> None:
    req = framing.request(X, 0x30, 0x31, data)
    i = 1 + where % (len(req) - 2)
    damaged = req[:i] + bytes((req[i] ^ 0x40,)) + req[i + 1:]
    events = Decoder(X, replies=False).feed(damaged + b"\x00" * 300)
    assert Frame(0x30, 0x31, data, None) not in events
