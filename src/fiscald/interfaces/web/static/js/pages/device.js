// One device: live status, counters, VAT rates, quick actions, INP folder state and simulator controls.

import { devices, operation, post } from "../api.js";
import { badge, clear, errorBox, field, h, money, parseMoney, percent, report, select, when } from "../dom.js";
import { t } from "../i18n.js";
import { dayReceiptNumbers, reportView } from "../reportview.js";

const REGISTER_FAULTS = ["none", "paper_out", "cover_open", "disconnected", "fiscal_memory_full", "busy"];
const POS_FAULTS = ["none", "decline", "cancel", "timeout", "disconnected"];
const REGISTER_OPS = ["print_receipt", "print_non_fiscal", "cash_in", "cash_out", "x_report", "z_report",
  "periodic_report", "print_duplicate"];
const POS_OPS = ["pos_sale", "pos_refund", "pos_void", "pos_settlement"];

function dl(rows) {
  return h("dl", { class: "facts" }, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

function yesNo(value) {
  return value ? t("yes") : t("no");
}

async function drawStatus(box, device) {
  const id = device.config.id;
  try {
    if (device.kind === "pos") {
      const s = await operation(id, "pos_status");
      clear(box, dl([[t("terminal_id"), s.terminal_id ?? "—"], [t("batch_open_count"), String(s.batch_open_count ?? "—")]]));
      return;
    }
    const s = await operation(id, "get_status");
    clear(box, dl([
      [t("paper"), s.paper === "ok" ? t("paper_ok") : t("paper_out")],
      [t("cover_open"), yesNo(s.cover_open)],
      [t("receipt_open"), yesNo(s.receipt_open)],
      [t("fiscal_day"), s.fiscal_day_open ? t("fiscal_day_open", { n: s.fiscal_day }) : t("fiscal_day_closed")],
      [t("last_receipt"), String(s.last_receipt_number)],
      [t("last_z"), when(s.last_z_datetime)],
      [t("cash_in_drawer"), money(s.cash_in_drawer_cents)],
      [t("device_clock"), when(s.datetime)],
      [t("serial"), s.serial],
    ]));
  } catch (err) {
    clear(box, errorBox(err));
  }
}

function testReceipt(device) {
  const letter = Object.keys(device.vat_rates || { A: 0 })[0] || "A";
  return {
    close_action: "void",
    lines: [
      { type: "text", text: t("test_receipt_line") },
      { type: "item", description: "Test", quantity_thousandths: 1000, unit_price_cents: 1, vat: letter },
    ],
  };
}

function actions(device, out, refresh, ctx) {
  const id = device.config.id;
  const run = (label, name, params) => report(out, label, operation(id, name, params)).then(refresh);
  // X and Z: shown as a report in lei, with the day's receipt numbers from the journal since the Z before it.
  const runReport = async (name) => {
    clear(out, h("p", { class: "muted" }, t("working")));
    try {
      const before = await operation(id, "get_status").catch(() => null);
      const result = await operation(id, name);
      const numbers = await dayReceiptNumbers(id, before ? before.last_z_datetime : null, result.fiscal_day)
        .catch(() => null);
      clear(out, reportView(name, result, numbers));
    } catch (err) {
      clear(out, h("h3", {}, t(name)), errorBox(err));
    }
    await refresh();
  };
  const amount = h("input", { type: "text", inputmode: "decimal", id: "cash-amount", size: 10 });
  const cash = (name) => {
    const cents = parseMoney(amount.value);
    if (!cents) {
      clear(out, h("p", { class: "error", role: "alert" }, t("amount_invalid")));
      amount.focus();
      return;
    }
    run(t(name), name, { amount_cents: cents });
  };
  const button = (label, onclick, cls) => h("button", { type: "button", class: cls, onclick }, label);
  const z = async () => {
    const ok = await ctx.confirm(t("z_confirm_title"), t("z_confirm_text", { name: device.config.name }), t("z_confirm_ok"));
    if (ok) runReport("z_report");
  };
  if (device.kind === "pos") {
    return h("div", { class: "actions" }, button(t("pos_settlement"), () => run(t("pos_settlement"), "pos_settlement")));
  }
  return h("div", {},
    h("div", { class: "actions" },
      button(t("test_receipt"), () => run(t("test_receipt"), "print_receipt", testReceipt(device)), "primary"),
      button(t("x_report"), () => runReport("x_report")),
      button(t("z_report"), z, "danger"),
      button(t("print_duplicate"), () => run(t("print_duplicate"), "print_duplicate")),
      button(t("open_drawer"), () => run(t("open_drawer"), "open_drawer"))),
    h("div", { class: "actions cash" },
      field(t("amount"), amount),
      button(t("cash_in"), () => cash("cash_in")),
      button(t("cash_out"), () => cash("cash_out"))));
}

function simulator(device, ctx) {
  const id = device.config.id;
  const faults = device.kind === "pos" ? POS_FAULTS : REGISTER_FAULTS;
  const fault = select(faults.map((f) => [f, t(`fault_${f}`)]), "none", { id: "sim-fault" });
  const latency = h("input", { type: "number", min: 0, max: 600000, value: 0, id: "sim-latency" });
  const jitter = h("input", { type: "number", min: 0, max: 600000, value: 0, id: "sim-jitter" });
  const failOp = select([["", t("none")], ...(device.kind === "pos" ? POS_OPS : REGISTER_OPS).map((o) => [o, o])], "",
    { id: "sim-fail-op" });
  const failCode = h("input", { type: "number", min: 1000, max: 3999, value: device.kind === "pos" ? 3001 : 2003,
    id: "sim-fail-code" });
  const failAt = select([["before", t("fail_before")], ["after_print", t("fail_after_print")]], "before", { id: "sim-fail-at" });
  const out = h("div", { class: "sim-out", "aria-live": "polite" });
  const show = (answer) => {
    const s = answer.simulation;
    fault.value = s.fault;
    latency.value = s.latency_ms;
    jitter.value = s.latency_jitter_ms;
    failOp.value = s.fail_next ? s.fail_next.operation : "";
    if (s.fail_next) {
      failCode.value = s.fail_next.code;
      failAt.value = s.fail_next.at;
    }
    clear(out, h("p", {}, t("sim_state", { fault: t(`fault_${s.fault}`), status: answer.status_text })));
  };
  const form = h("form", { class: "sim", novalidate: true },
    h("div", { class: "sim-grid" },
      field(t("fault"), fault),
      field(t("latency_ms"), latency),
      field(t("jitter_ms"), jitter),
      field(t("fail_next"), failOp),
      field(t("fail_code"), failCode),
      field(t("fail_at"), failAt)),
    h("div", { class: "buttons" }, h("button", { type: "submit", class: "primary" }, t("apply"))),
    out);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {
      device_id: id, fault: fault.value, latency_ms: Number(latency.value), latency_jitter_ms: Number(jitter.value),
      fail_next: failOp.value ? { operation: failOp.value, code: Number(failCode.value), at: failAt.value } : null,
    };
    try {
      show(await post("/manage/simulate", body));
    } catch (err) {
      clear(out, errorBox(err));
    }
  });
  post("/manage/simulate", { device_id: id }).then(show, (err) => clear(out, errorBox(err)));
  return form;
}

export async function renderDevice(main, params, ctx) {
  const list = await devices();
  const fiscal = list.fiscal.find((d) => d.config.id === params[0]);
  const pos = list.pos.find((d) => d.config.id === params[0]);
  const device = fiscal ? { ...fiscal, kind: "fiscal" } : pos ? { ...pos, kind: "pos" } : null;
  if (!device) {
    clear(main, h("h1", {}, t("error_title")), h("p", {}, t("device_unknown")));
    return;
  }
  const c = device.config;
  const statusBox = h("div", { id: "status-facts" }, h("p", { class: "muted" }, t("loading")));
  const out = h("div", { id: "action-result", class: "result", "aria-live": "polite" });
  const refresh = () => drawStatus(statusBox, device);
  clear(main,
    h("h1", {}, c.name, " ", badge(c.id, device.status, device.status_text)),
    h("p", { class: "muted" }, `${c.manufacturer} ${c.model} · ${device.connected_device_id || "—"}`),
    h("div", { class: "toolbar" },
      h("a", { class: "button", href: `#/journal/${c.id}` }, t("open_journal")),
      h("a", { class: "button", href: `#/devices/edit/${c.id}` }, t("edit")),
      device.kind === "fiscal" ? h("a", { class: "button", href: `#/glance/${c.id}` }, t("nav_glance")) : null),
    h("div", { class: "columns" },
      h("section", { class: "card", "aria-labelledby": "st-h" },
        h("h2", { id: "st-h" }, t("status")),
        statusBox,
        h("button", { type: "button", onclick: refresh }, t("refresh"))),
      device.kind === "fiscal"
        ? h("section", { class: "card", "aria-labelledby": "vat-h" },
          h("h2", { id: "vat-h" }, t("vat_rates")),
          h("table", {}, h("tbody", {}, Object.entries(device.vat_rates || {}).map(([letter, bp]) =>
            h("tr", {}, h("th", { scope: "row" }, letter), h("td", {}, percent(bp)))))),
          h("h2", {}, t("inp_folder")),
          dl([
            [t("inp_state"), device.inp ? t(`inp_${device.inp.state}`) : "—"],
            [t("scan_folder"), (device.inp && device.inp.folder) || t("none")],
            ...(device.inp && device.inp.error ? [[t("error_title"), device.inp.error]] : []),
          ]))
        : null),
    h("section", { class: "card", "aria-labelledby": "act-h" },
      h("h2", { id: "act-h" }, t("quick_actions")),
      actions(device, out, refresh, ctx),
      out),
    c.manufacturer === "Simulated"
      ? h("section", { class: "card", "aria-labelledby": "sim-h" }, h("h2", { id: "sim-h" }, t("simulator")), simulator(device, ctx))
      : null);
  await refresh();
  ctx.on((kind, payload) => {
    if (kind === "device_status" && payload.device_id === c.id) refresh();
  });
}
