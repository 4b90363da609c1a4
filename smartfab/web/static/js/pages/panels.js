// The panels of a dashboard, one renderer per type. Each fills its panel's body from the routes
// that answer its data (which check the user's part of the plant) and returns {refresh, destroy}:
// refresh() loads again over the dashboard's range (a new range, the dashboard's refresh); live
// values (single values, tables, trends) arrive by themselves through the live feed.

import { get, live, ms } from "../api.js";
import { ControlChart } from "../charts/control.js";
import { PieChart } from "../charts/pie.js";
import { duration, errorBox, h, num } from "../dom.js";
import { t } from "../i18n.js";
import { alarmTable, loadAlarms } from "./alarms.js";
import { LOSSES, firstRow, iso, kpiCards, loadTimelines, lossChart, timelineChart } from "./common.js";
import { shownValue } from "./equipment.js";
import { resolve, signalInfo, signalLabel } from "./pickers.js";
import { CompareTrend } from "./trends.js";

export const PANEL_TYPES = ["trend", "value", "timeline", "oee", "alarms", "spc", "losses", "table", "text"];
const ROW_PX = 56, GAP_PX = 12; // a grid row, and the gap between rows (app.css)

/** The height in pixels a panel of `rows` rows has for its content under its title. */
function contentHeight(rows, taken = 40) {
  return Math.max(80, rows * ROW_PX + (rows - 1) * GAP_PX - taken);
}

/** A panel's title: its own, or what it shows. */
export function panelTitle(p, values) {
  if (p.title) return p.title;
  if (p.type === "trend") return p.signals.map((s) => signalLabel(resolve(s.path, values), false)).filter((x, i, a) => a.indexOf(x) === i).join(", ");
  if (p.type === "value" || p.type === "spc") return `${t(`dash.type.${p.type}`)} · ${signalLabel(resolve(p.signal, values), true)}`;
  return t(`dash.type.${p.type}`);
}

/** The level of a value by the panel's thresholds: the base below the first, each threshold's
 * from its value up. */
function levelOf(p, v) {
  let level = p.base || "normal";
  for (const th of p.thresholds || []) if (v >= th.value) level = th.level;
  return level;
}

const RENDERERS = {
  trend(p, body, ctx) {
    if (!p.signals.length) return nothing(body);
    body.classList.add("fill"); // the chart takes what the legend leaves of the panel
    const trend = new CompareTrend(body, {
      signals: p.signals.map((s) => ({ path: resolve(s.path, ctx.values), axis: s.axis })),
      span: ctx.span(), height: null, markers: p.markers, cache: ctx.cache,
    });
    return { refresh: () => { if (trend.span !== ctx.span()) trend.setSpan(ctx.span()); else trend.refresh(); }, destroy: () => trend.destroy() };
  },

  value(p, body, ctx, el) {
    const path = resolve(p.signal, ctx.values);
    const big = h("span", { class: "big num" }, "–");
    const unit = h("span", { class: "unit" });
    const when = h("div", { class: "muted when" });
    body.append(h("div", { class: "value-panel" }, h("div", {}, big, " ", unit), h("div", { class: "muted" }, signalLabel(path, true)), when));
    let info = null, last = null;
    const show = () => {
      if (!info || !last) return;
      const [ts, value, quality] = last;
      big.textContent = shownValue(info.signal, value, quality, info.equipment, p.decimals);
      when.textContent = new Date(ms(ts)).toLocaleTimeString(document.documentElement.lang);
      el.dataset.level = typeof value === "number" && info.signal.kind === "number" ? levelOf(p, value) : "normal";
      el.dataset.value = String(value);
    };
    signalInfo(path, ctx.cache).then((x) => { info = x; unit.textContent = x.signal.unit_display || ""; show(); },
      (err) => body.replaceChildren(errorBox(err)));
    const unsubscribe = live.subscribe((msg) => {
      const v = msg.values?.[path];
      if (v) { last = v; show(); }
    });
    return { refresh() {}, destroy: unsubscribe };
  },

  table(p, body, ctx) {
    if (!p.signals.length) return nothing(body);
    const paths = p.signals.map((s) => resolve(s, ctx.values));
    const several = new Set(paths.map((x) => x.split("/").slice(0, -1).join("/"))).size > 1;
    const cells = new Map(), infos = new Map();
    const table = h("table", { class: "data signals" },
      h("tr", {}, h("th", {}, t("common.signal")), h("th", { class: "num" }, t("common.value")), h("th", {}, t("common.unit"))),
      paths.map((path) => {
        const cell = h("td", { class: "value" }, "–"), unit = h("td", { class: "muted" });
        cells.set(path, { cell, unit });
        return h("tr", { dataset: { path } }, h("td", { title: path }, signalLabel(path, several)), cell, unit);
      }));
    body.append(h("div", { class: "table-scroll" }, table));
    const latest = {};
    const show = (path) => {
      const info = infos.get(path), v = latest[path], c = cells.get(path);
      if (!info || !v || !c) return;
      const shown = shownValue(info.signal, v[1], v[2], info.equipment);
      if (c.cell.textContent !== shown) { c.cell.textContent = shown; c.cell.classList.remove("flash"); void c.cell.offsetWidth; c.cell.classList.add("flash"); }
    };
    for (const path of paths) {
      signalInfo(path, ctx.cache).then((x) => { infos.set(path, x); cells.get(path).unit.textContent = x.signal.unit_display || ""; show(path); },
        (err) => { cells.get(path).cell.textContent = err.message; });
    }
    const unsubscribe = live.subscribe((msg) => {
      for (const path of paths) {
        const v = msg.values?.[path];
        if (v) { latest[path] = v; show(path); }
      }
    });
    return { refresh() {}, destroy: unsubscribe };
  },

  timeline(p, body, ctx) {
    if (!p.equipment.length) return nothing(body);
    const paths = p.equipment.map((e) => resolve(e, ctx.values));
    const box = h("div", { class: "chart" });
    body.append(box);
    const chart = timelineChart(box, paths.length);
    const load = () => {
      const now = Date.now();
      return loadTimelines(chart, paths, now - ctx.span(), now).then(() => { box.dataset.loaded = "true"; }, (err) => box.replaceChildren(errorBox(err)));
    };
    load();
    return { refresh: load, destroy: () => chart.destroy() };
  },

  oee(p, body, ctx) {
    const path = resolve(p.path, ctx.values);
    const box = h("div", { class: "oee-panel" });
    body.append(box);
    const load = () => oeeOf(path, ctx).then((f) => box.replaceChildren(kpiCards(f, ["kpi.oee", "kpi.availability", "kpi.performance", "kpi.quality", "kpi.good", "kpi.scrap"])),
      (err) => box.replaceChildren(errorBox(err)));
    load();
    return { refresh: load, destroy() {} };
  },

  losses(p, body, ctx) {
    const path = resolve(p.path, ctx.values);
    const box = h("div", { class: "chart" });
    body.append(box);
    let chart;
    if (p.style === "pie") chart = new PieChart(box, { height: contentHeight(p.h, 70) });
    else chart = lossChart(box);
    const load = () => oeeOf(path, ctx).then((f) => {
      if (p.style === "pie") {
        chart.setItems(LOSSES.map((k) => ({ label: t(`loss.${k}`), value: (f[k] ?? 0) / 3600, text: duration(f[k] ?? 0) })));
      } else {
        chart.set(f);
      }
      box.dataset.loaded = "true";
    }, (err) => box.replaceChildren(errorBox(err)));
    load();
    return { refresh: load, destroy: () => (chart.chart || chart).destroy() };
  },

  alarms(p, body, ctx) {
    const under = resolve(p.under, ctx.values);
    const box = h("div");
    body.append(box);
    const load = () => loadAlarms({ under }).then((b) => box.replaceChildren(alarmTable(b, load)), (err) => box.replaceChildren(errorBox(err)));
    load();
    return { refresh: load, destroy() {} };
  },

  spc(p, body, ctx) {
    const signal = resolve(p.signal, ctx.values);
    const box = h("div", { class: "chart" });
    const note = h("div", { class: "muted spc-note" });
    body.append(box, note);
    let chart = null;
    const load = async () => {
      const now = Date.now();
      try {
        const b = await get("spc", { signal, start: iso(now - ctx.span()), end: iso(now), chart: p.chart, n: p.n ?? "" });
        if (!b.charts.length) {
          note.textContent = t("dash.spc_too_few", { points: num(b.points_used, 0), needed: num(b.points_needed, 0) });
          return;
        }
        const c = b.charts[0];
        chart ??= new ControlChart(box, { height: contentHeight(p.h, 70), labels: { ucl: t("spc.ucl"), cl: t("spc.cl"), lcl: t("spc.lcl") } });
        chart.setChart(c, t(`spc.stat.${c.statistic}`));
        box.dataset.statistic = c.statistic;
        const broken = c.beyond_limits.length + Object.values(c.violations).flat().length;
        note.replaceChildren(broken ? t("dash.spc_signals", { n: num(broken, 0) }) : t("spc.in_control"), " · ",
          h("a", { href: `#/spc/${signal}` }, t("dash.spc_open")));
      } catch (err) {
        note.replaceChildren(errorBox(err));
      }
    };
    load();
    return { refresh: load, destroy: () => chart?.destroy() };
  },

  text(p, body) {
    body.append(h("div", { class: "text-panel" }, p.text.split(/\n\s*\n/).map((para) => h("p", {}, para))));
    return { refresh() {}, destroy() {} };
  },
};

function nothing(body) {
  body.append(h("div", { class: "muted" }, t("dash.nothing_chosen")));
  return { refresh() {}, destroy() {} };
}

/** OEE figures of an asset over the dashboard's range, asked once per refresh for all panels
 * that show them (an OEE panel and a losses panel of the same line ask once). */
function oeeOf(path, ctx) {
  const key = `${path}|${ctx.round}`;
  if (!ctx.oee.has(key)) {
    const now = Date.now();
    ctx.oee.set(key, get("oee", { path, start: iso(now - ctx.span()), end: iso(now) }).then((b) => firstRow(b.total)));
  }
  return ctx.oee.get(key);
}

/** Fill `body` (of the panel element `el`) with the panel `p`; ctx: {plant, cache, values,
 * span(), oee: Map, round}. */
export function renderPanel(p, body, el, ctx) {
  const renderer = RENDERERS[p.type];
  if (!renderer) {
    body.append(h("div", { class: "error" }, t("dash.err.dashboard_panel_type", { type: p.type, known: PANEL_TYPES.join(", ") })));
    return { refresh() {}, destroy() {} };
  }
  return renderer(p, body, ctx, el);
}
