// Gantt chart of a production schedule: one row per machine, each operation a bar coloured by
// its job (a categorical palette, --job-0 … --job-11 in app.css: here colour tells jobs apart,
// it is not an alarm), the machine's unavailable windows shaded (hatched for planned ones such as
// maintenance and shifts off, red for a breakdown), due dates as ticks above the plot. Hovering a
// bar brings its job forward, draws its due date across the chart and shows a tooltip that the
// owner words (tooltip(bar) -> lines). Zoom and pan as in the trend chart; two charts can share
// their range (onRange), so that a re-plan lines up with the plan before it.

import { Plot, bindZoomPan, cssVar } from "./core.js";

const PALETTE = 12;
const MIN_SPAN = 60 * 1000;

export function jobColor(job) { return cssVar(`--job-${job % PALETTE}`); }

export class GanttChart extends Plot {
  constructor(container, { rows = 1, rowHeight = 28, labelWidth = 90, tooltip = () => [], onRange = () => {} } = {}) {
    super(container, { height: rows * rowHeight + 46, margin: { left: labelWidth, top: 20, bottom: 24 } });
    this.plan = null;
    this.tooltipLines = tooltip;
    this.onRange = onRange;
    this.hover = null;
    this.home = [0, 1];
    bindZoomPan(this, (a, b) => this.setRange(a, b), (e) => { this.hover = [e.offsetX, e.offsetY]; this.draw(); });
    this.canvas.addEventListener("pointerleave", () => { this.hover = null; this.draw(); });
    container.addEventListener("reset-range", () => this.setRange(...this.home));
  }

  /**
   * plan: {rows: [{name, windows: [{start, end, breakdown}]}],
   *        bars: [{row, job, start, end, label, fixed, late}], dues: [{job, t, late}], marker: t|null}
   * All times in ms since the epoch.
   */
  setPlan(plan, x0, x1) {
    this.plan = plan;
    this.home = [x0, x1];
    this.container.dataset.bars = String(plan.bars.length);
    this.setRange(x0, x1, false);
  }

  setRange(x0, x1, notify = true) {
    const span = Math.max(x1 - x0, MIN_SPAN);
    this.x0 = (x0 + x1) / 2 - span / 2;
    this.x1 = this.x0 + span;
    this.container.dataset.x0 = String(Math.round(this.x0));
    this.container.dataset.x1 = String(Math.round(this.x1));
    this.draw();
    if (notify) this.onRange(this.x0, this.x1);
  }

  draw() {
    if (!this.ctx || !this.plan) return;
    this.clear();
    const { ctx, margin, plan } = this;
    this.drawTimeAxis();
    const h = this.plotHeight / Math.max(1, plan.rows.length);
    const rowY = (r) => margin.top + r * h;
    const [hx, hy] = this.hover ?? [-1, -1];
    let hit = null;
    for (const b of plan.bars) {
      const y = rowY(b.row);
      if (hx >= this.sx(b.start) && hx <= this.sx(b.end) && hy >= y && hy < y + h) hit = b;
    }

    ctx.fillStyle = cssVar("--chart-text"); ctx.textAlign = "right"; ctx.textBaseline = "middle";
    plan.rows.forEach((row, r) => ctx.fillText(row.name, margin.left - 6, rowY(r) + h / 2));

    this.clipPlot();
    const hatch = this.hatch();
    plan.rows.forEach((row, r) => {
      for (const w of row.windows) {
        const a = this.sx(w.start), b = this.sx(w.end);
        ctx.fillStyle = w.breakdown ? cssVar("--gantt-breakdown") : hatch;
        ctx.fillRect(a, rowY(r), Math.max(1, b - a), h);
      }
      ctx.strokeStyle = cssVar("--chart-grid");
      ctx.beginPath(); ctx.moveTo(margin.left, Math.round(rowY(r + 1)) + 0.5); ctx.lineTo(margin.left + this.plotWidth, Math.round(rowY(r + 1)) + 0.5); ctx.stroke();
    });
    ctx.font = `11px ${cssVar("--font-ui", "sans-serif")}`;
    ctx.textAlign = "left";
    for (const b of plan.bars) {
      const a = this.sx(b.start), e = this.sx(b.end), y = rowY(b.row) + 3;
      if (e < margin.left || a > margin.left + this.plotWidth) continue;
      ctx.globalAlpha = hit && hit.job !== b.job ? 0.35 : 1;
      ctx.fillStyle = jobColor(b.job);
      ctx.fillRect(a, y, Math.max(1, e - a), h - 6);
      // Operations kept from the plan before (they had started) have a heavy outline.
      ctx.strokeStyle = cssVar(b.fixed ? "--text" : "--panel");
      ctx.lineWidth = b.fixed ? 2 : 1;
      ctx.strokeRect(a + 0.5, y + 0.5, Math.max(1, e - a) - 1, h - 7);
      ctx.lineWidth = 1;
      const w = ctx.measureText(b.label).width;
      if (e - a > w + 6) {
        ctx.fillStyle = "#fff";
        ctx.fillText(b.label, Math.max(a, margin.left) + 3, y + (h - 6) / 2);
      }
    }
    ctx.globalAlpha = 1;
    if (plan.marker !== null && plan.marker !== undefined) {
      const x = Math.round(this.sx(plan.marker)) + 0.5;
      ctx.strokeStyle = cssVar("--state-unplanned_down"); ctx.lineWidth = 2;
      ctx.beginPath(); ctx.moveTo(x, margin.top); ctx.lineTo(x, margin.top + this.plotHeight); ctx.stroke();
      ctx.lineWidth = 1;
    }
    if (hit) {
      const due = plan.dues.find((d) => d.job === hit.job);
      if (due) {
        const x = Math.round(this.sx(due.t)) + 0.5;
        ctx.strokeStyle = jobColor(hit.job); ctx.setLineDash([4, 3]); ctx.lineWidth = 2;
        ctx.beginPath(); ctx.moveTo(x, margin.top); ctx.lineTo(x, margin.top + this.plotHeight); ctx.stroke();
        ctx.setLineDash([]); ctx.lineWidth = 1;
      }
    }
    ctx.restore();

    // Due dates: a tick per job above the plot, hollow when the job is late.
    for (const d of plan.dues) {
      const x = this.sx(d.t);
      if (x < margin.left - 1 || x > margin.left + this.plotWidth + 1) continue;
      ctx.beginPath();
      ctx.moveTo(x - 5, 4); ctx.lineTo(x + 5, 4); ctx.lineTo(x, margin.top - 3); ctx.closePath();
      ctx.fillStyle = jobColor(d.job); ctx.strokeStyle = jobColor(d.job);
      if (d.late) { ctx.fillStyle = cssVar("--panel"); ctx.fill(); ctx.lineWidth = 2; ctx.stroke(); ctx.lineWidth = 1; } else ctx.fill();
    }
    this.drawFrame();
    if (hit) this.tooltip(hx, hy, this.tooltipLines(hit));
  }

  // Diagonal stripes for planned unavailability: visible under the bars' gaps, calm enough
  // not to read as an alarm.
  hatch() {
    if (this._hatch) return this._hatch;
    const tile = document.createElement("canvas");
    tile.width = tile.height = 8;
    const c = tile.getContext("2d");
    c.fillStyle = cssVar("--gantt-off-bg"); c.fillRect(0, 0, 8, 8);
    c.strokeStyle = cssVar("--gantt-off"); c.lineWidth = 1.5;
    c.beginPath(); c.moveTo(0, 8); c.lineTo(8, 0); c.moveTo(-2, 2); c.lineTo(2, -2); c.moveTo(6, 10); c.lineTo(10, 6); c.stroke();
    this._hatch = this.ctx.createPattern(tile, "repeat");
    return this._hatch;
  }
}
