// API playground: one POST /devices/operation, edited as JSON, shown exactly as sent and as answered.

import { devices, send } from "../api.js";
import { clear, field, h, json, select } from "../dom.js";
import { t } from "../i18n.js";

// A valid example of every operation's params (docs/http.md); null = the operation takes none.
const EXAMPLES = {
  print_receipt: {
    lines: [
      { type: "item", description: "Cafea", quantity_thousandths: 1000, unit_price_cents: 1200, vat: "A" },
      { type: "item", description: "Apa plata", quantity_thousandths: 2000, unit_price_cents: 450, vat: "B" },
    ],
    payments: [{ type: "cash", amount_cents: 3000 }],
  },
  print_non_fiscal: { lines: [{ type: "text", text: "Multumim!" }] },
  cash_in: { amount_cents: 10000 },
  cash_out: { amount_cents: 5000 },
  x_report: null,
  z_report: null,
  periodic_report: { from_z: 1, to_z: 1, detailed: false },
  print_duplicate: null,
  cancel_receipt: null,
  open_drawer: null,
  get_status: null,
  get_datetime: null,
  set_datetime: { datetime: "2026-01-01T12:00:00" },
  get_vat_rates: null,
  read_journal: { from_receipt: 1, to_receipt: 10, format: "json", limit: 100 },
  pos_sale: { amount_cents: 1500, currency: "RON", reference: "order-1" },
  pos_refund: { amount_cents: 500, original_transaction_id: "<transaction_id of a sale>" },
  pos_void: { transaction_id: "<transaction_id>" },
  pos_settlement: null,
  pos_status: null,
};
const FISCAL_OPS = Object.keys(EXAMPLES).filter((op) => !op.startsWith("pos_"));
const POS_OPS = Object.keys(EXAMPLES).filter((op) => op.startsWith("pos_"));
const SHOWN_HEADERS = ["content-type", "idempotent-replayed", "server-timing"];

function requestText(sent) {
  const lines = ["POST /devices/operation HTTP/1.1"];
  for (const [key, value] of Object.entries(sent.headers)) {
    lines.push(`${key}: ${key === "Authorization" ? "Bearer ••••••" : value}`);
  }
  return `${lines.join("\n")}\n\n${sent.body}`;
}

export async function renderPlayground(main) {
  const list = await devices();
  const all = [...list.fiscal.map((d) => ({ ...d, kind: "fiscal" })), ...list.pos.map((d) => ({ ...d, kind: "pos" }))];
  clear(main, h("h1", {}, t("nav_playground")), h("p", {}, t("playground_intro")));
  if (!all.length) {
    main.append(h("p", {}, t("no_registers")));
    return;
  }
  const device = select(all.map((d) => [d.config.id, `${d.config.name} (${d.kind === "fiscal" ? t("register") : t("pos_terminal")})`]),
    all[0].config.id, { id: "pg-device" });
  const op = h("select", { id: "pg-operation" });
  const params = h("textarea", { id: "pg-params", rows: 14, spellcheck: "false", class: "code" });
  const key = h("input", { type: "text", id: "pg-key", autocomplete: "off" });
  const timeout = h("input", { type: "number", id: "pg-timeout", min: 1, max: 3600000 });
  const request = h("pre", { id: "pg-request", class: "json", tabindex: "0" });
  const response = h("pre", { id: "pg-response", class: "json", tabindex: "0" });
  const kindOf = () => all.find((d) => d.config.id === device.value).kind;
  const fillOps = () => {
    const ops = kindOf() === "pos" ? POS_OPS : FISCAL_OPS;
    clear(op, ops.map((o) => h("option", { value: o }, o)));
    fillParams();
  };
  const fillParams = () => {
    const example = EXAMPLES[op.value];
    params.value = example === null ? "" : json(example);
  };
  device.addEventListener("change", fillOps);
  op.addEventListener("change", fillParams);
  const newKey = h("button", { type: "button", onclick: () => { key.value = crypto.randomUUID(); } }, t("new_key"));
  const form = h("form", { class: "playground", novalidate: true },
    h("div", { class: "inline-form" }, field(t("device"), device), field(t("operation"), op)),
    field(t("params_json"), params, t("params_hint")),
    h("div", { class: "inline-form" }, field(t("idempotency_key"), key, t("idempotency_hint")), newKey,
      field(t("timeout_ms"), timeout)),
    h("div", { class: "buttons" }, h("button", { type: "submit", class: "primary" }, t("send"))));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    // The body is assembled as text so that what is shown is byte for byte what is sent.
    const parts = [`"device_id": ${JSON.stringify(device.value)}`, `"operation": ${JSON.stringify(op.value)}`];
    if (params.value.trim()) parts.push(`"params": ${params.value.trim()}`);
    if (timeout.value) parts.push(`"timeout_ms": ${Number(timeout.value)}`);
    const body = `{${parts.join(", ")}}`;
    const headers = { Accept: "application/json", "Content-Type": "application/json" };
    if (key.value.trim()) headers["Idempotency-Key"] = key.value.trim();
    clear(response, t("working"));
    const started = performance.now();
    const { response: answer, headers: sentHeaders } = await sendRaw(body, headers);
    request.textContent = requestText({ headers: sentHeaders, body });
    const text = await answer.text();
    let shown = text;
    try { shown = json(JSON.parse(text)); } catch { shown = text; }
    const head = [`HTTP ${answer.status} ${answer.statusText}`.trim()];
    for (const name of SHOWN_HEADERS) {
      if (answer.headers.has(name)) head.push(`${name}: ${answer.headers.get(name)}`);
    }
    head.push(`(${Math.round(performance.now() - started)} ms)`);
    response.textContent = `${head.join("\n")}\n\n${shown}`;
  });
  fillOps();
  main.append(form,
    h("div", { class: "columns" },
      h("section", { class: "card", "aria-labelledby": "pg-req-h" }, h("h2", { id: "pg-req-h" }, t("request")), request),
      h("section", { class: "card", "aria-labelledby": "pg-res-h" }, h("h2", { id: "pg-res-h" }, t("response")), response)));
}

// send() JSON-encodes its body; the playground posts the text the person wrote, invalid JSON included, so the
// server's own answer to it shows.
async function sendRaw(body, headers) {
  return send("POST", "/devices/operation", { rawBody: body, headers });
}
