// Routes (history mode; the API serves index.html for unknown paths). Home is in the main
// bundle, every other screen is loaded on demand to keep the first load small.
import { createRouter, createWebHistory } from "vue-router";
import Home from "./views/Home.vue";
import { authGuard } from "./guard.js";
import applyRoutes from "./routes/apply.js";
import casesRoutes from "./routes/cases.js";
import journeyRoutes from "./routes/journey.js";

export const routes = [
  { path: "/", name: "home", component: Home },
  { path: "/search", name: "search", component: () => import("./views/Search.vue") },
  { path: "/life-events/:code", name: "life-event", component: () => import("./views/LifeEvent.vue"), props: true },
  { path: "/departments", name: "departments", component: () => import("./views/Departments.vue") },
  { path: "/kinds", name: "kinds", component: () => import("./views/Kinds.vue") },
  { path: "/browse", name: "browse", component: () => import("./views/ItemList.vue") },
  { path: "/items/:code", name: "item", component: () => import("./views/ItemGuide.vue"), props: true },
  {
    path: "/items/:code/questions/:q?",
    name: "ask",
    component: () => import("./views/Questions.vue"),
    props: true,
  },
  { path: "/items/:code/materials", name: "materials", component: () => import("./views/MaterialList.vue"), props: true },
  { path: "/region", name: "region", component: () => import("./views/Region.vue") },
  { path: "/settings", name: "settings", component: () => import("./views/Settings.vue") },
  { path: "/login", name: "login", component: () => import("./views/Login.vue") },
  // meta.auth: signed-in citizens only; others go to sign-in and come back (?redirect=).
  { path: "/me", name: "me", component: () => import("./views/Me.vue"), meta: { auth: true } },
  ...applyRoutes,
  ...casesRoutes,
  ...journeyRoutes,
  { path: "/:rest(.*)*", name: "not-found", component: () => import("./views/NotFound.vue") },
];

export function makeRouter() {
  const router = createRouter({
    history: createWebHistory("/"),
    routes,
    scrollBehavior(to, from, saved) {
      if (saved) return saved;
      return { top: 0 };
    },
  });
  router.beforeEach((to) => authGuard(to));
  return router;
}
