import { describe, it, expect, vi } from "vitest";
import { ApiError, createAuth, parseRetryAfter, request, safeRedirect, TOKENS_KEY } from "../src/api.js";
import { authGuard } from "../src/guard.js";

function memStorage(init = {}) {
  const m = new Map(Object.entries(init));
  return {
    getItem: (k) => (m.has(k) ? m.get(k) : null),
    setItem: (k, v) => m.set(k, String(v)),
    removeItem: (k) => m.delete(k),
    map: m,
  };
}
const stored = (access, refresh) => ({ [TOKENS_KEY]: JSON.stringify({ access, refresh, expiresAt: 0 }) });
const answer = (status, body, headers = {}) => ({
  ok: status >= 200 && status < 300,
  status,
  headers: { get: (k) => headers[k] ?? headers[k.toLowerCase()] ?? null },
  text: async () => (body === undefined ? "" : JSON.stringify(body)),
});
const pair = (n) => ({ access_token: `A${n}`, refresh_token: `R${n}`, token_type: "Bearer", expires_in: 600 });
const unauth = () => answer(401, { status_code: 401, message: "登录已失效，请重新登录", detail: "invalid or expired access token" });

/**
 * A fake server: `valid` is the access token it accepts; /auth/refresh rotates R<n> → A<n+1>/R<n+1>
 * (refusing a used refresh token, as the real one does). Calls are recorded.
 */
function fakeServer({ valid = "A2", current = "R1", refreshStatus = null, delay = 0 } = {}) {
  const calls = [];
  let n = Number(current.slice(1));
  const used = new Set();
  const fetchImpl = vi.fn(async (url, init) => {
    const path = url.replace("/api/v1", "");
    const auth = init.headers.Authorization || "";
    calls.push({ path, auth, body: init.body ? JSON.parse(init.body) : undefined });
    if (delay) await new Promise((r) => setTimeout(r, delay));
    if (path === "/auth/refresh") {
      if (refreshStatus) return answer(refreshStatus, { message: "登录已失效，请重新登录", detail: "invalid refresh token", field: "refresh_token" });
      const rt = JSON.parse(init.body).refresh_token;
      if (used.has(rt) || rt !== `R${n}`) return answer(401, { message: "检测到登录凭证被重复使用", detail: "reuse" });
      used.add(rt);
      n += 1;
      valid = `A${n}`;
      return answer(200, pair(n));
    }
    if (path === "/auth/logout") return auth === `Bearer ${valid}` ? answer(204) : unauth();
    if (auth !== `Bearer ${valid}`) return unauth();
    return answer(200, { path, token: auth });
  });
  return { fetchImpl, calls, refreshes: () => calls.filter((c) => c.path === "/auth/refresh") };
}

describe("authed requests", () => {
  it("attaches the bearer token and needs no refresh while it is valid", async () => {
    const srv = fakeServer({ valid: "A1" });
    const a = createAuth({ storage: memStorage(stored("A1", "R1")), fetchImpl: srv.fetchImpl, locks: null });
    expect(await a.authed("GET", "/me")).toEqual({ path: "/me", token: "Bearer A1" });
    expect(srv.refreshes()).toHaveLength(0);
  });

  it("on 401 refreshes once, stores the rotated pair and retries the request once", async () => {
    const storage = memStorage(stored("A1", "R1"));
    const srv = fakeServer({ valid: "expired-A1-is-not-this" });
    const a = createAuth({ storage, fetchImpl: srv.fetchImpl, locks: null });
    expect(await a.authed("GET", "/me")).toEqual({ path: "/me", token: "Bearer A2" });
    expect(srv.calls.map((c) => `${c.path} ${c.auth}`)).toEqual(["/me Bearer A1", "/auth/refresh ", "/me Bearer A2"]);
    expect(srv.refreshes()[0].body).toEqual({ refresh_token: "R1" });
    expect(a.tokens.get()).toMatchObject({ access: "A2", refresh: "R2" });
  });

  it("single-flight: concurrent 401s share one refresh (the rotation is not burnt)", async () => {
    const srv = fakeServer({ valid: "none", delay: 5 });
    const a = createAuth({ storage: memStorage(stored("A1", "R1")), fetchImpl: srv.fetchImpl, locks: null });
    const results = await Promise.all([a.authed("GET", "/me"), a.authed("GET", "/x"), a.authed("PUT", "/y", { body: {} })]);
    expect(results.map((r) => r.token)).toEqual(["Bearer A2", "Bearer A2", "Bearer A2"]);
    expect(srv.refreshes()).toHaveLength(1);
  });

  it("a 401 arriving after the refresh finished reuses the new pair instead of refreshing again", async () => {
    const storage = memStorage(stored("A1", "R1"));
    const srv = fakeServer({ valid: "none" });
    const a = createAuth({ storage, fetchImpl: srv.fetchImpl, locks: null });
    await a.authed("GET", "/me"); // rotates to A2/R2
    // A request that was sent with A1/R1 (e.g. started before the rotation) comes back 401 now:
    const next = await a.refresh("R1");
    expect(next).toMatchObject({ access: "A2", refresh: "R2" });
    expect(srv.refreshes()).toHaveLength(1);
  });

  it("another tab's rotation is seen: no refresh with the stale token", async () => {
    const storage = memStorage(stored("A1", "R1"));
    const srv = fakeServer({ valid: "A5", current: "R5" });
    const a = createAuth({ storage, fetchImpl: srv.fetchImpl, locks: null });
    // The other tab rotated to A5/R5 while our request with A1 was in flight.
    const origFetch = srv.fetchImpl.getMockImplementation();
    srv.fetchImpl.mockImplementationOnce(async (url, init) => {
      storage.setItem(TOKENS_KEY, JSON.stringify({ access: "A5", refresh: "R5", expiresAt: 0 }));
      return origFetch(url, init);
    });
    expect(await a.authed("GET", "/me")).toEqual({ path: "/me", token: "Bearer A5" });
    expect(srv.refreshes()).toHaveLength(0);
  });

  it("takes the Web Lock around a refresh when available", async () => {
    const names = [];
    const locks = { request: vi.fn(async (name, fn) => (names.push(name), fn())) };
    const srv = fakeServer({ valid: "none" });
    const a = createAuth({ storage: memStorage(stored("A1", "R1")), fetchImpl: srv.fetchImpl, locks });
    await a.authed("GET", "/me");
    expect(names).toEqual(["zw-auth-refresh"]);
  });

  it("retries only once: a second 401 clears the tokens and reports the lost session", async () => {
    const storage = memStorage(stored("A1", "R1"));
    const onLost = vi.fn();
    const srv = fakeServer({ valid: "never" });
    // The refresh succeeds but the server still refuses the new token.
    srv.fetchImpl.mockImplementation(async (url, init) => {
      srv.calls.push({ path: url.replace("/api/v1", ""), auth: init.headers.Authorization || "" });
      return url.endsWith("/auth/refresh") ? answer(200, pair(2)) : unauth();
    });
    const a = createAuth({ storage, fetchImpl: srv.fetchImpl, locks: null, onLost });
    const err = await a.authed("GET", "/me").catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(401);
    expect(srv.calls.map((c) => c.path)).toEqual(["/me", "/auth/refresh", "/me"]);
    expect(a.tokens.get()).toBe(null);
    expect(onLost).toHaveBeenCalledOnce();
  });

  it("a refused refresh (reuse detected, expired) clears the tokens and reports the lost session", async () => {
    const storage = memStorage(stored("A1", "R1"));
    const onLost = vi.fn();
    const srv = fakeServer({ valid: "none", refreshStatus: 401 });
    const a = createAuth({ storage, fetchImpl: srv.fetchImpl, locks: null, onLost });
    const err = await a.authed("GET", "/me").catch((e) => e);
    expect(err.status).toBe(401);
    expect(err.zh).toBe("登录已失效，请重新登录");
    expect(storage.getItem(TOKENS_KEY)).toBe(null);
    expect(onLost).toHaveBeenCalledOnce();
    expect(srv.calls.filter((c) => c.path === "/me")).toHaveLength(1);
  });

  it("a network failure during the refresh keeps the tokens (the citizen can retry)", async () => {
    const storage = memStorage(stored("A1", "R1"));
    const onLost = vi.fn();
    const fetchImpl = vi.fn(async (url) => {
      if (url.endsWith("/auth/refresh")) throw new TypeError("Failed to fetch");
      return unauth();
    });
    const a = createAuth({ storage, fetchImpl, locks: null, onLost });
    const err = await a.authed("GET", "/me").catch((e) => e);
    expect(err.kind).toBe("network");
    expect(a.tokens.get()).toMatchObject({ access: "A1", refresh: "R1" });
    expect(onLost).not.toHaveBeenCalled();
  });

  it("without tokens: no request, a 401 and the lost-session callback", async () => {
    const fetchImpl = vi.fn();
    const onLost = vi.fn();
    const a = createAuth({ storage: memStorage(), fetchImpl, locks: null, onLost });
    const err = await a.authed("GET", "/me").catch((e) => e);
    expect(err.status).toBe(401);
    expect(fetchImpl).not.toHaveBeenCalled();
    expect(onLost).toHaveBeenCalledOnce();
  });

  it("other errors pass through without a refresh", async () => {
    const fetchImpl = vi.fn(async () => answer(403, { message: "您没有权限进行此操作", detail: "no" }));
    const a = createAuth({ storage: memStorage(stored("A1", "R1")), fetchImpl, locks: null });
    await expect(a.authed("GET", "/me")).rejects.toMatchObject({ status: 403 });
    expect(fetchImpl).toHaveBeenCalledOnce();
    expect(a.tokens.get()).not.toBe(null);
  });

  it("damaged stored tokens count as signed out", () => {
    const a = createAuth({ storage: memStorage({ [TOKENS_KEY]: "{not json" }), locks: null });
    expect(a.isSignedIn()).toBe(false);
    const b = createAuth({ storage: memStorage({ [TOKENS_KEY]: JSON.stringify({ access: "x" }) }), locks: null });
    expect(b.isSignedIn()).toBe(false);
  });
});

describe("sign-in and sign-out", () => {
  it("signIn stores the pair", async () => {
    const storage = memStorage();
    const fetchImpl = vi.fn(async () => answer(200, pair(1)));
    const a = createAuth({ storage, fetchImpl, locks: null });
    await a.signIn("13800138000", "123456");
    expect(JSON.parse(fetchImpl.mock.calls[0][1].body)).toEqual({ phone: "13800138000", code: "123456" });
    expect(a.tokens.get()).toMatchObject({ access: "A1", refresh: "R1" });
    expect(a.isSignedIn()).toBe(true);
  });

  it("keeps the phone signed in with across refreshes (it pre-fills 联系电话), and forgets it on sign-out", async () => {
    const storage = memStorage();
    const fetchImpl = vi.fn(async (url) => answer(200, pair(url.endsWith("/auth/refresh") ? 2 : 1)));
    const a = createAuth({ storage, fetchImpl, locks: null });
    await a.signIn("13800138000", "123456");
    expect(a.tokens.get().phone).toBe("13800138000");
    await a.refresh("R1");
    expect(a.tokens.get()).toMatchObject({ access: "A2", phone: "13800138000" });
    await a.logout();
    expect(storage.getItem(TOKENS_KEY)).toBe(null);
  });

  it("logout calls /auth/logout with the bearer and the refresh token, then clears", async () => {
    const srv = fakeServer({ valid: "A1" });
    const a = createAuth({ storage: memStorage(stored("A1", "R1")), fetchImpl: srv.fetchImpl, locks: null });
    await a.logout();
    expect(srv.calls).toEqual([{ path: "/auth/logout", auth: "Bearer A1", body: { refresh_token: "R1" } }]);
    expect(a.isSignedIn()).toBe(false);
  });

  it("logout with an expired access token refreshes once so the server still ends the session", async () => {
    const srv = fakeServer({ valid: "none" });
    const a = createAuth({ storage: memStorage(stored("A1", "R1")), fetchImpl: srv.fetchImpl, locks: null });
    await a.logout();
    expect(srv.calls.map((c) => `${c.path} ${c.auth}`)).toEqual(["/auth/logout Bearer A1", "/auth/refresh ", "/auth/logout Bearer A2"]);
    expect(srv.calls[2].body).toEqual({ refresh_token: "R2" });
    expect(a.isSignedIn()).toBe(false);
  });

  it("logout clears the tokens even when offline", async () => {
    const fetchImpl = vi.fn(async () => {
      throw new TypeError("Failed to fetch");
    });
    const onLost = vi.fn();
    const a = createAuth({ storage: memStorage(stored("A1", "R1")), fetchImpl, locks: null, onLost });
    await a.logout();
    expect(a.isSignedIn()).toBe(false);
    expect(onLost).not.toHaveBeenCalled();
  });
});

describe("Retry-After and redirects", () => {
  it("a 429 carries Retry-After in seconds", async () => {
    const fetchImpl = async () => answer(429, { message: "验证码已发送，请稍后再获取", detail: "wait" }, { "Retry-After": "42" });
    const err = await request("POST", "/auth/otp", { body: { phone: "13800138000" }, fetchImpl }).catch((e) => e);
    expect(err.status).toBe(429);
    expect(err.retryAfter).toBe(42);
  });

  it("parses both Retry-After forms", () => {
    expect(parseRetryAfter("120")).toBe(120);
    const now = Date.parse("2025-01-01T00:00:00Z");
    expect(parseRetryAfter("Wed, 01 Jan 2025 00:01:30 GMT", now)).toBe(90);
    expect(parseRetryAfter(null)).toBe(null);
    expect(parseRetryAfter("soon")).toBe(null);
  });

  it("only app paths are redirect targets", () => {
    expect(safeRedirect("/me")).toBe("/me");
    expect(safeRedirect("/items/X?a=1")).toBe("/items/X?a=1");
    expect(safeRedirect(undefined)).toBe("/me");
    expect(safeRedirect("https://evil.example/")).toBe("/me");
    expect(safeRedirect("//evil.example/")).toBe("/me");
    expect(safeRedirect("/\\evil.example/")).toBe("/me");
    expect(safeRedirect("/login?redirect=/me")).toBe("/me");
    expect(safeRedirect(["/settings"])).toBe("/settings");
  });

  it("the router guard sends signed-out citizens to sign-in and back", () => {
    const me = { name: "me", fullPath: "/me", meta: { auth: true }, query: {} };
    expect(authGuard(me, () => false)).toEqual({ name: "login", query: { redirect: "/me" } });
    expect(authGuard(me, () => true)).toBe(true);
    const login = { name: "login", fullPath: "/login?redirect=/items/1", meta: {}, query: { redirect: "/items/1" } };
    expect(authGuard(login, () => true)).toBe("/items/1");
    expect(authGuard(login, () => false)).toBe(true);
    expect(authGuard({ name: "home", fullPath: "/", meta: {}, query: {} }, () => false)).toBe(true);
  });
});
