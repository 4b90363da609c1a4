// Production scheduling: work orders with their routings (as JSON, or a benchmark file in
// OR-Library or Brandimarte format) are sent to /api/scheduling/plans, solved by CP-SAT on the
// server while this page polls the plan, and shown as a Gantt chart with the delivery figures.
// "Machine down" re-plans from a point in time: what has started stays, the re-plan is drawn
// under the plan before it on the same, shared time axis.

import { get, send, serverMessage } from "../api.js";
import { GanttChart, jobColor } from "../charts/gantt.js";
import { dateTime, h, num, pct } from "../dom.js";
import { locale, t } from "../i18n.js";
import { planningTabs } from "./common.js";

const POLL_MS = 300;
const UNITS = [["unit.seconds", 1], ["unit.minutes_long", 60], ["unit.hours_long", 3600]];

// What the user entered and which plans are shown survive a re-render (language switch).
const state = {
  source: "orders", orders: null, fileText: "", fileName: "", format: "jsp",
  objective: "tardiness", limit: 5, unit: 60, planId: null, replanId: null,
};

/** A small example over the machines of the plant's first line: eight work orders, some
 * operations with a choice of machine, due dates and priorities, a maintenance window. */
function example(plant) {
  const names = (plant?.lines[0]?.equipment ?? []).map((e) => e.name).slice(0, 4);
  while (names.length < 4) names.push(`m${names.length}`);
  const routes = [[0, 1, 2], [1, 0, 3], [0, 2, 3], [2, 1, 0], [1, 3, 2], [3, 0, 1], [0, 3], [2, 3, 1]];
  const minutes = [[35, 20, 40], [25, 30, 20], [40, 15, 30], [20, 45, 25], [30, 25, 35], [45, 20, 15], [30, 40], [20, 30, 25]];
  const jobs = routes.map((route, j) => ({
    name: `WO-${1001 + j}`,
    due: 150 + 25 * j,
    priority: j % 3 === 0 ? 3 : 1,
    operations: route.map((m, k) => ({
      name: `op${(k + 1) * 10}`,
      // Every other operation may also run on the next machine, a little slower.
      alternatives: [{ machine: names[m], duration: minutes[j][k] }].concat(
        (j + k) % 2 ? [{ machine: names[(m + 1) % 4], duration: Math.round(minutes[j][k] * 1.2) }] : []),
    })),
  }));
  return {
    machines: names.map((name, i) => ({
      name, unavailable: i === 2 ? [{ start: 90, end: 135, reason: t("scheduling.reason_maintenance") }] : [],
    })),
    jobs,
  };
}

function toMs(plan, t0) { return Date.parse(plan.origin) + t0 * plan.unit_s * 1000; }

// A plan time on the clock: day and time, with seconds only for plans counted in seconds.
/** A plan's name; one the user did not name is called after when it was submitted, in the
 * page's language (a name made at submission would stay in the language of that moment). */
function planName(p) {
  if (p.name) return p.name;
  if (!p.created) return p.id;
  return t("scheduling.orders_name", { time: clock({ origin: new Date(p.created * 1000).toISOString(), unit_s: 60 }, 0) });
}

function clock(plan, t0) {
  return new Intl.DateTimeFormat(locale(), {
    month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false,
    second: plan.unit_s < 60 ? "2-digit" : undefined,
  }).format(new Date(toMs(plan, t0)));
}

function unitLabel(plan) {
  return plan.unit_s === 1 ? t("unit.seconds") : plan.unit_s === 3600 ? t("unit.hours_long") : t("unit.minutes_long");
}

async function poll(id, onProgress, alive) {
  for (;;) {
    const plan = await get(`scheduling/plans/${id}`);
    if (!alive()) return null;
    if (plan.state !== "queued" && plan.state !== "running") return plan;
    onProgress(plan);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

function progressText(plan) {
  const p = plan.progress || {};
  const parts = [t(plan.state === "queued" ? "scheduling.queued" : "scheduling.solving",
    { s: num(plan.elapsed_s, 1), limit: num(p.time_limit_s ?? 0, 0) })];
  if (p.best !== undefined) parts.push(t("scheduling.best_so_far", { best: p.best, bound: p.bound }));
  return parts.join(" · ");
}

function kpis(plan, before) {
  const s = plan.schedule;
  const diff = (a, b) => (before ? ` (${a - b >= 0 ? "+" : ""}${num(a - b, 0)})` : "");
  const card = (key, value, extra = "") => h("div", { class: "kpi", dataset: { kpi: key } },
    h("div", { class: "label" }, t(key)), h("div", { class: "value" }, value), extra ? h("div", { class: "muted" }, extra) : null);
  const b = before?.schedule;
  return h("div", { class: "kpis" },
    card("scheduling.makespan", `${num(s.makespan, 0)}`, `${unitLabel(plan)}${b ? diff(s.makespan, b.makespan) : ""}`),
    card("scheduling.on_time", s.on_time_ratio === null ? "–" : pct(s.on_time_ratio),
      b && b.on_time_ratio !== null ? t("scheduling.before", { value: pct(b.on_time_ratio) }) : ""),
    card("scheduling.tardiness", num(s.weighted_tardiness, 0), b ? diff(s.weighted_tardiness, b.weighted_tardiness).trim() : ""),
    card("scheduling.bound", num(s.bound, 0), s.proven_optimal ? t("scheduling.optimal") : t("scheduling.gap", { gap: pct(s.gap) })),
    card("scheduling.solve_time", `${num(s.seconds, 1)} s`),
    plan.parent ? card("scheduling.kept", num(s.kept, 0)) : null);
}

/** The plan's Gantt chart in `box`. */
function gantt(box, plan, onRange) {
  const s = plan.schedule;
  const late = new Set(plan.jobs.map((j, i) => (j.due !== null && s.completion[i] > j.due ? i : -1)));
  const chart = new GanttChart(box, {
    rows: plan.machines.length,
    onRange,
    tooltip: (b) => {
      const job = plan.jobs[b.job];
      const a = s.assignments[b.index];
      const lines = [
        `${job.name} · ${job.operations[a.operation] || t("scheduling.operation", { n: a.operation + 1 })}`,
        `${plan.machines[a.machine].name}  ${clock(plan, a.start)} – ${clock(plan, a.end)}`,
        t("scheduling.tip_times", { start: a.start, end: a.end, unit: unitLabel(plan) }),
      ];
      if (job.due !== null) {
        lines.push(late.has(b.job)
          ? t("scheduling.tip_late", { due: clock(plan, job.due), by: num(s.completion[b.job] - job.due, 0), unit: unitLabel(plan) })
          : t("scheduling.tip_on_time", { due: clock(plan, job.due) }));
      }
      if (a.fixed) lines.push(t("scheduling.tip_fixed"));
      return lines;
    },
  });
  const down = plan.down;
  chart.setPlan({
    rows: plan.machines.map((m, i) => ({
      name: m.name,
      windows: m.unavailable.map((w) => ({
        start: toMs(plan, w.start), end: toMs(plan, w.end),
        breakdown: isDown(plan, i, w),
      })),
    })),
    bars: s.assignments.map((a, index) => ({
      index, row: a.machine, job: a.job, start: toMs(plan, a.start), end: toMs(plan, a.end),
      label: plan.jobs[a.job].name, fixed: a.fixed,
    })),
    dues: plan.jobs.flatMap((j, i) => (j.due === null ? [] : [{ job: i, t: toMs(plan, j.due), late: late.has(i) }])),
    marker: down ? toMs(plan, down.start) : null,
  }, toMs(plan, 0), toMs(plan, Math.max(s.makespan, ...plan.jobs.map((j) => j.due ?? 0)) * 1.04 || 1));
  return chart;
}

// Whether window w of machine i is the breakdown a re-plan was made for.
function isDown(plan, i, w) {
  const d = plan.down;
  return d !== null && d.machine === i && w.start === d.start && w.end === d.end;
}

// The jobs' colours, and the other marks where the plan has them.
function legend(plan) {
  const jobs = plan.jobs.slice(0, 24).map((j, i) => h("span", {}, h("i", { style: `background: ${jobColor(i)}` }), j.name));
  const item = (show, swatch, key) => (show ? h("span", {}, swatch, t(key)) : null);
  return h("div", { class: "legend gantt-legend" }, jobs,
    item(plan.machines.some((m, i) => m.unavailable.some((w) => !isDown(plan, i, w))), h("i", { class: "swatch-off" }), "scheduling.legend_off"),
    item(plan.down, h("i", { style: "background: var(--gantt-breakdown)" }), "scheduling.legend_breakdown"),
    item(plan.jobs.some((j) => j.due !== null), h("i", { class: "swatch-due" }), "scheduling.legend_due"),
    item(plan.down, h("i", { class: "swatch-fixed" }), "scheduling.legend_fixed"));
}

export async function render(root, _route, plant) {
  let alive = true;
  const charts = [];
  if (!state.orders) state.orders = JSON.stringify(example(plant), null, 1);

  // --- the problem form -------------------------------------------------------------------------
  const ordersText = h("textarea", { class: "code", id: "orders", rows: 14, spellcheck: "false", "aria-label": t("scheduling.orders") });
  ordersText.value = state.orders;
  ordersText.addEventListener("input", () => { state.orders = ordersText.value; });
  const file = h("input", { type: "file", id: "instance-file", "aria-label": t("scheduling.file") });
  // The browser's own file button speaks the browser's language: a translated one stands in.
  const pick = h("label", { class: "file-pick" }, file, h("span", { class: "button" }, t("scheduling.choose_file")));
  const fileInfo = h("span", { class: "muted" }, state.fileName);
  file.addEventListener("change", async () => {
    const f = file.files[0];
    if (!f) return;
    state.fileText = await f.text();
    state.fileName = f.name;
    fileInfo.textContent = f.name;
  });
  const format = h("select", { id: "format" },
    h("option", { value: "jsp" }, t("scheduling.format_jsp")), h("option", { value: "fjsp" }, t("scheduling.format_fjsp")));
  format.value = state.format;
  format.addEventListener("change", () => { state.format = format.value; });
  const ordersBox = h("div", { class: "source-orders" }, ordersText, h("div", { class: "hint" }, t("scheduling.orders_hint")));
  const fileBox = h("div", { class: "source-file" },
    h("div", { class: "toolbar" }, h("label", {}, t("scheduling.format"), format), pick, fileInfo),
    h("div", { class: "hint" }, t("scheduling.file_hint")));
  const sources = h("div", { class: "segmented", role: "group" },
    [["orders", "scheduling.source_orders"], ["file", "scheduling.source_file"]].map(([k, key]) =>
      h("button", { type: "button", "data-source": k, onclick: () => { state.source = k; showSource(); } }, t(key))));
  function showSource() {
    ordersBox.hidden = state.source !== "orders";
    fileBox.hidden = state.source !== "file";
    for (const b of sources.children) b.classList.toggle("active", b.dataset.source === state.source);
  }
  showSource();

  const objective = h("select", { id: "objective" },
    h("option", { value: "tardiness" }, t("scheduling.objective_tardiness")),
    h("option", { value: "makespan" }, t("scheduling.objective_makespan")));
  objective.value = state.objective;
  objective.addEventListener("change", () => { state.objective = objective.value; });
  const limit = h("input", { type: "number", id: "time-limit", min: "1", max: "600", step: "1", value: String(state.limit) });
  limit.addEventListener("change", () => { state.limit = Number(limit.value); });
  const unit = h("select", { id: "unit" }, UNITS.map(([key, s]) => h("option", { value: String(s) }, t(key))));
  unit.value = String(state.unit);
  unit.addEventListener("change", () => { state.unit = Number(unit.value); });
  const solveBtn = h("button", { class: "primary", id: "solve", type: "submit" }, t("scheduling.solve"));
  const status = h("div", { class: "job-status", id: "solve-status" });
  const form = h("form", { class: "problem-form" },
    h("div", { class: "toolbar" }, sources),
    ordersBox, fileBox,
    h("div", { class: "toolbar" },
      h("label", {}, t("scheduling.objective"), objective),
      h("label", {}, t("scheduling.time_limit"), limit),
      h("label", {}, t("scheduling.unit"), unit),
      solveBtn),
    status);

  const planList = h("div", { id: "plans" });
  const planBox = h("div", { class: "plan", id: "plan" });
  const replanBox = h("div", { class: "plan", id: "replan" });
  root.append(
    h("div", { class: "page-head" }, h("h1", {}, t("scheduling.title"))),
    planningTabs("scheduling"),
    h("div", { class: "grid-2" },
      h("section", { class: "panel" }, h("h2", {}, t("scheduling.problem")), form),
      h("section", { class: "panel" }, h("h2", {}, t("scheduling.plans")), planList)),
    planBox, replanBox);

  // --- plans ------------------------------------------------------------------------------------
  async function listPlans() {
    const plans = await get("scheduling/plans");
    if (!alive) return;
    if (!plans.length) { planList.replaceChildren(h("div", { class: "muted" }, t("scheduling.no_plans"))); return; }
    planList.replaceChildren(h("table", { class: "data" },
      h("tr", {}, ["scheduling.plan", "common.state", "scheduling.makespan", "scheduling.on_time"].map((k, i) => h("th", { class: i > 1 ? "num" : "" }, t(k)))),
      plans.map((p) => h("tr", {
        class: `clickable${p.id === state.planId || p.id === state.replanId ? " selected" : ""}`,
        dataset: { plan: p.id },
        onclick: () => { if (p.state === "done") { state.planId = p.parent ?? p.id; state.replanId = p.parent ? p.id : null; showPlans(); } },
      },
      h("td", {}, planName(p), p.parent ? h("span", { class: "muted" }, ` · ${t("scheduling.replan_short")}`) : null),
      h("td", { class: "nowrap" }, t(`job.${p.state}`)),
      h("td", { class: "num" }, num(p.makespan, 0)),
      h("td", { class: "num" }, pct(p.on_time_ratio))))));
  }

  function clearCharts() { while (charts.length) charts.pop().destroy(); }

  async function showPlans() {
    clearCharts();
    planBox.replaceChildren();
    replanBox.replaceChildren();
    listPlans().catch(() => {});
    if (!state.planId) return;
    const plan = await get(`scheduling/plans/${state.planId}`);
    if (!alive || plan.state !== "done") return;
    const box = h("div", { class: "chart gantt", id: "gantt" });
    const downForm = machineDown(plan);
    planBox.append(h("section", { class: "panel" },
      h("div", { class: "trend-head" }, h("h2", {}, t("scheduling.plan_title", { name: planName(plan) })),
        h("span", { class: "muted" }, t("scheduling.origin", { time: dateTime(Date.parse(plan.origin)) })),
        h("span", { class: "hint" }, t("equipment.trend_hint"))),
      kpis(plan), legend(plan), box, downForm));
    const first = gantt(box, plan, (a, b) => charts[1]?.setRange(a, b, false));
    charts.push(first);
    planBox.dataset.plan = plan.id;
    if (!state.replanId) return;
    const re = await get(`scheduling/plans/${state.replanId}`);
    if (!alive || re.state !== "done") return;
    const rbox = h("div", { class: "chart gantt", id: "gantt-replan" });
    const m = re.machines[re.down.machine].name;
    replanBox.append(h("section", { class: "panel replan" },
      h("div", { class: "trend-head" }, h("h2", {}, t("scheduling.replan_title", {
        machine: m, at: clock(re, re.down.start), until: clock(re, re.down.end) }))),
      kpis(re, plan), legend(re), re.schedule.interrupted
        ? h("div", { class: "muted" }, t("scheduling.interrupted", { job: re.jobs[re.schedule.interrupted.job].name, machine: m }))
        : null,
      rbox));
    const second = gantt(rbox, re, (a, b) => first.setRange(a, b, false));
    second.setRange(first.x0, first.x1, false);
    charts.push(second);
    replanBox.dataset.plan = re.id;
  }

  function machineDown(plan) {
    const machine = h("select", { id: "down-machine" }, plan.machines.map((m, i) => h("option", { value: String(i) }, m.name)));
    // Default: the machine busy at a third of the plan, from then, for a tenth of the plan.
    const at0 = Math.round(plan.schedule.makespan / 3);
    const busy = plan.schedule.assignments.find((a) => a.start < at0 && at0 < a.end);
    if (busy) machine.value = String(busy.machine);
    const at = h("input", { type: "number", id: "down-at", min: "0", value: String(at0) });
    const dur = h("input", { type: "number", id: "down-for", min: "1", value: String(Math.max(1, Math.round(plan.schedule.makespan / 10))) });
    const downStatus = h("span", { class: "job-status" });
    const go = h("button", { class: "primary", id: "machine-down", type: "submit" }, t("scheduling.machine_down"));
    const f = h("form", { class: "toolbar down-form" },
      h("label", {}, t("scheduling.down_machine"), machine),
      h("label", {}, t("scheduling.down_at", { unit: unitLabel(plan) }), at),
      h("label", {}, t("scheduling.down_for", { unit: unitLabel(plan) }), dur),
      go, downStatus);
    f.addEventListener("submit", async (e) => {
      e.preventDefault();
      go.disabled = true;
      try {
        const job = await send("POST", `scheduling/plans/${plan.id}/machine-down`, {
          machine: Number(machine.value), at: Number(at.value), duration: Number(dur.value), time_limit_s: state.limit,
        });
        const done = await poll(job.id, (p) => { downStatus.textContent = progressText(p); }, () => alive);
        if (!done) return;
        if (done.state !== "done") throw new Error(done.error ? serverMessage(done.error) : t(`job.${done.state}`));
        state.replanId = done.id;
        await showPlans();
      } catch (err) {
        downStatus.replaceChildren(h("span", { class: "error-text" }, t("error.action", { reason: err.message })));
      } finally {
        go.disabled = false;
      }
    });
    return f;
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    let body;
    try {
      if (state.source === "orders") {
        body = JSON.parse(state.orders);
      } else {
        if (!state.fileText) throw new Error(t("scheduling.no_file"));
        body = { instance: { format: state.format, text: state.fileText, name: state.fileName.replace(/\.[^.]*$/, "") } };
      }
    } catch (err) {
      status.replaceChildren(h("span", { class: "error-text" }, t("scheduling.bad_input", { reason: err.message })));
      return;
    }
    solveBtn.disabled = true;
    try {
      const job = await send("POST", "scheduling/plans", {
        ...body, objective: state.objective, time_limit_s: state.limit, unit_s: state.unit,
      });
      listPlans().catch(() => {});
      const done = await poll(job.id, (p) => { status.textContent = progressText(p); }, () => alive);
      if (!done) return;
      if (done.state !== "done") throw new Error(done.error ? serverMessage(done.error) : t(`job.${done.state}`));
      status.textContent = t("scheduling.solved", { s: num(done.schedule.seconds, 1) });
      state.planId = done.id;
      state.replanId = null;
      await showPlans();
    } catch (err) {
      status.replaceChildren(h("span", { class: "error-text" }, t("error.action", { reason: err.message })));
    } finally {
      solveBtn.disabled = false;
    }
  });

  await showPlans();
  return () => { alive = false; clearCharts(); };
}
