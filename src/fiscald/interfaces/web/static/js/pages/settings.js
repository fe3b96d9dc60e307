// Settings: GET /manage/get_settings and POST /manage/save_settings with only the changed keys.

import { ApiError, get, post, setToken } from "../api.js";
import { checkbox, clear, errorBox, field, h, select } from "../dom.js";
import { t } from "../i18n.js";
import { fieldMessage } from "../messages.js";

const lines = (text) => text.split("\n").map((line) => line.trim()).filter(Boolean);

export async function renderSettings(main, params, ctx) {
  const settings = await get("/manage/get_settings");
  const version = await get("/manage/get_version");
  const language = select([["ro", "Română"], ["en", "English"]], settings.language);
  const simulated = checkbox(t("enable_simulated"), settings.enable_simulated_devices);
  const port = h("input", { type: "number", min: 1, max: 65535, value: settings.api_port });
  const bind = h("input", { type: "text", value: settings.bind_address });
  const retention = h("input", { type: "number", min: 1, max: 365, value: settings.idempotency_retention_days });
  const settle = h("input", { type: "number", min: 0, max: 10000, value: settings.inp_settle_ms });
  const origins = h("textarea", { rows: 2 }, settings.allowed_origins.join("\n"));
  const hosts = h("textarea", { rows: 2 }, settings.allowed_hosts.join("\n"));
  // central_url comes masked from the API (its password as ***) and is shown only so: sent back unchanged it
  // keeps the stored password, so the page never holds it.
  const central = h("input", { type: "text", autocomplete: "off", spellcheck: "false", value: settings.central_url ?? "" });
  const storeId = h("input", { type: "text", autocomplete: "off", value: settings.store_id ?? "" });
  const newToken = h("input", { type: "password", autocomplete: "new-password" });
  const clearToken = checkbox(t("token_remove"), false);
  const out = h("div", { class: "result", "aria-live": "polite" });
  const controls = {
    language, api_port: port, bind_address: bind, idempotency_retention_days: retention, inp_settle_ms: settle,
    allowed_origins: origins, allowed_hosts: hosts, api_token: newToken, central_url: central, store_id: storeId,
  };
  const form = h("form", { class: "settings", novalidate: true },
    h("h1", {}, t("nav_settings")),
    field(t("language"), language),
    simulated.el,
    h("fieldset", {}, h("legend", {}, t("security")),
      field(t("api_token_new"), newToken, settings.api_token ? t("token_is_set") : t("token_not_set")),
      settings.api_token ? clearToken.el : null,
      field(t("allowed_origins"), origins, t("allowed_origins_hint")),
      field(t("allowed_hosts"), hosts, t("allowed_hosts_hint"))),
    h("fieldset", {}, h("legend", {}, t("central_group")),
      h("p", { class: "hint" }, t("central_intro")),
      field(t("store_id"), storeId, t("store_id_hint")),
      field(t("central_url"), central, t("central_url_hint"))),
    h("fieldset", {}, h("legend", {}, t("restart_needed_group")),
      field(t("api_port"), port), field(t("bind_address"), bind, t("bind_hint")),
      field(t("retention_days"), retention)),
    field(t("inp_settle_ms"), settle),
    h("div", { class: "buttons" }, h("button", { type: "submit", class: "primary" }, t("save"))),
    out,
    h("p", { class: "muted" }, `fiscald ${version.version} · Python ${version.python}`));
  clear(main, form);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const wanted = {
      language: language.value,
      enable_simulated_devices: simulated.input.checked,
      api_port: Number(port.value),
      bind_address: bind.value.trim(),
      idempotency_retention_days: Number(retention.value),
      inp_settle_ms: Number(settle.value),
      allowed_origins: lines(origins.value),
      allowed_hosts: lines(hosts.value),
      central_url: central.value.trim() || null,
      store_id: storeId.value.trim() || null,
    };
    const changes = {};
    for (const [key, value] of Object.entries(wanted)) {
      if (JSON.stringify(value) !== JSON.stringify(settings[key])) changes[key] = value;
    }
    if (newToken.value.trim()) changes.api_token = newToken.value.trim();
    else if (clearToken.input.checked) changes.api_token = null;
    for (const control of Object.values(controls)) {
      control.removeAttribute("aria-invalid");
      const error = document.getElementById(`${control.id}-error`);
      if (error) error.textContent = "";
    }
    // A changed URL that still holds the mask would store "***" as the password: ask for the real one.
    if (changes.central_url && /:\*\*\*@|password=\*\*\*/.test(changes.central_url)) {
      central.setAttribute("aria-invalid", "true");
      document.getElementById(`${central.id}-error`).textContent = t("central_url_masked");
      central.focus();
      return;
    }
    if (!Object.keys(changes).length) {
      clear(out, h("p", {}, t("nothing_changed")));
      return;
    }
    try {
      const answer = await post("/manage/save_settings", changes);
      if ("api_token" in changes) {
        setToken(changes.api_token);
        ctx.restartLive();
      }
      ctx.notice(t("toast_settings_saved"));
      if ("language" in changes) await ctx.reloadLanguage();
      else await renderSettings(main, params, ctx);
      if (answer.restart_required.length) {
        const box = document.querySelector(".settings .result");
        clear(box, h("p", { class: "warning", role: "alert" },
          t("restart_required", { keys: answer.restart_required.join(", ") })));
      } else {
        clear(document.querySelector(".settings .result"), h("p", {}, t("saved")));
      }
    } catch (err) {
      clear(out, errorBox(err));
      if (err instanceof ApiError) {
        for (const { field: key, message } of err.fields) {
          const control = controls[key.split(".")[0]];
          if (!control) continue;
          control.setAttribute("aria-invalid", "true");
          const error = document.getElementById(`${control.id}-error`);
          if (error) error.textContent = fieldMessage(key, message);
        }
      }
    }
  });
}
