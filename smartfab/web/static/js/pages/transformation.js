// Digital transformation (#/transformation/<section>): the maturity self-assessment, the
// transformation KPIs against the national targets, the investment and subsidy planner, the
// sovereignty report and the national insights, one section at a time under a row of tabs.
// Everyone with transformation.read sees every section; edit controls (answers, recording,
// projects) appear only with transformation.edit, and the server refuses them without it anyway.

import { h } from "../dom.js";
import { t } from "../i18n.js";
import { whoAmI } from "../session.js";
import * as maturity from "./transformation/maturity.js";
import * as kpis from "./transformation/kpis.js";
import * as planner from "./transformation/planner.js";
import * as sovereignty from "./transformation/sovereignty.js";
import * as insights from "./transformation/insights.js";

const SECTIONS = { maturity, kpis, planner, sovereignty, insights };

export async function render(root, route, plant, refresh) {
  const [name, ...rest] = route.path.split("/");
  const section = name in SECTIONS ? name : "maturity";
  const me = await whoAmI();
  root.append(
    h("div", { class: "page-head" }, h("h1", {}, t("nav.transformation"))),
    h("nav", { class: "tabs", role: "tablist" }, Object.keys(SECTIONS).map((s) =>
      h("a", { href: `#/transformation/${s}`, role: "tab", class: s === section ? "active" : "",
        "aria-selected": String(s === section), dataset: { section: s } }, t(`tf.tab.${s}`)))));
  const body = h("div", { class: "tf-section", dataset: { section } });
  root.append(body);
  const canEdit = me.permissions.includes("transformation.edit");
  return SECTIONS[section].render(body, { path: rest.join("/"), canEdit, me, refresh, plant });
}
