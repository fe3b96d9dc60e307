"""INP file bytes -> text, in the scan folder's encoding (device setting ``scan_encoding``, docs/inp.md "Encoding").

- ``utf-8``: UTF-8, with or without BOM; anything else is an error naming its line.
- ``cp1250``: Windows-1250, the encoding of Romanian legacy POS programs; a file starting with a UTF-8 BOM is
  UTF-8 all the same (the BOM declares it; in Windows-1250 it would read ``ď»ż``).
- ``auto``: a BOM means UTF-8; bytes that are not UTF-8 are Windows-1250. Bytes that are valid both ways are
  read the way that yields text a Romanian POS program writes: each reading is given an :func:`oddness` and
  the lower one wins, UTF-8 on a tie. Windows-1250 Romanian text is valid UTF-8 only when every ``Ă Â Î Ţ``
  is directly followed by ``Ş``/``ş`` or a symbol (``CĂŞTI`` = ``43 C3 AA 54 49``), and read as UTF-8 that
  gives letters such as ``ê`` next to capitals, Greek or other scripts (``ÎŞ`` -> ``Ϊ``), never Romanian
  letters; UTF-8 Romanian text read as Windows-1250 gives ``Ă``/``Ĺ``/``Č`` followed by symbols (``â`` ->
  ``Ă˘``) or is not Windows-1250 at all (``ă`` = ``C4 83``, ``Ș`` = ``C8 98``).
"""

from __future__ import annotations

from typing import Literal, NamedTuple

from fiscald.errors import Code, FiscalError
from fiscald.interfaces.inp.parser import InpError
from fiscald.models.config import ScanEncoding

Encoding = Literal["utf-8", "cp1250"]

BOM = b"\xef\xbb\xbf"
ROMANIAN = frozenset("ăâîșțşţĂÂÎȘȚŞŢ")
# symbols a POS program writes: euro, quotes, dashes, ellipsis, degree, bullet, no-break space, ...
SYMBOLS = frozenset("€„”“‘’«»–—…°•·\u00a0×±µ§©®™")
_OTHER_LATIN = 1  # a Latin letter with a diacritic that is not Romanian (é in Café)
_FOREIGN = 3  # any other character: another script, a spacing accent (˘ ¨), a control character, ...
_CASE_BREAK = 2  # a capital right after a small letter (CafĂ©), a small letter between capitals (CêTI)


class Decoded(NamedTuple):
    text: str  # line ends normalised to LF
    encoding: Encoding
    newline: str  # the file's own line end: "\r\n" when it has CRLF, else "\n"


def decode(data: bytes, setting: ScanEncoding = "auto") -> Decoded:
    """``data`` as text under the ``scan_encoding`` ``setting``, or :class:`InpError` naming the line of a
    byte that is not text."""
    newline = "\r\n" if b"\r\n" in data else "\n"
    encoding: Encoding
    if data.startswith(BOM) or setting == "utf-8":
        text, encoding = _strict(data, "utf-8"), "utf-8"
    elif setting == "cp1250":
        text, encoding = _strict(data, "cp1250"), "cp1250"
    else:
        text, encoding = _auto(data)
    return Decoded(text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n"), encoding, newline)


def _strict(data: bytes, encoding: Encoding) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise _not_text(data, exc.start, "not UTF-8" if encoding == "utf-8" else "not Windows-1250") from None


def _auto(data: bytes) -> tuple[str, Encoding]:
    try:
        as_utf8 = data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            return data.decode("cp1250"), "cp1250"
        except UnicodeDecodeError as exc:  # the five bytes Windows-1250 leaves undefined
            raise _not_text(data, exc.start, "neither UTF-8 nor Windows-1250") from None
    if as_utf8.isascii():
        return as_utf8, "utf-8"
    try:
        as_cp1250 = data.decode("cp1250")
    except UnicodeDecodeError:
        return as_utf8, "utf-8"
    if oddness(as_cp1250) < oddness(as_utf8):
        return as_cp1250, "cp1250"
    return as_utf8, "utf-8"


def _not_text(data: bytes, at: int, what: str) -> InpError:
    before = data[:at].replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return InpError(before.count(b"\n") + 1, FiscalError(Code.CONFIG, f"byte 0x{data[at]:02X} is {what} text"))


def _cost(char: str) -> int:
    if char.isascii() or char in ROMANIAN or char in SYMBOLS:
        return 0
    if "\u00c0" <= char <= "\u024f" and char.isalpha():
        return _OTHER_LATIN
    return _FOREIGN


def oddness(text: str) -> int:
    """How unlike text from a Romanian POS program ``text`` is: 0 for ASCII, Romanian letters (comma and
    cedilla forms) and common symbols; more for other letters, other scripts and case breaks."""
    score = 0
    for i, char in enumerate(text):
        if char.isascii():
            continue
        score += _cost(char)
        before = text[i - 1] if i else ""
        after = text[i + 1] if i + 1 < len(text) else ""
        if (char.isupper() and before.islower()) or (char.islower() and before.isupper() and after.isupper()):
            score += _CASE_BREAK
    return score
