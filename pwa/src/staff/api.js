// The staff console's API module, built on the citizen app's client (src/api.js): the same
// request(), ApiError and error texts, and createAuth's single-flight refresh — with the staff
// member's own tokens under their own storage key, so that a citizen signed in in the same browser
// and a staff member never share a session.
import { API_BASE, TOKENS_KEY, createAuth, request } from "../api.js";

export const STAFF_TOKENS_KEY = "zw.staff.auth";

/** localStorage with the citizen key renamed to the staff one (createAuth stores under TOKENS_KEY). */
export function staffStorage(base) {
  const s = () => base || globalThis.localStorage;
  const key = (k) => (k === TOKENS_KEY ? STAFF_TOKENS_KEY : k);
  return {
    getItem: (k) => s().getItem(key(k)),
    setItem: (k, v) => s().setItem(key(k), v),
    removeItem: (k) => s().removeItem(key(k)),
  };
}

export const auth = createAuth({ storage: staffStorage() });

const call = (method, path, opts) => auth.authed(method, path, opts);
const enc = encodeURIComponent;
/** Our API paths arrive as "/api/v1/…" in answers (download_url, voucher url). */
const apiPath = (url) => url.replace(new RegExp(`^${API_BASE}(?=/)`), "");

export async function signIn(username, password) {
  const data = await request("POST", "/auth/staff/token", { body: { username, password } });
  auth.tokens.set(data);
  return data;
}

export const api = {
  me: () => call("GET", "/me"),
  logout: () => auth.logout(),

  // the workbench (api/workflow/controllers.py)
  queue: (params, opts) => call("GET", "/workbench/queue", { params, ...opts }),
  getCase: (id) => call("GET", `/cases/${id}`),
  actions: (id) => call("GET", `/cases/${id}/actions`),
  act: (id, action, body, key) =>
    call("POST", `/cases/${id}/actions/${action.replace(/_/g, "-")}`, { body, headers: key ? { "Idempotency-Key": key } : {} }),
  vouchers: (id) => call("GET", `/cases/${id}/vouchers`),
  file: (url) => call("GET", apiPath(url), { as: "blob" }),
  certificate: (id, code, purpose) => call("GET", `/cases/${id}/materials/${enc(code)}/certificate`, { params: { purpose } }),

  // 并联审批
  departments: (id) => call("GET", `/cases/${id}/departments`),
  subAct: (id, department, action, body) =>
    call("POST", `/cases/${id}/departments/${enc(department)}/actions/${action.replace(/_/g, "-")}`, { body }),
  survey: (id, body) => call("POST", `/cases/${id}/survey`, { body }),
  findings: (id, body) => call("POST", `/cases/${id}/survey/findings`, { body }),

  // walk-ins (窗口代办)
  walkIn: (body) => call("POST", "/workbench/walk-ins", { body }),
  scan: (id, code, file) =>
    call("PUT", `/workbench/walk-ins/${id}/materials/${enc(code)}`, { body: file, params: { filename: file.name || "scan" } }),
  submitWalkIn: (id, key) => call("POST", `/workbench/walk-ins/${id}/submit`, { headers: { "Idempotency-Key": key } }),

  // the public catalog (guides, search) as the citizen sees it
  items: (params) => request("GET", "/items", { params }),
  guide: (code) => request("GET", `/items/${enc(code)}`),
  regions: () => request("GET", "/regions"),

  // administration (api/catalog/admin_controllers.py, identity, calendar, audit)
  adminItem: (code) => call("GET", `/admin/items/${enc(code)}`),
  createDraft: (code) => call("POST", `/admin/items/${enc(code)}/draft`),
  draft: (code) => call("GET", `/admin/items/${enc(code)}/draft`),
  saveDraft: (code, doc) => call("PUT", `/admin/items/${enc(code)}/draft`, { body: doc }),
  saveQuestions: (code, questions) => call("PUT", `/admin/items/${enc(code)}/draft/questions`, { body: questions }),
  saveSituations: (code, situations) => call("PUT", `/admin/items/${enc(code)}/draft/situations`, { body: situations }),
  saveFlow: (code, flow) => call("PUT", `/admin/items/${enc(code)}/draft/flow`, { body: flow }),
  validate: (code) => call("POST", `/admin/items/${enc(code)}/draft/validate`),
  publish: (code) => call("POST", `/admin/items/${enc(code)}/draft/publish`),
  discardDraft: (code) => call("DELETE", `/admin/items/${enc(code)}/draft`),
  retire: (code) => call("POST", `/admin/items/${enc(code)}/retire`),
  importCatalog: (file) => call("POST", "/admin/catalog/import", { body: file }),
  list: (table) => call("GET", `/admin/${table}`),
  createRow: (table, row) => call("POST", `/admin/${table}`, { body: row }),
  saveRow: (table, code, row) => call("PUT", `/admin/${table}/${enc(code)}`, { body: row }),
  staff: () => call("GET", "/admin/staff"),
  createStaff: (body) => call("POST", "/admin/staff", { body }),
  updateStaff: (id, body) => call("PUT", `/admin/staff/${id}`, { body }),
  setStaffActive: (id, active) => call("POST", `/admin/staff/${id}/${active ? "reactivate" : "deactivate"}`),
  calendar: (year) => call("GET", "/admin/calendar", { params: { year } }),
  setDay: (day, working, note) => call("PUT", `/admin/calendar/${day}`, { body: { working, note } }),
  clearDay: (day) => call("DELETE", `/admin/calendar/${day}`),
  audit: (params) => call("GET", "/admin/audit", { params }),
};
