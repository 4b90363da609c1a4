// Choosing what a chart shows: an equipment's signals (of the user's part of the plant, with the
// dashboard's variables offered first), an asset, and the equipment's descriptions they come
// from, asked once per page. Paths may hold variables (${equipment}/power); resolve() puts in
// their values.

import { get } from "../api.js";
import { h, leaf } from "../dom.js";
import { t } from "../i18n.js";
import { measured } from "./common.js";

const VARIABLE = /\$\{([a-z][a-z0-9_]*)\}/g;

/** `path` with each ${name} replaced by values[name] (left as it is when there is none). */
export function resolve(path, values) {
  return path.replace(VARIABLE, (m, name) => values[name] ?? m);
}

/** An equipment's description (/api/equipment), asked once per `cache` (a Map of promises). */
function equipmentInfo(path, cache) {
  if (!cache.has(path)) {
    const asked = get(`equipment/${path}`);
    asked.catch(() => cache.delete(path)); // asked again next time
    cache.set(path, asked);
  }
  return cache.get(path);
}

/** The description of a signal: {signal, equipment} from its equipment's; an Error whose text
 * names it when there is no such signal. */
export async function signalInfo(path, cache) {
  const eq = path.split("/").slice(0, -1).join("/");
  const info = await equipmentInfo(eq, cache);
  const signal = info.signals.find((s) => s.path === path);
  if (!signal) throw new Error(t("error.unknown_asset", { path }));
  return { signal, equipment: info };
}

/** How a signal is named on a chart: its name, with its equipment where several are shown. */
export function signalLabel(path, withEquipment) {
  const parts = path.split("/");
  return withEquipment ? parts.slice(-2).join("/") : parts[parts.length - 1];
}

function options(choices, value) {
  return choices.map(([v, text]) => h("option", { value: v, selected: v === value }, text));
}

/** The equipment choices: the dashboard's equipment variables, then every equipment by line. */
function equipmentChoices(plant, variables) {
  return [
    ...variables.filter((v) => v.kind === "equipment").map((v) => [`\${${v.name}}`, `\${${v.name}}`]),
    ...plant.equipment.map((e) => [e.path, `${e.line.title || e.line.name} · ${leaf(e.path)}`]),
  ];
}

/** A select of assets: variables, lines, their equipment. */
export function assetSelect(plant, variables, value, onChange, label) {
  const choices = [
    ...variables.map((v) => [`\${${v.name}}`, `\${${v.name}}`]),
    ...plant.lines.flatMap((l) => [[l.path, l.title || l.name],
      ...l.equipment.map((e) => [e.path, `${l.title || l.name} · ${leaf(e.path)}`])]),
  ];
  const el = h("select", { "aria-label": label }, options(choices, value));
  el.addEventListener("change", () => onChange(el.value));
  return el;
}

/** A select of equipment (variables first). */
export function equipmentSelect(plant, variables, value, onChange, label) {
  const el = h("select", { "aria-label": label }, options(equipmentChoices(plant, variables), value));
  el.addEventListener("change", () => onChange(el.value));
  return el;
}

/**
 * Picks a signal: an equipment (or an equipment variable, whose current value lists the
 * signals), one of its signals that `accept` takes (measured numbers by default), and "add".
 * onPick(path) gets the signal's path, with the variable where one was chosen.
 */
export function signalPicker({ plant, cache, variables = [], values = {}, accept = measured, onPick, addLabel = t("dash.add_signal") }) {
  let equipment = equipmentChoices(plant, variables)[0]?.[0] || "";
  const signalBox = h("select", { "aria-label": t("common.signal"), class: "signal-pick" });
  const add = h("button", { type: "button", class: "add-signal", onclick: () => { if (signalBox.value) onPick(signalBox.value); } }, addLabel);
  let filling = 0;
  async function fill() {
    // Only the latest choice of equipment fills the list: an earlier one's answer may come later.
    const mine = ++filling;
    signalBox.replaceChildren();
    const real = resolve(equipment, values);
    if (!real || real.includes("${")) return;
    try {
      const info = await equipmentInfo(real, cache);
      if (mine !== filling) return;
      signalBox.replaceChildren(...info.signals.filter(accept).map((s) =>
        h("option", { value: `${equipment}/${s.name}` }, s.unit_display ? `${s.name} (${s.unit_display})` : s.name)));
    } catch {
      if (mine === filling) signalBox.replaceChildren();
    }
  }
  const eqBox = equipmentSelect(plant, variables, equipment, (v) => { equipment = v; fill(); }, t("common.equipment"));
  eqBox.classList.add("equipment-pick");
  fill();
  return h("div", { class: "picker" }, eqBox, signalBox, add);
}
