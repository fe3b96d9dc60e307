// The dashboard shell: language, token prompt, navigation, the live event stream and the page router.

import { ApiError, Live, get, onTokenNeeded, setToken, token } from "./api.js";
import { clear, errorBox, h, setBadges } from "./dom.js";
import { loadStrings, setLanguage, t } from "./i18n.js";
import { renderDevice } from "./pages/device.js";
import { renderDevices } from "./pages/devices.js";
import { renderGlance } from "./pages/glance.js";
import { renderJournal } from "./pages/journal.js";
import { renderPlayground } from "./pages/playground.js";
import { renderSettings } from "./pages/settings.js";

const main = document.getElementById("main");
const pageListeners = new Set();

// What a page gets: the live stream (listeners dropped when the page changes) and the shell's helpers.
export const ctx = {
  live: null,
  on(fn) {
    const off = ctx.live.on(fn);
    pageListeners.add(off);
    return off;
  },
  confirm,
  notice,
  async reloadLanguage() {
    const settings = await get("/manage/get_settings");
    setLanguage(settings.language);
    drawShell();
    await route();
  },
  restartLive() {
    ctx.live.restart();
  },
};

const PAGES = [
  ["glance", "#/", renderGlance],
  ["devices", "#/devices", renderDevices],
  ["journal", "#/journal", renderJournal],
  ["playground", "#/playground", renderPlayground],
  ["settings", "#/settings", renderSettings],
];

function drawDialogs() {
  document.getElementById("token-title").textContent = t("token_title");
  document.getElementById("token-text").textContent = t("token_text");
  document.getElementById("token-label").textContent = t("token_label");
  document.getElementById("token-ok").textContent = t("token_ok");
  document.getElementById("confirm-cancel").textContent = t("cancel");
}

function drawShell() {
  drawDialogs();
  document.title = t("app_title");
  document.getElementById("skip-link").textContent = t("skip");
  const nav = document.getElementById("nav");
  clear(nav, h("ul", {}, PAGES.map(([key, href]) => h("li", {}, h("a", { href, dataset: { page: key } }, t(`nav_${key}`))))));
  const forget = document.getElementById("forget-token");
  forget.textContent = t("forget_token");
  forget.hidden = !token();
}

function markNav(page) {
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.dataset.page === page) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

function askForToken(wrong) {
  const dialog = document.getElementById("token-dialog");
  const input = document.getElementById("token-input");
  document.getElementById("token-error").textContent = wrong ? t("token_wrong") : "";
  input.value = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      const value = dialog.returnValue === "ok" ? input.value.trim() : "";
      resolve(value || null);
      if (value) {
        document.getElementById("forget-token").hidden = false;
        if (ctx.live) ctx.restartLive();
      }
    }, { once: true });
    dialog.showModal();
  });
}

function confirm(title, text, okLabel) {
  const dialog = document.getElementById("confirm-dialog");
  document.getElementById("confirm-title").textContent = title;
  document.getElementById("confirm-text").textContent = text;
  document.getElementById("confirm-ok").textContent = okLabel;
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.showModal();
    document.getElementById("confirm-cancel").focus();
  });
}

let noticeTimer = null;

function notice(text) {
  const el = document.getElementById("notice");
  el.textContent = text;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { el.textContent = ""; }, 6000);
}

async function route() {
  for (const off of pageListeners) off();
  pageListeners.clear();
  const hash = location.hash || "#/";
  const parts = hash.slice(2).split("/").filter(Boolean).map(decodeURIComponent);
  let page = parts[0] || "glance";
  let render = renderGlance;
  if (page === "device") {
    render = renderDevice;
    page = "devices";
  } else {
    const found = PAGES.find(([key]) => key === page);
    if (found) render = found[2];
    else page = "glance";
  }
  markNav(page);
  delete main.dataset.rendered;
  clear(main, h("p", { class: "muted" }, t("loading")));
  try {
    await render(main, parts.slice(1), ctx);
  } catch (err) {
    clear(main, h("h1", {}, t("error_title")), errorBox(err));
    if (!(err instanceof ApiError)) console.error(err);
  }
  main.dataset.rendered = hash; // which page is drawn (for tests and scripts that wait for it)
}

async function start() {
  await loadStrings();
  onTokenNeeded(askForToken);
  // The language setting needs the token to be read: until then the browser's language asks for it.
  let language = navigator.language.startsWith("ro") ? "ro" : "en";
  setLanguage(language);
  drawDialogs();
  try {
    language = (await get("/manage/get_settings")).language;
  } catch (err) {
    clear(main, errorBox(err));
  }
  setLanguage(language);
  drawShell();
  ctx.live = new Live((up) => {
    const el = document.getElementById("live");
    el.textContent = up ? t("live_on") : t("live_off");
    el.className = up ? "live on" : "live off";
  });
  ctx.live.on((kind, payload) => {
    if (kind === "device_status") setBadges(payload.device_id, payload.status, payload.status_text);
  });
  ctx.live.connect();
  document.getElementById("forget-token").addEventListener("click", () => {
    setToken(null);
    location.reload();
  });
  window.addEventListener("hashchange", () => {
    route().then(() => main.focus());
  });
  await route();
}

start();
