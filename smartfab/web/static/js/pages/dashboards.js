// Dashboards people build: the list (one's own, those shared with one, each line's default from
// the plant model), a dashboard as a grid of panels with its variables (a line, an equipment),
// time range, refresh and live values, and its editor: panels added, moved, sized and set up,
// variables, sharing by role and part of the plant, export to and import from a JSON file. The
// server validates each save and names each error's field (shown here in the page's language);
// see docs/web.md#dashboards.
// Routes: #/dashboards, #/dashboards/<id>, #/dashboards/line/<line path>, #/dashboards/new.

import { get, send } from "../api.js";
import { dateTime, h, leaf, rangeButtons } from "../dom.js";
import { has, t } from "../i18n.js";
import { whoAmI } from "../session.js";
import { measured } from "./common.js";
import { PANEL_TYPES, panelTitle, renderPanel } from "./panels.js";
import { assetSelect, equipmentSelect, resolve, signalInfo, signalPicker } from "./pickers.js";

const VERSION = 1; // of the dashboard document this app writes
const REFRESHES = [0, 5, 10, 30, 60, 300];
const ROLES = ["viewer", "operator", "engineer", "admin"];
const picked = new Map(); // dashboard -> the variables' values chosen on it
let editing = null; // the dashboard being edited: {key, body, doc}

export async function render(root, route, plant, refresh) {
  if (!plant) throw new Error(t("error.no_plant"));
  if (!route.path) return renderList(root, plant);
  const key = route.path;
  if (key === "new" && editing?.key !== key) {
    const body = { id: null, line: null, document: blank(), editable: true, revision: 0, hidden: 0, mine: true };
    editing = { key, body, doc: structuredClone(body.document) };
  }
  // The one being edited keeps its unsaved changes across renders.
  const body = editing?.key === key ? editing.body : await get(`dashboards/${key}`);
  return renderBoard(root, plant, key, body, refresh);
}

function blank() {
  return { version: VERSION, title: t("dash.untitled"), description: "", variables: [], time: { span_s: 8 * 3600, refresh_s: 30 }, panels: [] };
}

// --- the list -----------------------------------------------------------------------------------

async function renderList(root, plant) {
  editing = null;
  const listed = await get("dashboards");
  const errors = h("div", { class: "import-errors" });
  root.append(
    h("div", { class: "page-head" }, h("h1", {}, t("dash.title")), h("span", { class: "sub" }, t("dash.sub"))),
    h("div", { class: "toolbar" },
      h("a", { class: "button", href: "#/dashboards/new", "data-action": "new" }, t("dash.new")),
      importButton(errors),
      h("a", { class: "button", href: "#/trends/" }, t("trends.title"))),
    errors);
  const sharing = (d) => (d.sharing ? t("dash.shared_with", { role: t(`dash.role.${d.sharing.role}`), scope: d.sharing.scope || t("dash.whole_plant") }) : t("dash.personal"));
  const table = (items, empty) => (items.length
    ? h("div", { class: "table-scroll" }, h("table", { class: "data dashboards" },
      h("tr", {}, ["dash.name", "dash.owner", "dash.sharing", "dash.panels", "dash.updated"].map((k) => h("th", {}, t(k)))),
      items.map((d) => h("tr", { class: "clickable", dataset: { dashboard: d.id }, onclick: () => { location.hash = `#/dashboards/${d.id}`; } },
        h("td", {}, h("a", { href: `#/dashboards/${d.id}` }, d.title)), h("td", {}, d.owner), h("td", {}, sharing(d)),
        h("td", { class: "num" }, String(d.panels)), h("td", { class: "num" }, dateTime(Date.parse(d.updated)))))))
    : h("div", { class: "muted" }, t(empty)));
  root.append(
    h("section", { class: "panel" }, h("h2", {}, t("dash.mine")), table(listed.dashboards.filter((d) => d.mine), "dash.none_mine")),
    h("section", { class: "panel" }, h("h2", {}, t("dash.shared")), table(listed.dashboards.filter((d) => !d.mine), "dash.none_shared")),
    h("section", { class: "panel" }, h("h2", {}, t("dash.lines")), h("p", { class: "hint" }, t("dash.lines_hint")),
      listed.lines.length
        ? h("ul", { class: "line-dashboards" }, listed.lines.map((l) => h("li", {}, h("a", { href: `#/dashboards/line/${l.path}`, dataset: { line: l.path } }, l.title))))
        : h("div", { class: "muted" }, t("dash.no_lines"))));
  return null;
}

/** Import: a dashboard file (as exported) saved as one's own; refused with each error on its
 * field, nothing saved. */
function importButton(errors) {
  const file = h("input", { type: "file", accept: ".json,application/json", "aria-label": t("dash.import") });
  file.addEventListener("change", async () => {
    const f = file.files[0];
    file.value = "";
    if (!f) return;
    errors.replaceChildren();
    let doc;
    try {
      doc = JSON.parse(await f.text());
    } catch (err) {
      errors.replaceChildren(h("div", { class: "error" }, t("dash.bad_json", { file: f.name, reason: err.message })));
      return;
    }
    try {
      const made = await send("POST", "dashboards", doc);
      location.hash = `#/dashboards/${made.id}`;
    } catch (err) {
      errors.replaceChildren(fieldErrors(err, t("dash.import_refused", { file: f.name })));
    }
  });
  return h("label", { class: "file-pick", "data-action": "import" }, file, h("span", { class: "button" }, t("dash.import")));
}

/** A refused save: the server's errors, each on its field, in the page's language. */
function fieldErrors(err, head) {
  const list = err.errors?.length ? err.errors : null;
  return h("div", { class: "error field-errors", role: "alert" }, h("div", {}, head),
    list ? h("ul", {}, list.map((e) => h("li", { dataset: { loc: (e.loc || []).join(".") } },
      h("b", {}, where(e.loc || [])), " ", message(e)))) : h("div", {}, err.message));
}

/** Where an error lies, as people read it: "Panel 3 · signals 1 · path". */
function where(loc) {
  const at = loc.filter((x) => x !== "body" && x !== "document");
  if (at[0] === "panels" && typeof at[1] === "number") {
    const rest = at.slice(PANEL_TYPES.includes(at[2]) ? 3 : 2).map((x) => (typeof x === "number" ? x + 1 : x));
    return t("dash.at_panel", { n: at[1] + 1, field: rest.join(" · ") });
  }
  if (at[0] === "variables" && typeof at[1] === "number") return t("dash.at_variable", { n: at[1] + 1, field: at.slice(2).join(" · ") });
  return at.map((x) => (typeof x === "number" ? x + 1 : x)).join(" · ") || t("dash.at_document");
}

function message(e) {
  const key = `dash.err.${e.type}`;
  return has(key) ? t(key, e.ctx || {}) : e.msg;
}

// --- a dashboard --------------------------------------------------------------------------------

function renderBoard(root, plant, key, body, refresh) {
  const doc = editing?.key === key ? editing.doc : structuredClone(body.document);
  const cache = new Map();
  const values = variableValues(plant, key, doc);
  let span = (picked.get(key)?.span) || doc.time.span_s * 1000;
  const ctx = { plant, cache, values, span: () => span, oee: new Map(), round: 0 };
  const inEditor = editing?.key === key;

  const head = h("div", { class: "page-head" }, h("h1", {}, doc.title),
    doc.description ? h("span", { class: "sub" }, doc.description) : null,
    h("span", { class: "badge-note" }, body.line ? t("dash.line_default")
      : body.sharing ? t("dash.shared_with", { role: t(`dash.role.${body.sharing.role}`), scope: body.sharing.scope || t("dash.whole_plant") })
        : body.id ? t("dash.personal") : t("dash.unsaved")));
  const note = h("div", {});
  if (body.hidden) note.append(h("div", { class: "hint hidden-note" }, t("dash.hidden", { n: body.hidden })));
  const errors = h("div", { class: "save-errors" });

  // --- toolbar: variables, range, refresh, actions ---
  const variables = doc.variables.map((v) => variableSelect(plant, v, values, (value) => {
    const chosen = picked.get(key) || {};
    picked.set(key, { ...chosen, values: { ...(chosen.values || {}), [v.name]: value } });
    refresh();
  }));
  const refreshSelect = h("select", { "aria-label": t("dash.refresh"), class: "refresh" },
    REFRESHES.map((s) => h("option", { value: String(s), selected: s === (picked.get(key)?.refresh ?? doc.time.refresh_s) }, s ? t("dash.every", { n: s >= 60 ? t("unit.minutes", { n: s / 60 }) : t("dash.seconds", { n: s }) }) : t("dash.refresh_off"))));
  let timer = null;
  const startTimer = () => {
    clearInterval(timer);
    const s = Number(refreshSelect.value);
    if (s) timer = setInterval(() => reloadAll(), s * 1000);
  };
  refreshSelect.addEventListener("change", () => {
    const s = Number(refreshSelect.value);
    picked.set(key, { ...(picked.get(key) || {}), refresh: s });
    if (inEditor) doc.time.refresh_s = s;
    startTimer();
  });
  const ranges = rangeButtons(span, (s) => {
    span = s;
    picked.set(key, { ...(picked.get(key) || {}), span: s });
    if (inEditor) doc.time.span_s = s / 1000;
    for (const b of ranges.children) b.classList.toggle("active", Number(b.dataset.span) === s);
    reloadAll();
  });
  const actions = h("div", { class: "dash-actions" });
  root.append(head, note, h("div", { class: "toolbar dash-toolbar" },
    variables.length ? h("div", { class: "variables" }, variables) : null, ranges,
    h("label", {}, t("dash.refresh"), refreshSelect), actions), errors);

  const save = async (asCopy = false) => {
    errors.replaceChildren();
    try {
      const made = body.id && !asCopy && body.editable
        ? await send("PUT", `dashboards/${body.id}`, { revision: body.revision, document: doc })
        : await send("POST", "dashboards", asCopy ? { ...doc, title: t("dash.copy_title", { title: doc.title }) } : doc);
      editing = null;
      if (`${made.id}` === key) refresh(); else location.hash = `#/dashboards/${made.id}`;
    } catch (err) {
      errors.replaceChildren(fieldErrors(err, err.status === 409 ? t("dash.conflict") : t("dash.save_refused")));
      if (err.status === 409) errors.firstChild.append(h("button", { type: "button", onclick: () => { editing = null; refresh(); } }, t("dash.load_again")));
    }
  };
  const button = (text, action, onclick, primary = false) => h("button", { type: "button", class: primary ? "primary" : "", "data-action": action, onclick }, text);
  if (inEditor) {
    actions.append(
      button(t("dash.save"), "save", () => save(), true),
      button(t("dash.cancel"), "cancel", () => { editing = null; if (key === "new") location.hash = "#/dashboards"; else refresh(); }));
  } else {
    // A dashboard one may not change (a line's default, another's) is edited as a copy.
    actions.append(button(body.editable ? t("dash.edit") : t("dash.edit_copy"), "edit", () => {
      editing = { key, body, doc: body.editable ? structuredClone(body.document) : { ...structuredClone(body.document), title: t("dash.copy_title", { title: body.document.title }) } };
      if (!body.editable) editing.body = { ...body, id: null, editable: true, revision: 0 };
      refresh();
    }));
    if (body.id) actions.append(button(t("dash.save_copy"), "copy", () => save(true)));
    actions.append(button(t("dash.export"), "export", () => exportFile(body.document)));
    if (body.shareable) actions.append(shareForm(plant, body, errors, refresh));
    if (body.editable && body.id) {
      actions.append(button(t("dash.delete"), "delete", async () => {
        if (!window.confirm(t("dash.delete_confirm", { title: doc.title }))) return;
        try {
          await send("DELETE", `dashboards/${body.id}?revision=${body.revision}`);
          location.hash = "#/dashboards";
        } catch (err) {
          errors.replaceChildren(fieldErrors(err, t("dash.save_refused")));
        }
      }));
    }
  }

  // --- the editor's own settings ---
  if (inEditor) root.append(documentForm(plant, doc, refresh));

  // --- the grid of panels ---
  const grid = h("div", { class: "dash-grid", dataset: { panels: String(doc.panels.length) } });
  root.append(grid);
  if (!doc.panels.length) grid.append(h("div", { class: "muted empty" }, t(inEditor ? "dash.empty_edit" : "dash.empty")));
  const shown = [];
  doc.panels.forEach((p, i) => {
    const bodyEl = h("div", { class: "panel-body" });
    const el = h("section", { class: "panel dash-panel", style: `--w: ${p.w}; --h: ${p.h}`, dataset: { panel: p.id, type: p.type } },
      h("div", { class: "panel-head" }, h("h2", {}, panelTitle(p, values)), inEditor ? panelTools(doc, i, refresh) : null),
      bodyEl);
    grid.append(el);
    if (inEditor) bodyEl.append(panelForm(plant, doc, p, cache, values, refresh));
    else shown.push(renderPanel(p, bodyEl, el, ctx));
  });
  function reloadAll() {
    ctx.round++;
    ctx.oee.clear();
    for (const s of shown) s.refresh();
  }
  if (!inEditor) startTimer();
  root.dataset.dashboard = body.id || key;
  return () => { clearInterval(timer); for (const s of shown) s.destroy(); };
}

/** The variables' values: chosen on the page, or the defaults. */
function variableValues(plant, key, doc) {
  const chosen = picked.get(key)?.values || {};
  const values = {};
  for (const v of doc.variables) values[v.name] = choicesOf(plant, v, values).some(([p]) => p === chosen[v.name]) ? chosen[v.name] : v.default;
  return values;
}

function choicesOf(plant, v, values) {
  if (v.kind === "line") return plant.lines.map((l) => [l.path, l.title || l.name]);
  const under = v.under ? resolve(v.under, values) : "";
  return plant.equipment.filter((e) => !under || e.path.startsWith(under + "/")).map((e) => [e.path, leaf(e.path)]);
}

function variableSelect(plant, v, values, onChange) {
  const el = h("select", { "aria-label": v.name, dataset: { variable: v.name } },
    choicesOf(plant, v, values).map(([p, text]) => h("option", { value: p, selected: p === values[v.name] }, text)));
  el.addEventListener("change", () => onChange(el.value));
  return h("label", {}, t(`dash.kind.${v.kind}`), el);
}

function exportFile(doc) {
  const blob = new Blob([JSON.stringify(doc, null, 2)], { type: "application/json" });
  const a = h("a", { href: URL.createObjectURL(blob), download: `${doc.title.replace(/[^\p{L}\p{N}]+/gu, "-").replace(/^-|-$/g, "") || "dashboard"}.dashboard.json` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

/** Share with a role and a part of the plant (within the user's own), or make it one's own again. */
function shareForm(plant, body, errors, refresh) {
  const role = h("select", { "aria-label": t("dash.share_role") }, ROLES.map((r) => h("option", { value: r, selected: r === (body.sharing?.role || "viewer") }, t(`dash.role.${r}`))));
  const scope = h("select", { "aria-label": t("dash.share_scope") });
  whoAmI().then((me) => {
    const parts = [["", t("dash.whole_plant")], ...plant.tree.children.map((a) => [a.path, a.title || a.name]),
      ...plant.lines.map((l) => [l.path, l.title || l.name])].filter(([p]) => !me.scope || p === me.scope || p.startsWith(me.scope + "/"));
    scope.replaceChildren(...parts.map(([p, text]) => h("option", { value: p, selected: p === (body.sharing?.scope ?? me.scope) }, text)));
  });
  const go = async (sharing) => {
    errors.replaceChildren();
    try {
      await send("PUT", `dashboards/${body.id}/sharing`, { revision: body.revision, sharing });
      refresh();
    } catch (err) {
      errors.replaceChildren(fieldErrors(err, t("dash.share_refused")));
    }
  };
  return h("span", { class: "share-form" }, role, scope,
    h("button", { type: "button", "data-action": "share", onclick: () => go({ role: role.value, scope: scope.value }) }, t("dash.share")),
    body.sharing ? h("button", { type: "button", "data-action": "unshare", onclick: () => go(null) }, t("dash.unshare")) : null);
}

// --- the editor ---------------------------------------------------------------------------------

/** Title, description, range and refresh, variables, a panel to add. */
function documentForm(plant, doc, refresh) {
  const title = h("input", { type: "text", value: doc.title, maxlength: "120", "aria-label": t("dash.name"), class: "title-input" });
  title.addEventListener("change", () => { doc.title = title.value; });
  const description = h("input", { type: "text", value: doc.description, maxlength: "2000", "aria-label": t("dash.description") });
  description.addEventListener("change", () => { doc.description = description.value; });
  const vars = h("div", { class: "variables-edit" }, doc.variables.map((v, i) => variableForm(plant, doc, v, i, refresh)),
    h("button", { type: "button", "data-action": "add-variable", onclick: () => {
      const taken = new Set(doc.variables.map((v) => v.name));
      const kind = taken.has("equipment") ? "line" : "equipment";
      const name = [kind, `${kind}2`, `${kind}3`].find((n) => !taken.has(n));
      doc.variables.push({ name, kind, default: kind === "line" ? plant.lines[0].path : plant.equipment[0].path, under: "" });
      refresh();
    } }, t("dash.add_variable")));
  const type = h("select", { "aria-label": t("dash.panel_type"), class: "panel-type" }, PANEL_TYPES.map((k) => h("option", { value: k }, t(`dash.type.${k}`))));
  const add = h("button", { type: "button", class: "primary", "data-action": "add-panel", onclick: () => {
    doc.panels.push(newPanel(type.value, doc, plant));
    refresh();
  } }, t("dash.add_panel"));
  return h("section", { class: "panel dash-editor" },
    h("div", { class: "fields" },
      h("label", {}, t("dash.name"), title), h("label", {}, t("dash.description"), description)),
    h("h3", {}, t("dash.variables")), h("p", { class: "hint" }, t("dash.variables_hint")), vars,
    h("div", { class: "toolbar" }, h("label", {}, t("dash.panel_type"), type), add));
}

function variableForm(plant, doc, v, i, refresh) {
  const name = h("input", { type: "text", value: v.name, maxlength: "32", "aria-label": t("dash.variable_name"), class: "short" });
  name.addEventListener("change", () => { v.name = name.value.trim(); refresh(); });
  const kind = h("select", { "aria-label": t("dash.variable_kind") }, ["equipment", "line"].map((k) => h("option", { value: k, selected: k === v.kind }, t(`dash.kind.${k}`))));
  kind.addEventListener("change", () => {
    v.kind = kind.value;
    v.default = v.kind === "line" ? plant.lines[0].path : plant.equipment[0].path;
    v.under = "";
    refresh();
  });
  const earlier = doc.variables.slice(0, i);
  const pick = v.kind === "line"
    ? (() => { const el = h("select", { "aria-label": t("dash.variable_default") }, plant.lines.map((l) => h("option", { value: l.path, selected: l.path === v.default }, l.title || l.name))); el.addEventListener("change", () => { v.default = el.value; }); return el; })()
    : equipmentSelect(plant, [], v.default, (p) => { v.default = p; }, t("dash.variable_default"));
  const under = h("select", { "aria-label": t("dash.variable_under") },
    [["", t("dash.whole_plant")], ...earlier.filter((x) => x.kind === "line").map((x) => [`\${${x.name}}`, `\${${x.name}}`]), ...plant.lines.map((l) => [l.path, l.title || l.name])]
      .map(([p, text]) => h("option", { value: p, selected: p === v.under }, text)));
  under.addEventListener("change", () => { v.under = under.value; });
  return h("div", { class: "variable-row", dataset: { variable: v.name } },
    h("code", {}, `\${${v.name}}`), name, kind, pick, v.kind === "equipment" ? h("label", {}, t("dash.variable_under"), under) : null,
    h("button", { type: "button", class: "icon", title: t("dash.remove"), "aria-label": t("dash.remove"), onclick: () => { doc.variables.splice(i, 1); refresh(); } }, "×"));
}

function newPanel(type, doc, plant) {
  const id = `${type}-${Math.random().toString(36).slice(2, 8)}`;
  const eqVar = doc.variables.find((v) => v.kind === "equipment");
  const line = plant.lines[0]?.path || "";
  const base = { type, id, title: "", w: 6, h: 4 };
  switch (type) {
    case "trend": return { ...base, h: 5, signals: [], markers: true };
    case "value": return { ...base, w: 3, h: 2, signal: eqVar ? `\${${eqVar.name}}/power` : `${plant.equipment[0].path}/power`, base: "normal", thresholds: [], decimals: null };
    case "timeline": return { ...base, w: 12, h: 3, equipment: plant.lines[0]?.equipment.map((e) => e.path) || [] };
    case "oee": return { ...base, w: 4, path: line };
    case "losses": return { ...base, w: 4, path: line, style: "bar" };
    case "alarms": return { ...base, under: line };
    case "spc": return { ...base, signal: eqVar ? `\${${eqVar.name}}/cycle_time` : `${plant.equipment[0].path}/cycle_time`, chart: "imr", n: null };
    case "table": return { ...base, signals: [] };
    default: return { ...base, w: 4, h: 3, text: "" };
  }
}

/** A panel's place and size in the editor: earlier, later, width, height, remove. */
function panelTools(doc, i, refresh) {
  const p = doc.panels[i];
  const move = (d) => { const [x] = doc.panels.splice(i, 1); doc.panels.splice(i + d, 0, x); refresh(); };
  const size = (what, choices, label) => {
    const el = h("select", { "aria-label": label, class: `size-${what}` }, choices.map((n) => h("option", { value: String(n), selected: n === p[what] }, String(n))));
    el.addEventListener("change", () => { p[what] = Number(el.value); refresh(); });
    return el;
  };
  return h("div", { class: "panel-tools" },
    h("button", { type: "button", class: "icon", disabled: i === 0, title: t("dash.earlier"), "aria-label": t("dash.earlier"), onclick: () => move(-1) }, "↑"),
    h("button", { type: "button", class: "icon", disabled: i === doc.panels.length - 1, title: t("dash.later"), "aria-label": t("dash.later"), onclick: () => move(1) }, "↓"),
    h("label", { title: t("dash.width") }, "↔", size("w", [2, 3, 4, 6, 8, 9, 12], t("dash.width"))),
    h("label", { title: t("dash.height") }, "↕", size("h", [2, 3, 4, 5, 6, 8, 10, 12], t("dash.height"))),
    h("button", { type: "button", class: "icon", title: t("dash.remove"), "aria-label": t("dash.remove"), "data-action": "remove-panel", onclick: () => { doc.panels.splice(i, 1); refresh(); } }, "×"));
}

/** What a panel shows, by its type. */
function panelForm(plant, doc, p, cache, values, refresh) {
  const form = h("div", { class: "panel-form" });
  const title = h("input", { type: "text", value: p.title, maxlength: "120", placeholder: panelTitle({ ...p, title: "" }, values), "aria-label": t("dash.panel_title") });
  title.addEventListener("change", () => { p.title = title.value; });
  form.append(h("label", {}, t("dash.panel_title"), title));
  const chips = (list, remove, extra = () => null) => h("div", { class: "chips" }, list.map((x, i) =>
    h("span", { class: "chip", dataset: { path: typeof x === "string" ? x : x.path } }, typeof x === "string" ? x : x.path, extra(x, i),
      h("button", { type: "button", class: "icon", title: t("dash.remove"), "aria-label": t("dash.remove"), onclick: () => { remove(i); refresh(); } }, "×"))));
  const picker = (accept, onPick) => signalPicker({ plant, cache, variables: doc.variables, values, accept, onPick: (path) => { onPick(path); refresh(); } });
  const choose = (options, value, onChange, label) => {
    const el = h("select", { "aria-label": label }, options.map(([v, text]) => h("option", { value: v, selected: v === value }, text)));
    el.addEventListener("change", () => onChange(el.value));
    return h("label", {}, label, el);
  };
  const current = (path) => h("div", { class: "current" }, t("common.signal"), " ", h("code", {}, path));
  const anyValue = (s) => s.kind !== "array";

  if (p.type === "trend") {
    form.append(
      chips(p.signals, (i) => p.signals.splice(i, 1), (s) => {
        const axis = h("input", { type: "text", value: s.axis, maxlength: "40", placeholder: t("dash.axis_auto"), title: t("dash.axis_hint"), "aria-label": t("dash.axis"), class: "axis" });
        axis.addEventListener("change", () => { s.axis = axis.value.trim(); });
        return axis;
      }),
      picker(measured, (path) => p.signals.push({ path, axis: "" })),
      h("button", { type: "button", "data-action": "same-signal", disabled: !p.signals.length, onclick: async () => {
        // The signals chosen, also of the other machines of their line that have them.
        const more = [];
        for (const s of p.signals) {
          const real = resolve(s.path, values), name = leaf(real);
          const line = plant.byPath.get(real.split("/").slice(0, -1).join("/"))?.line;
          for (const e of line ? line.equipment : []) {
            const path = `${e.path}/${name}`;
            if (path !== real && !p.signals.some((x) => x.path === path) && await signalInfo(path, cache).then(() => true, () => false)) more.push({ path, axis: s.axis });
          }
        }
        p.signals.push(...more.slice(0, Math.max(0, 12 - p.signals.length)));
        refresh();
      } }, t("trends.same_signal")),
      h("label", { class: "check" }, h("input", { type: "checkbox", checked: p.markers, onchange: (e) => { p.markers = e.target.checked; } }), t("dash.markers")));
  } else if (p.type === "value") {
    const thresholds = h("div", { class: "thresholds" }, p.thresholds.map((th, i) => {
      const v = h("input", { type: "number", step: "any", value: String(th.value), "aria-label": t("dash.threshold_value"), class: "short" });
      v.addEventListener("change", () => { th.value = Number(v.value); });
      return h("div", { class: "threshold" }, v, choose(levels(), th.level, (x) => { th.level = x; }, t("dash.level")),
        h("button", { type: "button", class: "icon", "aria-label": t("dash.remove"), onclick: () => { p.thresholds.splice(i, 1); refresh(); } }, "×"));
    }));
    const decimals = h("input", { type: "number", min: "0", max: "6", step: "1", value: p.decimals ?? "", placeholder: t("spc.auto"), "aria-label": t("dash.decimals"), class: "short" });
    decimals.addEventListener("change", () => { p.decimals = decimals.value === "" ? null : Number(decimals.value); });
    form.append(current(p.signal), picker(anyValue, (path) => { p.signal = path; }),
      choose(levels(), p.base, (x) => { p.base = x; }, t("dash.base_level")),
      h("div", {}, t("dash.thresholds")), thresholds,
      h("button", { type: "button", onclick: () => {
        const last = p.thresholds[p.thresholds.length - 1];
        p.thresholds.push({ value: last ? last.value + 1 : 0, level: "warning" });
        refresh();
      } }, t("dash.add_threshold")),
      h("label", {}, t("dash.decimals"), decimals));
  } else if (p.type === "timeline") {
    let chosen = plant.equipment[0]?.path || "";
    form.append(chips(p.equipment, (i) => p.equipment.splice(i, 1)),
      h("div", { class: "picker" }, equipmentSelect(plant, doc.variables, chosen, (v) => { chosen = v; }, t("common.equipment")),
        h("button", { type: "button", onclick: () => { if (chosen && !p.equipment.includes(chosen)) { p.equipment.push(chosen); refresh(); } } }, t("dash.add_equipment"))));
  } else if (p.type === "oee" || p.type === "losses" || p.type === "alarms") {
    const field = p.type === "alarms" ? "under" : "path";
    form.append(h("label", {}, t("dash.asset"), assetSelect(plant, doc.variables, p[field], (v) => { p[field] = v; }, t("dash.asset"))));
    if (p.type === "losses") form.append(choose([["bar", t("dash.style_bar")], ["pie", t("dash.style_pie")]], p.style, (x) => { p.style = x; }, t("dash.style")));
  } else if (p.type === "spc") {
    const n = h("input", { type: "number", min: "2", max: "25", step: "1", value: p.n ?? "", placeholder: t("spc.auto"), "aria-label": t("spc.n"), class: "short" });
    n.addEventListener("change", () => { p.n = n.value === "" ? null : Number(n.value); });
    form.append(current(p.signal), picker(measured, (path) => { p.signal = path; }),
      choose([["imr", t("spc.imr")], ["xbar_r", t("spc.xbar_r")], ["xbar_s", t("spc.xbar_s")]], p.chart, (x) => { p.chart = x; }, t("spc.chart")),
      p.chart === "imr" ? null : h("label", {}, t("spc.n"), n));
  } else if (p.type === "table") {
    form.append(chips(p.signals, (i) => p.signals.splice(i, 1)), picker(anyValue, (path) => p.signals.push(path)));
  } else if (p.type === "text") {
    const text = h("textarea", { rows: "4", maxlength: "4000", "aria-label": t("dash.type.text") });
    text.value = p.text;
    text.addEventListener("change", () => { p.text = text.value; });
    form.append(text);
  }
  return form;
}

function levels() {
  return ["normal", "warning", "alarm"].map((l) => [l, t(`dash.level.${l}`)]);
}
