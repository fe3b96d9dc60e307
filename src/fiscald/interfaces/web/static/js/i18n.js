// Romanian and English texts (strings.json), chosen by the server's `language` setting.

let strings = { ro: {}, en: {} };
let language = "ro";

export async function loadStrings() {
  const response = await fetch("/ui/strings.json", { cache: "no-store" });
  strings = await response.json();
}

export function setLanguage(value) {
  language = value === "en" ? "en" : "ro";
  document.documentElement.lang = language;
}

export function currentLanguage() {
  return language;
}

export function has(key) {
  return key in strings[language] || key in strings.en;
}

// t(key, {name: "x"}): the text of key with "{name}" placeholders filled in.
export function t(key, vars = {}) {
  const text = strings[language][key] ?? strings.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}
