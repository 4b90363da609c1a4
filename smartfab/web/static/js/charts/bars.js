// Horizontal bar chart, e.g. the six big losses in hours: label on the left, value at the bar's
// end. Negative values (a machine faster than its ideal cycle) draw to the left of zero; a value
// that is not defined (null: OEE of a period without planned time) has no bar and reads "–" (or
// the item's text, e.g. "no data").
// An item may carry a confidence interval (low, high), drawn as a whisker over its bar, and its
// own label text (e.g. "12.3 ± 0.4").

import { Plot, cssVar, valueText } from "./core.js";

/** Room for the longest of `labels` left of the bars, in the font the chart draws them in (a
 * generic sans-serif is narrower: labels were cut), at most `max` pixels. */
export function labelWidth(labels, max = 280) {
  const ctx = document.createElement("canvas").getContext("2d");
  ctx.font = `12px ${cssVar("--font-ui", "sans-serif")}`;
  return Math.min(max, Math.ceil(16 + Math.max(0, ...labels.map((l) => ctx.measureText(l).width))));
}

/** `text`, shortened with an ellipsis to at most `width` pixels: a label wider than its room
 * would otherwise run off the canvas's left edge and lose its beginning. */
function fit(ctx, text, width) {
  if (ctx.measureText(text).width <= width) return text;
  let n = text.length;
  while (n > 1 && ctx.measureText(`${text.slice(0, n)}…`).width > width) n--;
  return `${text.slice(0, n)}…`;
}

export class BarChart extends Plot {
  constructor(container, { barHeight = 24, bars = 6, labelWidth = 150, valueWidth = 70, unit = "" } = {}) {
    super(container, { height: bars * barHeight + 16, margin: { left: labelWidth, right: valueWidth, top: 8, bottom: 8 } });
    this.items = [];
    this.unit = unit;
  }

  /** items: [{label, value, color?, low?, high?, text?}] */
  setItems(items) {
    this.items = items;
    this.draw();
  }

  draw() {
    if (!this.ctx || !this.items) return;
    this.clear();
    const { ctx, margin } = this;
    const values = this.items.flatMap((d) => [d.value ?? 0, d.low ?? 0, d.high ?? 0]);
    const lo = Math.min(0, ...values), hi = Math.max(0, ...values, 1e-9);
    this.x0 = lo; this.x1 = hi;
    const h = this.plotHeight / Math.max(1, this.items.length);
    ctx.font = `12px ${cssVar("--font-ui", "sans-serif")}`;
    this.items.forEach((d, i) => {
      const y = margin.top + i * h;
      ctx.fillStyle = cssVar("--text"); ctx.textAlign = "right"; ctx.textBaseline = "middle";
      ctx.fillText(fit(ctx, d.label, margin.left - 10), margin.left - 8, y + h / 2);
      const a = this.sx(Math.min(0, d.value ?? 0)), b = this.sx(Math.max(0, d.value ?? 0));
      ctx.fillStyle = d.color || cssVar("--chart-bar");
      if (d.value !== null) ctx.fillRect(a, y + 3, Math.max(1, b - a), h - 6);
      let end = b;
      if (d.value !== null && d.low !== undefined && d.high !== undefined) {
        const l = this.sx(d.low), r = this.sx(d.high), m = Math.round(y + h / 2) + 0.5, cap = Math.min(6, h / 3);
        ctx.strokeStyle = cssVar("--text"); ctx.lineWidth = 1.5;
        ctx.beginPath();
        ctx.moveTo(l, m); ctx.lineTo(r, m);
        ctx.moveTo(l, m - cap); ctx.lineTo(l, m + cap);
        ctx.moveTo(r, m - cap); ctx.lineTo(r, m + cap);
        ctx.stroke();
        ctx.lineWidth = 1;
        end = Math.max(b, r);
      }
      ctx.fillStyle = cssVar("--text"); ctx.textAlign = "left";
      const text = d.text ?? valueText(d.value, hi - lo, this.unit);
      ctx.fillText(d.value === null ? (d.text ?? "–") : text, end + 6, y + h / 2);
    });
    ctx.strokeStyle = cssVar("--chart-axis");
    const z = Math.round(this.sx(0)) + 0.5;
    ctx.beginPath(); ctx.moveTo(z, margin.top); ctx.lineTo(z, margin.top + this.plotHeight); ctx.stroke();
  }
}
