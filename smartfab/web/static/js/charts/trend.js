// Trend chart: one signal over time, zoomable from years to single points. Drag pans, the wheel
// zooms around the pointer, a double click returns to the range the page asked for. Whenever the
// visible range changes the owner is told (onRange), so that it can fetch data at the right
// resolution: min/max/avg buckets when zoomed out, raw points when zoomed in.

import { Plot, bindZoomPan, cssVar, extent, timeLabel, valueText, SECOND } from "./core.js";

const MIN_SPAN = 10 * SECOND;

export class TrendChart extends Plot {
  constructor(container, { height = 260, onRange = () => {}, maxSpan = 400 * 86400 * 1000 } = {}) {
    super(container, { height });
    this.onRange = onRange;
    this.maxSpan = maxSpan;
    this.data = null; // {mode: "raw"|"buckets", t, v} or {t, min, max, avg}
    this.unit = "";
    this.hover = null;
    this.bindInput();
  }

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

  setData(data, unit) {
    this.data = data;
    this.unit = unit;
    this.container.dataset.mode = data.mode;
    this.container.dataset.points = String(data.t.length);
    this.draw();
  }

  // Live points extend raw data, so that a followed trend moves without refetching.
  appendRaw(t, v) {
    if (!this.data || this.data.mode !== "raw") return;
    const last = this.data.t[this.data.t.length - 1];
    if (last !== undefined && t <= last) return;
    this.data.t.push(t); this.data.v.push(v);
    this.draw();
  }

  bindInput() {
    bindZoomPan(this, (a, b) => this.setRange(a, b), (e) => { this.hover = e.offsetX; this.draw(); });
    this.canvas.addEventListener("pointerleave", () => { this.hover = null; this.draw(); });
  }

  visible() {
    const d = this.data;
    if (!d) return [];
    const out = [];
    if (d.mode === "raw") out.push(d.v);
    else out.push(d.min, d.max);
    return out;
  }

  draw() {
    if (!this.ctx) return;
    this.clear();
    const d = this.data;
    [this.y0, this.y1] = extent(this.visible());
    this.drawValueAxis(this.unit);
    this.drawTimeAxis();
    this.clipPlot();
    const { ctx } = this;
    const line = cssVar("--chart-line");
    if (d && d.mode === "buckets") {
      // Envelope of min and max, then the average: nothing hides inside a bucket.
      ctx.fillStyle = cssVar("--chart-band");
      ctx.beginPath();
      for (let i = 0; i < d.t.length; i++) ctx.lineTo(this.sx(d.t[i]), this.sy(d.max[i]));
      for (let i = d.t.length - 1; i >= 0; i--) ctx.lineTo(this.sx(d.t[i] + d.width), this.sy(d.min[i]));
      ctx.closePath(); ctx.fill();
      this.path(d.t.map((t) => t + d.width / 2), d.avg, line);
    } else if (d && d.mode === "raw") {
      this.path(d.t, d.v, line);
      const pxPerPoint = this.plotWidth / Math.max(1, d.t.length);
      if (pxPerPoint > 4) {  // zoomed in far enough to see each sample
        ctx.fillStyle = line;
        for (let i = 0; i < d.t.length; i++) {
          if (d.v[i] === null) continue;
          ctx.beginPath(); ctx.arc(this.sx(d.t[i]), this.sy(d.v[i]), 2.2, 0, 2 * Math.PI); ctx.fill();
        }
      }
    }
    ctx.restore();
    this.drawFrame();
    this.drawHover();
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

  drawHover() {
    const d = this.data;
    if (this.hover === null || !d || !d.t.length) return;
    const t = this.invx(this.hover);
    let lo = 0, hi = d.t.length - 1;
    while (lo < hi) { const m = (lo + hi) >> 1; if (d.t[m] < t) lo = m + 1; else hi = m; }
    const v = d.mode === "raw" ? d.v[lo] : d.avg[lo];
    if (v === null || v === undefined) return;
    const { ctx } = this;
    const x = this.sx(d.t[lo]), y = this.sy(v);
    ctx.strokeStyle = cssVar("--chart-axis");
    ctx.setLineDash([3, 3]);
    ctx.beginPath(); ctx.moveTo(x, this.margin.top); ctx.lineTo(x, this.margin.top + this.plotHeight); ctx.stroke();
    ctx.setLineDash([]);
    const label = `${timeLabel(d.t[lo], 1000, this.locale)}  ${valueText(v, this.y1 - this.y0, this.unit)}`;
    ctx.font = `12px ${cssVar("--font-ui", "sans-serif")}`;
    const w = ctx.measureText(label).width + 10;
    const bx = Math.min(x + 8, this.width - w - 2);
    ctx.fillStyle = cssVar("--panel"); ctx.strokeStyle = cssVar("--chart-axis");
    ctx.fillRect(bx, this.margin.top + 4, w, 20); ctx.strokeRect(bx, this.margin.top + 4, w, 20);
    ctx.fillStyle = cssVar("--text"); ctx.textAlign = "left"; ctx.textBaseline = "middle";
    ctx.fillText(label, bx + 5, this.margin.top + 14);
    ctx.beginPath(); ctx.fillStyle = cssVar("--chart-line"); ctx.arc(x, y, 3.5, 0, 2 * Math.PI); ctx.fill();
  }
}
