// Changing the plant file from the pages: where an asset lies in the file, saving a change
// (refused with each problem on its field, or with the change another engineer saved first),
// the diff, and the history of edits with undo.

import { apiError, get } from "../api.js";
import { dateTime, h } from "../dom.js";
import { t } from "../i18n.js";

/** The location in the plant file of the asset or signal at an ISA-95 path. */
export function locate(path) {
  const levels = ["areas", "lines", "cells", "equipment", "signals"];
  const parts = path.split("/").filter(Boolean);
  const out = ["site"];
  parts.slice(1).forEach((name, i) => out.push(levels[i], { name }));
  return out;
}

/** The level of a path: site, area, line, cell, equipment or signal. */
export function levelOf(path) {
  return ["site", "area", "line", "cell", "equipment", "signal"][path.split("/").filter(Boolean).length - 1];
}

/**
 * Save a change: {revision, ops, summary, check_devices}. Resolves to {change}, {issues} (422:
 * nothing saved) or {conflict} (409: the file changed since the revision); other refusals throw.
 */
export async function saveEdit(body) {
  return post("plant/edits", body);
}

export async function undoEdit(revision, seq) {
  return post("plant/undo", { revision, seq });
}

async function post(path, body) {
  const r = await fetch(`api/${path}`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  const out = await r.json().catch(() => ({}));
  if (r.ok) return { change: out };
  const detail = out.detail || {};
  if (r.status === 422 && detail.code === "invalid_edit") return { issues: detail.issues };
  if (r.status === 409 && detail.code === "plant_changed") return { conflict: detail };
  throw apiError(r.status, out, r.statusText);
}

/** A unified diff, its added and removed lines marked. */
export function diffView(diff) {
  return h("pre", { class: "diff", translate: "no" }, diff.split("\n").map((line) =>
    h("span", { class: line.startsWith("+") && !line.startsWith("+++") ? "add" : line.startsWith("-") && !line.startsWith("---") ? "del" : "" }, line + "\n")));
}

/** Problems of a change that no field of the form shows, listed with where they are. */
export function issueList(issues) {
  if (!issues.length) return null;
  return h("div", { class: "error", id: "edit-issues" },
    h("div", {}, t("edit.refused")),
    h("ul", {}, issues.map((i) => h("li", {},
      h("code", { translate: "no" }, [i.field, i.value].filter((x) => x !== null && x !== "").join(" = ") || "–"),
      " ", i.reason))));
}

/** What another engineer saved since the revision a change was made on. */
export function conflictView(conflict, onReload) {
  const changes = conflict.changes || [];
  return h("div", { class: "error conflict", id: "edit-conflict" },
    h("div", {}, t("edit.conflict", { n: changes.length })),
    changes.length ? changes.map((c) => h("details", { open: true },
      h("summary", {}, t("edit.by", { actor: c.actor, time: dateTime(c.ts_us / 1000) }), " — ", c.summary),
      diffView(c.diff)))
      : h("div", {}, t("edit.changed_outside")),
    h("button", { type: "button", id: "edit-reload", onclick: onReload }, t("edit.reload")));
}

/** Show each issue at its input: `fieldOf(issue)` returns the element (or null). Returns those
 * no input took. Inputs marked before are cleared. */
export function markFields(root, issues, fieldOf) {
  for (const el of root.querySelectorAll(".field-error")) el.remove();
  for (const el of root.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  const rest = [];
  for (const issue of issues) {
    const el = fieldOf(issue);
    if (!el) { rest.push(issue); continue; }
    el.setAttribute("aria-invalid", "true");
    el.insertAdjacentElement("afterend", h("div", { class: "field-error", role: "alert" }, issue.reason));
  }
  return rest;
}

/** The newest edits with their diffs; an edit not undone yet can be undone. */
export async function historyPanel(onChanged) {
  const box = h("section", { class: "panel", id: "edit-history" }, h("h2", {}, t("edit.history")));
  const body = h("div", {});
  box.append(body);
  async function draw() {
    const [edits, file] = await Promise.all([get("plant/edits", { limit: 20 }), get("plant/file")]);
    if (!edits.length) { body.replaceChildren(h("div", { class: "muted" }, t("edit.no_history"))); return; }
    body.replaceChildren(h("div", { class: "table-scroll" }, h("table", { class: "data" },
      h("tr", {}, ["edit.when", "edit.who", "edit.what", ""].map((k) => h("th", {}, k ? t(k) : ""))),
      edits.map((c) => h("tr", { dataset: { seq: String(c.seq) } },
        h("td", { class: "num" }, `#${c.seq} `, dateTime(c.ts_us / 1000)),
        h("td", {}, c.actor),
        h("td", {}, h("details", {}, h("summary", {}, c.summary), diffView(c.diff))),
        h("td", {}, c.undone_by ? h("span", { class: "muted" }, t("edit.undone_by", { seq: c.undone_by }))
          : h("button", { type: "button", class: "undo", onclick: () => undo(c, file.revision) }, t("edit.undo"))))))));
  }
  async function undo(c, revision) {
    const out = await undoEdit(revision, c.seq);
    if (out.conflict) body.prepend(conflictView(out.conflict, draw));
    else if (out.issues) body.prepend(issueList(out.issues));
    else { await onChanged?.(out.change); await draw(); }
  }
  await draw();
  return box;
}
