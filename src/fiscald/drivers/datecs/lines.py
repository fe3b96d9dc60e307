"""How receipt lines look on the wire, per protocol variant: a sale (49), a subtotal with its discount (51), free
text (54 / 42) wrapped at the model's columns. Every text is checked against the model's code page here, before
anything is sent, so a receipt the register could not print is refused whole."""

from __future__ import annotations

from dataclasses import dataclass

from fiscald.drivers.datecs import commands as c
from fiscald.drivers.datecs.models import VAT_LETTERS, ModelSpec, encode_text
from fiscald.operations import models as m
from fiscald.operations.totals import ReceiptTotals


@dataclass(frozen=True)
class Lines:
    syntax: c.Syntax
    spec: ModelSpec

    def wrap(self, text: str, field: str, width: int) -> list[str]:
        """A text line, checked against the code page, in pieces of ``width`` characters (one device line each)."""
        mapped = encode_text(text, self.spec, field).decode(self.spec.codepage)
        return [mapped[i:i + width] for i in range(0, len(mapped), width)] or [""]

    def sale(self, item: m.ItemLine, letter: str, where: str) -> str:
        name = encode_text(item.description, self.spec, f"{where}.description").decode(self.spec.codepage)
        name = name[:self.spec.item_text]
        qty = item.quantity_thousandths
        price = item.unit_price_cents if qty > 0 else -item.unit_price_cents
        d = item.discount
        if self.syntax.x:
            kind, value = "", ""
            if d is not None:
                amount = isinstance(d, m.AmountDiscount)
                kind = c.DISCOUNT_TYPES[(d.is_surcharge, amount)]
                value = c.money(d.amount_cents if isinstance(d, m.AmountDiscount) else d.basis_points)
            dept = str(item.department) if item.department is not None and item.department <= 99 else "0"
            fields = [name, str(VAT_LETTERS.index(letter) + 1), c.money(price), c.quantity(abs(qty)), kind, value,
                      dept]
            if item.um:
                fields.append(encode_text(item.um, self.spec, f"{where}.um").decode(self.spec.codepage)[:6])
            return self.syntax.args(*fields)
        lines = name[:36] + (("\n" + name[36:]) if len(name) > 36 else "")
        text = f"{lines}\t{letter}{c.money(price)}*{c.quantity(abs(qty))}"
        if item.um:
            text += "#" + encode_text(item.um, self.spec, f"{where}.um").decode(self.spec.codepage)
        if d is not None:
            sign = "" if d.is_surcharge else "-"
            if isinstance(d, m.AmountDiscount):
                text += f";{sign}{c.money(d.amount_cents)}"
            else:
                text += f",{sign}{c.money(d.basis_points)}"
        return text

    def subtotal(self, discount: m.PercentDiscount | m.AmountDiscount | None) -> str:
        if self.syntax.x:
            if discount is None:
                return self.syntax.args("1", "0", "", "")
            amount = isinstance(discount, m.AmountDiscount)
            value = discount.amount_cents if isinstance(discount, m.AmountDiscount) else discount.basis_points
            return self.syntax.args("1", "0", c.DISCOUNT_TYPES[(discount.is_surcharge, amount)], c.money(value))
        if discount is None:
            return "10"
        sign = "" if discount.is_surcharge else "-"
        if isinstance(discount, m.AmountDiscount):
            return f"10;{sign}{c.money(discount.amount_cents)}"
        return f"10,{sign}{c.money(discount.basis_points)}"

    def free_text(self, text: str) -> str:
        return self.syntax.args(text, "", "", "", "", "") if self.syntax.x else text

    def plan(self, params: m.PrintReceiptParams, totals: ReceiptTotals) -> list[tuple[int, str, str]]:
        """(command, data, journal text) of every line between opening and the final subtotal."""
        plan: list[tuple[int, str, str]] = []
        width = self.spec.columns - 2
        if params.buyer is not None and params.flags.print_buyer_cif:
            for piece in self.wrap(f"CIF: {params.buyer.cif}", "params.buyer.cif", width):
                plan.append((c.FISCAL_TEXT, self.free_text(piece), piece))
        letters = {item.index: item.vat_letter for item in totals.items}
        for index, line in enumerate(params.lines):
            field = f"params.lines.{index}"
            if isinstance(line, m.ItemLine):
                data = self.sale(line, letters[index], field)
                qty = line.quantity_thousandths
                plan.append((c.SALE, data, f"{line.description} {c.quantity(qty)} x "
                                           f"{c.money(line.unit_price_cents)} {letters[index]}"))
            elif isinstance(line, m.TextLine):
                for piece in self.wrap(line.text, f"{field}.text", width):
                    plan.append((c.FISCAL_TEXT, self.free_text(piece), piece))
            else:
                plan.append((c.SUBTOTAL, self.subtotal(line.discount), "SUBTOTAL"))
        return plan

