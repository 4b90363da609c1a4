// Quality (#/quality/<equipment>), for an equipment whose process is modelled: the defect Pareto
// of the chosen range; the predicted defect risk of the latest parts, per defect type and of any
// defect (what the predicted-defect alarm compares with its limit), and the drivers of each
// prediction; the process parameters as they are now. Each part inspected (a new point of the
// inspection signal in the live feed) rescores the latest parts; the parameters follow the feed.

import { get } from "../api.js";
import { BarChart, labelWidth } from "../charts/bars.js";
import { cssVar } from "../charts/core.js";
import { LineChart } from "../charts/lines.js";
import { RANGES, dateTime, h, leaf, num, pct, rangeButtons } from "../dom.js";
import { locale, t } from "../i18n.js";
import { energyQualityHead, iso, onLiveChange } from "./common.js";
import { defectName, liveValue, loadProcesses, parameterNumber, parameterText, processPicker } from "./process.js";

const SPANS = RANGES.filter(([, s]) => s >= 86400e3 && s <= 30 * 86400e3);
const LIVE_MS = 5000; // a part every few seconds at most is worth rescoring
let span = 86400e3;

/** The probability that a part has any defect, from each type's: what the alarm judges. */
function anyDefect(risk) {
  return 1 - Object.values(risk).reduce((p, r) => p * (1 - r), 1);
}

function feature(name) {
  return name.startsWith("lot_rate.") ? t("quality.lot_rate", { defect: defectName(name.slice(9)) }) : name;
}

function featureValue(d) {
  return d.feature.startsWith("lot_rate.") ? pct(d.value, 2) : num(d.value, Math.abs(d.value) >= 100 ? 0 : 2);
}

function signed(v) {
  return `${v >= 0 ? "+" : "−"}${num(Math.abs(v), 2)}`;
}

/** A part's time, short enough for a phone's table: day, month and the time to the second. */
function partTime(msTime) {
  return new Intl.DateTimeFormat(locale(), { day: "2-digit", month: "2-digit", hour: "2-digit", minute: "2-digit",
    second: "2-digit", hour12: false }).format(new Date(msTime));
}

function kpi(key, id, value, sub) {
  return h("div", { class: "kpi", dataset: { kpi: key } },
    h("div", { class: "label" }, t(key)), h("div", { class: "value", id }, value),
    sub ? h("div", { class: "hint" }, sub) : null);
}

export async function render(root, route, _plant, refresh) {
  const processes = await loadProcesses();
  const proc = processes.find((p) => p.equipment === route.path) || processes[0];
  root.append(...energyQualityHead("quality", proc?.equipment));
  if (!proc) { root.append(h("div", { class: "muted", id: "no-process" }, t("quality.no_process"))); return null; }
  const eq = proc.equipment;
  root.append(h("div", { class: "toolbar" },
    processPicker(processes, eq, (e) => { location.hash = `#/quality/${e}`; }),
    h("span", { class: "muted" }, t("quality.pareto_over")), rangeButtons(span, (s) => { span = s; refresh(); }, SPANS),
    h("a", { href: `#/equipment/${eq}` }, t("nav.equipment"))));

  const kpis = h("div", { class: "kpis", id: "quality-kpis" });
  const riskBox = h("div", { class: "chart", id: "risk-chart" });
  const paretoBox = h("div", { class: "chart", id: "pareto" });
  const partsBox = h("div", { class: "parts-scroll", id: "latest-parts" });
  const driversHead = h("div", { class: "hint", id: "drivers-head" });
  const driversBox = h("div", { class: "chart", id: "drivers" });
  const riskNote = h("div", { class: "hint", id: "risk-note" });
  root.append(
    h("section", { class: "panel" }, kpis),
    h("div", { class: "grid-2" },
      h("section", { class: "panel" }, h("h2", {}, t("quality.risk")), riskNote, riskBox),
      h("section", { class: "panel" }, h("h2", {}, t("quality.pareto")), paretoBox, h("div", { class: "hint" }, t("quality.pareto_hint")))),
    h("div", { class: "grid-2" },
      h("section", { class: "panel" }, h("h2", {}, t("quality.latest_parts")), partsBox),
      h("section", { class: "panel" }, h("h2", {}, t("quality.drivers")), driversHead, driversBox,
        h("div", { class: "hint" }, t("quality.drivers_hint")))));

  // The parameters in force, from the live feed.
  const stops = [];
  const paramRows = proc.parameters.map((p) => {
    const now = liveValue(p.signal, p.unit);
    stops.push(now.stop);
    return h("tr", { dataset: { signal: p.signal } },
      h("td", { translate: "no" }, leaf(p.signal)), h("td", { class: "num" }, now.el),
      h("td", { class: "num" }, `${parameterNumber(p.low)} – ${parameterText(p.high, p.unit)}`),
      h("td", { class: "num" }, parameterText(p.max_step, p.unit)));
  });
  root.append(h("section", { class: "panel" }, h("h2", {}, t("quality.parameters")),
    h("div", { class: "table-scroll" }, h("table", { class: "data wrap", id: "parameters" },
      h("tr", {}, h("th", {}, t("quality.parameter")), h("th", { class: "num" }, t("quality.now")),
        h("th", { class: "num" }, t("quality.range")), h("th", { class: "num" }, t("quality.max_step"))),
      paramRows))));

  const riskChart = new LineChart(riskBox, { x: "time", unit: "%", height: 260 });
  let pareto = null, drivers = null, selected = null, parts = [];

  function showDrivers(part) {
    selected = part.ts;
    for (const tr of partsBox.querySelectorAll("tr[data-ts]")) tr.classList.toggle("selected", Number(tr.dataset.ts) === part.ts);
    const [type, risk] = Object.entries(part.risk).sort((a, b) => b[1] - a[1])[0] || ["", 0];
    driversHead.textContent = t("quality.drivers_of", { time: dateTime(part.ts / 1000), defect: defectName(type), risk: pct(risk, 2) });
    const labels = part.drivers.map((d) => feature(d.feature));
    const texts = part.drivers.map((d) => t("quality.driver_text", { value: featureValue(d), contribution: signed(d.contribution) }));
    drivers?.destroy();
    // The names and values say most: as much room as leaves the bars 60 pixels.
    const valueWidth = labelWidth(texts, 150);
    drivers = new BarChart(driversBox, { bars: Math.max(3, labels.length), valueWidth,
      labelWidth: labelWidth(labels, Math.max(100, driversBox.clientWidth - valueWidth - 60)) });
    drivers.setItems(part.drivers.map((d, i) => ({
      label: labels[i], value: d.contribution, text: texts[i],
      color: d.contribution > 0 ? cssVar("--alarm-high") : cssVar("--chart-bar"),
    })));
    driversBox.dataset.part = String(part.ts);
  }

  async function loadRisk() {
    const r = await get("quality/risk", { equipment: eq });
    parts = r.parts;
    const types = Object.keys(parts[0]?.risk || {});
    const x = parts.map((p) => p.ts / 1000);
    const any = parts.map((p) => anyDefect(p.risk));
    const limit = proc.risk_alarm;
    // The alarm limit is drawn when the risks come near it; far below it, they would be a flat
    // line at the bottom: the chart then fits the risks, and the note names the limit.
    const top = 100 * Math.max(0, ...any);
    const near = limit !== null && 100 * limit <= 2 * top;
    riskChart.range = near ? null : [0, Math.max(1.15 * top, 0.1)];
    riskChart.setData([
      { name: t("quality.any_defect"), x, y: any.map((v) => 100 * v), color: cssVar("--chart-line"), dots: true },
      ...types.map((k) => ({ name: defectName(k), x, y: parts.map((p) => 100 * p.risk[k]), dash: [4, 3] })),
    ], near ? [{ y: 100 * limit, label: t("quality.alarm_limit", { limit: pct(limit, 0) }), short: pct(limit, 0), align: "right" }] : []);
    const last = parts[parts.length - 1];
    riskNote.replaceChildren(t("quality.risk_note", { n: parts.length, trained: num(r.trained_parts, 0) }),
      limit !== null && !near ? h("span", { class: "more" }, t("quality.limit_above", { limit: pct(limit, 0) })) : "");
    partsBox.replaceChildren(h("table", { class: "data" },
      h("tr", {}, ["common.time", "quality.inspected", "quality.any_defect", "quality.riskiest"]
        .map((k, i) => h("th", { class: ["", "", "num", "num riskiest"][i] }, t(k)))),
      [...parts].reverse().map((p) => {
        const [type, risk] = Object.entries(p.risk).sort((a, b) => b[1] - a[1])[0] || ["", 0];
        return h("tr", { class: "clickable", dataset: { ts: String(p.ts), inspected: p.inspected }, onclick: () => showDrivers(p) },
          h("td", { class: "nowrap" }, partTime(p.ts / 1000)),
          h("td", { class: p.inspected === "good" ? "" : "defect" }, defectName(p.inspected)),
          h("td", { class: "num" }, pct(anyDefect(p.risk), 2)),
          h("td", { class: "num riskiest" }, `${defectName(type)} ${pct(risk, 2)}`));
      })));
    showDrivers(parts.find((p) => p.ts === selected) || last);
    return { last, limit };
  }

  async function loadPareto() {
    const now = Date.now();
    const p = await get("quality/pareto", { equipment: eq, start: iso(now - span), end: iso(now) });
    const entries = Object.entries(p.defects);
    const total = entries.reduce((a, [, n]) => a + n, 0);
    let cumulative = 0;
    const labels = entries.map(([k]) => defectName(k));
    const texts = entries.map(([, n]) => {
      cumulative += n;
      return t("quality.pareto_text", { n: num(n, 0), share: pct(total ? cumulative / total : 0, 0) });
    });
    pareto?.destroy();
    pareto = new BarChart(paretoBox, { bars: Math.max(3, entries.length), valueWidth: labelWidth(texts, 160),
      labelWidth: labelWidth(labels, 160) });
    pareto.setItems(entries.map(([, n], i) => ({ label: labels[i], value: n, text: texts[i] })));
    return p;
  }

  async function load() {
    const [p, { last, limit }] = await Promise.all([loadPareto(), loadRisk()]);
    const risk = last ? anyDefect(last.risk) : null;
    kpis.replaceChildren(
      kpi("quality.parts", "kpi-parts", num(p.parts, 0)),
      kpi("quality.defect_rate", "kpi-defect-rate", pct(p.rate, 2), t("quality.limit", { limit: pct(proc.max_defect_rate, 1) })),
      kpi("quality.latest_risk", "kpi-latest-risk", pct(risk, 2), limit === null ? null : t("quality.alarm_at", { limit: pct(limit, 0) })),
      kpi("quality.takt", "kpi-takt", `${num(proc.takt_s, 0)} ${t("unit.s")}`));
    // Looked up in the page itself: a load still under way when the page is left finishes on it.
    if (risk !== null && limit !== null) kpis.querySelector("#kpi-latest-risk").classList.toggle("bad", risk > limit);
    root.dataset.loaded = String(Number(root.dataset.loaded || 0) + 1);
  }

  try {
    await load();
  } catch (err) {
    // Too few parts to learn from says what it needs: the parameters above still show.
    root.insertBefore(h("div", { class: "error", id: "quality-error" }, t("error.load", { reason: err.message })), kpis.parentNode);
  }
  stops.push(onLiveChange([proc.inspection], () => load(), LIVE_MS));
  return () => { for (const s of stops) s(); riskChart.destroy(); pareto?.destroy(); drivers?.destroy(); };
}
