// Small DOM helpers. Text always goes in as textContent (device names and printouts are data, never HTML).

import { currentLanguage, t } from "./i18n.js";
import { errorText, nextStep } from "./messages.js";

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let uid = 0;
export function nextId(prefix) {
  uid += 1;
  return `${prefix}-${uid}`;
}

// A labelled form control: <div class="field"><label>…</label><input …><p class="field-error"></p></div>.
export function field(label, control, hint) {
  if (!control.id) control.id = nextId("f");
  const error = h("p", { class: "field-error", id: `${control.id}-error`, role: "alert" });
  const parts = [h("label", { for: control.id }, label), control];
  const described = [error.id];
  if (hint) {
    const hintEl = h("p", { class: "hint", id: `${control.id}-hint` }, hint);
    parts.push(hintEl);
    described.push(hintEl.id);
  }
  control.setAttribute("aria-describedby", described.join(" "));
  parts.push(error);
  return h("div", { class: "field" }, parts);
}

export function select(options, value, attrs = {}) {
  const el = h("select", attrs);
  for (const option of options) {
    const [optValue, label] = Array.isArray(option) ? option : [option, option];
    const opt = h("option", { value: optValue }, label);
    if (String(optValue) === String(value ?? "")) opt.selected = true;
    el.append(opt);
  }
  return el;
}

export function checkbox(label, checked, attrs = {}) {
  const input = h("input", { type: "checkbox", id: nextId("c"), ...attrs });
  input.checked = Boolean(checked);
  return { input, el: h("div", { class: "check" }, input, h("label", { for: input.id }, label)) };
}

// Integer cents as an amount in the page's language, by string arithmetic on the digits (no floating point):
// 123456 -> "1.234,56" (ro) or "1,234.56" (en).
export function amount(cents) {
  if (cents === null || cents === undefined) return "—";
  const text = String(cents);
  const negative = text.startsWith("-");
  const digits = (negative ? text.slice(1) : text).padStart(3, "0");
  const whole = digits.slice(0, -2).replace(/^0+(?=\d)/, "");
  const [group, decimal] = decimalMark() === "," ? [".", ","] : [",", "."];
  const grouped = whole.replace(/\B(?=(\d{3})+$)/g, group);
  return `${negative ? "-" : ""}${grouped}${decimal}${digits.slice(-2)}`;
}

// The same with the currency: "1.234,56 lei". Every total the dashboard shows goes through here.
export function money(cents) {
  if (cents === null || cents === undefined) return "—";
  return `${amount(cents)} lei`;
}

// "12", "12.5", "12,50" -> 1250; null when it is not an amount.
export function parseMoney(text) {
  const match = /^\s*(\d{1,9})(?:[.,](\d{1,2}))?\s*$/.exec(text || "");
  if (!match) return null;
  return Number(match[1]) * 100 + Number((match[2] || "0").padEnd(2, "0"));
}

// The decimal separator of the page's language.
export function decimalMark() {
  return currentLanguage() === "ro" ? "," : ".";
}

// Basis points as "21.00 %" ("21,00 %" in Romanian); "21", "5,5" -> 2100, 550.
export function percent(bp) {
  return `${Math.trunc(bp / 100)}${decimalMark()}${String(bp % 100).padStart(2, "0")} %`;
}

export function parsePercent(text) {
  const match = /^\s*(\d{1,3})(?:[.,](\d{1,2}))?\s*%?\s*$/.exec(text || "");
  if (!match) return null;
  return Number(match[1]) * 100 + Number((match[2] || "0").padEnd(2, "0"));
}

export function when(iso) {
  return iso ? iso.replace("T", " ").slice(0, 19) : "—";
}

export function badge(deviceId, status, text) {
  return h("span", { class: `badge s-${String(status).toLowerCase()}`, dataset: { statusFor: deviceId } }, text);
}

export function setBadges(deviceId, status, text) {
  for (const el of document.querySelectorAll("[data-status-for]")) {
    if (el.dataset.statusFor !== deviceId) continue;
    el.className = `badge s-${String(status).toLowerCase()}`;
    el.textContent = text;
  }
}

// An error as the dashboard shows it: what happened (its field detail translated) and what to do next.
export function errorBox(err) {
  const next = nextStep(err);
  return h("div", { class: "error-box", role: "alert" },
    h("p", { class: "error" }, errorText(err)),
    next ? h("p", { class: "next-step" }, h("strong", {}, t("next_label")), " ", next) : null);
}

// The same as one line, for the notice at the bottom of the page.
export function errorLine(err) {
  const next = nextStep(err);
  return next ? `${errorText(err)} — ${next}` : errorText(err);
}

export function json(value) {
  return JSON.stringify(value, null, 2);
}

// The facts of an answer a person reads first (amounts in lei); the whole JSON answer follows on request.
const ANSWER_FACTS = [
  ["receipt_number", "receipt_number", String], ["document_number", "document_number", String],
  ["reports_count", "reports_count", String], ["receipts_count", "receipts_count", String],
  ["total_cents", "total", money], ["paid_cents", "paid", money], ["change_cents", "change", money],
  ["voided", "voided", (v) => (v ? t("yes") : t("no"))], ["cash_in_drawer_cents", "cash_in_drawer", money],
];

function answerView(value) {
  const rows = value && typeof value === "object"
    ? ANSWER_FACTS.filter(([key]) => value[key] !== undefined && value[key] !== null) : [];
  return [
    rows.length ? h("dl", { class: "facts" }, rows.map(([key, label, show]) =>
      [h("dt", {}, t(label)), h("dd", {}, show(value[key]))])) : null,
    h("details", { class: "raw", open: rows.length ? null : true }, h("summary", {}, t("raw_answer")),
      h("pre", { class: "json", tabindex: "0" }, json(value))),
  ];
}

// Shows what an action answered, or its error, in a live region.
export function report(el, title, promise) {
  clear(el, h("p", { class: "muted" }, t("working")));
  return promise.then(
    (value) => {
      clear(el, h("h3", {}, title), answerView(value));
      return value;
    },
    (err) => {
      clear(el, h("h3", {}, title), errorBox(err));
      return null;
    },
  );
}
