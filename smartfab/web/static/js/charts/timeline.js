// Timelines: one row per equipment or signal, each value a band from when it began until the
// next, on a time axis (the trend's, where they sit under one). Two colourings:
// - "state": machine states, coloured as ISA-101 says (grey for normal operation, colour only
//   where attention is due: --state-<name> in app.css);
// - "value": values not known in advance (a product code, a material lot, a mode), each a pale
//   colour of a palette (--value-0 … --value-7) by its text, so that the same value has the same
//   colour in every row and after every reload, labelled where the band is wide enough. A value
//   of bad quality is a grey band without a label.

import { Plot, cssVar, timeLabel } from "./core.js";
import { duration } from "../dom.js";

const PALETTE = 8;

function valueColour(text) {
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

export class Timeline extends Plot {
  /**
   * colours: "state" or "value" (see above); text(v): how a value reads (a state's name in the
   * page's language); badLabel: what a band of bad quality reads.
   */
  constructor(container, { rows = 1, rowHeight = 22, labelWidth = 56, colours = "state", text = (v) => v, badLabel = "" } = {}) {
    super(container, { height: rows * rowHeight + 34, margin: { left: labelWidth, bottom: 22 } });
    this.rows = [];
    this.colours = colours;
    this.text = text;
    this.badLabel = badLabel;
    this.hover = null;
    this.canvas.addEventListener("pointermove", (e) => { this.hover = [e.offsetX, e.offsetY]; this.draw(); });
    this.canvas.addEventListener("pointerleave", () => { this.hover = null; this.draw(); });
  }

  /** rows: [{name, start: [ms], end: [ms], value: [state or text], bad?: [bool]}]; the range
   * [x0, x1) when it changes with them. */
  setRows(rows, x0 = this.x0, x1 = this.x1) {
    this.rows = rows;
    this.x0 = x0; this.x1 = x1;
    this.container.dataset.bands = String(rows.reduce((n, r) => n + r.start.length, 0));
    this.draw();
  }

  setRange(x0, x1) { this.x0 = x0; this.x1 = x1; this.draw(); }

  colourOf(row, i) {
    if (row.bad?.[i]) return cssVar("--state-unknown");
    return this.colours === "state" ? cssVar(`--state-${row.value[i]}`, "#999") : valueColour(String(row.value[i]));
  }

  draw() {
    if (!this.ctx || !this.rows) return;
    this.clear();
    const { ctx, margin } = this;
    this.drawTimeAxis();
    const h = this.plotHeight / Math.max(1, this.rows.length);
    const labelled = this.colours === "value";
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
        ctx.fillStyle = this.colourOf(row, i);
        ctx.fillRect(a, y + 2, w, h - 4);
        if (labelled) {
          // A thin line where a value begins, and its text where the band is wide enough.
          ctx.strokeStyle = cssVar("--panel");
          ctx.beginPath(); ctx.moveTo(Math.round(a) + 0.5, y + 2); ctx.lineTo(Math.round(a) + 0.5, y + h - 2); ctx.stroke();
          if (!row.bad?.[i] && w > 24) {
            ctx.fillStyle = cssVar("--text"); ctx.textAlign = "left";
            ctx.fillText(fitted(ctx, this.text(row.value[i]), w - 8), a + 4, y + h / 2);
          }
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
      const step = labelled ? 1000 : 60000;
      const when = `${timeLabel(row.start[i], step, this.locale)}–${timeLabel(row.end[i], step, this.locale)} (${duration((row.end[i] - row.start[i]) / 1000)})`;
      this.tooltip(this.hover[0], this.hover[1], [row.name, row.bad?.[i] ? this.badLabel : this.text(row.value[i]), when]);
    }
  }
}
