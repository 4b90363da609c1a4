// Recommendations of operating parameters (#/recommendations/<equipment>): what the optimiser
// proposed (the settings, the expected saving of energy per good part with its interval, the
// predicted defect risk and cycle time against their limits), what became of it, and the saving
// realised once applied, against what was expected (until enough parts were made for the server
// to measure it, how many were; the list is reloaded meanwhile). Engineers ask for a
// recommendation, approve it (written through the audited setpoint path), reject it, measure its
// result and roll it back; viewers see no such buttons (and the server refuses them anyway). The
// parameters' values come from the live feed; a written setpoint (someone approved or rolled
// back) reloads the list.

import { get, send } from "../api.js";
import { BarChart, labelWidth } from "../charts/bars.js";
import { cssVar } from "../charts/core.js";
import { dateTime, h, leaf, num, pct, pctChange } from "../dom.js";
import { t } from "../i18n.js";
import { whoAmI } from "../session.js";
import { energyQualityHead, onLiveChange } from "./common.js";
import { canAct, liveValue, loadProcesses, parameterText, processPicker } from "./process.js";

const CHART_ENTRIES = 6; // the newest ones in the chart of expected and realised savings
const MEASURING_RELOAD_MS = 30000; // while a result waits for parts: the server measures it then
const ACTIONS = {
  proposed: [["approve", "primary", "rec.confirm_approve"], ["reject", "", null]],
  applied: [["measure", "", null], ["rollback", "", "rec.confirm_rollback"]],
  rolled_back: [["measure", "", null]],
};

function figure(key, value, sub, id) {
  return h("div", { class: "kpi", dataset: { kpi: key } },
    h("div", { class: "label" }, t(key)), h("div", { class: "value", dataset: { figure: id } }, value),
    sub ? h("div", { class: "hint" }, sub) : null);
}

function expectedFigures(r, proc) {
  return h("div", { class: "kpis rec-figures" },
    figure("rec.energy", t("rec.from_to", { a: num(r.energy_now, 3), b: num(r.energy_new, 3) }), t("rec.kwh_per_good"), "energy"),
    figure("rec.saving", pct(r.energy_now ? r.saving / r.energy_now : null, 1),
      t("rec.interval", { low: pct(r.saving_low / r.energy_now, 1), high: pct(r.saving_high / r.energy_now, 1) }), "saving"),
    figure("rec.risk", pct(r.risk_new, 2), t("rec.risk_upper", { upper: pct(r.risk_upper, 2), limit: pct(proc?.max_defect_rate, 1) }), "risk"),
    figure("rec.cycle", `${num(r.cycle_new, 1)} ${t("unit.s")}`, t("rec.takt", { takt: num(proc?.takt_s, 0) }), "cycle"));
}

function realisedFigures(x) {
  const saving = x.energy_before ? (x.energy_before - x.energy_after) / x.energy_before : null;
  return h("div", { class: "kpis rec-figures realised" },
    figure("rec.realised_energy", t("rec.from_to", { a: num(x.energy_before, 3), b: num(x.energy_after, 3) }), t("rec.kwh_per_good"), "realised-energy"),
    figure("rec.realised_saving", pct(saving, 1), t("rec.parts", { before: num(x.parts_before, 0), after: num(x.parts_after, 0) }), "realised-saving"),
    figure("rec.defect_rate", t("rec.from_to", { a: pct(x.defect_rate_before, 2), b: pct(x.defect_rate_after, 2) }), null, "realised-defects"));
}

// How far an applied change is from being measured: the parts made since, and before if short.
function measuringText(m) {
  const args = { after: num(m.parts_after, 0), before: num(m.parts_before, 0), needed: num(m.needed, 0) };
  return t(m.parts_before < m.needed ? "rec.measuring_before" : "rec.measuring", args);
}

function statusBadge(status) {
  return h("span", { class: "rec-status", dataset: { status } }, t(`rec.status.${status}`));
}

export async function render(root, route, _plant, refresh) {
  const [processes, me] = await Promise.all([loadProcesses(), whoAmI()]);
  const engineer = canAct(me);
  const byEquipment = new Map(processes.map((p) => [p.equipment, p]));
  const units = new Map(processes.flatMap((p) => p.parameters.map((x) => [x.signal, x.unit])));
  const only = byEquipment.has(route.path) ? route.path : "";
  root.append(...energyQualityHead("recommendations", only));
  if (!processes.length) { root.append(h("div", { class: "muted", id: "no-process" }, t("quality.no_process"))); return null; }
  const toolbar = h("div", { class: "toolbar" },
    processPicker(processes, only, (e) => { location.hash = `#/recommendations/${e}`; }, { all: true }));
  root.append(toolbar);

  const status = h("span", { class: "hint", id: "recommend-status" });
  if (engineer) {
    const target = only || processes[0].equipment;
    const ask = h("button", { class: "primary", id: "recommend", onclick: async () => {
      ask.disabled = true;
      status.textContent = t("rec.computing", { equipment: leaf(target) });
      try {
        const e = await send("POST", "quality/recommendations", { equipment: target });
        status.textContent = t("rec.proposed_new", { id: e.id });
      } catch (err) {
        status.textContent = t("error.action", { reason: err.message });
      }
      ask.disabled = false;
      await reload();
    } }, t("rec.recommend", { equipment: leaf(target) }));
    toolbar.append(ask, status);
  } else {
    toolbar.append(h("span", { class: "hint", id: "read-only" }, t("rec.read_only")));
  }

  const chartBox = h("div", { class: "chart", id: "saving-chart" });
  const list = h("div", { id: "recommendations" });
  root.append(h("section", { class: "panel" }, h("h2", {}, t("rec.expected_realised")), chartBox), list);
  let chart = null;
  let stops = [];
  let waiting = null; // the reload while a result is being measured

  async function act(e, action, confirmKey, button) {
    if (confirmKey && !window.confirm(t(confirmKey, { id: e.id, equipment: leaf(e.equipment) }))) return;
    button.disabled = true;
    try {
      await send("POST", `quality/recommendations/${e.id}/${action}`);
    } catch (err) {
      window.alert(t("error.action", { reason: err.message }));
    }
    await reload();
  }

  function card(e) {
    const r = e.recommendation;
    const proc = byEquipment.get(e.equipment);
    const rows = r.parameters.map((name, i) => {
      const signal = e.signals[i], unit = units.get(signal) || "";
      const now = liveValue(signal, unit);
      stops.push(now.stop);
      const change = r.current[i] ? (r.recommended[i] - r.current[i]) / r.current[i] : null;
      return h("tr", {},
        h("td", { translate: "no" }, name),
        h("td", { class: "num" }, parameterText(r.current[i], unit)),
        h("td", { class: "num", dataset: { value: parameterText(r.recommended[i], unit) } },
          t("rec.value_change", { value: parameterText(r.recommended[i], unit), change: pctChange(change, 1) })),
        h("td", { class: "num" }, now.el));
    });
    const actions = engineer ? (ACTIONS[e.status] || []).map(([action, cls, confirmKey]) => {
      const b = h("button", { class: cls, dataset: { action } }, t(`rec.action.${action}`));
      b.addEventListener("click", () => act(e, action, confirmKey, b));
      return b;
    }) : [];
    const decided = e.decided_by ? t(`rec.decided.${e.status}`, { who: e.decided_by }) : "";
    return h("section", { class: "panel rec", dataset: { id: String(e.id), status: e.status, equipment: e.equipment } },
      h("div", { class: "detail-head" },
        h("h2", {}, t("rec.title", { id: e.id, equipment: leaf(e.equipment) })), statusBadge(e.status),
        h("span", { class: "hint" }, [dateTime(e.created_us / 1000), decided].filter(Boolean).join(" · "))),
      !r.recommended.some((v, i) => v !== r.current[i]) ? h("div", { class: "hint" }, t("rec.no_change")) : null,
      r.restores ? h("div", { class: "hint flagged" }, t("rec.restores")) : null,
      h("div", { class: "table-scroll" }, h("table", { class: "data wrap rec-parameters" },
        h("tr", {}, ["quality.parameter", "rec.before", "rec.recommended", "quality.now"]
          .map((k, i) => h("th", { class: i ? "num" : "" }, t(k)))),
        rows)),
      h("h3", {}, t("rec.expected")), expectedFigures(r, proc),
      e.realised ? [h("h3", {}, t("rec.realised")), realisedFigures(e.realised)]
        : e.measuring ? h("div", { class: "hint", dataset: { measuring: String(e.measuring.parts_after) } }, measuringText(e.measuring))
          : e.applied_us ? h("div", { class: "hint" }, t("rec.not_measured")) : null,
      e.note ? h("div", { class: e.status === "failed" ? "error" : "hint" }, e.note) : null,
      actions.length ? h("div", { class: "actions" }, actions) : null);
  }

  function savingChart(entries) {
    chart?.destroy();
    chart = null;
    const shown = entries.filter((e) => e.status !== "rejected" && e.status !== "failed").slice(0, CHART_ENTRIES);
    if (!shown.length) { chartBox.replaceChildren(h("div", { class: "muted" }, t("rec.none_to_compare"))); return; }
    chartBox.replaceChildren();
    const items = shown.flatMap((e) => {
      const r = e.recommendation, x = e.realised;
      const share = (v) => (r.energy_now ? (100 * v) / r.energy_now : null);
      const realised = x && x.energy_before ? (100 * (x.energy_before - x.energy_after)) / x.energy_before : null;
      const expected = { label: t("rec.expected_label", { id: e.id }), value: share(r.saving), low: share(r.saving_low), high: share(r.saving_high) };
      // Only what was applied has a result to measure.
      return e.applied_us ? [expected, { label: t("rec.realised_label", { id: e.id }), value: realised, color: cssVar("--accent"),
        text: realised === null ? t("rec.not_measured_short") : undefined }] : [expected];
    });
    chart = new BarChart(chartBox, { bars: items.length, unit: "%", barHeight: 22, valueWidth: 110,
      labelWidth: labelWidth(items.map((d) => d.label), 200) });
    chart.setItems(items);
  }

  async function reload() {
    for (const s of stops) s();
    stops = [];
    const entries = await get("quality/recommendations", only ? { equipment: only } : {});
    savingChart(entries);
    list.replaceChildren(...(entries.length ? entries.map(card) : [h("div", { class: "muted panel" }, t("rec.none"))]));
    clearTimeout(waiting);
    waiting = entries.some((e) => e.measuring) ? setTimeout(reload, MEASURING_RELOAD_MS) : null;
    root.dataset.loaded = String(Number(root.dataset.loaded || 0) + 1);
  }

  await reload();
  const setpoints = processes.filter((p) => !only || p.equipment === only).flatMap((p) => p.parameters.map((x) => x.signal));
  const watch = onLiveChange(setpoints, reload, 2000, { value: true });
  return () => { watch(); clearTimeout(waiting); for (const s of stops) s(); chart?.destroy(); };
}
