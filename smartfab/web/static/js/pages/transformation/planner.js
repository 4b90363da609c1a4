// Investment and subsidy planner (#/transformation/planner[/<project id>]): the plant's
// transformation projects, each with the subsidy every rule of its programme pays, NPV, IRR and
// payback without and with the subsidies, and their sensitivity to the benefit estimate; an editor
// for projects (transformation.edit), whose benefits may rest on a gain the platform measures
// (an asset's OEE, energy per good part, scrap or downtime before and after a change, priced with
// the plant file's prices); the subsidy programmes as rules; and the summary for a bank or a
// ministry as PDF or XLSX.

import { get, send } from "../../api.js";
import { cssVar } from "../../charts/core.js";
import { LineChart } from "../../charts/lines.js";
import { h, num, pct } from "../../dom.js";
import { currentLanguage, locale, t } from "../../i18n.js";
import { card, compact, downloadLink, local, money, put, readOnlyHint } from "./common.js";

const TYPES = ["digital_workshop", "smart_factory", "equipment", "software", "other"];
const STATUSES = ["none", "city", "provincial", "national"];
const ITEM_KINDS = ["hardware", "software", "services"];
const BENEFIT_KINDS = ["oee", "energy", "scrap", "downtime", "labour", "other"];
const GAINS = ["oee", "energy", "scrap", "downtime"];  // the benefits the platform can measure
const ASSET_LEVELS = new Set(["site", "area", "line", "cell", "equipment"]);
// A figure within this of the measured one is the measured one (as the server reads it).
const SAME = 0.5;
// The project being edited (null: none) survives a re-render, as does the one looked at.
const state = { editing: null, selected: null };

function years(v) { return v === null || v === undefined ? t("tf.never") : t("tf.years", { n: num(v, 1) }); }
function rate(v) { return v === null || v === undefined ? "–" : pct(v, 1); }

function ruleText(rule, currency) {
  const types = rule.project_types ? ` (${rule.project_types.map((x) => t(`tf.type.${x}`)).join(", ")})` : "";
  if (rule.basis === "award") {
    return Object.entries(rule.awards).map(([s, a]) => `${t(`tf.status.${s}`)} ${money(a, currency)}`).join(" / ") + types;
  }
  const vars = { rate: pct(rule.rate, 0), basis: t(`tf.basis.${rule.basis}`), cap: money(rule.cap, currency) };
  return t(rule.cap ? "tf.rule_rate_cap" : "tf.rule_rate", vars) + types;
}

function programmesPanel(programmes) {
  return h("section", { class: "panel", id: "programmes" }, h("h2", {}, t("tf.programmes")),
    programmes.map((p) => h("div", { class: "programme", dataset: { programme: p.id } },
      h("h3", {}, local(p.name), " ", h("span", { class: "muted" }, p.currency)),
      h("ul", {}, p.rules.map((r) => h("li", { dataset: { rule: r.id } }, h("strong", {}, local(r.name)), ": ", ruleText(r, p.currency)))),
      h("div", { class: "hint" }, local(p.source)))));
}

function currencyOf(project, programmes) {
  const measured = project.benefits.map((b) => b.measured?.result?.currency).find(Boolean);
  return programmes.find((p) => p.id === project.programme)?.currency || measured || "CNY";
}

// --- measured gains ---------------------------------------------------------------------------

/** An indicator's value: a share, or kWh per good part for energy. */
function indicator(gain, v) {
  return gain === "energy" ? t("tf.kwh_per_part", { n: num(v, 3) }) : pct(v, 1);
}

/** A time to the minute, in the browser's time zone and the page's language. */
function minute(iso) {
  return new Intl.DateTimeFormat(locale(), { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false })
    .format(new Date(iso));
}

/** A period as people read it. */
function period(p) { return `${minute(p.start)} – ${minute(p.end)}`; }

/** What was measured, in words: the indicator before and after, the gain a year and its worth. */
function measuredText(m, currency, pathTitle) {
  const r = m.result;
  const qty = t(`tf.qty.${r.unit}`, { n: num(r.quantity, 0).replace("-", "\u2212") });
  return [
    h("div", { class: "gain-line" }, h("strong", {}, t(`tf.gain.${m.gain}`)), ` · ${pathTitle(m.path)}: `,
      h("span", { class: "num" }, indicator(m.gain, r.before)), " → ", h("span", { class: "num" }, indicator(m.gain, r.after))),
    h("div", { class: "gain-line" }, r.annual === null
      ? t("tf.measured_no_price", { quantity: qty, field: r.price_from })
      : t("tf.measured_year", { quantity: qty, price: t(`tf.price_per.${r.unit}`, { price: money4(r.price, r.currency || currency) }), amount: money(r.annual, r.currency || currency) })),
    h("div", { class: "hint" }, t("tf.measured_periods", { before: period(m.before), after: period(m.after) }), " · ",
      t("tf.measured_source", { at: minute(r.measured_at), field: r.price_from })),
  ];
}

/** A price, with the decimals a kWh price needs. */
function money4(v, currency) {
  if (Math.abs(v) >= 100) return money(v, currency);
  return new Intl.NumberFormat(locale(), { style: "currency", currency, currencyDisplay: "code", maximumFractionDigits: 4 }).format(v);
}

/** The plant's assets a gain can be measured on: site, areas, lines, cells and equipment. */
function assetOptions(plant) {
  const out = [];
  const walk = (node, depth) => {
    if (!ASSET_LEVELS.has(node.level)) return;
    out.push([node.path, `${"\u2003".repeat(depth)}${node.title || node.name}`]);
    node.children.forEach((c) => walk(c, depth + 1));
  };
  if (plant) walk(plant.tree, 0);
  return out;
}

function pathTitleOf(plant) {
  const titles = new Map(assetOptions(plant).map(([path, text]) => [path, text.trim()]));
  return (path) => titles.get(path) || path;
}

// datetime-local inputs hold the browser's local time; the server reads ISO 8601.
function toLocalInput(iso) {
  const d = new Date(iso);
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}
function fromLocalInput(v) { return v ? new Date(v).toISOString() : null; }

/** The form that measures a benefit's gain: asset, gain and periods (empty: the server proposes
 * the newest data halved), then the result, which fills the benefit. */
function measureForm(b, plant, done) {
  const m = b.measured;
  const gain = select(m?.gain ?? (GAINS.includes(b.kind) ? b.kind : "oee"), GAINS.map((g) => [g, t(`tf.gain.${g}`)]), t("tf.gain_label"), () => {});
  gain.classList.add("gain");
  const options = assetOptions(plant);
  // The first line by default: a whole site mixes presses of seconds with machining of minutes.
  const firstLine = plant?.lines[0]?.path;
  const asset = select(m?.path ?? firstLine ?? options[0]?.[0] ?? "", options, t("tf.asset"), () => {});
  asset.classList.add("asset");
  const times = {};
  const timeInput = (key, value) => {
    times[key] = h("input", { type: "datetime-local", class: key.replace("_", "-"), value: value ? toLocalInput(value) : "", "aria-label": t(`tf.${key}`) });
    return times[key];
  };
  const problem = h("div", { class: "error", hidden: true });
  const go = h("button", { type: "button", class: "primary measure-go" }, t("tf.measure"));
  go.addEventListener("click", async () => {
    problem.hidden = true;
    const given = Object.fromEntries(Object.entries(times).map(([k, el]) => [k, fromLocalInput(el.value)]));
    const params = { gain: gain.value, path: asset.value };
    if (Object.values(given).some((v) => v)) Object.assign(params, given);
    go.disabled = true;
    go.textContent = t("tf.measuring");
    try {
      done(await get("transformation/gains", params));
    } catch (err) {
      problem.hidden = false;
      problem.textContent = t("error.action", { reason: err.message });
      go.disabled = false;
      go.textContent = t("tf.measure");
    }
  });
  const field = (label, ...controls) => h("label", {}, h("span", {}, label), ...controls);
  return h("div", { class: "measure-form" },
    h("div", { class: "hint" }, t("tf.measure_hint")),
    h("div", { class: "measure-fields" },
      field(t("tf.gain_label"), gain), field(t("tf.asset"), asset),
      h("fieldset", {}, h("legend", {}, t("tf.before_period")),
        timeInput("before_start", m?.before.start), timeInput("before_end", m?.before.end)),
      h("fieldset", {}, h("legend", {}, t("tf.after_period")),
        timeInput("after_start", m?.after.start), timeInput("after_end", m?.after.end))),
    h("div", { class: "toolbar" }, go), problem);
}

function projectsTable(appraisals, programmes, selected, pick) {
  if (!appraisals.length) return h("div", { class: "muted", id: "no-projects" }, t("tf.no_projects"));
  const both = (a, b, f) => h("span", {}, f(a), h("span", { class: "muted" }, " → "), f(b));
  return h("div", { class: "table-scroll" }, h("table", { class: "data projects", id: "projects" },
    h("tr", {}, ["tf.project", "tf.programme", "tf.cost", "tf.subsidy", "tf.npv", "tf.irr", "tf.payback"]
      .map((k, i) => h("th", { class: i > 1 ? "num" : "" }, t(k)))),
    appraisals.map((a) => {
      const p = a.project, c = currencyOf(p, programmes);
      const prog = programmes.find((x) => x.id === p.programme);
      return h("tr", { class: `clickable${p.id === selected ? " selected" : ""}`, dataset: { project: p.id }, onclick: () => pick(p.id) },
        h("td", {}, h("strong", {}, p.name), h("div", { class: "hint" }, t(`tf.type.${p.type}`))),
        h("td", {}, prog ? local(prog.name) : "–"),
        h("td", { class: "num" }, money(a.cost, c)),
        h("td", { class: "num subsidy" }, money(a.subsidy, c)),
        h("td", { class: "num npv" }, both(a.without.npv, a.with.npv, (v) => money(v, c))),
        h("td", { class: "num" }, both(a.without.irr, a.with.irr, rate)),
        h("td", { class: "num" }, both(a.without.payback_years, a.with.payback_years, years)));
    })));
}

function benefitItem(b, shown, c, pathTitle) {
  return h("li", { dataset: { benefit: b.name, measured: String(Boolean(b.measured)), overridden: String(shown.overridden) } },
    `${b.name} · ${t(`tf.benefit.${b.kind}`)} · ${t("tf.per_year", { amount: money(b.annual, c) })}`,
    shown.overridden ? h("span", { class: "flag wrap" }, t("tf.overridden", { amount: money(shown.measured, c) })) : null,
    b.measured?.result ? h("div", { class: "measured" }, measuredText(b.measured, c, pathTitle)) : null,
    b.basis ? h("div", { class: "hint" }, b.basis) : null);
}

function detail(a, programmes, plant, charts, canEdit, edit, remove) {
  const p = a.project, c = currencyOf(p, programmes);
  const pathTitle = pathTitleOf(plant);
  const m = a.at_measured;
  const sensBox = h("div", { class: "chart", id: "sensitivity" });
  const el = h("section", { class: "panel", id: "project-detail", dataset: { project: p.id } },
    h("div", { class: "detail-head" }, h("h2", {}, p.name),
      canEdit ? h("button", { id: "edit-project", onclick: edit }, t("tf.edit")) : null,
      canEdit ? h("button", { id: "delete-project", onclick: remove }, t("tf.delete")) : null),
    h("div", { class: "kpis" },
      card(t("tf.cost"), money(a.cost, c)),
      card(t("tf.subsidy"), money(a.subsidy, c), { id: "subsidy-total" }),
      card(t("tf.annual_benefit"), money(a.annual_benefit, c)),
      card(t("tf.npv_without"), money(a.without.npv, c), { id: "npv-without" }),
      card(t("tf.npv_with"), money(a.with.npv, c), { id: "npv-with" }),
      card(t("tf.irr_without"), rate(a.without.irr)), card(t("tf.irr_with"), rate(a.with.irr)),
      card(t("tf.payback_without"), years(a.without.payback_years)), card(t("tf.payback_with"), years(a.with.payback_years))),
    h("div", { class: "hint" }, t("tf.finance_hint", { rate: pct(p.discount_rate, 1), years: p.years, start: p.start, subsidy_year: p.subsidy_year })),
    m ? h("div", { class: "at-measured", id: "at-measured" }, h("h3", {}, t("tf.at_measured")),
      h("div", { class: "kpis" },
        card(t("tf.annual_benefit"), money(m.annual_benefit, c)),
        card(t("tf.npv_without"), money(m.without.npv, c), { id: "npv-measured-without" }),
        card(t("tf.npv_with"), money(m.with.npv, c), { id: "npv-measured-with" }),
        card(t("tf.irr_with"), rate(m.with.irr)), card(t("tf.payback_with"), years(m.with.payback_years)))) : null,
    a.warnings.length ? h("ul", { class: "warnings", id: "benefit-warnings" }, a.warnings.map((w) =>
      h("li", { dataset: { code: w.code } }, t(`tf.warning.${w.code}`, { a: w.benefits[0], b: w.benefits[1], asset: pathTitle(w.path) })))) : null,
    h("div", { class: "twin-grid" },
      h("div", {},
        h("h3", {}, t("tf.subsidies")),
        a.subsidies.length ? h("div", { class: "table-scroll" }, h("table", { class: "data", id: "subsidies" },
          h("tr", {}, ["tf.rule", "tf.basis_amount", "tf.rate", "tf.amount"].map((k, i) => h("th", { class: i ? "num" : "" }, t(k)))),
          a.subsidies.map((g) => h("tr", { dataset: { rule: g.rule } },
            h("td", {}, local(g.name), g.capped ? h("span", { class: "flag" }, t("tf.capped")) : null,
              g.status ? h("span", { class: "muted" }, ` (${t(`tf.status.${g.status}`)})`) : null),
            h("td", { class: "num" }, g.rate === null ? "–" : money(g.basis, c)),
            h("td", { class: "num" }, g.rate === null ? t("tf.award") : pct(g.rate, 0)),
            h("td", { class: "num" }, money(g.amount, c))))))
          : h("div", { class: "muted" }, p.programme ? t("tf.no_subsidy") : t("tf.no_programme")),
        h("h3", {}, t("tf.flows")),
        h("div", { class: "table-scroll" }, h("table", { class: "data flows" },
          h("tr", {}, ["tf.year", "tf.flow_without", "tf.flow_with"].map((k, i) => h("th", { class: i ? "num" : "" }, t(k)))),
          a.without.flows.map((f, i) => h("tr", {},
            h("td", {}, `${p.start + i} (${i})`), h("td", { class: "num" }, money(f, c)), h("td", { class: "num" }, money(a.with.flows[i], c))))))),
      h("div", {},
        h("h3", {}, t("tf.sensitivity")), sensBox,
        h("div", { class: "table-scroll" }, h("table", { class: "data sensitivity" },
          h("tr", {}, ["tf.benefit_factor", "tf.npv_without", "tf.npv_with", "tf.irr_with"].map((k, i) => h("th", { class: i ? "num" : "" }, t(k)))),
          a.sensitivity.map((s) => h("tr", {},
            h("td", {}, pct(s.factor, 0)), h("td", { class: "num" }, money(s.without.npv, c)),
            h("td", { class: "num" }, money(s.with.npv, c)), h("td", { class: "num" }, rate(s.with.irr)))))))),
    h("h3", {}, t("tf.items")),
    h("ul", { class: "plain" }, p.items.map((i) => h("li", {}, `${i.name} · ${t(`tf.kind.${i.kind}`)} · ${money(i.amount, c)} · ${t("tf.in_year", { n: i.year })}`,
      i.qualifying ? null : h("span", { class: "muted" }, ` (${t("tf.not_qualifying")})`)))),
    h("h3", {}, t("tf.benefits")),
    p.benefits.length ? h("ul", { class: "plain benefits", id: "benefits" }, p.benefits.map((b, i) => benefitItem(b, a.benefits[i], c, pathTitle)))
      : h("div", { class: "muted" }, t("tf.no_benefits")));
  const chart = new LineChart(sensBox, { x: "number", xText: (v) => pct(v, 0), yText: (v) => compact(v), height: 220 });
  const factors = a.sensitivity.map((s) => s.factor);
  chart.setData([
    { name: t("tf.npv_without"), x: factors, y: a.sensitivity.map((s) => s.without.npv), color: cssVar("--chart-axis"), dots: true },
    { name: t("tf.npv_with"), x: factors, y: a.sensitivity.map((s) => s.with.npv), color: cssVar("--accent"), dots: true },
  ], [{ y: 0, color: cssVar("--chart-text") }]);
  charts.push(chart);
  return el;
}

function blank(n) {
  return {
    id: `project-${n}`, name: "", type: "smart_factory", programme: null, demonstration: "none", start: new Date().getFullYear(),
    years: 5, discount_rate: 0.08, subsidy_year: 1, items: [{ name: "", kind: "hardware", amount: null, qualifying: true, year: 0 }], benefits: [],
  };
}

function input(value, attrs, set) {
  const el = h("input", { value: value ?? "", ...attrs });
  el.addEventListener("input", () => set(attrs.type === "number" ? (el.value === "" ? null : Number(el.value)) : el.value));
  return el;
}

function select(value, options, label, set) {
  const el = h("select", { "aria-label": label }, options.map(([v, text]) => h("option", { value: v }, text)));
  el.value = value ?? "";
  el.addEventListener("change", () => set(el.value));
  return el;
}

/** Whether the manager's figure replaces the measured one (which then needs a reason). */
function overrides(b) {
  const m = b.measured?.result?.annual;
  return m !== null && m !== undefined && b.annual !== null && b.annual !== undefined && Math.abs(b.annual - m) > SAME;
}

function editor(p, isNew, programmes, plant, save, cancel) {
  const field = (label, control) => h("label", {}, h("span", {}, label), control);
  const problems = h("div", { class: "error", id: "project-problems", hidden: true });
  const items = h("div", { class: "rows" }), benefits = h("div", { class: "rows" });
  const drawItems = () => items.replaceChildren(...p.items.map((it, i) => h("div", { class: "row item-row" },
    input(it.name, { type: "text", class: "name", "aria-label": t("tf.item_name"), placeholder: t("tf.item_name") }, (v) => { it.name = v; }),
    select(it.kind, ITEM_KINDS.map((k) => [k, t(`tf.kind.${k}`)]), t("tf.kind_label"), (v) => { it.kind = v; }),
    input(it.amount, { type: "number", class: "amount", min: "0", step: "any", "aria-label": t("tf.amount"), placeholder: t("tf.amount") }, (v) => { it.amount = v; }),
    field(t("tf.paid_in_year"), input(it.year, { type: "number", class: "year", min: "0", max: "30", step: "1" }, (v) => { it.year = v ?? 0; })),
    h("label", { class: "check" }, (() => {
      const box = h("input", { type: "checkbox", checked: it.qualifying });
      box.addEventListener("change", () => { it.qualifying = box.checked; });
      return box;
    })(), t("tf.qualifying")),
    p.items.length > 1 ? h("button", { type: "button", class: "icon", "aria-label": t("tf.remove"), title: t("tf.remove"), onclick: () => { p.items.splice(i, 1); drawItems(); } }, "×") : null)));
  const currency = () => currencyOf(p, programmes);
  const pathTitle = pathTitleOf(plant);
  const measuring = new Set();  // the benefits whose measure form is open
  const drawBenefits = () => benefits.replaceChildren(...p.benefits.map((b, i) => {
    const measured = b.measured?.result?.annual ?? null;
    const override = h("div", { class: "hint override", hidden: true });
    const basis = input(b.basis, { type: "text", class: "basis", "aria-label": t("tf.basis_text"), placeholder: t("tf.basis_hint") }, (v) => { b.basis = v; showOverride(); });
    const showOverride = () => {
      const differs = overrides(b);
      override.hidden = !differs;
      override.textContent = differs ? t("tf.override_hint", { amount: money(measured, currency()) }) : "";
      basis.classList.toggle("needed", differs && !b.basis.trim());
    };
    const kind = select(b.kind, BENEFIT_KINDS.map((k) => [k, t(`tf.benefit.${k}`)]), t("tf.kind_label"), (v) => { b.kind = v; });
    kind.disabled = Boolean(b.measured);  // a measured benefit is of its gain's kind
    const amount = input(b.annual, { type: "number", class: "amount", step: "any", "aria-label": t("tf.annual_benefit"),
      placeholder: measured !== null ? t("tf.measured_placeholder", { amount: money(measured, currency()) }) : t("tf.annual_benefit") },
    (v) => { b.annual = v; showOverride(); });
    showOverride();
    const open = measuring.has(b);
    return h("div", { class: "row benefit-row", dataset: { measured: String(Boolean(b.measured)) } },
      input(b.name, { type: "text", class: "name", "aria-label": t("tf.benefit_name"), placeholder: t("tf.benefit_name") }, (v) => { b.name = v; }),
      kind, amount, basis,
      h("button", { type: "button", class: `measure${open ? " active" : ""}`, "aria-expanded": String(open), onclick: () => {
        if (open) measuring.delete(b); else measuring.add(b);
        drawBenefits();
      } }, t("tf.measure")),
      h("button", { type: "button", class: "icon", "aria-label": t("tf.remove"), title: t("tf.remove"), onclick: () => { p.benefits.splice(i, 1); drawBenefits(); } }, "×"),
      b.measured?.result ? h("div", { class: "measured" }, measuredText(b.measured, currency(), pathTitle),
        h("button", { type: "button", class: "link unmeasure", onclick: () => { b.measured = null; kind.disabled = false; drawBenefits(); } }, t("tf.remove_measure"))) : null,
      override,
      open ? measureForm(b, plant, (found) => {
        b.measured = found;
        b.kind = found.gain;
        b.annual = null;  // the measured figure, until the manager types another
        if (!b.name) b.name = t(`tf.gain_name.${found.gain}`);
        measuring.delete(b);
        drawBenefits();
      }) : null);
  }));
  drawItems();
  drawBenefits();
  const form = h("form", { class: "project-form", id: "project-form" },
    h("div", { class: "fields" },
      field(t("tf.project_id"), input(p.id, { type: "text", id: "project-id", disabled: !isNew, pattern: "[a-z0-9][a-z0-9_\\-]{0,62}" }, (v) => { p.id = v.trim(); })),
      field(t("tf.project_name"), input(p.name, { type: "text", id: "project-name", required: true }, (v) => { p.name = v; })),
      field(t("tf.type_label"), select(p.type, TYPES.map((k) => [k, t(`tf.type.${k}`)]), t("tf.type_label"), (v) => { p.type = v; })),
      field(t("tf.programme"), select(p.programme ?? "", [["", t("tf.no_programme_option")], ...programmes.map((g) => [g.id, local(g.name)])], t("tf.programme"), (v) => { p.programme = v || null; })),
      field(t("tf.demonstration"), select(p.demonstration, STATUSES.map((s) => [s, t(`tf.status.${s}`)]), t("tf.demonstration"), (v) => { p.demonstration = v; })),
      field(t("tf.start_year"), input(p.start, { type: "number", min: "1990", max: "2100", step: "1" }, (v) => { p.start = v; })),
      field(t("tf.benefit_years"), input(p.years, { type: "number", min: "1", max: "30", step: "1" }, (v) => { p.years = v; })),
      field(t("tf.discount_rate"), input(p.discount_rate === null ? null : +(100 * p.discount_rate).toFixed(4), { type: "number", min: "0", max: "100", step: "any" }, (v) => { p.discount_rate = v === null ? null : v / 100; })),
      field(t("tf.subsidy_year"), input(p.subsidy_year, { type: "number", min: "0", max: "30", step: "1" }, (v) => { p.subsidy_year = v; }))),
    h("h3", {}, t("tf.items")), items,
    h("button", { type: "button", id: "add-item", onclick: () => { p.items.push({ name: "", kind: "hardware", amount: null, qualifying: true, year: 0 }); drawItems(); } }, t("tf.add_item")),
    h("h3", {}, t("tf.benefits")), benefits,
    h("button", { type: "button", id: "add-benefit", onclick: () => { p.benefits.push({ name: "", kind: "oee", annual: null, basis: "" }); drawBenefits(); } }, t("tf.add_benefit")),
    h("div", { class: "toolbar save-bar" },
      h("button", { class: "primary", type: "submit", id: "save-project" }, t("tf.save_project")),
      h("button", { type: "button", onclick: cancel }, t("tf.cancel"))),
    problems);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const unexplained = p.benefits.filter((b) => overrides(b) && !b.basis.trim());
    if (unexplained.length) {
      problems.hidden = false;
      problems.textContent = t("tf.override_needs_reason", { names: unexplained.map((b) => b.name).join(", ") });
      drawBenefits();
      return;
    }
    problems.hidden = true;
    try {
      await save(p);
    } catch (err) {
      problems.hidden = false;
      problems.textContent = t("error.action", { reason: err.message });
    }
  });
  return h("section", { class: "panel", id: "project-editor" }, h("h2", {}, t(isNew ? "tf.new_project" : "tf.edit_project")), form);
}

export async function render(root, { path, canEdit, refresh, plant }) {
  const body = await get("transformation/projects");
  const { programmes, projects } = body;
  const charts = [];
  const ids = projects.map((a) => a.project.id);
  const selected = ids.includes(path) ? path : ids.includes(state.selected) ? state.selected : ids[0] ?? null;
  // A new address renders the page (hashchange); the same one needs a refresh.
  const go = (id) => {
    state.selected = id;
    const hash = id ? `#/transformation/planner/${id}` : "#/transformation/planner";
    if (location.hash === hash) refresh(); else location.hash = hash;
  };
  const lang = currentLanguage();
  const startEditing = (p, isNew) => {
    const project = structuredClone(p);
    // A benefit at its measured figure shows that figure as the field's hint, not as a number
    // typed over it.
    for (const b of project.benefits) {
      const m = b.measured?.result?.annual;
      if (m !== null && m !== undefined && Math.abs(b.annual - m) <= SAME) b.annual = null;
    }
    state.editing = { project, isNew };
    refresh();
  };
  put(root,
    h("div", { class: "toolbar" },
      canEdit ? h("button", { id: "new-project", class: "primary", onclick: () => startEditing(blank(projects.length + 1), true) }, t("tf.new_project")) : null,
      h("span", { class: "hint" }, t("tf.summary_hint")),
      downloadLink(`api/transformation/summary?format=pdf&lang=${lang}`, t("tf.summary_pdf"), "summary-pdf"),
      downloadLink(`api/transformation/summary?format=xlsx&lang=${lang}`, t("tf.summary_xlsx"), "summary-xlsx")),
    readOnlyHint(canEdit));
  if (canEdit && state.editing) {
    const { project, isNew } = state.editing;
    put(root, editor(project, isNew, programmes, plant, async (p) => {
      const saved = await send("PUT", `transformation/projects/${encodeURIComponent(p.id)}`, p);
      state.editing = null;
      go(saved.project.id);
    }, () => { state.editing = null; refresh(); }));
  }
  put(root, h("section", { class: "panel" }, h("h2", {}, t("tf.projects")), projectsTable(projects, programmes, selected, go)));
  const a = projects.find((x) => x.project.id === selected);
  if (a) {
    put(root, detail(a, programmes, plant, charts, canEdit, () => startEditing(a.project, false), async () => {
      if (!window.confirm(t("tf.delete_confirm", { name: a.project.name }))) return;
      try {
        await send("DELETE", `transformation/projects/${encodeURIComponent(a.project.id)}`);
      } catch (err) {
        window.alert(t("error.action", { reason: err.message }));
      }
      go(null);
    }));
  }
  put(root, programmesPanel(programmes));
  root.dataset.loaded = "true";
  return () => charts.forEach((c) => c.destroy());
}
