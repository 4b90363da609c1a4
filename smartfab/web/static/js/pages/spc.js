// SPC: a control chart pair (X-bar/R, X-bar/S or I-MR) of a measurement with its control limits,
// the points that break the chosen run rules marked, and capability against the limits entered.

import { get } from "../api.js";
import { ControlChart } from "../charts/control.js";
import { RANGES, h, leaf, num, rangeButtons } from "../dom.js";
import { t } from "../i18n.js";
import { iso, measured } from "./common.js";

let span = 8 * 3600e3;
// n and subgroups empty: the server chooses them from the values there are (subgroups of up to 5,
// as many as the values fill up to 100), so that the first look works on a short history too.
const form = { chart: "xbar_r", n: "", subgroups: "", rules: "western_electric", lsl: "", usl: "" };

function select(options, value, onChange, label) {
  const el = h("select", { "aria-label": label },
    options.map(([v, text]) => h("option", { value: v, selected: v === value }, text)));
  el.addEventListener("change", () => onChange(el.value));
  return el;
}

export async function render(root, route, plant, refresh) {
  if (!plant) throw new Error(t("error.no_plant"));
  const eqPath = route.path ? route.path.split("/").slice(0, -1).join("/") : plant.equipment[0].path;
  const info = await get(`equipment/${eqPath}`);
  const measurements = info.signals.filter(measured);
  // Cycle time is a value per part, the natural first look at a machine's process.
  const signal = measurements.find((s) => s.path === route.path)
    || measurements.find((s) => s.name === "cycle_time") || measurements[0];
  const go = (path) => { location.hash = `#/spc/${path}`; };

  const num_input = (key) => {
    const el = h("input", { type: "number", step: "any", value: form[key], "aria-label": t(`spc.${key}`) });
    el.addEventListener("change", () => { form[key] = el.value; refresh(); });
    return el;
  };
  // Whole numbers in a range, or empty for the automatic choice (shown as the placeholder).
  const countInput = (key, min, max) => {
    const el = h("input", { type: "number", min: String(min), max: String(max), step: "1", value: form[key],
      placeholder: t("spc.auto"), title: t("spc.auto_hint"), "aria-label": t(`spc.${key}`) });
    el.addEventListener("change", () => {
      const v = Math.round(Number(el.value));
      form[key] = el.value === "" || !Number.isFinite(v) ? "" : String(Math.min(max, Math.max(min, v)));
      refresh();
    });
    return el;
  };
  const nInput = countInput("n", 2, 25);
  const countBox = countInput("subgroups", 10, 1000);
  root.append(
    h("div", { class: "page-head" }, h("h1", {}, t("spc.title")),
      h("span", { class: "sub" }, `${leaf(info.path)} · ${signal.name}${signal.unit_display ? ` (${signal.unit_display})` : ""}`)),
    h("div", { class: "toolbar" },
      h("label", {}, t("common.equipment"), select(plant.equipment.map((e) => [e.path, leaf(e.path)]), info.path,
        (p) => go(`${p}/${signal.name}`), t("common.equipment"))),
      h("label", {}, t("common.signal"), select(measurements.map((s) => [s.path, s.name]), signal.path, go, t("common.signal"))),
      h("label", {}, t("spc.chart"), select([["xbar_r", t("spc.xbar_r")], ["xbar_s", t("spc.xbar_s")], ["imr", t("spc.imr")]],
        form.chart, (v) => { form.chart = v; refresh(); }, t("spc.chart"))),
      form.chart === "imr" ? null : h("label", {}, t("spc.n"), nInput),
      h("label", {}, t("spc.subgroups"), countBox),
      h("label", {}, t("spc.rules"), select([["western_electric", t("spc.western_electric")], ["nelson", t("spc.nelson")]],
        form.rules, (v) => { form.rules = v; refresh(); }, t("spc.rules"))),
      h("label", {}, t("spc.lsl"), num_input("lsl")),
      h("label", {}, t("spc.usl"), num_input("usl"))),
    h("div", { class: "toolbar" }, rangeButtons(span, (s) => { span = s; refresh(); }),
      h("span", { class: "hint" }, t("spc.running_only"))));

  const now = Date.now();
  let body;
  try {
    body = await get("spc", {
      signal: signal.path, start: iso(now - span), end: iso(now), chart: form.chart,
      n: form.n, subgroups: form.subgroups, rules: form.rules, lsl: form.lsl, usl: form.usl,
    });
  } catch (err) {
    root.append(h("div", { class: "error" }, t("error.load", { reason: err.message })));
    return null;
  }
  // What the automatic choice came to, where the field is left empty.
  nInput.placeholder = `${t("spc.auto")}: ${body.subgroup_size}`;
  if (body.subgroups) countBox.placeholder = `${t("spc.auto")}: ${body.subgroups}`;
  if (!body.charts.length) {
    root.append(tooFew(body, refresh));
    return null;
  }
  const labels = { ucl: t("spc.ucl"), cl: t("spc.cl"), lcl: t("spc.lcl") };
  const charts = [];
  const panel = h("section", { class: "panel" }, h("h2", {}, t("spc.chart_title", { n: body.subgroups, size: body.subgroup_size, points: num(body.points_used, 0) })));
  root.append(panel);
  for (const c of body.charts) {
    const box = h("div", { class: "chart", dataset: { statistic: c.statistic, violations: String(Object.values(c.violations).flat().length), beyond: String(c.beyond_limits.length) } });
    panel.append(box);
    const chart = new ControlChart(box, { labels });
    chart.setChart(c, t(`spc.stat.${c.statistic}`));
    charts.push(chart);
  }
  // Violations, rule by rule, for both charts; long lists name the first points only.
  const points = (idx) => idx.slice(0, 12).map((i) => i + 1).join(", ")
    + (idx.length > 12 ? ` … ${t("spc.points_total", { n: idx.length })}` : "");
  const items = [];
  for (const c of body.charts) {
    if (c.beyond_limits.length) items.push(h("li", {}, t("spc.beyond", { stat: t(`spc.stat.${c.statistic}`), points: points(c.beyond_limits) })));
    for (const [rule, idx] of Object.entries(c.violations)) {
      if (idx.length) items.push(h("li", {}, t("spc.violation", { stat: t(`spc.stat.${c.statistic}`), rule: t(`spc.rule.${body.rules}.${rule}`), points: points(idx) })));
    }
  }
  const cap = body.capability;
  const capBox = cap
    ? h("div", { class: "kpis capability" }, ["cp", "cpk", "pp", "ppk"].map((k) =>
      h("div", { class: "kpi" }, h("div", { class: "label" }, t(`spc.${k}`)),
        h("div", { class: `value${cap[k] !== null && cap[k] < 1.33 ? " bad" : ""}` }, num(cap[k], 2)))),
      h("div", { class: "kpi" }, h("div", { class: "label" }, t("spc.mean")), h("div", { class: "value" }, num(cap.mean, 3))),
      h("div", { class: "kpi" }, h("div", { class: "label" }, t("spc.sigma_within")), h("div", { class: "value" }, num(cap.sigma_within, 3))),
      h("div", { class: "kpi" }, h("div", { class: "label" }, t("spc.sigma_overall")), h("div", { class: "value" }, num(cap.sigma_overall, 3))))
    : h("div", { class: "muted" }, body.capability_error || t("spc.no_limits"));
  root.append(h("div", { class: "grid-2" },
    h("section", { class: "panel" }, h("h2", {}, t("spc.violations")),
      items.length ? h("ul", { class: "violations" }, items) : h("div", { class: "muted" }, t("spc.in_control"))),
    h("section", { class: "panel" }, h("h2", {}, t("spc.capability")), capBox)));
  return () => charts.forEach((c) => c.destroy());
}

// Too few values for the chart: say how many there are and how many it needs, and offer what
// would make a chart (a longer range, smaller subgroups, individuals) as one click each.
function tooFew(body, refresh) {
  const remedies = [];
  const longer = RANGES.find(([, s]) => s > span);
  if (longer) remedies.push([t("spc.try_range", { range: t(longer[0]) }), () => { span = longer[1]; }]);
  // The largest subgroups that the values fill ten times over, if smaller ones help at all.
  const fits = Math.min(body.subgroup_size - 1, Math.floor(body.points_used * body.subgroup_size / body.points_needed));
  if (body.chart !== "imr" && fits >= 2) {
    remedies.push([t("spc.try_size", { size: fits }), () => { form.n = String(fits); }]);
  }
  if (body.chart !== "imr") remedies.push([t("spc.try_imr"), () => { form.chart = "imr"; }]);
  return h("section", { class: "panel too-few", role: "status" },
    h("h2", {}, t("spc.title")),
    h("p", {}, t("spc.too_few", {
      points: num(body.points_used, 0), needed: num(body.points_needed, 0),
      min: num(body.points_needed / body.subgroup_size, 0), size: body.subgroup_size,
    })),
    remedies.length ? h("div", { class: "toolbar" }, h("span", {}, t("spc.too_few_what")),
      remedies.map(([text, apply]) => h("button", { onclick: () => { apply(); refresh(); } }, text)))
      : null);
}
