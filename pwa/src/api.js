// The one module that talks to the API (/api/v1): catalog reads, sign-in and the signed-in
// citizen's own data (bearer token, one transparent refresh on 401). Later issues add
// applications and uploads here.

export const API_BASE = "/api/v1";
const TIMEOUT_MS = 15000;

/**
 * An API failure as the UI shows it.
 *  kind: "http" (4xx/5xx answer), "network" (no answer), "timeout", "parse" (not JSON)
 *  message: Chinese text from the API (or "" when it gave none), detail: English text,
 *  field: the input the error is about (for 422), status: HTTP status or 0.
 */
export class ApiError extends Error {
  constructor({ kind, status = 0, message = "", detail = "", field = null, retryAfter = null, problems = null }) {
    super(detail || message || kind);
    this.name = "ApiError";
    this.kind = kind;
    this.status = status;
    this.zh = message;
    this.en = detail;
    this.field = field;
    this.retryAfter = retryAfter; // seconds, from a 429's Retry-After header
    this.problems = problems; // every problem, where the server found several: [{ field, message, detail }]
  }

  get retryable() {
    return this.kind !== "http" || this.status >= 500 || this.status === 429 || this.status === 408;
  }
}

/** Seconds from a Retry-After header (delta-seconds or an HTTP date), or null. */
export function parseRetryAfter(value, now = Date.now()) {
  if (value === null || value === undefined || value === "") return null;
  const s = String(value).trim();
  if (/^\d+$/.test(s)) return Number(s);
  const at = Date.parse(s);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}

/** Map a non-2xx answer (status, its decoded body or null, its headers) to an ApiError. */
export function errorFromResponse(status, body, headers = null) {
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
    retryAfter: parseRetryAfter(headers?.get?.("Retry-After")),
    // Each problem as sent, with field, message and detail as text: the staff console also reads
    // where a catalog problem is (where) and an import's sheet, row and column.
    problems: Array.isArray(b.problems)
      ? b.problems.filter((p) => p && typeof p === "object").map((p) => ({ ...p, field: str(p.field), message: str(p.message), detail: str(p.detail) }))
      : null,
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

export async function request(method, path, { params, body, signal, fetchImpl, token, headers: extra, as } = {}) {
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
  // A Blob (a scanned file) goes as it is, with its own type; anything else as JSON.
  const raw = typeof Blob !== "undefined" && body instanceof Blob;
  if (body !== undefined) headers["Content-Type"] = raw ? body.type || "application/octet-stream" : "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  Object.assign(headers, extra); // e.g. Idempotency-Key
  let res;
  try {
    res = await doFetch(API_BASE + path + buildQuery(params), {
      method,
      headers,
      body: body === undefined || raw ? body : JSON.stringify(body),
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
  if (as === "blob" && res.ok) return res.blob(); // e.g. the receipt's QR image
  let data = null;
  const text = await res.text().catch(() => "");
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      if (res.ok) throw new ApiError({ kind: "parse", status: res.status });
    }
  }
  if (!res.ok) throw errorFromResponse(res.status, data, res.headers);
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

// ---- sign-in tokens
//
// Where the tokens live: localStorage (key "zw.auth"), so that a citizen stays signed in across
// tabs and restarts of an installed PWA. The trade-off: any script running in the page could read
// them (an httpOnly cookie could not be read, but would need CSRF defences and cookie handling on
// every API route, and the API is bearer-token based for other clients too). What limits the risk:
//  * no third-party scripts: everything is bundled and self-hosted, no CDN, no analytics;
//  * the built index.html carries a Content-Security-Policy (script-src 'self', see
//    vite.config.js), so injected markup cannot run inline or foreign scripts;
//  * access tokens live 10 minutes; refresh tokens rotate on every use and a reused one ends the
//    whole session family on the server, so a stolen refresh token is detected when either party
//    uses it after the other;
//  * sign-out revokes the session on the server, not only here.
// The tokens are read from storage on every use (never cached in memory) so that a rotation done
// by another tab is seen at once.
export const TOKENS_KEY = "zw.auth";

function memoryStorage() {
  const m = new Map();
  return {
    getItem: (k) => (m.has(k) ? m.get(k) : null),
    setItem: (k, v) => m.set(k, String(v)),
    removeItem: (k) => m.delete(k),
  };
}

function defaultStorage() {
  try {
    const s = globalThis.localStorage;
    s.setItem("zw.probe", "1");
    s.removeItem("zw.probe");
    return s;
  } catch {
    return memoryStorage(); // storage disabled: signed in for this page only
  }
}

/** The stored token pair: { access, refresh, expiresAt, phone? } or null. `phone` is the number the
 * citizen signed in with (the server shows it only masked): it pre-fills 联系电话 on their
 * applications, on their own device, and goes with the tokens at sign-out. */
export function createTokenStore(storage) {
  let s = storage || null;
  const store = () => (s ||= defaultStorage());
  return {
    get() {
      try {
        const t = JSON.parse(store().getItem(TOKENS_KEY));
        return t && typeof t.access === "string" && typeof t.refresh === "string" && t.access && t.refresh ? t : null;
      } catch {
        return null;
      }
    },
    /** Store a TokenOut answer of /auth/token or /auth/refresh (a refresh keeps the phone signed in with). */
    set(data, now = Date.now()) {
      const t = { access: data.access_token, refresh: data.refresh_token, expiresAt: now + (data.expires_in || 0) * 1000 };
      const phone = data.phone ?? this.get()?.phone;
      if (typeof phone === "string" && phone) t.phone = phone;
      store().setItem(TOKENS_KEY, JSON.stringify(t));
      return t;
    },
    clear() {
      try {
        store().removeItem(TOKENS_KEY);
      } catch {
        /* nothing stored */
      }
    },
  };
}

export function notSignedIn() {
  return new ApiError({ kind: "http", status: 401, message: "请先登录", detail: "authentication required" });
}

// A refresh token the server refused (4xx): the session is over. Network failures and 5xx are not:
// the tokens are kept and the citizen can retry.
const sessionOver = (e) => e instanceof ApiError && e.kind === "http" && e.status >= 400 && e.status < 500;

/**
 * Signed-in requests. `authed` sends the access token; on a 401 it refreshes ONCE and retries the
 * request ONCE. Refreshes are single-flight: concurrent 401s share the refresh in flight, and
 * (with the Web Locks API) tabs take turns, a tab skipping the refresh when another one has
 * already rotated the pair it was using. When the session is over the tokens are cleared and
 * `onLost` is called (the app routes to sign-in).
 */
export function createAuth({ storage, fetchImpl, locks, onLost = null } = {}) {
  const tokens = createTokenStore(storage);
  let inflight = null;
  const self = { tokens, onLost };

  const lockManager = () => (locks !== undefined ? locks : globalThis.navigator?.locks);
  function withLock(fn) {
    const lm = lockManager();
    return lm && typeof lm.request === "function" ? lm.request("zw-auth-refresh", fn) : fn();
  }

  function lose() {
    tokens.clear();
    self.onLost?.();
  }

  /** New tokens for the pair whose refresh token was `stale` (shared while one is in flight). */
  self.refresh = function refresh(stale) {
    inflight ||= withLock(async () => {
      const cur = tokens.get();
      if (!cur) throw notSignedIn();
      if (stale && cur.refresh !== stale) return cur; // rotated meanwhile (another tab or request)
      const data = await request("POST", "/auth/refresh", { body: { refresh_token: cur.refresh }, fetchImpl });
      return tokens.set(data);
    }).finally(() => {
      inflight = null;
    });
    return inflight;
  };

  self.authed = async function authed(method, path, opts = {}) {
    const first = tokens.get();
    if (!first) {
      lose();
      throw notSignedIn();
    }
    const send = (t) => request(method, path, { fetchImpl, ...opts, token: t.access });
    try {
      return await send(first);
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 401)) throw e;
    }
    let next;
    try {
      next = await self.refresh(first.refresh);
    } catch (e) {
      if (sessionOver(e)) lose();
      throw e;
    }
    try {
      return await send(next);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) lose();
      throw e;
    }
  };

  self.signIn = async function signIn(phone, code) {
    const data = await request("POST", "/auth/token", { body: { phone, code }, fetchImpl });
    tokens.set({ ...data, phone });
    return data;
  };

  /** End the session on the server (refreshing once if the access token expired), then here. */
  self.logout = async function logout() {
    let cur = tokens.get();
    const send = (t) => request("POST", "/auth/logout", { body: { refresh_token: t.refresh }, token: t.access, fetchImpl });
    try {
      if (!cur) return;
      try {
        await send(cur);
      } catch (e) {
        if (!(e instanceof ApiError && e.status === 401)) throw e;
        cur = await self.refresh(cur.refresh);
        await send(cur);
      }
    } catch {
      // Offline or already ended: the tokens are forgotten here all the same.
    } finally {
      tokens.clear();
    }
  };

  self.isSignedIn = () => tokens.get() !== null;
  return self;
}

/**
 * The subject of an access token ("citizen:42"): whose drafts and choices on this
 * device are whose (a shared phone keeps each citizen's apart).
 * Only the payload is read; the server checks the signature.
 */
export function tokenSubject(accessToken) {
  try {
    const part = String(accessToken).split(".")[1];
    const json = atob(part.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((part.length + 3) % 4));
    const sub = JSON.parse(json).sub;
    return typeof sub === "string" && sub ? sub : null;
  } catch {
    return null;
  }
}

export const auth = createAuth();

/** The signed-in citizen's subject ("citizen:42"), or null. */
export const currentOwner = () => tokenSubject(auth.tokens.get()?.access);

/** Where to go after sign-in: a path inside the app (never another site, never sign-in itself). */
export function safeRedirect(value, fallback = "/me") {
  const v = Array.isArray(value) ? value[0] : value;
  if (typeof v !== "string" || !v.startsWith("/") || v.startsWith("//") || v.startsWith("/\\")) return fallback;
  if (/^\/login(\/|\?|#|$)/.test(v)) return fallback;
  return v;
}

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

  // identity (shapes: api/identity/schemas.py); personal data is never put in the GET memo
  sendCode: (phone) => post("/auth/otp", { phone }),
  signIn: (phone, code) => auth.signIn(phone, code),
  logout: () => auth.logout(),
  me: (opts) => auth.authed("GET", "/me", opts),
  updateProfile: (name, idNumber) => auth.authed("PUT", "/me/profile", { body: { name, id_number: idNumber } }),
  bindEnterprise: (uscc, name, role) => auth.authed("POST", "/me/enterprises", { body: { uscc, name, role } }),

  // applications (shapes: api/cases/schemas.py); uploads go through tus (src/uploadQueue.js)
  createCase: (itemCode, answers, enterpriseUscc = null) =>
    auth.authed("POST", "/cases", { body: { item_code: itemCode, answers, ...(enterpriseUscc ? { enterprise_uscc: enterpriseUscc } : {}) } }),
  myCases: (params) => auth.authed("GET", "/cases", { params }),
  getCase: (id) => auth.authed("GET", `/cases/${id}`),
  updateCase: (id, change) => auth.authed("PATCH", `/cases/${id}`, { body: change }),
  submitCase: (id, key) => auth.authed("POST", `/cases/${id}/submit`, { headers: { "Idempotency-Key": key } }),
  receipt: (id) => auth.authed("GET", `/cases/${id}/receipt`),
  receiptQr: (id) => auth.authed("GET", `/cases/${id}/receipt.svg`, { as: "blob" }),
  detachMaterial: (id, code) => auth.authed("DELETE", `/cases/${id}/materials/${encodeURIComponent(code)}/file`),
  withdrawCase: (id) => auth.authed("POST", `/cases/${id}/withdraw`),
  // 204 for the caller's draft; 409 (field "state") once submitted; 404 if gone or not theirs
  discardCase: (id) => auth.authed("DELETE", `/cases/${id}`),
  // download_url is an API path ("/api/v1/cases/…/file") that needs the bearer token
  materialFile: (downloadUrl) => auth.authed("GET", downloadUrl.replace(/^\/api\/v1(?=\/)/, ""), { as: "blob" }),
  // public tracking: no sign-in, never memoised (the state changes; 429 carries retryAfter)
  track: (number, code, opts) => request("GET", "/track", { params: { number, code }, ...opts }),

  // the workflow (api/workflow/controllers.py): an action with the version the citizen saw (resupply)
  act: (id, action, body = {}) => auth.authed("POST", `/cases/${id}/actions/${action}`, { body }),
  vouchers: (id) => auth.authed("GET", `/cases/${id}/vouchers`),
  // a voucher's url is an API path ("/api/v1/cases/…/vouchers/acceptance.pdf") that needs the token
  voucherPdf: (url) => auth.authed("GET", url.replace(/^\/api\/v1(?=\/)/, ""), { as: "blob" }),

  // certificates (api/certificates/controllers.py)
  myCertificates: () => auth.authed("GET", "/me/certificates"),
  certificateQr: (url) => auth.authed("GET", url.replace(/^\/api\/v1(?=\/)/, ""), { as: "blob" }),
  dataAccess: (params, opts) => auth.authed("GET", "/me/data-access", { params, ...opts }),
  // public, by check code (the secret); never memoised
  verifyCertificate: (type, number, code) => request("GET", "/certificates/verify", { params: { type, number, code } }),

  // 一件事一次办 (api/cases/bundle_controllers.py): one key to create, one to submit
  createBundle: (body, key) => auth.authed("POST", "/bundles", { body, headers: { "Idempotency-Key": key } }),
  getBundle: (id) => auth.authed("GET", `/bundles/${id}`),
  submitBundle: (id, formData, key) =>
    auth.authed("POST", `/bundles/${id}/submit`, { body: { form_data: formData }, headers: { "Idempotency-Key": key } }),
};
