// The sign-in guard of the router (kept apart from router.js so that it is testable without views).
import { auth, safeRedirect } from "./api.js";

/** Routes with meta.auth need stored tokens; signed-in citizens skip the sign-in screen. */
export function authGuard(to, signedIn = auth.isSignedIn) {
  if (to.meta?.auth && !signedIn()) return { name: "login", query: { redirect: to.fullPath } };
  if (to.name === "login" && signedIn()) return safeRedirect(to.query?.redirect);
  return true;
}
