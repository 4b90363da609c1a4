// The audit log (#/admin/audit), for admins: every change, who made it and what it changed,
// newest first, with its hash; the chain of hashes verified on request (an edited, deleted or
// reordered entry breaks it, and the head's hash anchors it when noted elsewhere); and the
// security event log (logins, refusals, changes).

import { get } from "../../api.js";
import { cardTable, h, num } from "../../dom.js";
import { t } from "../../i18n.js";
import { field, notice, when } from "./common.js";

const EVENT_KINDS = ["login", "login_failed", "locked_out", "logout", "unauthenticated", "denied", "rate_limited", "too_large", "change"];
const LIMITS = [100, 1000, 10000];

/** A before or after of an entry, as short text ("–" for none). */
function json(value) {
  return value === null || value === undefined ? "–" : JSON.stringify(value);
}

async function verify(box) {
  box.replaceChildren(h("div", { class: "muted" }, t("admin.audit.verifying")));
  const v = await get("audit/verify");
  const head = h("div", { class: "head-hash" }, t("admin.audit.head", { seq: num(v.head_seq, 0) }), " ",
    h("code", { translate: "no" }, v.head_hash));
  if (v.ok) notice(box, "ok", t("admin.audit.intact", { n: num(v.entries, 0) }), head, h("div", { class: "hint" }, t("admin.audit.anchor")));
  else notice(box, "error", t("admin.audit.broken", { n: num(v.problems.length, 0) }),
    h("ul", { class: "plain problems", translate: "no" }, v.problems.map((p) => h("li", {}, p))), head);
  box.dataset.verified = v.ok ? "ok" : "broken";
}

function entryTable(entries) {
  if (!entries.length) return h("div", { class: "muted" }, t("admin.audit.none"));
  return cardTable("audit", ["admin.audit.seq", "common.time", "admin.audit.actor", "admin.audit.action", "admin.audit.target", "admin.audit.before", "admin.audit.after"],
    entries.slice().reverse().map((e) => h("tr", { dataset: { seq: String(e.seq), action: e.action } },
      h("td", { class: "num", title: e.hash }, String(e.seq)),
      h("td", { class: "num time" }, when(e.ts)),
      h("td", { translate: "no" }, e.actor),
      h("td", { translate: "no" }, e.action),
      h("td", { class: "card-wide target", translate: "no" }, e.target),
      h("td", { class: "card-wide audit-change", translate: "no" }, json(e.before)),
      h("td", { class: "card-wide audit-change", translate: "no" }, json(e.after)))), { below: 900 });
}

function eventTable(events) {
  if (!events.length) return h("div", { class: "muted" }, t("admin.audit.no_events"));
  return cardTable("security-events", ["common.time", "admin.audit.kind", "admin.audit.actor", "admin.audit.client", "admin.audit.detail"],
    events.slice().reverse().map((e) => h("tr", { dataset: { kind: e.kind } },
      h("td", { class: "num time" }, when(e.ts)),
      h("td", {}, h("span", { class: "event-kind", dataset: { kind: e.kind } }, t(`admin.event.${e.kind}`))),
      h("td", { translate: "no" }, e.actor || "–"),
      h("td", { translate: "no" }, e.client || "–"),
      h("td", { class: "card-wide", translate: "no" }, e.detail))), { below: 800 });
}

function limitSelect() {
  const select = h("select", { name: "limit" }, LIMITS.map((n) => h("option", { value: String(n) }, num(n, 0))));
  select.value = "100";
  return select;
}

export async function render(root) {
  const verifyBox = h("div", { class: "verify-box" });
  const verifyButton = h("button", { class: "primary", type: "button", dataset: { action: "verify" } }, t("admin.audit.verify"));
  verifyButton.addEventListener("click", () => verify(verifyBox).catch((err) => notice(verifyBox, "error", t("error.load", { reason: err.message }))));

  const actor = h("input", { type: "text", name: "actor", autocomplete: "off", translate: "no" });
  const action = h("input", { type: "text", name: "action", autocomplete: "off", translate: "no", list: "audit-actions" });
  const limit = limitSelect();
  const entriesBox = h("div", { class: "entries-box" });
  const loadEntries = async () => {
    const entries = await get("audit", { actor: actor.value.trim(), action: action.value.trim(), limit: limit.value });
    entriesBox.replaceChildren(entryTable(entries));
    const actions = [...new Set(entries.map((e) => e.action))].sort();
    document.getElementById("audit-actions")?.replaceChildren(...actions.map((a) => h("option", { value: a })));
    entriesBox.dataset.loaded = String(Date.now());
  };
  const filters = h("form", { class: "toolbar filters" },
    field("admin.audit.actor", actor), field("admin.audit.action", action), field("admin.audit.limit", limit),
    h("button", { type: "submit" }, t("admin.audit.show")));
  filters.addEventListener("submit", (e) => { e.preventDefault(); loadEntries().catch((err) => notice(entriesBox, "error", t("error.load", { reason: err.message }))); });

  const kind = h("select", { name: "kind" }, h("option", { value: "" }, t("admin.audit.all_kinds")),
    EVENT_KINDS.map((k) => h("option", { value: k }, t(`admin.event.${k}`))));
  const eventsBox = h("div", { class: "events-box" });
  const loadEvents = async () => eventsBox.replaceChildren(eventTable(await get("security/events", { kind: kind.value, limit: 200 })));
  kind.addEventListener("change", () => loadEvents().catch((err) => notice(eventsBox, "error", t("error.load", { reason: err.message }))));

  root.append(h("datalist", { id: "audit-actions" }),
    h("section", { class: "panel" }, h("h2", {}, t("admin.audit.chain")),
      h("p", { class: "hint" }, t("admin.audit.chain_hint")), h("div", { class: "toolbar" }, verifyButton), verifyBox),
    h("section", { class: "panel" }, h("h2", {}, t("admin.audit.log")), filters, entriesBox),
    h("section", { class: "panel" }, h("h2", {}, t("admin.audit.events")),
      h("div", { class: "toolbar" }, field("admin.audit.kind", kind)), eventsBox));
  await Promise.all([loadEntries(), loadEvents()]);
  root.dataset.loaded = "true";
  return null;
}
