// The web app's shell: language, the live feed, the clock, breadcrumbs and a hash router that
// renders one page at a time. Pages export render(root, route, plant, refresh) and may return a
// cleanup function, called when the user leaves the page (to close charts and live
// subscriptions); refresh() renders the current page again.

import { get, live } from "./api.js";
import { h, leaf } from "./dom.js";
import { initialLanguage, setLanguage, t, locale } from "./i18n.js";
import { logout, whoAmI } from "./session.js";
import * as overview from "./pages/overview.js";
import * as line from "./pages/line.js";
import * as equipment from "./pages/equipment.js";
import * as spc from "./pages/spc.js";
import * as alarms from "./pages/alarms.js";
import * as scheduling from "./pages/scheduling.js";
import * as twin from "./pages/twin.js";
import * as maintenance from "./pages/maintenance.js";
import * as transformation from "./pages/transformation.js";
import * as warehouse from "./pages/warehouse.js";
import * as energy from "./pages/energy.js";
import * as quality from "./pages/quality.js";
import * as recommendations from "./pages/recommendations.js";
import * as admin from "./pages/admin.js";

const PAGES = {
  "": overview, line, equipment, spc, alarms, maintenance, scheduling, twin, energy, quality, recommendations,
  transformation, warehouse, admin,
};
// Pages reached through another's entry of the navigation (as its tabs).
// The plant model and commissioning sit under System, beside the connectors they feed: the top
// bar has no room for another entry.
const NAV_OF = {
  quality: "energy", recommendations: "energy", scheduling: "planning", twin: "planning", plant: "admin", commission: "admin",
};

// Dashboards people build, and trends that compare signals.
import * as dashboards from "./pages/dashboards.js";
import * as trends from "./pages/trends.js";
Object.assign(PAGES, { dashboards, trends });

// The engineer's pages: commissioning, and the plant model edited.
import * as commission from "./pages/commission.js";
import * as plantModel from "./pages/plant.js";
Object.assign(PAGES, { commission, plant: plantModel });
let cleanup = null;
let plant = null;

/** The asset tree flattened into what pages need: lines and equipment with their parents. */
function indexPlant(tree) {
  const lines = [], equipmentList = [];
  for (const area of tree.children) {
    for (const ln of area.children) {
      const entry = { ...ln, area, equipment: [] };
      lines.push(entry);
      for (const cell of ln.children) {
        for (const eq of cell.children) {
          const e = { ...eq, line: entry, area, cell };
          entry.equipment.push(e);
          equipmentList.push(e);
        }
      }
    }
  }
  return { tree, lines, equipment: equipmentList, byPath: new Map(equipmentList.map((e) => [e.path, e])) };
}

function parseRoute() {
  const hash = decodeURIComponent(location.hash.replace(/^#\/?/, ""));
  const [page, ...rest] = hash.split("/");
  return { page: page in PAGES ? page : "", path: rest.join("/") };
}

function crumbs(route) {
  const nav = document.getElementById("crumbs");
  nav.replaceChildren();
  const add = (href, text) => nav.append(h("a", { href }, text), h("span", { class: "sep" }, "›"));
  add("#/", t("nav.overview"));
  const eq = plant && plant.byPath.get(route.path);
  const ln = eq ? eq.line : plant && plant.lines.find((l) => l.path === route.path);
  if (ln) add(`#/line/${ln.path}`, ln.title || leaf(ln.path));
  if (eq) add(`#/equipment/${eq.path}`, leaf(eq.path));
  nav.lastChild?.remove();
}

async function show() {
  if (cleanup) { cleanup(); cleanup = null; }
  const route = parseRoute();
  const nav = NAV_OF[route.page] || route.page || "overview";
  for (const a of document.querySelectorAll("[data-nav]")) a.classList.toggle("active", a.dataset.nav === nav);
  crumbs(route);
  const root = document.getElementById("view");
  const page = PAGES[route.page];
  // In the document before the page renders: charts size themselves by their container.
  const view = h("div", { class: `page page-${route.page || "overview"}` });
  const loading = h("div", { class: "loading" }, t("common.loading"));
  root.replaceChildren(loading, view);
  try {
    cleanup = (await page.render(view, route, plant, show)) || null;
  } catch (err) {
    view.replaceChildren(h("div", { class: "error" }, t("error.load", { reason: err.message })));
  }
  loading.remove();
  document.title = `smartfab · ${t(`nav.${route.page || "overview"}`)}`;
}

/**
 * The top bar stays one row: when its items do not fit (a phone, the longer words of a language),
 * the navigation, user, logout and language go behind the menu button. Measured rather than set
 * by a width breakpoint, since what fits depends on the language and the names shown.
 */
function fitTopbar() {
  const bar = document.getElementById("topbar");
  const open = bar.classList.contains("open");
  bar.classList.remove("compact", "open");
  const compact = bar.scrollWidth > bar.clientWidth;
  bar.classList.toggle("compact", compact);
  bar.classList.toggle("open", compact && open);
  document.getElementById("menu-toggle").setAttribute("aria-expanded", String(compact && open));
}

function setMenu(open) {
  const bar = document.getElementById("topbar");
  bar.classList.toggle("open", open);
  document.getElementById("menu-toggle").setAttribute("aria-expanded", String(open));
}

/** The user's menu (language, logout) opens under the user's name in a wide bar. */
function setUserMenu(open) {
  document.getElementById("user-menu").classList.toggle("open", open);
  document.getElementById("user-menu-toggle").setAttribute("aria-expanded", String(open));
}

function initMenu() {
  const bar = document.getElementById("topbar");
  const userMenu = document.getElementById("user-menu");
  document.getElementById("menu-toggle").addEventListener("click", () => setMenu(!bar.classList.contains("open")));
  document.getElementById("user-menu-toggle").addEventListener("click", () => setUserMenu(!userMenu.classList.contains("open")));
  document.addEventListener("click", (e) => { if (!userMenu.contains(e.target)) setUserMenu(false); });
  document.addEventListener("keydown", (e) => { if (e.key === "Escape") setUserMenu(false); });
  // Choosing a page, or anything outside the menu, closes it; so does Escape.
  document.getElementById("topmenu").addEventListener("click", (e) => { if (e.target.closest("a")) setMenu(false); });
  document.addEventListener("click", (e) => { if (!bar.contains(e.target)) setMenu(false); });
  document.addEventListener("keydown", (e) => { if (e.key === "Escape") setMenu(false); });
  new ResizeObserver(fitTopbar).observe(bar);
  // What the bar holds changes its width: names, the alarm count, the language.
  new MutationObserver(fitTopbar).observe(bar, { subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ["hidden"] });
}

/** Menu entries that name a permission (data-needs) show only to who holds it: the server
 * refuses the page's requests anyway, the menu need not offer it. */
function showPermitted(me) {
  for (const el of document.querySelectorAll("[data-needs]")) {
    el.hidden = !el.dataset.needs.split(" ").some((p) => me.permissions.includes(p));
  }
}

function tickClock() {
  const el = document.getElementById("clock");
  el.textContent = new Intl.DateTimeFormat(locale(), {
    hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
  }).format(new Date());
}

function showLiveStatus(state) {
  const el = document.getElementById("live-status");
  el.dataset.state = state;
  const text = document.getElementById("live-text");
  text.dataset.i18n = `live.${state}`;
  text.textContent = t(`live.${state}`);
}

async function main() {
  await setLanguage(initialLanguage());
  const select = document.getElementById("lang");
  select.value = initialLanguage();
  select.addEventListener("change", async () => {
    await setLanguage(select.value);
    setUserMenu(false);
    show();
  });
  document.getElementById("logout").addEventListener("click", logout);
  initMenu();
  whoAmI().then((me) => {
    document.getElementById("user-name").textContent = me.name;
    showPermitted(me);
  }, () => {});
  try {
    plant = indexPlant(await get("assets"));
    document.getElementById("site-title").textContent = plant.tree.title || plant.tree.name;
  } catch {
    plant = null;
  }
  document.addEventListener("live-status", (e) => showLiveStatus(e.detail));
  live.start();
  tickClock();
  setInterval(tickClock, 1000);
  window.addEventListener("hashchange", show);
  await show();
  document.body.dataset.ready = "true";
}

main();
