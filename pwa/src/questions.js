// Situation questions, one per screen: which question comes next, which came before, and which
// answers still count after the applicant went back and changed one.
import { evaluate, isAnswered } from "./rules.js";

/**
 * Walk the questions in order. A question is asked when its ask_if rule holds for the answers
 * to the questions asked before it. Answers to questions that are no longer asked are dropped.
 * Returns { asked: [code...], answers: {code: value} }.
 */
export function walk(questions, answers) {
  const asked = [];
  const kept = {};
  for (const q of questions || []) {
    if (!evaluate(q.ask_if ?? null, kept)) continue;
    asked.push(q.code);
    if (isAnswered(answers, q.code)) kept[q.code] = answers[q.code];
  }
  return { asked, answers: kept };
}

/** The answers to send to POST /material-list: only those of questions that are asked. */
export function relevantAnswers(questions, answers) {
  return walk(questions, answers).answers;
}

/**
 * The code of the first question to show after `current` (or the first one when current is
 * null), or null when every question has been walked.
 */
export function nextQuestion(questions, answers, current = null) {
  const { asked } = walk(questions, answers);
  if (current === null) return asked[0] ?? null;
  const order = (questions || []).map((q) => q.code);
  const at = order.indexOf(current);
  return asked.find((code) => order.indexOf(code) > at) ?? null;
}

/** The question shown before `current`, or null when current is the first. */
export function previousQuestion(questions, answers, current) {
  const { asked } = walk(questions, answers);
  const order = (questions || []).map((q) => q.code);
  const at = order.indexOf(current);
  const before = asked.filter((code) => order.indexOf(code) < at);
  return before.length ? before[before.length - 1] : null;
}

/** Position for "问题 2 / 3": the current index among asked questions and their count. */
export function progress(questions, answers, current) {
  const { asked } = walk(questions, answers);
  const i = asked.indexOf(current);
  return { index: i < 0 ? 0 : i + 1, total: asked.length };
}

/**
 * Normalise the raw value an input produced into the JSON answer to send, by datatype:
 * number → a finite Number (or "" when empty), multi → an array, others → a trimmed string.
 */
export function normalise(question, raw) {
  switch (question.datatype) {
    case "multi":
      return Array.isArray(raw) ? raw.slice() : raw === null || raw === undefined || raw === "" ? [] : [raw];
    case "number": {
      if (raw === null || raw === undefined || String(raw).trim() === "") return "";
      const n = Number(String(raw).trim());
      return Number.isFinite(n) ? n : NaN;
    }
    default:
      return raw === null || raw === undefined ? "" : String(raw).trim();
  }
}

/**
 * Client-side check before moving on; returns an i18n key or null. The server validates again
 * (422 with `field`), and its message wins.
 */
export function validateAnswer(question, value) {
  const empty = value === "" || value === null || value === undefined || (Array.isArray(value) && !value.length);
  if (empty) return question.required ? "ask.required" : null;
  if (question.datatype === "number" && !Number.isFinite(value)) return "ask.notNumber";
  if (question.datatype === "date" && !/^\d{4}-\d{2}-\d{2}$/.test(value)) return "ask.notDate";
  if ((question.datatype === "single" || question.datatype === "multi") && question.options?.length) {
    const allowed = new Set(question.options.map((o) => o.value));
    const values = Array.isArray(value) ? value : [value];
    if (!values.every((v) => allowed.has(v))) return "ask.notOption";
  }
  return null;
}
