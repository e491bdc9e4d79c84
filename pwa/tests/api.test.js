import { describe, it, expect } from "vitest";
import { ApiError, errorFromResponse, errorText, fallbackKey, request, buildQuery } from "../src/api.js";

const t = (k) => `T(${k})`;
const json = (status, body) => ({
  ok: status >= 200 && status < 300,
  status,
  text: async () => (body === undefined ? "" : typeof body === "string" ? body : JSON.stringify(body)),
});

describe("error mapping", () => {
  it("maps the API's 4xx shape", () => {
    const e = errorFromResponse(422, { status_code: 422, message: "请回答：申请原因？", detail: "question 'reason' needs an answer", field: "reason" });
    expect(e).toBeInstanceOf(ApiError);
    expect(e.kind).toBe("http");
    expect(e.status).toBe(422);
    expect(e.field).toBe("reason");
    expect(errorText(e, "zh-CN", t)).toBe("请回答：申请原因？");
    expect(errorText(e, "en", t)).toBe("question 'reason' needs an answer");
    expect(e.retryable).toBe(false);
  });

  it("keeps every problem the server names (a bundle names each item it refuses)", () => {
    const e = errorFromResponse(422, { message: "有 2 个事项不能一起申请", detail: "2 item(s)", field: "items.A",
      problems: [{ field: "items.A", message: "「甲」暂不能在网上申请", detail: "x" }, { field: "items.B", message: "「乙」不属于", detail: "y" }, "junk"] });
    expect(e.problems).toEqual([{ field: "items.A", message: "「甲」暂不能在网上申请", detail: "x" }, { field: "items.B", message: "「乙」不属于", detail: "y" }]);
    expect(errorFromResponse(404, { message: "没有" }).problems).toBe(null);
  });

  it("falls back between languages, then to a generic text", () => {
    expect(errorText(errorFromResponse(400, { detail: "bad" }), "zh-CN", t)).toBe("bad");
    expect(errorText(errorFromResponse(400, { message: "错" }), "en", t)).toBe("错");
    expect(errorText(errorFromResponse(404, null), "zh-CN", t)).toBe("T(error.notFound)");
    expect(errorText(errorFromResponse(429, {}), "zh-CN", t)).toBe("T(error.tooMany)");
  });

  it("never shows a 5xx body; 5xx are retryable", () => {
    const e = errorFromResponse(500, { message: "Traceback…", detail: "Internal" });
    expect(errorText(e, "zh-CN", t)).toBe("T(error.server)");
    expect(e.retryable).toBe(true);
  });

  it("reads Litestar's validation extra when field is absent", () => {
    expect(errorFromResponse(400, { detail: "x", extra: [{ key: "limit", message: "m" }] }).field).toBe("limit");
  });

  it("ignores non-string fields", () => {
    const e = errorFromResponse(400, { message: 5, detail: ["x"], field: {} });
    expect(e.zh).toBe("");
    expect(e.en).toBe("");
    expect(e.field).toBe(null);
  });

  it("fallback keys", () => {
    expect(fallbackKey(new ApiError({ kind: "network" }))).toBe("error.network");
    expect(fallbackKey(new ApiError({ kind: "timeout" }))).toBe("error.timeout");
    expect(fallbackKey(new Error("x"))).toBe("error.unknown");
  });
});

describe("request", () => {
  it("returns JSON on success, with the query built from defined params", async () => {
    let seen;
    const fetchImpl = async (url, init) => {
      seen = { url, init };
      return json(200, { items: [] });
    };
    const data = await request("GET", "/items", { params: { q: "yyzz", region: "", cursor: undefined, limit: 20 }, fetchImpl });
    expect(data).toEqual({ items: [] });
    expect(seen.url).toBe("/api/v1/items?q=yyzz&limit=20");
    expect(seen.init.method).toBe("GET");
  });

  it("sends JSON bodies", async () => {
    let seen;
    const fetchImpl = async (url, init) => ((seen = init), json(200, { ok: 1 }));
    await request("POST", "/items/x/material-list", { body: { answers: { a: 1 } }, fetchImpl });
    expect(seen.headers["Content-Type"]).toBe("application/json");
    expect(JSON.parse(seen.body)).toEqual({ answers: { a: 1 } });
  });

  it("maps 4xx answers to ApiError", async () => {
    const fetchImpl = async () => json(422, { status_code: 422, message: "请回答", detail: "answer", field: "reason" });
    await expect(request("POST", "/x", { body: {}, fetchImpl })).rejects.toMatchObject({ kind: "http", status: 422, field: "reason", zh: "请回答" });
  });

  it("maps a non-JSON error page (e.g. a proxy's 502) to an http error", async () => {
    const fetchImpl = async () => json(502, "<html>Bad gateway</html>");
    await expect(request("GET", "/x", { fetchImpl })).rejects.toMatchObject({ kind: "http", status: 502 });
  });

  it("maps a failed fetch to a network error", async () => {
    const fetchImpl = async () => {
      throw new TypeError("Failed to fetch");
    };
    const err = await request("GET", "/x", { fetchImpl }).catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.kind).toBe("network");
    expect(err.retryable).toBe(true);
  });

  it("passes a caller's abort through without an error to show", async () => {
    const ctl = new AbortController();
    const fetchImpl = (url, init) =>
      new Promise((_, reject) => init.signal.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError"))));
    const p = request("GET", "/x", { fetchImpl, signal: ctl.signal });
    ctl.abort();
    const err = await p.catch((e) => e);
    expect(err.name).toBe("AbortError");
  });

  it("buildQuery", () => {
    expect(buildQuery({})).toBe("");
    expect(buildQuery({ a: 0, b: null, c: "x y" })).toBe("?a=0&c=x+y");
  });
});
