// Equipment view: live state and signals, a trend that zooms from a year down to single samples
// (buckets sized to the visible range, raw points once they fit), the state timeline under it on
// the same time axis and the changes of its text and enumerated signals (a product code, a
// material lot, a mode) as bands, its array signals as profiles with a heat map over the range,
// OEE and losses over the chosen range, and faults and alarms.

import { get, live, ms, rows } from "../api.js";
import { HeatMap, ProfileChart } from "../charts/profile.js";
import { Timeline } from "../charts/timeline.js";
import { TrendChart } from "../charts/trend.js";
import { dateTime, duration, h, leaf, num, rangeButtons, stateLabel } from "../dom.js";
import { t } from "../i18n.js";
import { alarmTable, loadAlarms } from "./alarms.js";
import { firstRow, iso, kpiCards, lossChart, loadTimelines, measured, timelineChart, trendData } from "./common.js";

let span = 8 * 3600e3;
const selected = new Map(); // equipment -> signal shown in the trend

const RECENT = 5; // profiles drawn over each other: the newest and the few before it

// What the bands show: texts, and an enum's names (the trend draws measured numbers only).
function banded(s) { return s.kind === "text" || s.data_type === "enum"; }

/** A value as the signal table shows it: an enum by its name, a text as it is, an array by its
 * size, a number in the page's language (with `digits` decimals, when given); "–" for none (a
 * bad text is "", a bad array empty). `info`: the equipment's description (its state and fault
 * names). */
export function shownValue(s, value, quality, info, digits = null) {
  if (value === null || value === undefined || (s.kind !== "number" && quality === 2)) return "–";
  if (s.role === "state") return stateLabel(info.states[String(value)]);
  if (s.role === "fault") return value ? `${value} ${info.faults[String(value)] || ""}` : "0";
  if (s.data_type === "enum") return s.values[String(value)] ?? String(value);
  if (s.kind === "text") return value;
  if (s.kind === "array") return t("equipment.array_value", { n: num(value.length, 0) });
  return num(value, digits ?? (s.role === "measurement" && s.data_type === "float" ? 2 : 0));
}

/** Bands of one signal from its changes over [x0, x1): each value until the next one, the last
 * until the end of the range or now, whichever is first. */
function bandRow(s, body, x1) {
  const c = body.columns;
  const start = c.ts.map(ms);
  const end = start.slice(1).concat([Math.min(x1, Date.now())]);
  const label = c.value.map((v, i) => (c.value_name ? (c.value_name[i] ?? String(v)) : String(v)));
  return { name: s.name, path: s.path, start, end, value: label, bad: c.quality.map((q) => q === 2) };
}

export async function render(root, route, plant, refresh) {
  const info = await get(`equipment/${route.path}`);
  const measurements = info.signals.filter(measured);
  const bandSignals = info.signals.filter(banded);
  const arrays = info.signals.filter((s) => s.kind === "array");
  const profilePanels = new Map(); // array signal path -> its panel, charts and newest profiles
  let signal = measurements.find((s) => s.name === selected.get(info.path)) || measurements[0];
  const now = Date.now();
  let follow = true; // the right edge is "now" and moves with live data

  const state = h("span", { class: "state" }, stateLabel(null));
  const fault = h("span", { class: "fault-text" });
  root.append(h("div", { class: "page-head" },
    h("h1", {}, leaf(info.path)), state, fault,
    h("span", { class: "sub" }, info.title),
    h("a", { href: `#/spc/${signal ? signal.path : ""}` }, t("equipment.spc_link")),
    h("a", { href: `#/trends/${signal ? signal.path : ""}`, class: "compare-link" }, t("equipment.compare_link"))));
  root.append(h("div", { class: "toolbar" }, rangeButtons(span, (s) => { span = s; refresh(); })));

  const kpis = h("div");
  const what = h("span", { class: "what" });
  const res = h("span", { class: "resolution" });
  const trendBox = h("div", { class: "chart trend", id: "trend" });
  const tlBox = h("div", { class: "chart", id: "timeline" });
  const bandBox = h("div", { class: "chart", id: "value-bands" });
  const lossBox = h("div", { class: "chart" });
  const signalTable = h("table", { class: "data signals" });
  const faults = h("div");
  const alarms = h("div");
  root.append(
    h("section", { class: "panel" }, h("h2", {}, t("equipment.kpis")), kpis),
    h("div", { class: "grid-2" },
      h("div", {},
        h("section", { class: "panel" },
          h("div", { class: "trend-head" }, h("h2", {}, t("equipment.trend")), what, res,
            h("span", { class: "hint" }, t("equipment.trend_hint"))),
          trendBox, tlBox,
          bandSignals.length ? [h("h3", { class: "bands-head" }, t("equipment.changes")), bandBox] : null),
        arrays.map((s) => profilePanel(s)),
        h("section", { class: "panel" }, h("h2", {}, t("nav.alarms")), alarms),
        h("section", { class: "panel" }, h("h2", {}, t("equipment.faults")), faults)),
      h("div", {},
        h("section", { class: "panel" }, h("h2", {}, t("equipment.signals")), signalTable),
        h("section", { class: "panel" }, h("h2", {}, t("common.losses")), lossBox))));

  // --- array signals: the newest profiles, and a heat map over the trend's range --------------
  function profilePanel(s) {
    const unit = s.unit_display;
    const profileBox = h("div", { class: "chart profile", dataset: { path: s.path } });
    const heatBox = h("div", { class: "chart heatmap", dataset: { path: s.path } });
    const legend = h("div", { class: "heat-legend" });
    const panel = h("section", { class: "panel array-panel", dataset: { path: s.path } },
      h("div", { class: "trend-head" }, h("h2", {}, t("equipment.profile", { name: s.name })),
        h("span", { class: "hint" }, t("equipment.profile_hint", { n: num(RECENT - 1, 0) }))),
      profileBox, h("h3", {}, t("equipment.profile_over_time")), heatBox, legend);
    profilePanels.set(s.path, { s, panel, profileBox, heatBox, legend, unit });
    return panel;
  }

  // --- trend and timeline, on one time axis ---------------------------------------------------
  let seq = 0;
  const trend = new TrendChart(trendBox, { onRange: (a, b) => { follow = b >= Date.now() - 0.02 * (b - a); schedule(a, b); } });
  // The charts under the trend share its time axis, so its left margin holds their row names
  // (the bands' signal names), up to a third of its width.
  const names = bandSignals.map((s) => trend.ctx.measureText(s.name).width + 14);
  trend.setLeftMargin(Math.round(Math.min(Math.max(trend.margin.left, ...names), trend.width / 3)));
  const tl = timelineChart(tlBox, 1, trend.margin.left); // on the trend's time axis
  const bands = bandSignals.length
    ? new Timeline(bandBox, { rows: bandSignals.length, rowHeight: 24, labelWidth: trend.margin.left, colours: "value", badLabel: t("equipment.bad_value") })
    : null;
  for (const p of profilePanels.values()) {
    p.profile = new ProfileChart(p.profileBox, { unit: p.unit, indexLabel: t("equipment.element") });
    p.heat = new HeatMap(p.heatBox, { unit: p.unit });
    p.heat.margin.left = trend.margin.left;
  }
  let timer = null;
  function schedule(a, b) {
    tl.setRange(a, b);
    bands?.setRange(a, b);
    for (const p of profilePanels.values()) p.heat.setRange(a, b);
    clearTimeout(timer);
    timer = setTimeout(() => { loadTrend(a, b); loadBands(a, b); loadHeat(a, b); }, 120); // one request per gesture, not per wheel tick
  }
  let bandSeq = 0;
  async function loadBands(a, b) {
    if (!bands) return;
    const mine = ++bandSeq;
    const bodies = await Promise.all(bandSignals.map((s) => get("history", {
      signal: s.path, start: iso(a), end: iso(b), changes: s.kind === "number" ? true : undefined, limit: 5000,
    })));
    if (mine !== bandSeq) return;
    bands.setRows(bodies.map((body, i) => bandRow(bandSignals[i], body, b)));
    bandBox.dataset.loaded = String(mine);
  }
  let heatSeq = 0;
  async function loadHeat(a, b) {
    const mine = ++heatSeq;
    await Promise.all([...profilePanels.values()].map(async (p) => {
      // About a column per 3 pixels: finer is not seen.
      const limit = Math.max(10, Math.round(p.heat.plotWidth / 3));
      const body = await get("history", { signal: p.s.path, start: iso(a), end: iso(b), limit });
      if (mine !== heatSeq) return;
      const c = body.columns;
      const [lo, hi] = p.heat.setColumns(c.ts.map((ts, i) => ({ t: ms(ts), v: c.value[i] })), a, b);
      p.legend.replaceChildren(h("span", { class: "num" }, num(lo, 2)),
        h("i", { style: `background: linear-gradient(to right, ${p.heat.colorOf(0)}, ${p.heat.colorOf(1)})` }),
        h("span", { class: "num" }, num(hi, 2)), p.unit ? h("span", { class: "muted" }, p.unit) : null);
      p.heatBox.dataset.loaded = String(mine);
    }));
  }
  async function loadProfiles() {
    // The newest few, whatever the range: a short window before the newest point.
    await Promise.all([...profilePanels.values()].map(async (p) => {
      const last = await get("latest", { signal: p.s.path });
      const at = ms(last.columns.ts[0]);
      if (at === undefined || at === null) { p.profile.setProfiles([]); return; }
      const body = await get("history", {
        signal: p.s.path, start: iso(at - 2 * RECENT * p.s.sample_s * 1000), end: iso(at + 1), limit: 1000,
      });
      const c = body.columns;
      p.recent = c.ts.map((ts, i) => ({ t: ms(ts), v: c.value[i] })).slice(-RECENT);
      p.profile.setProfiles(p.recent);
      p.profileBox.dataset.loaded = "true";
    }));
  }
  async function loadTrend(a, b) {
    if (!signal) return;
    const mine = ++seq;
    const [{ data, body }] = await Promise.all([
      trendData(signal.path, signal.sample_s, a, b, trend.plotWidth), loadTimelines(tl, [info.path], a, b)]);
    if (mine !== seq) return; // a newer range was asked for meanwhile
    trend.setData(data, body.unit_display);
    res.textContent = body.bucket_s === null
      ? t("equipment.raw", { n: num(body.rows, 0) })
      : t("equipment.buckets", { n: num(body.rows, 0), width: duration(body.bucket_s) });
    trendBox.dataset.loaded = String(mine);
  }
  function showSignal(s) {
    signal = s;
    selected.set(info.path, s.name);
    what.textContent = s.unit_display ? `${s.name} (${s.unit_display})` : s.name;
    root.querySelector(".compare-link").href = `#/trends/${s.path}`;
    for (const tr of signalTable.querySelectorAll("tr[data-path]")) tr.classList.toggle("selected", tr.dataset.path === s.path);
    trend.setRange(trend.x0, trend.x1);
  }
  trendBox.addEventListener("reset-range", () => { const n = Date.now(); trend.setRange(n - span, n); });

  // --- signals with live values ---------------------------------------------------------------
  const valueCells = new Map();
  const byPath = new Map(info.signals.map((s) => [s.path, s]));
  signalTable.append(h("tr", {}, h("th", {}, t("common.signal")), h("th", { class: "num" }, t("common.value")), h("th", {}, t("common.unit"))));
  for (const s of info.signals) {
    const cell = h("td", { class: `value kind-${s.kind}${s.data_type === "enum" ? " enum" : ""}` }, "–");
    valueCells.set(s.path, cell);
    // A measured number picks the trend; an array leads to its profile.
    const pick = measured(s) ? () => showSignal(s)
      : s.kind === "array" ? () => profilePanels.get(s.path)?.panel.scrollIntoView({ behavior: "smooth" }) : undefined;
    signalTable.append(h("tr", {
      class: pick ? "clickable" : "", dataset: { path: s.path, kind: s.kind, type: s.data_type },
      onclick: pick,
    }, h("td", { title: s.description }, s.name), cell, h("td", { class: "muted" }, s.unit_display)));
  }
  const unsubscribe = live.subscribe((msg) => {
    const st = msg.states?.[info.path];
    if (st) { state.dataset.state = st; state.textContent = stateLabel(st); }
    for (const [path, [ts, value, quality]] of Object.entries(msg.values || {})) {
      const cell = valueCells.get(path);
      if (!cell) continue;
      const s = byPath.get(path);
      const shown = shownValue(s, value, quality, info);
      if (cell.textContent !== shown) {
        cell.textContent = shown;
        cell.title = s.data_type === "enum" && value !== null ? `${t("equipment.code")} ${value}` : s.kind === "text" ? value : "";
        cell.classList.remove("flash"); void cell.offsetWidth; cell.classList.add("flash");
      }
      if (s.role === "fault") fault.textContent = value ? t("overview.fault", { code: value, text: info.faults[String(value)] || "" }) : "";
      if (banded(s)) extendBand(s, ms(ts), value, quality);
      if (s.kind === "array") addProfile(s, ms(ts), value);
      if (signal && path === signal.path && follow && trend.data) {
        const at = ms(ts);
        const width = trend.x1 - trend.x0;
        trend.setRange(Math.max(trend.x1, at) - width, Math.max(trend.x1, at), false);
        tl.setRange(trend.x0, trend.x1);
        if (trend.data.mode === "raw") trend.appendRaw(at, value);
      }
    }
  });

  // Live values extend the bands and the profiles without a request.
  function extendBand(s, at, value, quality) {
    const row = bands?.rows.find((r) => r.path === s.path);
    if (!row || !follow) return;
    const label = s.data_type === "enum" ? (s.values[String(value)] ?? String(value)) : String(value);
    const n = row.start.length;
    const bad = quality === 2;
    if (n && row.value[n - 1] === label && row.bad[n - 1] === bad) row.end[n - 1] = Math.max(row.end[n - 1], at);
    else if (!n || at > row.start[n - 1]) { row.start.push(at); row.end.push(at); row.value.push(label); row.bad.push(bad); }
    bands.setRows(bands.rows);
  }
  function addProfile(s, at, value) {
    const p = profilePanels.get(s.path);
    if (!p || !p.recent || !value?.length) return;
    const newest = p.recent[p.recent.length - 1];
    if (newest && at <= newest.t) return;
    p.recent = p.recent.concat([{ t: at, v: value }]).slice(-RECENT);
    p.profile.setProfiles(p.recent);
  }

  // --- OEE, losses, faults, alarms --------------------------------------------------------------
  const figures = get("oee", { path: info.path, start: iso(now - span), end: iso(now) }).then((b) => {
    const f = firstRow(b.total);
    kpis.append(kpiCards(f));
    lossChart(lossBox).set(f);
  }).catch((e) => kpis.append(h("div", { class: "muted" }, e.message)));
  const faultList = get("events", { equipment: info.path, kind: "fault", start: iso(now - span), end: iso(now), limit: 50 }).then((b) => {
    const list = rows(b).reverse();
    if (!list.length) { faults.append(h("div", { class: "muted" }, t("equipment.no_faults"))); return; }
    faults.append(h("table", { class: "data" },
      h("tr", {}, h("th", {}, t("common.time")), h("th", {}, t("equipment.code")), h("th", {}, t("equipment.fault_text"))),
      list.map((e) => h("tr", {}, h("td", {}, dateTime(ms(e.ts))), h("td", { class: "num" }, e.code),
        h("td", {}, e.detail || info.faults[e.code] || "")))));
  });
  const alarmList = loadAlarms({ under: info.path, include_normal: false }).then((list) => alarms.append(alarmTable(list, refresh, { compact: true })))
    .catch((e) => alarms.append(h("div", { class: "muted" }, e.message)));

  trend.setRange(now - span, now, false);
  if (signal) showSignal(signal); // loads the trend
  else schedule(now - span, now);
  const profiles = loadProfiles().catch((e) => arrays.length && root.append(h("div", { class: "error" }, e.message)));
  await Promise.allSettled([figures, faultList, alarmList, profiles]);
  return () => {
    unsubscribe(); clearTimeout(timer); trend.destroy(); tl.destroy(); bands?.destroy();
    for (const p of profilePanels.values()) { p.profile.destroy(); p.heat.destroy(); }
  };
}
