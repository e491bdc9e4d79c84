// How a case's state and timeline are shown: a symbol and words for every state (never colour
// alone), and the timeline as display rows. Pure (no DOM). What the applicant may do with a case
// is not decided here from its state: the server says it (`allowed_actions`, src/caseActions.js).
//
// States of DESIGN §3; the API knows draft/submitted/withdrawn today, the workflow issue adds the
// rest. Unknown states still show: with the API's own Chinese `state_name` and a neutral symbol.

// Icons by name (components/CaseStateBadge.vue draws them with Lucide's SVG: no emoji, which not
// every phone has); the words always go with them.
export const STATES = {
  draft: { icon: "pencil", tone: "grey" },
  submitted: { icon: "send", tone: "blue" },
  accepted: { icon: "inbox", tone: "blue" },
  in_review: { icon: "refresh", tone: "blue" },
  correction_requested: { icon: "alert", tone: "amber" },
  suspended: { icon: "pause", tone: "amber" },
  approved: { icon: "check", tone: "green" },
  denied: { icon: "x", tone: "grey" },
  refused: { icon: "x", tone: "grey" },
  delivered: { icon: "done", tone: "green" },
  withdrawn: { icon: "undo", tone: "grey" },
};
const UNKNOWN = { icon: "dot", tone: "grey" };

/** States that end the case: nothing more will happen (no countdown to the promised date). */
export const FINAL = new Set(["delivered", "withdrawn", "refused"]);

/**
 * Presentation of a state: { state, icon, tone (badge-<tone>), key (i18n key or null), name }.
 * `apiName` is the API's Chinese name, used when the locale has no text for the state.
 */
export function stateView(state, apiName = "") {
  const known = Object.prototype.hasOwnProperty.call(STATES, state);
  const s = known ? STATES[state] : UNKNOWN;
  return { state, icon: s.icon, tone: s.tone, key: known ? `cases.states.${state}` : null, name: apiName || state || "" };
}

/** The text of a state in the current locale: ours if we have it, else the API's. */
export function stateText(view, t, te) {
  return view.key && te(view.key) ? t(view.key) : view.name;
}

/** Whether an expected completion date means anything: not for drafts, nor for a case that
 * ended without a decision (withdrawn, not accepted). */
export const showsPromised = (state) => !["draft", "withdrawn", "refused"].includes(state);

/**
 * Timeline events (case detail: {at, action, action_name, to_state, state_name}; tracking:
 * {at, action, action_name, state, state_name}) as rows, newest first; the newest is `current`.
 */
export function timelineRows(events) {
  const rows = (Array.isArray(events) ? events : [])
    .map((e, i) => ({
      i,
      at: e.at,
      time: Date.parse(e.at),
      action: e.action,
      actionName: e.action_name || e.action || "",
      state: e.to_state ?? e.state ?? "",
      stateName: e.state_name || "",
    }))
    // Stable: equal times keep the server's order (which is by time, then id).
    .sort((a, b) => (b.time || 0) - (a.time || 0) || b.i - a.i);
  return rows.map((r, n) => ({ ...r, current: n === 0, view: stateView(r.state, r.stateName) }));
}

// Case times are China's (the service is in China, and a receipt reads the same everywhere).
const ZONE = "Asia/Shanghai";

/** "2026-11-28 15:04" in China time (tabular, the same in both languages). */
export function formatDateTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-GB", {
      timeZone: ZONE, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
    }).formatToParts(d).map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
}

/** A calendar date ("2026-12-10", as the API sends promised_date) in words: 2026年12月10日 / 10 Dec 2026. */
export function formatDate(value, locale = "zh-CN") {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(value || ""));
  if (!m) return "";
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (locale.startsWith("zh")) return `${y}年${mo}月${d}日`;
  const month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][mo - 1];
  return `${d} ${month} ${y}`;
}

/** The China calendar day of a moment, as YYYY-MM-DD. */
export function chinaDay(at = new Date()) {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-GB", { timeZone: ZONE, year: "numeric", month: "2-digit", day: "2-digit" })
      .formatToParts(at).map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day}`;
}

/**
 * Where the promised date stands for a case still running: { days } natural days left (0 = today),
 * or { overdue: days }. Final states have no countdown (null).
 */
export function promisedStatus(promisedDate, state, today = chinaDay()) {
  if (!promisedDate || FINAL.has(state) || state === "draft" || ["approved", "denied"].includes(state)) return null;
  const a = Date.parse(`${today}T00:00:00Z`);
  const b = Date.parse(`${String(promisedDate).slice(0, 10)}T00:00:00Z`);
  if (Number.isNaN(a) || Number.isNaN(b)) return null;
  const days = Math.round((b - a) / 86400000);
  return days >= 0 ? { days } : { overdue: -days };
}

/** A file size in words: 1.2 MB, 350 KB. */
export function formatSize(bytes) {
  if (typeof bytes !== "number" || !Number.isFinite(bytes) || bytes < 0) return "";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
