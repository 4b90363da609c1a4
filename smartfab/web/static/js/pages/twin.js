// Digital twin, what-if: choose a line, calibrate its twin from the stored history (or keep the
// plant's design data), describe scenarios as changes to the line (a cycle time, a buffer slot,
// a machine, a shift), run them against the baseline on the server (replications in parallel,
// polled as a job) and compare throughput, lead time and WIP with their 95% confidence intervals
// and where the bottleneck sits in each.

import { get, send } from "../api.js";
import { BarChart } from "../charts/bars.js";
import { cssVar } from "../charts/core.js";
import { dateTime, h, num, pct, pctChange } from "../dom.js";
import { has, t } from "../i18n.js";
import { planningTabs } from "./common.js";

const POLL_MS = 400;
const KINDS = ["cycle_time", "buffer", "machine", "shift"];
const KPIS = [["throughput_per_h", "twin.throughput", "twin.unit_per_h"], ["lead_time_h", "twin.lead_time", "unit.h"], ["wip", "twin.wip", "twin.unit_parts"]];

// The experiment being set up, the last result, the calibration's notes and a job under way
// survive a re-render (a language change re-renders the page).
const state = { line: null, scenarios: null, horizon: 14, warmup: 1, replications: 5, seed: 0, result: null, job: null, days: 7, notes: null };

// A scenario the page names keeps the key of its name, not the text, so that it reads in the
// language of the moment; a name the user typed (`name`) is kept as typed.
function scenario(key, vars, changes) { return { label: { key, vars }, name: null, changes }; }
function scenarioName(sc) { return sc.name ?? t(sc.label.key, sc.label.vars); }

// A first guess to start from: the station with the longest cycle per machine, 10% faster, and
// with a second machine. The experiment then says whether it was the bottleneck.
function defaultScenarios(line) {
  const slow = line.stations.reduce((a, b) => (b.cycle_s / b.machines > a.cycle_s / a.machines ? b : a));
  return [
    scenario("twin.default_faster", { station: slow.name }, [{ kind: "cycle_time", station: slow.name, factor: 0.9 }]),
    scenario("twin.default_machine", { station: slow.name }, [{ kind: "machine", station: slow.name, amount: 1 }]),
  ];
}

// A calibration note in the reader's language (the server's English text if the key is new).
function noteText(n) {
  const key = `twin.note.${n.code}`;
  if (!has(key)) return n.text;
  const v = n.values || {};
  return t(key, { ...v, covered: v.covered === undefined ? undefined : pct(v.covered) });
}

// A half-width that rounds to zero but is not zero must not read as "± 0.00".
function halfWidth(v) { return v > 0 && v < 0.005 ? "< 0.01" : num(v, 2); }

async function poll(id, onProgress, alive) {
  for (;;) {
    const job = await get(`twin/jobs/${id}`);
    if (!alive()) return null;
    if (job.state !== "queued" && job.state !== "running") return job;
    onProgress(job);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

function progressBar(job) {
  const p = job.progress || {};
  const share = p.total ? p.done / p.total : 0;
  return h("div", { class: "progress" },
    h("div", { class: "bar" }, h("i", { style: `width: ${(100 * share).toFixed(1)}%` })),
    h("span", {}, t(`twin.progress_${job.kind}`, { done: p.done ?? 0, total: p.total ?? "?", s: num(job.elapsed_s, 0) })));
}

// Where the twin comes from: its calibration window, or the design data when there is none.
function sourceText(info) {
  return info
    ? t("twin.calibrated", { start: dateTime(Date.parse(info.start)), end: dateTime(Date.parse(info.end)) })
    : t("twin.design_data");
}

function changeText(c) {
  if (c.kind === "shift") return t("twin.change_shift", { window: c.window });
  if (c.kind === "cycle_time") return t("twin.change_cycle_time", { station: c.station, factor: num(c.factor, 2) });
  return t(`twin.change_${c.kind}`, { station: c.station, n: c.amount });
}

export async function render(root, _route) {
  let alive = true;
  const charts = [];
  const body = await get("twin/lines");
  const lines = body.lines;
  if (!lines.length) throw new Error(t("twin.no_lines"));
  let line = lines.find((l) => l.line === state.line) || lines[0];
  state.line = line.line;
  if (!state.scenarios) state.scenarios = defaultScenarios(line);

  const lineSelect = h("select", { id: "twin-line" }, lines.map((l) => h("option", { value: l.line }, l.name)));
  lineSelect.value = line.line;
  let calibratedFrom = body.calibrated_from;
  const source = h("span", { class: "muted", id: "twin-source" }, sourceText(calibratedFrom));
  const deterministic = h("div", { class: "hint", id: "twin-deterministic" });
  const days = h("input", { type: "number", id: "calibrate-days", min: "0.05", step: "any", value: String(state.days) });
  days.addEventListener("change", () => { state.days = Number(days.value); });
  const calBtn = h("button", { id: "calibrate" }, t("twin.calibrate"));
  const calStatus = h("div", { class: "job-status" });
  const stationTable = h("table", { class: "data", id: "stations" });
  const scenarioBox = h("div", { class: "scenarios" });
  const runBtn = h("button", { class: "primary", id: "run-experiment", type: "submit" }, t("twin.run"));
  const cancelBtn = h("button", { type: "button", hidden: true }, t("twin.cancel"));
  const runStatus = h("div", { class: "job-status", id: "experiment-status" });
  const results = h("div", { id: "twin-results" });
  const num_ = (key, id, min, step) => {
    const el = h("input", { type: "number", id, min, step, value: String(state[key]) });
    el.addEventListener("change", () => { state[key] = Number(el.value); });
    return el;
  };
  const setup = h("form", { class: "experiment-form" },
    scenarioBox,
    h("div", { class: "toolbar" },
      h("button", { type: "button", onclick: () => { state.scenarios.push(scenario("twin.scenario_n", { n: state.scenarios.length + 1 }, [{ kind: "cycle_time", station: line.stations[0].name, factor: 0.9 }])); drawScenarios(); } }, t("twin.add_scenario"))),
    h("div", { class: "toolbar" },
      h("label", {}, t("twin.horizon"), num_("horizon", "horizon", "0.1", "any")),
      h("label", {}, t("twin.warmup"), num_("warmup", "warmup", "0", "any")),
      h("label", {}, t("twin.replications"), num_("replications", "replications", "2", "1")),
      h("label", {}, t("twin.seed"), num_("seed", "seed", "0", "1")),
      runBtn, cancelBtn),
    runStatus);

  root.append(
    h("div", { class: "page-head" }, h("h1", {}, t("twin.title"))),
    planningTabs("twin"),
    h("div", { class: "toolbar" }, h("label", {}, t("twin.line"), lineSelect), source,
      h("span", { class: "spacer" }),
      h("label", {}, t("twin.calibrate_days"), days), calBtn),
    calStatus, deterministic,
    h("div", { class: "twin-grid" },
      h("section", { class: "panel" }, h("h2", {}, t("twin.experiment")), setup),
      h("section", { class: "panel" }, h("h2", {}, t("twin.stations")), h("div", { class: "table-scroll" }, stationTable))),
    results);

  function drawNotes() {
    calStatus.replaceChildren(...(state.notes || []).map((n) => h("div", { class: "muted" }, noteText(n))));
  }

  function drawStations() {
    // Design data has no random element: say so before anyone reads the zero-wide intervals.
    deterministic.textContent = line.deterministic ? t("twin.deterministic_line") : "";
    stationTable.replaceChildren(
      h("tr", {}, ["twin.station", "twin.machines", "twin.cycle", "twin.cv", "kpi.scrap", "twin.stops", "twin.buffer_after"]
        .map((k, i) => h("th", { class: i ? "num" : "" }, t(k)))),
      ...line.stations.map((s) => h("tr", {},
        h("td", {}, s.name), h("td", { class: "num" }, s.machines), h("td", { class: "num" }, num(s.cycle_s, 2)),
        h("td", { class: "num" }, num(s.cycle_cv, 3)), h("td", { class: "num" }, pct(s.scrap)),
        h("td", { class: "num" }, s.stops), h("td", { class: "num" }, s.buffer_after ?? "–"))));
  }

  function stationSelect(value, onChange) {
    const el = h("select", { "aria-label": t("twin.station") }, line.stations.map((s) => h("option", { value: s.name }, s.name)));
    el.value = value || line.stations[0].name;
    el.addEventListener("change", () => onChange(el.value));
    return el;
  }

  function changeRow(sc, c, i) {
    const kind = h("select", { class: "change-kind", "aria-label": t("twin.change") }, KINDS.map((k) => h("option", { value: k }, t(`twin.kind.${k}`))));
    kind.value = c.kind;
    kind.addEventListener("change", () => {
      sc.changes[i] = kind.value === "shift" ? { kind: "shift", window: "" }
        : kind.value === "cycle_time" ? { kind: "cycle_time", station: c.station || line.stations[0].name, factor: 0.9 }
          : { kind: kind.value, station: c.station || line.stations[0].name, amount: 1 };
      drawScenarios();
    });
    let fields;
    if (c.kind === "shift") {
      const w = h("input", { type: "text", class: "window", value: c.window || "", "data-i18n-placeholder": "twin.window_hint", placeholder: t("twin.window_hint"), "aria-label": t("twin.kind.shift") });
      w.addEventListener("change", () => { c.window = w.value.trim(); });
      fields = [w];
    } else {
      const v = c.kind === "cycle_time"
        ? h("input", { type: "number", class: "factor", min: "0.05", step: "0.05", value: String(c.factor), title: t("twin.factor_hint"), "aria-label": t("twin.factor") })
        : h("input", { type: "number", class: "amount", min: "1", step: "1", value: String(c.amount), "aria-label": t("twin.amount") });
      v.addEventListener("change", () => { if (c.kind === "cycle_time") c.factor = Number(v.value); else c.amount = Number(v.value); });
      fields = [stationSelect(c.station, (s) => { c.station = s; }), h("span", { class: "muted" }, t(c.kind === "cycle_time" ? "twin.times" : "twin.plus")), v];
    }
    return h("div", { class: "change" }, kind, ...fields,
      h("button", { type: "button", class: "icon", title: t("twin.remove_change"), "aria-label": t("twin.remove_change"), onclick: () => { sc.changes.splice(i, 1); drawScenarios(); } }, "×"));
  }

  function drawScenarios() {
    scenarioBox.replaceChildren(...state.scenarios.map((sc, k) => {
      const name = h("input", { type: "text", class: "scenario-name", value: scenarioName(sc), "aria-label": t("twin.scenario_name") });
      name.addEventListener("change", () => {
        const typed = name.value.trim();
        // Emptied: back to a name the page gives, in the current language.
        if (typed) sc.name = typed; else Object.assign(sc, scenario("twin.scenario_n", { n: k + 1 }, sc.changes));
        name.value = scenarioName(sc);
      });
      return h("div", { class: "scenario", dataset: { scenario: String(k) } },
        h("div", { class: "scenario-head" }, name,
          h("button", { type: "button", onclick: () => { sc.changes.push({ kind: "cycle_time", station: line.stations[0].name, factor: 0.9 }); drawScenarios(); } }, t("twin.add_change")),
          state.scenarios.length > 1 ? h("button", { type: "button", onclick: () => { state.scenarios.splice(k, 1); drawScenarios(); } }, t("twin.remove_scenario")) : null),
        sc.changes.map((c, i) => changeRow(sc, c, i)));
    }));
  }

  // One note for every scenario whose throughput is the baseline's in every replication.
  function unchangedNote(which) {
    return which.length ? h("div", { class: "hint", id: "unchanged-note" }, t("twin.throughput_unchanged", { name: which.join(", ") })) : null;
  }

  function clearCharts() { while (charts.length) charts.pop().destroy(); }

  function showResult(res) {
    clearCharts();
    results.replaceChildren();
    if (!res || res.line !== line.line) return;
    const all = [res.baseline, ...res.scenarios];
    // The scenarios as they were named when the run began, in the current language.
    const names = [t("twin.baseline"), ...res.scenarios.map((s, i) => (res.labels?.[i] ? scenarioName(res.labels[i]) : s.name))];
    const grid = h("div", { class: "grid-3" });
    results.append(h("section", { class: "panel", id: "kpi-charts" },
      h("h2", {}, t("twin.results", { n: res.baseline.throughput_per_h.n })),
      h("div", { class: "muted results-source" }, sourceText(res.from)),
      res.deterministic ? h("div", { class: "hint", id: "deterministic-note" }, t("twin.deterministic_result", { n: res.baseline.throughput_per_h.n })) : null,
      unchangedNote(res.scenarios.flatMap((s, i) => (s.throughput_unchanged ? [names[i + 1]] : []))),
      grid));
    const accent = cssVar("--accent");
    for (const [key, titleKey, unitKey] of KPIS) {
      const box = h("div", { class: "chart", dataset: { kpi: key } });
      grid.append(h("div", {}, h("h3", {}, t(titleKey), h("span", { class: "muted" }, ` (${t(unitKey)})`)), box));
      const chart = new BarChart(box, { bars: all.length, labelWidth: 130, valueWidth: 110, barHeight: 28 });
      chart.setItems(all.map((s, i) => ({
        label: names[i], value: s[key].mean, low: s[key].low, high: s[key].high,
        text: `${num(s[key].mean, 2)} ± ${halfWidth(s[key].half_width)}`,
        color: i ? accent : undefined,
      })));
      charts.push(chart);
    }
    // The KPIs as numbers, with each scenario's change against the baseline.
    const table = h("table", { class: "data", id: "kpi-table" },
      h("tr", {}, h("th", {}, ""), names.map((n) => h("th", { class: "num" }, n))),
      KPIS.map(([key, titleKey, unitKey]) => h("tr", {},
        h("td", {}, `${t(titleKey)} (${t(unitKey)})`),
        all.map((s, i) => {
          const d = i ? (s[key].mean - res.baseline[key].mean) / res.baseline[key].mean : null;
          return h("td", { class: "num" }, `${num(s[key].mean, 2)} ± ${halfWidth(s[key].half_width)}`,
            d === null || !Number.isFinite(d) ? null : h("div", { class: "muted" }, pctChange(d)));
        }))),
      h("tr", {}, h("td", {}, t("twin.changes")), h("td", { class: "muted" }, "–"),
        res.scenarios.map((s) => h("td", { class: "num changes" }, s.changes.map((c) => h("div", {}, changeText(c)))))));
    // Bottleneck shares per station and scenario; the bottleneck of each is marked.
    const moves = res.scenarios.map((s, i) => h("li", {}, s.bottleneck === res.baseline.bottleneck
      ? t("twin.bottleneck_stays", { name: names[i + 1], station: s.bottleneck ?? "–" })
      : t("twin.bottleneck_moves", { name: names[i + 1], from: res.baseline.bottleneck ?? "–", to: s.bottleneck ?? "–" })));
    const shares = h("table", { class: "data", id: "bottleneck-table" },
      h("tr", {}, h("th", {}, t("twin.station")), names.map((n) => h("th", { class: "num" }, n))),
      res.stations.map((st) => h("tr", {}, h("td", {}, st), all.map((s) => {
        const v = s.bottleneck_shares[st];
        return h("td", { class: `num${s.bottleneck === st ? " bottleneck" : ""}`, title: v ? t("twin.share_detail", { sole: pct(v.sole), shifting: pct(v.shifting) }) : "" },
          v ? pct(v.total) : "–");
      }))));
    results.append(h("div", { class: "twin-grid" },
      h("section", { class: "panel" }, h("h2", {}, t("twin.comparison")), h("div", { class: "table-scroll" }, table)),
      h("section", { class: "panel" }, h("h2", {}, t("twin.bottleneck")), h("ul", { class: "moves" }, moves),
        h("div", { class: "table-scroll" }, shares),
        h("div", { class: "hint" }, t("twin.bottleneck_hint")))));
    results.dataset.loaded = "true";
  }

  async function follow(id, statusEl, done) {
    const job = await poll(id, (j) => statusEl.replaceChildren(progressBar(j)), () => alive);
    if (!job) return;
    if (job.state === "done") done(job);
    else statusEl.replaceChildren(h("span", { class: "error-text" }, job.state === "cancelled" ? t("job.cancelled") : t("error.action", { reason: job.error })));
  }

  async function runExperiment() {
    runBtn.disabled = true;
    cancelBtn.hidden = false;
    try {
      if (!state.job) {
        const labels = state.scenarios.map((sc) => structuredClone({ label: sc.label, name: sc.name }));
        const posted = await send("POST", "twin/experiments", {
          line: line.line, horizon_days: state.horizon, warmup_days: state.warmup,
          replications: state.replications, seed: state.seed,
          scenarios: state.scenarios.map((sc) => ({ name: scenarioName(sc), changes: sc.changes })),
        });
        state.job = { ...posted, labels };
      }
      const labels = state.job.labels;
      await follow(state.job.id, runStatus, (j) => {
        // The twin the result came from: a later calibration changes the stations shown.
        state.result = { ...j.result, labels, from: calibratedFrom };
        runStatus.textContent = t("twin.finished", { s: num(j.elapsed_s, 1) });
        showResult(state.result);
      });
    } catch (err) {
      runStatus.replaceChildren(h("span", { class: "error-text" }, t("error.action", { reason: err.message })));
    } finally {
      if (alive) state.job = null;
      runBtn.disabled = false;
      cancelBtn.hidden = true;
    }
  }
  setup.addEventListener("submit", (e) => { e.preventDefault(); runExperiment(); });
  cancelBtn.addEventListener("click", () => { if (state.job) send("DELETE", `twin/jobs/${state.job.id}`).catch(() => {}); });

  calBtn.addEventListener("click", async () => {
    calBtn.disabled = true;
    try {
      const job = await send("POST", "twin/calibrate", { days: state.days });
      await follow(job.id, calStatus, async (j) => {
        state.notes = j.result.notes;
        drawNotes();
        const fresh = await get("twin/lines");
        lines.splice(0, lines.length, ...fresh.lines);
        line = lines.find((l) => l.line === line.line) || lines[0];
        drawStations();
        calibratedFrom = j.result.calibrated_from;
        source.textContent = sourceText(calibratedFrom); // last: the page is up to date
      });
    } catch (err) {
      calStatus.replaceChildren(h("span", { class: "error-text" }, t("error.action", { reason: err.message })));
    } finally {
      calBtn.disabled = false;
    }
  });

  lineSelect.addEventListener("change", () => {
    line = lines.find((l) => l.line === lineSelect.value);
    state.line = line.line;
    state.scenarios = defaultScenarios(line);
    drawStations(); drawScenarios(); showResult(state.result);
  });

  drawNotes();
  drawStations();
  drawScenarios();
  showResult(state.result);
  if (state.job) runExperiment(); // a run started before the page was re-rendered
  return () => { alive = false; clearCharts(); };
}
