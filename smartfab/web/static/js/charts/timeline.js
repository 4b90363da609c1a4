// State timeline: a step chart of machine states, one row per equipment, each state a coloured
// band. Colours follow ISA-101: grey for normal operation, colour only where attention is due
// (--state-<name> in app.css).

import { Plot, cssVar, timeLabel } from "./core.js";

export class StateTimeline extends Plot {
  constructor(container, { rowHeight = 22, rows = 1, label = (s) => s, labelWidth = 56 } = {}) {
    super(container, { height: rows * rowHeight + 34, margin: { left: labelWidth, bottom: 22 } });
    this.rows = [];
    this.label = label;
    this.hover = null;
    this.canvas.addEventListener("pointermove", (e) => { this.hover = [e.offsetX, e.offsetY]; this.draw(); });
    this.canvas.addEventListener("pointerleave", () => { this.hover = null; this.draw(); });
  }

  /** rows: [{name, start: [ms], end: [ms], state: [name]}] */
  setRows(rows, x0, x1) {
    this.rows = rows;
    this.x0 = x0; this.x1 = x1;
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
      ctx.fillText(row.name, margin.left - 6, y + h / 2);
      this.clipPlot();
      for (let i = 0; i < row.start.length; i++) {
        const a = Math.max(this.sx(row.start[i]), margin.left);
        const b = Math.min(this.sx(row.end[i]), margin.left + this.plotWidth);
        if (b < margin.left || a > margin.left + this.plotWidth) continue;
        ctx.fillStyle = cssVar(`--state-${row.state[i]}`, "#999");
        ctx.fillRect(a, y + 2, Math.max(1, b - a), h - 4);
        if (this.hover && this.hover[0] >= a && this.hover[0] <= b && this.hover[1] >= y && this.hover[1] < y + h) {
          hit = { i, row, x: this.hover[0], y };
        }
      }
      ctx.restore();
    });
    this.drawFrame();
    if (hit) {
      const { row, i } = hit;
      const mins = Math.round((row.end[i] - row.start[i]) / 60000);
      const text = `${this.label(row.state[i])}  ${timeLabel(row.start[i], 60000, this.locale)}–${timeLabel(row.end[i], 60000, this.locale)}  (${mins} min)`;
      ctx.font = `12px ${cssVar("--font-ui", "sans-serif")}`;
      const w = ctx.measureText(text).width + 10;
      const bx = Math.min(hit.x + 8, this.width - w - 2);
      ctx.fillStyle = cssVar("--panel"); ctx.fillRect(bx, hit.y, w, 18);
      ctx.strokeStyle = cssVar("--chart-axis"); ctx.strokeRect(bx, hit.y, w, 18);
      ctx.fillStyle = cssVar("--text"); ctx.textAlign = "left"; ctx.textBaseline = "middle";
      ctx.fillText(text, bx + 5, hit.y + 9);
    }
  }
}
