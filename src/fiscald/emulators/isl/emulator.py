"""An ISL register (Daisy, Eltrade, Incotex) on the wire: the Datecs emulator's line (framing, NAK, SYN, the
repeated-SEQ rule, wire faults, /simulate) and the public fiscal rules (emulators/rules.py), answering with one
brand's tables (brand.py and its brand file). Nothing here names a brand: what differs is a table entry.

Requests are parsed as the brand's manual writes them; a refusal is an empty reply (``F`` where the manual has
an exit code) with the brand's status bits and, where byte 3 carries one, its error number.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fiscald.drivers.isl import framing
from fiscald.emulators.datecs import dialects as d
from fiscald.emulators.datecs.emulator import DatecsEmulator, Reply, Syntax, parse_amount, signed_cents
from fiscald.emulators.isl.brand import LATIN, Brand, Function
from fiscald.emulators.rules import Refusal, Rule
from fiscald.emulators.wire import money

UNP = re.compile(r"[0-9A-Z]{8}-[0-9A-Z]{4}-[0-9]{7,}")  # [DY] p.14, [ED] p.23, [IN] p.11
EIK = "175074752"  # the emulated owner's EIK (a well-formed Bulgarian 9-digit code)
PROGRAMMED_DEPARTMENTS = 8  # departments 1..8 sell in VAT groups А..З (UNVERIFIED: a register's own programming)
NOT_PERMITTED: tuple[d.Bit, ...] = ((1, 1),)


def dialect_of(brand: Brand) -> d.Dialect:
    """The brand as the Datecs-old dialect its line and rules run on (old framing, comma replies)."""
    return d.Dialect(f"{brand.name}-{brand.dialect}", framing.OLD, x=False, payments=brand.payments, cash_code="P",
                     factory_password=brand.factory_password, lock_after=brand.lock_after,
                     max_sales=brand.max_sales, item_lines=2, item_width=brand.item_width,
                     units=bool(brand.unit_mark), tax_letters=brand.tax_letters, counters_since_z=True,
                     amounts_in_cents=brand.amounts == "stotinki", client_taxn=False, nsale=True,
                     codepage=brand.codepage, free_text=brand.comment_width, country=brand.country)


class IslEmulator(DatecsEmulator):
    def __init__(self, brand: Brand, model: str, data_dir: Path, baud: int | None = None) -> None:
        super().__init__(d.Model(model, dialect_of(brand), brand.models[model]), data_dir, baud, brand.maker)
        self.brand = brand
        self.status_table = brand.status  # [DY] p.6-7, [ED] p.4-6, [IN] p.5-6
        digits = int(hashlib.sha256(self.device_id.encode()).hexdigest(), 16) % 1_000_000
        self.serial = f"{brand.serial_prefix}{digits:06d}"  # two letters and six digits
        self.fm_number = f"{brand.fm_prefix}{digits:06d}"  # eight digits
        functions: dict[Function, Callable[[str], Awaitable[Reply]]] = {
            "open": self._open_receipt, "sale": self._sale, "department_sale": self._department_sale,
            "subtotal": self._subtotal, "payment": self._payment, "text": self._text, "close": self._close,
            "cancel": self._cancel, "void_receipt": self._void_receipt, "set_datetime": self._set_datetime,
            "get_datetime": self._get_datetime, "report": self._report, "cash": self._cash,
            "status": self._status_read, "transaction": self._transaction, "diagnostic": self._diagnostic,
            "tax_number": self._tax_number, "last_document": self._last_document, "drawer": self._drawer,
            "duplicate": self._duplicate, "open_non_fiscal": self._open_non_fiscal,
            "non_fiscal_text": self._non_fiscal_text, "close_non_fiscal": self._close_non_fiscal,
            "constants": self._constants, "vat_rates": self._vat_rates, "last_fiscal": self._last_fiscal,
            "fm_by_date": self._fm_by_date, "fm_by_number": self._fm_by_number,  # StartDate,EndDate DDMMYY / Num,Num
        }
        self._handlers = {code: functions[function] for code, function in brand.commands.items()}

    # -- replies ------------------------------------------------------------------------------------
    def _refused(self, seq: int, cmd: int, rule: Rule) -> bytes:
        refusals = self.brand.refusals
        status = self.status(*refusals.bits.get(rule, NOT_PERMITTED), error=refusals.numbers.get(rule, 0))
        data = self._encode(self._old_refusal(cmd))
        return framing.reply(self.variant, seq, cmd, data, status)

    def _amount(self, cents: int, width: int = 0) -> str:
        """An amount in a reply: ``12.34``, or stotinki (with a sign where the manual gives a width)."""
        if self.brand.amounts == "decimal":
            return money(cents)
        return signed_cents(cents, width) if width else str(cents)

    def _layout(self, name: str, values: dict[str, str]) -> list[str]:
        return [values[field] if field in values else field.format(**values) for field in self.brand.layouts[name]]

    def _counters(self, opening: bool = False) -> dict[str, str]:
        extra = 1 if opening else 0
        return {"all": str(self.rules.documents_since_z + extra), "fiscal": str(self.rules.receipts_since_z + extra),
                "unp": self.rules.book.settings.get("unp", "")}

    # -- request parsing ----------------------------------------------------------------------------
    def _vat(self, code: str) -> str:
        letters = self.brand.tax_letters
        if len(code) != 1 or code not in letters:
            raise Syntax(f"TaxGr {code!r}")
        return LATIN[letters.index(code)]

    def _department(self, text: str) -> str:
        if not text.isdigit() or not 1 <= int(text) <= self.brand.departments:
            raise Syntax(f"Dept {text!r}")
        if int(text) > PROGRAMMED_DEPARTMENTS:
            raise Refusal(Rule.NOT_PERMITTED, f"department {text} is not programmed")
        return LATIN[int(text) - 1]

    def _item_name(self, text: str) -> str:
        lines = text.split("\n")
        if len(lines) > 2:
            raise Syntax("item text: two lines at most")
        name = " ".join(line[:self.brand.item_width].strip() for line in lines).strip()  # longer text is cut
        if not name:
            raise Syntax("empty item text")
        return name

    def _modifier(self, mark: str, value: str) -> dict[str, Any]:
        cents = parse_amount(value.lstrip("+"))
        if cents == 0:
            raise Syntax("discount 0")
        if mark == ",":
            if abs(cents) >= 100_00:
                raise Syntax("percent 0.01..99.99")
            return {"kind": "percent", "basis_points": abs(cents), "is_surcharge": cents > 0}
        return {"kind": "amount", "amount_cents": abs(cents), "is_surcharge": cents > 0}

    def _marked(self, text: str, marks: str) -> tuple[str, dict[str, str]]:
        """``head`` and the fields after each mark (``*12,-5`` -> {"*": "12", ",": "-5"}); a mark at most once."""
        head, *parts = re.split(f"([{re.escape(marks)}])", text)
        fields: dict[str, str] = {}
        for mark, value in zip(parts[::2], parts[1::2], strict=True):
            if mark in fields:
                raise Syntax(f"{mark!r} twice")
            fields[mark] = value
        return head, fields

    def _sale_line(self, name: str, letter: str, price_text: str, fields: dict[str, str]) -> dict[str, Any]:
        """A sale: ``[Sign]Price``, ``*QTY``, ``,Percent`` or the brand's absolute discount, its unit mark."""
        abs_mark = self.brand.absolute_discount
        if "," in fields and abs_mark in fields:
            raise Syntax("Percent and Abs at one time")  # [DY] p.15, [ED] p.10, [IN] p.13
        price = parse_amount(price_text.lstrip("+"))
        qty = parse_amount(fields["*"], 3) if "*" in fields else 1000
        if qty <= 0 or price == 0:
            raise Syntax("QTY / Price")
        line: dict[str, Any] = {"type": "item", "description": name, "quantity_thousandths": -qty if price < 0 else qty,
                                "unit_price_cents": abs(price), "vat": letter}
        for mark in (",", abs_mark):
            if mark in fields and price > 0:  # a correction ('-') ignores them [DY] p.15, [IN] p.13
                line["discount"] = self._modifier(mark, fields[mark])
        unit = fields.get(self.brand.unit_mark, "") if self.brand.unit_mark else ""
        if unit:
            if len(unit) > 8:
                raise Syntax("unit: up to 8 characters")
            line["um"] = unit
        return line

    # -- the fiscal receipt -------------------------------------------------------------------------
    async def _open_receipt(self, text: str) -> Reply:
        syntax = self.brand.open_syntax
        head, tab, tail = text.partition("\t")
        f = head.split(",")
        invoice = refund = False
        if syntax == "operator_password_unp":  # [DY] p.14 {ClerkNum},{Password},{UnicSaleNum}[{Tab}...]
            if len(f) != 3 or not f[1].isdigit() or not 1 <= len(f[1]) <= 6:
                raise Syntax("ClerkNum,Password,UnicSaleNum")
            operator, password, unp = f[0], f[1], f[2]
            invoice, refund = tail == "I", bool(tail) and tail != "I"
            if refund and not re.fullmatch(r"R[012],[^,]+,[^,\t]+\t\S+|C.+", tail):
                raise Syntax("Refund: R{Reason},{DocLink},{DocLinkDT}{Tab}{FiskMem}")
        elif syntax == "operator_name_unp":  # [ED] p.23 <OperName>,<UNP>[,I|,S,<FMIN>,<Reason>,<num>[,...]]
            if tab or len(f) < 2 or not f[0] or len(f[0]) > self.brand.item_width:
                raise Syntax("OperName,UNP")
            operator, unp, rest = "1", f[1], f[2:]  # the name is printed; operator 1's registers (UNVERIFIED)
            password = self.rules.password(1)
            invoice, refund = rest == ["I"], bool(rest) and rest[0] == "S"
            if rest and not invoice and not (refund and len(rest) >= 4 and rest[2] in ("O", "R", "T")):
                raise Syntax("Type I, or S,FMIN,Reason O/R/T,num")
        else:  # [IN] p.11 <OpNum>,<UNP>,<RevDocNo>[,<F1>[<F2><RevInvoiceNo>,<dd-mm-yy hh:mm:ss>,<FMNo>]]
            if tab or len(f) < 3 or not f[2].isdigit():
                raise Syntax("OpNum,UNP,RevDocNo")
            operator, unp, rest = f[0], f[1], f[3:]
            password = self.rules.password(int(operator)) if operator.isdigit() else ""
            invoice = rest == ["I"]
            refund = not invoice and (f[2] != "0" or bool(rest))
            if refund and not (len(rest) == 3 and re.fullmatch(r"([RSV])\1\d+|I[RSV]\d+", rest[0])):
                raise Syntax("F1 F2 R/S/V, RevInvoiceNo, date, FM number")
        if not operator.isdigit() or not 1 <= int(operator) <= 30:
            raise Syntax("operator 1..30")
        if not UNP.fullmatch(unp):
            raise Syntax(f"UNP {unp!r}")  # [DY] p.14: a missing or wrong UNP is refused
        if invoice:
            raise Refusal(Rule.NOT_PERMITTED, "no invoice range is set")
        if refund:
            raise Refusal(Rule.NOT_PERMITTED, "storno receipts are not emulated")
        self.rules.open_receipt(int(operator), password)
        self.rules.book.settings["unp"] = unp
        self.rules.save()
        return self._layout("open", self._counters(opening=True))

    async def _sale(self, text: str) -> Reply:
        """31h ``[Text1][LF Text2] TAB TaxGr [Sign]Price[*QTY][,Perc|<abs>Abs][<unit>Unit]`` ([DY] p.15,
        [ED] p.10, [IN] p.12); where the brand has it, ``... TAB Dept TAB [Sign]Price...`` ([ED] p.10)."""
        name_text, tab, rest = text.partition("\t")
        if not tab:
            raise Syntax("no TAB before the tax group")
        if "\t" in rest:
            if not self.brand.sale_department_form:
                raise Syntax("no department form in this command")
            department, _, rest = rest.partition("\t")
            letter = self._department(department)
        else:
            letter, rest = self._vat(rest[:1]), rest[1:]
        marks = "*," + self.brand.absolute_discount + self.brand.unit_mark
        price_text, fields = self._marked(rest, marks)
        self.rules.sell(self._sale_line(self._item_name(name_text), letter, price_text, fields))
        return []

    async def _department_sale(self, text: str) -> Reply:
        """8Ah ``[Sign]Dept@Price[*QTY][,Perc][$Abs]`` ([DY] p.34) / ``[Sign]Dept[*QTY][,Perc|;Abs][@Price]``
        ([IN] p.27): the fields may come in either order."""
        head, fields = self._marked(text, "@*," + self.brand.absolute_discount)
        sign = head[:1] if head[:1] in "+-" else ""
        letter = self._department(head[len(sign):])
        if "@" not in fields:
            raise Refusal(Rule.NOT_PERMITTED, "no programmed price: send @Price")  # UNVERIFIED
        line = self._sale_line(f"Dept {int(head[len(sign):])}", letter, sign + fields.pop("@"), fields)
        self.rules.sell(line)
        return []

    async def _subtotal(self, text: str) -> Reply:
        """33h ``<Print><Display>[,Perc|<abs>Abs]`` -> SubTotal,Tax1..Tax8 ([DY] p.16, [ED] p.11, [IN] p.13)."""
        if len(text) < 2 or text[0] not in "01" or text[1] not in "01":
            raise Syntax("Print and Display: 0 or 1")
        rest = text[2:]
        discount = None
        if rest:
            mark, value = rest[0], rest[1:]
            if mark not in ("," + self.brand.absolute_discount):
                raise Syntax(f"subtotal modifier {rest!r}")
            discount = self._modifier(mark, value)
        total, groups = self.rules.subtotal(discount)
        return [self._amount(total), *(self._amount(groups.get(letter, 0)) for letter in LATIN)]

    async def _payment(self, text: str) -> Reply:
        """35h ``[Text1][LF Text2] TAB [[Payment][+]Amount]`` -> PaidCode Amount ([DY] p.16-17, [ED] p.12,
        [IN] p.14-15); nothing after the TAB pays the rest in cash."""
        _, tab, rest = text.partition("\t")
        if not tab:
            raise Syntax("no TAB")
        code = "P"
        if rest and not (rest[0].isdigit() or rest[0] in "+-."):
            code, rest = rest[0], rest[1:]
        if code not in self.brand.payments:
            raise Syntax(f"Payment {code!r}")  # not a payment this register has
        amount = parse_amount(rest.lstrip("+")) if rest else None
        due = self.rules.pay(self.brand.payments[code], code, amount)
        flag, value = ("R", -due) if due < 0 else ("D", due)  # D: paid <= total ([DY] p.17, [IN] p.15)
        return [f"{flag}{self._amount(value, 9)}"]

    async def _close(self, text: str) -> Reply:
        await self.rules.close()
        return self._layout("close", self._counters())

    async def _void_receipt(self, text: str) -> Reply:
        """82h: every sale voided, 0.00 paid in cash, the receipt closed ([DY] p.32, [IN] p.26); after a payment
        it is refused like 3Ch (UNVERIFIED)."""
        await self.rules.cancel()
        return self._layout("cancel", self._counters())

    async def _transaction(self, text: str) -> Reply:
        """4Ch ``[T]`` ([DY] p.22, [ED] p.17, [IN] p.19)."""
        if text not in ("", "T"):
            raise Syntax("Option: T")
        t = self.rules.transaction()
        values = {"is_open": "1" if t.is_open else "0", "items": str(t.items), "amount": self._amount(t.amount, 9),
                  "paid": self._amount(t.paid, 9), "remainder": self._amount(max(t.amount - t.paid, 0), 9)}
        return self._layout("transaction_t" if text == "T" else "transaction", values)

    # -- reports, cash, information -------------------------------------------------------------------
    async def _report(self, text: str) -> Reply:
        """45h ``[Option][N]`` ([DY] p.20-21, [ED] p.15-16, [IN] p.18)."""
        option = text[:-1] if text[-1:] in ("N", "a") else text
        kind = self.brand.report_options.get(option)
        if kind is None:
            raise Syntax(f"Option {text!r}")
        if kind == "periodic":  # printed from the fiscal memory, nothing booked, no data [DY] p.21, [IN] p.18
            self.rules.printable()
            return []
        report = await self.rules.report(kind == "Z")
        gross = report.gross
        values = {"nrep": str(report.number), "fm_total": self._amount(sum(gross.values()), 12),
                  "zero": self._amount(0, 12)}
        for letter in LATIN:
            values[f"tot_{letter}"] = self._amount(gross.get(letter, 0), 12)
            values[f"net_{letter}"] = self._amount(gross.get(letter, 0) - report.vat.get(letter, 0), 12)
            values[f"stor_{letter}"] = self._amount(0, 12)
        return self._layout("report", values)

    async def _cash(self, text: str) -> Reply:
        """46h ``[Amount][,Text|,OpNum]`` -> Code,CashSum,ServIn,ServOut ([DY] p.21, [ED] p.16, [IN] p.18)."""
        amount_text = text.partition(",")[0]
        signed = parse_amount(amount_text.lstrip("+")) if amount_text else 0
        code = "P"
        try:
            cash, cash_in, cash_out = await self.rules.cash(signed)
        except Refusal as exc:
            if exc.rule not in (Rule.NO_CASH, Rule.RECEIPT_OPEN, Rule.NON_FISCAL_OPEN):
                raise
            code, (cash, cash_in, cash_out) = "F", self.rules.drawer()
        return self._layout("cash", {"code": code, "cash": self._amount(cash), "cash_in": self._amount(cash_in),
                                     "cash_out": self._amount(cash_out)})

    async def _status_read(self, text: str) -> Reply:
        if text not in ("", "W", "X"):
            raise Syntax("Option W or X")  # [ED] p.17, [IN] p.19
        return self.status() if self.brand.status_data else []

    async def _diagnostic(self, text: str) -> Reply:
        """5Ah ``[1]``: the brand's layout, serial and fiscal memory numbers ([DY] p.23, [ED] p.19, [IN] p.20)."""
        if text not in ("", "0", "1"):
            raise Syntax("Calculate: 1")
        values = {"model": self.model.name, "checksum": "A1B2" if text == "1" else "FFFF", "serial": self.serial,
                  "fm": self.fm_number}
        return self._layout("diagnostic", values)

    async def _tax_number(self, text: str) -> Reply:
        return self._layout("tax_number", {"eik": EIK, "serial": self.serial})

    async def _last_document(self, text: str) -> Reply:
        return self._layout("last_document", {"document": f"{self.rules.document_number:07d}"})

    async def _get_datetime(self, text: str) -> Reply:
        return self._layout("datetime", {"date_time": self._datetime_text()})

    async def _drawer(self, text: str) -> Reply:
        low, high = self.brand.drawer_ms
        if text and not (text.isdigit() and low <= int(text) <= high):
            raise Syntax(f"mSec {low}..{high}")
        await self.rules.run("open_drawer")
        return []

    async def _duplicate(self, text: str) -> Reply:
        """6Dh ``1``: a copy of the last receipt ([DY] p.29, [ED] p.23, [IN] p.24: once only on Incotex)."""
        last = str(self.rules.book.last.number)
        if self.brand.duplicate_once and self.rules.book.settings.get("duplicated") == last:
            raise Refusal(Rule.NOT_PERMITTED, "the duplicate of this receipt was printed")
        await super()._duplicate(text)
        self.rules.book.settings["duplicated"] = last
        self.rules.save()
        return []

    async def _constants(self, text: str) -> Reply:
        values = {"columns": str(self.columns), "comment": str(self.brand.comment_width),
                  "names": str(self.brand.item_width)}
        return [values.get(field, field) for field in self.brand.constants]

    async def _vat_rates(self, text: str) -> Reply:
        """61h: TaxA..TaxH as XX.XX ([DY] p.25, [ED] p.20, [IN] :1000-1004); a disabled group 100.00 (UNVERIFIED: no
        manual says how a disabled group reads)."""
        rates = self.rules.vat_rates
        return [money(rates[letter]) if letter in rates else "100.00" for letter in LATIN]

    async def _last_fiscal(self, text: str) -> Reply:
        """The last Z in the fiscal memory, in the brand's ``last_fiscal`` layout: Daisy 40h [T] ([DY] p.19),
        Incotex 40h ([IN] :771-780), Eltrade 6Eh's Closure ([ED] p.23)."""
        book = self.rules.book
        state = self.register.state
        when = dt.datetime.fromisoformat(book.last_z_at) if book.last_z_at else self.rules.now()
        values = {"nrep": str(state.z_number), "date": when.strftime("%d%m%y"), "zero": self._amount(0, 12),
                  "next": str(self.rules.receipts_since_z + 1)}
        for letter in LATIN:
            values[f"tot_{letter}"] = self._amount(book.last_z_vat.get(letter, 0), 12)
        return self._layout("last_fiscal", values)
