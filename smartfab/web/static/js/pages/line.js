// Line view: the line's OEE and losses over the chosen range, its OEE per shift, the state
// timelines of its machines one above the other, and a table of each machine's figures.

import { get, live, rows } from "../api.js";
import { BarChart, labelWidth } from "../charts/bars.js";
import { h, leaf, num, pct, periodLabel, rangeButtons, stateLabel } from "../dom.js";
import { t } from "../i18n.js";
import { firstRow, iso, kpiCards, loadTimelines, lossChart, stateLegend, timelineChart } from "./common.js";

let span = 86400e3;

export async function render(root, route, plant, refresh) {
  const ln = plant?.lines.find((l) => l.path === route.path);
  if (!ln) throw new Error(t("error.unknown_asset", { path: route.path }));
  const now = Date.now(), x0 = now - span;
  const paths = ln.equipment.map((e) => e.path);

  root.append(
    h("div", { class: "page-head" }, h("h1", {}, ln.title || ln.name), h("span", { class: "sub" }, ln.path)),
    h("div", { class: "toolbar" }, rangeButtons(span, (s) => { span = s; refresh(); }), stateLegend()));
  const kpis = h("div");
  const lossBox = h("div", { class: "chart" });
  const shiftBox = h("div", { class: "chart" });
  const tlBox = h("div", { class: "chart" });
  const table = h("table", { class: "data" });
  root.append(
    h("section", { class: "panel" }, h("h2", {}, t("line.kpis")), kpis),
    h("div", { class: "grid-2" },
      h("section", { class: "panel" }, h("h2", {}, t("line.timelines")), tlBox),
      h("section", { class: "panel" }, h("h2", {}, t("common.losses")), lossBox)),
    h("div", { class: "grid-2" },
      h("section", { class: "panel" }, h("h2", {}, t("line.equipment")), table),
      h("section", { class: "panel" }, h("h2", {}, t("line.oee_by_shift")), shiftBox)));

  const [total, shifts] = await Promise.all([
    get("oee", { path: ln.path, start: iso(x0), end: iso(now), by_equipment: true }),
    // No shift in the last 3 days (a long holiday) is an answer too: an empty chart.
    get("oee", { path: ln.path, start: iso(now - 3 * 86400e3), end: iso(now), period: "shift" })
      .catch(() => ({ total: { rows: 0, columns: {} } })),
  ]);
  const f = firstRow(total.total);
  kpis.append(kpiCards(f));
  lossChart(lossBox).set(f);
  // The API cuts the shift in progress at now and says so; a shift of which nothing is known
  // (before the first data, or while collection stood still) reads "no data", not "–".
  const shiftRows = rows(shifts.total).slice(-9);
  const last = shiftRows.length - 1;
  const items = shiftRows.map((r, i) => ({
    label: i === last && shifts.in_progress ? t("line.so_far", { label: periodLabel(r.label) }) : periodLabel(r.label),
    value: r.oee === null ? null : 100 * r.oee,
    text: r.no_data ? t("line.no_data") : undefined,
  }));
  // Room for the longest label in the page's language ("Пт, 04.12 ночная смена (идёт)").
  const width = labelWidth(items.map((d) => d.label));
  new BarChart(shiftBox, { bars: shiftRows.length, unit: "%", labelWidth: width }).setItems(items);

  const tl = timelineChart(tlBox, paths.length);
  await loadTimelines(tl, paths, x0, now);

  const stateCells = new Map();
  table.append(h("tr", {},
    ["common.equipment", "common.state", "kpi.oee", "kpi.availability", "kpi.performance", "kpi.quality", "kpi.good", "kpi.scrap"]
      .map((k, i) => h("th", { class: i > 1 ? "num" : "" }, t(k)))));
  for (const eq of ln.equipment) {
    const r = firstRow(total.by_equipment[eq.path]);
    const state = h("span", { class: "state" }, stateLabel(null));
    stateCells.set(eq.path, state);
    table.append(h("tr", { class: "clickable", onclick: () => { location.hash = `#/equipment/${eq.path}`; } },
      h("td", {}, h("a", { href: `#/equipment/${eq.path}` }, leaf(eq.path)), h("div", { class: "muted" }, eq.title)),
      h("td", {}, state),
      h("td", { class: "num" }, pct(r.oee)), h("td", { class: "num" }, pct(r.availability)),
      h("td", { class: "num" }, pct(r.performance)), h("td", { class: "num" }, pct(r.quality)),
      h("td", { class: "num" }, num(r.good, 0)), h("td", { class: "num" }, num(r.scrap, 0))));
  }
  const unsubscribe = live.subscribe((msg) => {
    for (const [path, state] of Object.entries(msg.states || {})) {
      const el = stateCells.get(path);
      if (el) { el.dataset.state = state; el.textContent = stateLabel(state); }
    }
  });
  return () => { unsubscribe(); tl.destroy(); };
}
