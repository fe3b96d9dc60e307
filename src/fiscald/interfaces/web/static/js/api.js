// Every call the dashboard makes: the public HTTP API with the token in the Authorization header, and the
// WebSocket event stream. The token lives in sessionStorage (this tab only), never in a page URL.

const TOKEN_KEY = "fiscald.api_token";

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export class ApiError extends Error {
  constructor(httpStatus, body) {
    super(body && body.error ? body.error : `HTTP ${httpStatus}`);
    this.httpStatus = httpStatus;
    this.body = body || {};
  }

  // [{field, message}] from the API's own validation answer; else the field named in the message.
  get fields() {
    const listed = this.body.details && this.body.details.fields;
    if (Array.isArray(listed) && listed.length) return listed;
    const parts = String(this.body.error || "").split(": ");
    if (parts.length >= 3 && /^[a-z_][a-z_0-9.]*$/.test(parts[1])) {
      return [{ field: parts[1], message: parts.slice(2).join(": ") }];
    }
    return [];
  }
}

let askToken = async () => null;

// fn(previousWasWrong) -> Promise<string|null>: asks the person for the token.
export function onTokenNeeded(fn) {
  askToken = fn;
}

function headersFor(extra, hasBody) {
  const headers = { Accept: "application/json", ...extra };
  if (hasBody) headers["Content-Type"] = "application/json";
  const current = token();
  if (current) headers.Authorization = `Bearer ${current}`;
  return headers;
}

// The raw fetch, same-origin only; a 401 asks for the token and tries again.
// rawBody: JSON text sent as it is (the playground), instead of body encoded here.
export async function send(method, path, { body, rawBody, headers = {} } = {}) {
  const text = rawBody !== undefined ? rawBody : body === undefined ? undefined : JSON.stringify(body);
  for (;;) {
    const response = await fetch(path, {
      method, body: text, headers: headersFor(headers, text !== undefined),
      credentials: "same-origin", mode: "same-origin", cache: "no-store",
    });
    if (response.status !== 401) return { response, sent: text, headers: headersFor(headers, text !== undefined) };
    const given = await askToken(Boolean(token()));
    if (!given) return { response, sent: text, headers: headersFor(headers, text !== undefined) };
    setToken(given);
  }
}

export async function call(method, path, body) {
  const { response } = await send(method, path, { body });
  let parsed = null;
  try {
    parsed = await response.json();
  } catch {
    parsed = null;
  }
  if (!response.ok) throw new ApiError(response.status, parsed);
  return parsed;
}

export const get = (path) => call("GET", path);
export const post = (path, body) => call("POST", path, body);

export async function operation(deviceId, name, params) {
  const body = { device_id: deviceId, operation: name };
  if (params !== undefined) body.params = params;
  const answer = await post("/devices/operation", body);
  return answer.result;
}

export async function devices() {
  const [fiscal, pos] = await Promise.all([get("/devices/fiscal"), get("/devices/pos")]);
  return { fiscal: fiscal.fiscal_devices, pos: pos.pos_terminals };
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") q.set(key, String(value));
  }
  const text = q.toString();
  return text ? `?${text}` : "";
}

// Reads an export (streamed by the server) and hands it to the browser as a file download.
export async function download(path, filename) {
  const { response } = await send("GET", path);
  if (!response.ok) {
    let parsed = null;
    try { parsed = await response.json(); } catch { parsed = null; }
    throw new ApiError(response.status, parsed);
  }
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// The /ws event stream: device status, operations and journal entries of every device, reconnecting with
// back-off. Browsers cannot set headers on a WebSocket, so the token goes as ?token= (docs/websocket.md);
// that URL is never shown, stored or logged by fiscald.
export class Live {
  constructor(onState) {
    this.listeners = new Set();
    this.onState = onState;
    this.delay = 500;
    this.socket = null;
  }

  on(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const current = token();
    const suffix = current ? `?token=${encodeURIComponent(current)}` : "";
    const socket = new WebSocket(`${scheme}://${location.host}/ws${suffix}`);
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.delay = 500;
      socket.send(JSON.stringify({ id: "hello", action: "hello", payload: { client: "fiscald-ui" } }));
      socket.send(JSON.stringify({
        id: "subscribe", action: "subscribe",
        payload: { events: ["device_status", "operation", "journal"], device_ids: null },
      }));
      this.onState(true);
    });
    socket.addEventListener("message", (message) => {
      let event;
      try { event = JSON.parse(message.data); } catch { return; }
      if (!event.action || !event.action.startsWith("event.")) return;
      for (const fn of this.listeners) fn(event.action.slice(6), event.payload);
    });
    socket.addEventListener("close", () => {
      this.onState(false);
      if (this.socket !== socket) return;
      setTimeout(() => this.connect(), this.delay);
      this.delay = Math.min(this.delay * 2, 10000);
    });
  }

  restart() {
    const old = this.socket;
    this.socket = null;
    if (old) old.close();
    this.connect();
  }
}
