// Shared plumbing of the charts: a canvas that follows its container's size and the screen's
// pixel ratio, linear scales, "nice" value ticks and calendar-aligned time ticks. Colours come
// from CSS custom properties so that the theme lives in one place (app.css).

import { num, pct } from "../dom.js";

const SECOND = 1000, MINUTE = 60 * SECOND, HOUR = 60 * MINUTE, DAY = 24 * HOUR;
// Tick steps a person reads easily; months and years are approximated by 30 and 365 days,
// which is good enough for tick placement (labels print the real dates).
const TIME_STEPS = [
  SECOND, 2 * SECOND, 5 * SECOND, 10 * SECOND, 15 * SECOND, 30 * SECOND,
  MINUTE, 2 * MINUTE, 5 * MINUTE, 10 * MINUTE, 15 * MINUTE, 30 * MINUTE,
  HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR,
  DAY, 2 * DAY, 7 * DAY, 14 * DAY, 30 * DAY, 91 * DAY, 182 * DAY, 365 * DAY,
];

export function cssVar(name, fallback = "#000") {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

export function niceTicks(min, max, count = 5) {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) {
    ticks.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  }
  return ticks;
}

// Offset of local time from UTC at t, so that day ticks fall on local midnight.
function localOffset(t) {
  return -new Date(t).getTimezoneOffset() * MINUTE;
}

export function timeTicks(t0, t1, count = 6) {
  const want = (t1 - t0) / count;
  const step = TIME_STEPS.find((s) => s >= want) ?? TIME_STEPS[TIME_STEPS.length - 1];
  const off = step >= HOUR ? localOffset(t0) : 0;
  const ticks = [];
  for (let t = Math.ceil((t0 + off) / step) * step - off; t <= t1; t += step) ticks.push(t);
  return { ticks, step };
}

export function timeLabel(t, step, locale) {
  const d = new Date(t);
  const opts = step >= DAY
    ? { month: "short", day: "numeric" }
    : step >= MINUTE
      ? { hour: "2-digit", minute: "2-digit", hour12: false }
      : { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false };
  return new Intl.DateTimeFormat(locale, opts).format(d);
}

function digitsFor(span) { return span >= 100 ? 0 : span >= 10 ? 1 : span >= 1 ? 2 : 3; }

/** A chart value with as many decimals as its span needs, formatted like every number of the app. */
export function formatValue(v, span = Math.abs(v)) {
  return num(v, digitsFor(span));
}

/** A value with its unit, as the pages write it: "92.3%" / "92,3 %" for percent, "81.2 °C". */
export function valueText(v, span, unit) {
  if (unit === "%") return pct(v / 100, digitsFor(span));
  return unit ? `${formatValue(v, span)} ${unit}` : formatValue(v, span);
}

/** A canvas chart with margins, an x range (ms or index) and a y range. Subclasses draw. */
export class Plot {
  constructor(container, { height = 240, margin = {} } = {}) {
    this.container = container;
    this.margin = { top: 10, right: 14, bottom: 24, left: 56, ...margin };
    this.canvas = document.createElement("canvas");
    this.canvas.className = "chart-canvas";
    this.canvas.style.height = `${height}px`;
    container.appendChild(this.canvas);
    this.ctx = this.canvas.getContext("2d");
    this.locale = document.documentElement.lang || "en";
    this.x0 = 0; this.x1 = 1; this.y0 = 0; this.y1 = 1;
    this.observer = new ResizeObserver(() => this.resize());
    this.observer.observe(container);
    this.resize();
  }

  destroy() {
    this.observer.disconnect();
    this.canvas.remove();
  }

  resize() {
    const ratio = window.devicePixelRatio || 1;
    const rect = this.canvas.getBoundingClientRect();
    this.width = Math.max(50, rect.width);
    this.height = Math.max(40, rect.height);
    this.canvas.width = Math.round(this.width * ratio);
    this.canvas.height = Math.round(this.height * ratio);
    this.ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    this.draw();
  }

  get plotWidth() { return this.width - this.margin.left - this.margin.right; }
  get plotHeight() { return this.height - this.margin.top - this.margin.bottom; }

  sx(x) { return this.margin.left + ((x - this.x0) / (this.x1 - this.x0)) * this.plotWidth; }
  sy(y) { return this.margin.top + (1 - (y - this.y0) / (this.y1 - this.y0)) * this.plotHeight; }
  invx(px) { return this.x0 + ((px - this.margin.left) / this.plotWidth) * (this.x1 - this.x0); }

  clear() {
    this.ctx.clearRect(0, 0, this.width, this.height);
    this.ctx.font = `11px ${cssVar("--font-ui", "sans-serif")}`;
  }

  drawValueAxis(unit = "") {
    const { ctx, margin } = this;
    ctx.strokeStyle = cssVar("--chart-grid");
    ctx.fillStyle = cssVar("--chart-text");
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    ctx.lineWidth = 1;
    const span = this.y1 - this.y0;
    for (const v of niceTicks(this.y0, this.y1, Math.max(2, Math.floor(this.plotHeight / 40)))) {
      const y = Math.round(this.sy(v)) + 0.5;
      ctx.beginPath(); ctx.moveTo(margin.left, y); ctx.lineTo(this.width - margin.right, y); ctx.stroke();
      ctx.fillText(formatValue(v, span), margin.left - 6, y);
    }
    if (unit) {
      ctx.textAlign = "left"; ctx.textBaseline = "top";
      ctx.fillText(unit, 4, 2);
    }
  }

  drawTimeAxis() {
    const { ctx } = this;
    const { ticks, step } = timeTicks(this.x0, this.x1, Math.max(2, Math.floor(this.plotWidth / 90)));
    ctx.strokeStyle = cssVar("--chart-grid");
    ctx.fillStyle = cssVar("--chart-text");
    ctx.textAlign = "center"; ctx.textBaseline = "top";
    for (const t of ticks) {
      const x = Math.round(this.sx(t)) + 0.5;
      ctx.beginPath(); ctx.moveTo(x, this.margin.top); ctx.lineTo(x, this.margin.top + this.plotHeight); ctx.stroke();
      ctx.fillText(timeLabel(t, step, this.locale), x, this.margin.top + this.plotHeight + 5);
    }
  }

  drawFrame() {
    const { ctx, margin } = this;
    ctx.strokeStyle = cssVar("--chart-axis");
    ctx.strokeRect(margin.left + 0.5, margin.top + 0.5, this.plotWidth, this.plotHeight);
  }

  // Keep drawing inside the plot area.
  clipPlot() {
    const { ctx, margin } = this;
    ctx.save();
    ctx.beginPath();
    ctx.rect(margin.left, margin.top, this.plotWidth, this.plotHeight);
    ctx.clip();
  }

  /** A box of text lines near (x, y), kept inside the canvas. */
  tooltip(x, y, lines) {
    const { ctx } = this;
    ctx.font = `12px ${cssVar("--font-ui", "sans-serif")}`;
    const w = Math.max(...lines.map((l) => ctx.measureText(l).width)) + 12;
    const h = lines.length * 16 + 6;
    const bx = x + 12 + w > this.width ? Math.max(2, x - 12 - w) : x + 12;
    const by = Math.max(2, Math.min(y, this.height - h - 2));
    ctx.fillStyle = cssVar("--panel"); ctx.fillRect(bx, by, w, h);
    ctx.strokeStyle = cssVar("--chart-axis"); ctx.strokeRect(bx + 0.5, by + 0.5, w, h);
    ctx.fillStyle = cssVar("--text"); ctx.textAlign = "left"; ctx.textBaseline = "middle";
    lines.forEach((l, i) => ctx.fillText(l, bx + 6, by + 11 + i * 16));
  }

  draw() {}
}

/**
 * Zoom and pan of a plot's x axis, as the trend chart and the Gantt chart share them: the wheel
 * zooms around the pointer, a drag pans, a double click asks the owner to reset the range (a
 * "reset-range" event on the container). `setRange(x0, x1)` is called per wheel tick and once at
 * the end of a drag, not on every pointer move (owners that fetch data debounce it);
 * `onHover(event)` gets pointer moves that are not drags.
 */
export function bindZoomPan(plot, setRange, onHover = () => {}) {
  const c = plot.canvas;
  let drag = null;
  c.addEventListener("wheel", (e) => {
    e.preventDefault();
    const at = plot.invx(e.offsetX);
    const k = Math.exp(Math.sign(e.deltaY) * 0.25);
    setRange(at - (at - plot.x0) * k, at + (plot.x1 - at) * k);
  }, { passive: false });
  c.addEventListener("pointerdown", (e) => {
    drag = { px: e.clientX, x0: plot.x0, x1: plot.x1 };
    c.setPointerCapture(e.pointerId);
  });
  c.addEventListener("pointermove", (e) => {
    if (drag) {
      const dt = ((e.clientX - drag.px) / plot.plotWidth) * (drag.x1 - drag.x0);
      plot.x0 = drag.x0 - dt; plot.x1 = drag.x1 - dt;
      plot.draw();
    } else {
      onHover(e);
    }
  });
  c.addEventListener("pointerup", () => {
    if (drag && (drag.x0 !== plot.x0)) setRange(plot.x0, plot.x1);
    drag = null;
  });
  c.addEventListener("dblclick", () => plot.container.dispatchEvent(new CustomEvent("reset-range")));
}

export function extent(arrays, pad = 0.05) {
  let lo = Infinity, hi = -Infinity;
  for (const a of arrays) {
    for (const v of a) {
      if (v !== null && Number.isFinite(v)) { if (v < lo) lo = v; if (v > hi) hi = v; }
    }
  }
  if (!Number.isFinite(lo)) return [0, 1];
  if (hi === lo) { const d = Math.abs(lo) * 0.1 || 1; return [lo - d, hi + d]; }
  const d = (hi - lo) * pad;
  return [lo - d, hi + d];
}

export { SECOND, MINUTE, HOUR, DAY };
