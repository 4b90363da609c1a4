// National industry insights (#/transformation/insights): manufactures exports as a share of
// merchandise exports (2002-2023) and high-technology exports as a share of manufactured exports
// (2007-2022) of the major economies, the SCO members or any countries of the data; China's GDP
// and industry value added; the source article's figures beside the data's, a discrepancy flagged
// with both values and the data's vintage; the series as CSV or XLSX. The data are the server's
// econ folder (the insights_data setting): without it the page says how to give it.

import { get } from "../../api.js";
import { LineChart } from "../../charts/lines.js";
import { h, num, pct } from "../../dom.js";
import { locale, t } from "../../i18n.js";
import { card, downloadLink, local, put } from "./common.js";

// The countries shown: a group of the data (major, sco) or ISO3 codes, as the server takes them.
const state = { countries: "major" };

// unit: a word of the page ("%", "trillion yuan") or a text of the data files ({en, zh, ru}).
function value(v, unit) {
  if (v === null || v === undefined) return "–";
  const en = typeof unit === "string" ? unit : unit.en;
  if (en === "%") return pct(v / 100, 2);
  if (en === "trillion yuan") return t("tf.trillion_yuan", { n: num(v, 2) });
  return `${num(v, 2)} ${typeof unit === "string" ? unit : local(unit)}`;
}

function unavailable(root, body) {
  put(root, h("section", { class: "panel", id: "insights-unavailable" },
    h("h2", {}, t("tf.insights_missing_title")),
    h("p", {}, t(body.missing.length ? "tf.insights_missing_files" : "tf.insights_missing", { files: body.missing.join(", ") })),
    h("p", {}, t("tf.insights_how")),
    h("pre", { class: "code", translate: "no" }, `${body.setting}: ../shared/data/econ\n\n${body.variable}=../shared/data/econ smartfab serve`),
    h("p", { class: "hint" }, t("tf.insights_restart"))));
}

/** A country's name in the page's language where the browser knows it, else the data's. */
function namer(body) {
  const data = new Map(body.countries.map((c) => [c.code, c.name]));
  let regions = null;
  try { regions = new Intl.DisplayNames([locale()], { type: "region", fallback: "none" }); } catch { /* an old browser: the data's names */ }
  return (code) => (body.names[code] && local(body.names[code]))
    || (regions && body.regions[code] && regions.of(body.regions[code])) || data.get(code) || code;
}

function chooser(body, refresh) {
  const codes = state.countries in body.groups ? body.groups[state.countries].countries : state.countries.split(",");
  const names = new Map(body.countries.map((c) => [c.code, c.name]));
  const name = namer(body);
  const set = (spec) => { state.countries = spec; refresh(); };
  const list = h("datalist", { id: "country-list" }, body.countries.map((c) => h("option", { value: `${c.code} · ${c.name}` })));
  const add = h("input", { type: "text", id: "add-country", list: "country-list", placeholder: t("tf.add_country"), "aria-label": t("tf.add_country") });
  add.addEventListener("change", () => {
    const code = add.value.trim().slice(0, 3).toUpperCase();
    if (names.has(code) && !codes.includes(code)) set([...codes, code].join(","));
  });
  return h("div", { class: "toolbar country-chooser" },
    h("div", { class: "segmented", role: "group", id: "country-groups" }, Object.entries(body.groups).map(([id, g]) =>
      h("button", { class: state.countries === id ? "active" : "", dataset: { group: id }, onclick: () => set(id) }, local(g.name)))),
    h("div", { class: "chips", id: "chosen" }, codes.map((c) => h("span", { class: "chip", dataset: { country: c } }, name(c),
      codes.length > 1 ? h("button", { type: "button", class: "icon", "aria-label": t("tf.remove"), title: t("tf.remove"),
        onclick: () => set(codes.filter((x) => x !== c).join(",")) }, "×") : null))),
    add, list);
}

function seriesChart(box, data, name, charts) {
  const chart = new LineChart(box, { x: "year", unit: "%", height: 260 });
  chart.setData(data.series.map((s) => ({ name: name(s.code), x: data.years, y: s.values })));
  charts.push(chart);
}

function figuresTable(figures) {
  return h("div", { class: "table-scroll" }, h("table", { class: "data figures", id: "figures" },
    h("tr", {}, ["tf.figure", "tf.year", "tf.article", "tf.data", "tf.difference", "tf.check", "tf.vintage"]
      .map((k, i) => h("th", { class: i && i < 5 ? "num" : "" }, t(k)))),
    figures.map((f) => h("tr", { dataset: { agrees: String(f.agrees) }, class: f.agrees ? "" : "discrepancy" },
      h("td", {}, local(f.title), h("div", { class: "hint" }, f.country)),
      h("td", { class: "num" }, String(f.year)),
      h("td", { class: "num" }, value(f.article, f.unit)),
      h("td", { class: "num" }, value(f.data, f.unit)),
      h("td", { class: "num" }, f.difference === null ? "–" : num(f.difference, 2)),
      h("td", {}, f.agrees ? h("span", { class: "agrees" }, t("tf.agrees")) : h("span", { class: "flag" }, t("tf.discrepancy"))),
      h("td", { class: "hint vintage" }, f.wdi ? t("tf.wdi_source", { indicator: f.wdi.indicator, vintage: f.wdi.updated }) : f.vintage)))));
}

export async function render(root, { refresh }) {
  const body = await get("transformation/insights", { countries: state.countries }).catch((err) => {
    if (state.countries === "major" || err.status !== 422) throw err;
    state.countries = "major";  // a country the data lack: back to the major economies
    return get("transformation/insights", { countries: state.countries });
  });
  if (!body.available) {
    unavailable(root, body);
    root.dataset.loaded = "true";
    return null;
  }
  const charts = [];
  const manufacturesBox = h("div", { class: "chart", id: "manufactures" });
  const techBox = h("div", { class: "chart", id: "high-tech" });
  const chosen = body.manufactures.series.map((s) => s.code);
  const withoutTech = chosen.filter((c) => !body.high_tech.series.some((s) => s.code === c));
  const china = body.china;
  const changed = Object.entries(body.published).filter(([, ok]) => !ok).map(([name]) => name);
  const discrepancies = body.figures.filter((f) => !f.agrees).length;
  const spec = encodeURIComponent(state.countries);
  put(root,
    chooser(body, refresh),
    h("div", { class: "toolbar" },
      downloadLink(`api/transformation/insights/export?countries=${spec}&format=csv`, t("tf.export_csv"), "export-csv"),
      downloadLink(`api/transformation/insights/export?countries=${spec}&format=xlsx`, t("tf.export_xlsx"), "export-xlsx")),
    changed.length ? h("div", { class: "error" }, t("tf.not_published", { files: changed.join(", ") })) : null,
    h("div", { class: "twin-grid" },
      h("section", { class: "panel" }, h("h2", {}, t("tf.manufactures")), manufacturesBox,
        h("div", { class: "hint" }, t("tf.wdi_source", { indicator: body.manufactures.indicator, vintage: body.manufactures.vintage }))),
      h("section", { class: "panel" }, h("h2", {}, t("tf.high_tech")),
        body.high_tech.series.length ? techBox : h("div", { class: "muted" }, t("tf.no_high_tech")),
        withoutTech.length && body.high_tech.series.length ? h("div", { class: "hint", id: "without-tech" }, t("tf.without_high_tech", { n: withoutTech.length })) : null,
        h("div", { class: "hint" }, t("tf.wdi_source", { indicator: body.high_tech.indicator, vintage: body.high_tech.vintage })))),
    h("section", { class: "panel", id: "china" }, h("h2", {}, t("tf.china_accounts", { year: china.year })),
      h("div", { class: "kpis" },
        card(t("tf.gdp"), value(china.gdp, "trillion yuan")),
        card(t("tf.industry_va"), value(china.industry_value_added, "trillion yuan")),
        card(t("tf.industry_share"), value(china.industry_share_of_gdp, "%")),
        card(t("tf.secondary_va"), value(china.secondary_industry_value_added, "trillion yuan"))),
      h("div", { class: "hint" }, china.source, " · ", china.urls.flatMap((u, i) => [i ? ", " : "", h("a", { href: u, target: "_blank", rel: "noreferrer" }, new URL(u).host)]))),
    h("section", { class: "panel" }, h("h2", {}, t("tf.article_figures")),
      h("div", { class: discrepancies ? "hint flagged" : "hint", id: "discrepancy-count" }, t("tf.discrepancies", { n: discrepancies, total: body.figures.length })),
      figuresTable(body.figures)));
  const name = namer(body);
  seriesChart(manufacturesBox, body.manufactures, name, charts);
  if (body.high_tech.series.length) seriesChart(techBox, body.high_tech, name, charts);
  root.dataset.loaded = "true";
  return () => charts.forEach((c) => c.destroy());
}
