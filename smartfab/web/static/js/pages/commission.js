// Commissioning a machine: a device connection (one of the plant's, or a new one), browsed live
// (an OPC UA address space, Modbus registers decoded, the MQTT topics heard), the variables
// picked and mapped to signals of the ISA-95 tree with unit, type, role, range and sampling,
// their values previewed, then saved into the plant file: checked as `plant check` and against
// the device, each problem shown at its field; running at once; undoable.

import { get, rows, send } from "../api.js";
import { h, leaf, num } from "../dom.js";
import { t } from "../i18n.js";
import { openNewDashboard } from "./common.js";
import { conflictView, diffView, issueList, locate, markFields, saveEdit, undoEdit } from "./plantedit.js";

const PROTOCOLS = ["opcua", "modbus", "mqtt"];
const ROLES = ["measurement", "state", "fault", "good_count", "scrap_count", "energy"];
const TYPES = ["float", "int", "bool", "enum", "string", "array"];
const REGISTER_TYPES = ["uint16", "int16", "uint32", "int32", "uint64", "int64", "float32", "float64"];
const TABLES = ["holding", "input", "coil", "discrete_input"];
const POLL_MS = 2000;

// What is being commissioned survives a re-render (a language change re-renders the page).
const state = {
  use: "", // a connection of the plant, or "" for a new one
  conn: { protocol: "opcua", name: "", endpoint: "opc.tcp://", security_policy: "none", security_mode: "none", host: "", port: "", unit: "1" },
  found: null, // what the device offers: variables, registers or topics
  filter: "",
  modbus: { table: "holding", start: 0, count: 20, type: "uint16", word_order: "big" },
  mqtt: { filter: "#", seconds: 3 },
  picked: [], // {binding, name, unit, type, role, low, high, sample_s, values, length, label, value}
  target: { mode: "existing", equipment: "", cell: "", name: "", title: "" },
  checkDevices: true,
  summary: "",
  saved: null, // the change saved last, to show and to undo
};

// OPC UA's names of security policies and modes, from the page's tokens: sign_and_encrypt ->
// SignAndEncrypt, basic256_sha256 -> Basic256Sha256.
function opcuaName(token) { return token.split("_").map((w) => w[0].toUpperCase() + w.slice(1)).join(""); }

/** A value read from a device as the page shows it. */
function shown(v) {
  if (v === undefined || v === null) return "–";
  if (typeof v === "number") return num(v, Number.isInteger(v) ? 0 : 2);
  return Array.isArray(v) ? `[${v.length}]` : String(v);
}

function slug(text) {
  const s = String(text).split(/[/.]/).pop().toLowerCase().replace(/[^a-z0-9_-]+/g, "_").replace(/^[_-]+/, "");
  return (s || "signal").slice(0, 63);
}

/** The connection as the plant file writes it (only what the chosen protocol takes). */
function connectionBody() {
  const c = state.conn;
  if (c.protocol === "opcua") {
    const body = { name: c.name, protocol: "opcua", endpoint: c.endpoint };
    if (c.security_policy !== "none") Object.assign(body, { security_policy: opcuaName(c.security_policy), security_mode: opcuaName(c.security_mode) });
    return body;
  }
  const body = { name: c.name, protocol: c.protocol, host: c.host };
  if (c.port) body.port = Number(c.port);
  if (c.protocol === "modbus" && c.unit !== "") body.unit = Number(c.unit);
  return body;
}

function device() { return state.use ? { name: state.use } : { connection: connectionBody() }; }

function protocol(connections) {
  return state.use ? connections.find((c) => c.name === state.use)?.protocol : state.conn.protocol;
}

export async function render(root) {
  const [connections, tree] = await Promise.all([get("plant/connections"), get("assets")]);
  let timer = null;
  const cells = [], equipment = [];
  for (const area of tree.children) for (const ln of area.children) for (const cell of ln.children) {
    cells.push(cell);
    for (const eq of cell.children) equipment.push(eq);
  }
  if (!state.target.equipment && equipment.length) state.target.equipment = equipment[0].path;
  if (!state.target.cell && cells.length) state.target.cell = cells[0].path;

  const connBox = h("div", { id: "commission-connection" });
  const browseBox = h("div", { id: "commission-browse" });
  const mapBox = h("div", { id: "commission-map" });
  const message = h("div", { id: "commission-message" });
  const result = h("div", { id: "commission-result" });
  root.append(
    h("div", { class: "page-head" }, h("h1", {}, t("commission.title")), h("span", { class: "sub" }, t("commission.sub"))),
    h("section", { class: "panel" }, h("h2", {}, t("commission.step_connection")), connBox),
    h("section", { class: "panel" }, h("h2", {}, t("commission.step_browse")), browseBox),
    h("section", { class: "panel" }, h("h2", {}, t("commission.step_map")), mapBox, message),
    result);

  function field(label, input) { return h("label", {}, t(label), input); }
  // An input showing obj[key] and keeping it as typed; onChange once a choice is made.
  function bound(input, obj, key, onChange) {
    input.value = String(obj[key] ?? "");
    input.addEventListener("input", () => { obj[key] = input.value; });
    input.addEventListener("change", () => { obj[key] = input.value; onChange?.(); });
    return input;
  }
  function select(options, labels, attrs = {}) {
    return h("select", attrs, options.map((o, i) => h("option", { value: o }, labels ? labels[i] : o)));
  }

  function drawConnection() {
    const use = select(["", ...connections.map((c) => c.name)], [t("commission.new_connection"), ...connections.map((c) => `${c.name} (${t(`commission.protocol.${c.protocol}`)})`)], { id: "connection-use" });
    bound(use, state, "use", () => { state.found = null; drawConnection(); drawBrowse(); });
    const parts = [h("div", { class: "toolbar" }, field("commission.connection", use))];
    if (!state.use) {
      const c = state.conn;
      const proto = select(PROTOCOLS, PROTOCOLS.map((p) => t(`commission.protocol.${p}`)), { id: "connection-protocol" });
      bound(proto, c, "protocol", () => { state.found = null; drawConnection(); drawBrowse(); });
      const name = bound(h("input", { type: "text", id: "connection-name", "data-field": "name", placeholder: t("commission.name_hint") }), c, "name");
      const row = [field("commission.protocol", proto), field("commission.name", name)];
      if (c.protocol === "opcua") {
        row.push(field("commission.endpoint", bound(h("input", { type: "text", id: "connection-endpoint", "data-field": "endpoint", size: 34 }), c, "endpoint")));
        const policies = ["none", "basic256_sha256"], modes = ["none", "sign", "sign_and_encrypt"];
        row.push(field("commission.security_policy", bound(select(policies, policies.map((m) => t(`commission.security.${m}`)), { "data-field": "security_policy" }), c, "security_policy")));
        row.push(field("commission.security_mode", bound(select(modes, modes.map((m) => t(`commission.security.${m}`)), { "data-field": "security_mode" }), c, "security_mode")));
      } else {
        row.push(field("commission.host", bound(h("input", { type: "text", id: "connection-host", "data-field": "host" }), c, "host")));
        row.push(field("commission.port", bound(h("input", { type: "number", id: "connection-port", "data-field": "port", min: 1, max: 65535 }), c, "port")));
        if (c.protocol === "modbus") row.push(field("commission.unit_id", bound(h("input", { type: "number", "data-field": "unit", min: 0, max: 247 }), c, "unit")));
      }
      parts.push(h("div", { class: "toolbar" }, row));
    }
    connBox.replaceChildren(...parts);
  }

  async function ask(button, work) {
    button.disabled = true;
    const status = h("span", { class: "muted" }, t("common.loading"));
    button.after(status);
    try {
      await work();
      status.remove();
    } catch (err) {
      status.replaceWith(h("div", { class: "error", id: "browse-error" }, err.message));
    } finally {
      button.disabled = false;
    }
  }

  function pick(item) {
    const key = JSON.stringify(item.binding);
    if (state.picked.some((p) => JSON.stringify(p.binding) === key)) return;
    state.picked.push({ role: "measurement", low: "", high: "", sample_s: 1, value: undefined, ...item });
    drawMap();
  }

  function drawBrowse() {
    const p = protocol(connections);
    const parts = [];
    if (p === "opcua") {
      const go = h("button", { type: "button", id: "browse", class: "primary" }, t("commission.browse"));
      go.addEventListener("click", () => ask(go, async () => {
        state.found = (await send("POST", "commissioning/opcua/browse", device())).variables;
        drawFound();
      }));
      // Filtered as typed; not on change, which comes when a pick button takes the focus and
      // would draw the table anew under the click.
      const filter = h("input", { type: "text", id: "browse-filter", value: state.filter, placeholder: t("commission.filter_hint") });
      filter.addEventListener("input", () => { state.filter = filter.value; drawFound(); });
      parts.push(h("div", { class: "toolbar" }, go, filter));
    } else if (p === "modbus") {
      const m = state.modbus;
      const go = h("button", { type: "button", id: "read-registers", class: "primary" }, t("commission.read"));
      go.addEventListener("click", () => ask(go, async () => {
        const body = { ...device(), table: m.table, start: Number(m.start), count: Number(m.count), type: m.type, word_order: m.word_order };
        state.found = { ...m, registers: (await send("POST", "commissioning/modbus/registers", body)).registers };
        drawFound();
      }));
      parts.push(h("div", { class: "toolbar" },
        field("commission.table", bound(select(TABLES, TABLES.map((x) => t(`commission.table.${x}`)), { id: "modbus-table" }), m, "table")),
        field("commission.start", bound(h("input", { type: "number", id: "modbus-start", min: 0, max: 65535 }), m, "start")),
        field("commission.count", bound(h("input", { type: "number", id: "modbus-count", min: 1, max: 125 }), m, "count")),
        field("commission.register_type", bound(select(REGISTER_TYPES, null, { id: "modbus-type", translate: "no" }), m, "type")),
        field("commission.word_order", bound(select(["big", "little"], [t("commission.order.big"), t("commission.order.little")], { id: "modbus-order" }), m, "word_order")),
        go));
    } else {
      const q = state.mqtt;
      const go = h("button", { type: "button", id: "listen", class: "primary" }, t("commission.listen"));
      go.addEventListener("click", () => ask(go, async () => {
        state.found = (await send("POST", "commissioning/mqtt/topics", { ...device(), filter: q.filter, seconds: Number(q.seconds) })).topics;
        drawFound();
      }));
      parts.push(h("div", { class: "toolbar" },
        field("commission.topic_filter", bound(h("input", { type: "text", id: "mqtt-filter", translate: "no" }), q, "filter")),
        field("commission.seconds", bound(h("input", { type: "number", min: 0.2, max: 30, step: "any" }), q, "seconds")),
        go));
    }
    const found = h("div", { class: "table-scroll found", id: "browse-found" });
    parts.push(found);
    browseBox.replaceChildren(...parts);
    drawFound();

    function drawFound() {
      const f = state.found;
      if (!f) { found.replaceChildren(h("div", { class: "hint" }, t("commission.browse_hint"))); return; }
      if (p === "opcua") {
        const words = state.filter.toLowerCase();
        const shown = f.filter((v) => !words || v.path.toLowerCase().includes(words) || v.node.toLowerCase().includes(words)).slice(0, 300);
        found.replaceChildren(h("div", { class: "hint" }, t("commission.variables", { n: f.length, shown: shown.length })),
          h("table", { class: "data", id: "variables" },
            h("tr", {}, ["", "commission.variable", "commission.node", "commission.data_type", "common.unit"].map((k) => h("th", {}, k ? t(k) : ""))),
            shown.map((v) => h("tr", { dataset: { node: v.node } },
              h("td", {}, h("button", { type: "button", class: "pick", disabled: !v.signal_type, title: v.signal_type ? "" : t("commission.no_signal_type"),
                onclick: () => pick({ binding: { node: v.node }, label: v.path, name: slug(v.path), unit: v.unit || "1", type: v.signal_type, values: v.values, length: v.length }) }, t("commission.pick"))),
              h("td", { translate: "no" }, v.path), h("td", { translate: "no", class: "node" }, v.node),
              h("td", { translate: "no" }, v.data_type), h("td", { translate: "no" }, v.unit ?? "–")))));
      } else if (p === "modbus") {
        found.replaceChildren(h("table", { class: "data", id: "registers" },
          h("tr", {}, ["commission.address", "commission.raw", "commission.decoded", ""].map((k) => h("th", { class: k ? "num" : "" }, k ? t(k) : ""))),
          f.registers.map((r) => h("tr", {},
            h("td", { class: "num" }, r.address), h("td", { class: "num" }, r.raw),
            h("td", { class: "num" }, r.value ?? "–"),
            h("td", {}, h("button", { type: "button", class: "pick", disabled: r.value === null,
              onclick: () => {
                const bits = f.table === "coil" || f.table === "discrete_input";
                const binding = bits ? { table: f.table, register: r.address } : { table: f.table, register: r.address, type: f.type, word_order: f.word_order };
                pick({ binding, label: `${t(`commission.table.${f.table}`)} ${r.address}`, name: `register_${r.address}`, unit: "1", type: bits ? "bool" : f.type.startsWith("float") ? "float" : "int" });
              } }, t("commission.pick")))))));
      } else {
        found.replaceChildren(f.length ? h("table", { class: "data", id: "topics" },
          h("tr", {}, ["commission.topic", "commission.field", "common.value", ""].map((k) => h("th", {}, k ? t(k) : ""))),
          f.flatMap((topic) => Object.entries(topic.fields).map(([name, value]) => h("tr", {},
            h("td", { translate: "no" }, topic.topic), h("td", { translate: "no" }, name), h("td", { class: "num" }, String(value)),
            h("td", {}, h("button", { type: "button", class: "pick",
              onclick: () => pick({ binding: { topic: topic.topic, field: name }, label: `${topic.topic} ${name}`, name: slug(name), unit: "1", type: typeof value === "string" ? "string" : "float" }) }, t("commission.pick")))))))
          : h("div", { class: "muted" }, t("commission.no_topics")));
      }
    }
  }

  function drawMap() {
    const tg = state.target;
    const mode = select(["existing", "new"], [t("commission.target_existing"), t("commission.target_new")], { id: "target-mode" });
    bound(mode, tg, "mode", drawMap);
    const parts = [h("div", { class: "toolbar" }, field("commission.target", mode))];
    if (tg.mode === "existing") {
      const eq = select(equipment.map((e) => e.path), equipment.map((e) => e.path), { id: "target-equipment", translate: "no" });
      parts[0].append(field("common.equipment", bound(eq, tg, "equipment")));
    } else {
      parts[0].append(
        field("commission.cell", bound(select(cells.map((c) => c.path), null, { id: "target-cell", translate: "no" }), tg, "cell")),
        field("commission.equipment_name", bound(h("input", { type: "text", id: "equipment-name", "data-field": "eq-name", placeholder: t("commission.name_hint") }), tg, "name")),
        field("commission.equipment_title", bound(h("input", { type: "text", id: "equipment-title", "data-field": "eq-title" }), tg, "title")));
    }
    if (!state.picked.length) {
      parts.push(h("div", { class: "hint" }, t("commission.pick_hint")));
      mapBox.replaceChildren(...parts);
      return;
    }
    const table = h("table", { class: "data mapping", id: "mapping" },
      h("tr", {}, ["commission.source", "commission.signal_name", "common.unit", "commission.type", "commission.role", "commission.low", "commission.high", "commission.sample_s", "commission.preview", ""].map((k) => h("th", {}, k ? t(k) : ""))),
      state.picked.map((p, i) => h("tr", { dataset: { row: String(i) } },
        h("td", { translate: "no", class: "source", "data-field": "source" }, p.label),
        h("td", {}, bound(h("input", { type: "text", class: "sig-name", "data-field": "name", "aria-label": t("commission.signal_name") }), p, "name")),
        h("td", {}, bound(h("input", { type: "text", class: "sig-unit", "data-field": "unit", size: 6, "aria-label": t("common.unit") }), p, "unit")),
        h("td", {}, bound(select(TYPES, TYPES.map((x) => t(`commission.type.${x}`)), { class: "sig-type", "data-field": "type", "aria-label": t("commission.type") }), p, "type")),
        h("td", {}, bound(select(ROLES, ROLES.map((x) => t(`commission.role.${x}`)), { class: "sig-role", "data-field": "role", "aria-label": t("commission.role") }), p, "role")),
        h("td", {}, bound(h("input", { type: "number", step: "any", class: "sig-low", "data-field": "range", "aria-label": t("commission.low") }), p, "low")),
        h("td", {}, bound(h("input", { type: "number", step: "any", class: "sig-high", "aria-label": t("commission.high") }), p, "high")),
        h("td", {}, bound(h("input", { type: "number", step: "any", min: 0.001, class: "sig-sample", "data-field": "sample_s", "aria-label": t("commission.sample_s") }), p, "sample_s")),
        h("td", { class: "num sig-value" }, shown(p.value)),
        h("td", {}, h("button", { type: "button", class: "icon", title: t("commission.unpick"), "aria-label": t("commission.unpick"), onclick: () => { state.picked.splice(i, 1); drawMap(); } }, "×")))));
    const preview = h("button", { type: "button", id: "preview" }, t("commission.preview_values"));
    preview.addEventListener("click", () => ask(preview, async () => {
      const bindings = state.picked.map((p) => (p.type === "string" && "register" in p.binding ? { ...p.binding, text: true, length: p.length || 16 } : p.binding));
      const values = (await send("POST", "commissioning/preview", { ...device(), bindings })).values;
      values.forEach((v, i) => { state.picked[i].value = v; });
      drawMap();
    }));
    const check = h("input", { type: "checkbox", id: "check-devices" });
    check.checked = state.checkDevices;
    check.addEventListener("change", () => { state.checkDevices = check.checked; });
    const summary = bound(h("input", { type: "text", id: "edit-summary", size: 30, placeholder: t("commission.summary_hint") }), state, "summary");
    const save = h("button", { type: "button", id: "save", class: "primary" }, t("commission.save"));
    save.addEventListener("click", () => ask(save, doSave));
    parts.push(h("div", { class: "table-scroll" }, table),
      h("div", { class: "toolbar" }, preview, h("label", {}, check, t("commission.check_devices")), summary, save));
    mapBox.replaceChildren(...parts);
  }

  function signalOf(p, connection) {
    const sig = { name: p.name, unit: p.unit, type: p.type, role: p.role };
    if (p.low !== "" && p.high !== "" && p.low !== undefined && p.high !== undefined) sig.range = [Number(p.low), Number(p.high)];
    if (p.sample_s !== "" && p.sample_s !== undefined) sig.sample_s = Number(p.sample_s);
    if (p.type === "enum" && p.values) sig.values = p.values;
    if ((p.type === "array" || (p.type === "string" && "register" in p.binding)) && (p.length || p.type === "string")) sig.length = p.length || 16;
    sig.source = { [protocol(connections)]: { connection, ...p.binding } };
    return sig;
  }

  // Each operation of the change and what the form shows it with, for its problems.
  function buildOps() {
    const ops = [], owners = [];
    const connection = state.use || state.conn.name;
    if (!state.use) { ops.push({ op: "insert", at: ["connections"], value: connectionBody() }); owners.push({ kind: "connection" }); }
    const signals = state.picked.map((p) => signalOf(p, connection));
    const tg = state.target;
    if (tg.mode === "new") {
      const value = { name: tg.name, ...(tg.title ? { title: tg.title } : {}), signals };
      ops.push({ op: "insert", at: [...locate(tg.cell), "equipment"], value });
      owners.push({ kind: "equipment" });
    } else {
      signals.forEach((value, row) => { ops.push({ op: "insert", at: [...locate(tg.equipment), "signals"], value }); owners.push({ kind: "signal", row }); });
    }
    return { ops, owners };
  }

  function inputFor(owner, fieldName) {
    if (owner.kind === "connection") return connBox.querySelector(`[data-field="${fieldName.split(".")[0]}"]`);
    let row = owner.row;
    let rest = fieldName;
    if (owner.kind === "equipment") {
      const m = /^signals\[(\d+)\]\.?(.*)$/.exec(fieldName);
      if (!m) return mapBox.querySelector(`[data-field="eq-${fieldName || "name"}"]`);
      row = Number(m[1]);
      rest = m[2];
    }
    const tr = mapBox.querySelector(`tr[data-row="${row}"]`);
    if (!tr) return null;
    const key = rest.startsWith("source") ? "source" : rest.startsWith("range") ? "range" : rest.split(".")[0] || "name";
    return tr.querySelector(`[data-field="${key}"]`);
  }

  async function doSave() {
    message.replaceChildren();
    const file = await get("plant/file");
    const { ops, owners } = buildOps();
    const tg = state.target;
    const eqPath = tg.mode === "new" ? `${tg.cell}/${tg.name}` : tg.equipment;
    const summary = state.summary.trim() || t("commission.default_summary", { equipment: eqPath, signals: state.picked.map((p) => p.name).join(", ") });
    const out = await saveEdit({ revision: file.revision, ops, summary, check_devices: state.checkDevices });
    if (out.issues) {
      const rest = markFields(root, out.issues, (i) => (i.op === null ? null : inputFor(owners[i.op], i.field)));
      message.replaceChildren(h("div", { class: "error", id: "save-refused" }, t("edit.refused_fields", { n: out.issues.length })), issueList(rest) || "");
      return;
    }
    if (out.conflict) { message.replaceChildren(conflictView(out.conflict, () => doSave())); return; }
    markFields(root, [], () => null);
    state.saved = {
      change: out.change, paths: state.picked.map((p) => `${eqPath}/${p.name}`),
      numbers: state.picked.filter((p) => p.type === "float" || p.type === "int").map((p) => `${eqPath}/${p.name}`),
    };
    state.picked = [];
    state.summary = "";
    drawMap();
    drawResult();
  }

  const equipmentOf = (saved) => saved.paths[0].split("/").slice(0, -1).join("/");

  function drawResult() {
    clearInterval(timer);
    const saved = state.saved;
    if (!saved) { result.replaceChildren(); return; }
    const values = h("table", { class: "data", id: "saved-values" },
      h("tr", {}, h("th", {}, t("common.signal")), h("th", { class: "num" }, t("commission.live_value"))),
      saved.paths.map((path) => h("tr", { dataset: { path } }, h("td", { translate: "no" }, path), h("td", { class: "num live-value" }, "–"))));
    const undo = h("button", { type: "button", id: "undo" }, t("edit.undo"));
    // The new signals on a dashboard of one's own: their live values, and the numbers' trend.
    const toDashboard = h("button", { type: "button", id: "to-dashboard" }, t("commission.to_dashboard"));
    toDashboard.addEventListener("click", () => ask(toDashboard, () => openNewDashboard(leaf(equipmentOf(saved)), [
      { type: "table", id: "values", title: t("commission.live_value"), w: 12, h: 3, signals: saved.paths },
      ...(saved.numbers.length ? [{ type: "trend", id: "trend", w: 12, h: 6, signals: saved.numbers.map((path) => ({ path })) }] : []),
    ], 3600)));
    const note = h("div", {});
    undo.addEventListener("click", () => ask(undo, async () => {
      const file = await get("plant/file");
      const out = await undoEdit(file.revision, saved.change.seq);
      if (out.conflict) { note.replaceChildren(conflictView(out.conflict, () => undo.click())); return; }
      if (out.issues) { note.replaceChildren(issueList(out.issues)); return; }
      clearInterval(timer);
      state.saved = null;
      result.replaceChildren(h("section", { class: "panel", id: "undone" }, h("h2", {}, t("commission.undone")),
        h("div", {}, t("commission.undone_text", { seq: saved.change.seq })), diffView(out.change.diff)));
    }));
    result.replaceChildren(h("section", { class: "panel", id: "saved" },
      h("h2", {}, t("commission.saved", { seq: saved.change.seq })),
      h("div", { class: "hint" }, saved.change.summary),
      h("div", { class: "table-scroll" }, values),
      h("div", { class: "toolbar" }, undo, h("a", { href: `#/equipment/${equipmentOf(saved)}` }, t("commission.open_equipment")), toDashboard),
      note,
      h("details", {}, h("summary", {}, t("commission.diff")), diffView(saved.change.diff))));
    async function poll() {
      try {
        const latest = rows(await get("latest", { signal: saved.paths }));
        for (const r of latest) {
          const cell = values.querySelector(`tr[data-path="${CSS.escape(r.path)}"] .live-value`);
          if (cell) cell.textContent = `${r.value_name ?? shown(r.value)} ${r.unit === "1" ? "" : r.unit}`.trim();
        }
      } catch { /* the next poll tries again */ }
    }
    poll();
    timer = setInterval(poll, POLL_MS);
  }

  drawConnection();
  drawBrowse();
  drawMap();
  drawResult();
  return () => clearInterval(timer);
}

