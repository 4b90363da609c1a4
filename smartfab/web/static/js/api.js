// The REST API and the live feed, as the pages use them.

import { has, t } from "./i18n.js";

/** A refused request. `message` is in the page's language when the error is a known one,
 * else the server's own text; `code` and `params` say which error it was, `detail` what the
 * server said, `errors` each error on its field ({loc, msg, type, ctx}) when it named fields. */
export class ApiError extends Error {
  constructor(message, { status = 0, code = null, params = {}, detail = message, errors = [] } = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.params = params;
    this.detail = detail;
    this.errors = errors;
  }
}

// Server errors people meet in the app, by their text: the error's code and its parameters.
// A server error that says its code ({"detail": {"code", "params", "message"}}) needs no entry.
const KNOWN_ERRORS = [
  [/^this server was started without a plant model$/, "no_plant"],
  [/^no (?:connectors|alarm engine) runs? in this process \(read-only server\)$/, "read_only"],
  [/^(?:unknown (?:equipment|signal|asset)|no equipment at or below) '([^']*)'/, "unknown_asset", ["path"]],
  [/^the range lies entirely in the future$/, "future_range"],
  [/^the range holds more than ([\d,]+) points/, "too_many_points", ["n"]],
  [/^(?:the window must start before it ends|start must lie before end)/, "bad_window"],
  [/(?:at most|spans at most) (\d+) days$/, "window_too_long", ["days"]],
  [/^time '([^']*)' is not ISO 8601/, "bad_time", ["time"]],
  [/^too many (?:requests|login attempts)/, "rate_limited"],
  [/^\d+ \w+ jobs are waiting already/, "busy"],
  [/^plan (\S+) has no schedule/, "no_schedule", ["plan"]],
  [/^log in, or send an API token/, "logged_out"],
  [/^no energy meter \(a signal of role energy\) under that asset/, "no_meter"],
  [/^an energy baseline on \d+ variables needs at least (\d+) periods; the baseline period has (\d+)/, "baseline_periods", ["need", "have"]],
  [/needs at least (\d+) inspected parts; the period has (\d+)/, "too_few_parts", ["need", "have"]],
  [/^defect prediction needs at least (\d+) parts of a defect type/, "too_few_defects", ["need"]],
  [/^the optimiser needs parts made under at least (\d+) different parameter settings.*; the period has (\d+)/, "too_few_settings", ["need", "have"]],
  [/^measuring a change needs (\d+) parts before it; there are (\d+)/, "measure_before", ["need", "have"]],
  [/^measuring a change needs (\d+) parts after it; there are (\d+)/, "measure_after", ["need", "have"]],
  [/^user '([^']*)' exists already$/, "user_exists", ["name"]],
  [/^user name '([^']*)': letters, digits/, "bad_user_name", ["name"]],
  [/^a password needs at least (\d+) characters$/, "short_password", ["n"]],
  [/^scope '([^']*)': give an asset path/, "bad_scope", ["scope"]],
  [/would leave no enabled whole-plant admin$/, "last_admin"],
  [/^the export would hold (\d+) points, more than the (\d+) allowed/, "export_too_large", ["n", "max"]],
  [/^the fleet's MQTT broker is not connected/, "vda_offline"],
];

function knownError(text) {
  for (const [pattern, code, names = []] of KNOWN_ERRORS) {
    const m = text.match(pattern);
    if (m) return { code, params: Object.fromEntries(names.map((name, i) => [name, m[i + 1]])) };
  }
  return { code: null, params: {} };
}

/** A server's error text (of a refused request or a failed job) in the page's language when it
 * is a known one, else as the server wrote it. */
export function serverMessage(text) {
  const { code, params } = knownError(String(text));
  return code && has(`error.${code}`) ? t(`error.${code}`, params) : String(text);
}

/** The ApiError of a refused request: translated when the error is known (by its code, or by
 * its text), the server's text otherwise. */
export function apiError(status, body, statusText = "") {
  const detail = body?.detail;
  let code = null, params = {}, text = statusText || String(status);
  if (detail && typeof detail === "object" && !Array.isArray(detail) && detail.code) {
    ({ code } = detail);
    params = detail.params || {};
    text = detail.message || text;
  } else if (typeof detail === "string") {
    text = detail;
    ({ code, params } = knownError(detail));
  } else if (Array.isArray(detail)) {
    // Request validation: which fields, without the values.
    code = "invalid";
    params = { fields: detail.map((e) => (e.loc || []).filter((p) => p !== "body" && p !== "query").join(".")).join(", ") };
    text = detail.map((e) => e.msg).join("; ");
  }
  const key = code && `error.${code}`;
  const errors = Array.isArray(detail) ? detail : [];
  return new ApiError(key && has(key) ? t(key, params) : text, { status, code, params, detail: text, errors });
}

// A 401 means the session has ended (expired, logged out elsewhere, user disabled): log in again.
function loggedOut(r) {
  if (r.status === 401) location.replace("login.html" + location.hash);
}

export async function get(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === "") continue;
    for (const item of Array.isArray(v) ? v : [v]) q.append(k, String(item));
  }
  const r = await fetch(`api/${path}${q.size ? "?" + q : ""}`);
  loggedOut(r);
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw apiError(r.status, body, r.statusText);
  return body;
}

export async function send(method, path, body) {
  const r = await fetch(`api/${path}`, {
    method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body ?? {}),
  });
  loggedOut(r);
  const out = await r.json().catch(() => ({}));
  if (!r.ok) throw apiError(r.status, out, r.statusText);
  return out;
}

// {columns: {a: [...], b: [...]}} -> [{a, b}, ...]
export function rows(table) {
  const cols = table.columns;
  const names = Object.keys(cols);
  const n = table.rows ?? (names.length ? cols[names[0]].length : 0);
  return Array.from({ length: n }, (_, i) => Object.fromEntries(names.map((k) => [k, cols[k][i]])));
}

export function ms(iso) { return iso === null || iso === undefined ? null : Date.parse(iso); }

/**
 * The live feed (/api/live): one EventSource for the whole app. Pages subscribe to value and
 * state changes; the current snapshot is replayed to each new subscriber.
 */
class Live {
  constructor() {
    this.values = {}; // path -> [ts, value, quality]
    this.states = {}; // equipment -> state
    this.listeners = new Set();
    this.status = "connecting";
    this.source = null;
  }

  start() {
    this.source = new EventSource("api/live");
    this.source.addEventListener("update", (e) => {
      const msg = JSON.parse(e.data);
      Object.assign(this.values, msg.values);
      Object.assign(this.states, msg.states);
      this.setStatus("live");
      for (const fn of this.listeners) fn(msg);
    });
    // EventSource reconnects by itself; show the operator that values are stale meanwhile.
    this.source.addEventListener("error", () => this.setStatus("offline"));
  }

  setStatus(s) {
    if (s === this.status) return;
    this.status = s;
    document.dispatchEvent(new CustomEvent("live-status", { detail: s }));
  }

  subscribe(fn) {
    this.listeners.add(fn);
    fn({ values: this.values, states: this.states });
    return () => this.listeners.delete(fn);
  }
}

export const live = new Live();
