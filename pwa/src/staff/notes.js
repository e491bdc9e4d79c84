// Typed opinions, reasons and notices are kept on this computer until the server has them: a lost
// connection, a 409 reload or a sign-out after inactivity never loses what a staff member wrote.
// localStorage, one entry per (staff member, case, action).

const PREFIX = "zw.staff.note.";

const key = (who, caseId, action) => `${PREFIX}${who}.${caseId}.${action}`;

/** Whether a form holds anything typed or ticked (text, a number, a ticked box), at any depth. */
export function hasContent(v) {
  if (typeof v === "string") return v.trim() !== "";
  if (typeof v === "number") return true;
  if (typeof v === "boolean") return v;
  if (v && typeof v === "object") return Object.values(v).some(hasContent);
  return false;
}

export function createNotes(storage) {
  const s = () => storage || globalThis.localStorage;
  return {
    load(who, caseId, action) {
      try {
        const v = JSON.parse(s().getItem(key(who, caseId, action)));
        return v && typeof v === "object" ? v : null;
      } catch {
        return null;
      }
    },
    /** Keep a form; an empty one is forgotten. */
    keep(who, caseId, action, form) {
      const empty = !hasContent(form);
      try {
        if (empty) s().removeItem(key(who, caseId, action));
        else s().setItem(key(who, caseId, action), JSON.stringify(form));
      } catch {
        /* storage full or disabled: the form stays on the screen */
      }
    },
    forget(who, caseId, action) {
      s().removeItem(key(who, caseId, action));
    },
  };
}

export const notes = createNotes();
