// Control chart: the plotted statistic per subgroup with its centre line and control limits
// (drawn per point, since p and u limits vary with sample size), points beyond the limits filled
// red and points that complete a run-rule pattern ringed, with the rule numbers on hover.

import { Plot, cssVar, extent, formatValue } from "./core.js";

export class ControlChart extends Plot {
  constructor(container, { height = 230, labels }) {
    super(container, { height, margin: { top: 18, right: 84 } });
    this.labels = labels; // {ucl, cl, lcl}: translated by the page
    this.title = "";
    this.chart = null;
    this.hover = null;
    this.canvas.addEventListener("pointermove", (e) => { this.hover = e.offsetX; this.draw(); });
    this.canvas.addEventListener("pointerleave", () => { this.hover = null; this.draw(); });
  }

  /** chart: {columns: {value, center, ucl, lcl}, beyond_limits: [i], violations: {rule: [i]}} */
  setChart(chart, title) {
    this.chart = chart;
    this.title = title;
    const c = chart.columns;
    this.rulesAt = new Map();
    for (const [rule, idx] of Object.entries(chart.violations)) {
      for (const i of idx) this.rulesAt.set(i, [...(this.rulesAt.get(i) || []), rule]);
    }
    this.beyond = new Set(chart.beyond_limits);
    this.x0 = -0.5; this.x1 = c.value.length - 0.5;
    [this.y0, this.y1] = extent([c.value, c.ucl, c.lcl], 0.08);
    this.draw();
  }

  draw() {
    if (!this.ctx || !this.chart) return;
    this.clear();
    const { ctx } = this;
    const c = this.chart.columns;
    this.drawValueAxis();
    ctx.fillStyle = cssVar("--text"); ctx.textAlign = "left"; ctx.textBaseline = "top";
    ctx.fillText(this.title, this.margin.left + 4, 2);
    this.clipPlot();
    const limit = (vals, color, dash) => {
      ctx.strokeStyle = color; ctx.setLineDash(dash); ctx.lineWidth = 1.2;
      ctx.beginPath();
      vals.forEach((v, i) => {
        if (v === null) return;
        ctx.lineTo(this.sx(i - 0.5), this.sy(v)); ctx.lineTo(this.sx(i + 0.5), this.sy(v));
      });
      ctx.stroke(); ctx.setLineDash([]);
    };
    limit(c.ucl, cssVar("--limit"), [6, 4]);
    limit(c.lcl, cssVar("--limit"), [6, 4]);
    limit(c.center, cssVar("--center"), []);
    ctx.strokeStyle = cssVar("--chart-line"); ctx.lineWidth = 1.2;
    ctx.beginPath();
    c.value.forEach((v, i) => ctx.lineTo(this.sx(i), this.sy(v)));
    ctx.stroke();
    c.value.forEach((v, i) => {
      const bad = this.beyond.has(i), rule = this.rulesAt.has(i);
      ctx.fillStyle = bad ? cssVar("--alarm-high") : cssVar("--chart-line");
      ctx.beginPath(); ctx.arc(this.sx(i), this.sy(v), bad ? 4 : 2.5, 0, 2 * Math.PI); ctx.fill();
      if (rule) {
        ctx.strokeStyle = cssVar("--alarm-medium"); ctx.lineWidth = 2;
        ctx.beginPath(); ctx.arc(this.sx(i), this.sy(v), 6.5, 0, 2 * Math.PI); ctx.stroke();
      }
    });
    ctx.restore();
    this.drawFrame();
    // Limit labels in the right margin, pushed apart where limits lie close together.
    const n = c.value.length - 1;
    const span = this.y1 - this.y0;
    ctx.fillStyle = cssVar("--chart-text"); ctx.textAlign = "left"; ctx.textBaseline = "middle";
    let lastY = -Infinity;
    const marks = [[this.labels.ucl, c.ucl], [this.labels.cl, c.center], [this.labels.lcl, c.lcl]]
      .filter(([, vals]) => vals[n] !== null);
    for (const [name, vals] of marks) {
      const y = Math.max(this.sy(vals[n]), lastY + 12);
      ctx.fillText(`${name} ${formatValue(vals[n], span)}`, this.width - this.margin.right + 6, y);
      lastY = y;
    }
    if (this.hover !== null) {
      const i = Math.round(this.invx(this.hover));
      if (i >= 0 && i <= n) {
        const rules = this.rulesAt.get(i);
        const text = `#${i + 1}  ${formatValue(c.value[i], span)}${rules ? "  ⚑ " + rules.join(", ") : ""}`;
        const w = ctx.measureText(text).width + 10;
        const bx = Math.min(this.sx(i) + 8, this.width - w - 2);
        ctx.fillStyle = cssVar("--panel"); ctx.fillRect(bx, this.margin.top + 2, w, 18);
        ctx.strokeStyle = cssVar("--chart-axis"); ctx.strokeRect(bx, this.margin.top + 2, w, 18);
        ctx.fillStyle = cssVar("--text"); ctx.textAlign = "left"; ctx.textBaseline = "middle";
        ctx.fillText(text, bx + 5, this.margin.top + 11);
      }
    }
  }
}
