// 补正 (the one-time correction notice) and the case's clock, as the case detail and the correction
// screen show them. Pure: from a CaseOut of GET /api/v1/cases/{id} alone.

/** The latest correction notice in the timeline (its time tells which files came after it). */
export function noticeEvent(c) {
  const events = Array.isArray(c?.timeline) ? c.timeline : [];
  for (let i = events.length - 1; i >= 0; i--) if (events[i].action === "request_correction") return events[i];
  return null;
}

/**
 * The materials the notice asks for, exactly those (the notice is the whole list), each with what
 * is wrong with it and whether a file came since the notice: [{ code, name, problem, fixed,
 * filename }]. [] when the case waits for no correction.
 */
export function correctionList(c) {
  const listed = Array.isArray(c?.correction) ? c.correction : [];
  if (!listed.length) return [];
  const since = Date.parse(noticeEvent(c)?.at || "") || 0;
  const materials = new Map((c.materials || []).map((m) => [m.code, m]));
  return listed.map((n) => {
    const m = materials.get(n.code);
    const at = Date.parse(m?.attached_at || "") || 0;
    const fixed = !!m && m.status === "attached" && at >= since;
    return { code: n.code, name: n.name || m?.name || n.code, problem: n.problem || "", fixed, filename: fixed ? m.filename : "" };
  });
}

/** The notice's materials still waiting for a new file (提交补正 waits for none). */
export const stillToFix = (list) => list.filter((e) => !e.fixed);

const RESUMING = new Set(["resupply", "resume", "survey_closed"]);

// Why a clock stands still, from the step that stopped it (the special procedures' own words come
// with the API's timeline: suspend's "procedure").
const PAUSING = { request_correction: "correction", suspend: "procedure", survey_scheduled: "survey" };

/**
 * The clock of a case as the citizen reads it: { paused, reason ("correction" | "procedure" |
 * "survey" | null), procedure (the special procedure's name, when given), pausedDays, dueDate }.
 */
export function clockView(c) {
  const paused = !!c?.clock_paused;
  let reason = null;
  let procedure = "";
  if (paused) {
    if (c.state === "correction_requested") reason = "correction";
    else {
      const events = Array.isArray(c.timeline) ? c.timeline : [];
      for (let i = events.length - 1; i >= 0; i--) {
        const r = PAUSING[events[i].action];
        if (r) {
          reason = r;
          procedure = String(events[i].data?.procedure || "");
          break;
        }
      }
      reason ||= c.state === "suspended" ? "procedure" : "survey";
    }
  }
  return { paused, reason, procedure, pausedDays: Number(c?.paused_days) || 0, dueDate: c?.due_date || null };
}

/**
 * The pauses of the clock so far, in order: [{ reason, procedure, from, to (null while running) }].
 * Their working days add up to the case's paused_days (the server counts them; the timeline says
 * when and why).
 */
export function pauses(c) {
  const out = [];
  let open = null;
  for (const e of Array.isArray(c?.timeline) ? c.timeline : []) {
    const r = PAUSING[e.action];
    if (r) {
      open = { reason: r, procedure: String(e.data?.procedure || ""), from: e.at, to: null };
      out.push(open);
    } else if (open && RESUMING.has(e.action)) {
      open.to = e.at;
      open = null;
    }
  }
  return out;
}
