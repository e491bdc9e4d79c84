// The applicant's answers per item, kept for the visit (sessionStorage) so that back, forward
// and reload keep them; plus the server's field errors (422) to show next to a question.
import { reactive } from "vue";

const KEY = "zw.answers";
const store = reactive(load());
export const fieldErrors = reactive({}); // { [itemCode]: { field, message } }

function load() {
  try {
    return JSON.parse(globalThis.sessionStorage?.getItem(KEY) || "{}") || {};
  } catch {
    return {};
  }
}

function save() {
  try {
    globalThis.sessionStorage?.setItem(KEY, JSON.stringify(store));
  } catch {
    /* storage full or disabled: answers last for this page only */
  }
}

export function answersFor(code) {
  if (!store[code]) store[code] = {};
  return store[code];
}

export function setAnswer(code, question, value) {
  answersFor(code)[question] = value;
  save();
}

export function clearAnswer(code, question) {
  delete answersFor(code)[question];
  save();
}
