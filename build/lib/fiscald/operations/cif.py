"""Romanian fiscal code (CIF/CUI) check: optional ``RO`` prefix, 2–10 digits, valid check digit."""

from __future__ import annotations

import re

_CIF = re.compile(r"^(RO)?(\d{2,10})$")
_WEIGHTS = (7, 5, 3, 2, 1, 7, 5, 3, 2)


def cif_check_digit(body: str) -> int:
    """Check digit for the digits before it (at most 9 of them)."""
    digits = [int(c) for c in body.rjust(9, "0")]
    rest = sum(d * w for d, w in zip(digits, _WEIGHTS, strict=True)) * 10 % 11
    return 0 if rest == 10 else rest


def validate_cif(cif: str) -> str:
    """Return the CIF normalized (upper case, no spaces) or raise ValueError naming the problem."""
    value = cif.replace(" ", "").upper()
    match = _CIF.match(value)
    if not match:
        raise ValueError("cif must be an optional 'RO' prefix followed by 2 to 10 digits")
    digits = match.group(2)
    if cif_check_digit(digits[:-1]) != int(digits[-1]):
        raise ValueError(f"cif {cif!r} has an invalid check digit")
    return value
