// Plant overview: every equipment as a tile, grouped by area and line, coloured by its live state
// and showing its OEE over the chosen range, its power draw and an active fault.

import { get, live } from "../api.js";
import { h, leaf, pct, num, rangeButtons, stateLabel } from "../dom.js";
import { t } from "../i18n.js";
import { firstRow, iso, stateLegend } from "./common.js";

const REFRESH_MS = 60_000; // OEE over hours moves slowly; live values come through the feed
let span = 86400e3;

export async function render(root, _route, plant, refresh) {
  if (!plant) throw new Error(t("error.no_plant"));
  const tiles = new Map(); // equipment path -> {el, oee, live, fault, state}
  const lineOee = new Map();
  const details = new Map(); // path -> /api/equipment body (fault texts, state codes)

  const toolbar = h("div", { class: "toolbar" },
    h("span", { class: "muted" }, t("overview.oee_over")),
    rangeButtons(span, (s) => { span = s; refresh(); }),
    stateLegend());
  root.append(h("div", { class: "page-head" }, h("h1", {}, t("overview.title")),
    h("span", { class: "sub" }, plant.tree.title)), toolbar);

  for (const area of plant.tree.children) {
    const block = h("section", { class: "area" }, h("h2", {}, area.title || area.name));
    // An area of storage zones only (a warehouse) has no machines to tile: a way to its page.
    if (!area.children.length) block.append(h("a", { class: "line-label", href: "#/warehouse" }, t("overview.storage_area")));
    for (const ln of plant.lines.filter((l) => l.area.path === area.path)) {
      const lo = h("div", { class: "oee num" }, "–");
      lineOee.set(ln.path, lo);
      const grid = h("div", { class: "tiles" });
      for (const eq of ln.equipment) {
        const parts = {
          state: h("span", { class: "state" }, stateLabel(null)),
          oee: h("span", { class: "oee" }, "–"),
          live: h("span", { class: "live" }, ""),
          fault: h("div", { class: "fault" }),
        };
        const el = h("a", { class: "tile", href: `#/equipment/${eq.path}`, dataset: { path: eq.path } },
          h("div", { class: "row" }, h("span", { class: "name" }, leaf(eq.path)), parts.state),
          h("div", { class: "title" }, eq.title),
          h("div", { class: "row" }, h("span", { class: "muted" }, t("kpi.oee")), parts.oee),
          h("div", { class: "row" }, h("span", { class: "muted" }, t("overview.power")), parts.live),
          parts.fault);
        tiles.set(eq.path, { el, ...parts });
        grid.append(el);
      }
      block.append(h("div", { class: "line-row" },
        h("a", { class: "line-label", href: `#/line/${ln.path}` },
          h("div", {}, ln.title || ln.name), h("div", { class: "muted" }, t("kpi.oee")), lo),
        grid));
    }
    root.append(block);
  }

  // Fault texts and state names per equipment, for the tiles.
  await Promise.all(plant.equipment.map(async (eq) => details.set(eq.path, await get(`equipment/${eq.path}`))));

  const onLive = (msg) => {
    for (const [equipment, state] of Object.entries(msg.states || {})) {
      const tile = tiles.get(equipment);
      if (!tile) continue;
      tile.el.dataset.state = state;
      tile.state.dataset.state = state;
      tile.state.textContent = stateLabel(state);
    }
    for (const [path, [, value]] of Object.entries(msg.values || {})) {
      const cut = path.lastIndexOf("/");
      const tile = tiles.get(path.slice(0, cut));
      if (!tile) continue;
      const name = path.slice(cut + 1);
      if (name === "power") tile.live.textContent = `${num(value, 1)} ${t("unit.kW")}`;
      if (name === "fault_code") {
        const text = value ? details.get(path.slice(0, cut))?.faults?.[String(value)] : "";
        tile.fault.textContent = value ? t("overview.fault", { code: value, text: text || "" }) : "";
      }
    }
  };
  const unsubscribe = live.subscribe(onLive);

  async function refreshOee() {
    const now = Date.now();
    const body = await get("oee", { path: plant.tree.path, start: iso(now - span), end: iso(now), by_equipment: true });
    for (const [path, table] of Object.entries(body.by_equipment)) {
      const tile = tiles.get(path);
      if (tile) tile.oee.textContent = pct(firstRow(table).oee);
    }
    await Promise.all(plant.lines.map(async (ln) => {
      const b = await get("oee", { path: ln.path, start: iso(now - span), end: iso(now) });
      lineOee.get(ln.path).textContent = pct(firstRow(b.total).oee);
    }));
    root.dataset.oeeLoaded = "true";
  }
  refreshOee().catch((e) => console.error(e));
  const timer = setInterval(() => refreshOee().catch((e) => console.error(e)), REFRESH_MS);
  return () => { clearInterval(timer); unsubscribe(); };
}
