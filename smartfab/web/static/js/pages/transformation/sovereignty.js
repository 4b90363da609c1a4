// Technological sovereignty (#/transformation/sovereignty): what of the plant's digital stack runs
// on the premises and what elsewhere (smartfab, its store, the device connections, the addresses of
// the settings, the plant's software inventory, with each vendor's country), whether this server
// holds any connection beyond this machine right now, and smartfab's software bill of materials
// with each dependency's licence (the CycloneDX file to download).

import { get } from "../../api.js";
import { h, num } from "../../dom.js";
import { locale, t } from "../../i18n.js";
import { card, downloadLink, put } from "./common.js";

function country(code) {
  if (!code) return "–";
  try {
    return new Intl.DisplayNames([locale()], { type: "region" }).of(code) || code;
  } catch {
    return code;
  }
}

function place(where) {
  return h("span", { class: "place", dataset: { where } }, t(`tf.where.${where}`));
}

export async function render(root) {
  const body = await get("transformation/sovereignty");
  const external = body.stack.filter((s) => s.where === "external");
  const out = body.outbound;
  const licences = new Map();
  for (const p of body.packages) {
    const name = p.licence || t("tf.no_licence");
    licences.set(name, (licences.get(name) || 0) + 1);
  }
  const ranked = [...licences.entries()].sort((a, b) => b[1] - a[1]);
  // Bars in the page rather than on a canvas: a licence expression may be long, and wraps.
  const most = ranked.length ? ranked[0][1] : 1;
  const licenceBars = h("div", { class: "bar-list", id: "licences" }, ranked.map(([name, n]) =>
    h("div", { class: "bar-row" }, h("span", { class: "bar-label" }, name),
      h("span", { class: "bar" }, h("i", { style: `width: ${(100 * n) / most}%` })), h("span", { class: "num" }, num(n, 0)))));
  put(root,
    h("div", { class: "kpis" },
      card(t("tf.on_premises"), num(body.stack.length - external.length, 0)),
      card(t("tf.external"), num(external.length, 0), { id: "external-count" }),
      card(t("tf.outbound"), num(out.connections.length, 0), { id: "outbound-count" }),
      card(t("tf.packages"), num(body.packages.length, 0)),
      card(t("tf.without_licence"), num(body.without_licence.length, 0))),
    h("section", { class: "panel", id: "outbound" }, h("h2", {}, t("tf.outbound_check")),
      h("div", { class: out.internet ? "error" : "ok-box", dataset: { internet: String(out.internet) } },
        out.connections.length
          ? t("tf.outbound_found", { n: out.connections.length, internet: out.internet, pid: out.pid })
          : t("tf.outbound_none", { pid: out.pid })),
      out.connections.length ? h("div", { class: "table-scroll" }, h("table", { class: "data" },
        h("tr", {}, ["tf.remote", "tf.port", "tf.status", "tf.internet"].map((k) => h("th", {}, t(k)))),
        out.connections.map((c) => h("tr", {}, h("td", { class: "num" }, c.remote), h("td", { class: "num" }, String(c.port)),
          h("td", {}, c.status), h("td", {}, t(c.internet ? "tf.yes" : "tf.no")))))) : null,
      h("div", { class: "hint" }, t("tf.outbound_hint"))),
    h("section", { class: "panel" }, h("h2", {}, t("tf.stack")),
      h("div", { class: "table-scroll" }, h("table", { class: "data", id: "stack" },
        h("tr", {}, ["tf.part", "tf.runs", "tf.detail", "tf.origin"].map((k) => h("th", {}, t(k)))),
        body.stack.map((s, i) => h("tr", { dataset: { where: s.where } },
          h("td", {}, s.what),
          h("td", {}, place(s.where)),
          // The first part is smartfab itself, described by the page; the rest as found.
          h("td", { class: "muted" }, i === 0 ? t("tf.smartfab_detail") : s.detail),
          h("td", {}, country(s.origin))))))),
    h("section", { class: "panel" },
      h("div", { class: "detail-head" }, h("h2", {}, t("tf.sbom")),
        downloadLink("api/transformation/sbom", t("tf.sbom_download"), "sbom-download")),
      h("div", { class: "hint" }, t("tf.sbom_hint")),
      h("h3", {}, t("tf.licences")), licenceBars,
      h("div", { class: "table-scroll sbom-scroll" }, h("table", { class: "data", id: "sbom" },
        h("tr", {}, ["tf.package", "tf.version", "tf.licence", "tf.dependency"].map((k, i) => h("th", { class: i === 1 ? "num" : "" }, t(k)))),
        body.packages.map((p) => h("tr", { dataset: { package: p.name } },
          h("td", { translate: "no" }, p.name), h("td", { class: "num" }, p.version),
          h("td", { class: p.licence ? "" : "error-text" }, p.licence || t("tf.no_licence")),
          h("td", {}, t(p.direct ? "tf.direct" : "tf.transitive"))))))));
  root.dataset.loaded = "true";
}
