// What the API answered, in the dashboard's language: its validation messages (pydantic's and fiscald's own,
// which come in English) translated through strings.json, and for every error code the next step to take.

import { has, t } from "./i18n.js";

// [English message pattern, strings.json key, names of the captured values]. A message no rule knows is shown
// as the API wrote it.
const RULES = [
  [/^String should have at least (\d+) characters?$/, "v_min_length", ["n"]],
  [/^String should have at most (\d+) characters?$/, "v_max_length", ["n"]],
  [/^String should match pattern /, "v_pattern", []],
  [/^Input should be less than or equal to (-?\d+)$/, "v_le", ["n"]],
  [/^Input should be greater than or equal to (-?\d+)$/, "v_ge", ["n"]],
  [/^Input should be less than (-?\d+)$/, "v_lt", ["n"]],
  [/^Input should be greater than (-?\d+)$/, "v_gt", ["n"]],
  [/^Input should be a valid integer/, "v_int", []],
  [/^Input should be a valid string/, "v_string", []],
  [/^Input should be a valid boolean/, "v_bool", []],
  [/^Input should be a valid (list|array)/, "v_list", []],
  [/^Input should be a valid (\w+)/, "v_type", ["type"]],
  [/^Input should be (.+)$/, "v_one_of", ["values"]],
  [/^required with central_url/, "v_store_id_required", []],
  [/^(Field required|required)\b/, "v_required", []],
  [/^(Extra inputs are not permitted|unknown field)$/, "v_unknown", []],
  [/^List should have at most (\d+) items?/, "v_max_items", ["n"]],
  [/^'(.*)' is not a host name or IP address/, "v_host", ["value"]],
  [/^'(.*)' is not a web origin/, "v_origin", ["value"]],
  [/^'(.*)' is not an http\(s\):\/\/host\[:port\] URL$/, "v_base_url", ["value"]],
  [/^'(.*)' is not a payment code of a [^(]+\(codes: (.*)\)$/, "v_payment_code", ["value", "codes"]],
  [/^not a payment type \(types: (.*)\)$/, "v_payment_type", ["types"]],
  [/^a .* register has no payment codes to remap/, "v_no_payment_codes", []],
  [/^expected a URL like (\S+)/, "v_central_url", ["example"]],
  [/^not a (valid PostgreSQL )?URL \((.*)\)$/, "v_url", ["kind", "why"]],
  [/^binding to (\S+) \(not loopback\) requires an api_token/, "v_needs_token", ["address"]],
  [/^'(.*)' is not an IP address or localhost$/, "v_bind_address", ["value"]],
  [/^'(.*)' is not an absolute path$/, "v_absolute_path", ["value"]],
  [/^(.*) does not exist \(send "create_scan_folder": true/, "v_folder_missing", ["value"]],
  [/^needs linked_pos_device_id/, "v_needs_linked_pos", []],
];

export function fieldMessage(field, message) {
  for (const [pattern, key, names] of RULES) {
    const match = pattern.exec(message);
    if (!match) continue;
    // A field's own wording where the general one would mislead (a pattern means nothing to a person; VAT
    // rates are typed in percent but checked in basis points): "v_pattern_store_id", "v_le_vat_rates", and for a
    // field under connection_details by its own name, "v_pattern_terminal_id".
    const path = String(field).split(".");
    const specific = [`${key}_${path[path.length - 1]}`, `${key}_${path[0]}`].find((k) => has(k));
    if (specific) return t(specific);
    const vars = {};
    names.forEach((name, i) => { vars[name] = match[i + 1] ?? ""; });
    return t(key, vars);
  }
  return message;
}

// The error as one line: the API's own text (already in the chosen language), its field detail translated.
export function errorText(err) {
  if (!err || !err.message) return String(err);
  const fields = typeof err.fields === "object" && Array.isArray(err.fields) ? err.fields : [];
  if (!fields.length) return err.message;
  const { field, message } = fields[0];
  const marker = `: ${field}: `;
  const at = err.message.indexOf(marker);
  const base = at >= 0 ? err.message.slice(0, at) : err.message.split(": ")[0];
  return `${base}: ${field}: ${fieldMessage(field, message)}`;
}

// What to do next about an error: the advice for its code (every code of src/fiscald/errors.py has one), or,
// for a failure to reach fiscald at all, the advice for that.
export function nextStep(err) {
  const code = err && err.body && err.body.status;
  if (typeof code === "number") {
    const key = `next_${code}`;
    const text = t(key);
    return text === key ? null : text;
  }
  return err && err.httpStatus === undefined ? t("next_unreachable") : null;
}
