// Predictive maintenance: the fleet ranked by failure risk (#/maintenance), and one equipment's
// panel (#/maintenance/<path>): health trend, remaining useful life with its interval, anomalies
// marked on a sensor's trend, and its open work orders, which a planner accepts, schedules into
// a maintenance window and closes. The server computes everything; this page only shows it.

import { get, ms, send } from "../api.js";
import { SeriesChart } from "../charts/series.js";
import { dateTime, h, leaf, num, pct, rangeButtons } from "../dom.js";
import { t } from "../i18n.js";
import { inScope } from "../session.js";
import { iso } from "./common.js";

// A month of hourly rows, as the server's periodic assessment (which raises the work orders)
// reads it; a day or less gets minute-scale rows.
let span = 30 * 86400e3;
const HORIZON_H = 24;

// Why a figure is unknown or missing, in the page's language (the server's English otherwise).
function note(n) {
  return n ? t(`maint.note.${n.code}`, n.params) : "";
}

function unknown(n) {
  return h("span", { class: "muted unknown", title: note(n) }, t("maint.unknown"));
}

function rul(e) {
  if (e.rul_h === null) {
    const training = e.rul_note && e.rul_note.code === "training";
    return h("span", { class: "muted", title: note(e.rul_note) }, t(training ? "maint.training_short" : "maint.no_rul"));
  }
  return h("span", { class: "rul" }, t("maint.hours", { n: num(e.rul_h, 0) }),
    h("span", { class: "muted" }, ` (${num(e.rul_low_h, 0)}–${num(e.rul_high_h, 0)})`));
}

function riskBar(risk, why) {
  if (risk === null) return unknown(why);
  return h("span", { class: "risk", dataset: { level: risk >= 0.5 ? "high" : risk >= 0.2 ? "medium" : "low" } },
    h("span", { class: "risk-fill", style: `width:${Math.round(100 * risk)}%` }), pct(risk, 0));
}

async function act(id, action, body, done) {
  try {
    await send("POST", `maintenance/workorders/${encodeURIComponent(id)}/${action}`, body);
  } catch (err) {
    window.alert(t("error.action", { reason: err.message }));
  }
  done();
}

function orderActions(o, done) {
  if (o.status === "closed") return null;
  const start = h("input", { type: "datetime-local", "aria-label": t("maint.window_start") });
  const end = h("input", { type: "datetime-local", "aria-label": t("maint.window_end") });
  const schedule = () => {
    if (!start.value || !end.value) return;
    act(o.id, "schedule", { start: new Date(start.value).toISOString(), end: new Date(end.value).toISOString() }, done);
  };
  const close = () => {
    const comment = window.prompt(t("maint.close_comment"));
    if (comment !== null) act(o.id, "close", { comment }, done);
  };
  return h("div", { class: "actions" },
    o.status === "open" ? h("button", { class: "primary", "data-action": "accept", onclick: () => act(o.id, "accept", null, done) }, t("maint.accept")) : null,
    start, end, h("button", { "data-action": "schedule", onclick: schedule }, t("maint.schedule")),
    h("button", { "data-action": "close", onclick: close }, t("maint.close")));
}

function orderTable(orders, done) {
  if (!orders.length) return h("div", { class: "muted" }, t("maint.no_orders"));
  return h("div", { class: "table-scroll" }, h("table", { class: "data workorders" },
    h("tr", {}, ["maint.order", "common.equipment", "common.state", "maint.due", "maint.mode", "maint.evidence", "maint.window", ""].map((k) => h("th", {}, k ? t(k) : ""))),
    orders.map((o) => h("tr", { dataset: { order: o.id, status: o.status } },
      h("td", { translate: "no" }, o.id),
      h("td", {}, h("a", { href: `#/maintenance/${o.equipment}` }, leaf(o.equipment))),
      h("td", {}, t(`maint.status.${o.status}`)),
      h("td", {}, dateTime(ms(o.due))),
      h("td", {}, o.mode || "–"),
      h("td", { class: "muted" }, t("maint.evidence_text", {
        health: num(o.evidence.health, 0), rul: num(o.evidence.rul_h, 0), low: num(o.evidence.rul_low_h, 0),
        high: num(o.evidence.rul_high_h, 0), anomalies: o.evidence.anomalies })),
      h("td", {}, o.window_start ? `${dateTime(ms(o.window_start))} – ${dateTime(ms(o.window_end))}` : "–"),
      h("td", {}, orderActions(o, done))))));
}

async function fleetPage(root, refresh) {
  const now = Date.now();
  root.append(h("div", { class: "page-head" }, h("h1", {}, t("nav.maintenance")),
    h("span", { class: "sub" }, t("maint.fleet_sub", { h: HORIZON_H }))));
  // Engineers raise work orders and predicted-failure alarms from the models' predictions now.
  const assess = async () => {
    try {
      const raised = await send("POST", "maintenance/assess", { start: iso(now - span), end: iso(now), horizon_h: HORIZON_H });
      window.alert(t("maint.assessed", { n: raised.length }));
    } catch (err) {
      window.alert(t("error.action", { reason: err.message }));
    }
    refresh();
  };
  root.append(h("div", { class: "toolbar" }, rangeButtons(span, (s) => { span = s; refresh(); }),
    h("button", { id: "assess", onclick: assess, title: t("maint.assess_hint", { h: HORIZON_H }) }, t("maint.assess"))));
  const [fleet, orders] = await Promise.all([
    inScope({ start: iso(now - span), end: iso(now), horizon_h: HORIZON_H }).then((p) => get("maintenance/fleet", p)),
    inScope({ open: true }).then((p) => get("maintenance/workorders", p)),
  ]);
  const unknowns = fleet.equipment.filter((e) => e.health === null).length;
  root.append(
    h("section", { class: "panel" }, h("h2", {}, t("maint.ranking")),
      fleet.training ? h("div", { class: "hint", id: "training" }, t("maint.training")) : null,
      unknowns ? h("div", { class: "hint", id: "unknowns" }, t("maint.unknown_summary", { n: unknowns, total: fleet.equipment.length })) : null,
      h("div", { class: "table-scroll" }, h("table", { class: "data fleet" },
        h("tr", {}, ["maint.rank", "common.equipment", "maint.risk", "maint.health", "maint.rul", "maint.anomalies", "maint.model", "maint.open_orders"]
          .map((k) => h("th", {}, t(k)))),
        fleet.equipment.map((e, i) => h("tr", { class: e.failure_predicted ? "alarm-unack" : "", dataset: { equipment: e.equipment } },
          h("td", { class: "num" }, String(i + 1)),
          h("td", {}, h("a", { href: `#/maintenance/${e.equipment}` }, leaf(e.equipment))),
          h("td", {}, riskBar(e.risk, e.health === null ? e.health_note : e.rul_note)),
          h("td", { class: "num" }, e.health === null ? unknown(e.health_note) : num(e.health, 0)),
          h("td", {}, rul(e)),
          h("td", { class: "num" }, String(e.anomalies)),
          h("td", { class: "muted", translate: "no", title: note(e.rul_note) }, e.model || "–"),
          h("td", { class: "num" }, String(e.open_orders))))))),
    h("section", { class: "panel" }, h("h2", {}, t("maint.open_orders")), orderTable(orders, refresh)));
}

async function equipmentPage(root, path, refresh) {
  const now = Date.now();
  const period = { start: iso(now - span), end: iso(now) };
  const e = await get(`maintenance/equipment/${path}`, { ...period, horizon_h: HORIZON_H });
  root.append(h("div", { class: "page-head" }, h("h1", {}, leaf(e.equipment)),
    h("a", { href: "#/maintenance" }, t("maint.back")),
    h("a", { href: `#/equipment/${e.equipment}` }, t("nav.equipment"))));
  root.append(h("div", { class: "toolbar" }, rangeButtons(span, (s) => { span = s; refresh(); })));
  root.append(h("div", { class: "kpis" },
    h("div", { class: "kpi" }, h("div", { class: "label" }, t("maint.health")), h("div", { class: "value", id: "health-now" }, e.health === null ? unknown(e.health_note) : num(e.health, 0))),
    h("div", { class: "kpi" }, h("div", { class: "label" }, t("maint.rul")), h("div", { class: e.rul_h === null ? "value small" : "value", id: "rul-now" }, rul(e))),
    h("div", { class: "kpi" }, h("div", { class: "label" }, t("maint.risk")), h("div", { class: "value" }, riskBar(e.risk, e.health_note))),
    h("div", { class: "kpi" }, h("div", { class: "label" }, t("maint.model")), h("div", { class: "value small", translate: "no" }, e.model || "–"))));
  const why = [e.health_note, e.rul_note].filter(Boolean).map((n) => h("div", { class: "hint" }, note(n)));
  if (why.length) root.append(h("div", { class: "notes", id: "notes" }, why));

  const healthBox = h("div", { class: "chart", id: "health-trend" });
  const sensorBox = h("div", { class: "chart", id: "sensor-trend" });
  // The sensor that raised the most anomalies is the one worth looking at first.
  const counts = new Map();
  for (const a of e.anomaly_list) counts.set(a.sensor, (counts.get(a.sensor) || 0) + 1);
  let sensor = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] || e.signals[0];
  const hint = h("span", { class: "hint" });
  const picker = h("select", { "aria-label": t("common.signal") }, e.signals.map((s) => h("option", { value: s, selected: s === sensor }, s)));
  root.append(
    h("section", { class: "panel" }, h("h2", {}, t("maint.health_trend")), healthBox),
    h("section", { class: "panel" }, h("div", { class: "trend-head" }, h("h2", {}, t("maint.sensor_trend")), picker,
      hint), sensorBox),
    h("section", { class: "panel" }, h("h2", {}, t("maint.open_orders")), orderTable(e.orders, refresh)));

  const health = new SeriesChart(healthBox, { range: [0, 100] });
  health.setData({ t: e.times.map(ms), v: e.health_trend });
  const trend = new SeriesChart(sensorBox);
  async function loadSensor() {
    const signal = `${e.equipment}/${sensor}`;
    const body = await get("history", { signal, ...period, buckets: 500 });
    const c = body.columns;
    const marks = e.anomaly_list.filter((a) => a.sensor === sensor)
      .map((a) => ({ t: ms(a.ts), label: t("maint.anomaly_mark", { score: num(a.score, 1) }) }));
    trend.setData({ t: c.bucket.map(ms), v: c.avg, unit: body.unit_display, marks });
    sensorBox.dataset.marks = String(marks.length);
    hint.textContent = t("maint.anomaly_hint", { n: marks.length, total: e.anomaly_list.length });
  }
  picker.addEventListener("change", () => { sensor = picker.value; loadSensor(); });
  await loadSensor();
  return () => { health.destroy(); trend.destroy(); };
}

export async function render(root, route, plant, refresh) {
  return route.path ? equipmentPage(root, route.path, refresh) : fleetPage(root, refresh);
}
