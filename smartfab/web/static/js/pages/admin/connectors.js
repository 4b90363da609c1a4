// Connectors (#/admin/connectors/<name>): each connector's state and counters (refreshed every
// few seconds), and for the one chosen its outages of the last week (gap events: when, how long,
// why) and the settings that can be changed at run time (enabled, where the device is, how often
// it is read), which engineers change here; a change restarts the connector and is audited.

import { get, ms, rows, send } from "../../api.js";
import { cardTable, duration, h, num } from "../../dom.js";
import { t } from "../../i18n.js";
import { attempt, field, notice, when } from "./common.js";

const WEEK_MS = 7 * 86400e3;
// Settings by how they are edited; which a connector has depends on its protocol.
const TEXT = ["endpoint", "host"];
const NUMBER = { port: [1, 65535], poll_ms: [10, 3600000], publishing_interval_ms: [10, 60000] };

function stateBadge(state) {
  return h("span", { class: "conn-state", dataset: { state } }, t(`admin.conn.state.${state}`));
}

function usTime(us) { return us ? when(new Date(us / 1000).toISOString()) : "–"; }

function statusTable(list, chosen) {
  const head = ["admin.conn.name", "admin.conn.protocol", "common.state", "admin.conn.endpoint",
    "admin.conn.connected_since", "admin.conn.last_data", "admin.conn.points", "admin.conn.errors",
    "admin.conn.gaps", "admin.conn.signals"];
  return cardTable("connectors", head, list.map((c) => h("tr", {
    class: `clickable${c.name === chosen ? " selected" : ""}`, dataset: { connector: c.name, state: c.state },
    onclick: () => { location.hash = `#/admin/connectors/${c.name}`; },
  },
  h("td", { class: "card-wide" }, h("a", { href: `#/admin/connectors/${c.name}`, translate: "no" }, c.name)),
  h("td", { translate: "no" }, c.protocol),
  h("td", {}, stateBadge(c.state)),
  h("td", { class: "card-wide endpoint", translate: "no" }, c.endpoint || "–"),
  h("td", { class: "num time" }, usTime(c.connected_since_us)),
  h("td", { class: "num time" }, usTime(c.last_data_us)),
  h("td", { class: "num" }, num(c.points, 0)),
  h("td", { class: "num" }, num(c.errors, 0)),
  h("td", { class: "num" }, num(c.gaps, 0)),
  h("td", { class: "num" }, num(c.signals, 0)))), { below: 900 });
}

function settingsForm(c, canEdit, done) {
  const s = c.settings;
  const message = h("div", { class: "form-message" });
  const enabled = h("input", { type: "checkbox", name: "enabled", disabled: !canEdit });
  enabled.checked = s.enabled;
  const inputs = {};
  for (const key of Object.keys(s)) {
    if (TEXT.includes(key)) inputs[key] = h("input", { type: "text", name: key, value: s[key], disabled: !canEdit, translate: "no" });
    else if (key in NUMBER) {
      const [min, max] = NUMBER[key];
      inputs[key] = h("input", { type: "number", name: key, value: String(s[key]), min: String(min), max: String(max), step: "1", disabled: !canEdit });
    }
  }
  const save = h("button", { class: "primary", type: "submit", hidden: !canEdit }, t("admin.conn.apply"));
  const form = h("form", { class: "admin-form connector-settings" },
    h("label", { class: "check" }, enabled, t("admin.conn.enabled")),
    h("div", { class: "fields" }, Object.entries(inputs).map(([key, input]) => field(`admin.conn.setting.${key}`, input))),
    canEdit ? h("div", { class: "hint" }, t("admin.conn.restart_hint")) : h("div", { class: "hint" }, t("admin.read_only")),
    h("div", { class: "toolbar" }, save), message);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    // Only what differs from the settings in force: the audit then says what was changed.
    const change = {};
    if (enabled.checked !== s.enabled) change.enabled = enabled.checked;
    for (const [key, input] of Object.entries(inputs)) {
      const value = input.type === "number" ? Number(input.value) : input.value.trim();
      if (value !== s[key]) change[key] = value;
    }
    if (!Object.keys(change).length) { notice(message, "ok", t("admin.no_change")); return; }
    save.disabled = true;
    const ok = await attempt(message, () => send("PATCH", `connectors/${encodeURIComponent(c.name)}`, change));
    save.disabled = false;
    if (ok) await done();
  });
  return form;
}

async function outages(box, name) {
  const now = Date.now();
  const body = await get(`connectors/${encodeURIComponent(name)}/gaps`, {
    start: new Date(now - WEEK_MS).toISOString(), end: new Date(now).toISOString(),
  });
  const list = rows(body).reverse();
  if (!list.length) { box.replaceChildren(h("div", { class: "muted" }, t("admin.conn.no_gaps"))); return; }
  box.replaceChildren(cardTable("gaps", ["admin.conn.gap_start", "admin.conn.gap_length", "admin.conn.gap_what"],
    list.map((g) => h("tr", {},
      h("td", { class: "num time" }, when(g.ts)),
      h("td", { class: "num" }, duration(g.value)),
      h("td", { class: "card-wide" }, g.detail)))));
  if (body.truncated) box.append(h("div", { class: "hint" }, t("admin.truncated")));
  box.dataset.loaded = "true";
}

export async function render(root, { path, can }) {
  let list = await get("connectors");
  if (!list.length) {
    root.append(h("section", { class: "panel" }, h("div", { class: "muted" }, t("admin.conn.none"))));
    return null;
  }
  const chosen = list.some((c) => c.name === path) ? path : list[0].name;
  const tableBox = h("div", {}, statusTable(list, chosen));
  const detail = h("section", { class: "panel connector-detail", dataset: { connector: chosen } });
  const gapsBox = h("div", { class: "gaps-box" }, t("common.loading"));
  // The chosen connector's settings; after a change, as the server now has them.
  const showDetail = (said = null) => {
    const c = list.find((x) => x.name === chosen);
    const result = h("div", { class: "form-message" });
    if (said) notice(result, "ok", said);
    detail.replaceChildren(
      h("h2", {}, h("span", { translate: "no" }, chosen), " · ", t("admin.conn.settings")),
      h("div", { class: "hint last-error", hidden: !c.last_error }, t("admin.conn.last_error"), ": ", h("span", { translate: "no" }, c.last_error)),
      result,
      settingsForm(c, can("connectors.configure"), async () => {
        list = await get("connectors");
        tableBox.replaceChildren(statusTable(list, chosen));
        showDetail(t("admin.conn.applied"));
      }));
  };
  showDetail();
  root.append(
    h("section", { class: "panel" }, h("h2", {}, t("admin.tab.connectors")), tableBox),
    detail,
    h("section", { class: "panel" }, h("h2", {}, t("admin.conn.outages")), gapsBox));
  outages(gapsBox, chosen).catch((err) => notice(gapsBox, "error", t("error.load", { reason: err.message })));
  root.dataset.loaded = "true";
  const timer = setInterval(async () => {
    try {
      list = await get("connectors");
      tableBox.replaceChildren(statusTable(list, chosen));
    } catch { /* the next round tries again */ }
  }, 5000);
  return () => clearInterval(timer);
}
