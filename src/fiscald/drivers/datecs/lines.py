"""How receipt lines look on the wire, per dialect: a sale (49), a subtotal with its discount (51), free text
(54 / 42) wrapped at the device's columns. Every text is checked against the model's code page and widths here,
before anything is sent, so a receipt the register could not print is refused whole (never cut short)."""

from __future__ import annotations

from dataclasses import dataclass

from fiscald.drivers.datecs import commands as c
from fiscald.drivers.datecs.models import VAT_LETTERS, ModelSpec, encode_text
from fiscald.errors import Code, FiscalError
from fiscald.operations import models as m
from fiscald.operations.totals import ReceiptTotals


@dataclass(frozen=True)
class Lines:
    syntax: c.Syntax
    spec: ModelSpec
    columns: int  # the device's printable columns (X: PrintColumns, read at connect where it varies)

    @property
    def text_width(self) -> int:
        """Characters of one free-text line: PrintColumns - 2 [X p.12]; C 36 [C p.15]."""
        limit = self.spec.dialect.free_text_max
        return min(self.columns - 2, limit) if limit is not None else self.columns - 2

    def wrap(self, text: str, field: str, width: int) -> list[str]:
        """A text line, checked against the code page, in pieces of ``width`` characters (one device line each)."""
        mapped = encode_text(text, self.spec, field).decode(self.spec.codepage)
        return [mapped[i:i + width] for i in range(0, len(mapped), width)] or [""]

    def sale(self, item: m.ItemLine, letter: str, where: str) -> str:
        name = encode_text(item.description, self.spec, f"{where}.description").decode(self.spec.codepage)
        room = self.spec.item_text * self.spec.item_lines
        if len(name) > room:  # X PluName 72 [X p.9]; C L1+L2 2 x 22 [C p.11]; P 2 x 42 [P p.17]
            raise FiscalError(Code.CONFIG, f"{where}.description: a {self.spec.name} prints at most {room} "
                                           f"characters of an item's description, this one has {len(name)}")
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
            if item.um:  # Syntax 2: Unit, up to 6 characters [X p.9]
                fields.append(self._unit(item.um, where, 6))
            return self.syntax.args(*fields)
        width = self.spec.item_text
        lines = name[:width] + (("\n" + name[width:]) if len(name) > width else "")
        text = f"{lines}\t{letter}{c.money(price)}*{c.quantity(abs(qty))}"
        if item.um and self.spec.dialect.item_units:  # P: #UN, up to 8 [P p.17]; C has no unit [C p.11]
            text += "#" + self._unit(item.um, where, 8)
        if d is not None:
            sign = "" if d.is_surcharge else "-"
            if isinstance(d, m.AmountDiscount):
                text += f";{sign}{c.money(d.amount_cents)}"
            else:
                text += f",{sign}{c.money(d.basis_points)}"
        return text

    def _unit(self, um: str, where: str, limit: int) -> str:
        unit = encode_text(um, self.spec, f"{where}.um").decode(self.spec.codepage)
        if len(unit) > limit:
            raise FiscalError(Code.CONFIG, f"{where}.um: a {self.spec.name} takes units of at most {limit} "
                                           "characters")
        return unit

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
        width = self.text_width
        # Romanian firmware takes the buyer's CIF in 48 (ClientTAXN: a simplified invoice) [DUDE] [RO]; elsewhere
        # it is printed as a text line
        if params.buyer is not None and params.flags.print_buyer_cif and not self.spec.dialect.ro_receipt:
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

