// Trends that compare: several signals, and the same signal of several machines, on one chart,
// each unit on an axis of its own, with the faults and alarms of their equipment as markers, a
// cursor that reads every signal at its time, live values while the right edge is now, and the
// points shown exported as CSV or Parquet (GET /api/export, under the same permissions as
// reading them). CompareTrend is the chart with its legend and export links, as a dashboard's
// trend panel and this page (#/trends/<path>,<path>,...) show it.

import { get, live, ms } from "../api.js";
import { formatValue } from "../charts/core.js";
import { TrendChart } from "../charts/trend.js";
import { h, leaf, rangeButtons } from "../dom.js";
import { t } from "../i18n.js";
import { iso, openNewDashboard, trendData } from "./common.js";
import { signalInfo, signalLabel, signalPicker } from "./pickers.js";

const MAX_SIGNALS = 12;

export class CompareTrend {
  /**
   * signals: [{path, axis?}] (paths without variables); span: the range in ms up to now;
   * markers: whether to mark faults and alarms; onRemove(i): a legend item's remove button
   * (none without it); cache: equipment descriptions (see pickers.js). height null: the chart
   * takes the height its box is given (a dashboard panel's, whatever the legend takes).
   */
  constructor(container, { signals, span, height = 280, markers = true, onRemove = null, cache = new Map() }) {
    this.signals = signals;
    this.markers = markers;
    this.onRemove = onRemove;
    this.cache = cache;
    this.follow = true; // the right edge is "now" and moves with live data
    this.seq = 0;
    this.values = null; // the cursor's values, or null while the cursor is away
    this.legend = h("div", { class: "legend trend-legend" });
    this.box = h("div", { class: "chart trend compare" });
    this.errors = h("div", { class: "muted trend-errors" });
    const link = (format) => h("a", {
      class: "button", href: "#", download: "", dataset: { format },
      onclick: (e) => { e.currentTarget.href = this.exportUrl(format); },
    }, t(`trends.export_${format}`));
    this.foot = h("div", { class: "trend-foot" }, h("span", { class: "hint" }, t("equipment.trend_hint")),
      h("span", { class: "spacer" }), link("csv"), link("parquet"));
    container.append(this.legend, this.box, this.errors, this.foot);
    this.chart = new TrendChart(this.box, {
      height: height ?? 120,
      onRange: (a, b) => { this.follow = b >= Date.now() - 0.02 * (b - a); this.schedule(a, b); },
      onCursor: (at, values) => { this.values = at === null ? null : values; this.showValues(); },
    });
    if (height === null) this.chart.canvas.style.height = "100%";
    this.box.addEventListener("reset-range", () => this.setSpan(this.span));
    this.latest = {}; // path -> [ts, value] of the live feed
    this.unsubscribe = live.subscribe((msg) => this.onLive(msg));
    this.setSpan(span);
  }

  setSpan(span) {
    this.span = span;
    const now = Date.now();
    this.follow = true;
    this.chart.setRange(now - span, now);
  }

  setSignals(signals) {
    this.signals = signals;
    this.chart.setRange(this.chart.x0, this.chart.x1);
  }

  /** Load again: a dashboard's refresh (the range moves on to now while it follows). */
  refresh() {
    if (this.follow) this.setSpan(this.span);
    else this.chart.setRange(this.chart.x0, this.chart.x1);
  }

  schedule(a, b) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.load(a, b), 120); // one request per gesture
  }

  async load(a, b) {
    const mine = ++this.seq;
    const signals = this.signals;
    const infos = await Promise.all(signals.map((s) => signalInfo(s.path, this.cache).catch((e) => e)));
    const width = this.chart.plotWidth;
    const found = await Promise.all(signals.map((s, i) => (infos[i] instanceof Error ? infos[i]
      : trendData(s.path, infos[i].signal.sample_s, a, b, width).catch((e) => e))));
    const marks = this.markers ? await this.loadMarkers(signals, a, b) : [];
    if (mine !== this.seq) return; // a newer range was asked for meanwhile
    const several = new Set(signals.map((s) => s.path.split("/").slice(0, -1).join("/"))).size > 1;
    this.chart.setSeries(signals.map((s, i) => ({
      name: signalLabel(s.path, several),
      unit: infos[i] instanceof Error ? "" : infos[i].signal.unit_display,
      axis: s.axis,
      data: found[i] instanceof Error ? null : found[i].data,
    })));
    this.chart.setMarkers(marks);
    this.errors.replaceChildren(...signals.flatMap((s, i) => (found[i] instanceof Error
      ? [h("div", {}, `${s.path}: ${found[i].message}`)] : [])));
    this.legendItems();
    this.box.dataset.loaded = String(mine);
  }

  /** Faults and alarm activations of the signals' equipment over [a, b). */
  async loadMarkers(signals, a, b) {
    const equipment = [...new Set(signals.map((s) => s.path.split("/").slice(0, -1).join("/")))];
    const range = { start: iso(a), end: iso(b), limit: 500 };
    const per = await Promise.all(equipment.map(async (eq) => {
      const [faults, alarms] = await Promise.all([
        get("events", { equipment: eq, kind: "fault", ...range }).catch(() => null),
        get("alarms/history", { under: eq, ...range }).catch(() => []), // none on a read-only server
      ]);
      const c = faults?.columns;
      return [
        ...(c ? c.ts.map((ts, i) => ({
          t: ms(ts), kind: "fault", label: `${leaf(eq)}: ${t("trends.fault", { code: c.code[i], text: c.detail[i] || "" })}`,
        })) : []),
        ...alarms.filter((r) => r.action === "activate").map((r) => ({
          t: ms(r.ts), kind: "alarm", priority: r.priority,
          label: `${leaf(eq)}: ${t("trends.alarm", { alarm: r.alarm_id.slice(eq.length + 1), priority: t(`alarm.priority.${r.priority}`) })}`,
        })),
      ];
    }));
    return per.flat().sort((x, y) => x.t - y.t);
  }

  legendItems() {
    this.items = this.chart.series.map((s, i) => {
      const value = h("b", { class: "num" }, "–");
      const remove = this.onRemove
        ? h("button", { type: "button", class: "icon", title: t("trends.remove"), "aria-label": t("trends.remove"), onclick: () => this.onRemove(i) }, "×")
        : null;
      return { value, el: h("span", { class: "chip", dataset: { path: this.signals[i].path }, title: this.signals[i].path },
        h("i", { style: `background: ${s.color}` }), s.name || signalLabel(this.signals[i].path, false), s.unit ? ` (${s.unit})` : "", " ", value, remove) };
    });
    this.legend.replaceChildren(...this.items.map((x) => x.el));
    this.showValues();
  }

  /** The legend's values: at the cursor while it is over the chart, else the newest. */
  showValues() {
    if (!this.items) return;
    this.items.forEach((item, i) => {
      const v = this.values ? this.values[i] : this.latest[this.signals[i]?.path]?.[1];
      item.value.textContent = typeof v === "number" ? formatValue(v, this.chart.spanOf(i)) : "–";
    });
    this.legend.dataset.cursor = this.values ? "true" : "false";
  }

  onLive(msg) {
    const at = new Map(this.signals.map((s, i) => [s.path, i]));
    let moved = false;
    for (const [path, [ts, value]] of Object.entries(msg.values || {})) {
      const i = at.get(path);
      if (i === undefined) continue;
      this.latest[path] = [ms(ts), value];
      if (!this.follow || !this.chart.data) continue;
      const when = ms(ts);
      if (when > this.chart.x1) {
        const width = this.chart.x1 - this.chart.x0;
        this.chart.setRange(when - width, when, false);
        moved = true;
      }
      this.chart.appendRaw(when, value, i);
    }
    if (moved) this.box.dataset.live = String(Date.now());
    if (!this.values) this.showValues();
  }

  exportUrl(format) {
    const q = new URLSearchParams();
    for (const s of this.signals) q.append("signal", s.path);
    q.append("start", iso(this.chart.x0));
    q.append("end", iso(Math.min(this.chart.x1, Date.now())));
    q.append("format", format);
    return `api/export?${q}`;
  }

  destroy() {
    clearTimeout(this.timer);
    this.unsubscribe();
    this.chart.destroy();
  }
}

let span = 8 * 3600e3;

/** The paths of #/trends/<path>,<path>,... */
function pathsOf(route) {
  return route.path ? route.path.split(",").filter(Boolean).slice(0, MAX_SIGNALS) : [];
}

export async function render(root, route, plant) {
  if (!plant) throw new Error(t("error.no_plant"));
  let paths = pathsOf(route);
  const cache = new Map();
  const set = (list) => {
    paths = [...new Set(list)].slice(0, MAX_SIGNALS);
    // The address names what is shown (a link to share), without rendering the page again.
    history.replaceState(null, "", `#/trends/${paths.join(",")}`);
    trend.setSignals(paths.map((path) => ({ path })));
    same.disabled = !paths.length;
    save.disabled = !paths.length;
    empty.hidden = paths.length > 0;
  };
  const picker = signalPicker({ plant, cache, onPick: (p) => set([...paths, p]) });
  // The signals shown, each also of the other machines of its line that have it.
  const same = h("button", { type: "button", class: "same-signal", onclick: async () => {
    const more = [];
    for (const p of paths) {
      const name = leaf(p), eq = p.split("/").slice(0, -1).join("/");
      const line = plant.byPath.get(eq)?.line;
      for (const other of line ? line.equipment : []) {
        const info = await signalInfo(`${other.path}/${name}`, cache).catch(() => null);
        if (info) more.push(`${other.path}/${name}`);
      }
    }
    set([...paths, ...more]);
  } }, t("trends.same_signal"));
  const save = h("button", { type: "button", class: "save-dashboard", onclick: () => saveAsDashboard(paths) }, t("trends.save_dashboard"));
  const empty = h("div", { class: "muted" }, t("trends.empty"));
  root.append(
    h("div", { class: "page-head" }, h("h1", {}, t("trends.title")), h("span", { class: "sub" }, t("trends.sub"))),
    h("div", { class: "toolbar" }, rangeButtons(span, (s) => { span = s; trend.setSpan(s); markSpan(root, s); }),
      picker, same, save));
  const panel = h("section", { class: "panel" }, empty);
  root.append(panel);
  const trend = new CompareTrend(panel, {
    signals: paths.map((path) => ({ path })), span, height: 360, cache,
    onRemove: (i) => set(paths.filter((_, j) => j !== i)),
  });
  same.disabled = !paths.length;
  save.disabled = !paths.length;
  empty.hidden = paths.length > 0;
  return () => trend.destroy();
}

function markSpan(root, s) {
  for (const b of root.querySelectorAll(".segmented button")) b.classList.toggle("active", Number(b.dataset.span) === s);
}

async function saveAsDashboard(paths) {
  const title = (window.prompt(t("trends.dashboard_title"), t("trends.title")) || "").trim();
  if (!title) return;
  try {
    await openNewDashboard(title, [{ type: "trend", id: "trend", w: 12, h: 6, signals: paths.map((path) => ({ path })) }],
      Math.round(span / 1000));
  } catch (err) {
    window.alert(t("error.action", { reason: err.message }));
  }
}
