// Value bands: the history of text and enumerated signals (a product code, a material lot, a
// mode) as one row per signal, each value a band from when it was read until the next value,
// labelled where it fits. Like the state timeline, on the trend's time axis; unlike it, the
// values are not known in advance, so each value gets a pale colour of a palette (--value-0 …
// --value-7 in app.css) by its text: the same value has the same colour in every row and after
// every reload. A point of bad quality is a grey band without a label.

import { Plot, cssVar, timeLabel } from "./core.js";

const PALETTE = 8;

function colorOf(text) {
  let hash = 0;
  for (let i = 0; i < text.length; i++) hash = (hash * 31 + text.charCodeAt(i)) | 0;
  return cssVar(`--value-${Math.abs(hash) % PALETTE}`);
}

/** The text that fits in `width` pixels, with an ellipsis where it was cut. */
function fitted(ctx, text, width) {
  if (ctx.measureText(text).width <= width) return text;
  let n = text.length;
  while (n > 0 && ctx.measureText(`${text.slice(0, n)}…`).width > width) n--;
  return n > 0 ? `${text.slice(0, n)}…` : "";
}

export class ValueBands extends Plot {
  constructor(container, { rows = 1, rowHeight = 24, labelWidth = 56, badLabel = "" } = {}) {
    super(container, { height: rows * rowHeight + 32, margin: { left: labelWidth, bottom: 22 } });
    this.rows = [];
    this.badLabel = badLabel;
    this.hover = null;
    this.canvas.addEventListener("pointermove", (e) => { this.hover = [e.offsetX, e.offsetY]; this.draw(); });
    this.canvas.addEventListener("pointerleave", () => { this.hover = null; this.draw(); });
  }

  /** rows: [{name, start: [ms], end: [ms], label: [text], bad: [bool]}] */
  setRows(rows) {
    this.rows = rows;
    this.container.dataset.bands = String(rows.reduce((n, r) => n + r.start.length, 0));
    this.draw();
  }

  setRange(x0, x1) { this.x0 = x0; this.x1 = x1; this.draw(); }

  draw() {
    if (!this.ctx || !this.rows) return;
    this.clear();
    const { ctx, margin } = this;
    this.drawTimeAxis();
    const h = this.plotHeight / Math.max(1, this.rows.length);
    let hit = null;
    this.rows.forEach((row, r) => {
      const y = margin.top + r * h;
      ctx.fillStyle = cssVar("--chart-text"); ctx.textAlign = "right"; ctx.textBaseline = "middle";
      ctx.fillText(fitted(ctx, row.name, margin.left - 8), margin.left - 6, y + h / 2);
      this.clipPlot();
      for (let i = 0; i < row.start.length; i++) {
        const a = Math.max(this.sx(row.start[i]), margin.left);
        const b = Math.min(this.sx(row.end[i]), margin.left + this.plotWidth);
        if (b < margin.left || a > margin.left + this.plotWidth) continue;
        const w = Math.max(1, b - a);
        ctx.fillStyle = row.bad[i] ? cssVar("--state-unknown") : colorOf(row.label[i]);
        ctx.fillRect(a, y + 2, w, h - 4);
        ctx.strokeStyle = cssVar("--panel");
        ctx.beginPath(); ctx.moveTo(Math.round(a) + 0.5, y + 2); ctx.lineTo(Math.round(a) + 0.5, y + h - 2); ctx.stroke();
        if (!row.bad[i] && w > 24) {
          ctx.fillStyle = cssVar("--text"); ctx.textAlign = "left";
          ctx.fillText(fitted(ctx, row.label[i], w - 8), a + 4, y + h / 2);
        }
        if (this.hover && this.hover[0] >= a && this.hover[0] <= b && this.hover[1] >= y && this.hover[1] < y + h) {
          hit = { i, row };
        }
      }
      ctx.restore();
    });
    this.drawFrame();
    if (hit) {
      const { row, i } = hit;
      const when = `${timeLabel(row.start[i], 1000, this.locale)}–${timeLabel(row.end[i], 1000, this.locale)}`;
      this.tooltip(this.hover[0], this.hover[1], [row.name, row.bad[i] ? this.badLabel : row.label[i], when]);
    }
  }
}
