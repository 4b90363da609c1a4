// Pie chart (a ring): the shares of a whole, e.g. the six big losses of a line, with a legend
// beside it (under it where the panel is narrow) naming each part with its value and share.
// Hovering a part brings it out and names it in the ring's middle.

import { Plot, cssVar } from "./core.js";
import { PALETTE } from "./lines.js";
import { h, pct } from "../dom.js";

export class PieChart extends Plot {
  constructor(container, { height = 200 } = {}) {
    super(container, { height, margin: { top: 6, right: 6, bottom: 6, left: 6 } });
    container.classList.add("pie-box"); // the ring and its legend side by side where they fit
    this.items = [];
    this.hover = null;
    this.legend = h("div", { class: "legend chart-legend pie-legend" });
    container.append(this.legend);
    this.canvas.addEventListener("pointermove", (e) => { this.hover = this.partAt(e.offsetX, e.offsetY); this.draw(); });
    this.canvas.addEventListener("pointerleave", () => { this.hover = null; this.draw(); });
  }

  /** items: [{label, value, text?, color?}] (text: how the value reads; negative values count
   * as none). */
  setItems(items) {
    this.items = items.map((d, i) => ({ ...d, color: d.color || cssVar(PALETTE[i % PALETTE.length]) }));
    const total = this.total();
    this.legend.replaceChildren(...this.items.map((d) => h("span", { dataset: { part: d.label } },
      h("i", { style: `background: ${d.color}` }), d.label, " ",
      h("b", {}, d.text ?? String(d.value)), total > 0 ? ` (${pct(Math.max(0, d.value) / total, 0)})` : "")));
    this.container.dataset.parts = String(this.items.filter((d) => d.value > 0).length);
    this.draw();
  }

  total() { return this.items.reduce((n, d) => n + Math.max(0, d.value || 0), 0); }

  geometry() {
    const cx = this.width / 2, cy = this.height / 2;
    const r = Math.max(10, Math.min(this.width, this.height) / 2 - 8);
    return { cx, cy, r, inner: r * 0.58 };
  }

  partAt(x, y) {
    const { cx, cy, r, inner } = this.geometry();
    const d = Math.hypot(x - cx, y - cy);
    if (d < inner || d > r + 4) return null;
    let a = Math.atan2(y - cy, x - cx) + Math.PI / 2;
    if (a < 0) a += 2 * Math.PI;
    const total = this.total();
    let at = 0;
    for (let i = 0; i < this.items.length; i++) {
      at += (Math.max(0, this.items[i].value || 0) / total) * 2 * Math.PI;
      if (a <= at) return i;
    }
    return null;
  }

  draw() {
    if (!this.ctx || !this.items) return;
    this.clear();
    const total = this.total();
    const { ctx } = this;
    const { cx, cy, r, inner } = this.geometry();
    if (!(total > 0)) {
      ctx.strokeStyle = cssVar("--chart-grid"); ctx.lineWidth = r - inner;
      ctx.beginPath(); ctx.arc(cx, cy, (r + inner) / 2, 0, 2 * Math.PI); ctx.stroke();
      ctx.lineWidth = 1;
      return;
    }
    let a = -Math.PI / 2;
    this.items.forEach((d, i) => {
      const share = Math.max(0, d.value || 0) / total;
      if (!share) return;
      const out = i === this.hover ? 4 : 0;
      const mid = a + share * Math.PI;
      const dx = Math.cos(mid) * out, dy = Math.sin(mid) * out;
      ctx.fillStyle = d.color;
      ctx.beginPath();
      ctx.arc(cx + dx, cy + dy, r, a, a + share * 2 * Math.PI);
      ctx.arc(cx + dx, cy + dy, inner, a + share * 2 * Math.PI, a, true);
      ctx.closePath(); ctx.fill();
      ctx.strokeStyle = cssVar("--panel"); ctx.stroke();
      a += share * 2 * Math.PI;
    });
    if (this.hover !== null) {
      const d = this.items[this.hover];
      ctx.fillStyle = cssVar("--text"); ctx.textAlign = "center"; ctx.textBaseline = "middle";
      ctx.font = `12px ${cssVar("--font-ui", "sans-serif")}`;
      ctx.fillText(pct(Math.max(0, d.value) / total, 0), cx, cy - 8);
      ctx.fillText(d.text ?? String(d.value), cx, cy + 8);
    }
  }
}
