"""42-column printouts of the Simulated register: receipts, non-fiscal documents and reports."""

from __future__ import annotations

from typing import Any

from fiscald.operations.models import AmountDiscount, ItemLine, PrintReceiptParams, TextLine
from fiscald.operations.totals import ReceiptTotals

WIDTH = 42

PAYMENT_LABELS = {
    "cash": "NUMERAR",
    "card": "CARD",
    "credit": "CREDIT",
    "meal_voucher": "TICHETE MASA",
    "value_voucher": "TICHETE VALORICE",
    "voucher": "VOUCHER",
    "modern_payment": "PLATA MODERNA",
    "other": "ALTE METODE",
}


def money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    return f"{sign}{whole}.{frac:02d}"


def quantity(thousandths: int) -> str:
    sign = "-" if thousandths < 0 else ""
    whole, frac = divmod(abs(thousandths), 1000)
    return f"{sign}{whole}.{frac:03d}"


def rate(bp: int) -> str:
    return f"{bp // 100}.{bp % 100:02d}%"


class Printout:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def center(self, text: str) -> None:
        self.lines.append(text[:WIDTH].center(WIDTH).rstrip())

    def left(self, text: str) -> None:
        for start in range(0, max(len(text), 1), WIDTH):
            self.lines.append(text[start:start + WIDTH])

    def pair(self, left: str, right: str) -> None:
        room = WIDTH - len(right) - 1
        self.lines.append(f"{left[:room]:<{room}} {right}")

    def rule(self) -> None:
        self.lines.append("-" * WIDTH)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def header(p: Printout, shop: str, serial: str) -> None:
    p.center(shop)
    p.center(f"SERIE {serial}")
    p.rule()


def footer(p: Printout, title: str, number: int, fiscal_day: int, when: str, serial: str) -> None:
    p.rule()
    p.pair(f"{title} {number}", f"Z {fiscal_day}")
    p.left(when.replace("T", " ")[:19])
    p.center(f"ID {serial}")


def receipt(params: PrintReceiptParams, totals: ReceiptTotals, *, shop: str, serial: str, number: int,
            fiscal_day: int, when: str, voided: bool, non_fiscal: bool,
            pos_transactions: list[dict[str, Any]]) -> str:
    p = Printout()
    header(p, shop, serial)
    if params.buyer is not None and params.flags.print_buyer_cif:
        p.left(f"CIF CUMPARATOR: {params.buyer.cif}")
        if params.buyer.name:
            p.left(params.buyer.name)
        if params.buyer.address:
            p.left(params.buyer.address)
        p.rule()
    items = {item.index: item for item in totals.items}
    subtotals = {s.index: s for s in totals.subtotals}
    for index, line in enumerate(params.lines):
        if isinstance(line, ItemLine):
            item = items[index]
            p.left(line.description)
            unit = f" {line.um}" if line.um else ""
            label = "STORNO " if line.quantity_thousandths < 0 else ""
            p.pair(f"  {label}{quantity(line.quantity_thousandths)}{unit} x {money(line.unit_price_cents)}",
                   f"{money(item.value_cents)} {item.vat_letter}")
            if item.adjustment_cents:
                p.pair(_discount_label(line.discount, item.adjustment_cents), money(item.adjustment_cents))
        elif isinstance(line, TextLine):
            p.left(line.text[:WIDTH])
        else:
            sub = subtotals[index]
            p.pair("SUBTOTAL", money(sub.amount_cents))
            if sub.adjustment_cents:
                p.pair(_discount_label(line.discount, sub.adjustment_cents), money(sub.adjustment_cents))
    if totals.receipt_adjustment_cents:
        p.pair(_discount_label(params.receipt_discount, totals.receipt_adjustment_cents),
               money(totals.receipt_adjustment_cents))
    p.rule()
    p.pair("TOTAL", money(totals.total_cents))
    if voided:
        p.center("*** BON ANULAT ***")
        _card_lines(p, pos_transactions)
    else:
        for payment in totals.payments:
            p.pair(PAYMENT_LABELS[payment.type], money(payment.amount_cents))
        _card_lines(p, pos_transactions)
        if totals.change_cents:
            p.pair("REST", money(totals.change_cents))
        p.rule()
        vat_sum = 0
        for letter, vat in sorted(totals.vat_totals.items()):
            p.pair(f"TVA {letter} {rate(vat.rate_basis_points)}", money(vat.vat_cents))
            vat_sum += vat.vat_cents
        p.pair("TOTAL TVA", money(vat_sum))
    if non_fiscal:
        p.center("NEFISCAL")
    footer(p, "BON FISCAL" if not non_fiscal else "DOCUMENT", number, fiscal_day, when, serial)
    return p.text()


def _card_lines(p: Printout, pos_transactions: list[dict[str, Any]]) -> None:
    """What the linked POS terminal answered for the card payments (approved or refused)."""
    for tx in pos_transactions:
        if tx.get("approved"):
            p.pair(f"  {tx['card_brand']} {tx['card_masked'][-4:]}", f"AUTH {tx['auth_code']}")
        else:
            p.pair("  CARD REFUZAT", f"COD {tx['error']['status']}")


def _discount_label(discount: Any, adjustment: int) -> str:
    kind = "ADAOS" if adjustment > 0 else "REDUCERE"
    if discount is None or isinstance(discount, AmountDiscount):
        return kind
    return f"{kind} {rate(discount.basis_points)}"


def simple_document(title: str, body: list[str], *, shop: str, serial: str, number: int, fiscal_day: int,
                    when: str) -> str:
    p = Printout()
    header(p, shop, serial)
    p.center(title)
    for line in body:
        p.left(line[:WIDTH])
    footer(p, "DOCUMENT", number, fiscal_day, when, serial)
    return p.text()


def report(title: str, totals: dict[str, Any], *, shop: str, serial: str, number: int, fiscal_day: int,
           when: str) -> str:
    p = Printout()
    header(p, shop, serial)
    p.center(title)
    p.rule()
    p.pair("BONURI FISCALE", str(totals["receipts_count"]))
    p.pair("BONURI ANULATE", str(totals["voided_count"]))
    for letter, vat in sorted(totals["vat_totals"].items()):
        p.pair(f"TOTAL {letter} {rate(vat['rate_basis_points'])}", money(vat["base_cents"] + vat["vat_cents"]))
        p.pair(f"  TVA {letter}", money(vat["vat_cents"]))
    p.pair("TOTAL", money(totals["total_cents"]))
    p.rule()
    for kind, cents in sorted(totals["payments"].items()):
        p.pair(PAYMENT_LABELS.get(kind, kind.upper()), money(cents))
    p.pair("INTRODUCERI NUMERAR", money(totals["cash_in_cents"]))
    p.pair("EXTRAGERI NUMERAR", money(totals["cash_out_cents"]))
    footer(p, title, number, fiscal_day, when, serial)
    return p.text()
