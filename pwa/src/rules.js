// Answer rules: a JavaScript mirror of api/catalog/rules.py (keep the two in step).
//
//   {"q": "applicant", "eq": "company"}          the answer equals a value
//   {"q": "change", "in": ["name", "address"]}   the answer is one of the values
//   {"q": "area", "gte": 150}                    also "gt", "lt", "lte", "ne" (numbers and ISO dates)
//   {"q": "items", "contains": "food"}           a multi-choice answer includes the value
//   {"q": "agent", "answered": true}             the question was (not) answered
//   {"all": [rule, ...]}, {"any": [rule, ...]}, {"not": rule}
//
// null/undefined is the rule that always holds. Python semantics are kept where they matter:
// == between JSON values is deep, 1 == 1.0 == true; ordering a number against a string is a
// TypeError in Python, which the server treats as false, and so do we.

export class RuleError extends Error {}

const has = (obj, key) => Object.prototype.hasOwnProperty.call(obj, key);
const isNum = (v) => typeof v === "number" || typeof v === "boolean";

/** Python's == on decoded JSON values. */
export function pyEqual(a, b) {
  if (isNum(a) && isNum(b)) return Number(a) === Number(b);
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => pyEqual(x, b[i]));
  }
  if (a && b && typeof a === "object" && typeof b === "object") {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => has(b, k) && pyEqual(a[k], b[k]));
  }
  return a === b;
}

/** Python's truthiness (bool(x)) of a decoded JSON value. */
export function pyTruthy(v) {
  if (v === null || v === undefined || v === false || v === 0 || v === "") return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === "object") return Object.keys(v).length > 0;
  return true;
}

/** Python's ordering: -1/0/1, or null where Python raises TypeError. */
export function pyCompare(a, b) {
  if (isNum(a) && isNum(b)) {
    const x = Number(a);
    const y = Number(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (typeof a === "string" && typeof b === "string") {
    // Python compares code points; compare by code point too (not UTF-16 units).
    const ca = Array.from(a);
    const cb = Array.from(b);
    for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
      const d = ca[i].codePointAt(0) - cb[i].codePointAt(0);
      if (d) return d < 0 ? -1 : 1;
    }
    return ca.length === cb.length ? 0 : ca.length < cb.length ? -1 : 1;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      if (pyEqual(a[i], b[i])) continue;
      return pyCompare(a[i], b[i]);
    }
    return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
  }
  return null;
}

/** Whether a question counts as answered (mirrors `present` in rules.py). */
export function isAnswered(answers, code) {
  if (!answers || !has(answers, code)) return false;
  const v = answers[code];
  return !(v === null || v === undefined || v === "" || (Array.isArray(v) && v.length === 0));
}

export function evaluate(rule, answers) {
  if (rule === null || rule === undefined) return true;
  answers = answers || {};
  if (has(rule, "all")) return rule.all.every((r) => evaluate(r, answers));
  if (has(rule, "any")) return rule.any.some((r) => evaluate(r, answers));
  if (has(rule, "not")) return !evaluate(rule.not, answers);
  const code = rule.q;
  const present = isAnswered(answers, code);
  if (has(rule, "answered")) return present === pyTruthy(rule.answered);
  if (!present) return false;
  const value = answers[code];
  if (has(rule, "eq")) return pyEqual(value, rule.eq);
  if (has(rule, "ne")) return !pyEqual(value, rule.ne);
  if (has(rule, "in")) return (rule.in || []).some((x) => pyEqual(value, x));
  if (has(rule, "contains")) return Array.isArray(value) && value.some((x) => pyEqual(x, rule.contains));
  for (const op of ["gt", "gte", "lt", "lte"]) {
    if (!has(rule, op)) continue;
    const c = pyCompare(value, rule[op]);
    if (c === null) return false;
    return { gt: c > 0, gte: c >= 0, lt: c < 0, lte: c <= 0 }[op];
  }
  throw new RuleError(`unknown comparison in rule ${JSON.stringify(rule)}`);
}
