// Devices: the list with live status, and the add/edit form per connection type, all through /manage.

import { ApiError, devices, get, post } from "../api.js";
import { badge, checkbox, clear, errorBox, errorLine, field, h, parsePercent, percent, select } from "../dom.js";
import { t } from "../i18n.js";
import { fieldMessage } from "../messages.js";

const BAUD_RATES = [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400];
const VAT_LETTERS = "ABCDEFGH".split("");
const PAYMENT_TYPES = ["cash", "card", "credit", "meal_voucher", "value_voucher", "voucher", "modern_payment", "other"];
// How the API shows a stored secret; sent back, it keeps the stored one (docs/manage.md).
const MASK = "***";
const DETAILS = "connection_details.details";
// Cloud (a Viva terminal through the Cloud Terminal API): the optional fields under "Advanced" (docs/devices.md)
const CLOUD_ADVANCED = ["cash_register_id", "accounts_url", "api_url"];

function connectionText(details) {
  const d = details.details || {};
  if (details.type === "Serial") return `Serial ${d.port} @ ${d.baud_rate}`;
  if (details.type === "Network") return `${d.ip_address}:${d.port}`;
  if (details.type === "Usb") return `USB ${d.device_selector}`;
  if (details.type === "Cloud") return `Cloud ${d.terminal_id} (${d.environment || "demo"})`;
  return t("conn_virtual");
}

function table(kind, list, ctx) {
  const caption = kind === "fiscal" ? t("fiscal_devices") : t("pos_terminals");
  if (!list.length) return h("p", { class: "muted" }, t("none_configured"));
  const cols = [t("name"), t("model"), t("connection"), t("status"), t("actions")];
  // data-label: the column's name, shown beside each cell where a narrow screen stacks the row (style.css)
  return h("table", { class: "device-table" },
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, cols.map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, list.map((d) => {
      const c = d.config;
      const toggle = h("button", { type: "button", onclick: () => saveEnabled(kind, c, !c.enabled, ctx) },
        c.enabled ? t("disable") : t("enable"));
      const remove = h("button", { type: "button", class: "danger", onclick: () => remove_(kind, c, ctx) }, t("delete"));
      return h("tr", {},
        h("th", { scope: "row", dataset: { label: cols[0] } }, h("a", { href: `#/device/${c.id}` }, c.name)),
        h("td", { dataset: { label: cols[1] } }, `${c.manufacturer} ${c.model}`),
        h("td", { dataset: { label: cols[2] } }, connectionText(c.connection_details)),
        h("td", { dataset: { label: cols[3] } }, badge(c.id, d.status, d.status_text)),
        h("td", { class: "row-actions", dataset: { label: cols[4] } }, h("div", {},
          h("a", { class: "button", href: `#/devices/edit/${c.id}`, "aria-label": `${t("edit")} ${c.name}` }, t("edit")),
          toggle, remove)));
    })));
}

async function saveEnabled(kind, config, enabled, ctx) {
  const path = kind === "fiscal" ? "/manage/save_fiscal_device" : "/manage/save_pos_terminal";
  try {
    await post(path, { id: config.id, enabled });
    ctx.notice(t(enabled ? "toast_enabled" : "toast_disabled", { name: config.name }));
  } catch (err) {
    ctx.notice(errorLine(err));
  }
  await renderDevices(document.getElementById("main"), [], ctx);
}

async function remove_(kind, config, ctx) {
  const ok = await ctx.confirm(t("delete_title", { name: config.name }), t("delete_text"), t("delete"));
  if (!ok) return;
  const path = kind === "fiscal" ? "/manage/delete_fiscal_device" : "/manage/delete_pos_terminal";
  try {
    await post(path, { id: config.id });
    ctx.notice(t("toast_deleted", { name: config.name }));
  } catch (err) {
    ctx.notice(errorLine(err));
  }
  await renderDevices(document.getElementById("main"), [], ctx);
}

export async function renderDevices(main, params, ctx) {
  if (params[0] === "new") return renderForm(main, params[1] === "pos" ? "pos" : "fiscal", null, ctx);
  const list = await devices();
  if (params[0] === "edit") {
    const fiscal = list.fiscal.find((d) => d.config.id === params[1]);
    const pos = list.pos.find((d) => d.config.id === params[1]);
    if (fiscal || pos) return renderForm(main, fiscal ? "fiscal" : "pos", fiscal || pos, ctx, list);
  }
  clear(main,
    h("h1", {}, t("nav_devices")),
    h("div", { class: "toolbar" },
      h("a", { class: "button primary", href: "#/devices/new/fiscal" }, t("add_register")),
      h("a", { class: "button", href: "#/devices/new/pos" }, t("add_pos"))),
    h("section", { "aria-labelledby": "fiscal-h" }, h("h2", { id: "fiscal-h" }, t("fiscal_devices")),
      table("fiscal", list.fiscal, ctx)),
    h("section", { "aria-labelledby": "pos-h" }, h("h2", { id: "pos-h" }, t("pos_terminals")), table("pos", list.pos, ctx)));
  return undefined;
}

// The form: every control carries data-field = the API's field path, so the API's own validation errors land
// next to the control they are about.
async function renderForm(main, kind, existing, ctx, known) {
  const supported = (await get("/manage/get_supported_devices"))[kind];
  const list = known || await devices();
  const config = existing ? existing.config : {};
  const form = h("form", { novalidate: true, class: "device-form" });
  const general = h("div", { class: "form-errors", role: "alert" });
  const controls = {};
  const add = (key, label, control, hint) => {
    control.dataset.field = key;
    controls[key] = control;
    return field(label, control, hint);
  };

  const name = h("input", { type: "text", value: config.name || "", autocomplete: "off" });
  const manufacturer = select(supported.map((s) => s.manufacturer), config.manufacturer);
  const model = h("select", {});
  const connType = h("select", {});
  const connBox = h("div", { class: "conn-fields" });
  const connValues = (config.connection_details && config.connection_details.details) || {};
  // Secrets (a LAN password, a cloud client secret) are never in the page: an edit only knows whether one is
  // stored. name -> { input, stored, remove }, for the connection type shown.
  let secrets = {};
  let isv = null;

  const fillModels = () => {
    const entry = supported.find((s) => s.manufacturer === manufacturer.value) || { models: [], connection_types: [] };
    const chosen = model.value || config.model;
    clear(model, entry.models.map((m) => h("option", { value: m, selected: m === chosen }, m)));
    const current = config.connection_details ? config.connection_details.type : null;
    clear(connType, entry.connection_types.map((c) => h("option", { value: c, selected: c === current }, t(`conn_${c.toLowerCase()}`))));
    fillConnection();
    vatBox.hidden = manufacturer.value !== "Simulated" || kind !== "fiscal";
    fillRegister();
  };
  const fillConnection = () => {
    clear(connBox);
    for (const key of Object.keys(controls)) if (key.startsWith(`${DETAILS}.`)) delete controls[key];
    secrets = {};
    isv = null;
    const type = connType.value;
    if (type === "Serial") {
      connBox.append(
        add("connection_details.details.port", t("serial_port"), h("input", { type: "text", value: connValues.port || "" }), t("serial_port_hint")),
        add("connection_details.details.baud_rate", t("baud_rate"), select(BAUD_RATES, connValues.baud_rate || 115200)));
    } else if (type === "Network") {
      connBox.append(
        add("connection_details.details.ip_address", t("ip_address"), h("input", { type: "text", value: connValues.ip_address || "" })),
        add("connection_details.details.port", t("tcp_port"), h("input", { type: "number", min: 1, max: 65535, value: connValues.port || "" })));
      fillLanPassword();
    } else if (type === "Cloud") {
      fillCloud();
    } else if (type === "Usb") {
      connBox.append(
        add("connection_details.details.device_selector", t("usb_selector"), h("input", { type: "text", value: connValues.device_selector || "" }), t("usb_hint")),
        add("connection_details.details.baud_rate", t("baud_rate"), select([["", "—"], ...BAUD_RATES.map((b) => [b, b])], connValues.baud_rate ?? "")));
    } else {
      connBox.append(h("p", { class: "muted" }, t("conn_virtual_hint")));
    }
  };
  // A secret's input, always empty; its hint says whether one is stored. With removeLabel (an optional secret) an
  // edit also offers to clear the stored one.
  const secretField = (name, label, hint, keptHint, removeLabel) => {
    const stored = connValues[name] === MASK;
    const input = h("input", { type: "password", autocomplete: "off", value: "" });
    const secret = { input, stored, remove: null };
    secrets[name] = secret;
    const parts = [add(`${DETAILS}.${name}`, label, input, stored ? keptHint : hint)];
    if (stored && removeLabel) {
      secret.remove = checkbox(removeLabel, false);
      secret.remove.input.addEventListener("change", () => {
        input.disabled = secret.remove.input.checked;
        if (input.disabled) input.value = "";
      });
      parts.push(secret.remove.el);
    }
    return parts;
  };
  // What a save sends for a secret: typed, the new one as typed; left empty, the stored one (sent back masked,
  // docs/manage.md) unless removed; else nothing.
  const secretValue = (name) => {
    const secret = secrets[name];
    if (!secret) return undefined;
    if (secret.input.value) return secret.input.value;
    if (secret.stored && !(secret.remove && secret.remove.input.checked)) return MASK;
    return undefined;
  };
  // Only for a brand whose registers may ask one (get_supported_devices: network_password).
  const fillLanPassword = () => {
    const entry = supported.find((s) => s.manufacturer === manufacturer.value) || {};
    if (!entry.network_password) return;
    connBox.append(...secretField("password", t("lan_password"), t("lan_password_hint"), t("lan_password_kept"),
      t("lan_password_remove")));
  };
  // A terminal through its bank's cloud (Viva's Cloud Terminal API). With merchant_id it is the ISV variant (a
  // partner's credentials acting for that merchant), so the ISV fields show only when that is chosen.
  const fillCloud = () => {
    const text = (name, attrs = {}) => h("input", { type: "text", autocomplete: "off", value: connValues[name] ?? "", ...attrs });
    isv = checkbox(t("cloud_isv"), connValues.merchant_id !== undefined && connValues.merchant_id !== null);
    const fee = connValues.isv_fee_bp ? percent(connValues.isv_fee_bp).replace(" %", "") : "";
    const isvBox = h("div", { class: "isv-fields" },
      add(`${DETAILS}.merchant_id`, t("cloud_merchant_id"), text("merchant_id"), t("cloud_merchant_id_hint")),
      add(`${DETAILS}.isv_fee_bp`, t("cloud_isv_fee"), h("input", { type: "text", inputmode: "decimal", size: 6, value: fee }),
        t("cloud_isv_fee_hint")));
    const showIsv = () => { isvBox.hidden = !isv.input.checked; };
    isv.input.addEventListener("change", showIsv);
    showIsv();
    const advancedSet = CLOUD_ADVANCED.some((name) => connValues[name] !== undefined && connValues[name] !== null
      && !(name === "cash_register_id" && connValues[name] === "fiscald"));
    const advanced = h("details", { class: "advanced", open: advancedSet }, h("summary", {}, t("cloud_advanced")),
      add(`${DETAILS}.cash_register_id`, t("cloud_cash_register_id"), text("cash_register_id", { placeholder: "fiscald" }),
        t("cloud_cash_register_id_hint")),
      add(`${DETAILS}.accounts_url`, t("cloud_accounts_url"), text("accounts_url", { inputmode: "url" }), t("cloud_url_hint")),
      add(`${DETAILS}.api_url`, t("cloud_api_url"), text("api_url", { inputmode: "url" }), t("cloud_url_hint")));
    connBox.append(
      add(`${DETAILS}.environment`, t("cloud_environment"),
        select([["demo", t("cloud_env_demo")], ["live", t("cloud_env_live")]], connValues.environment || "demo"),
        t("cloud_environment_hint")),
      add(`${DETAILS}.terminal_id`, t("cloud_terminal_id"), text("terminal_id"), t("cloud_terminal_id_hint")),
      add(`${DETAILS}.client_id`, t("cloud_client_id"), text("client_id"), t("cloud_client_id_hint")),
      ...secretField("client_secret", t("cloud_client_secret"), t("cloud_client_secret_hint"), t("cloud_client_secret_kept")),
      isv.el, isvBox, advanced);
  };
  manufacturer.addEventListener("change", fillModels);
  model.addEventListener("change", () => fillRegister());
  connType.addEventListener("change", fillConnection);

  const enabled = checkbox(t("enabled"), existing ? config.enabled : true);
  form.append(
    h("h1", {}, existing ? t("edit_device", { name: config.name }) : kind === "fiscal" ? t("add_register") : t("add_pos")),
    general,
    add("name", t("name"), name),
    add("manufacturer", t("manufacturer"), manufacturer),
    add("model", t("model"), model),
    add("connection_details.type", t("connection"), connType),
    connBox,
    enabled.el);

  let vatBox = h("div");
  let registerBox = null;
  const paymentBox = h("div", { class: "payment-codes" });
  const fiscalParts = { codes: {} };
  // payment_codes: one choice per payment type among the model's codes; "" keeps the model's default.
  const fillRegister = () => {
    if (!registerBox) return;
    const entry = supported.find((s) => s.manufacturer === manufacturer.value) || {};
    const table = (entry.payment_codes || {})[model.value];
    registerBox.hidden = manufacturer.value === "Simulated";
    for (const key of Object.keys(controls)) if (key.startsWith("payment_codes")) delete controls[key];
    fiscalParts.codes = {};
    if (!table) {
      clear(paymentBox);
      return;
    }
    const stored = config.model === model.value ? config.payment_codes || {} : {};
    const label = (code) => `${code} — ${table.codes[code]}`;
    clear(paymentBox, h("h3", {}, t("payment_codes")), h("p", { class: "hint" }, t("payment_codes_hint")),
      h("div", { class: "pay-grid" }, PAYMENT_TYPES.map((type) => {
        const fallback = table.defaults[type];
        const choice = select([["", t("payment_default", { code: fallback ? label(fallback) : "—" })],
          ...Object.keys(table.codes).map((code) => [code, label(code)])], stored[type] ?? "");
        fiscalParts.codes[type] = choice;
        return add(`payment_codes.${type}`, t(`pay_${type}`), choice);
      })));
  };
  if (kind === "fiscal") {
    fiscalParts.notes = h("textarea", { rows: 2 }, config.notes || "");
    fiscalParts.scan = h("input", { type: "text", value: config.scan_folder || "" });
    fiscalParts.create = checkbox(t("create_scan_folder"), false);
    fiscalParts.encoding = select([["auto", t("scan_encoding_auto")], ["cp1250", "Windows-1250"], ["utf-8", "UTF-8"]],
      config.scan_encoding || "auto");
    fiscalParts.linked = select([["", t("none")], ...list.pos.map((p) => [p.config.id, p.config.name])],
      config.linked_pos_device_id || "");
    fiscalParts.autoCard = checkbox(t("auto_send_card"), config.auto_send_card_to_pos);
    fiscalParts.autoCard.input.dataset.field = "auto_send_card_to_pos";
    controls.auto_send_card_to_pos = fiscalParts.autoCard.input;
    const rates = (existing && existing.vat_rates) || {};
    fiscalParts.vat = {};
    vatBox = h("fieldset", { class: "vat" }, h("legend", {}, t("vat_rates")),
      h("p", { class: "hint" }, t("vat_hint")),
      h("div", { class: "vat-grid" }, VAT_LETTERS.map((letter) => {
        const input = h("input", { type: "text", inputmode: "decimal", size: 6,
          value: rates[letter] === undefined ? "" : percent(rates[letter]).replace(" %", "") });
        fiscalParts.vat[letter] = input;
        return add(`vat_rates.${letter}`, t("vat_letter", { letter }), input);
      })));
    form.append(
      add("notes", t("notes"), fiscalParts.notes),
      add("scan_folder", t("scan_folder"), fiscalParts.scan, t("scan_folder_hint")),
      fiscalParts.create.el,
      add("scan_encoding", t("scan_encoding"), fiscalParts.encoding, t("scan_encoding_hint")),
      add("linked_pos_device_id", t("linked_pos"), fiscalParts.linked),
      fiscalParts.autoCard.el,
      vatBox);
    for (const key of ["header_lines", "footer_lines"]) {
      const lines = config[key];
      fiscalParts[key] = h("textarea", { rows: 3 }, Array.isArray(lines) ? lines.join("\n") : lines ?? "");
      form.append(add(key, t(key), fiscalParts[key], t(`${key}_hint`)));
    }
    // What a real register (not a simulated one) needs: its operator, password and payment codes.
    fiscalParts.operator = h("input", { type: "number", min: 1, max: 99, value: config.operator ?? 1 });
    fiscalParts.password = h("input", { type: "text", inputmode: "numeric", autocomplete: "off", maxlength: 8,
      value: config.operator_password ?? "" });
    registerBox = h("fieldset", { class: "register-settings" }, h("legend", {}, t("register_settings")),
      add("operator", t("operator"), fiscalParts.operator, t("operator_hint")),
      add("operator_password", t("operator_password"), fiscalParts.password, t("operator_password_hint")),
      paymentBox);
    form.append(registerBox);
  } else {
    fiscalParts.bank = h("input", { type: "text", value: config.bank || "" });
    form.append(add("bank", t("bank"), fiscalParts.bank));
  }
  fillModels();

  const submit = h("button", { type: "submit", class: "primary" }, t("save"));
  form.append(h("div", { class: "buttons" }, h("a", { class: "button", href: "#/devices" }, t("cancel")), submit));
  clear(main, form);

  const body = () => {
    const details = {};
    const value = (key) => controls[key] && controls[key].value.trim();
    const type = connType.value;
    if (type === "Serial") {
      details.port = value("connection_details.details.port");
      details.baud_rate = Number(value("connection_details.details.baud_rate"));
    } else if (type === "Network") {
      details.ip_address = value("connection_details.details.ip_address");
      const port = value("connection_details.details.port");
      details.port = /^\d+$/.test(port) ? Number(port) : port;
      const password = secretValue("password");
      if (password !== undefined) details.password = password;
    } else if (type === "Cloud") {
      details.environment = value(`${DETAILS}.environment`);
      // a required field left empty is left out, so the API says it is required
      for (const name of ["terminal_id", "client_id", ...CLOUD_ADVANCED]) {
        const text = value(`${DETAILS}.${name}`);
        if (text) details[name] = text;
      }
      const secret = secretValue("client_secret");
      if (secret !== undefined) details.client_secret = secret;
      if (isv.input.checked) {
        details.merchant_id = value(`${DETAILS}.merchant_id`);
        const fee = value(`${DETAILS}.isv_fee_bp`);
        if (fee) details.isv_fee_bp = parsePercent(fee) ?? fee;  // typed in percent, sent in basis points
      }
    } else if (type === "Usb") {
      details.device_selector = value("connection_details.details.device_selector");
      const baud = value("connection_details.details.baud_rate");
      if (baud) details.baud_rate = Number(baud);
    }
    const out = {
      name: name.value.trim(), manufacturer: manufacturer.value, model: model.value,
      connection_details: { type, details }, enabled: enabled.input.checked,
    };
    if (kind === "fiscal") {
      out.notes = fiscalParts.notes.value.trim() || null;
      out.scan_folder = fiscalParts.scan.value.trim() || null;
      out.scan_encoding = fiscalParts.encoding.value;
      out.linked_pos_device_id = fiscalParts.linked.value || null;
      out.auto_send_card_to_pos = fiscalParts.autoCard.input.checked;
      if (manufacturer.value === "Simulated") {
        const rates = {};
        for (const [letter, input] of Object.entries(fiscalParts.vat)) {
          const text = input.value.trim();
          if (!text) continue;
          const bp = parsePercent(text);
          rates[letter] = bp === null ? text : bp;
        }
        out.vat_rates = Object.keys(rates).length ? rates : null;
      }
      if (manufacturer.value !== "Simulated") {
        const op = fiscalParts.operator.value.trim();
        out.operator = /^\d+$/.test(op) ? Number(op) : op;
        out.operator_password = fiscalParts.password.value.trim() || null;
        const codes = {};
        for (const [type, choice] of Object.entries(fiscalParts.codes)) if (choice.value) codes[type] = choice.value;
        out.payment_codes = Object.keys(codes).length ? codes : null;
      }
      for (const key of ["header_lines", "footer_lines"]) {
        if (!fiscalParts[key]) continue;
        const lines = fiscalParts[key].value.split("\n").map((l) => l.trimEnd()).filter(Boolean);
        if (lines.length || (config[key] && config[key].length)) out[key] = lines;
      }
    } else {
      out.bank = fiscalParts.bank.value.trim() || null;
    }
    if (!existing) {
      if (kind === "fiscal" && fiscalParts.create.input.checked) out.create_scan_folder = true;
      return out;
    }
    // An update sends only what changed (docs/manage.md: the other fields keep their stored values).
    const changed = { id: config.id };
    const before = { ...config, vat_rates: existing.vat_rates || null };
    for (const [key, v] of Object.entries(out)) {
      if (JSON.stringify(v) !== JSON.stringify(before[key] ?? null)) changed[key] = v;
    }
    if (kind === "fiscal" && fiscalParts.create.input.checked && "scan_folder" in changed) changed.create_scan_folder = true;
    return changed;
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clear(general);
    for (const control of Object.values(controls)) {
      control.removeAttribute("aria-invalid");
      const err = document.getElementById(`${control.id}-error`);
      if (err) err.textContent = "";
    }
    submit.disabled = true;
    const path = kind === "fiscal" ? "/manage/save_fiscal_device" : "/manage/save_pos_terminal";
    try {
      const sent = body();
      await post(path, sent);
      ctx.notice(t(existing ? "toast_updated" : "toast_created", { name: sent.name || config.name }));
      location.hash = "#/devices";
    } catch (err) {
      showErrors(err, controls, general);
    } finally {
      submit.disabled = false;
    }
  });
}

function showErrors(err, controls, general) {
  general.append(errorBox(err));
  if (!(err instanceof ApiError)) return;
  let first = null;
  for (const { field: path, message } of err.fields) {
    const key = Object.keys(controls).filter((k) => path === k || path.startsWith(`${k}.`))
      .sort((a, b) => b.length - a.length)[0];
    if (!key) continue;
    const control = controls[key];
    const folded = control.closest("details");  // an error in a folded section unfolds it, to be seen and focused
    if (folded) folded.open = true;
    control.setAttribute("aria-invalid", "true");
    document.getElementById(`${control.id}-error`).textContent = fieldMessage(path, message);
    first = first || control;
  }
  if (first) first.focus();
}
