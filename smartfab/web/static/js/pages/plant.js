// The plant model, edited: the ISA-95 tree with the history of edits (each undoable); an asset
// renamed, described or moved; a signal's name, description, unit, range, sampling and data
// quality rules; its alarm rules created, tuned, tested on the stored history and enabled. Every
// save is a change of the plant file, checked as `plant check` checks it, each problem shown at
// its field, refused with the other's change when someone saved first.

import { get, send } from "../api.js";
import { dateTime, duration, h, leaf, num } from "../dom.js";
import { t } from "../i18n.js";
import { conflictView, historyPanel, issueList, levelOf, locate, markFields, saveEdit } from "./plantedit.js";

const ROLES = ["measurement", "state", "fault", "good_count", "scrap_count", "energy"];
const RULES = ["high_high", "high", "low", "low_low", "rate", "stale", "flatline"];
const PRIORITIES = ["low", "medium", "high", "urgent"];
const FIELDS = {
  high_high: ["limit", "deadband", "delay_s"], high: ["limit", "deadband", "delay_s"],
  low: ["limit", "deadband", "delay_s"], low_low: ["limit", "deadband", "delay_s"],
  rate: ["limit", "per_s", "deadband", "delay_s"], stale: ["after_s"], flatline: ["after_s", "tolerance"],
};
const WINDOWS = [["range.24h", 1], ["range.7d", 7], ["range.30d", 30]];
const CHILDREN = { site: "areas", area: "lines", line: "cells", cell: "equipment", equipment: "signals" };
const PARENT = { area: "site", line: "area", cell: "line", equipment: "cell" };

const testWindow = { days: 7 };

export async function render(root, route, _plant, refresh) {
  if (!route.path) return renderTree(root, refresh);
  const [asset, tree] = await Promise.all([get(`plant/asset/${route.path}`), get("assets")]);
  const level = levelOf(route.path);
  root.append(h("div", { class: "page-head" },
    h("h1", {}, t(`plant.level.${level}`), " ", h("span", { translate: "no" }, leaf(route.path))),
    h("a", { href: "#/plant" }, t("plant.back"))));
  if (level === "signal") return renderSignal(root, route.path, asset, refresh);
  return renderAsset(root, route.path, asset, tree, level, refresh);
}

/** Save `ops`; on success go to `next` (the asset's path after it) or render again. */
async function save(root, message, ops, owners, fieldOf, next, refresh) {
  message.replaceChildren();
  const file = await get("plant/file");
  const out = await saveEdit({ revision: file.revision, ops, summary: "" });
  if (out.issues) {
    const rest = markFields(root, out.issues, (i) => (i.op === null ? null : fieldOf(owners[i.op], i.field)));
    message.replaceChildren(h("div", { class: "error", id: "save-refused" }, t("edit.refused_fields", { n: out.issues.length })), issueList(rest) || "");
    return;
  }
  if (out.conflict) { message.replaceChildren(conflictView(out.conflict, refresh)); return; }
  if (next && location.hash !== `#/plant/${next}`) location.hash = `#/plant/${next}`;
  else await refresh();
}

function allPaths(tree, level) {
  const out = [];
  const walk = (node, depth) => {
    const here = ["site", "area", "line", "cell", "equipment"][depth];
    if (here === level) out.push(node.path);
    for (const c of node.children || []) walk(c, depth + 1);
  };
  walk(tree, 0);
  return out;
}

async function renderTree(root, refresh) {
  const tree = await get("assets");
  const item = (node) => h("li", {},
    h("a", { href: `#/plant/${node.path}`, translate: "no" }, node.name), node.title ? h("span", { class: "muted" }, " ", node.title) : null,
    node.children?.length ? h("ul", {}, node.children.map(item)) : null);
  root.append(
    h("div", { class: "page-head" }, h("h1", {}, t("plant.title")), h("span", { class: "sub" }, t("plant.sub")),
      h("a", { href: "#/commission" }, t("plant.commission"))),
    h("div", { class: "grid-2 plant-grid" },
      h("section", { class: "panel" }, h("h2", {}, t("plant.tree")), h("ul", { class: "tree", id: "plant-tree" }, tree.children.map(item))),
      await historyPanel(refresh)));
}

function renderAsset(root, path, asset, tree, level, refresh) {
  const data = asset.data;
  const message = h("div", {});
  const name = h("input", { type: "text", id: "asset-name", "data-field": "name", value: data.name });
  const title = h("input", { type: "text", id: "asset-title", "data-field": "title", size: 40, value: data.title || "" });
  const parent = path.split("/").slice(0, -1).join("/");
  const parents = PARENT[level] ? allPaths(tree, PARENT[level]) : [];
  const move = h("select", { id: "asset-move", translate: "no" }, parents.map((p) => h("option", { value: p }, p)));
  move.value = parent;
  const go = h("button", { type: "button", class: "primary", id: "asset-save" }, t("plant.save"));
  go.addEventListener("click", async () => {
    const ops = [], owners = [];
    const at = locate(path);
    if ((data.title || "") !== title.value) {
      ops.push(title.value ? { op: "set", at: [...at, "title"], value: title.value } : { op: "remove", at: [...at, "title"] });
      owners.push("title");
    }
    let here = path;
    if (name.value !== data.name) {
      ops.push({ op: "set", at: [...at, "name"], value: name.value });
      owners.push("name");
      here = `${parent}/${name.value}`;
    }
    if (parents.length && move.value !== parent) {
      ops.push({ op: "move", at: locate(here), to: [...locate(move.value), CHILDREN[PARENT[level]]] });
      owners.push("move");
      here = `${move.value}/${leaf(here)}`;
    }
    if (!ops.length) return;
    const inputs = { title, name, move };
    await save(root, message, ops, owners, (owner, field) => inputs[owner === "move" ? "move" : field.split(".")[0] || owner] || null, here, refresh);
  });
  const children = data[CHILDREN[level]] || [];
  root.append(
    h("section", { class: "panel", id: "asset-form" }, h("h2", {}, t("plant.asset")),
      h("div", { class: "form-grid" },
        h("label", {}, t("plant.name"), name),
        h("label", {}, t("plant.description"), title),
        parents.length ? h("label", {}, t(`plant.move_to.${level}`), move) : null),
      h("div", { class: "toolbar" }, go), message),
    h("section", { class: "panel" }, h("h2", {}, t(`plant.children.${level}`)),
      children.length ? h("ul", { class: "tree", id: "asset-children" }, children.map((c) => h("li", {},
        h("a", { href: `#/plant/${path}/${c.name}`, translate: "no" }, c.name),
        c.unit ? h("span", { class: "muted" }, " ", c.unit) : c.title ? h("span", { class: "muted" }, " ", c.title) : null)))
        : h("div", { class: "muted" }, t("plant.none"))));
}

function numberInput(value, attrs) {
  return h("input", { type: "number", step: "any", value: value ?? "", ...attrs });
}

function renderSignal(root, path, asset, refresh) {
  const data = asset.data;
  const at = locate(path);
  const message = h("div", {});
  const q = data.quality || {};
  const f = {
    name: h("input", { type: "text", id: "signal-name", "data-field": "name", value: data.name }),
    description: h("input", { type: "text", id: "signal-description", "data-field": "description", size: 40, value: data.description || "" }),
    unit: h("input", { type: "text", id: "signal-unit", "data-field": "unit", size: 8, value: data.unit }),
    role: h("select", { id: "signal-role", "data-field": "role" }, ROLES.map((r) => h("option", { value: r }, t(`commission.role.${r}`)))),
    low: numberInput(data.range?.[0], { id: "signal-low", "data-field": "range" }),
    high: numberInput(data.range?.[1], { id: "signal-high" }),
    sample_s: numberInput(data.sample_s ?? 1, { id: "signal-sample", "data-field": "sample_s", min: 0.001 }),
    q_low: numberInput(q.range?.low, { id: "quality-low", "data-field": "quality.range" }),
    q_high: numberInput(q.range?.high, { id: "quality-high" }),
    stale: numberInput(q.stale?.after_s, { id: "quality-stale", "data-field": "quality.stale" }),
    flat: numberInput(q.flatline?.after_s, { id: "quality-flatline", "data-field": "quality.flatline" }),
    flat_tol: numberInput(q.flatline?.tolerance, { id: "quality-tolerance" }),
    spike: numberInput(q.spike?.max_step, { id: "quality-spike", "data-field": "quality.spike" }),
  };
  f.role.value = data.role || "measurement";
  const go = h("button", { type: "button", class: "primary", id: "signal-save" }, t("plant.save"));
  go.addEventListener("click", async () => {
    const ops = [];
    const setOrRemove = (key, value, had) => {
      if (value === undefined) { if (had) ops.push({ op: "remove", at: [...at, key] }); }
      else ops.push({ op: "set", at: [...at, key], value });
    };
    const text = (el) => el.value.trim();
    if (text(f.description) !== (data.description || "")) setOrRemove("description", text(f.description) || undefined, data.description !== undefined);
    if (text(f.unit) !== data.unit) setOrRemove("unit", text(f.unit), true);
    if (f.role.value !== (data.role || "measurement")) setOrRemove("role", f.role.value, true);
    const range = f.low.value !== "" || f.high.value !== "" ? [Number(f.low.value), Number(f.high.value)] : undefined;
    if (JSON.stringify(range) !== JSON.stringify(data.range)) setOrRemove("range", range, data.range !== undefined);
    if (Number(f.sample_s.value) !== (data.sample_s ?? 1)) setOrRemove("sample_s", Number(f.sample_s.value), true);
    const quality = {};
    if (f.q_low.value !== "" || f.q_high.value !== "") quality.range = { low: Number(f.q_low.value), high: Number(f.q_high.value) };
    if (f.stale.value !== "") quality.stale = { after_s: Number(f.stale.value) };
    if (f.flat.value !== "") quality.flatline = { after_s: Number(f.flat.value), ...(f.flat_tol.value !== "" ? { tolerance: Number(f.flat_tol.value) } : {}) };
    if (f.spike.value !== "") quality.spike = { max_step: Number(f.spike.value) };
    const qualityNow = Object.keys(quality).length ? quality : undefined;
    if (JSON.stringify(qualityNow) !== JSON.stringify(data.quality)) setOrRemove("quality", qualityNow, data.quality !== undefined);
    let next = path;
    if (text(f.name) !== data.name) {
      ops.push({ op: "set", at: [...at, "name"], value: text(f.name) });
      next = `${path.split("/").slice(0, -1).join("/")}/${text(f.name)}`;
    }
    if (!ops.length) return;
    const owners = ops.map((o) => o.at[o.at.length - 1]);
    await save(root, message, ops, owners, (owner, field) => {
      const key = owner === "quality" ? `quality.${field.split(".")[0]}` : owner;
      return root.querySelector(`#signal-form [data-field="${key}"]`);
    }, next, refresh);
  });
  const label = (key, ...inputs) => h("label", {}, t(key), inputs.length > 1 ? h("span", { class: "pair" }, inputs) : inputs[0]);
  root.append(
    h("section", { class: "panel", id: "signal-form" }, h("h2", {}, t("plant.signal")),
      h("div", { class: "form-grid" },
        label("plant.name", f.name), label("plant.description", f.description), label("common.unit", f.unit),
        label("commission.role", f.role), label("plant.range", f.low, f.high), label("commission.sample_s", f.sample_s),
        h("div", { class: "hint" }, t("plant.type_is", { type: t(`commission.type.${data.type || "float"}`) }))),
      h("h2", {}, t("plant.quality")),
      h("div", { class: "form-grid" },
        label("plant.quality_range", f.q_low, f.q_high), label("plant.quality_stale", f.stale),
        label("plant.quality_flatline", f.flat, f.flat_tol), label("plant.quality_spike", f.spike)),
      h("div", { class: "toolbar" }, go), message),
    alarmRules(root, path, at, data, refresh));
}

function alarmRules(root, path, at, data, refresh) {
  const rules = { ...(data.alarms || {}) };
  const box = h("section", { class: "panel", id: "alarm-rules" }, h("h2", {}, t("plant.alarm_rules")));
  const list = h("div", {});
  const kind = h("select", { id: "rule-kind" }, RULES.filter((k) => !(k in rules)).map((k) => h("option", { value: k }, t(`plant.rule.${k}`))));
  const add = h("button", { type: "button", id: "rule-add" }, t("plant.add_rule"));
  add.addEventListener("click", () => {
    if (!kind.value) return;
    rules[kind.value] = { ...(FIELDS[kind.value].includes("limit") ? { limit: "" } : { after_s: "" }), enabled: false, fresh: true };
    kind.querySelector(`option[value="${kind.value}"]`)?.remove();
    draw();
  });
  const windowSel = h("select", { id: "test-window" }, WINDOWS.map(([k, d]) => h("option", { value: String(d) }, t(k))));
  windowSel.value = String(testWindow.days);
  windowSel.addEventListener("change", () => { testWindow.days = Number(windowSel.value); });
  box.append(h("div", { class: "hint" }, t("plant.rules_hint")), list,
    h("div", { class: "toolbar" }, data.type && !["float", "int", "bool", "enum"].includes(data.type) ? h("span", { class: "muted" }, t("plant.no_rules_for_type"))
      : [kind, add, h("label", {}, t("plant.test_window"), windowSel)]));

  function ruleBody(row, k) {
    const body = {};
    for (const name of [...FIELDS[k], "message"]) {
      const el = row.querySelector(`[data-field="${name}"]`);
      if (el.value !== "") body[name] = name === "message" ? el.value : Number(el.value);
    }
    body.priority = row.querySelector('[data-field="priority"]').value;
    body.enabled = row.querySelector('[data-field="enabled"]').checked;
    return body;
  }

  function draw() {
    list.replaceChildren(...Object.entries(rules).map(([k, rule]) => {
      const row = h("div", { class: "rule", dataset: { rule: k } });
      const inputs = FIELDS[k].map((name) => h("label", {}, t(`plant.field.${name}`), numberInput(rule[name], { "data-field": name })));
      const priority = h("select", { "data-field": "priority" }, PRIORITIES.map((p) => h("option", { value: p }, t(`alarm.priority.${p}`))));
      priority.value = rule.priority || "medium";
      const enabled = h("input", { type: "checkbox", "data-field": "enabled" });
      enabled.checked = rule.enabled !== false;
      const msg = h("input", { type: "text", "data-field": "message", size: 28, value: rule.message || "", placeholder: t("plant.message_hint") });
      const result = h("div", { class: "rule-test" });
      const message = h("div", {});
      const test = h("button", { type: "button", class: "rule-test-run" }, t("plant.test"));
      test.addEventListener("click", async () => {
        test.disabled = true;
        result.replaceChildren(h("span", { class: "muted" }, t("common.loading")));
        try {
          const end = new Date(), start = new Date(end - testWindow.days * 86400e3);
          const body = ruleBody(row, k);
          delete body.enabled;
          const r = await send("POST", `alarm-rules/test?${new URLSearchParams({ signal: path, start: start.toISOString(), end: end.toISOString() })}`, { kind: k, rule: body });
          result.replaceChildren(h("div", { class: "kpis" },
            h("div", { class: "kpi", dataset: { kpi: "activations" } }, h("div", { class: "label" }, t("plant.activations")), h("div", { class: "value" }, num(r.activations, 0))),
            h("div", { class: "kpi" }, h("div", { class: "label" }, t("plant.per_day")), h("div", { class: "value" }, num(r.per_day, 1))),
            h("div", { class: "kpi" }, h("div", { class: "label" }, t("plant.time_active")), h("div", { class: "value" }, duration(r.active_s))),
            h("div", { class: "kpi" }, h("div", { class: "label" }, t("plant.points")), h("div", { class: "value" }, num(r.points, 0)))),
          r.episodes.length ? h("details", {}, h("summary", {}, t("plant.episodes", { n: r.episodes.length })),
            h("ul", {}, r.episodes.slice(0, 20).map((e) => h("li", { class: "num" },
              dateTime(e.start_us / 1000), " – ", e.end_us ? dateTime(e.end_us / 1000) : t("plant.still_active"), ` (${num(e.value, 2)})`)))) : null);
        } catch (err) {
          result.replaceChildren(h("div", { class: "error" }, err.message));
        } finally {
          test.disabled = false;
        }
      });
      const keep = h("button", { type: "button", class: "primary rule-save" }, t("plant.save_rule"));
      keep.addEventListener("click", () => save(row, message, [{ op: "set", at: [...at, "alarms", k], value: ruleBody(row, k) }], [k],
        (_owner, field) => row.querySelector(`[data-field="${field.split(".")[0]}"]`), null, refresh));
      const drop = h("button", { type: "button", class: "rule-remove" }, t("plant.remove_rule"));
      drop.addEventListener("click", () => {
        if (rule.fresh) { delete rules[k]; draw(); return; }
        save(row, message, [{ op: "remove", at: [...at, "alarms", k] }], [k], () => null, null, refresh);
      });
      row.append(h("h3", {}, t(`plant.rule.${k}`), rule.fresh ? h("span", { class: "muted" }, " ", t("plant.draft")) : null),
        h("div", { class: "toolbar" }, inputs, h("label", {}, t("plant.priority"), priority), msg,
          h("label", {}, enabled, t("plant.enabled"))),
        h("div", { class: "toolbar" }, test, keep, drop), result, message);
      return row;
    }));
    if (!Object.keys(rules).length) list.append(h("div", { class: "muted" }, t("plant.no_rules")));
  }
  draw();
  return box;
}
