import { createApp } from "vue";
import App from "./App.vue";
import { makeRouter } from "./router.js";
import { makeI18n, startLocale } from "./i18n.js";
import { session } from "./session.js";
import "./staff.css";

const i18n = makeI18n();
const router = makeRouter(session);
startLocale(i18n);
session.start(router);
createApp(App).use(router).use(i18n).mount("#app");
