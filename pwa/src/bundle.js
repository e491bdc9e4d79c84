// 一件事一次办 on the phone: one set of questions across a life event's items, one material list
// with duplicates merged, and the request that files them as one (POST /api/v1/bundles). Pure (no
// DOM, no network): the screens in views/Bundle*.vue call these.
import { walk } from "./questions.js";

export const ONLINE_DEPTH = 2; // 网办深度 ≥ 2: the items the app lets a citizen apply for (as MaterialList.vue)

/**
 * Why an item of the life event cannot be part of the bundle, as an i18n key (null: it can):
 * not online, or not for whom the citizen applies as (a person, or an enterprise in enterprise mode).
 */
export function cannotApply(item, forEnterprise = false) {
  if ((item?.online_depth || 0) < ONLINE_DEPTH) return "bundle.why.offline";
  const audiences = item?.audiences;
  if (Array.isArray(audiences) && !audiences.includes(forEnterprise ? "legal_person" : "natural_person")) {
    return forEnterprise ? "bundle.why.notEnterprise" : "bundle.why.notPerson";
  }
  return null;
}

// A question several items ask is the same question when its code, text, type and options agree
// (开办餐饮店: "是否委托他人（代理人）代为办理？" in four items); otherwise each item keeps its own
// ("办理类型" of 出生医学证明 and of 社保卡 share a code, not a meaning).
function questionSignature(q) {
  return JSON.stringify([q.code, q.text, q.datatype, (q.options || []).map((o) => o.value)]);
}

/**
 * The bundle's questions, each once: [{ key, question, items: [item codes], shared }] in the
 * order they first appear (item by item). `key` is the question code when several items share it
 * (sent once, as a shared answer) and "item|code" for an item's own.
 */
export function mergeQuestions(guides) {
  const bySig = new Map();
  const out = [];
  for (const g of guides || []) {
    for (const q of g.questions || []) {
      const sig = questionSignature(q);
      let entry = bySig.get(sig);
      if (!entry) {
        entry = { key: null, question: q, items: [], shared: false };
        bySig.set(sig, entry);
        out.push(entry);
      }
      if (!entry.items.includes(g.code)) entry.items.push(g.code);
    }
  }
  // Two different questions under one code cannot share the code as a key.
  const sigsOfCode = new Map();
  for (const e of out) sigsOfCode.set(e.question.code, (sigsOfCode.get(e.question.code) || 0) + 1);
  for (const e of out) {
    e.shared = e.items.length > 1;
    e.key = e.shared && sigsOfCode.get(e.question.code) === 1 ? e.question.code : `${e.items[0]}|${e.question.code}`;
    if (e.shared && e.key !== e.question.code) e.key = `${e.items.join("+")}|${e.question.code}`;
  }
  return out;
}

/** One item's answers, from the answers given by merged-question key. */
export function itemAnswers(merged, answers, itemCode) {
  const out = {};
  for (const e of merged) {
    if (!e.items.includes(itemCode)) continue;
    const v = answers?.[e.key];
    if (v !== undefined) out[e.question.code] = v;
  }
  return out;
}

/**
 * The merged questions to ask now: one is asked when any of its items asks it, given that item's
 * answers so far (each item's own ask_if rules, src/rules.js). Returns the entries, in order.
 */
export function askedQuestions(merged, guides, answers) {
  const asked = new Set();
  for (const g of guides || []) {
    const own = itemAnswers(merged, answers, g.code);
    for (const code of walk(g.questions, own).asked) {
      const e = merged.find((m) => m.items.includes(g.code) && m.question.code === code);
      if (e) asked.add(e.key);
    }
  }
  return merged.filter((e) => asked.has(e.key));
}

/**
 * POST /api/v1/bundles' body: a shared answer once for every question several items share, each
 * item's own answers with it, only answers to questions that are asked.
 */
export function bundleRequest(lifeEvent, merged, guides, answers, enterpriseUscc = null) {
  const shared = {};
  const items = [];
  for (const g of guides) {
    const { answers: kept } = walk(g.questions, itemAnswers(merged, answers, g.code));
    const own = {};
    for (const [code, v] of Object.entries(kept)) {
      const e = merged.find((m) => m.items.includes(g.code) && m.question.code === code);
      if (e && e.key === code) shared[code] = v;
      else own[code] = v;
    }
    items.push({ item_code: g.code, answers: own });
  }
  return { life_event: lifeEvent, answers: shared, items, ...(enterpriseUscc ? { enterprise_uscc: enterpriseUscc } : {}) };
}

/** The identity of a material across items: a JavaScript mirror of api/cases/bundling.py merge_key. */
export function mergeKey(m) {
  if (m.source === "certificate" && m.certificate_type) return `certificate:${m.certificate_type}`;
  return `file:${m.code}:${m.name}`;
}

/**
 * The combined material list before anything is sent, from each item's 一单载明 (the public
 * POST /items/{code}/material-list): [{ key, name, names, source, certificate_type, required,
 * items: [{ itemCode, itemName, code }] }] in first-seen order. After the bundle exists the
 * server's own merge (BundleOut.materials) is what counts; both follow the same rule.
 */
export function mergeMaterials(listings) {
  const groups = new Map();
  for (const { itemCode, itemName, materials } of listings || []) {
    for (const m of materials || []) {
      const key = mergeKey(m);
      let g = groups.get(key);
      if (!g) {
        g = { key, name: m.name, names: [], source: m.source, certificate_type: m.source === "certificate" ? m.certificate_type || "" : "", required: false, items: [] };
        groups.set(key, g);
      }
      if (!g.names.includes(m.name)) g.names.push(m.name);
      g.required ||= !!(m.required || m.conditional);
      g.items.push({ itemCode, itemName, code: m.code });
    }
  }
  return [...groups.values()];
}

/** How many entries the merge saved: the materials asked for by the items, less the list shown. */
export function savedByMerging(groups) {
  return (groups || []).reduce((n, g) => n + g.items.length - 1, 0);
}
