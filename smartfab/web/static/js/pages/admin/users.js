// Users and roles (#/admin/users/<name>), for admins: who may log in, with which role and part of
// the plant (scope); add a user (a password generated when none is given, shown this once),
// change one's role, scope or password, disable or enable one. What each role grants is shown
// beside the role picked. The server refuses grants beyond the admin's own and disabling the
// last whole-plant admin.

import { get, send } from "../../api.js";
import { cardTable, h } from "../../dom.js";
import { t } from "../../i18n.js";
import { assetList, attempt, field, notice, permissionText, roleSelect, scopeText, when } from "./common.js";

/** What a role grants, below its picker; follows the picker. */
export function grantsOf(roles, select) {
  const list = h("ul", { class: "plain grants" });
  const show = () => {
    const role = roles.roles.find((r) => r.role === select.value);
    list.replaceChildren(...(role ? role.permissions : []).map((p) => h("li", { dataset: { permission: p } }, permissionText(p))));
  };
  select.addEventListener("change", show);
  show();
  return h("details", { class: "role-grants" }, h("summary", {}, t("admin.users.grants")), list,
    h("div", { class: "hint" }, t("admin.users.plant_wide", { names: roles.plant_wide.join(", ") })));
}

function userTable(users, chosen) {
  return cardTable("users", ["admin.users.name", "admin.users.role", "admin.users.scope", "common.state", "admin.created", ""],
    users.map((u) => h("tr", { class: u.name === chosen ? "selected" : "", dataset: { user: u.name, disabled: String(u.disabled) } },
      h("td", { translate: "no", class: "name" }, u.name),
      h("td", {}, t(`admin.role.${u.role}`)),
      h("td", {}, scopeText(u.scope)),
      h("td", {}, h("span", { class: "account", dataset: { disabled: String(u.disabled) } }, t(u.disabled ? "admin.users.disabled" : "admin.users.active"))),
      h("td", { class: "num time" }, when(u.created)),
      h("td", { class: "card-wide" }, h("a", { class: "button", href: `#/admin/users/${encodeURIComponent(u.name)}`, dataset: { action: "edit" } }, t("admin.edit"))))),
    { below: 720 });
}

function addForm(roles, done) {
  const name = h("input", { type: "text", name: "name", required: true, maxlength: "64", autocomplete: "off", translate: "no" });
  const role = roleSelect("viewer", { name: "role" });
  const scope = h("input", { type: "text", name: "scope", list: "admin-assets", autocomplete: "off", translate: "no", placeholder: t("admin.whole_plant") });
  const password = h("input", { type: "password", name: "password", autocomplete: "new-password" });
  const message = h("div", { class: "form-message" });
  const form = h("form", { class: "admin-form add-user" },
    h("div", { class: "fields" },
      field("admin.users.name", name), field("admin.users.role", role),
      field("admin.users.scope", scope, "admin.users.scope_hint"),
      field("admin.users.password", password, "admin.users.password_hint")),
    grantsOf(roles, role),
    h("div", { class: "toolbar" }, h("button", { class: "primary", type: "submit" }, t("admin.users.add"))),
    message);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    let created = null;
    const ok = await attempt(message, async () => {
      created = await send("POST", "users", {
        name: name.value.trim(), role: role.value, scope: scope.value.trim(), password: password.value || null,
      });
    });
    if (!ok) return;
    await done();
    notice(message, "ok", t("admin.users.added", { name: created.user.name }),
      created.password ? h("div", { class: "secret-box" }, t("admin.users.generated"), " ",
        h("code", { class: "secret", translate: "no" }, created.password)) : null);
    name.value = ""; password.value = "";
  });
  return form;
}

function editForm(user, roles, done) {
  const role = roleSelect(user.role, { name: "role" });
  const scope = h("input", { type: "text", name: "scope", value: user.scope, list: "admin-assets", autocomplete: "off", translate: "no", placeholder: t("admin.whole_plant") });
  const disabled = h("input", { type: "checkbox", name: "disabled" });
  disabled.checked = user.disabled;
  const password = h("input", { type: "password", name: "password", autocomplete: "new-password" });
  const message = h("div", { class: "form-message" });
  const form = h("form", { class: "admin-form edit-user", dataset: { user: user.name } },
    h("div", { class: "fields" },
      field("admin.users.role", role), field("admin.users.scope", scope, "admin.users.scope_hint"),
      field("admin.users.new_password", password, "admin.users.new_password_hint")),
    h("label", { class: "check" }, disabled, t("admin.users.disable")),
    grantsOf(roles, role),
    h("div", { class: "toolbar" }, h("button", { class: "primary", type: "submit" }, t("admin.save")),
      h("a", { class: "button", href: "#/admin/users" }, t("admin.cancel"))),
    message);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const change = {};
    if (role.value !== user.role) change.role = role.value;
    if (scope.value.trim() !== user.scope) change.scope = scope.value.trim();
    if (disabled.checked !== user.disabled) change.disabled = disabled.checked;
    if (password.value) change.password = password.value;
    if (!Object.keys(change).length) { notice(message, "ok", t("admin.no_change")); return; }
    if (await attempt(message, () => send("PATCH", `users/${encodeURIComponent(user.name)}`, change))) {
      Object.assign(user, { role: role.value, scope: scope.value.trim(), disabled: disabled.checked });
      await done();
      notice(message, "ok", t("admin.users.changed", { name: user.name }));
      password.value = "";
    }
  });
  return form;
}

export async function render(root, { path, plant }) {
  const [users, roles] = await Promise.all([get("users"), get("roles")]);
  const chosen = users.find((u) => u.name === path) || null;
  const tableBox = h("div", {}, userTable(users, chosen?.name));
  const reload = async () => tableBox.replaceChildren(userTable(await get("users"), chosen?.name));
  root.append(assetList(plant, "admin-assets"),
    h("section", { class: "panel" }, h("h2", {}, t("admin.tab.users")), tableBox),
    chosen
      ? h("section", { class: "panel" }, h("h2", {}, t("admin.users.edit", { name: chosen.name })), editForm(chosen, roles, reload))
      : h("section", { class: "panel" }, h("h2", {}, t("admin.users.add_title")), addForm(roles, reload)));
  root.dataset.loaded = "true";
  return null;
}
