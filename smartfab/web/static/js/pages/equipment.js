// Equipment view: live state and signals, a trend that zooms from a year down to single samples
// (buckets sized to the visible range, raw points once they fit), the state timeline under it on
// the same time axis, OEE and losses over the chosen range, and faults and alarms.

import { get, live, ms, rows } from "../api.js";
import { TrendChart } from "../charts/trend.js";
import { dateTime, duration, h, leaf, num, rangeButtons, stateLabel } from "../dom.js";
import { t } from "../i18n.js";
import { alarmTable, loadAlarms } from "./alarms.js";
import { firstRow, iso, kpiCards, lossChart, loadTimelines, timelineChart } from "./common.js";

let span = 8 * 3600e3;
const selected = new Map(); // equipment -> signal shown in the trend

// Raw points are worth fetching while there are at most about two per pixel; beyond that a
// bucket per two pixels shows the same picture (min/max envelope) at a fraction of the bytes.
function resolution(x0, x1, sampleS, widthPx) {
  const points = (x1 - x0) / 1000 / sampleS;
  return points <= 2 * widthPx ? null : Math.max(10, Math.round(widthPx / 2));
}

export async function render(root, route, plant, refresh) {
  const info = await get(`equipment/${route.path}`);
  const measurements = info.signals.filter((s) => s.role === "measurement");
  let signal = measurements.find((s) => s.name === selected.get(info.path)) || measurements[0];
  const now = Date.now();
  let follow = true; // the right edge is "now" and moves with live data

  const state = h("span", { class: "state" }, stateLabel(null));
  const fault = h("span", { class: "fault-text" });
  root.append(h("div", { class: "page-head" },
    h("h1", {}, leaf(info.path)), state, fault,
    h("span", { class: "sub" }, info.title),
    h("a", { href: `#/spc/${signal ? signal.path : ""}` }, t("equipment.spc_link"))));
  root.append(h("div", { class: "toolbar" }, rangeButtons(span, (s) => { span = s; refresh(); })));

  const kpis = h("div");
  const what = h("span", { class: "what" });
  const res = h("span", { class: "resolution" });
  const trendBox = h("div", { class: "chart trend", id: "trend" });
  const tlBox = h("div", { class: "chart", id: "timeline" });
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
          trendBox, tlBox),
        h("section", { class: "panel" }, h("h2", {}, t("nav.alarms")), alarms),
        h("section", { class: "panel" }, h("h2", {}, t("equipment.faults")), faults)),
      h("div", {},
        h("section", { class: "panel" }, h("h2", {}, t("equipment.signals")), signalTable),
        h("section", { class: "panel" }, h("h2", {}, t("common.losses")), lossBox))));

  // --- trend and timeline, on one time axis ---------------------------------------------------
  let seq = 0;
  const trend = new TrendChart(trendBox, { onRange: (a, b) => { follow = b >= Date.now() - 0.02 * (b - a); schedule(a, b); } });
  const tl = timelineChart(tlBox, 1, trend.margin.left); // on the trend's time axis
  let timer = null;
  function schedule(a, b) {
    tl.setRange(a, b);
    clearTimeout(timer);
    timer = setTimeout(() => loadTrend(a, b), 120); // one request per gesture, not per wheel tick
  }
  async function loadTrend(a, b) {
    if (!signal) return;
    const mine = ++seq;
    const buckets = resolution(a, b, signal.sample_s, trend.plotWidth);
    const params = { signal: signal.path, start: iso(a), end: iso(b) };
    if (buckets) params.buckets = buckets; else params.limit = 20000;
    const [body] = await Promise.all([get("history", params), loadTimelines(tl, [info.path], a, b)]);
    if (mine !== seq) return; // a newer range was asked for meanwhile
    const c = body.columns;
    if (body.bucket_s === null) {
      trend.setData({ mode: "raw", t: c.ts.map(ms), v: c.value }, body.unit_display);
      res.textContent = t("equipment.raw", { n: num(body.rows, 0) });
    } else {
      trend.setData({ mode: "buckets", t: c.bucket.map(ms), min: c.min, max: c.max, avg: c.avg, width: body.bucket_s * 1000 }, body.unit_display);
      res.textContent = t("equipment.buckets", { n: num(body.rows, 0), width: duration(body.bucket_s) });
    }
    trendBox.dataset.loaded = String(mine);
  }
  function showSignal(s) {
    signal = s;
    selected.set(info.path, s.name);
    what.textContent = s.unit_display ? `${s.name} (${s.unit_display})` : s.name;
    for (const tr of signalTable.querySelectorAll("tr[data-path]")) tr.classList.toggle("selected", tr.dataset.path === s.path);
    trend.setRange(trend.x0, trend.x1);
  }
  trendBox.addEventListener("reset-range", () => { const n = Date.now(); trend.setRange(n - span, n); });

  // --- signals with live values ---------------------------------------------------------------
  const valueCells = new Map();
  const roles = new Map(info.signals.map((s) => [s.path, s.role]));
  signalTable.append(h("tr", {}, h("th", {}, t("common.signal")), h("th", { class: "num" }, t("common.value")), h("th", {}, t("common.unit"))));
  for (const s of info.signals) {
    const cell = h("td", { class: "value" }, "–");
    valueCells.set(s.path, cell);
    const clickable = s.role === "measurement";
    signalTable.append(h("tr", {
      class: clickable ? "clickable" : "", dataset: { path: s.path },
      onclick: clickable ? () => showSignal(s) : undefined,
    }, h("td", { title: s.description }, s.name), cell, h("td", { class: "muted" }, s.unit_display)));
  }
  const unsubscribe = live.subscribe((msg) => {
    const st = msg.states?.[info.path];
    if (st) { state.dataset.state = st; state.textContent = stateLabel(st); }
    for (const [path, [ts, value]] of Object.entries(msg.values || {})) {
      const cell = valueCells.get(path);
      if (!cell) continue;
      const shown = path.endsWith("/state") ? stateLabel(info.states[String(value)])
        : path.endsWith("/fault_code") ? (value ? `${value} ${info.faults[String(value)] || ""}` : "0")
          : num(value, roles.get(path) === "measurement" ? 2 : 0);
      if (cell.textContent !== shown) {
        cell.textContent = shown;
        cell.classList.remove("flash"); void cell.offsetWidth; cell.classList.add("flash");
      }
      if (path.endsWith("/fault_code")) fault.textContent = value ? t("overview.fault", { code: value, text: info.faults[String(value)] || "" }) : "";
      if (signal && path === signal.path && follow && trend.data) {
        const at = ms(ts);
        const width = trend.x1 - trend.x0;
        trend.setRange(Math.max(trend.x1, at) - width, Math.max(trend.x1, at), false);
        tl.setRange(trend.x0, trend.x1);
        if (trend.data.mode === "raw") trend.appendRaw(at, value);
      }
    }
  });

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
  await Promise.allSettled([figures, faultList, alarmList]);
  return () => { unsubscribe(); clearTimeout(timer); trend.destroy(); tl.destroy(); };
}
