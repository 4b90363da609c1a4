// Alarm list (ISA-18.2): active and unacknowledged alarms first, acknowledge and shelve (as the
// logged-in user, whom the server records), the journal of transitions and the EEMUA 191 load.

import { get, ms, send } from "../api.js";
import { cardTable, dateTime, h, leaf, num, pct } from "../dom.js";
import { t } from "../i18n.js";
import { inScope } from "../session.js";

const SHELVE_MINUTES = [15, 60, 480];

/** The alarm list of /api/alarms: {available, alarms}. */
export function loadAlarms(params = {}) {
  return inScope(params).then((p) => get("alarms", p));
}

function stateBadge(a) {
  return h("span", { class: "alarm-state", dataset: { state: a.state } }, t(`alarm.state.${a.state}`));
}

async function act(path, body, done) {
  try {
    await send("POST", `alarms/${path}`, body);
  } catch (err) {
    window.alert(t("error.action", { reason: err.message }));
  }
  done();
}

function actions(a, done) {
  const shelve = h("select", { "aria-label": t("alarm.shelve") },
    h("option", { value: "" }, t("alarm.shelve")),
    SHELVE_MINUTES.map((m) => h("option", { value: String(m) }, t("alarm.shelve_for", { n: m }))));
  shelve.addEventListener("change", () => {
    const minutes = Number(shelve.value);
    const reason = minutes ? (window.prompt(t("alarm.reason")) || "").trim() : "";
    if (reason) act("shelve", { id: a.id, minutes, reason }, done);
    else shelve.value = "";
  });
  const unacked = a.state === "unacknowledged" || a.state === "cleared_unacknowledged";
  return h("div", { class: "actions" },
    unacked
      ? h("button", { class: "primary", "data-action": "acknowledge", onclick: () => act("acknowledge", { ids: [a.id] }, done) }, t("alarm.acknowledge"))
      : null,
    a.state === "shelved"
      ? h("button", { "data-action": "unshelve", onclick: () => act("unshelve", { id: a.id }, done) }, t("alarm.unshelve"))
      : shelve);
}

/** The alarm table, used by this page and the equipment view; cards where it is narrow. */
export function alarmTable(body, done, { compact = false } = {}) {
  if (body.available === false) return h("div", { class: "muted" }, t("alarm.unavailable"));
  if (!body.alarms.length) return h("div", { class: "muted" }, t("alarm.none"));
  // The equipment view lists one machine's alarms: no equipment column, no "handled by".
  const columns = ["alarm.priority", "common.time", "common.equipment", "alarm.message", "common.state", "common.value", "alarm.by", ""]
    .filter((k) => !compact || (k !== "common.equipment" && k !== "alarm.by"));
  const by = (a) => (a.state === "shelved" ? t("alarm.shelved_until", { who: a.shelved_by, until: dateTime(ms(a.shelved_until)) })
    : a.acked_by ? t("alarm.acked_by", { who: a.acked_by, at: dateTime(ms(a.acked_at)) }) : "");
  return cardTable("alarms", columns, body.alarms.map((a) => h("tr", {
    class: a.state === "unacknowledged" || a.state === "cleared_unacknowledged" ? "alarm-unack" : "",
    dataset: { alarm: a.id, state: a.state },
    title: a.shelve_reason || a.ack_comment || "",
  },
  h("td", {}, h("span", { class: "prio", dataset: { priority: a.priority } }), t(`alarm.priority.${a.priority}`)),
  h("td", { class: "num time" }, dateTime(ms(a.since))),
  // A late order's alarm belongs to its storage zone: the link opens the warehouse page.
  compact ? null : h("td", {}, h("a", { href: `#/${a.id.includes(":order_late:") ? "warehouse" : "equipment"}/${a.equipment}` }, leaf(a.equipment))),
  h("td", { class: "card-wide message" }, a.message),
  h("td", {}, stateBadge(a)),
  // A fault or state code (212) is a name, not a quantity: no decimals, no digit grouping.
  h("td", { class: "num" }, a.value_is_code && a.value !== null ? String(a.value) : num(a.value, 2)),
  compact ? null : h("td", { class: `card-wide${by(a) ? "" : " card-empty"}` }, by(a)),
  h("td", { class: "card-wide" }, actions(a, done)))), { below: compact ? 960 : 1000 });
}

export async function render(root, _route, _plant, refresh) {
  const showAll = h("input", { type: "checkbox" });
  const list = h("div");
  const loadBox = h("div");
  root.append(
    h("div", { class: "page-head" }, h("h1", {}, t("alarm.title"))),
    h("div", { class: "toolbar" },
      h("label", {}, showAll, t("alarm.show_normal"))),
    h("section", { class: "panel" }, h("h2", {}, t("alarm.current")), list),
    h("section", { class: "panel" }, h("h2", {}, t("alarm.load")), loadBox));

  let shown = [];
  const ackAll = h("button", { "data-action": "acknowledge-all", onclick: () => {
    const ids = shown.filter((a) => a.state === "unacknowledged" || a.state === "cleared_unacknowledged").map((a) => a.id);
    if (ids.length) act("acknowledge", { ids }, reload);
  } }, t("alarm.acknowledge_all"));
  root.querySelector(".toolbar").append(ackAll);
  async function reload() {
    const body = await loadAlarms(showAll.checked ? { include_normal: true } : {});
    shown = body.alarms;
    list.replaceChildren(alarmTable(body, reload));
    root.dataset.loaded = String(Date.now());
  }
  showAll.addEventListener("change", reload);
  await reload();
  inScope().then((p) => get("alarms/load", p)).then((load) => {
    loadBox.replaceChildren(h("div", { class: "kpis" },
      h("div", { class: "kpi" }, h("div", { class: "label" }, t("alarm.load_avg")), h("div", { class: "value" }, num(load.average_per_10min, 2))),
      h("div", { class: "kpi" }, h("div", { class: "label" }, t("alarm.load_peak")), h("div", { class: "value" }, num(load.peak_per_10min, 0))),
      h("div", { class: "kpi" }, h("div", { class: "label" }, t("alarm.load_total")), h("div", { class: "value" }, num(load.total, 0))),
      h("div", { class: "kpi" }, h("div", { class: "label" }, t("alarm.flood")), h("div", { class: "value" }, pct(load.flood_percent / 100)))));
  }).catch(() => loadBox.replaceChildren(h("div", { class: "muted" }, t("alarm.unavailable"))));
  const timer = setInterval(() => reload().catch(() => {}), 5000);
  return () => clearInterval(timer);
}
