// The one module that talks to the API (/api/v1). Later issues add sign-in (a bearer token is
// attached in `request`), applications and uploads here.

export const API_BASE = "/api/v1";
const TIMEOUT_MS = 15000;

/**
 * An API failure as the UI shows it.
 *  kind: "http" (4xx/5xx answer), "network" (no answer), "timeout", "parse" (not JSON)
 *  message: Chinese text from the API (or "" when it gave none), detail: English text,
 *  field: the input the error is about (for 422), status: HTTP status or 0.
 */
export class ApiError extends Error {
  constructor({ kind, status = 0, message = "", detail = "", field = null }) {
    super(detail || message || kind);
    this.name = "ApiError";
    this.kind = kind;
    this.status = status;
    this.zh = message;
    this.en = detail;
    this.field = field;
  }

  get retryable() {
    return this.kind !== "http" || this.status >= 500 || this.status === 429 || this.status === 408;
  }
}

/** Map a non-2xx answer (status and its decoded body, or null) to an ApiError. */
export function errorFromResponse(status, body) {
  const b = body && typeof body === "object" ? body : {};
  const str = (v) => (typeof v === "string" ? v : "");
  let field = str(b.field) || null;
  // Litestar's own validation errors carry `extra: [{key, message}]` instead of `field`.
  if (!field && Array.isArray(b.extra) && b.extra[0] && typeof b.extra[0].key === "string") {
    field = b.extra[0].key;
  }
  return new ApiError({
    kind: "http",
    status,
    message: str(b.message),
    detail: str(b.detail),
    field,
  });
}

/** Generic texts for failures that carry none from the server; keys into the i18n messages. */
export function fallbackKey(err) {
  if (!(err instanceof ApiError)) return "error.unknown";
  if (err.kind === "network") return "error.network";
  if (err.kind === "timeout") return "error.timeout";
  if (err.status === 404) return "error.notFound";
  if (err.status === 429) return "error.tooMany";
  if (err.status >= 500) return "error.server";
  return "error.unknown";
}

/**
 * The text to show for an error in a locale: the API's Chinese `message` in zh, its English
 * `detail` in en (each falling back to the other), else a generic text through `t`.
 */
export function errorText(err, locale, t = (k) => k) {
  if (err instanceof ApiError && err.kind === "http" && err.status < 500) {
    const first = locale.startsWith("zh") ? err.zh : err.en;
    const second = locale.startsWith("zh") ? err.en : err.zh;
    if (first) return first;
    if (second) return second;
  }
  return t(fallbackKey(err));
}

export function buildQuery(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === "") continue;
    q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

export async function request(method, path, { params, body, signal, fetchImpl } = {}) {
  const doFetch = fetchImpl || globalThis.fetch.bind(globalThis);
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal.reason);
  if (signal) {
    if (signal.aborted) controller.abort(signal.reason);
    else signal.addEventListener("abort", onAbort, { once: true });
  }
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, TIMEOUT_MS);
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res;
  try {
    res = await doFetch(API_BASE + path + buildQuery(params), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: controller.signal,
      credentials: "same-origin",
    });
  } catch (e) {
    if (signal?.aborted) throw e; // the caller gave up (e.g. newer search); not an error to show
    throw new ApiError({ kind: timedOut ? "timeout" : "network" });
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener?.("abort", onAbort);
  }
  let data = null;
  const text = await res.text().catch(() => "");
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      if (res.ok) throw new ApiError({ kind: "parse", status: res.status });
    }
  }
  if (!res.ok) throw errorFromResponse(res.status, data);
  return data;
}

// A small memory cache of GET answers for the running page, so that going guide → questions →
// list → back does not refetch. The service worker keeps the offline copy.
const memo = new Map();
const MEMO_MAX = 60;

export async function get(path, params, { signal, fresh = false } = {}) {
  const key = path + buildQuery(params);
  if (!fresh && memo.has(key)) return memo.get(key);
  const data = await request("GET", path, { params, signal });
  memo.set(key, data);
  if (memo.size > MEMO_MAX) memo.delete(memo.keys().next().value);
  return data;
}

export const post = (path, body, opts = {}) => request("POST", path, { ...opts, body });

// ---- catalog endpoints (shapes: api/catalog/schemas.py)
export const api = {
  regions: () => get("/regions"),
  lifeEvents: (region) => get("/life-events", { region }),
  lifeEvent: (code, region) => get(`/life-events/${encodeURIComponent(code)}`, { region }),
  departments: (region) => get("/departments", { region }),
  items: (params, opts) => get("/items", params, opts),
  item: (code) => get(`/items/${encodeURIComponent(code)}`),
  qrUrl: (code) => `${API_BASE}/items/${encodeURIComponent(code)}/qr.svg`,
  materialList: (code, answers) => post(`/items/${encodeURIComponent(code)}/material-list`, { answers }),
};
