// Signing out after inactivity: the last activity of any tab is kept in localStorage, so that a
// staff member working in another tab is not signed out here. Pure apart from the storage and
// clock it is given (tests/staff/idle.test.js).

export const ACTIVITY_KEY = "zw.staff.activity";
export const IDLE_LIMIT_MS = 15 * 60 * 1000; // 15 minutes without a key, a click or a scroll
const WRITE_EVERY_MS = 5000; // activity is written at most this often

export function createIdleWatch({ storage, now = () => Date.now(), limitMs = IDLE_LIMIT_MS, onIdle } = {}) {
  const s = () => storage || globalThis.localStorage;
  let lastWrite = 0;
  const read = () => {
    const v = Number(s().getItem(ACTIVITY_KEY));
    return Number.isFinite(v) && v > 0 ? v : 0;
  };
  return {
    /** Some activity happened (throttled). */
    touch(force = false) {
      const t = now();
      if (!force && t - lastWrite < WRITE_EVERY_MS) return;
      lastWrite = t;
      s().setItem(ACTIVITY_KEY, String(t));
    },
    /** Milliseconds left before the session ends for inactivity. */
    left() {
      const last = read();
      return last ? last + limitMs - now() : limitMs;
    },
    /** End the session if it has been idle too long; true when it did. */
    check() {
      if (this.left() > 0) return false;
      s().removeItem(ACTIVITY_KEY);
      onIdle?.();
      return true;
    },
    clear() {
      s().removeItem(ACTIVITY_KEY);
      lastWrite = 0;
    },
  };
}
