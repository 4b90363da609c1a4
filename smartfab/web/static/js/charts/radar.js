// Radar chart in SVG: one axis per item (a maturity model's sub-domains or dimensions), a ring
// per level from 0 to `max`, and polygons of one or more series (this assessment, the one before,
// the level aimed at). Drawn at the container's width in real pixels, so that text keeps its
// size on a phone. Axis labels are the items' names where they fit; where they would overlap or
// leave the chart (a narrow screen, twenty sub-domains), each axis is labelled by its number
// instead and the page lists the numbers (`data-labels` on the container says which).

import { cssVar } from "./core.js";
import { num } from "../dom.js";

const NS = "http://www.w3.org/2000/svg";

function el(tag, attrs = {}, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function overlaps(a, b) {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

/** Words of `text` on lines at most `width` pixels wide (a word longer than that keeps its line). */
function wrap(text, width, ctx) {
  const lines = [];
  for (const word of text.split(/\s+/)) {
    const last = lines[lines.length - 1];
    if (last !== undefined && ctx.measureText(`${last} ${word}`).width <= width) lines[lines.length - 1] = `${last} ${word}`;
    else lines.push(word);
  }
  return lines;
}

export class RadarChart {
  /** axes: [{label, short, group?}], max: the outer ring's value. */
  constructor(container, { axes = [], max = 5, maxHeight = 560 } = {}) {
    this.container = container;
    this.axes = axes;
    this.max = max;
    this.maxHeight = maxHeight;
    this.series = [];
    this.svg = el("svg", { class: "radar", role: "img" });
    container.append(this.svg);
    this.observer = new ResizeObserver(() => this.draw());
    this.observer.observe(container);
  }

  /** series: [{name, values: [number|null per axis], color, fill?, dash?}] */
  setSeries(series) {
    this.series = series;
    this.draw();
  }

  destroy() {
    this.observer.disconnect();
    this.svg.remove();
  }

  draw() {
    const width = this.container.clientWidth;
    if (!width || !this.axes.length) return;
    for (const full of [true, false]) {
      if (this.render(width, full) || !full) break;
    }
  }

  /** Draws the chart; false when a label overlaps another or leaves the chart. */
  render(width, full) {
    const svg = this.svg;
    svg.replaceChildren();
    const n = this.axes.length;
    const margin = full ? Math.min(150, Math.max(70, width * 0.2)) : 26;
    const r = Math.max(40, Math.min(width / 2 - margin, Math.min(this.maxHeight, width) / 2 - 24));
    const cx = width / 2, cy = r + 24;
    svg.setAttribute("width", width);
    const angle = (i) => -Math.PI / 2 + (2 * Math.PI * i) / n;
    const at = (i, v) => [cx + Math.cos(angle(i)) * r * (v / this.max), cy + Math.sin(angle(i)) * r * (v / this.max)];
    const grid = cssVar("--chart-grid"), axis = cssVar("--chart-axis"), text = cssVar("--chart-text");
    const font = cssVar("--font-ui", "sans-serif");

    for (let level = 1; level <= this.max; level++) {
      const pts = this.axes.map((_, i) => at(i, level).join(",")).join(" ");
      svg.append(el("polygon", { points: pts, fill: "none", stroke: level === this.max ? axis : grid }));
      // Between the first two axes, clear of the first axis' label.
      const [x, y] = at(0.5, level);
      svg.append(el("text", { x: x + 2, y: y + 3, "font-size": 10, fill: text, "font-family": font }, num(level, 0)));
    }
    this.axes.forEach((_, i) => {
      const [x, y] = at(i, this.max);
      svg.append(el("line", { x1: cx, y1: cy, x2: x, y2: y, stroke: grid }));
    });

    for (const s of this.series) {
      const pts = s.values.map((v, i) => at(i, Math.max(0, Math.min(this.max, v ?? 0))).join(",")).join(" ");
      svg.append(el("polygon", {
        points: pts, fill: s.fill ? s.color : "none", "fill-opacity": s.fill ? 0.18 : 0,
        stroke: s.color, "stroke-width": s.fill ? 2 : 1.5, "stroke-dasharray": s.dash || "none",
        "data-series": s.name,
      }));
      if (s.fill) {
        s.values.forEach((v, i) => {
          const [x, y] = at(i, Math.max(0, Math.min(this.max, v ?? 0)));
          const dot = el("circle", { cx: x, cy: y, r: 3, fill: s.color });
          dot.append(el("title", {}, `${this.axes[i].label}: ${num(v, 1)}`));
          svg.append(dot);
        });
      }
    }

    const boxes = [];
    const measure = document.createElement("canvas").getContext("2d");
    measure.font = `12px ${font}`;
    this.axes.forEach((a, i) => {
      const cos = Math.cos(angle(i)), sin = Math.sin(angle(i));
      const x = cx + cos * (r + 8), y = cy + sin * (r + 8);
      const anchor = Math.abs(cos) < 0.2 ? "middle" : cos > 0 ? "start" : "end";
      // Long names wrap onto lines as wide as the margin; lines grow away from the chart.
      const lines = full ? wrap(a.label, Math.max(60, margin - 14), measure) : [a.short];
      const lift = sin < -0.5 ? -(lines.length - 1) : sin > 0.5 ? 0 : -(lines.length - 1) / 2;
      const baseline = sin < -0.5 ? "auto" : sin > 0.5 ? "hanging" : "middle";
      const label = el("text", {
        x, y, "text-anchor": anchor, "dominant-baseline": baseline, "font-size": 12,
        fill: cssVar("--text"), "font-family": font, "data-axis": String(i),
      });
      lines.forEach((line, k) => label.append(el("tspan", { x, dy: k ? "1.2em" : `${1.2 * lift}em` }, line)));
      label.append(el("title", {}, a.label));
      svg.append(label);
      boxes.push(label.getBBox());
    });
    // As tall as what was drawn: labels above and below take the room they need.
    const all = svg.getBBox();
    svg.setAttribute("height", Math.ceil(all.height + 8));
    svg.setAttribute("viewBox", `0 ${Math.floor(all.y - 4)} ${width} ${Math.ceil(all.height + 8)}`);
    this.container.dataset.labels = full ? "names" : "numbers";
    if (!full) return true;
    const inside = boxes.every((b) => b.x >= 0 && b.x + b.width <= width);
    return inside && boxes.every((b, i) => boxes.slice(i + 1).every((c) => !overlaps(b, c)));
  }
}
