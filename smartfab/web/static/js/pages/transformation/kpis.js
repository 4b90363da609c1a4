// Transformation KPIs (#/transformation/kpis): the key-process CNC rate, the digital R&D tool
// penetration, the equipment connection rate and the data collection coverage, each against every
// national target with its source (the 2027 CNC-rate target is 70 % in the source article and 75 %
// in a later ministry statement: both), the newest national figure, and their recorded trend.

import { get, send } from "../../api.js";
import { cssVar } from "../../charts/core.js";
import { LineChart } from "../../charts/lines.js";
import { h, num, pct } from "../../dom.js";
import { t } from "../../i18n.js";
import { fromUs, local, put, readOnlyHint, sourceText } from "./common.js";

const state = { days: 7 };

function points(v) { return t("tf.points", { n: num(v, 1) }); }

/** The value on a 0-100 % bar with a tick at each target. */
function meter(row) {
  return h("div", { class: "meter", "aria-hidden": "true" },
    h("i", { class: "fill", style: `width: ${Math.max(0, Math.min(100, row.value ?? 0))}%` }),
    row.targets.map((tg) => h("b", { class: "tick", style: `left: ${tg.value}%`, title: pct(tg.value / 100, 0) })));
}

function targetLine(tg) {
  const status = tg.met === null ? "–"
    : tg.met ? t("tf.met")
      : tg.gap > 0 ? t("tf.to_go", { n: points(tg.gap) }) : t("tf.at_not_above");
  return h("li", { dataset: { target: String(tg.value), met: String(tg.met) } },
    h("span", {}, t("tf.target_above", { value: pct(tg.value / 100, 0), year: tg.year })), " ",
    h("strong", { class: tg.met ? "met" : "open" }, status), " ",
    h("a", { href: tg.url, target: "_blank", rel: "noreferrer", title: local(tg.source), class: "source" }, tg.label ? local(tg.label) : local(tg.source)));
}

function kpiCard(row) {
  const n = row.national;
  return h("section", { class: "panel kpi-card", dataset: { kpi: row.kpi } },
    h("h2", {}, t(`tf.kpi.${row.kpi}`)),
    h("div", { class: "kpi-value num" }, row.value === null ? "–" : pct(row.value / 100)),
    meter(row),
    h("div", { class: "hint", title: row.detail }, sourceText(row.source || "")),
    row.targets.length ? h("ul", { class: "targets" }, row.targets.map(targetLine)) : h("div", { class: "hint" }, t("tf.no_target")),
    n ? h("div", { class: "national" }, t("tf.national_figure", { value: pct(n.value / 100), period: n.period }),
      n.difference === null ? "" : t(n.difference >= 0 ? "tf.plant_above" : "tf.plant_below", { n: points(Math.abs(n.difference)) }),
      h("div", { class: "hint", title: n.note }, h("a", { href: n.source, target: "_blank", rel: "noreferrer" }, t("tf.source_at", { host: new URL(n.source).host })))) : null);
}

// "2023-06" as a time: the middle of the month (a year alone: its middle).
function periodTime(period) {
  const [y, m] = period.split("-").map(Number);
  return m ? Date.UTC(y, m - 1, 15) : Date.UTC(y, 6, 1);
}

export async function render(root, { canEdit, refresh }) {
  const body = await get("transformation/kpis", { days: state.days });
  const charts = [];
  const days = h("select", { id: "kpi-days", "aria-label": t("tf.evidence_days") },
    [1, 7, 30].map((d) => h("option", { value: String(d) }, t("tf.days", { n: d }))));
  days.value = String(state.days);
  days.addEventListener("change", () => { state.days = Number(days.value); refresh(); });
  const record = h("button", { id: "record-kpis", class: "primary", hidden: !canEdit }, t("tf.record"));
  record.addEventListener("click", async () => {
    record.disabled = true;
    try {
      await send("POST", `transformation/kpis?days=${state.days}`);
    } catch (err) {
      window.alert(t("error.action", { reason: err.message }));
    }
    refresh();
  });
  put(root,
    h("div", { class: "toolbar" }, h("label", {}, t("tf.evidence_days"), days), record,
      h("span", { class: "hint" }, t("tf.record_hint"))),
    readOnlyHint(canEdit),
    h("div", { class: "kpi-cards" }, body.kpis.map(kpiCard)));

  const trendBox = h("div", { class: "chart", id: "kpi-trend" });
  put(root, h("section", { class: "panel" }, h("h2", {}, t("tf.kpi_trend")),
    body.trend.length ? trendBox : h("div", { class: "muted", id: "no-trend" }, t("tf.no_trend"))));
  if (body.trend.length) {
    const trend = new LineChart(trendBox, { x: "time", unit: "%", range: [0, 104], height: 220 });
    const at = body.trend.map((e) => fromUs(e.at));
    trend.setData(body.kpis.map((r) => ({
      name: t(`tf.kpi.${r.kpi}`), x: at, y: body.trend.map((e) => e.values[r.kpi] ?? null), dots: true,
    })));
    charts.push(trend);
  }

  const nationalBox = h("div", { class: "chart", id: "national-trend" });
  const national = body.national;
  put(root, h("section", { class: "panel" }, h("h2", {}, t("tf.national_trend")),
    national ? nationalBox : h("div", { class: "hint", id: "no-national" }, t("tf.no_national"))));
  if (national) {
    const chart = new LineChart(nationalBox, { x: "time", unit: "%", range: [0, 104], height: 240 });
    const rows = body.kpis.filter((r) => national[r.kpi]?.length);
    const series = rows.map((r) => ({
      name: t("tf.national_of", { kpi: t(`tf.kpi.${r.kpi}`) }),
      x: national[r.kpi].map((p) => periodTime(p.period)), y: national[r.kpi].map((p) => p.value), dots: true,
    }));
    // The plant's own figure beside the national ones, as of now.
    const now = Date.now();
    for (const r of rows) {
      if (r.value !== null) series.push({ name: t("tf.plant_of", { kpi: t(`tf.kpi.${r.kpi}`) }), x: [now], y: [r.value] });
    }
    const targets = rows.flatMap((r) => r.targets).map((tg, i) => ({
      y: tg.value, color: cssVar("--limit"), align: i % 2 ? "right" : "left",
      label: t("tf.target_ref", { value: pct(tg.value / 100, 0), year: tg.year, who: tg.label ? local(tg.label) : "" }),
      short: t("tf.target_short", { value: pct(tg.value / 100, 0), year: tg.year }),
    }));
    chart.setData(series, targets);
    charts.push(chart);
    put(root, h("div", { class: "hint" }, t("tf.national_hint")));
  }
  root.dataset.loaded = "true";
  return () => charts.forEach((c) => c.destroy());
}
