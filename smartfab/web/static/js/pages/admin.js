// Administration (#/admin/<section>): connectors, setpoints, export and lineage for everyone who
// reads the plant; users, API tokens, the audit log and retention for admins. A section shows
// only with the permission its routes need, and its controls that change things only with the
// permission those need (the server refuses them without it anyway). A last tab leads to the plant
// model's page.

import { h } from "../dom.js";
import { t } from "../i18n.js";
import { whoAmI } from "../session.js";
import * as connectors from "./admin/connectors.js";
import * as setpoints from "./admin/setpoints.js";
import * as exporting from "./admin/export.js";
import * as lineage from "./admin/lineage.js";
import * as users from "./admin/users.js";
import * as tokens from "./admin/tokens.js";
import * as audit from "./admin/audit.js";
import * as retention from "./admin/retention.js";

// section -> [module, the permission that shows it]
export const SECTIONS = {
  connectors: [connectors, "plant.read"],
  setpoints: [setpoints, "plant.read"],
  export: [exporting, "plant.read"],
  lineage: [lineage, "plant.read"],
  users: [users, "users.manage"],
  tokens: [tokens, "tokens.manage"],
  audit: [audit, "security.read"],
  retention: [retention, "retention.manage"],
};

export async function render(root, route, plant, refresh) {
  const [name, ...rest] = route.path.split("/");
  const me = await whoAmI();
  const can = (permission) => me.permissions.includes(permission);
  const allowed = Object.keys(SECTIONS).filter((s) => can(SECTIONS[s][1]));
  const section = name in SECTIONS ? name : allowed[0];
  root.append(
    h("div", { class: "page-head" }, h("h1", {}, t("nav.admin"))),
    h("nav", { class: "tabs", role: "tablist" }, [
      ...allowed.map((s) =>
        h("a", { href: `#/admin/${s}`, role: "tab", class: s === section ? "active" : "",
          "aria-selected": String(s === section), dataset: { section: s } }, t(`admin.tab.${s}`))),
      // The plant model (assets, signals, alarm rules, commissioning) is a page of its own.
      h("a", { href: "#/plant", role: "tab", "aria-selected": "false", dataset: { section: "plant" } }, t("nav.plant")),
    ]));
  const body = h("div", { class: "admin-section", dataset: { section } });
  root.append(body);
  if (!allowed.includes(section)) {
    body.append(h("div", { class: "error not-permitted" }, t("admin.not_permitted")));
    return null;
  }
  return SECTIONS[section][0].render(body, { path: rest.join("/"), me, can, plant, refresh });
}
