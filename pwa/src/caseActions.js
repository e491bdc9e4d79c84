// What the applicant may do with a case now. The server says it: every case it sends carries
// `allowed_actions` (DESIGN §7), and the PWA draws its buttons from that list alone; it keeps no
// copy of the transition rules. Actions it does not know ("resupply", "rate", … to come) are
// ignored, and a case without the list (an answer of an older server, a copy kept on the phone
// from before) allows nothing here: no button rather than a guess. Pure (no DOM).
//
//   update   change answers and form data, attach and remove materials (a draft)
//   submit   submit the draft
//   discard  delete the draft
//   withdraw withdraw the application

/** Whether the case object says the action is allowed now. */
export function may(c, action) {
  const list = c?.allowed_actions;
  return Array.isArray(list) && list.includes(action);
}

/** The allowed actions of a server case as a draft on the phone keeps them (null: not said). */
export function actionsOf(c) {
  return Array.isArray(c?.allowed_actions) ? c.allowed_actions.filter((a) => typeof a === "string") : null;
}

/**
 * What the apply screens offer for a draft on this phone: { update, submit, discard, known }.
 * A draft that has no server case yet is the phone's alone (the outbox makes the server draft):
 * everything is open, and the server answers for it when the outbox gets there. Once there is a
 * server case, its stored `allowedActions` decide; none stored yet (`known` false) means none.
 */
export function draftActions(d) {
  if (!d) return { update: false, submit: false, discard: false, known: false };
  if (!d.caseId) return { update: true, submit: true, discard: true, known: true };
  const list = Array.isArray(d.allowedActions) ? d.allowedActions : null;
  const has = (a) => !!list && list.includes(a);
  return { update: has("update"), submit: has("submit"), discard: has("discard"), known: !!list };
}
