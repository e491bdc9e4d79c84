import { createApp } from "vue";
import App from "./App.vue";
import { makeRouter } from "./router.js";
import { makeI18n } from "./i18n.js";
import { prefs, startPrefs } from "./prefs.js";
import { auth, TOKENS_KEY } from "./api.js";
import "./styles.css";

const i18n = makeI18n(prefs.locale);
startPrefs((locale) => {
  i18n.global.locale.value = locale;
});

const router = makeRouter();
// Move focus to the new page's heading after navigation, for screen readers and keyboards.
router.afterEach((to, from) => {
  if (!from.matched.length) return;
  requestAnimationFrame(() => {
    const h = document.querySelector("main h1");
    if (h) {
      h.setAttribute("tabindex", "-1");
      h.focus({ preventScroll: true });
    }
  });
});

// The session ended (refresh refused, or signed out in another tab): sign in again, then come back.
auth.onLost = () => {
  const cur = router.currentRoute.value;
  if (cur.name === "login") return;
  router.replace({ name: "login", query: { redirect: cur.fullPath } });
};

// Signed out in another tab: leave screens that need sign-in (the personal data goes with them).
window.addEventListener("storage", (e) => {
  if (e.key === TOKENS_KEY && !e.newValue && router.currentRoute.value.meta?.auth) auth.onLost();
});

createApp(App).use(router).use(i18n).mount("#app");
