// What a staff member may do with a case, drawn from the server's answer of
// GET /cases/{id}/actions ([{action, name, to_state, fields: [{name, kind, required}]}]): the console
// keeps no copy of the transition rules. Pure (tests/staff/actions.test.js).

/** Keyboard shortcuts of the case view (the legend shows them); only for actions the server offers. */
export const SHORTCUTS = {
  accept: "a",
  request_correction: "c",
  refuse: "r",
  start_review: "s",
  approve: "p",
  deny: "d",
  claim: "m",
  release: "u",
  deliver: "v",
};
/** Keys of the workbench beside the actions. */
export const NAV_KEYS = { next: "n", queue: "q", help: "?" };

/** Actions shown as the main buttons, in this order; others (comment …) follow. */
const ORDER = ["accept", "request_correction", "refuse", "start_review", "approve", "deny", "suspend", "resume",
  "extend", "deliver", "claim", "release", "comment"];
/** Actions that end a case one way or another: asked for once more before they are sent. */
export const WEIGHTY = new Set(["refuse", "deny", "approve", "accept", "deliver"]);
/** Actions that take the case away from the one acting: after them the next case opens. */
export const LEAVES = new Set(["accept", "refuse", "request_correction", "approve", "deny", "deliver"]);

export function sortActions(actions = []) {
  const rank = (a) => {
    const i = ORDER.indexOf(a.action);
    return i < 0 ? ORDER.length : i;
  };
  return [...actions].sort((a, b) => rank(a) - rank(b));
}

/** The action a key press means, or null (keys with modifiers and keys typed into fields are not ours). */
export function actionForKey(key, actions = []) {
  const k = String(key || "").toLowerCase();
  const found = actions.find((a) => SHORTCUTS[a.action] === k);
  return found ? found.action : null;
}

/** An empty form for an action's fields: { name: value } (materials is its own editor). */
export function emptyForm(action) {
  const form = {};
  for (const f of action?.fields || []) {
    if (f.kind === "materials") continue;
    form[f.name] = f.kind === "integer" ? null : "";
  }
  return form;
}

/** Fields that only express delivery (邮寄送达) carries; the form shows them for that method only. */
const EXPRESS_ONLY = new Set(["carrier", "tracking_number"]);
const TRACKING = /^[A-Za-z0-9][A-Za-z0-9-]{5,39}$/;

/** Whether a field is in play for what the form holds now (a carrier only for express mail). */
export function fieldShown(f, form) {
  return !EXPRESS_ONLY.has(f.name) || form.method === "express";
}

/** Client checks before sending (the server checks again): { field: key } of what is missing. */
export function formErrors(action, form) {
  const errors = {};
  for (const f of action?.fields || []) {
    if (f.kind === "materials" || !fieldShown(f, form)) continue;
    const v = form[f.name];
    if (EXPRESS_ONLY.has(f.name)) {
      // Express mail needs its carrier and a waybill number of the carriers' form.
      if (!String(v ?? "").trim()) errors[f.name] = "required";
      else if (f.name === "tracking_number" && !TRACKING.test(String(v).trim())) errors[f.name] = "trackingNumber";
      continue;
    }
    if (f.kind === "choice") {
      if (!(f.choices || []).some((c) => c.value === v)) errors[f.name] = "choose";
      continue;
    }
    if (f.kind === "integer") {
      if (v === null || v === "" || v === undefined) {
        if (f.required) errors[f.name] = "required";
      } else if (!Number.isInteger(Number(v)) || Number(v) < 1 || Number(v) > 365) errors[f.name] = "integerRange";
      continue;
    }
    if (f.required && !String(v ?? "").trim()) errors[f.name] = "required";
  }
  return errors;
}

/** The request body of an action: the version seen and the fields filled in. */
export function actionBody(action, form, version, materials = null) {
  const body = { version };
  for (const f of action?.fields || []) {
    if (f.kind === "materials") {
      if (materials) body.materials = materials;
      continue;
    }
    const v = form[f.name];
    if (v === null || v === undefined || v === "" || !fieldShown(f, form)) continue;
    body[f.name] = f.kind === "integer" ? Number(v) : String(v).trim();
  }
  return body;
}

/**
 * What happened to a case since the version a staff member saw (after a 409 the console reloads
 * the case and says who did what): the timeline entries that are new, newest last.
 */
export function changesSince(before, after) {
  const seen = before?.timeline?.length || 0;
  const fresh = (after?.timeline || []).slice(seen);
  return fresh.map((e) => ({ at: e.at, action: e.action, name: e.action_name, actor: e.actor_name || "", state: e.state_name }));
}
