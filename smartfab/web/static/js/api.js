// The REST API and the live feed, as the pages use them.

export class ApiError extends Error {}

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
  if (!r.ok) throw new ApiError(typeof body.detail === "string" ? body.detail : r.statusText);
  return body;
}

export async function send(method, path, body) {
  const r = await fetch(`api/${path}`, {
    method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body ?? {}),
  });
  loggedOut(r);
  const out = await r.json().catch(() => ({}));
  if (!r.ok) throw new ApiError(typeof out.detail === "string" ? out.detail : r.statusText);
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
