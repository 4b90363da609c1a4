// Translations: every visible string is a key into static/i18n/<lang>.json. Markup names its keys
// in data-i18n (text), data-i18n-title and data-i18n-placeholder; scripts call t(key, vars).
// The chosen language is remembered in the browser.

export const LANGUAGES = ["en", "zh", "ru"];
const STORAGE_KEY = "smartfab.lang";
let dict = {};
let lang = "en";

export function currentLanguage() { return lang; }

// Locale for numbers and dates (Intl), by language.
export function locale() { return { en: "en-GB", zh: "zh-CN", ru: "ru-RU" }[lang]; }

export function t(key, vars = {}) {
  const text = dict[key];
  if (text === undefined) {
    console.warn("missing translation", key);
    return key;
  }
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

export function has(key) { return key in dict; }

export async function setLanguage(next) {
  const wanted = LANGUAGES.includes(next) ? next : "en";
  const r = await fetch(`i18n/${wanted}.json`);
  dict = await r.json();
  lang = wanted;
  localStorage.setItem(STORAGE_KEY, lang);
  document.documentElement.lang = locale();
  translate(document);
}

export function initialLanguage() {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (saved && LANGUAGES.includes(saved)) return saved;
  const nav = (navigator.language || "en").slice(0, 2);
  return LANGUAGES.includes(nav) ? nav : "en";
}

export function translate(root) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
}
