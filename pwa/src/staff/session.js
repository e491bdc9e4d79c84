// Who is signed in (GET /me), the role's menus, and the end of a session: signed out by hand, the
// refresh refused, or idle too long (idle.js). One reactive object the views read.
import { reactive } from "vue";
import { auth, api, signIn as apiSignIn, STAFF_TOKENS_KEY } from "./api.js";
import { createIdleWatch, ACTIVITY_KEY } from "./idle.js";
import { homeOf } from "./menus.js";

/** The `sub` of a JWT (only read for display: the server checks the token). */
export function tokenSubject(token) {
  try {
    const part = String(token).split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), "="))).sub || "";
  } catch {
    return "";
  }
}

const ACTIVITY_EVENTS = ["keydown", "pointerdown", "wheel", "touchstart"];

// The router and the idle watch stay outside the reactive object: reactive() would unwrap the
// router's currentRoute ref when read through it.
let theRouter = null;
let watch = null;

export const session = reactive({
  me: null, // MeOut of a staff member
  ended: "", // why the last session ended: "idle" | "lost" | ""
  loading: null,

  get role() {
    return this.me?.role || "";
  },
  get who() {
    return this.me?.username || "";
  },
  /** "staff:N" of the signed-in member (the token's subject), as claimed_by names it. */
  get subject() {
    return tokenSubject(auth.tokens.get()?.access);
  },
  home() {
    return homeOf(this.role);
  },

  async load() {
    if (!auth.isSignedIn()) return null;
    if (this.me) return this.me;
    this.loading ||= api.me().then((me) => {
      if (me.kind !== "staff") throw new Error("not staff");
      this.me = me;
      return me;
    }).finally(() => {
      this.loading = null;
    });
    return this.loading;
  },

  async signIn(username, password) {
    await apiSignIn(username, password);
    this.ended = "";
    this.me = null;
    watch?.touch(true);
    return this.load();
  },

  async signOut(reason = "") {
    this.me = null;
    this.ended = reason;
    watch?.clear();
    const cur = theRouter?.currentRoute.value;
    await auth.logout();
    if (cur && cur.name !== "login") {
      theRouter.replace({ name: "login", query: reason ? { redirect: cur.fullPath } : {} });
    }
  },

  start(router) {
    theRouter = router;
    watch = createIdleWatch({ onIdle: () => this.me && this.signOut("idle") });
    auth.onLost = () => {
      this.me = null;
      this.ended ||= "lost"; // after an idle sign-out, the reason stays "idle"
      const cur = router.currentRoute.value;
      if (cur.name !== "login") router.replace({ name: "login", query: { redirect: cur.fullPath } });
    };
    for (const ev of ACTIVITY_EVENTS) window.addEventListener(ev, () => this.me && watch.touch(), { passive: true });
    // Checked every 10 s and whenever the console comes back into view.
    setInterval(() => this.me && watch.check(), 10_000);
    document.addEventListener("visibilitychange", () => this.me && !document.hidden && watch.check());
    // Signed out in another tab: leave here too.
    window.addEventListener("storage", (e) => {
      if (e.key === STAFF_TOKENS_KEY && !e.newValue && this.me) {
        this.me = null;
        router.replace({ name: "login" });
      } else if (e.key === ACTIVITY_KEY && e.newValue === null && this.me) watch.check();
    });
  },
});
