"""Per-model facts of the Datecs registers as tables: protocol variant, payment codes, printable columns,
code page, and the operations a model lacks. Another ISL brand (Daisy, Eltrade, Incotex) is another table
like this one over the same framing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from fiscald.drivers.datecs.framing import OLD, Variant, X
from fiscald.errors import Code, FiscalError

VAT_LETTERS = "ABCDEFGH"

# The payment codes command 53 takes, per protocol, with the device's name for each. Old protocol: a letter
# (I..L are types the shop programs). X protocol: PaidMode 0..5 (3..5 are programmed by the shop); PaidMode 6,
# foreign currency, is not offered: its amount is in another currency than the receipt's.
OLD_CODES: Mapping[str, str] = {
    "P": "cash", "N": "credit", "C": "check", "D": "debit card", "I": "programmed type 1",
    "J": "programmed type 2", "K": "programmed type 3", "L": "programmed type 4", "m": "coupons",
    "n": "external coupons", "o": "packing", "p": "internal use", "q": "damages", "r": "bank",
}
X_CODES: Mapping[str, str] = {
    "0": "cash", "1": "credit card", "2": "debit card (starts an attached pinpad)", "3": "programmed type 1",
    "4": "programmed type 2", "5": "programmed type 3",
}
# our payment type -> the device's payment code, unless the device's configuration remaps it (payment_codes).
OLD_PAYMENTS: Mapping[str, str] = {
    "cash": "P", "card": "D", "credit": "N", "meal_voucher": "m", "value_voucher": "n", "voucher": "I",
    "modern_payment": "J", "other": "K",
}
X_PAYMENTS: Mapping[str, str] = {
    "cash": "0", "card": "1", "credit": "3", "meal_voucher": "4", "value_voucher": "4", "voucher": "4",
    "modern_payment": "5", "other": "5",
}
NO_DRAWER = frozenset({"open_drawer"})


@dataclass(frozen=True)
class ModelSpec:
    name: str
    variant: Variant
    columns: int  # printable characters per line of free text
    payments: Mapping[str, str]  # the default code of each of our payment types
    codes: Mapping[str, str]  # every payment code the device takes -> the device's name for it
    lacking: frozenset[str] = frozenset()
    codepage: str = "cp1250"  # Romanian firmware; Bulgarian firmware uses cp1251
    item_text: int = 72  # characters of an item's description the device takes (old: two lines of 36)


def _old(name: str, columns: int, lacking: frozenset[str] = frozenset()) -> ModelSpec:
    return ModelSpec(name, OLD, columns, OLD_PAYMENTS, OLD_CODES, lacking)


def _x(name: str, columns: int, lacking: frozenset[str] = frozenset()) -> ModelSpec:
    return ModelSpec(name, X, columns, X_PAYMENTS, X_CODES, lacking)


MODELS: dict[str, ModelSpec] = {m.name: m for m in (
    _old("DP-05", 32, NO_DRAWER),
    _old("DP-25", 32),
    _old("DP-35", 32),
    _old("DP-150", 32),
    _old("WP-50", 32, NO_DRAWER),
    _old("FP-550", 42),
    _old("FP-650", 42),
    _old("FP-800", 42),
    _old("FP-2000", 42),
    _x("DP-25X", 32),
    _x("DP-150X", 32),
    _x("WP-50X", 32, NO_DRAWER),
    _x("WP-500X", 48),
    _x("FP-700X", 48),
    _x("FMP-350X", 48),
    _x("FMP-55X", 32),
)}


def model(name: str) -> ModelSpec:
    spec = MODELS.get(name)
    if spec is None:
        raise FiscalError(Code.CONFIG, f"model: {name!r} is not a supported Datecs model")
    return spec


def payment_codes(spec: ModelSpec, remapped: Mapping[str, str] | None) -> Mapping[str, str]:
    """Our payment type -> the code sent in command 53: the device's configured remapping over the model's
    defaults (validated on save against ``spec.codes``)."""
    return {**spec.payments, **(remapped or {})}


def encode_text(text: str, spec: ModelSpec, field: str) -> bytes:
    """Text in the device's code page. Romanian comma-below letters become the cedilla forms cp1250 has;
    a character the code page cannot carry is refused (never printed as '?')."""
    mapped = text.translate(_CEDILLA)
    try:
        return mapped.encode(spec.codepage)
    except UnicodeEncodeError as exc:
        bad = mapped[exc.start]
        raise FiscalError(Code.CONFIG, f"{field}: {bad!r} cannot be printed by a {spec.name} "
                                       f"({spec.codepage})") from None


_CEDILLA = str.maketrans({"ș": "ş", "Ș": "Ş", "ț": "ţ", "Ț": "Ţ"})
