// Maturity self-assessment (#/transformation/maturity/<model>): pick a model (GB/T 39116, SIRI,
// acatech); each question shows the answer the platform proposes and the evidence it cites; a
// person confirms or overrides it (an override needs a comment) and saves. The result of an
// assessment: its level per the model's rule, a radar of the answers, the gaps, the roadmap ranked
// by gap times impact and, for GB/T 39116, the smart-factory tier and why; then the history.

import { get, send } from "../../api.js";
import { BarChart, labelWidth } from "../../charts/bars.js";
import { cssVar } from "../../charts/core.js";
import { RadarChart } from "../../charts/radar.js";
import { dateTime, h, num, pct } from "../../dom.js";
import { t } from "../../i18n.js";
import { card, evidenceBlock, fromUs, levelText, local, put, readOnlyHint } from "./common.js";

const MODELS = ["gbt39116", "siri", "acatech"];
const DAYS = [1, 7, 30];
// Answers being edited, per model, and the assessment looked at: they survive a re-render (a
// language change, switching models), not a reload.
const drafts = {};
const state = { days: 7, selected: {} };

function levelName(q, v) {
  const name = Number.isInteger(v) && q.levels[String(v)] ? local(q.levels[String(v)]) : "";
  // A name that holds its number already ("Band 2") stands alone.
  if (!name) return levelText(v);
  return name.includes(levelText(v)) ? name : `${levelText(v)} · ${name}`;
}

function levelSelect(q, value, disabled) {
  const options = [h("option", { value: "" }, t("tf.unanswered"))];
  for (let v = q.scale[0]; v <= q.scale[1]; v += 0.5) {
    options.push(h("option", { value: String(v) }, levelName(q, v)));
  }
  const el = h("select", { class: "level", "aria-label": t("tf.answer"), disabled });
  el.append(...options);
  el.value = value === null || value === undefined ? "" : String(value);
  return el;
}

/** The answer shown for each question: the one being edited, else the last assessment's, else
 * the proposal. */
function startingAnswers(q, proposals, last) {
  const out = {};
  for (const item of q.questions) {
    const before = last?.answers[item.id];
    const proposed = proposals.get(item.id)?.value ?? null;
    out[item.id] = before
      ? { value: before.value, comment: before.comment || "" }
      : { value: proposed, comment: "" };
  }
  return out;
}

function questionnaire(q, proposals, draft, canEdit, onSave, onReset) {
  const problems = h("div", { class: "error", id: "answer-problems", hidden: true });
  const rows = new Map();
  const groups = Object.keys(q.groups).map((g) => {
    const items = q.questions.filter((x) => x.group === g);
    return h("fieldset", { class: "q-group", dataset: { group: g } },
      h("legend", {}, local(q.groups[g])),
      items.map((item) => {
        const k = q.questions.indexOf(item) + 1;
        const p = proposals.get(item.id);
        const a = draft[item.id];
        const select = levelSelect(q, a.value, !canEdit);
        const comment = h("input", {
          type: "text", class: "comment", value: a.comment, maxlength: "2000", disabled: !canEdit,
          placeholder: t(p.value === null ? "tf.comment_optional" : "tf.comment_hint"), "aria-label": t("tf.comment"),
        });
        const row = h("div", { class: "question", dataset: { question: item.id, proposed: p.value ?? "" } });
        // A confirmed proposal needs no comment: its field shows once the answer departs from
        // the proposal, where there is none to confirm, or when it holds one already.
        const mark = () => {
          const overridden = p.value !== null && a.value !== null && a.value !== p.value;
          row.dataset.overridden = String(overridden);
          row.dataset.unanswered = String(a.value === null);
          comment.classList.toggle("needed", overridden && !a.comment.trim());
          comment.hidden = !(overridden || p.value === null || a.comment);
        };
        select.addEventListener("change", () => { a.value = select.value === "" ? null : Number(select.value); mark(); });
        comment.addEventListener("input", () => { a.comment = comment.value; mark(); });
        rows.set(item.id, row);
        put(row,
          h("div", { class: "q-head" },
            h("span", { class: "q-num num" }, String(k)),
            h("div", { class: "q-title" }, h("strong", {}, local(item.title)), h("div", { class: "muted" }, local(item.text))),
            select),
          h("div", { class: "q-evidence" },
            p.value === null
              ? h("span", { class: "hint" }, t("tf.no_evidence"))
              : [h("span", { class: "proposed" }, t("tf.proposed", { level: levelName(q, p.value) })), evidenceBlock(p.evidence)]),
          canEdit || a.comment ? comment : null);
        mark();
        return row;
      }));
  });

  const save = h("button", { class: "primary", id: "save-assessment", type: "button" }, t("tf.save"));
  save.addEventListener("click", async () => {
    const missing = [], uncommented = [];
    for (const item of q.questions) {
      const a = draft[item.id], p = proposals.get(item.id);
      if (a.value === null) missing.push(item);
      else if (p.value !== null && a.value !== p.value && !a.comment.trim()) uncommented.push(item);
    }
    if (missing.length || uncommented.length) {
      problems.hidden = false;
      problems.replaceChildren();
      put(problems,
        missing.length ? h("div", {}, t("tf.missing_answers", { list: missing.map((x) => local(x.title)).join(", ") })) : null,
        uncommented.length ? h("div", {}, t("tf.missing_comments", { list: uncommented.map((x) => local(x.title)).join(", ") })) : null);
      rows.get((missing[0] || uncommented[0]).id).scrollIntoView({ block: "center" });
      return;
    }
    problems.hidden = true;
    save.disabled = true;
    try {
      await onSave(Object.fromEntries(q.questions.map((x) => [x.id, { value: draft[x.id].value, comment: draft[x.id].comment.trim() }])));
    } catch (err) {
      problems.hidden = false;
      problems.textContent = t("error.action", { reason: err.message });
      save.disabled = false;
    }
  });
  const reset = h("button", { type: "button", id: "use-proposals", onclick: onReset }, t("tf.use_proposals"));
  return h("section", { class: "panel questionnaire" },
    h("h2", {}, t("tf.questionnaire")),
    h("div", { class: "hint" }, t("tf.questionnaire_hint")),
    readOnlyHint(canEdit),
    groups,
    canEdit ? h("div", { class: "toolbar save-bar" }, save, reset) : null,
    problems);
}

function radar(box, q, record, previous, charts) {
  const axes = q.questions.map((x, i) => ({ label: local(x.title), short: String(i + 1) }));
  const chart = new RadarChart(box, { axes, max: q.scale[1] });
  const values = (r) => q.questions.map((x) => r.answers[x.id]?.value ?? null);
  const series = [];
  if (record.result.target > record.result.level) {
    series.push({ name: t("tf.next_level"), values: q.questions.map(() => record.result.target), color: cssVar("--limit"), dash: "4 4" });
  }
  if (previous) series.push({ name: t("tf.previous"), values: values(previous), color: cssVar("--chart-axis"), dash: "2 3" });
  series.push({ name: t("tf.this_assessment"), values: values(record), color: cssVar("--accent"), fill: true });
  chart.setSeries(series);
  charts.push(chart);
  return h("div", { class: "legend" }, series.map((s) =>
    h("span", {}, h("i", { style: `background: ${s.color}` }), s.name)));
}

function tierBlock(tier) {
  if (!tier) return null;
  return h("div", { class: "tier", id: "tier", dataset: { tier: tier.tier || "none" } },
    h("div", { class: "tier-name" }, tier.tier ? t(`tf.tier.${tier.tier}`) : t("tf.tier_none")),
    tier.why ? h("div", {}, t("tf.tier_why", { why: local(tier.why) })) : null,
    tier.next ? h("div", { class: "muted" }, t("tf.tier_next", { tier: t(`tf.tier.${tier.next}`), level: tier.next_needs_level, why: local(tier.next_why) })) : null);
}

function result(q, record, previous, charts) {
  const r = record.result;
  const overrides = Object.values(record.answers).filter((a) => a.overridden).length;
  const radarBox = h("div", { class: "radar-box", id: "radar" });
  const levelsBox = h("div", { class: "chart", id: "level-scores" });
  const wrap = h("div", {},
    h("div", { class: "kpis result-cards" },
      card(t("tf.level"), levelName(q, r.level), { id: "level", dataset: { level: String(r.level) } }),
      card(t("tf.score"), num(r.score, 2), { id: "score" }),
      card(t("tf.target_level"), levelName(q, r.target)),
      card(t("tf.overrides"), num(overrides, 0))),
    h("div", { class: "hint" }, t(`tf.rule.${q.method}`, { threshold: pct(q.threshold, 0) }),
      " ", t("tf.assessed_by", { by: record.by, at: dateTime(fromUs(record.at)) })),
    h("div", { class: "result-grid" },
      h("div", {}, radarBox),
      h("div", {},
        tierBlock(r.tier),
        Object.keys(r.per_level).length ? [h("h3", {}, t("tf.level_scores")), levelsBox] : null,
        h("h3", {}, t("tf.gaps")),
        h("div", { class: "table-scroll" }, h("table", { class: "data groups" },
          h("tr", {}, h("th", {}, t("tf.group")), h("th", { class: "num" }, t("tf.mean")), h("th", { class: "num" }, t("tf.gap"))),
          Object.entries(r.groups).map(([g, mean]) => h("tr", { dataset: { group: g } },
            h("td", {}, local(q.groups[g])), h("td", { class: "num" }, num(mean, 2)),
            mean < r.target ? h("td", { class: "num" }, num(r.target - mean, 2)) : h("td", { class: "met" }, t("tf.met")))))))));
  const legend = radar(radarBox, q, record, previous, charts);
  radarBox.after(legend, h("ol", { class: "radar-key" }, q.questions.map((x) => h("li", {}, local(x.title)))));
  if (Object.keys(r.per_level).length) {
    const labels = Object.keys(r.per_level).map((level) => levelName(q, Number(level)));
    const bars = new BarChart(levelsBox, { bars: labels.length, barHeight: 22, labelWidth: labelWidth(labels, Infinity), valueWidth: 60, unit: "%" });
    bars.setItems(Object.entries(r.per_level).map(([level, share], i) => ({
      label: labels[i], value: 100 * share,
      color: share >= q.threshold - 1e-9 ? cssVar("--chart-bar") : cssVar("--alarm-medium"),
    })));
    charts.push(bars);
  }
  return wrap;
}

function roadmap(q, record) {
  const rows = record.result.roadmap;
  if (!rows.length) return h("div", { class: "muted" }, t("tf.no_gaps"));
  return h("div", { class: "table-scroll" }, h("table", { class: "data roadmap", id: "roadmap" },
    h("tr", {}, ["tf.rank", "tf.action", "tf.question", "tf.now_target", "tf.gap", "tf.impact", "tf.priority"]
      .map((k, i) => h("th", { class: i > 2 ? "num" : "" }, t(k)))),
    rows.map((g, i) => {
      const item = q.questions.find((x) => x.id === g.question);
      return h("tr", { dataset: { question: g.question } },
        h("td", { class: "num" }, String(i + 1)),
        h("td", {}, local(item.action)),
        h("td", { class: "muted" }, local(item.title)),
        h("td", { class: "num" }, `${levelText(g.value)} → ${levelText(g.target)}`),
        h("td", { class: "num" }, num(g.gap, 1)),
        h("td", { class: "num" }, num(g.impact, 0)),
        h("td", { class: "num" }, num(g.priority, 1)));
    })));
}

function history(q, records, selected, pick) {
  if (!records.length) return h("div", { class: "muted" }, t("tf.no_history"));
  return h("div", { class: "table-scroll" }, h("table", { class: "data history", id: "history" },
    h("tr", {}, ["tf.when", "tf.by", "tf.level", "tf.score", "tf.tier_col", "tf.overrides"].map((k, i) => h("th", { class: i === 3 || i === 5 ? "num" : "" }, t(k)))),
    [...records].reverse().map((a) => h("tr", {
      class: `clickable${a.id === selected ? " selected" : ""}`, dataset: { assessment: a.id }, onclick: () => pick(a.id),
    },
    h("td", {}, dateTime(fromUs(a.at))), h("td", {}, a.by),
    h("td", {}, levelName(q, a.result.level)), h("td", { class: "num" }, num(a.result.score, 2)),
    h("td", {}, a.result.tier?.tier ? t(`tf.tier.${a.result.tier.tier}`) : "–"),
    h("td", { class: "num" }, num(Object.values(a.answers).filter((x) => x.overridden).length, 0))))));
}

export async function render(root, { path, canEdit, refresh }) {
  const model = MODELS.includes(path) ? path : "gbt39116";
  const [models, found, records] = await Promise.all([
    get("transformation/models"),
    get("transformation/evidence", { days: state.days }),
    get("transformation/assessments", { model }),
  ]);
  const q = models.models[model];
  const proposals = new Map(found.proposals[model].map((p) => [p.question, p]));
  const last = records[records.length - 1] || null;
  drafts[model] ??= startingAnswers(q, proposals, last);
  const charts = [];

  const days = h("select", { id: "evidence-days", "aria-label": t("tf.evidence_days") },
    DAYS.map((d) => h("option", { value: String(d) }, t("tf.days", { n: d }))));
  days.value = String(state.days);
  days.addEventListener("change", () => { state.days = Number(days.value); refresh(); });
  put(root,
    h("div", { class: "toolbar" },
      h("div", { class: "segmented", role: "group", id: "model-pick" }, MODELS.map((m) =>
        h("button", { class: m === model ? "active" : "", dataset: { model: m },
          onclick: () => { location.hash = `#/transformation/maturity/${m}`; } }, t(`tf.model.${m}`)))),
      h("label", {}, t("tf.evidence_days"), days)),
    h("div", { class: "model-title" }, h("strong", {}, local(q.title)), h("div", { class: "hint" }, local(q.source))));

  const selectedId = records.some((a) => a.id === state.selected[model]) ? state.selected[model] : last?.id;
  const index = records.findIndex((a) => a.id === selectedId);
  const record = records[index] || null;
  const pick = (id) => { state.selected[model] = id; refresh(); };
  put(root, [
    h("section", { class: "panel", id: "result" }, h("h2", {}, t("tf.result")),
      record ? result(q, record, records[index - 1] || null, charts) : h("div", { class: "muted", id: "no-result" }, t("tf.no_result"))),
    record ? h("section", { class: "panel" }, h("h2", {}, t("tf.roadmap")), h("div", { class: "hint" }, t("tf.roadmap_hint")), roadmap(q, record)) : null,
    h("section", { class: "panel" }, h("h2", {}, t("tf.history")), history(q, records, selectedId, pick)),
  ]);

  const save = async (answers) => {
    const saved = await send("POST", "transformation/assessments", { model, answers, days: state.days });
    delete drafts[model];
    state.selected[model] = saved.id;
    await refresh();
    window.scrollTo(0, 0);
  };
  const useProposals = () => {
    drafts[model] = Object.fromEntries(q.questions.map((x) =>
      [x.id, { value: proposals.get(x.id).value ?? drafts[model][x.id].value, comment: "" }]));
    refresh();
  };
  put(root, questionnaire(q, proposals, drafts[model], canEdit, save, useProposals));
  root.dataset.loaded = "true";
  return () => charts.forEach((c) => c.destroy());
}
