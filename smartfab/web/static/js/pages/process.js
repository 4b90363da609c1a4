// What the quality and recommendations pages share: the equipment whose process is modelled (a
// process block in the plant file), a picker among them, the names of defect types, and whether
// the user may act on recommendations.

import { get, live } from "../api.js";
import { h, leaf, num } from "../dom.js";
import { has, t } from "../i18n.js";

/** GET /api/quality/processes: [{equipment, parameters, inspection, defects, ...}]. */
export function loadProcesses() {
  return get("quality/processes");
}

/** A defect type's name: translated when it is one the virtual plant knows, as the plant file
 * writes it otherwise; "good" for a part without a defect. */
export function defectName(name) {
  return has(`defect.${name}`) ? t(`defect.${name}`) : name;
}

/** The picker of the equipment with a process; `value` "" stands for all of them when `all`. */
export function processPicker(processes, current, onPick, { all = false } = {}) {
  const select = h("select", { id: "process-pick", "aria-label": t("common.equipment") },
    all ? h("option", { value: "" }, t("quality.all_equipment")) : null,
    processes.map((p) => h("option", { value: p.equipment, selected: p.equipment === current, translate: "no" }, leaf(p.equipment))));
  select.addEventListener("change", () => onPick(select.value));
  return select;
}

/** Engineers ask for, approve, reject, measure and roll back recommendations; viewers read. */
export function canAct(me) {
  return me.permissions.includes("quality.approve");
}

/** A parameter's value with its unit: whole numbers from a hundred up (8,500 rpm), one decimal
 * below (23.4 l/min). */
export function parameterText(v, unit) {
  return `${parameterNumber(v)} ${unit}`;
}

export function parameterNumber(v) {
  return num(v, Math.abs(v) >= 100 ? 0 : 1);
}

/** The value a setpoint holds now (the live feed's newest), kept current: the element and the
 * function that stops following it. */
export function liveValue(signal, unit) {
  const el = h("span", { class: "num live-value", dataset: { signal } }, "–");
  const stop = live.subscribe((msg) => {
    const v = msg.values?.[signal];
    if (v && typeof v[1] === "number") el.textContent = parameterText(v[1], unit);
  });
  return { el, stop };
}
