// A time series as a line, with optional fixed value range and marks at given times (anomalies
// on a sensor trend), and a hover tooltip naming the nearest point and any mark there. Used by
// the maintenance page for the health trend (0-100) and for a sensor's trend.

import { Plot, cssVar, extent, valueText } from "./core.js";

export class SeriesChart extends Plot {
  constructor(container, { height = 200, range = null } = {}) {
    super(container, { height });
    this.range = range; // [min, max], or null to fit the data
    this.series = null;
    this.hover = null;
    this.canvas.addEventListener("pointermove", (e) => { this.hover = e.offsetX; this.draw(); });
    this.canvas.addEventListener("pointerleave", () => { this.hover = null; this.draw(); });
  }

  /** t: times in ms, v: values; marks: [{t, label}] drawn as vertical lines. */
  setData({ t, v, unit = "", marks = [] }) {
    this.series = { t, v, unit, marks };
    if (t.length) { this.x0 = t[0]; this.x1 = t[t.length - 1] > t[0] ? t[t.length - 1] : t[0] + 1; }
    [this.y0, this.y1] = this.range || extent([v], 0.08);
    this.draw();
  }

  draw() {
    if (!this.ctx || !this.series) return;
    this.clear();
    const { ctx } = this;
    const { t, v, unit, marks } = this.series;
    this.drawValueAxis(unit);
    this.drawTimeAxis();
    this.clipPlot();
    ctx.strokeStyle = cssVar("--alarm-high"); ctx.lineWidth = 1.5;
    for (const m of marks) {
      const x = Math.round(this.sx(m.t)) + 0.5;
      ctx.beginPath(); ctx.moveTo(x, this.margin.top); ctx.lineTo(x, this.margin.top + this.plotHeight); ctx.stroke();
    }
    ctx.strokeStyle = cssVar("--chart-line"); ctx.lineWidth = 1.4;
    ctx.beginPath();
    t.forEach((x, i) => ctx.lineTo(this.sx(x), this.sy(v[i])));
    ctx.stroke();
    ctx.restore();
    this.drawFrame();
    if (this.hover !== null && t.length) {
      const at = this.invx(this.hover);
      let i = 0;
      while (i + 1 < t.length && Math.abs(t[i + 1] - at) < Math.abs(t[i] - at)) i++;
      const near = marks.filter((m) => Math.abs(this.sx(m.t) - this.hover) < 4).map((m) => m.label);
      const span = this.y1 - this.y0;
      this.tooltip(this.hover, this.sy(v[i]), [new Date(t[i]).toLocaleString(this.locale), valueText(v[i], span, unit), ...near]);
    }
  }
}
