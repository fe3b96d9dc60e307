// Journal viewer: the streamed export of GET /devices/{id}/journal, filtered, paged here, each entry shown as its
// 42-column printout; export buttons; Z reports and the periodic report form.

import { devices, download, get, operation, query } from "../api.js";
import { checkbox, clear, errorBox, field, h, money, report, select, when } from "../dom.js";
import { t } from "../i18n.js";

const PAGE_SIZE = 10;
const KINDS = ["receipt", "void", "non_fiscal", "cash_in", "cash_out", "x_report", "z_report", "periodic_report",
  "duplicate", "pos_sale", "pos_refund", "pos_void", "pos_settlement"];

function today() {
  const now = new Date();
  const pad = (n) => String(n).padStart(2, "0");
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

function entryView(entry) {
  const title = `${t(`kind_${entry.kind}`)} ${entry.number ?? ""} · ${when(entry.datetime)}` +
    (entry.total_cents === null || entry.total_cents === undefined ? "" : ` · ${money(entry.total_cents)}`);
  return h("article", { class: "entry", dataset: { kind: entry.kind, number: entry.number } },
    h("h3", {}, title),
    h("pre", { class: "paper", tabindex: "0", "aria-label": title }, entry.text));
}

function paged(box, entries) {
  const newestFirst = [...entries].reverse();
  const pages = Math.max(1, Math.ceil(newestFirst.length / PAGE_SIZE));
  let page = 0;
  const list = h("div", { class: "entries" });
  const label = h("span", { class: "page-label", "aria-live": "polite" });
  const prev = h("button", { type: "button", onclick: () => go(page - 1) }, t("previous"));
  const next = h("button", { type: "button", onclick: () => go(page + 1) }, t("next"));
  const go = (n) => {
    page = Math.min(Math.max(n, 0), pages - 1);
    clear(list, newestFirst.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE).map(entryView));
    label.textContent = t("page_of", { page: page + 1, pages });
    prev.disabled = page === 0;
    next.disabled = page >= pages - 1;
  };
  clear(box,
    h("p", { id: "journal-count" }, t("entries_found", { count: entries.length })),
    entries.length ? h("nav", { class: "pager", "aria-label": t("pages") }, prev, label, next) : null,
    list);
  go(0);
}

function reportsTable(reports) {
  if (!reports.length) return h("p", { class: "muted" }, t("no_z_reports"));
  // a region of its own that scrolls sideways where the screen is narrower than the table (and takes focus, so
  // it scrolls from the keyboard too)
  return h("div", { class: "table-scroll", role: "region", tabindex: "0", "aria-label": t("z_reports") }, h("table", {},
    h("caption", {}, t("z_reports")),
    h("thead", {}, h("tr", {}, ["Z", t("fiscal_day"), t("datetime"), t("receipts_count"), t("voided_count"), t("total")]
      .map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, [...reports].reverse().map((r) => h("tr", {},
      h("th", { scope: "row" }, String(r.z_number)), h("td", {}, String(r.fiscal_day)), h("td", {}, when(r.datetime)),
      h("td", {}, String(r.receipts_count)), h("td", {}, String(r.voided_count)), h("td", { class: "num" }, money(r.total_cents)))))));
}

function periodicForm(deviceId) {
  const from = h("input", { type: "date" });
  const to = h("input", { type: "date" });
  const fromZ = h("input", { type: "number", min: 1 });
  const toZ = h("input", { type: "number", min: 1 });
  const detailed = checkbox(t("detailed"), false);
  const out = h("div", { class: "result", "aria-live": "polite" });
  const form = h("form", { class: "inline-form", novalidate: true },
    field(t("from_date"), from), field(t("to_date"), to), field(t("from_z"), fromZ), field(t("to_z"), toZ),
    detailed.el,
    h("button", { type: "submit" }, t("periodic_report")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const params = { detailed: detailed.input.checked };
    if (from.value) params.from = from.value;
    if (to.value) params.to = to.value;
    if (fromZ.value) params.from_z = Number(fromZ.value);
    if (toZ.value) params.to_z = Number(toZ.value);
    report(out, t("periodic_report"), operation(deviceId, "periodic_report", params));
  });
  return h("div", {}, form, out);
}

export async function renderJournal(main, params) {
  const list = await devices();
  const all = [...list.fiscal.map((d) => ({ ...d, kind: "fiscal" })), ...list.pos.map((d) => ({ ...d, kind: "pos" }))];
  clear(main, h("h1", {}, t("nav_journal")));
  if (!all.length) {
    main.append(h("p", {}, t("no_registers")));
    return;
  }
  const device = all.find((d) => d.config.id === params[0]) || all[0];
  const id = device.config.id;
  const picker = select(all.map((d) => [d.config.id, d.config.name]), id, { id: "journal-device" });
  picker.addEventListener("change", () => { location.hash = `#/journal/${picker.value}`; });

  const from = h("input", { type: "date", id: "j-from", value: today() });
  const to = h("input", { type: "date", id: "j-to" });
  const number = h("input", { type: "number", min: 1, id: "j-number" });
  const kinds = KINDS.filter((k) => k.startsWith("pos_") === (device.kind === "pos"));
  const kind = select([["", t("all_kinds")], ...kinds.map((k) => [k, t(`kind_${k}`)])], "", { id: "j-kind" });
  const results = h("div", { id: "journal-results" });
  const filters = () => {
    const q = { from: from.value, to: to.value, kind: kind.value };
    if (number.value) {
      q.from_number = number.value;
      q.to_number = number.value;
      if (!q.kind && device.kind === "fiscal") q.kind = "receipt,void";
    }
    return q;
  };
  const load = async () => {
    clear(results, h("p", { class: "muted" }, t("loading")));
    try {
      const answer = await get(`/devices/${id}/journal${query(filters())}`);
      paged(results, answer.entries);
    } catch (err) {
      clear(results, errorBox(err));
    }
  };
  const exportBox = h("div", { class: "export-error", role: "alert" });
  const exportAs = (format) => async () => {
    clear(exportBox);
    try {
      await download(`/devices/${id}/journal${query({ ...filters(), format })}`, `journal-${id.slice(0, 8)}.${format === "text" ? "txt" : format}`);
    } catch (err) {
      exportBox.append(errorBox(err));
    }
  };
  const form = h("form", { class: "inline-form", role: "search", novalidate: true },
    all.length > 1 ? field(t("device"), picker) : null,
    field(t("from_date"), from), field(t("to_date"), to), field(device.kind === "fiscal" ? t("receipt_number") : t("document_number"), number), field(t("kind"), kind),
    h("button", { type: "submit", class: "primary" }, t("search")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  main.append(
    h("p", { class: "muted" }, device.config.name),
    form,
    h("div", { class: "toolbar" },
      h("span", {}, t("export")),
      ["json", "csv", "text"].map((f) => h("button", { type: "button", id: `export-${f}`, onclick: exportAs(f) }, f.toUpperCase()))),
    exportBox,
    results);
  const loading = load();
  if (device.kind === "fiscal") {
    const reportsBox = h("div", {}, h("p", { class: "muted" }, t("loading")));
    main.append(
      h("section", { class: "card", "aria-labelledby": "rep-h" },
        h("h2", { id: "rep-h" }, t("reports")), reportsBox,
        h("h3", {}, t("periodic_report")), periodicForm(id)));
    get(`/devices/${id}/reports`).then((r) => clear(reportsBox, reportsTable(r.reports)),
      (err) => clear(reportsBox, errorBox(err)));
  }
  await loading;
}
