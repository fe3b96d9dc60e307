// An X or Z report's answer as a printout a person reads: totals per VAT group, payments and counts in lei,
// and the receipt numbers of the day (from the journal); the raw answer stays one click away.

import { get, query } from "./api.js";
import { h, json, money, percent, when } from "./dom.js";
import { t } from "./i18n.js";

// The first and last receipt number of fiscal day `day`: the journal's receipts and voids since the Z before it.
export async function dayReceiptNumbers(deviceId, since, day) {
  const journal = await get(`/devices/${deviceId}/journal${query({ kind: "receipt,void", from: since })}`);
  const numbers = journal.entries.filter((e) => e.fiscal_day === day && e.number !== null).map((e) => e.number);
  if (!numbers.length) return null;
  return { first: Math.min(...numbers), last: Math.max(...numbers) };
}

function facts(rows) {
  return h("dl", { class: "facts" }, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

export function reportView(kind, result, receipts) {
  const title = kind === "z_report" && result.z_number !== undefined
    ? t("report_z_title", { n: result.z_number }) : t(kind);
  const groups = Object.entries(result.vat_totals || {}).sort(([a], [b]) => a.localeCompare(b));
  let base = 0;
  let vat = 0;
  for (const [, g] of groups) {
    base += g.base_cents;
    vat += g.vat_cents;
  }
  const payments = Object.entries(result.payments || {}).filter(([, cents]) => cents !== 0);
  return h("section", { class: "report", id: "report-view", "aria-label": title },
    h("h3", {}, title),
    facts([
      [t("fiscal_day"), String(result.fiscal_day)],
      [t("datetime"), when(result.datetime)],
      [t("receipts_count"), String(result.receipts_count)],
      [t("voided_count"), String(result.voided_count)],
      [t("receipt_numbers"), receipts ? t("receipt_range", { first: receipts.first, last: receipts.last }) : "—"],
    ]),
    h("table", { class: "report-table vat-table" },
      h("caption", {}, t("report_vat_caption")),
      h("thead", {}, h("tr", {}, [t("vat_group"), t("vat_rate"), t("vat_base"), t("vat_amount"), t("total")]
        .map((c, i) => h("th", { scope: "col", class: i > 0 ? "num" : null }, c)))),
      h("tbody", {}, groups.map(([letter, g]) => h("tr", {},
        h("th", { scope: "row" }, letter),
        h("td", { class: "num" }, percent(g.rate_basis_points)),
        h("td", { class: "num" }, money(g.base_cents)),
        h("td", { class: "num" }, money(g.vat_cents)),
        h("td", { class: "num" }, money(g.base_cents + g.vat_cents))))),
      h("tfoot", {}, h("tr", {},
        h("th", { scope: "row", colspan: 2 }, t("total")),
        h("td", { class: "num" }, money(base)),
        h("td", { class: "num" }, money(vat)),
        h("td", { class: "num total" }, money(result.total_cents))))),
    h("table", { class: "report-table pay-table" },
      h("caption", {}, t("report_payments_caption")),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("payment_type")), h("th", { scope: "col", class: "num" }, t("amount_lei")))),
      h("tbody", {},
        payments.length ? payments.map(([type, cents]) => h("tr", {},
          h("th", { scope: "row" }, t(`pay_${type}`)), h("td", { class: "num" }, money(cents))))
          : h("tr", {}, h("td", { colspan: 2, class: "muted" }, t("no_payments")))),
      h("tfoot", {},
        h("tr", {}, h("th", { scope: "row" }, t("cash_in")), h("td", { class: "num" }, money(result.cash_in_cents))),
        h("tr", {}, h("th", { scope: "row" }, t("cash_out")), h("td", { class: "num" }, money(result.cash_out_cents))))),
    h("details", { class: "raw" }, h("summary", {}, t("raw_answer")),
      h("pre", { class: "json", tabindex: "0" }, json(result))));
}
