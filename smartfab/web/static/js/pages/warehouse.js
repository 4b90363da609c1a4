// Warehouse (#/warehouse/<zone path>): the storage zone's floor with its units and the AGVs as
// they move (the live virtual warehouse, streamed as server-sent events), the AGVs' list (an
// engineer pauses and resumes one there: a VDA 5050 instant action over the fleet's broker),
// each AS/RS aisle's and rack's occupancy as a heat map by bay and level, the cranes and the
// sorter's chutes, the orders with their ETA, and OTIF with the other logistics KPIs.

import { get, send } from "../api.js";
import { cardTable, dateTime, h, num, pct } from "../dom.js";
import { locale, t } from "../i18n.js";
import { whoAmI } from "../session.js";

const MAX_ROWS = 15; // orders listed: the open ones first, then the latest shipped
const SVG = "http://www.w3.org/2000/svg";
const CELL = 16; // px a floor cell, before the drawing scales to its box
const AGV_COLOR = { idle: "#5a636c", moving: "#2f6690", loaded: "#1f7a4d", charging: "#d9a520", paused: "#7b4fa0",
  broken: "#c62f2f" };

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

/** The floor once: free and blocked cells, and every unit on its cell with its name. */
function floorSvg(layout) {
  const rows = layout.floor.grid || [];
  const nodes = Object.values(layout.floor.nodes || {});
  const w = rows.length ? Math.max(...rows.map((r) => r.length)) : Math.max(...nodes.map((n) => n[0])) + 1;
  const hgt = rows.length || Math.max(...nodes.map((n) => n[1])) + 1;
  const svg = s("svg", { viewBox: `0 0 ${w * CELL} ${hgt * CELL}`, class: "wh-floor", role: "img",
    "aria-label": t("wh.floor") });
  rows.forEach((row, y) => [...row].forEach((c, x) => {
    if (!".GS".includes(c)) svg.append(s("rect", { x: x * CELL, y: y * CELL, width: CELL, height: CELL, class: "wh-wall" }));
  }));
  for (const [x, y] of nodes) svg.append(s("rect", { x: x * CELL + 2, y: y * CELL + 2, width: CELL - 4, height: CELL - 4, class: "wh-node" }));
  const unit = (u, kind) => {
    const [x, y] = u.at;
    svg.append(s("g", { class: `wh-unit wh-${kind}` },
      s("rect", { x: x * CELL + 1, y: y * CELL + 1, width: CELL - 2, height: CELL - 2, rx: 2 }),
      s("text", { x: x * CELL + CELL / 2, y: y * CELL - 2, "text-anchor": "middle" }, u.name)));
  };
  layout.asrs.forEach((u) => unit(u, "asrs"));
  layout.racks.forEach((u) => unit(u, "rack"));
  layout.gtp_stations.forEach((u) => unit(u, "gtp"));
  layout.sorters.forEach((u) => unit(u, "sorter"));
  layout.docks.forEach((u) => unit(u, "dock"));
  layout.chargers.forEach((u) => unit(u, "charger"));
  const agvs = s("g", { class: "wh-agvs" });
  svg.append(agvs);
  return { svg, agvs };
}

/** The AGVs where they are now, coloured by state; a line to where each heads. */
function drawAgvs(group, agvs) {
  group.replaceChildren();
  for (const a of agvs) {
    const cx = a.x * CELL + CELL / 2, cy = a.y * CELL + CELL / 2;
    if (a.goal[0] !== a.x || a.goal[1] !== a.y) {
      group.append(s("line", { x1: cx, y1: cy, x2: a.goal[0] * CELL + CELL / 2, y2: a.goal[1] * CELL + CELL / 2, class: "wh-goal" }));
    }
    group.append(s("circle", { cx, cy, r: CELL * 0.42, fill: AGV_COLOR[a.state] || "#888", class: "wh-agv", "data-agv": a.name },
      s("title", {}, `${a.name} (${a.serial}): ${t(`wh.agv_${a.state}`)}, ${pct(a.battery, 0)}`)));
  }
}

/** A unit's occupancy: one cell per bay and level (top level on top), darker the fuller. */
function heatmap(unit) {
  const cw = 8, ch = 10;
  const svg = s("svg", { viewBox: `0 0 ${unit.bays * cw} ${unit.levels * ch}`, class: "wh-heat",
    preserveAspectRatio: "none", "data-unit": unit.unit });
  unit.fill.forEach((row, level) => row.forEach((v, bay) => {
    svg.append(s("rect", { x: bay * cw, y: (unit.levels - 1 - level) * ch, width: cw - 1, height: ch - 1,
      fill: `rgba(47, 102, 144, ${0.08 + 0.92 * v})` }));
  }));
  const used = unit.fill.flat().reduce((a, b) => a + b, 0) / (unit.bays * unit.levels);
  return h("div", { class: "wh-heat-box" },
    h("div", { class: "row" }, h("b", { translate: "no" }, unit.unit),
      h("span", { class: "muted" }, t(`wh.kind_${unit.kind}`)), h("span", { class: "num" }, pct(used, 0))),
    svg);
}

/** The AGVs' list, its rows made once (a button replaced every second would lose clicks) and
 * updated in place: state, battery and, for an engineer, a button to pause or resume each. */
function agvList(zone, agvs, canOperate, note) {
  const cells = new Map();
  const rows = agvs.map((a) => {
    const state = h("span", { class: "wh-state" });
    const battery = h("td", { class: "num" });
    const button = canOperate ? h("button", { type: "button", class: "wh-pause", "data-agv": a.serial }) : null;
    cells.set(a.serial, { state, battery, button });
    if (button) {
      button.addEventListener("click", async () => {
        const paused = button.dataset.paused === "true";
        const action = paused ? "resume" : "pause";
        button.disabled = true;
        try {
          await send("POST", `warehouse/${zone.path}/agvs/${encodeURIComponent(a.serial)}/${action}`);
          note.textContent = t("wh.pause_sent", { agv: a.name, action: t(`wh.${action}`) });
          note.classList.remove("wh-note-error");
        } catch (err) {
          note.textContent = err.message;
          note.classList.add("wh-note-error");
        } finally {
          button.disabled = false;
        }
      });
    }
    return h("tr", { "data-agv": a.serial }, h("td", { translate: "no" }, a.name), h("td", { translate: "no" }, a.serial),
      h("td", {}, state), battery, h("td", { class: "card-wide" }, button || ""));
  });
  // A table in the side column of a desktop; cards on a phone.
  const table = cardTable("wh-agv-list", ["wh.agv", "wh.serial", "common.state", "wh.battery", ""], rows,
    { below: 440 });
  const update = (list) => {
    for (const a of list) {
      const c = cells.get(a.serial);
      if (!c) continue;
      c.state.textContent = t(`wh.agv_${a.state}`);
      c.state.className = `wh-state wh-agv-${a.state}`;
      c.battery.textContent = pct(a.battery, 0);
      if (c.button) {
        c.button.dataset.paused = String(a.paused);
        c.button.textContent = t(a.paused ? "wh.resume" : "wh.pause");
      }
    }
  };
  return { table, update };
}

function kpis(k) {
  const item = (key, value) => h("div", { class: "kpi" }, h("div", { class: "label" }, t(key)), h("div", { class: "value" }, value));
  return h("div", { class: "kpis" },
    item("wh.otif", pct(k.otif)),
    item("wh.orders_shipped", `${num(k.orders_shipped, 0)} / ${num(k.orders, 0)}`),
    item("wh.lead_time", t("unit.minutes", { n: num(k.lead_time_h * 60, 0) })),
    item("wh.dock_to_stock", t("unit.minutes", { n: num(k.dock_to_stock_min, 0) })),
    item("wh.inventory_accuracy", pct(k.inventory_accuracy)),
    item("wh.travel_per_line", `${num(k.travel_m_per_line, 0)} m`),
    item("wh.crane_utilisation", pct(k.crane_utilisation)),
    item("wh.agv_utilisation", pct(k.agv_utilisation)),
    item("wh.stockouts", num(k.line_stockouts, 0)));
}

function equipmentPanel(st) {
  const rows = st.cranes.map((c) => h("tr", {},
    h("td", { translate: "no" }, `${c.aisle} / ${c.name}`),
    h("td", {}, h("span", { class: `wh-state wh-${c.state}` }, t(`wh.${c.state}`))),
    h("td", { class: "num" }, num(c.queued, 0)), h("td", { class: "num" }, pct(c.utilisation)),
    h("td", { class: "num" }, `${num(c.single, 0)} / ${num(c.dual, 0)}`)));
  const crane = h("table", { class: "data" }, h("thead", {}, h("tr", {},
    h("th", {}, t("wh.crane")), h("th", {}, t("common.state")), h("th", { class: "num" }, t("wh.queued")),
    h("th", { class: "num" }, t("wh.utilisation")), h("th", { class: "num" }, t("wh.cycles")))), h("tbody", {}, rows));
  const sorter = st.sorter && h("div", { class: "wh-sorter" },
    h("div", { class: "row" }, h("b", { translate: "no" }, st.sorter.name),
      h("span", { class: `wh-state wh-${st.sorter.state}` }, t(`wh.${st.sorter.state}`)),
      h("span", { class: "muted" }, t("wh.recirculations", { n: num(st.sorter.recirculations, 0) }))),
    h("div", { class: "wh-chutes" }, st.sorter.chutes.map((c) => h("div", { class: c.full ? "wh-chute full" : "wh-chute", title: c.dock || "" },
      h("div", { class: "bar", style: `height:${Math.min(100, (100 * c.items) / c.capacity)}%` }),
      h("span", { translate: "no" }, c.name), h("span", { class: "num" }, `${c.items}/${c.capacity}`)))));
  return [h("div", { class: "table-scroll" }, crane), sorter];
}

/** A time of the simulated day, as the head's clock shows it (its date is there): "14:35". */
function clockTime(iso) {
  return new Intl.DateTimeFormat(locale(), { hour: "2-digit", minute: "2-digit", hour12: false })
    .format(new Date(iso));
}

function ordersTable(st) {
  const rows = st.orders.slice(0, MAX_ROWS).map((o) => h("tr", { class: o.late && o.status !== "shipped" ? "wh-late" : "" },
    h("td", { translate: "no" }, o.id), h("td", {}, t(`wh.status_${o.status}`)),
    h("td", { class: "num" }, `${o.lines_done}/${o.lines}`),
    h("td", { class: "num" }, clockTime(o.due)), h("td", { class: "num" }, clockTime(o.eta)),
    h("td", {}, o.late ? t("wh.late") : t("wh.on_time"))));
  return h("div", { class: "table-scroll" }, h("table", { class: "data wh-orders" },
    h("thead", {}, h("tr", {}, h("th", {}, t("wh.order")), h("th", {}, t("common.state")),
      h("th", { class: "num" }, t("wh.lines")), h("th", { class: "num" }, t("wh.due")),
      h("th", { class: "num" }, t("wh.eta")), h("th", {}, t("wh.delivery")))),
    h("tbody", {}, rows)));
}

export async function render(root, route) {
  const zones = await get("warehouse/zones");
  if (!zones.length) {
    root.append(h("div", { class: "page-head" }, h("h1", {}, t("wh.title"))), h("div", { class: "muted" }, t("wh.no_zone")));
    return null;
  }
  const zone = zones.find((z) => z.path === route.path) || zones[0];
  const [layout, me] = await Promise.all([get(`warehouse/layout/${zone.path}`), whoAmI()]);
  const note = h("div", { class: "muted wh-note", role: "status" });
  const fleet = agvList(zone, layout.agvs, me.permissions.includes("warehouse.operate"), note);
  const clock = h("span", { class: "sub num" });
  const legend = h("div", { class: "legend" }, Object.entries(AGV_COLOR).map(([k, c]) =>
    h("span", {}, h("i", { class: "swatch", style: `background:${c}` }), t(`wh.agv_${k}`))));
  const { svg, agvs } = floorSvg(layout);
  const kpiBox = h("div", {}), heatBox = h("div", { class: "wh-heats" }), eqBox = h("div", {}), orderBox = h("div", {});
  const summary = h("span", { class: "muted" });
  root.append(
    h("div", { class: "page-head" }, h("h1", {}, t("wh.title")), h("span", { class: "sub", translate: "no" }, zone.title || zone.name), clock),
    kpiBox,
    h("div", { class: "wh-grid" },
      h("section", { class: "panel" }, h("h2", {}, t("wh.floor")), legend, h("div", { class: "wh-floor-box" }, svg)),
      h("section", { class: "panel" }, h("h2", {}, t("wh.agvs")), fleet.table, note)),
    h("div", { class: "wh-grid" },
      h("section", { class: "panel" }, h("h2", {}, t("wh.occupancy")), heatBox),
      h("section", { class: "panel" }, h("h2", {}, t("wh.equipment")), eqBox)),
    h("section", { class: "panel" }, h("div", { class: "trend-head" }, h("h2", {}, t("wh.orders")), summary), orderBox));

  const show = (st) => {
    clock.textContent = dateTime(Date.parse(st.time)) + (st.vda5050 ? ` · ${t("wh.vda5050", { online: num(st.vda5050.online, 0), agvs: num(st.vda5050.agvs, 0) })}` : "");
    drawAgvs(agvs, st.agvs);
    fleet.update(st.agvs);
    kpiBox.replaceChildren(kpis(st.kpis));
    heatBox.replaceChildren(...st.occupancy.map(heatmap));
    eqBox.replaceChildren(...equipmentPanel(st).filter(Boolean));
    orderBox.replaceChildren(ordersTable(st));
    summary.textContent = t("wh.open_late", { open: num(st.orders_open, 0), late: num(st.orders_late, 0) });
  };
  // The first state at once, then a state a second from the stream (EventSource reconnects by
  // itself after a network error; the summary says the view is stale meanwhile).
  try {
    show(await get(`warehouse/state/${zone.path}`));
  } catch (err) {
    summary.textContent = err.message;
  }
  const source = new EventSource(`api/warehouse/live/${zone.path}`);
  source.addEventListener("state", (e) => show(JSON.parse(e.data)));
  source.addEventListener("unavailable", (e) => { summary.textContent = JSON.parse(e.data).detail; source.close(); });
  source.addEventListener("error", () => { summary.textContent = t("wh.stale"); });
  return () => source.close();
}
