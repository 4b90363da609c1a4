// Pieces more than one page shows: OEE figures as KPI cards, the six big losses as bars, state
// timelines of equipment, a legend of state colours, a signal's history as the trend draws it;
// figures kept current by the live feed; the head of the energy and quality pages.

import { get, live, ms, rows, send } from "../api.js";
import { BarChart } from "../charts/bars.js";
import { cssVar } from "../charts/core.js";
import { Timeline } from "../charts/timeline.js";
import { duration, h, leaf, num, pct, stateLabel } from "../dom.js";
import { t } from "../i18n.js";

export const STATES = ["running", "idle", "setup", "unplanned_down", "planned_stop", "off"];
export const LOSSES = [
  "breakdown_loss_s", "setup_loss_s", "small_stop_loss_s",
  "reduced_speed_loss_s", "process_defect_loss_s", "reduced_yield_loss_s",
];

export function iso(msTime) { return new Date(msTime).toISOString(); }

/** Whether a signal (of /api/equipment) is a measured number, which trends and control charts
 * draw: an enum's codes are no quantity, texts and arrays are no one number. */
export function measured(s) { return s.role === "measurement" && s.kind === "number" && s.data_type !== "enum"; }

export function stateLegend() {
  return h("div", { class: "legend" }, STATES.map((s) =>
    h("span", {}, h("i", { style: `background: var(--state-${s})` }), stateLabel(s))));
}

/** KPI cards of one row of /api/oee figures: all of them, or those of `only` (keys kpi.*). */
export function kpiCards(f, only = null) {
  const card = (key, value) => (only && !only.includes(key) ? null : h("div", { class: "kpi", dataset: { kpi: key } },
    h("div", { class: "label" }, t(key)), h("div", { class: "value" }, value)));
  return h("div", { class: "kpis" },
    card("kpi.oee", pct(f.oee)), card("kpi.availability", pct(f.availability)),
    card("kpi.performance", pct(f.performance)), card("kpi.quality", pct(f.quality)),
    card("kpi.good", num(f.good, 0)), card("kpi.scrap", num(f.scrap, 0)),
    card("kpi.mtbf", duration(f.mtbf_s)), card("kpi.mttr", duration(f.mttr_s)),
    card("kpi.failures", num(f.failures, 0)));
}

/** The six big losses of one row of figures, in hours. */
export function lossChart(container) {
  const chart = new BarChart(container, { bars: LOSSES.length, unit: t("unit.h"), labelWidth: 170 });
  return {
    chart,
    set(f) {
      // Breakdowns are the one loss that is an abnormal state: the only coloured bar.
      const red = cssVar("--state-unplanned_down");
      chart.setItems(LOSSES.map((k) => ({
        label: t(`loss.${k}`),
        value: (f[k] ?? 0) / 3600,
        text: duration(f[k] ?? 0),  // "5 min" reads better than "0.083 h"
        color: k === "breakdown_loss_s" ? red : undefined,
      })));
    },
  };
}

/** Stacked state timelines of some equipment over [x0, x1). */
export async function loadTimelines(chart, paths, x0, x1) {
  const bodies = await Promise.all(paths.map((p) =>
    get("timeline", { equipment: p, start: iso(x0), end: iso(x1) })));
  chart.setRows(bodies.map((b, i) => {
    const c = b.columns;
    return { name: leaf(paths[i]), start: c.start.map(ms), end: c.end.map(ms), value: c.state };
  }), x0, x1);
}

export function timelineChart(container, rowsCount, labelWidth = 72) {
  return new Timeline(container, { rows: rowsCount, text: stateLabel, labelWidth });
}

export async function oee(path, x0, x1, extra = {}) {
  const body = await get("oee", { path, start: iso(x0), end: iso(x1), ...extra });
  return body;
}

export function firstRow(table) { return rows(table)[0] ?? {}; }

// Raw points are worth fetching while there are at most about two per pixel; beyond that a
// bucket per two pixels shows the same picture (min/max envelope) at a fraction of the bytes.
function resolution(x0, x1, sampleS, widthPx) {
  const points = (x1 - x0) / 1000 / sampleS;
  return points <= 2 * widthPx ? null : Math.max(10, Math.round(widthPx / 2));
}

/** A measured signal's history over [x0, x1) at the resolution a trend `widthPx` wide shows
 * (`sampleS`: how often the signal updates): {data} as TrendChart takes it, and the answer. */
export async function trendData(path, sampleS, x0, x1, widthPx) {
  const buckets = resolution(x0, x1, sampleS, widthPx);
  const params = { signal: path, start: iso(x0), end: iso(x1) };
  if (buckets) params.buckets = buckets; else params.limit = 20000;
  const body = await get("history", params);
  const c = body.columns;
  const data = body.bucket_s === null
    ? { mode: "raw", t: c.ts.map(ms), v: c.value }
    : { mode: "buckets", t: c.bucket.map(ms), min: c.min, max: c.max, avg: c.avg, width: body.bucket_s * 1000 };
  return { data, body };
}

/**
 * Runs `reload()` whenever the live feed brings news of one of the signals at `paths`: a new
 * point (a part inspected, an energy meter's reading), or with `value: true` a new value (a
 * setpoint written; a polled device sends the same value again and again). Figures the server
 * computes from the store thus follow the plant without polling. At most once every `minMs`,
 * never two at once; what the feed already held when the page opened is no news. Returns the
 * function that stops it.
 */
export function onLiveChange(paths, reload, minMs, { value = false } = {}) {
  const watched = new Set(paths);
  const seen = new Map(); // path -> timestamp (or value) of its newest point
  let last = Date.now(), timer = null, running = false, again = false;
  const run = async () => {
    timer = null;
    if (running) { again = true; return; }
    running = true;
    last = Date.now();
    try { await reload(); } catch (err) { console.error(err); }
    running = false;
    if (again) { again = false; schedule(); }
  };
  const schedule = () => { timer ??= setTimeout(run, Math.max(0, last + minMs - Date.now())); };
  const unsubscribe = live.subscribe((msg) => {
    let news = false;
    for (const [path, [ts, v]] of Object.entries(msg.values || {})) {
      if (!watched.has(path)) continue;
      const key = value ? v : ts;
      news ||= seen.has(path) && seen.get(path) !== key;
      seen.set(path, key);
    }
    if (news) schedule();
  });
  return () => { unsubscribe(); clearTimeout(timer); };
}

/** A tab per page of those that share one entry of the navigation, `page` the one shown;
 * `href` gives each tab's address. */
export function pageTabs(pages, page, href = (p) => `#/${p}`) {
  return h("nav", { class: "tabs", role: "tablist" }, pages.map((p) =>
    h("a", { href: href(p), role: "tab", class: p === page ? "active" : "",
      "aria-selected": String(p === page), dataset: { tab: p } }, t(`nav.${p}`))));
}

/** The head of the energy, quality and recommendations pages (one entry of the navigation):
 * the title and their tabs; `path` is kept across the tabs when it names an equipment whose
 * process is modelled. */
export function energyQualityHead(page, path = "") {
  return [
    h("div", { class: "page-head" }, h("h1", {}, t("nav.energy_quality"))),
    pageTabs(["energy", "quality", "recommendations"], page,
      (p) => `#/${p}${path && p !== "energy" ? `/${path}` : ""}`),
  ];
}

/** The tabs of the planning pages (one entry of the navigation): scheduling and the twin. */
export const planningTabs = (page) => pageTabs(["scheduling", "twin"], page);

/** Saves a dashboard of one's own with `panels` (refreshed every 30 s, over `spanS`) and opens
 * it: what the trends page and commissioning offer for the signals they show. */
export async function openNewDashboard(title, panels, spanS) {
  const made = await send("POST", "dashboards", { version: 1, title, time: { span_s: spanS, refresh_s: 30 }, panels });
  location.hash = `#/dashboards/${made.id}`;
}
