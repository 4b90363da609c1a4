// Setpoints (#/admin/setpoints): the signals of the user's part of the plant that may be written,
// with their limits and live values; engineers write one here (the server checks the limits,
// writes through the connector, reads the value back and audits it); and the history of writes
// and refused attempts there, from the audit log, newest first.

import { get, live, send } from "../../api.js";
import { cardTable, h, leaf, num } from "../../dom.js";
import { t } from "../../i18n.js";
import { attempt, notice, when } from "./common.js";

/** A limit as the plant file gives it: whole numbers without decimals. */
function plain(v) { return num(v, Number.isInteger(v) ? 0 : 2); }

function equipmentOf(signal) { return signal.split("/").slice(0, -1).join("/"); }

function signalCell(path) {
  return h("td", { class: "card-wide signal" },
    h("a", { href: `#/equipment/${equipmentOf(path)}`, translate: "no" }, leaf(equipmentOf(path))), " · ",
    h("span", { translate: "no" }, leaf(path)));
}

function writableTable(list, canWrite, done) {
  if (!list.length) return h("div", { class: "muted" }, t("admin.sp.none"));
  const head = ["common.signal", "admin.sp.description", "admin.sp.range", "admin.sp.now"].concat(canWrite ? ["admin.sp.new_value"] : []);
  return cardTable("writable", head, list.map((w) => {
    const value = h("input", { type: "number", min: String(w.low), max: String(w.high), step: "any", "aria-label": t("admin.sp.new_value") });
    const message = h("div", { class: "form-message" });
    const write = async (e) => {
      e.preventDefault();
      if (value.value === "") return;
      let written = null;
      if (await attempt(message, async () => { written = await send("POST", "setpoints", { signal: w.signal, value: Number(value.value) }); })) {
        notice(message, "ok", t("admin.sp.written", { old: num(written.old, 2), new: num(written.new, 2), unit: w.unit_display }));
        value.value = "";
        await done();
      }
    };
    return h("tr", { dataset: { signal: w.signal } },
      signalCell(w.signal),
      h("td", {}, w.description),
      h("td", { class: "num" }, t("admin.sp.range_text", { low: plain(w.low), high: plain(w.high), unit: w.unit_display })),
      h("td", { class: "num live-value", dataset: { path: w.signal } }, "–"),
      canWrite ? h("td", { class: "card-wide" }, h("form", { class: "inline-form", onsubmit: write }, value,
        h("button", { class: "primary", type: "submit", dataset: { action: "write" } }, t("admin.sp.write"))), message) : null);
  }), { below: 820 });
}

function historyTable(changes) {
  if (!changes.length) return h("div", { class: "muted" }, t("admin.sp.no_history"));
  return cardTable("setpoint-history", ["common.time", "admin.audit.actor", "common.signal", "admin.sp.change"],
    changes.slice().reverse().map((c) => h("tr", { dataset: { seq: String(c.seq), written: String(c.written) } },
      h("td", { class: "num time" }, when(c.ts)),
      h("td", { translate: "no" }, c.actor),
      signalCell(c.signal),
      h("td", { class: "card-wide" }, c.written
        ? t("admin.sp.changed", { old: num(c.old, 2), new: num(c.new, 2) })
        : h("span", { class: "refused" }, t("admin.sp.refused", { value: num(c.wanted, 2) }), " ",
          h("span", { class: "muted", translate: "no" }, c.reason))))), { below: 720 });
}

export async function render(root, { can }) {
  const [writable, history] = await Promise.all([get("setpoints"), get("setpoints/history", { limit: 500 })]);
  const historyBox = h("div", {}, historyTable(history));
  const reload = async () => historyBox.replaceChildren(historyTable(await get("setpoints/history", { limit: 500 })));
  const canWrite = can("setpoints.write");
  const table = writableTable(writable, canWrite, reload);
  root.append(
    h("section", { class: "panel" }, h("h2", {}, t("admin.sp.writable")),
      canWrite ? h("p", { class: "hint" }, t("admin.sp.write_hint")) : h("p", { class: "hint" }, t("admin.read_only")), table),
    h("section", { class: "panel" }, h("h2", {}, t("admin.sp.history")), historyBox));
  const cells = [...table.querySelectorAll("td.live-value")];
  const off = live.subscribe((msg) => {
    for (const cell of cells) {
      const v = msg.values?.[cell.dataset.path];
      if (v) cell.textContent = plain(v[1]);
    }
  });
  root.dataset.loaded = "true";
  return off;
}
