// What a scanned (or typed) QR text means to the app. Pure: no DOM, no router.
//
// Our own QR codes carry absolute URLs built from the server's ZHENGWU_PUBLIC_URL:
//   item guide (api/catalog/controllers.py _item_url):  {PUBLIC_URL}/items/{code}
//   receipt    (api/cases/controllers.py _tracking_url): {PUBLIC_URL}/track?number=…&code=…
//   voucher    (api/workflow/vouchers.py, the same tracking link): opens the tracking of that case
//   certificate (api/certificates/services.py verify_url): {PUBLIC_URL}/verify?type=…&number=…&code=…
// A URL counts as ours only when its origin is one we trust (the page's own origin, where the
// API serves the PWA at PUBLIC_URL, plus any configured at build time); everything else is shown
// as text and never opened: a hall poster could have been pasted over with another site's code.

export const ITEM_CODE_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
export const CASE_NUMBER_RE = /^\d{20}$/; // region(6) + YYYYMMDD + sequence(6), api/cases/numbering.py
export const QUERY_CODE_RE = /^\d{6}$/;
export const CERT_TYPE_RE = /^[a-z][a-z0-9_]{0,63}$/; // a 证照类型 code of the catalog
export const CERT_NUMBER_RE = /^[A-Za-z0-9][A-Za-z0-9._()\-（）]{0,63}$/;
export const CHECK_CODE_RE = /^\d{8}$/; // 核验码, api/certificates/codes.py
const MAX_TEXT = 2048;

/** The origins whose URLs are ours: the page's own and those of VITE_ZHENGWU_PUBLIC_URL (comma-separated). */
export function trustedOrigins(pageOrigin, configured = "") {
  const out = new Set();
  for (const value of [pageOrigin, ...String(configured || "").split(",")]) {
    const o = originOf(value);
    if (o) out.add(o);
  }
  return [...out];
}

function originOf(value) {
  try {
    const u = new URL(String(value || "").trim());
    return u.protocol === "http:" || u.protocol === "https:" ? u.origin : null;
  } catch {
    return null;
  }
}

function safeDecode(s) {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}

/** The /track path for a number and (optionally) a code. */
export function trackPath(number, code = "") {
  const q = new URLSearchParams();
  q.set("number", number);
  if (code) q.set("code", code);
  return `/track?${q.toString()}`;
}

/**
 * Interpret a QR text. Returns one of
 *   { kind: "item", code, path }            an item guide of ours
 *   { kind: "track", number, code, path }   a receipt / voucher tracking link of ours (code may be "")
 *   { kind: "verify", type, number, code, path }  a certificate's public verification of ours
 *   { kind: "text", text, reason }          anything else: shown, never navigated to;
 *                                           reason: "empty" | "foreign" (a URL of another site) |
 *                                           "unknown" (our site, but no page we open) | "plain"
 */
export function scanTarget(raw, origins = []) {
  const text = String(raw ?? "").trim();
  if (!text) return { kind: "text", text: "", reason: "empty" };
  if (text.length > MAX_TEXT) return { kind: "text", text: text.slice(0, MAX_TEXT), reason: "plain" };
  // A bare case number typed from a paper receipt: open tracking with it filled in.
  if (CASE_NUMBER_RE.test(text)) return { kind: "track", number: text, code: "", path: trackPath(text) };

  let url;
  try {
    url = new URL(text);
  } catch {
    return { kind: "text", text, reason: "plain" };
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return { kind: "text", text, reason: "plain" };
  // user:pass@host tricks, and anything not from a trusted origin, are not ours.
  if (url.username || url.password || !origins.includes(url.origin)) return { kind: "text", text, reason: "foreign" };

  const path = url.pathname.replace(/\/+$/, "") || "/";
  const item = /^\/items\/([^/]+)$/.exec(path);
  if (item) {
    const code = safeDecode(item[1]);
    if (code && ITEM_CODE_RE.test(code)) return { kind: "item", code, path: `/items/${encodeURIComponent(code)}` };
    return { kind: "text", text, reason: "unknown" };
  }
  if (path === "/track") {
    const number = (url.searchParams.get("number") || "").trim();
    const code = (url.searchParams.get("code") || "").trim();
    if (!CASE_NUMBER_RE.test(number)) return { kind: "text", text, reason: "unknown" };
    const okCode = QUERY_CODE_RE.test(code) ? code : "";
    return { kind: "track", number, code: okCode, path: trackPath(number, okCode) };
  }
  if (path === "/verify") {
    const type = (url.searchParams.get("type") || "").trim();
    const number = (url.searchParams.get("number") || "").trim();
    const code = (url.searchParams.get("code") || "").trim();
    if (!CERT_TYPE_RE.test(type) || !CERT_NUMBER_RE.test(number) || !CHECK_CODE_RE.test(code)) {
      return { kind: "text", text, reason: "unknown" };
    }
    return { kind: "verify", type, number, code, path: verifyPath(type, number, code) };
  }
  return { kind: "text", text, reason: "unknown" };
}

/** The /verify path of a certificate's public verification. */
export function verifyPath(type, number, code = "") {
  const q = new URLSearchParams();
  q.set("type", type);
  q.set("number", number);
  if (code) q.set("code", code);
  return `/verify?${q.toString()}`;
}

/**
 * Why the camera could not be opened, from getUserMedia's error (DOMException name; the older
 * Chrome names too): "denied" | "noCamera" | "busy" | "failed". Each has its own message, and
 * manual entry is offered for all of them.
 */
export function cameraProblem(error) {
  const name = error?.name || "";
  if (["NotAllowedError", "SecurityError", "PermissionDeniedError"].includes(name)) return "denied";
  if (["NotFoundError", "OverconstrainedError", "DevicesNotFoundError"].includes(name)) return "noCamera";
  if (["NotReadableError", "TrackStartError", "AbortError"].includes(name)) return "busy";
  return "failed";
}

/** Digits as typed or copied from a receipt: blanks and hyphens between groups dropped,
 * full-width digits (Chinese input methods) made ASCII. */
export function cleanDigits(value) {
  return String(value ?? "")
    .replace(/[\uFF10-\uFF19]/g, (d) => String.fromCharCode(d.charCodeAt(0) - 0xfee0))
    .replace(/[\s\-\u2010-\u2015\u3000]/g, "");
}

/** What is wrong with a tracking number and query code: i18n keys, "" when fine. */
export function trackInputProblems(number, code) {
  return {
    number: !number ? "track.numberRequired" : CASE_NUMBER_RE.test(number) ? "" : "track.numberFormat",
    code: !code ? "track.codeRequired" : QUERY_CODE_RE.test(code) ? "" : "track.codeFormat",
  };
}
