"""Reading INP files in the scan folder's encoding (device setting ``scan_encoding``; issue 15, docs/inp.md).

The samples are real Windows-1250 bytes (``str.encode("cp1250")`` is the codec's table) with the Romanian
letters in cedilla form, which is all Windows-1250 has: ş ţ Ş Ţ, and ă â î Ă Â Î at the start, in the middle
and at the end of words, in every case a POS program writes (lower, Capitalised, UPPER)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fiscald.interfaces.inp import InpError, decode
from fiscald.interfaces.inp.encoding import oddness
from inpfiles import HDR, drop, inp, receipts, run, wait_resolved, wait_state
from server import Server, add_simulated_register

# every Romanian letter at the start, in the middle and at the end of a word, in each case
WORDS = [
    "ăla", "măr", "mă", "âna", "pâine", "câmpiâ", "înger", "cîine", "mâi", "şase", "uşă", "aş", "ţară", "piaţă", "laţ",
    "Ăla", "Mărar", "Înger", "Îmi", "Şase", "Ţară", "Âna", "Pâine",
    "ĂLA", "MĂR", "MĂ", "ÎNGER", "CÎINE", "MÂI", "ÂNA", "ŞASE", "UŞĂ", "AŞ", "ŢARĂ", "PIAŢĂ", "LAŢ", "CĂŞTI",
    "ÎŞI", "ÂŞ", "ŢŞ", "ĂŞ", "Ăş", "Îş", "Âş", "Ţş", "ÎNCĂLŢĂMINTE", "BRÂNZĂ", "FĂINĂ",
]


@pytest.mark.parametrize("word", WORDS)
def test_a_windows_1250_word_reads_as_itself(word: str) -> None:
    for text in (word, f"S{HDR}{word};1.00\r\n", f"{word} AUDIO JBL", f"x {word}"):
        decoded = decode(text.encode("cp1250"))
        assert (decoded.text, decoded.encoding) == (text.replace("\r\n", "\n"), "cp1250" if not text.isascii()
                                                    else "utf-8")


@pytest.mark.parametrize("word", [*WORDS, "țuică", "Știucă", "ȚARĂ", "ȘASE", "Café", "Müsli", "Crème", "5 €",
                                  "„citat”", "«x»", "20°C", "–", "—"])
def test_a_utf8_word_reads_as_itself(word: str) -> None:
    decoded = decode(word.encode("utf-8"))
    assert (decoded.text, decoded.encoding) == (word, "utf-8")


def test_the_issue_sample_is_windows_1250() -> None:
    data = f"S{HDR}CĂŞTI AUDIO JBL;199.00\r\n".encode("cp1250")
    assert data[data.index(b"C\xc3"):][:5] == b"C\xc3\xaaTI"  # valid UTF-8 ("CêTI") by accident
    assert decode(data).text == f"S{HDR}CĂŞTI AUDIO JBL;199.00\n"
    assert oddness("CêTI") > oddness("CĂŞTI") == 0


def test_an_explicit_setting_wins_and_a_bom_means_utf8() -> None:
    utf8 = "Pâine".encode()
    assert decode(utf8, "cp1250").text == "PĂ˘ine"
    assert decode("CĂŞTI".encode("cp1250"), "utf-8").text == "CêTI"
    assert decode(b"\xef\xbb\xbf" + utf8, "cp1250") == ("Pâine", "utf-8", "\n")
    with pytest.raises(InpError) as info:
        decode(b"S" + HDR.encode() + b"\r\nP\xe2ine\r\n", "utf-8")
    assert info.value.line == 2 and "byte 0xE2 is not UTF-8 text" in (info.value.error.detail or "")
    with pytest.raises(InpError) as info:
        decode(b"ok\n\x98", "cp1250")
    assert info.value.line == 2 and "not Windows-1250" in (info.value.error.detail or "")


def _word(letters: str) -> st.SearchStrategy[str]:
    """A word as a POS program writes it: all small, Capitalised or ALL CAPITALS."""
    base = st.text(alphabet=letters, min_size=1, max_size=12)
    return st.one_of(base, base.map(str.capitalize), base.map(str.upper))


def _text(letters: str) -> st.SearchStrategy[str]:
    separator = st.sampled_from([" ", ";", "\n", ".", ",", "-", " 12.50 ", "/", "\r\n"])
    return st.lists(st.tuples(_word(letters), separator), min_size=1, max_size=12).map(
        lambda parts: "".join(w + s for w, s in parts))


CEDILLA = "abcdefghijklmnopqrstuvwxyzăâîşţ"  # what Windows-1250 can hold
COMMA_TOO = CEDILLA + "șț"


@settings(max_examples=500, deadline=None)
@given(_text(CEDILLA))
def test_romanian_text_in_windows_1250_reads_back(text: str) -> None:
    assert decode(text.encode("cp1250")).text == text.replace("\r\n", "\n")


@settings(max_examples=500, deadline=None)
@given(_text(COMMA_TOO))
def test_romanian_text_in_utf8_reads_back(text: str) -> None:
    decoded = decode(text.encode("utf-8"))
    assert decoded.text == text.replace("\r\n", "\n") and decoded.encoding == "utf-8"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.sampled_from(["auto", "cp1250", "utf-8"]))
def test_any_bytes_decode_or_name_a_line(data: bytes, setting: Any) -> None:
    try:
        decoded = decode(data, setting)
    except InpError as err:
        assert 1 <= err.line <= data.count(b"\n") + data.count(b"\r") + 1
        return
    assert decoded.encoding in ("utf-8", "cp1250") and "\r" not in decoded.text
    if setting != "auto" and not data.startswith(b"\xef\xbb\xbf"):
        assert decoded.encoding == setting


def test_the_setting_reaches_the_receipt_and_is_shown_and_validated(make_server: Any, tmp_path: Path) -> None:
    folder = tmp_path / "scan"
    folder.mkdir()
    device_id = add_simulated_register(tmp_path / "data", "Enc", scan_folder=str(folder))
    srv: Server = make_server(tmp_path / "data", demo=False)
    wait_state(srv.url, device_id, "watching")
    sample = f"S{HDR}CĂŞTI AUDIO JBL;199.00\r\nS{HDR}Pâine şi ţuică;3.50\r\n".encode("cp1250")
    assert run(folder, "auto.inp", sample)["status"] == "OK"

    with httpx.Client(base_url=srv.url, timeout=30) as c:
        [view] = [d for d in c.get("/devices/fiscal").json()["fiscal_devices"] if d["config"]["id"] == device_id]
        assert view["config"]["scan_encoding"] == "auto"
        bad = c.post("/manage/save_fiscal_device", json={"id": device_id, "scan_encoding": "latin1"})
        assert bad.status_code == 400 and "scan_encoding" in bad.json()["error"]
        saved = c.post("/manage/save_fiscal_device", json={"id": device_id, "scan_encoding": "utf-8"})
        assert saved.status_code == 200, saved.text
        drop(folder, "forced.inp", sample)  # Windows-1250 bytes in a folder set to UTF-8: refused, not misprinted
        wait_resolved(folder, "forced.inp")
        err = (folder / "BonERR" / "forced.inp").read_bytes()
        assert err.startswith(sample) and b"is not UTF-8 text" in err
        cp1250 = c.post("/manage/save_fiscal_device", json={"id": device_id, "scan_encoding": "cp1250"})
        assert cp1250.status_code == 200
        assert run(folder, "cp.inp", inp("S;Brânză;9.00").encode("cp1250"))["status"] == "OK"

    names = [line["description"] for e in receipts(srv.url, device_id) for line in e["data"]["request"]["lines"]]
    assert names == ["CĂŞTI AUDIO JBL", "Pâine şi ţuică", "Brânză"]
