// Enterprise mode: whom the citizen acts for now — themself, or an enterprise they are bound to
// (GET /me lists those). Remembered on this device for the signed-in citizen only (the token's
// subject), so a shared phone never carries one person's enterprise over to another. The catalog
// follows (life events and items for enterprises: audience=legal_person), applications are filed
// for it (enterprise_uscc) and 我的办件 lists its cases (GET /cases?subject=).
import { reactive } from "vue";

export const SUBJECT_KEY = "zw.subject";

function storage() {
  try {
    return globalThis.localStorage || null;
  } catch {
    return null;
  }
}

/** The chosen enterprise { uscc, name } for this owner, or null (acting as a person). */
export function readSubject(owner, s = storage()) {
  try {
    const v = JSON.parse(s?.getItem(SUBJECT_KEY) || "null");
    return v && owner && v.owner === owner && typeof v.uscc === "string" && v.uscc ? { uscc: v.uscc, name: String(v.name || "") } : null;
  } catch {
    return null;
  }
}

export function writeSubject(owner, enterprise, s = storage()) {
  try {
    if (!enterprise || !owner) s?.removeItem(SUBJECT_KEY);
    else s?.setItem(SUBJECT_KEY, JSON.stringify({ owner, uscc: enterprise.uscc, name: enterprise.name || "" }));
  } catch {
    /* storage disabled: the choice lasts for this page */
  }
}

/** The chosen one if the citizen is still bound to it (GET /me's enterprises), else null. */
export function stillBound(chosen, enterprises) {
  if (!chosen) return null;
  const e = (enterprises || []).find((x) => x.uscc === chosen.uscc);
  return e ? { uscc: e.uscc, name: e.name || chosen.name } : null;
}

/** The catalog audience and the 我的办件 filter for a choice. */
export const audienceOf = (chosen) => (chosen ? "legal_person" : "natural_person");
export const casesFilterOf = (chosen) => (chosen ? chosen.uscc : "self");

// The app's current choice (Home, ApplyStart, MyCases read it; Me changes it).
export const subject = reactive({ enterprise: null });

export function loadSubject(owner) {
  subject.enterprise = readSubject(owner);
  return subject.enterprise;
}

export function chooseSubject(owner, enterprise) {
  writeSubject(owner, enterprise);
  subject.enterprise = enterprise ? { uscc: enterprise.uscc, name: enterprise.name || "" } : null;
}
