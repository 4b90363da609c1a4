// Trend chart: signals over time, zoomable from years to single points. Drag pans, the wheel
// zooms around the pointer, a double click returns to the range the page asked for. Whenever the
// visible range changes the owner is told (onRange), so that it can fetch data at the right
// resolution: min/max/avg buckets when zoomed out, raw points when zoomed in.
//
// Several signals share the time axis; each unit (or axis named by the owner) has a value axis
// of its own, the first on the left, the second on the right, further ones outside those, each
// labelled in its signal's colour when it carries one signal. Markers (faults, alarms) are
// vertical lines at their time. The cursor reads every signal's value at its time: drawn beside
// it, and told to the owner (onCursor) to show in the page as well.

import { Plot, bindZoomPan, cssVar, extent, niceTicks, timeLabel, valueText, SECOND } from "./core.js";
import { PALETTE } from "./lines.js";

const MIN_SPAN = 10 * SECOND;
const AXIS_W = 54; // the width an extra value axis takes

/** The index of the last time at or before t in the sorted times ts (0 when none is). */
function before(ts, t) {
  let lo = 0, hi = ts.length - 1;
  while (lo < hi) { const m = (lo + hi + 1) >> 1; if (ts[m] <= t) lo = m; else hi = m - 1; }
  return lo;
}

/** A series' value at time t: the bucket that holds t, or the raw point in force at t. */
export function valueAt(d, t) {
  if (!d || !d.t.length || t < d.t[0]) return null;
  const i = before(d.t, t);
  if (d.mode === "raw") return d.v[i];
  return t < d.t[i] + d.width ? d.avg[i] : null;
}

export class TrendChart extends Plot {
  constructor(container, { height = 260, onRange = () => {}, onCursor = () => {}, maxSpan = 400 * 86400 * 1000 } = {}) {
    super(container, { height });
    this.onRange = onRange;
    this.onCursor = onCursor;
    this.maxSpan = maxSpan;
    this.leftBase = this.margin.left;
    this.series = []; // [{name, unit, axis, color, data: {mode: "raw", t, v} | {mode: "buckets", t, min, max, avg, width}}]
    this.markers = []; // [{t, kind: "fault" | "alarm", priority?, label}]
    this.axes = [];
    this.hover = null;
    this.bindInput();
  }

  /** The data of the first series, as a page that shows one signal reads it. */
  get data() { return this.series[0]?.data ?? null; }

  setRange(x0, x1, notify = true) {
    const span = Math.min(Math.max(x1 - x0, MIN_SPAN), this.maxSpan);
    const mid = (x0 + x1) / 2;
    this.x0 = x1 - x0 === span ? x0 : mid - span / 2;
    this.x1 = this.x0 + span;
    this.container.dataset.x0 = String(Math.round(this.x0));
    this.container.dataset.x1 = String(Math.round(this.x1));
    this.draw();
    if (notify) this.onRange(this.x0, this.x1);
  }

  /** One signal: its data and unit. */
  setData(data, unit) {
    this.setSeries([{ name: "", unit, data }]);
  }

  /** Several signals: [{name, unit, axis?, data}] (axis: signals with the same share an axis;
   * by default, those with the same unit do). */
  setSeries(series) {
    const many = series.length > 1;
    this.series = series.map((s, i) => ({
      ...s, axis: s.axis || s.unit || s.name,
      color: many ? cssVar(PALETTE[i % PALETTE.length]) : cssVar("--chart-line"),
    }));
    const keys = [...new Set(this.series.map((s) => s.axis))];
    this.axes = keys.map((key) => ({ key, series: this.series.filter((s) => s.axis === key) }));
    const left = Math.ceil(this.axes.length / 2), right = Math.floor(this.axes.length / 2);
    this.margin.left = this.leftBase + Math.max(0, left - 1) * AXIS_W;
    this.margin.right = right ? right * AXIS_W : 14;
    const first = this.series[0]?.data;
    this.container.dataset.mode = first ? first.mode : "";
    this.container.dataset.points = String(this.series.reduce((n, s) => n + (s.data ? s.data.t.length : 0), 0));
    this.container.dataset.series = String(this.series.length);
    this.container.dataset.axes = String(this.axes.length);
    this.draw();
  }

  /** The left margin the first axis needs (a page lines other charts up with it). */
  setLeftMargin(px) {
    this.leftBase = px;
    this.margin.left = px;
    this.draw();
  }

  setMarkers(markers) {
    this.markers = markers;
    this.container.dataset.markers = String(markers.length);
    this.draw();
  }

  // Live points extend raw data, so that a followed trend moves without refetching.
  appendRaw(t, v, index = 0) {
    const d = this.series[index]?.data;
    if (!d || d.mode !== "raw") return;
    const last = d.t[d.t.length - 1];
    if (last !== undefined && t <= last) return;
    d.t.push(t); d.v.push(v);
    this.draw();
  }

  bindInput() {
    bindZoomPan(this, (a, b) => this.setRange(a, b), (e) => { this.hover = e.offsetX; this.draw(); });
    this.canvas.addEventListener("pointerleave", () => { this.hover = null; this.draw(); this.onCursor(null, []); });
  }

  /** The span of the value axis of series i, as shown (how many decimals its values need). */
  spanOf(i) {
    const k = this.axes.findIndex((a) => a.series.includes(this.series[i]));
    const [y0, y1] = this.scales?.[k] || [0, 1];
    return y1 - y0;
  }

  scaleOf(axis) {
    const arrays = axis.series.flatMap((s) => (!s.data ? [] : s.data.mode === "raw" ? [s.data.v] : [s.data.min, s.data.max]));
    return extent(arrays);
  }

  draw() {
    if (!this.ctx || !this.axes) return; // drawn by Plot's constructor before this one's fields
    this.clear();
    const scales = this.axes.map((a) => this.scaleOf(a));
    this.scales = scales;
    [this.y0, this.y1] = scales[0] || [0, 1];
    this.drawAxes(scales);
    this.drawTimeAxis();
    this.clipPlot();
    this.drawMarkers();
    this.axes.forEach((axis, k) => {
      [this.y0, this.y1] = scales[k];
      for (const s of axis.series) this.drawSeries(s);
    });
    this.ctx.restore();
    this.drawFrame();
    this.drawCursor(scales);
    [this.y0, this.y1] = scales[0] || [0, 1];
  }

  drawAxes(scales) {
    const { ctx, margin } = this;
    ctx.lineWidth = 1;
    const many = this.series.length > 1;
    this.axes.forEach((axis, k) => {
      const [y0, y1] = scales[k];
      this.y0 = y0; this.y1 = y1;
      const right = k % 2 === 1, slot = Math.floor(k / 2);
      const x = right ? this.width - margin.right + slot * AXIS_W : margin.left - slot * AXIS_W;
      const own = many && axis.series.length === 1 ? axis.series[0].color : cssVar("--chart-text");
      ctx.fillStyle = own;
      ctx.textAlign = right ? "left" : "right";
      ctx.textBaseline = "middle";
      for (const v of niceTicks(y0, y1, Math.max(2, Math.floor(this.plotHeight / 40)))) {
        const y = Math.round(this.sy(v)) + 0.5;
        if (k === 0) {  // one grid, of the first axis
          ctx.strokeStyle = cssVar("--chart-grid");
          ctx.beginPath(); ctx.moveTo(margin.left, y); ctx.lineTo(this.width - margin.right, y); ctx.stroke();
        }
        ctx.fillText(valueText(v, y1 - y0, ""), right ? x + 6 : x - 6, y);
      }
      const unit = axis.series[0].unit;
      if (unit) {  // at the top of its axis, where the labels' column begins
        ctx.textBaseline = "top";
        ctx.textAlign = "left";
        ctx.fillText(unit, right ? x + 6 : Math.max(4, x - AXIS_W + 2), 2);
      }
    });
  }

  drawSeries(s) {
    const d = s.data;
    if (!d) return;
    const { ctx } = this;
    if (d.mode === "buckets") {
      // Envelope of min and max, then the average: nothing hides inside a bucket.
      ctx.globalAlpha = this.series.length > 1 ? 0.18 : 1;
      ctx.fillStyle = this.series.length > 1 ? s.color : cssVar("--chart-band");
      ctx.beginPath();
      for (let i = 0; i < d.t.length; i++) ctx.lineTo(this.sx(d.t[i]), this.sy(d.max[i]));
      for (let i = d.t.length - 1; i >= 0; i--) ctx.lineTo(this.sx(d.t[i] + d.width), this.sy(d.min[i]));
      ctx.closePath(); ctx.fill();
      ctx.globalAlpha = 1;
      this.path(d.t.map((t) => t + d.width / 2), d.avg, s.color);
    } else {
      this.path(d.t, d.v, s.color);
      const pxPerPoint = this.plotWidth / Math.max(1, d.t.length);
      if (pxPerPoint > 4) {  // zoomed in far enough to see each sample
        ctx.fillStyle = s.color;
        for (let i = 0; i < d.t.length; i++) {
          if (d.v[i] === null) continue;
          ctx.beginPath(); ctx.arc(this.sx(d.t[i]), this.sy(d.v[i]), 2.2, 0, 2 * Math.PI); ctx.fill();
        }
      }
    }
  }

  path(ts, vs, color) {
    const { ctx } = this;
    ctx.strokeStyle = color; ctx.lineWidth = 1.4;
    ctx.beginPath();
    let pen = false;
    for (let i = 0; i < ts.length; i++) {
      if (vs[i] === null) { pen = false; continue; }
      const x = this.sx(ts[i]), y = this.sy(vs[i]);
      if (pen) ctx.lineTo(x, y); else ctx.moveTo(x, y);
      pen = true;
    }
    ctx.stroke();
  }

  markerColour(m) {
    if (m.kind === "fault") return cssVar("--state-unplanned_down");
    return cssVar(m.priority === "low" ? "--alarm-low" : m.priority === "medium" ? "--alarm-medium" : "--alarm-high");
  }

  drawMarkers() {
    const { ctx, margin } = this;
    for (const m of this.markers) {
      if (m.t < this.x0 || m.t > this.x1) continue;
      const x = Math.round(this.sx(m.t)) + 0.5;
      ctx.strokeStyle = this.markerColour(m);
      ctx.fillStyle = ctx.strokeStyle;
      ctx.setLineDash(m.kind === "alarm" ? [4, 3] : []);
      ctx.beginPath(); ctx.moveTo(x, margin.top); ctx.lineTo(x, margin.top + this.plotHeight); ctx.stroke();
      ctx.setLineDash([]);
      // A small flag at the top: a triangle for an alarm, a square for a fault.
      ctx.beginPath();
      if (m.kind === "alarm") { ctx.moveTo(x - 4, margin.top); ctx.lineTo(x + 4, margin.top); ctx.lineTo(x, margin.top + 6); }
      else ctx.rect(x - 3, margin.top, 6, 6);
      ctx.fill();
    }
  }

  drawCursor(scales) {
    if (this.hover === null || !this.series.some((s) => s.data && s.data.t.length)) return;
    const t = this.invx(this.hover);
    if (t < this.x0 || t > this.x1) return;
    const { ctx, margin } = this;
    const x = Math.round(this.hover) + 0.5;
    ctx.strokeStyle = cssVar("--chart-axis");
    ctx.setLineDash([3, 3]);
    ctx.beginPath(); ctx.moveTo(x, margin.top); ctx.lineTo(x, margin.top + this.plotHeight); ctx.stroke();
    ctx.setLineDash([]);
    const values = this.series.map((s) => valueAt(s.data, t));
    const lines = [{ text: timeLabel(t, 1000, this.locale) }];
    this.axes.forEach((axis, k) => {
      const [y0, y1] = scales[k];
      this.y0 = y0; this.y1 = y1;
      for (const s of axis.series) {
        const v = values[this.series.indexOf(s)];
        if (v === null || v === undefined) continue;
        ctx.beginPath(); ctx.fillStyle = s.color; ctx.arc(x, this.sy(v), 3.5, 0, 2 * Math.PI); ctx.fill();
        const text = valueText(v, y1 - y0, s.unit);
        lines.push({ text: s.name ? `${s.name}  ${text}` : text, color: s.color });
      }
    });
    for (const m of this.markers) {
      if (Math.abs(this.sx(m.t) - this.hover) <= 4) lines.push({ text: m.label, color: this.markerColour(m) });
    }
    this.readout(x, lines);
    this.onCursor(t, values);
  }

  /** The cursor's read-out: a box of lines beside it, each with its series' colour. */
  readout(x, lines) {
    const { ctx, margin } = this;
    ctx.font = `12px ${cssVar("--font-ui", "sans-serif")}`;
    const shown = lines.slice(0, 16);
    const w = Math.max(...shown.map((l) => ctx.measureText(l.text).width)) + (shown.length > 1 ? 22 : 10);
    const h = shown.length * 16 + 6;
    const bx = x + 10 + w > this.width ? Math.max(2, x - 10 - w) : x + 10;
    const by = margin.top + 4;
    ctx.fillStyle = cssVar("--panel"); ctx.fillRect(bx, by, w, h);
    ctx.strokeStyle = cssVar("--chart-axis"); ctx.strokeRect(bx + 0.5, by + 0.5, w, h);
    ctx.textAlign = "left"; ctx.textBaseline = "middle";
    shown.forEach((l, i) => {
      const y = by + 11 + i * 16;
      if (l.color) { ctx.fillStyle = l.color; ctx.fillRect(bx + 6, y - 4, 8, 8); }
      ctx.fillStyle = cssVar("--text");
      ctx.fillText(l.text, bx + (l.color ? 18 : 5), y);
    });
  }
}
