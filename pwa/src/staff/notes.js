// Typed opinions, reasons and notices are kept on this computer until the server has them: a lost
// connection, a 409 reload or a sign-out after inactivity never loses what a staff member wrote.
// localStorage, one entry per (staff member, case, action).

const PREFIX = "zw.staff.note.";

const key = (who, caseId, action) => `${PREFIX}${who}.${caseId}.${action}`;

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
      const empty = !form || Object.values(form).every((v) => v === "" || v === null || v === undefined ||
        (typeof v === "object" && !Object.values(v).some((x) => x?.checked || x?.problem)));
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
