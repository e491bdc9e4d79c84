// The queue a staff member last looked at (its filters), so that "next case" after an action
// opens the next one of the same queue. sessionStorage: this tab only.
const KEY = "zw.staff.lastQueue";

export function rememberQueue(filters) {
  try {
    sessionStorage.setItem(KEY, JSON.stringify(filters));
  } catch {
    /* this page only */
  }
}

export function lastQueue() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY)) || {};
  } catch {
    return {};
  }
}
