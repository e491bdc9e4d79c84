// Why the sign-in page is shown, and where its 返回 goes: read from the page the citizen was on
// their way to (?redirect=, see guard.js). Pure: Login.vue looks up the item's or life event's name.

const RULES = [
  // 在线申请 on an item's material list → back to that list.
  { re: /^\/items\/([^/?#]+)\/apply/, key: "apply", lookup: "item", back: (m) => `/items/${m[1]}/materials` },
  { re: /^\/(apply|receipt)\//, key: "applyAny", back: () => "/cases" },
  // 一件事一次办 of a life event → back to the life event.
  { re: /^\/life-events\/([^/?#]+)\/bundle/, key: "bundle", lookup: "lifeEvent", back: (m) => `/life-events/${m[1]}` },
  { re: /^\/bundles\//, key: "bundleAny", back: () => "/" },
  { re: /^\/cases/, key: "cases", back: () => "/" },
  { re: /^\/(certificates|data-access)/, key: "certificates", back: () => "/me" },
  { re: /^\/me/, key: "me", back: () => "/" },
];

/**
 * { key: "auth.why.<kind>" or null, code (the item or life event to name), lookup ("item" |
 * "lifeEvent" | null), back (a path inside the app) } for a redirect target.
 */
export function signInContext(redirect) {
  const target = typeof redirect === "string" && redirect.startsWith("/") && !redirect.startsWith("//") ? redirect : "";
  for (const r of RULES) {
    const m = r.re.exec(target);
    if (m) {
      let code = "";
      try {
        code = m[1] && r.lookup ? decodeURIComponent(m[1]) : "";
      } catch {
        code = "";
      }
      return { key: `auth.why.${r.key}`, code, lookup: code ? r.lookup : null, back: r.back(m) };
    }
  }
  return { key: null, code: "", lookup: null, back: "/" };
}
