/*
 * fiscald WebSocket client — an example to copy into a POS program.
 * Runs in a browser (<script src="ws_client.js">, then `new FiscaldClient(url)`) and in Node.js ≥ 22
 * (global WebSocket; Node 20/21 need `--experimental-websocket`). No dependencies.
 *
 * What it shows: replies matched by `id` with many requests in flight, pushed events, reconnection with
 * back-off (re-subscribing afterwards), and safe retries of receipts thanks to an idempotency key.
 *
 * Demo:  node ws_client.js ws://127.0.0.1:10123/ws [DEVICE_ID] [TOKEN]
 *        node --experimental-websocket ws_client.js ...      (Node.js 20 and 21; the demo says so if needed)
 * A browser page must be served from a loopback origin (http://localhost:...) or one listed in the
 * `allowed_origins` setting; browsers cannot set headers, so a token goes in the URL (?token=...).
 */
"use strict";

class FiscaldError extends Error {
  constructor(reply) {
    super(`[${reply.status}] ${reply.error}`);
    this.status = reply.status; // fiscald error code, e.g. 2001 paper out
    this.reply = reply;
  }
}

class FiscaldClient {
  constructor(url, { token = null, onEvent = () => {}, onConnection = () => {} } = {}) {
    this.url = token ? `${url}?token=${encodeURIComponent(token)}` : url;
    this.onEvent = onEvent; // (name, payload)
    this.onConnection = onConnection; // (true | false)
    this.subscriptions = []; // replayed after every reconnect
    this.pending = new Map(); // id -> {resolve, reject, timer}
    this.submitted = new Map(); // operation_id -> {promise, resolve}: completions of operations submitted here
    this.nextId = 1;
    this.lastSeq = 0;
    this.delay = 500;
    this.stopped = false;
    this.ws = null;
    this.ready = null; // a Promise resolved while connected
    this.markDisconnected();
  }

  markDisconnected() {
    this.ready = new Promise((resolve) => { this.setReady = resolve; });
  }

  start() {
    this.stopped = false;
    this.open();
    return this.ready;
  }

  stop() {
    this.stopped = true;
    if (this.ws) this.ws.close(1000);
  }

  open() {
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onopen = () => {
      this.delay = 500;
      this.lastSeq = 0;
      const ignore = () => {}; // replies of these are not awaited; a lost connection reconnects anyway
      this.send(ws, "hello", { client: "example-js/1" }).catch(ignore);
      for (const payload of this.subscriptions) this.send(ws, "subscribe", payload).catch(ignore);
      this.setReady();
      this.onConnection(true);
    };
    ws.onmessage = (message) => this.receive(JSON.parse(message.data));
    ws.onclose = () => {
      if (this.ws === ws) this.ws = null;
      for (const { reject, timer } of this.pending.values()) {
        clearTimeout(timer);
        reject(new Error("connection to fiscald lost"));
      }
      this.pending.clear();
      this.markDisconnected();
      this.onConnection(false);
      if (!this.stopped) {
        setTimeout(() => this.open(), this.delay);
        this.delay = Math.min(this.delay * 2, 10000);
      }
    };
  }

  receive(message) {
    if (message.action.startsWith("event.")) {
      if (message.seq !== this.lastSeq + 1) console.warn(`missed events ${this.lastSeq + 1}..${message.seq - 1}`);
      this.lastSeq = message.seq;
      const name = message.action.slice("event.".length);
      if (name === "operation_completed") this.submitted.get(message.payload.operation_id)?.resolve(message.payload);
      this.onEvent(name, message.payload);
      return;
    }
    // Track a submitted operation as soon as its reply arrives: its completion may be in the same read.
    if (message.action === "operation.submit.result" && !this.submitted.has(message.payload.operation_id)) {
      let resolve;
      const promise = new Promise((r) => { resolve = r; });
      this.submitted.set(message.payload.operation_id, { promise, resolve });
    }
    const waiter = this.pending.get(message.id);
    if (!waiter) return;
    this.pending.delete(message.id);
    clearTimeout(waiter.timer);
    if (message.action.endsWith(".result")) waiter.resolve(message.payload);
    else waiter.reject(new FiscaldError(message));
  }

  send(ws, action, payload, timeoutMs = 60000) {
    const id = `c${this.nextId++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${action}: no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      ws.send(JSON.stringify({ id, action, payload }));
    });
  }

  /** One request; resolves with the reply payload, rejects with FiscaldError for an error reply. */
  async request(action, payload = {}, timeoutMs = 60000) {
    await this.ready;
    return this.send(this.ws, action, payload, timeoutMs);
  }

  subscribe(events, deviceIds = null) {
    const payload = { events, device_ids: deviceIds };
    this.subscriptions.push(payload);
    return this.request("subscribe", payload);
  }

  /**
   * Queue an operation; resolves with {operationId, done} where `done` resolves with the
   * operation_completed payload ({result} or {error}). After a reconnect, ask `operation.get` instead.
   */
  async submit(operation, idempotencyKey = null) {
    const payload = idempotencyKey ? { ...operation, idempotency_key: idempotencyKey } : operation;
    const { operation_id: operationId } = await this.request("operation.submit", payload);
    const { promise } = this.submitted.get(operationId);
    promise.then(() => this.submitted.delete(operationId));
    return { operationId, done: promise };
  }

  /** Run an operation; with an idempotency key a lost connection is retried without printing twice. */
  async execute(operation, idempotencyKey = null, attempts = 5) {
    const payload = idempotencyKey ? { ...operation, idempotency_key: idempotencyKey } : operation;
    for (let attempt = 1; ; attempt++) {
      try {
        return (await this.request("operation.execute", payload)).result;
      } catch (err) {
        if (err instanceof FiscaldError || !idempotencyKey || attempt >= attempts) throw err;
      }
    }
  }
}

async function demo(url, deviceId, token) {
  const client = new FiscaldClient(url, {
    token,
    onEvent: (name, payload) => {
      if (name === "device_status") console.log(`device ${payload.device_id}: ${payload.status} (${payload.status_text})`);
    },
  });
  await client.start();
  try {
    if (!deviceId) deviceId = (await client.request("devices.list", { kind: "fiscal" })).fiscal_devices[0].config.id;
    await client.subscribe(["device_status"], [deviceId]);
    const receipt = {
      device_id: deviceId, operation: "print_receipt",
      params: {
        lines: [
          { type: "item", description: "Cafea", quantity_thousandths: 1000, unit_price_cents: 1200, vat: "A" },
          { type: "item", description: "Apa plata", quantity_thousandths: 2000, unit_price_cents: 450, vat: "B" },
        ],
        payments: [{ type: "cash", amount_cents: 5000 }],
      },
    };
    const result = await client.execute(receipt, `order-${crypto.randomUUID()}`);
    console.log(`receipt ${result.receipt_number} total ${result.total_cents} change ${result.change_cents}`);

    const submitted = await client.submit({ device_id: deviceId, operation: "x_report" });
    const done = await submitted.done;
    console.log(`x report: ${done.result.receipts_count} receipts today`);
    const state = await client.request("operation.get", { operation_id: submitted.operationId });
    console.log(`operation ${submitted.operationId}: ${state.state}`);
    try {
      await client.execute({ device_id: deviceId, operation: "cash_out", params: { amount_cents: 99999999 } });
    } catch (err) {
      console.log(`error ${err.status}: ${err.reply.error}`);
    }
  } finally {
    client.stop();
  }
}

if (typeof module !== "undefined" && typeof require !== "undefined" && require.main === module) {
  const [url = "ws://127.0.0.1:10123/ws", deviceId = null, token = null] = process.argv.slice(2);
  if (typeof WebSocket === "undefined") {
    console.error(`Node.js ${process.version} has no global WebSocket: use Node.js 22 or newer, or run ` +
      "node --experimental-websocket ws_client.js ... (Node.js 20 and 21).");
    process.exitCode = 2;
  } else {
    demo(url, deviceId, token).catch((err) => { console.error(err); process.exitCode = 1; });
  }
} else if (typeof module !== "undefined") {
  module.exports = { FiscaldClient, FiscaldError };
} else {
  window.FiscaldClient = FiscaldClient;
  window.FiscaldError = FiscaldError;
}
