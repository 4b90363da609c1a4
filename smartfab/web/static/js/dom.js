// Small DOM and formatting helpers shared by the pages.

import { locale, t } from "./i18n.js";

/** h("div", {class: "x", onclick: fn}, child, "text") -> element */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function num(v, digits = 1) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: digits, minimumFractionDigits: digits }).format(v);
}

export function pct(v) {
  return v === null || v === undefined || !Number.isFinite(v) ? "–" : `${num(100 * v, 1)} %`;
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "–";
  if (seconds >= 86400) return t("unit.days", { n: num(seconds / 86400, 1) });
  if (seconds >= 3600) return t("unit.hours", { n: num(seconds / 3600, 1) });
  return t("unit.minutes", { n: num(seconds / 60, 0) });
}

export function dateTime(ms) {
  if (ms === null || ms === undefined) return "–";
  return new Intl.DateTimeFormat(locale(), {
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
    second: "2-digit", hour12: false,
  }).format(new Date(ms));
}

export function stateLabel(state) {
  const key = `state.${state}`;
  return state ? t(key) : t("state.unknown");
}

// The last path segment: what an equipment is called on the shop floor (cnc-01).
export function leaf(path) { return path.split("/").pop(); }

export function panel(titleKey, ...children) {
  return h("section", { class: "panel" }, h("h2", {}, t(titleKey)), ...children);
}

// The time range presets of the pages, in milliseconds.
export const RANGES = [
  ["range.1h", 3600e3], ["range.8h", 8 * 3600e3], ["range.24h", 86400e3],
  ["range.7d", 7 * 86400e3], ["range.30d", 30 * 86400e3], ["range.1y", 365 * 86400e3],
];

export function rangeButtons(current, onPick) {
  return h("div", { class: "segmented", role: "group" },
    RANGES.map(([key, span]) => h("button", {
      class: span === current ? "active" : "", "data-span": String(span),
      onclick: () => onPick(span),
    }, t(key))));
}

export function errorBox(err) {
  return h("div", { class: "error" }, t("error.load", { reason: err.message || String(err) }));
}
