// The workbench queue's client logic: filters ⇄ the URL and the API's query, and the colour of a
// due date. Pure: no Vue, no fetch (tests/staff/queue.test.js).

export const PAGE_SIZE = 20;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const FILTER_KEYS = ["state", "item", "due_before", "overdue", "mine"];

/** Filters from a route's query (unknown or malformed values dropped). */
export function filtersFromQuery(query = {}) {
  const one = (v) => (Array.isArray(v) ? v[0] : v);
  const str = (v) => (typeof one(v) === "string" ? one(v).trim() : "");
  const flag = (v) => ["1", "true"].includes(str(v));
  const due = str(query.due_before);
  return {
    state: /^[a-z_]{1,24}$/.test(str(query.state)) ? str(query.state) : "",
    item: str(query.item).slice(0, 64),
    due_before: DATE.test(due) ? due : "",
    overdue: flag(query.overdue),
    mine: flag(query.mine),
  };
}

/** The route query for filters (only what is set, so a plain queue has a plain URL). */
export function filtersToQuery(filters) {
  const q = {};
  for (const k of FILTER_KEYS) {
    const v = filters[k];
    if (v === true) q[k] = "1";
    else if (typeof v === "string" && v) q[k] = v;
  }
  return q;
}

/** GET /workbench/queue parameters for filters and a keyset cursor. */
export function queueParams(filters, cursor = null, limit = PAGE_SIZE) {
  const p = { limit };
  for (const [k, v] of Object.entries(filtersToQuery(filters))) p[k] = v === "1" ? "true" : v;
  if (cursor) p.cursor = cursor;
  return p;
}

/** True when two filter sets ask for the same queue (a change restarts paging). */
export const sameFilters = (a, b) => JSON.stringify(filtersToQuery(a)) === JSON.stringify(filtersToQuery(b));

/** "YYYY-MM-DD" of a Date in China time (the server's day). */
export function chinaDay(date = new Date()) {
  const d = new Date(date.getTime() + 8 * 3600 * 1000);
  return d.toISOString().slice(0, 10);
}

const toUtc = (day) => Date.UTC(+day.slice(0, 4), +day.slice(5, 7) - 1, +day.slice(8, 10));

/** Weekdays after `from` up to and including `to`; minus the calendar days when `to` is before `from`. */
export function weekdaysBetween(from, to) {
  const a = toUtc(from);
  const b = toUtc(to);
  if (b < a) return -Math.round((a - b) / 86400000);
  let n = 0;
  for (let t = a + 86400000; t <= b; t += 86400000) {
    const wd = new Date(t).getUTCDay();
    if (wd !== 0 && wd !== 6) n += 1;
  }
  return n;
}

/**
 * The colour of a due date (DESIGN §5: a warning before the limit, an alarm past it):
 *  "overdue" past it (or the server says so), "warning" with at most `warnDays` weekdays left
 *  (due today counts as 0), "normal" otherwise, "none" without a due date. Holidays are the
 *  server's business: this is a hint on the screen, the server's `overdue` wins.
 */
export function dueTone(dueDate, today = chinaDay(), { overdue = false, warnDays = 1 } = {}) {
  if (!dueDate || !DATE.test(String(dueDate).slice(0, 10))) return overdue ? "overdue" : "none";
  const due = String(dueDate).slice(0, 10);
  if (overdue || due < today) return "overdue";
  return weekdaysBetween(today, due) <= warnDays ? "warning" : "normal";
}

/** Element Plus tag type for a tone. */
export const TONE_TAG = { overdue: "danger", warning: "warning", normal: "success", none: "info" };

/** The state tabs of a queue: the states with counts, in the order given, then any other. */
export function stateTabs(counts = {}, order = []) {
  const seen = new Set();
  const out = [];
  for (const s of [...order, ...Object.keys(counts)]) {
    if (seen.has(s)) continue;
    seen.add(s);
    out.push({ state: s, count: Number(counts[s] || 0) });
  }
  return out;
}

/** Merge a next page into the rows shown (keyset pages never overlap, but a case that moved may
 * appear twice across pages: the first one stays). */
export function appendPage(rows, page) {
  const ids = new Set(rows.map((r) => r.id));
  return [...rows, ...page.filter((r) => !ids.has(r.id))];
}
