// Retention (#/admin/retention), for admins: how long the points of each signal role are kept
// ("*": every role not named; no days: for ever), what that means for each role the store holds,
// and the policy edited as rules. The store's maintenance deletes older points; events stay.

import { get, send } from "../../api.js";
import { cardTable, h, num } from "../../dom.js";
import { t } from "../../i18n.js";
import { attempt, notice } from "./common.js";

const OTHER = "*";

function days(d) { return d === null || d === undefined ? t("admin.ret.forever") : t("admin.ret.days", { n: num(d, Number.isInteger(d) ? 0 : 1) }); }

function roleName(role) { return role === OTHER ? t("admin.ret.other") : h("span", { translate: "no" }, role); }

function effective(body) {
  return cardTable("retention-roles", ["admin.ret.role", "admin.ret.kept"],
    Object.entries(body.roles).map(([role, d]) => h("tr", { dataset: { role } },
      h("td", {}, roleName(role)), h("td", { class: "kept" }, days(d)))), { below: 320 });
}

function ruleRow(roles, role, d, remove) {
  const pick = h("select", { name: "role" }, [...roles, OTHER].map((r) => h("option", { value: r }, r === OTHER ? t("admin.ret.other") : r)));
  pick.value = role;
  const input = h("input", { type: "number", name: "days", min: "1", max: "36500", step: "any", value: d === null ? "" : String(d), placeholder: t("admin.ret.forever") });
  const row = h("div", { class: "rule" }, pick, input, h("span", { class: "muted" }, t("admin.ret.days_unit")),
    h("button", { type: "button", class: "icon", title: t("admin.ret.remove"), "aria-label": t("admin.ret.remove"), onclick: () => remove(row) }, "×"));
  return row;
}

export async function render(root) {
  const body = await get("retention");
  const roles = Object.keys(body.roles);
  const effectiveBox = h("div", {}, effective(body));
  const rules = h("div", { class: "rules" });
  const remove = (row) => row.remove();
  for (const [role, d] of Object.entries(body.classes)) rules.append(ruleRow(roles, role, d, remove));
  const message = h("div", { class: "form-message" });
  const add = h("button", { type: "button", dataset: { action: "add-rule" }, onclick: () => rules.append(ruleRow(roles, roles.find((r) => !(r in body.classes)) || OTHER, 365, remove)) }, t("admin.ret.add"));
  const form = h("form", { class: "admin-form retention" },
    h("p", { class: "hint" }, t("admin.ret.hint")), rules,
    h("div", { class: "toolbar" }, add, h("button", { class: "primary", type: "submit" }, t("admin.save"))), message);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const classes = {};
    for (const row of rules.children) {
      const value = row.querySelector("input").value;
      classes[row.querySelector("select").value] = value === "" ? null : Number(value);
    }
    let saved = null;
    if (await attempt(message, async () => { saved = await send("PUT", "retention", { classes }); })) {
      effectiveBox.replaceChildren(effective(saved));
      body.classes = saved.classes;
      notice(message, "ok", t("admin.ret.saved"));
    }
  });
  root.append(
    h("section", { class: "panel" }, h("h2", {}, t("admin.ret.policy")), form),
    h("section", { class: "panel" }, h("h2", {}, t("admin.ret.effective")), effectiveBox));
  root.dataset.loaded = "true";
  return null;
}
