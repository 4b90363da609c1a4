// What the administration sections share: form fields, messages in place of alerts, the plant's
// asset paths to pick a scope from, roles, and times as the API gives them.

import { ms } from "../../api.js";
import { dateTime, h } from "../../dom.js";
import { t } from "../../i18n.js";

export const ROLES = ["viewer", "operator", "engineer", "admin"];

/** An ISO time of the API in the page's language ("–" for none). */
export function when(iso) { return iso ? dateTime(ms(iso)) : "–"; }

/** A labelled form control; `hint` a translation key of a line below it. */
export function field(labelKey, control, hint = null) {
  return h("label", { class: "field" }, h("span", { class: "field-name" }, t(labelKey)), control,
    hint ? h("span", { class: "hint" }, t(hint)) : null);
}

/** A message shown in `box` (replacing what it held): "ok" or "error". */
export function notice(box, kind, ...content) {
  box.replaceChildren(h("div", { class: kind === "ok" ? "ok-box" : "error", role: kind === "ok" ? "status" : "alert" }, ...content));
}

/** Runs `action`; a refusal is shown in `box` instead of thrown. Returns whether it worked. */
export async function attempt(box, action) {
  try {
    await action();
    return true;
  } catch (err) {
    notice(box, "error", t("error.action", { reason: err.message }));
    return false;
  }
}

/** A datalist of every asset path of the plant (sites, areas, lines, cells, equipment): what a
 * scope or a filter names. */
export function assetList(plant, id) {
  const paths = [];
  const walk = (node) => { if (node.path) paths.push(node.path); (node.children || []).forEach(walk); };
  if (plant) walk(plant.tree);
  return h("datalist", { id }, paths.map((p) => h("option", { value: p })));
}

export function roleSelect(value = "viewer", attrs = {}) {
  const select = h("select", attrs, ROLES.map((r) => h("option", { value: r }, t(`admin.role.${r}`))));
  select.value = value;
  return select;
}

/** A scope as people read it: the asset path, or "whole plant". */
export function scopeText(scope) {
  return scope ? h("span", { translate: "no" }, scope) : h("span", { class: "muted" }, t("admin.whole_plant"));
}

/** A permission's name and, in the page's language, what it allows. */
export function permissionText(name) {
  return h("span", { class: "permission" }, h("code", { translate: "no" }, name), " ", t(`perm.${name}`));
}
