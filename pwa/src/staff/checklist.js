// The clerk's checklist: each line of the case's fixed list (一单载明) beside what arrived for it,
// and the one-time correction notice (一次性告知) built only from that list. Pure
// (tests/staff/checklist.test.js).

/** The last correction notice on a case's timeline: { at, materials: [{code, name, problem}] } or null. */
export function lastNotice(timeline = []) {
  for (let i = timeline.length - 1; i >= 0; i -= 1) {
    const e = timeline[i];
    if (e.action === "request_correction") return { at: e.at, materials: e.data?.materials || [] };
  }
  return null;
}

/**
 * One row per checklist line: what the list asks for and what arrived.
 *  state: "attached" (a file), "spared" (fetched as a certificate, 免提交), "missing";
 *  blocking: required and neither attached nor spared (acceptance would be irregular);
 *  noticed: the last notice asked for it again (with `problem`); resupplied: attached after that notice.
 */
export function checklistRows(caseData) {
  const notice = lastNotice(caseData?.timeline);
  const asked = new Map((notice?.materials || []).map((m) => [m.code, m]));
  return (caseData?.materials || []).map((m) => {
    const state = m.status === "attached" && m.download_url ? "attached" : m.status === "spared" ? "spared" : "missing";
    const noticed = asked.get(m.code) || null;
    const resupplied = Boolean(noticed && state === "attached" && m.attached_at && notice && m.attached_at >= notice.at);
    return {
      code: m.code,
      name: m.name,
      required: Boolean(m.required),
      source: m.source,
      certificateType: m.certificate_type || "",
      reason: m.reason || "",
      state,
      blocking: Boolean(m.required) && state === "missing",
      noticed: Boolean(noticed),
      problem: noticed?.problem || "",
      resupplied,
      file: state === "attached" ? { url: m.download_url, name: m.filename, mime: m.mime, size: m.size } : null,
    };
  });
}

/** Counts for the checklist's header. */
export function checklistSummary(rows) {
  return {
    total: rows.length,
    attached: rows.filter((r) => r.state === "attached").length,
    spared: rows.filter((r) => r.state === "spared").length,
    blocking: rows.filter((r) => r.blocking).length,
    resupplied: rows.filter((r) => r.resupplied).length,
  };
}

/**
 * The body's `materials` of a correction notice from the clerk's ticks: { code: {checked, problem} }.
 * Only codes on the checklist can be ticked (nothing outside the list may be demanded); each
 * ticked material needs what is wrong with it. Returns { materials, errors: {code: key} , ok }.
 */
export function correctionPayload(rows, ticks) {
  const listed = new Set(rows.map((r) => r.code));
  const materials = [];
  const errors = {};
  for (const r of rows) {
    const t = ticks?.[r.code];
    if (!t?.checked) continue;
    const problem = String(t.problem || "").trim();
    if (!problem) errors[r.code] = "problemRequired";
    else if (problem.length > 500) errors[r.code] = "problemTooLong";
    materials.push({ code: r.code, problem });
  }
  const outside = Object.keys(ticks || {}).filter((c) => ticks[c]?.checked && !listed.has(c));
  for (const c of outside) errors[c] = "notOnList";
  if (!materials.length && !outside.length) errors._ = "noneTicked";
  return { materials, errors, ok: Object.keys(errors).length === 0 };
}

/** Ticks to start a notice with: the materials that block acceptance, each with a suggested problem. */
export function suggestedTicks(rows, missingText = "") {
  const out = {};
  for (const r of rows) out[r.code] = { checked: r.blocking, problem: r.blocking ? missingText : "" };
  return out;
}
