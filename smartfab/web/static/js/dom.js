// Small DOM and formatting helpers shared by the pages.

import { has, locale, t } from "./i18n.js";

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

// Every number the app shows goes through num() or pct(): the page's language decides the
// decimal separator, digit grouping and how a percent sign is written ("92.3%", "92,3 %").
const formats = new Map();
function format(style, digits, signDisplay = "auto") {
  const key = `${locale()}|${style}|${digits}|${signDisplay}`;
  if (!formats.has(key)) {
    const options = { style, signDisplay, maximumFractionDigits: digits, minimumFractionDigits: digits };
    formats.set(key, new Intl.NumberFormat(locale(), options));
  }
  return formats.get(key);
}

function missing(v) { return v === null || v === undefined || !Number.isFinite(v); }

/** A number with `digits` decimals in the page's language; "–" when there is none. */
export function num(v, digits = 1) {
  return missing(v) ? "–" : format("decimal", digits).format(v);
}

/** A fraction (0.923) as a percentage in the page's language ("92.3%", "92,3 %"). */
export function pct(v, digits = 1) {
  return missing(v) ? "–" : format("percent", digits).format(v);
}

/** An amount of money in the page's language: "CN¥1,234.50", "1 234,50 CN¥". */
export function money(v, currency, digits = 2) {
  if (missing(v)) return "–";
  const key = `${locale()}|currency|${currency}|${digits}`;
  if (!formats.has(key)) {
    const options = { style: "currency", currency, maximumFractionDigits: digits, minimumFractionDigits: digits };
    formats.set(key, new Intl.NumberFormat(locale(), options));
  }
  return formats.get(key).format(v);
}

/** A signed change as a percentage: "+4.5%", "−2,0 %". */
export function pctChange(v, digits = 1) {
  return missing(v) ? "–" : format("percent", digits, "exceptZero").format(v);
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

/** A shift's name: translated when it is one of the usual ones (early, late, night, ...), as the
 * plant file writes it otherwise. */
export function shiftName(name) {
  return has(`shift.${name}`) ? t(`shift.${name}`) : name;
}

/** The label of an OEE period as the API gives it ("2026-12-07" or "2026-12-07 early"), in the
 * page's language: the date as people write it there, and the shift's name. */
export function periodLabel(label) {
  const m = /^(\d{4}-\d{2}-\d{2})(?: (.+))?$/.exec(label || "");
  if (!m) return label;
  const day = new Intl.DateTimeFormat(locale(), { weekday: "short", day: "2-digit", month: "2-digit" })
    .format(new Date(`${m[1]}T12:00:00`));
  return m[2] ? `${day} ${shiftName(m[2])}` : day;
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

export function rangeButtons(current, onPick, ranges = RANGES) {
  return h("div", { class: "segmented", role: "group" },
    ranges.map(([key, span]) => h("button", {
      class: span === current ? "active" : "", "data-span": String(span),
      onclick: () => onPick(span),
    }, t(key))));
}

export function errorBox(err) {
  return h("div", { class: "error" }, t("error.load", { reason: err.message || String(err) }));
}

/** A table that turns into a list of cards where its box is narrower than `below` pixels (a
 * phone, a tablet, a side column) instead of scrolling sideways: each cell then shows its
 * column's name above its value. `head` holds the columns' translation keys ("" for a column
 * without a name); cells with the class "card-wide" take a card's whole width. Measured on the
 * box, not the window: the same table sits in a full-width panel on one page and in a side
 * column on another. */
export function cardTable(cls, head, rows, { below = 640 } = {}) {
  for (const tr of rows) {
    [...tr.children].forEach((td, i) => { if (head[i]) td.dataset.label = t(head[i]); });
  }
  // A column of numbers is right-aligned, its name too (times are read from the left).
  const numeric = rows.length ? [...rows[0].children].map((td) => td.matches(".num:not(.time)")) : [];
  const box = h("div", { class: "cards-box" }, h("table", { class: `data cards ${cls}` },
    h("tr", {}, head.map((k, i) => h("th", { class: numeric[i] ? "num" : null }, k ? t(k) : ""))), rows));
  new ResizeObserver(([entry]) => {
    box.classList.toggle("as-cards", entry.contentRect.width > 0 && entry.contentRect.width < below);
  }).observe(box);
  return box;
}
