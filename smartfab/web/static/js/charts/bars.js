// Horizontal bar chart, e.g. the six big losses in hours: label on the left, value at the bar's
// end. Negative values (a machine faster than its ideal cycle) draw to the left of zero; a value
// that is not defined (null: OEE of a period without planned time) has no bar and reads "–".

import { Plot, cssVar, formatValue } from "./core.js";

export class BarChart extends Plot {
  constructor(container, { barHeight = 24, bars = 6, labelWidth = 150, unit = "" } = {}) {
    super(container, { height: bars * barHeight + 16, margin: { left: labelWidth, right: 70, top: 8, bottom: 8 } });
    this.items = [];
    this.unit = unit;
  }

  /** items: [{label, value, color?}] */
  setItems(items) {
    this.items = items;
    this.draw();
  }

  draw() {
    if (!this.ctx || !this.items) return;
    this.clear();
    const { ctx, margin } = this;
    const values = this.items.map((d) => d.value ?? 0);
    const lo = Math.min(0, ...values), hi = Math.max(0, ...values, 1e-9);
    this.x0 = lo; this.x1 = hi;
    const h = this.plotHeight / Math.max(1, this.items.length);
    ctx.font = `12px ${cssVar("--font-ui", "sans-serif")}`;
    this.items.forEach((d, i) => {
      const y = margin.top + i * h;
      ctx.fillStyle = cssVar("--text"); ctx.textAlign = "right"; ctx.textBaseline = "middle";
      ctx.fillText(d.label, margin.left - 8, y + h / 2);
      const a = this.sx(Math.min(0, d.value ?? 0)), b = this.sx(Math.max(0, d.value ?? 0));
      ctx.fillStyle = d.color || cssVar("--chart-bar");
      if (d.value !== null) ctx.fillRect(a, y + 3, Math.max(1, b - a), h - 6);
      ctx.fillStyle = cssVar("--text"); ctx.textAlign = "left";
      ctx.fillText(d.value === null ? "–" : `${formatValue(d.value, hi - lo)} ${this.unit}`, b + 6, y + h / 2);
    });
    ctx.strokeStyle = cssVar("--chart-axis");
    const z = Math.round(this.sx(0)) + 0.5;
    ctx.beginPath(); ctx.moveTo(z, margin.top); ctx.lineTo(z, margin.top + this.plotHeight); ctx.stroke();
  }
}
