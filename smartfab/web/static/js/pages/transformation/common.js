// What the transformation sections share: texts of the data files in the page's language, money,
// the platform's evidence in words, and small building blocks.

import { h, num, pct } from "../../dom.js";
import { currentLanguage, has, locale, t } from "../../i18n.js";

/** A text of the data files ({en, zh, ru}) in the page's language. */
export function local(text) {
  if (!text) return "";
  return text[currentLanguage()] || text.en;
}

const moneyFormats = new Map();
function moneyFormat(currency, compact) {
  const key = `${locale()}|${currency}|${compact}`;
  if (!moneyFormats.has(key)) {
    const options = compact
      ? { notation: "compact", maximumFractionDigits: 1 }
      : { style: "currency", currency, currencyDisplay: "code", maximumFractionDigits: 0, minimumFractionDigits: 0 };
    moneyFormats.set(key, new Intl.NumberFormat(locale(), options));
  }
  return moneyFormats.get(key);
}

/** An amount with its currency, in the page's language ("CNY 1,000,000", "1 000 000 CNY"). */
export function money(v, currency = "CNY") {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  // A minus sign, not a hyphen, after which a line could break ("-" above "CNY 910,206").
  return moneyFormat(currency, false).format(v).replace("-", "\u2212");
}

/** An amount for a chart's axis: "1.2M", "120万", "1,2 млн". */
export function compact(v) {
  return moneyFormat("", true).format(v).replace("-", "\u2212");
}

/** Microseconds since the epoch, as the store keeps times, to milliseconds. */
export function fromUs(us) { return us / 1000; }

// Metrics that count things (transitions, models, events) rather than a share of a whole.
const COUNTS = new Set(["alarms_managed", "quality_flags", "work_orders", "predictive_maintenance"]);

/** Where a figure was read, in the page's language. */
export function sourceText(source) {
  if (source === "plant file") return t("tf.source.plant_file");
  if (source === "store settings") return t("tf.source.store_settings");
  if (source === "model registry") return t("tf.source.model_registry");
  if (source.startsWith("settings, security database")) return t("tf.source.security");
  const store = /^store, (.+)$/.exec(source);
  return store ? t("tf.source.store", { window: store[1] }) : source;
}

/** A piece of evidence in words: what it measures and its figures ("7 / 10 · 70.0%"). */
export function evidenceFigures(e) {
  if (e.metric === "twin_used") return t(e.value > 0 ? "tf.yes" : "tf.no");
  if (COUNTS.has(e.metric)) return num(e.numerator, 0);
  return `${num(e.numerator, 0)} / ${num(e.denominator, 0)} · ${pct(e.value)}`;
}

export function metricName(metric) {
  return has(`tf.metric.${metric}`) ? t(`tf.metric.${metric}`) : metric;
}

/** The evidence as one block: its name and figures, where it was read; the server's own words
 * (English) on hover. */
export function evidenceBlock(e) {
  return h("div", { class: "evidence", title: e.detail, dataset: { metric: e.metric } },
    h("span", { class: "metric" }, metricName(e.metric)), " ",
    h("span", { class: "figures num" }, evidenceFigures(e)),
    h("div", { class: "hint" }, sourceText(e.source)));
}

/** A level as people read it: "2.5". */
export function levelText(v) {
  return v === null || v === undefined ? "–" : num(v, Number.isInteger(v) ? 0 : 1);
}

/** A link that downloads what the server makes (a summary, an export). */
export function downloadLink(href, label, id) {
  return h("a", { class: "button", href, download: "", id }, label);
}

/** Appends what is there: sections a page leaves out are null. */
export function put(root, ...items) {
  root.append(...items.flat().filter((x) => x !== null && x !== undefined && x !== false));
}

export function card(label, value, extra = {}) {
  return h("div", { class: "kpi", ...extra }, h("div", { class: "label" }, label), h("div", { class: "value" }, value));
}

export function readOnlyHint(canEdit) {
  return canEdit ? null : h("div", { class: "hint read-only" }, t("tf.read_only"));
}
