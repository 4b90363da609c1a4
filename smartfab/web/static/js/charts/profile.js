// Array signals (a force profile, a spectrum): the newest value as a line over its element index,
// the few before it behind it in fading strokes, so that a drift from one to the next shows; and
// a heat map of the values over time (x: time on the trend's axis, y: element, colour: value).

import { Plot, cssVar, extent, formatValue, niceTicks, timeLabel, valueText } from "./core.js";

export class ProfileChart extends Plot {
  constructor(container, { height = 200, unit = "", indexLabel = "" } = {}) {
    super(container, { height, margin: { bottom: 30 } });
    this.unit = unit;
    this.indexLabel = indexLabel;
    this.profiles = []; // [{t, v: [numbers]}], oldest first
    this.hover = null;
    this.canvas.addEventListener("pointermove", (e) => { this.hover = e.offsetX; this.draw(); });
    this.canvas.addEventListener("pointerleave", () => { this.hover = null; this.draw(); });
  }

  setProfiles(profiles) {
    this.profiles = profiles;
    this.container.dataset.profiles = String(profiles.length);
    this.draw();
  }

  draw() {
    if (!this.ctx || !this.profiles) return; // the first resize comes before the constructor ends
    this.clear();
    const { ctx, margin } = this;
    const newest = this.profiles[this.profiles.length - 1];
    const n = newest ? newest.v.length : 1;
    this.x0 = 0; this.x1 = Math.max(1, n - 1);
    [this.y0, this.y1] = extent(this.profiles.map((p) => p.v));
    this.drawValueAxis(this.unit);
    ctx.fillStyle = cssVar("--chart-text"); ctx.textAlign = "center"; ctx.textBaseline = "top";
    for (const i of niceTicks(0, this.x1, Math.max(2, Math.floor(this.plotWidth / 60)))) {
      if (!Number.isInteger(i)) continue;
      ctx.fillText(String(i), this.sx(i), margin.top + this.plotHeight + 5);
    }
    if (this.indexLabel) {
      ctx.textAlign = "right";
      ctx.fillText(this.indexLabel, this.width - margin.right, margin.top + this.plotHeight + 17);
    }
    this.clipPlot();
    const line = cssVar("--chart-line");
    this.profiles.forEach((p, k) => {
      const age = this.profiles.length - 1 - k; // 0: the newest
      ctx.globalAlpha = age === 0 ? 1 : Math.max(0.15, 0.5 - 0.1 * age);
      ctx.strokeStyle = line; ctx.lineWidth = age === 0 ? 2 : 1.2;
      ctx.beginPath();
      let pen = false;
      p.v.forEach((v, i) => {
        if (v === null) { pen = false; return; }
        if (pen) ctx.lineTo(this.sx(i), this.sy(v)); else ctx.moveTo(this.sx(i), this.sy(v));
        pen = true;
      });
      ctx.stroke();
    });
    ctx.globalAlpha = 1;
    ctx.restore();
    this.drawFrame();
    if (this.hover !== null && newest) {
      const i = Math.round(this.invx(this.hover));
      const v = newest.v[i];
      if (i >= 0 && i < n && v !== null && v !== undefined) {
        const x = this.sx(i), y = this.sy(v);
        ctx.fillStyle = line; ctx.beginPath(); ctx.arc(x, y, 3.5, 0, 2 * Math.PI); ctx.fill();
        this.tooltip(x, y, [`[${i}]  ${valueText(v, this.y1 - this.y0, this.unit)}`, timeLabel(newest.t, 1000, this.locale)]);
      }
    }
  }
}

// Pale to dark: a grey-blue a shade darker than the panel (so that the lowest value is not
// taken for no data) to the chart line's blue, so that high values stand out and nothing
// looks like an alarm.
const LOW = [207, 215, 223], HIGH = [36, 67, 94];

function shade(f) {
  return LOW.map((c, k) => Math.round(c + (HIGH[k] - c) * f));
}

export class HeatMap extends Plot {
  constructor(container, { height = 150, unit = "" } = {}) {
    super(container, { height, margin: { bottom: 22 } });
    this.unit = unit;
    this.columns = []; // [{t, v}], oldest first
    this.hover = null;
    this.canvas.addEventListener("pointermove", (e) => { this.hover = [e.offsetX, e.offsetY]; this.draw(); });
    this.canvas.addEventListener("pointerleave", () => { this.hover = null; this.draw(); });
  }

  setColumns(columns, x0, x1) {
    this.columns = columns;
    this.x0 = x0; this.x1 = x1;
    [this.lo, this.hi] = extent(columns.map((c) => c.v), 0);
    this.container.dataset.columns = String(columns.length);
    this.draw();
    return [this.lo, this.hi];
  }

  setRange(x0, x1) { this.x0 = x0; this.x1 = x1; this.draw(); }

  /** The colour of a value as CSS, for a legend. */
  colorOf(f) { return `rgb(${shade(f).join(",")})`; }

  draw() {
    if (!this.ctx || !this.columns) return;
    this.clear();
    const { ctx, margin, columns } = this;
    const n = columns.length ? Math.max(...columns.map((c) => c.v.length)) : 0;
    this.y0 = 0; this.y1 = Math.max(1, n);
    this.drawTimeAxis();
    ctx.fillStyle = cssVar("--chart-text"); ctx.textAlign = "right"; ctx.textBaseline = "middle";
    for (const i of niceTicks(0, Math.max(1, n - 1), Math.max(2, Math.floor(this.plotHeight / 30)))) {
      if (Number.isInteger(i)) ctx.fillText(String(i), margin.left - 6, this.sy(i + 0.5));
    }
    if (n) {
      // One pixel per value on a canvas of its own, each column then stretched over its time.
      const img = new ImageData(columns.length, n);
      const span = this.hi - this.lo || 1;
      columns.forEach((c, x) => {
        for (let i = 0; i < n; i++) {
          const v = c.v[i];
          const at = ((n - 1 - i) * columns.length + x) * 4; // element 0 at the bottom
          if (v === null || v === undefined) continue; // transparent
          const [r, g, b] = shade((v - this.lo) / span);
          img.data.set([r, g, b, 255], at);
        }
      });
      const off = document.createElement("canvas");
      off.width = columns.length; off.height = n;
      off.getContext("2d").putImageData(img, 0, 0);
      this.clipPlot();
      ctx.imageSmoothingEnabled = false;
      // A column lasts until the next one; the last as long as the one before it.
      const gap = columns.length > 1 ? columns[columns.length - 1].t - columns[columns.length - 2].t : 1000;
      columns.forEach((c, x) => {
        const a = this.sx(c.t), b = this.sx(x + 1 < columns.length ? columns[x + 1].t : c.t + gap);
        ctx.drawImage(off, x, 0, 1, n, a, margin.top, Math.max(1, b - a), this.plotHeight);
      });
      ctx.restore();
    }
    this.drawFrame();
    if (this.hover && n) {
      const t = this.invx(this.hover[0]);
      let k = -1;
      for (let x = 0; x < columns.length && columns[x].t <= t; x++) k = x;
      const i = Math.floor(this.y1 - (this.hover[1] - margin.top) / this.plotHeight * this.y1);
      const v = k >= 0 ? columns[k].v[i] : undefined;
      if (v !== undefined && v !== null) {
        this.tooltip(this.hover[0], this.hover[1], [`[${i}]  ${formatValue(v, this.hi - this.lo)} ${this.unit}`.trim(), timeLabel(columns[k].t, 1000, this.locale)]);
      }
    }
  }
}
