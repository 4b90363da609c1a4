// Export (#/admin/export/<equipment>): stored points of some signals of one equipment over a
// time range, as a CSV or Parquet file, downloaded by the browser as the server streams it. The
// request is tried first, so that a refusal (too many points, a range in the future) is shown
// here in words rather than as a file of error text.

import { apiError, get } from "../../api.js";
import { RANGES, h, leaf, num } from "../../dom.js";
import { t } from "../../i18n.js";
import { field, notice } from "./common.js";

const FORMATS = ["csv", "parquet"];

function equipmentSelect(plant, chosen) {
  const select = h("select", { name: "equipment" }, plant.lines.map((ln) =>
    h("optgroup", { label: ln.title || leaf(ln.path) }, ln.equipment.map((e) =>
      h("option", { value: e.path, translate: "no" }, `${leaf(e.path)}${e.title ? ` · ${e.title}` : ""}`)))));
  select.value = chosen;
  return select;
}

function localInput(msTime) {
  // datetime-local wants the local wall-clock time without a zone.
  const d = new Date(msTime - new Date(msTime).getTimezoneOffset() * 60e3);
  return d.toISOString().slice(0, 16);
}

export async function render(root, { path, plant }) {
  if (!plant || !plant.equipment.length) {
    root.append(h("section", { class: "panel" }, h("div", { class: "muted" }, t("error.no_plant"))));
    return null;
  }
  const chosen = plant.byPath.has(path) ? path : plant.equipment[0].path;
  const info = await get(`equipment/${chosen}`);
  const equipment = equipmentSelect(plant, chosen);
  equipment.addEventListener("change", () => { location.hash = `#/admin/export/${equipment.value}`; });
  const picks = info.signals.map((s) => h("label", { class: "check" },
    h("input", { type: "checkbox", value: s.path, checked: s.role === "measurement" }),
    h("span", { translate: "no" }, s.name), s.unit_display ? h("span", { class: "muted" }, ` (${s.unit_display})`) : null));
  const all = h("input", { type: "checkbox" });
  all.addEventListener("change", () => picks.forEach((p) => { p.querySelector("input").checked = all.checked; }));
  const span = h("select", { name: "range" }, RANGES.map(([key, ms]) => h("option", { value: String(ms) }, t(key))),
    h("option", { value: "custom" }, t("admin.export.custom")));
  span.value = String(RANGES[2][1]);
  const now = Date.now();
  const start = h("input", { type: "datetime-local", name: "start", value: localInput(now - 86400e3) });
  const end = h("input", { type: "datetime-local", name: "end", value: localInput(now) });
  const custom = h("div", { class: "fields", hidden: true }, field("admin.export.start", start), field("admin.export.end", end));
  span.addEventListener("change", () => { custom.hidden = span.value !== "custom"; });
  const format = h("select", { name: "format" }, FORMATS.map((f) => h("option", { value: f }, t(`admin.export.format.${f}`))));
  const message = h("div", { class: "form-message" });
  const button = h("button", { class: "primary", type: "submit", dataset: { action: "download" } }, t("admin.export.download"));

  const form = h("form", { class: "admin-form export-form" },
    h("div", { class: "fields" }, field("common.equipment", equipment), field("admin.export.range", span), field("admin.export.format", format)),
    custom,
    h("fieldset", { class: "signal-picks" }, h("legend", {}, t("admin.export.signals")),
      h("label", { class: "check all" }, all, t("admin.export.all")), h("div", { class: "picks" }, picks)),
    h("div", { class: "toolbar" }, button), message);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const signals = picks.map((p) => p.querySelector("input")).filter((x) => x.checked).map((x) => x.value);
    if (!signals.length) { notice(message, "error", t("admin.export.pick")); return; }
    const [x0, x1] = span.value === "custom"
      ? [new Date(start.value).getTime(), new Date(end.value).getTime()]
      : [Date.now() - Number(span.value), Date.now()];
    const q = new URLSearchParams({ start: new Date(x0).toISOString(), end: new Date(x1).toISOString(), format: format.value });
    for (const s of signals) q.append("signal", s);
    const url = `api/export?${q}`;
    button.disabled = true;
    try {
      // Tried first: a refusal is shown here; the file itself is left to the browser.
      const stop = new AbortController();
      const r = await fetch(url, { signal: stop.signal });
      if (!r.ok) throw apiError(r.status, await r.json().catch(() => ({})), r.statusText);
      const points = Number(r.headers.get("x-points"));
      stop.abort();
      h("a", { href: url, download: "" }).click();
      notice(message, "ok", t("admin.export.started", { n: num(points, 0) }));
      message.dataset.points = String(points);
    } catch (err) {
      notice(message, "error", t("error.action", { reason: err.message }));
    } finally {
      button.disabled = false;
    }
  });
  root.append(h("section", { class: "panel" }, h("h2", {}, t("admin.tab.export")), h("p", { class: "hint" }, t("admin.export.hint")), form));
  root.dataset.loaded = "true";
  return null;
}
