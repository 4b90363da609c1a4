// Lineage (#/admin/lineage/<asset>): where each stored series comes from — the connection and
// device (endpoint and address within it, as the plant file binds the signal) — and its first and
// last stored point, for the signals at or below an asset.

import { get } from "../../api.js";
import { cardTable, h, num } from "../../dom.js";
import { t } from "../../i18n.js";
import { inScope } from "../../session.js";
import { assetList, field, when } from "./common.js";

function lineageTable(list, under) {
  if (!list.length) return h("div", { class: "muted" }, t("admin.lineage.none"));
  const cut = under ? under.length + 1 : 0; // paths shown below the asset chosen
  return cardTable("lineage", ["common.signal", "admin.lineage.role", "admin.lineage.connection", "admin.lineage.endpoint",
    "admin.lineage.address", "admin.lineage.first", "admin.lineage.last"],
  list.map((r) => h("tr", { dataset: { path: r.path } },
    h("td", { class: "card-wide", translate: "no", title: r.path }, r.path.slice(cut) || r.path),
    h("td", { translate: "no" }, r.role),
    h("td", { translate: "no" }, r.connection ? `${r.protocol}:${r.connection}` : r.source),
    h("td", { translate: "no" }, r.endpoint || "–"),
    h("td", { translate: "no" }, r.address || "–"),
    h("td", { class: "num time" }, when(r.first_seen)),
    h("td", { class: "num time" }, when(r.last_seen)))), { below: 1100 });
}

export async function render(root, { path, plant }) {
  const { under } = await inScope(path ? { under: path } : {});
  const list = await get("lineage", { under });
  const input = h("input", { type: "text", name: "under", value: under || "", list: "admin-assets", autocomplete: "off", translate: "no", placeholder: t("admin.whole_plant") });
  const form = h("form", { class: "toolbar filters" }, field("admin.lineage.under", input), h("button", { type: "submit" }, t("admin.audit.show")));
  form.addEventListener("submit", (e) => { e.preventDefault(); location.hash = `#/admin/lineage/${input.value.trim().replace(/^\/+|\/+$/g, "")}`; });
  root.append(assetList(plant, "admin-assets"),
    h("section", { class: "panel" }, h("h2", {}, t("admin.tab.lineage")), h("p", { class: "hint" }, t("admin.lineage.hint")), form,
      h("div", { class: "hint count" }, t("admin.lineage.count", { n: num(list.length, 0) })), lineageTable(list, under)));
  root.dataset.loaded = "true";
  return null;
}
