import { createApp } from "vue";
import App from "./App.vue";
import { makeRouter } from "./router.js";
import { makeI18n } from "./i18n.js";
import { prefs, startPrefs } from "./prefs.js";
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

createApp(App).use(router).use(i18n).mount("#app");
