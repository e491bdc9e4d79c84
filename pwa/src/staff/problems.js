// The catalog validator's problems ({where: "items[X]/situations[s]/materials[m]", field, message})
// at the editor's fields: a key per field of the form "basic.name", "questions.q.options",
// "situations.s.rule", "situations.s.materials.m.source", "flow.review.limit" (a step by its code);
// a problem of the item as a whole is "basic.<field>" ("basic.flow": the flow as a whole). Pure
// (tests/staff/problems.test.js).

const PART = /^([a-z_]+)\[([^\]]*)\]$/;

/** The editor key of one problem. */
export function problemKey(problem) {
  const parts = String(problem?.where || "").split("/").filter(Boolean);
  const path = [];
  for (const p of parts.slice(1)) {
    // items[CODE] is the item itself; each further part names a list and a row of it
    const m = PART.exec(p);
    if (m) path.push(m[1], m[2]);
    else path.push(p);
  }
  const field = problem?.field || "";
  if (!path.length) return `basic.${field}`;
  return [...path, field].filter((x) => x !== "").join(".");
}

/** Problems grouped by key: { key: [message, …] }. */
export function problemsByKey(problems = []) {
  const out = {};
  for (const p of problems) {
    const k = problemKey(p);
    (out[k] ||= []).push(p.message || p.detail || "");
  }
  return out;
}

/** The editor tab a key belongs to (basic | questions | situations | flow). */
export function tabOf(key) {
  const [first, second] = String(key).split(".");
  const TABS = ["questions", "situations", "flow"];
  if (TABS.includes(first)) return first;
  return first === "basic" && TABS.includes(second) ? second : "basic"; // e.g. "basic.flow": the flow as a whole
}

/** Messages of a row and its fields (e.g. every problem of situation s, its materials included). */
export function rowProblems(byKey, prefix) {
  return Object.entries(byKey)
    .filter(([k]) => k === prefix || k.startsWith(`${prefix}.`))
    .flatMap(([k, msgs]) => msgs.map((m) => ({ key: k, message: m })));
}
