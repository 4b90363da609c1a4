// API tokens (#/admin/tokens), for admins: what scripts and other systems call the API with. A
// new token is a role, a part of the plant, optionally only some of the role's permissions, and a
// lifetime; its secret is shown this once, the server keeps only its hash. Revoking one ends its
// use at once.

import { get, send } from "../../api.js";
import { cardTable, h } from "../../dom.js";
import { t } from "../../i18n.js";
import { assetList, attempt, field, notice, permissionText, roleSelect, scopeText, when } from "./common.js";

function status(tk) {
  if (tk.revoked) return "revoked";
  if (tk.expires && Date.parse(tk.expires) <= Date.now()) return "expired";
  return "active";
}

function tokenTable(tokens, done, message) {
  if (!tokens.length) return h("div", { class: "muted" }, t("admin.tokens.none"));
  const head = ["admin.tokens.name", "admin.users.role", "admin.users.scope", "admin.tokens.permissions",
    "admin.tokens.created_by", "admin.created", "admin.tokens.expires", "admin.tokens.last_used", "common.state", ""];
  return cardTable("tokens", head, tokens.map((tk) => {
    const st = status(tk);
    const revoke = async () => {
      if (!window.confirm(t("admin.tokens.confirm_revoke", { name: tk.name }))) return;
      if (await attempt(message, () => send("DELETE", `tokens/${encodeURIComponent(tk.id)}`))) {
        await done();
        notice(message, "ok", t("admin.tokens.revoked_ok", { name: tk.name }));
      }
    };
    return h("tr", { dataset: { token: tk.id, status: st } },
      h("td", { class: "card-wide name" }, h("span", { translate: "no" }, tk.name), h("div", { class: "hint", translate: "no" }, tk.id)),
      h("td", {}, t(`admin.role.${tk.role}`)),
      h("td", {}, scopeText(tk.scope)),
      h("td", {}, tk.permissions.length ? h("span", { translate: "no" }, tk.permissions.join(", ")) : h("span", { class: "muted" }, t("admin.tokens.all_of_role"))),
      h("td", { translate: "no" }, tk.created_by),
      h("td", { class: "num time" }, when(tk.created)),
      h("td", { class: "num time" }, tk.expires ? when(tk.expires) : t("admin.tokens.never")),
      h("td", { class: "num time" }, when(tk.last_used)),
      h("td", {}, h("span", { class: "token-status", dataset: { status: st } }, t(`admin.tokens.status.${st}`))),
      h("td", {}, st === "active" ? h("button", { dataset: { action: "revoke" }, onclick: revoke }, t("admin.tokens.revoke")) : null));
  }), { below: 1100 });
}

function createForm(roles, done) {
  const name = h("input", { type: "text", name: "name", required: true, maxlength: "200", autocomplete: "off", translate: "no" });
  const role = roleSelect("viewer", { name: "role" });
  const scope = h("input", { type: "text", name: "scope", list: "admin-assets", autocomplete: "off", translate: "no", placeholder: t("admin.whole_plant") });
  const days = h("input", { type: "number", name: "expires_days", value: "90", min: "1", step: "1" });
  const never = h("input", { type: "checkbox", name: "never" });
  never.addEventListener("change", () => { days.disabled = never.checked; });
  // Only some of the role's permissions: none ticked is all of them.
  const picks = h("div", { class: "permission-picks" });
  const showPicks = () => {
    const granted = roles.roles.find((r) => r.role === role.value)?.permissions || [];
    picks.replaceChildren(...granted.map((p) => h("label", { class: "check" }, h("input", { type: "checkbox", value: p }), permissionText(p))));
  };
  role.addEventListener("change", showPicks);
  showPicks();
  const message = h("div", { class: "form-message" });
  const form = h("form", { class: "admin-form create-token" },
    h("div", { class: "fields" },
      field("admin.tokens.name", name, "admin.tokens.name_hint"), field("admin.users.role", role),
      field("admin.users.scope", scope, "admin.users.scope_hint"),
      field("admin.tokens.lifetime", days)),
    h("label", { class: "check" }, never, t("admin.tokens.never_expires")),
    h("details", { class: "role-grants" }, h("summary", {}, t("admin.tokens.narrow")), picks),
    h("div", { class: "toolbar" }, h("button", { class: "primary", type: "submit" }, t("admin.tokens.create"))),
    message);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    let created = null;
    const ok = await attempt(message, async () => {
      created = await send("POST", "tokens", {
        name: name.value.trim(), role: role.value, scope: scope.value.trim(),
        permissions: [...picks.querySelectorAll("input:checked")].map((x) => x.value),
        expires_days: never.checked ? null : Number(days.value),
      });
    });
    if (!ok) return;
    await done();
    const copy = h("button", { type: "button", dataset: { action: "copy" } }, t("admin.tokens.copy"));
    copy.addEventListener("click", () => navigator.clipboard?.writeText(created.secret).then(() => { copy.textContent = t("admin.tokens.copied"); }, () => {}));
    notice(message, "ok", t("admin.tokens.created", { name: created.token.name }),
      h("div", { class: "secret-box" }, h("div", {}, t("admin.tokens.shown_once")),
        h("code", { class: "secret", translate: "no" }, created.secret), " ", copy,
        h("div", { class: "hint" }, t("admin.tokens.usage"))));
    name.value = "";
  });
  return form;
}

export async function render(root, { plant }) {
  const [tokens, roles] = await Promise.all([get("tokens"), get("roles")]);
  const message = h("div", { class: "form-message" });
  const tableBox = h("div", {});
  const reload = async () => tableBox.replaceChildren(tokenTable(await get("tokens"), reload, message));
  tableBox.replaceChildren(tokenTable(tokens, reload, message));
  root.append(assetList(plant, "admin-assets"),
    h("section", { class: "panel" }, h("h2", {}, t("admin.tokens.create_title")), createForm(roles, reload)),
    h("section", { class: "panel" }, h("h2", {}, t("admin.tab.tokens")), message, tableBox));
  root.dataset.loaded = "true";
  return null;
}
