// Energy management after ISO 50001 / ISO 50006 (#/energy/<asset path>): the energy of an asset
// and energy per good part by asset, line, shift and product; the load curve with its peak and
// the daily load profile; cost under the time-of-use tariff and CO2 (both from the plant file);
// and the energy baseline of the period before, with the energy performance indicator and the
// cumulative savings (CUSUM). New meter readings in the live feed reload the figures.

import { get } from "../api.js";
import { BarChart, labelWidth } from "../charts/bars.js";
import { cssVar } from "../charts/core.js";
import { LineChart } from "../charts/lines.js";
import { RANGES, dateTime, h, leaf, money, num, pct, rangeButtons, shiftName } from "../dom.js";
import { has, t } from "../i18n.js";
import { inScope } from "../session.js";
import { energyQualityHead, iso, onLiveChange } from "./common.js";

const SPANS = RANGES.filter(([, s]) => s >= 86400e3 && s <= 30 * 86400e3); // a day to a month
const INTERVAL_MS = 15 * 60e3; // of the load curve (metering's demand interval)
const LIVE_MS = 60_000; // the load curve has 15-minute intervals: news once a minute is plenty
let span = 7 * 86400e3;
const BASELINE_MIN_MS = 4 * 86400e3;
let by = "day";

const us = (v) => v / 1000; // epoch µs -> ms

/** The assets with an energy meter at or below them, as the picker lists them: the site, its
 * areas and lines, and the metered equipment, indented by level. */
function meteredAssets(tree, meters) {
  const under = (path) => meters.some((m) => m === path || m.startsWith(`${path}/`));
  const out = [];
  const walk = (node, depth) => {
    if (!under(node.path)) return;
    if (node.level !== "cell") out.push({ path: node.path, label: `${"\u00a0\u00a0".repeat(depth)}${node.title || node.name}` });
    for (const child of node.children) walk(child, node.level === "cell" ? depth : depth + 1);
  };
  walk(tree, 0);
  return out;
}

function kpi(key, id, value, sub) {
  return h("div", { class: "kpi", dataset: { kpi: key } },
    h("div", { class: "label" }, t(key)), h("div", { class: "value", id }, value),
    sub ? h("div", { class: "hint" }, sub) : null);
}

function intensityTable(rows, keyLabel, name = (k) => k) {
  if (!rows.length) return h("div", { class: "muted" }, t("energy.none"));
  return h("div", { class: "table-scroll" }, h("table", { class: "data wrap" },
    h("tr", {}, h("th", {}, t(keyLabel)), ["energy.kwh", "kpi.good", "energy.per_good"].map((k) => h("th", { class: "num" }, t(k)))),
    rows.map((r) => h("tr", {},
      h("td", {}, name(r.key)), h("td", { class: "num" }, num(r.kwh, 1)), h("td", { class: "num" }, num(r.good, 0)),
      h("td", { class: "num" }, num(r.kwh_per_good, 3))))));
}

/** Horizontal bars of energy with the energy per good part beside each. */
function intensityBars(box, rows, name) {
  box.replaceChildren();
  if (!rows.length) { box.append(h("div", { class: "muted" }, t("energy.none"))); return null; }
  const sorted = [...rows].sort((a, b) => b.kwh - a.kwh);
  const labels = sorted.map((r) => name(r.key));
  const texts = sorted.map((r) => t("energy.bar_text", { kwh: num(r.kwh, 0), per: num(r.kwh_per_good, 3) }));
  // Names (a line's title is long) as wide as leaves the bars 80 pixels.
  const valueWidth = labelWidth(texts, 170);
  const chart = new BarChart(box, { bars: sorted.length, unit: t("unit.kWh"), valueWidth,
    labelWidth: labelWidth(labels, Math.max(90, box.clientWidth - valueWidth - 80)) });
  chart.setItems(sorted.map((r, i) => ({ label: labels[i], value: r.kwh, text: texts[i] })));
  return chart;
}

function tariffName(name) {
  return has(`tariff.${name}`) ? t(`tariff.${name}`) : name;
}

/** CO2 in kilograms, or in tonnes from a tonne up. */
function co2Text(kg) {
  if (kg === null) return "–";
  return kg >= 1000 ? `${num(kg / 1000, 2)} ${t("unit.t")}` : `${num(kg, 0)} ${t("unit.kg")}`;
}

export async function render(root, route, plant, refresh) {
  if (!plant) throw new Error(t("error.no_plant"));
  const signals = await inScope().then((p) => get("signals", p));
  const meters = signals.filter((s) => s.role === "energy").map((s) => s.path);
  const assets = meteredAssets(plant.tree, meters.map((m) => m.slice(0, m.lastIndexOf("/"))));
  if (!assets.length) throw new Error(t("energy.no_meters"));
  const path = assets.some((a) => a.path === route.path) ? route.path : assets[0].path;
  const charts = [];
  const picker = h("select", { id: "energy-asset", "aria-label": t("energy.asset") },
    assets.map((a) => h("option", { value: a.path, selected: a.path === path, translate: "no" }, a.label)));
  picker.addEventListener("change", () => { location.hash = `#/energy/${picker.value}`; });
  const updated = h("span", { class: "hint", id: "energy-updated" });
  const reload = () => load().catch((err) => { updated.textContent = t("error.load", { reason: err.message }); });
  root.append(...energyQualityHead("energy"),
    h("div", { class: "toolbar" }, picker, rangeButtons(span, (s) => { span = s; refresh(); }, SPANS), updated));

  const kpis = h("div", { class: "kpis", id: "energy-kpis" });
  const loadBox = h("div", { class: "chart", id: "load-curve" });
  const profileBox = h("div", { class: "chart", id: "load-profile" });
  const assetBox = h("div", { class: "chart", id: "by-asset" });
  const lineBox = h("div", { class: "chart", id: "by-line" });
  const shiftBox = h("div", { id: "by-shift" });
  const productBox = h("div", { id: "by-product" });
  const costBox = h("div", { id: "cost" });
  const baselineBox = h("div", { id: "baseline" });
  const periods = h("div", { class: "segmented", role: "group" }, ["day", "shift"].map((k) =>
    h("button", { class: k === by ? "active" : "", dataset: { by: k }, onclick: () => {
      by = k;
      for (const b of periods.children) b.classList.toggle("active", b.dataset.by === by);
      loadBaseline().catch((err) => baselineBox.replaceChildren(h("div", { class: "error" }, err.message)));
    } }, t(`energy.period_kind.${k}`))));
  root.append(
    h("section", { class: "panel" }, kpis),
    h("div", { class: "grid-2" },
      h("section", { class: "panel" }, h("h2", {}, t("energy.load_curve")), loadBox),
      h("section", { class: "panel" }, h("h2", {}, t("energy.profile")), profileBox)),
    h("div", { class: "grid-2" },
      h("section", { class: "panel" }, h("h2", {}, t("energy.by_asset")), assetBox),
      h("section", { class: "panel" }, h("h2", {}, t("energy.by_line")), lineBox)),
    h("div", { class: "grid-2" },
      h("section", { class: "panel" }, h("h2", {}, t("energy.by_shift")), shiftBox),
      h("section", { class: "panel" }, h("h2", {}, t("energy.by_product")), productBox)),
    h("section", { class: "panel" }, h("h2", {}, t("energy.cost")), costBox),
    h("section", { class: "panel" },
      h("div", { class: "trend-head" }, h("h2", {}, t("energy.baseline")), periods),
      h("div", { class: "hint" }, t("energy.baseline_hint")), baselineBox));

  // Room left of the plots for values with their unit ("−50,0 кВт·ч").
  const kw = { left: 76 }, kwh = { left: 92 };
  const curve = new LineChart(loadBox, { x: "time", unit: t("unit.kW"), height: 240, margin: kw });
  const daily = new LineChart(profileBox, { x: "number", unit: t("unit.kW"), height: 240, margin: kw,
    xText: (v) => `${String(v).padStart(2, "0")}:00` });
  charts.push(curve, daily);
  let bars = [];
  let baselineCharts = [];

  async function load() {
    const now = Date.now();
    const window = { path, start: iso(now - span), end: iso(now) };
    const [e, l] = await Promise.all([get("energy", window), get("energy/load", window)]);
    const c = e.cost;
    kpis.replaceChildren(
      kpi("energy.kwh", "kpi-kwh", num(e.kwh, 0)),
      kpi("kpi.good", "kpi-good", num(e.good, 0)),
      kpi("energy.per_good", "kpi-per-good", num(e.kwh_per_good, 3)),
      kpi("energy.peak", "kpi-peak", `${num(e.peak_kw, 1)} ${t("unit.kW")}`, dateTime(us(e.peak_at))),
      kpi("energy.cost_total", "kpi-cost", c ? money(c.total, c.currency) : "–", c ? null : t("energy.no_tariff")),
      kpi("energy.co2", "kpi-co2", co2Text(e.co2_kg), e.co2_kg === null ? t("energy.no_factor") : null));
    // Whole intervals only: the first began before the range, the last is still running, and
    // their part of an interval would read as a drop of the demand.
    const whole = l.ts.map((ts, i) => [us(ts), l.kw[i]]).filter(([x]) => x >= now - span && x + INTERVAL_MS <= now);
    curve.setData([{ name: t("energy.demand"), x: whole.map((p) => p[0]), y: whole.map((p) => p[1]), color: cssVar("--chart-line") }],
      [{ y: e.peak_kw, label: t("energy.peak_ref", { kw: num(e.peak_kw, 1) }), short: num(e.peak_kw, 1), align: "right" }]);
    const hours = Array.from({ length: 24 }, (_, i) => i);
    daily.setData([
      { name: t("energy.weekday"), x: hours, y: l.profile_weekday, dots: true },
      { name: t("energy.weekend"), x: hours, y: l.profile_weekend, dots: true, dash: [5, 3] },
    ]);
    for (const b of bars) b?.destroy();
    bars = [
      intensityBars(assetBox, e.assets, leaf),
      intensityBars(lineBox, e.lines, (k) => plant.lines.find((ln) => ln.path === k)?.title || leaf(k)),
    ];
    shiftBox.replaceChildren(intensityTable(e.shifts, "energy.shift", shiftName));
    productBox.replaceChildren(intensityTable(e.products, "energy.product", (k) => (k === "unknown" ? t("energy.unknown_product") : k)));
    costBox.replaceChildren(c ? h("div", { class: "table-scroll" }, h("table", { class: "data wrap", id: "cost-table" },
      h("tr", {}, h("th", {}, t("energy.tariff_period")), h("th", { class: "num" }, t("energy.kwh")), h("th", { class: "num" }, t("energy.cost_total"))),
      Object.entries(c.by_period).map(([name, cost]) => h("tr", {},
        h("td", {}, tariffName(name)), h("td", { class: "num" }, num(c.kwh_by_period[name], 1)), h("td", { class: "num" }, money(cost, c.currency)))),
      c.demand ? h("tr", {}, h("td", {}, t("energy.demand_charge")), h("td", {}), h("td", { class: "num" }, money(c.demand, c.currency))) : null,
      h("tr", { class: "total" }, h("th", {}, t("energy.total")), h("th", { class: "num" }, num(e.kwh, 1)), h("th", { class: "num" }, money(c.total, c.currency)))))
      : h("div", { class: "muted" }, t("energy.no_tariff")));
    await loadBaseline();
    updated.textContent = t("energy.updated", { time: dateTime(Date.now()) });
    root.dataset.loaded = String(Number(root.dataset.loaded || 0) + 1);
  }

  async function loadBaseline() {
    const now = Date.now();
    for (const c of baselineCharts) c.destroy();
    baselineCharts = [];
    let b;
    try {
      // At least four days before the range: a baseline needs four periods to fit on, and the
      // day before a 24-hour range holds one day or three shifts.
      const before = Math.max(span, BASELINE_MIN_MS);
      b = await get("energy/baseline", { path, by, start: iso(now - span), end: iso(now),
        baseline_start: iso(now - span - before), baseline_end: iso(now - span) });
    } catch (err) {
      if (err.status !== 422) throw err;
      baselineBox.replaceChildren(h("div", { class: "hint", id: "baseline-missing" }, err.message));
      return;
    }
    const actual = b.actual.reduce((a, v) => a + v, 0), expected = b.expected.reduce((a, v) => a + v, 0);
    const terms = b.variables.map((v, i) => t("energy.term", { coef: num(b.coef[i], 3), variable: has(`energy.var.${v}`) ? t(`energy.var.${v}`) : v }));
    const fitBox = h("div", { class: "chart", id: "baseline-fit" });
    const cusumBox = h("div", { class: "chart", id: "baseline-cusum" });
    baselineBox.replaceChildren(
      h("div", { class: "kpis" },
        kpi("energy.enpi", "kpi-enpi", num(expected ? actual / expected : null, 3)),
        kpi("energy.savings", "kpi-savings", `${num(b.cusum[b.cusum.length - 1], 0)} ${t("unit.kWh")}`),
        kpi("energy.r2", "kpi-r2", num(b.r2, 3)),
        kpi("energy.cv_rmse", "kpi-cv", pct(b.cv_rmse, 1)),
        kpi("energy.periods", "kpi-periods", num(b.baseline_periods, 0))),
      h("p", { class: "model-line", id: "baseline-model" }, t("energy.model", {
        intercept: num(b.intercept, 1), terms: terms.length ? ` + ${terms.join(" + ")}` : "" })),
      h("div", { class: "grid-2 even" },
        h("div", {}, h("h3", {}, t("energy.actual_expected")), fitBox),
        h("div", {}, h("h3", {}, t("energy.cusum")), cusumBox)));
    const x = b.start.map(us);
    const fit = new LineChart(fitBox, { x: "time", unit: t("unit.kWh"), height: 220, margin: kwh });
    fit.setData([
      { name: t("energy.actual"), x, y: b.actual, dots: true },
      { name: t("energy.expected"), x, y: b.expected, dots: true, dash: [5, 3] },
    ]);
    const cusum = new LineChart(cusumBox, { x: "time", unit: t("unit.kWh"), height: 220, margin: kwh });
    cusum.setData([{ name: t("energy.cusum_series"), x, y: b.cusum, dots: true, color: cssVar("--accent") }],
      [{ y: 0, color: cssVar("--chart-axis") }]);
    baselineCharts = [fit, cusum];
  }

  await load();
  const stop = onLiveChange(meters.filter((m) => m === path || m.startsWith(`${path}/`)), reload, LIVE_MS);
  return () => { stop(); for (const c of [...charts, ...bars, ...baselineCharts]) c?.destroy(); };
}
