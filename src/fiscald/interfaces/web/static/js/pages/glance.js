// "Today at a glance": the current fiscal day of one register, from get_status and its journal.

import { devices, get, operation, query } from "../api.js";
import { hourlyBars, mixBars } from "../charts.js";
import { amount, badge, clear, decimalMark, errorBox, field, h, money, select, when } from "../dom.js";
import { t } from "../i18n.js";

// Receipts of the open fiscal day: the journal since the last Z, kept to the day get_status reports.
async function dayData(deviceId) {
  const status = await operation(deviceId, "get_status");
  const since = status.last_z_datetime;
  let entries = [];
  if (status.fiscal_day_open) {
    const journal = await get(`/devices/${deviceId}/journal${query({ kind: "receipt,void", from: since })}`);
    entries = journal.entries.filter((e) => e.fiscal_day === status.fiscal_day);
  }
  let lastZ = null;
  if (since) {
    const reports = await get(`/devices/${deviceId}/reports${query({ from: since })}`);
    lastZ = reports.reports.length ? reports.reports[reports.reports.length - 1] : null;
  }
  return { status, entries, lastZ };
}

function summarize(entries) {
  const hours = new Array(24).fill(0);
  const payments = {};
  let total = 0;
  let count = 0;
  let voided = 0;
  for (const entry of entries) {
    if (entry.kind === "void") {
      voided += 1;
      continue;
    }
    count += 1;
    total += entry.total_cents;
    hours[Number(entry.datetime.slice(11, 13))] += entry.total_cents;
    for (const [type, cents] of Object.entries(entry.data.payments || {})) {
      payments[type] = (payments[type] || 0) + cents;
    }
  }
  return { hours, payments, total, count, voided };
}

function stat(label, value) {
  return h("div", { class: "stat" }, h("span", { class: "stat-label" }, label), h("span", { class: "stat-value" }, value));
}

async function drawDay(box, device) {
  const id = device.config.id;
  let data;
  try {
    data = await dayData(id);
  } catch (err) {
    clear(box, errorBox(err));
    return;
  }
  const sums = summarize(data.entries);
  const lastZ = data.lastZ
    ? t("last_z_value", { n: data.lastZ.z_number, when: when(data.lastZ.datetime), total: money(data.lastZ.total_cents) })
    : t("none");
  const dayLabel = data.status.fiscal_day_open
    ? t("fiscal_day_open", { n: data.status.fiscal_day })
    : t("fiscal_day_closed");
  const mix = Object.entries(sums.payments).map(([type, value]) => ({ label: t(`pay_${type}`), value }));
  clear(box,
    h("p", { class: "muted" }, dayLabel),
    h("div", { class: "stats" },
      stat(t("receipts_count"), String(sums.count)),
      stat(t("total_today"), money(sums.total)),
      stat(t("voided_count"), String(sums.voided)),
      stat(t("last_z"), lastZ)),
    h("div", { class: "charts" },
      h("section", { class: "card", "aria-labelledby": "hourly-title" },
        h("h2", { id: "hourly-title" }, t("sales_per_hour")),
        hourlyBars(sums.hours, t("sales_per_hour_label", { total: money(sums.total) }), money, amount, "lei")),
      h("section", { class: "card", "aria-labelledby": "mix-title" },
        h("h2", { id: "mix-title" }, t("payment_mix")),
        mix.length ? mixBars(mix, t("payment_mix_label"), money, decimalMark()) : h("p", { class: "muted" }, t("no_sales")))));
}

export async function renderGlance(main, params, ctx) {
  const { fiscal } = await devices();
  const enabled = fiscal.filter((d) => d.config.enabled);
  clear(main, h("h1", {}, t("glance_title")));
  if (!enabled.length) {
    main.append(h("p", {}, t("no_registers")), h("p", {}, h("a", { href: "#/devices/new/fiscal" }, t("add_register"))));
    return;
  }
  const chosen = enabled.find((d) => d.config.id === params[0]) || enabled[0];
  const picker = select(enabled.map((d) => [d.config.id, d.config.name]), chosen.config.id, { id: "glance-device" });
  picker.addEventListener("change", () => { location.hash = `#/glance/${picker.value}`; });
  const box = h("div", { id: "glance-day", "aria-live": "polite" });
  main.append(
    h("div", { class: "toolbar" },
      enabled.length > 1 ? field(t("register"), picker) : h("p", {}, h("strong", {}, chosen.config.name)),
      badge(chosen.config.id, chosen.status, chosen.status_text),
      h("a", { href: `#/device/${chosen.config.id}` }, t("open_register"))),
    box);
  await drawDay(box, chosen);
  let pending = null;
  ctx.on((kind, payload) => {
    if (kind !== "journal" || payload.device_id !== chosen.config.id) return;
    clearTimeout(pending);
    pending = setTimeout(() => drawDay(box, chosen), 300);
  });
}
