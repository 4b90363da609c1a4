// Several series as lines over a shared x axis: years (national statistics), times (a KPI's
// recorded trend) or any number (a factor of the benefit estimate), with horizontal reference
// lines (a target, zero) and a legend under the chart. A gap in a series (null) breaks its line;
// a lone point is drawn as a dot. Hovering names the nearest x and every series' value there.

import { DAY, Plot, cssVar, extent, niceTicks, timeLabel, timeTicks, valueText } from "./core.js";
import { h } from "../dom.js";

export const PALETTE = Array.from({ length: 12 }, (_, i) => `--job-${i}`);

export class LineChart extends Plot {
  /**
   * x: "time" (ms), "year" or "number"; xText(v): a number's label; yText(v): a value's label
   * (default: the value with `unit`); range: [min, max] of y, or null to fit the data.
   */
  constructor(container, { height = 240, x = "number", xText = null, yText = null, unit = "", range = null, margin = {} } = {}) {
    super(container, { height, margin: { left: 64, right: 16, ...margin } });
    this.kind = x;
    this.xText = xText || ((v) => String(v));
    this.unit = unit;
    this.yText = yText || ((v, span) => valueText(v, span, this.unit));
    this.range = range;
    this.series = [];
    this.refs = [];
    this.hover = null;
    this.legend = h("div", { class: "legend chart-legend" });
    container.append(this.legend);
    this.canvas.addEventListener("pointermove", (e) => { this.hover = e.offsetX; this.draw(); });
    this.canvas.addEventListener("pointerleave", () => { this.hover = null; this.draw(); });
  }

  /**
   * series: [{name, x: [...], y: [...], color?, dash?, dots?}]; refs: [{y, label, short?, color?,
   * align?}] (short: the label where the whole one does not fit; align: "left" or "right"). Colours not
   * given follow the categorical palette.
   */
  setData(series, refs = []) {
    this.series = series.map((s, i) => ({ ...s, color: s.color || cssVar(PALETTE[i % PALETTE.length]) }));
    this.refs = refs;
    const xs = this.series.flatMap((s) => s.x);
    this.x0 = Math.min(...xs);
    this.x1 = Math.max(...xs);
    if (!(this.x1 > this.x0)) { this.x0 -= 1; this.x1 += 1; }
    // A little room at both ends, so that a first or last point is not drawn on the frame.
    const pad = (this.x1 - this.x0) * 0.02;
    this.x0 -= pad; this.x1 += pad;
    [this.y0, this.y1] = this.range || extent([...this.series.map((s) => s.y), refs.map((r) => r.y)], 0.08);
    this.legend.replaceChildren(...this.series.map((s) =>
      h("span", { dataset: { series: s.name } }, h("i", { style: `background: ${s.color}` }), s.name)));
    this.container.dataset.series = String(this.series.length);
    this.draw();
  }

  drawXAxis() {
    const { ctx } = this;
    let ticks, label;
    if (this.kind === "time") {
      const found = timeTicks(this.x0, this.x1, Math.max(2, Math.floor(this.plotWidth / 90)));
      ticks = found.ticks;
      // Over months and years the year matters: "Apr 2024", then "2024".
      const long = found.step >= 365 * DAY ? { year: "numeric" } : found.step >= 28 * DAY ? { year: "numeric", month: "short" } : null;
      const format = long && new Intl.DateTimeFormat(this.locale, long);
      label = (v) => (format ? format.format(new Date(v)) : timeLabel(v, found.step, this.locale));
    } else {
      const want = Math.max(2, Math.floor(this.plotWidth / 70));
      ticks = niceTicks(this.x0, this.x1, want).filter((v) => this.kind !== "year" || Number.isInteger(v));
      label = this.xText;
    }
    ctx.strokeStyle = cssVar("--chart-grid");
    ctx.fillStyle = cssVar("--chart-text");
    ctx.textAlign = "center"; ctx.textBaseline = "top";
    for (const v of ticks) {
      const x = Math.round(this.sx(v)) + 0.5;
      ctx.beginPath(); ctx.moveTo(x, this.margin.top); ctx.lineTo(x, this.margin.top + this.plotHeight); ctx.stroke();
      ctx.fillText(label(v), x, this.margin.top + this.plotHeight + 5);
    }
  }

  drawYAxis() {
    const { ctx, margin } = this;
    ctx.strokeStyle = cssVar("--chart-grid");
    ctx.fillStyle = cssVar("--chart-text");
    ctx.textAlign = "right"; ctx.textBaseline = "middle";
    const span = this.y1 - this.y0;
    for (const v of niceTicks(this.y0, this.y1, Math.max(2, Math.floor(this.plotHeight / 40)))) {
      const y = Math.round(this.sy(v)) + 0.5;
      ctx.beginPath(); ctx.moveTo(margin.left, y); ctx.lineTo(this.width - margin.right, y); ctx.stroke();
      ctx.fillText(this.yText(v, span), margin.left - 6, y);
    }
  }

  draw() {
    if (!this.ctx || !this.series) return;
    this.clear();
    if (!this.series.length) return;
    const { ctx } = this;
    this.drawYAxis();
    this.drawXAxis();
    this.clipPlot();
    for (const r of this.refs) {
      const y = Math.round(this.sy(r.y)) + 0.5;
      ctx.strokeStyle = r.color || cssVar("--limit"); ctx.setLineDash([5, 4]); ctx.lineWidth = 1.2;
      ctx.beginPath(); ctx.moveTo(this.margin.left, y); ctx.lineTo(this.width - this.margin.right, y); ctx.stroke();
      ctx.setLineDash([]);
    }
    for (const s of this.series) {
      ctx.strokeStyle = s.color; ctx.fillStyle = s.color; ctx.lineWidth = 1.8;
      ctx.setLineDash(s.dash || []);
      ctx.beginPath();
      let open = false;
      s.x.forEach((x, i) => {
        const v = s.y[i];
        if (v === null || v === undefined || !Number.isFinite(v)) { open = false; return; }
        const px = this.sx(x), py = this.sy(v);
        if (open) ctx.lineTo(px, py); else ctx.moveTo(px, py);
        const alone = !open && !Number.isFinite(s.y[i + 1] ?? NaN);
        if (alone || s.dots) { ctx.fillRect(px - 2.5, py - 2.5, 5, 5); }
        open = true;
      });
      ctx.stroke();
      ctx.setLineDash([]);
    }
    // Labels last, on the panel's colour: legible where they cross a series. A label that
    // would cover more than half the plot (a phone) gives way to its short form, so that the
    // series it crosses stay in sight.
    for (const r of this.refs.filter((x) => x.label)) {
      const y = Math.round(this.sy(r.y)) + 0.5;
      const label = ctx.measureText(r.label).width > (this.plotWidth - 8) / 2 && r.short ? r.short : r.label;
      const w = ctx.measureText(label).width;
      const x = r.align === "right" ? this.width - this.margin.right - 4 - w : this.margin.left + 4;
      ctx.fillStyle = cssVar("--panel"); ctx.fillRect(x - 2, y - 15, w + 4, 13);
      ctx.fillStyle = r.color || cssVar("--limit"); ctx.textBaseline = "bottom"; ctx.textAlign = "left";
      ctx.fillText(label, x, y - 2);
    }
    ctx.restore();
    this.drawFrame();
    if (this.hover !== null) this.drawHover();
  }

  drawHover() {
    const at = this.invx(this.hover);
    const xs = [...new Set(this.series.flatMap((s) => s.x))];
    if (!xs.length) return;
    const x = xs.reduce((a, b) => (Math.abs(b - at) < Math.abs(a - at) ? b : a));
    const { ctx } = this;
    const px = Math.round(this.sx(x)) + 0.5;
    ctx.strokeStyle = cssVar("--chart-axis");
    ctx.beginPath(); ctx.moveTo(px, this.margin.top); ctx.lineTo(px, this.margin.top + this.plotHeight); ctx.stroke();
    const span = this.y1 - this.y0;
    const head = this.kind === "time" ? new Date(x).toLocaleString(this.locale) : this.xText(x);
    const lines = this.series
      .map((s) => [s.name, s.y[s.x.indexOf(x)]])
      .filter(([, v]) => v !== null && v !== undefined && Number.isFinite(v))
      .map(([name, v]) => `${name}: ${this.yText(v, span)}`);
    this.tooltip(px, this.margin.top, [head, ...lines.slice(0, 14)]);
  }
}
